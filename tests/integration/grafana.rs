//! The Grafana dashboards and provisioning of `grafana/`: every panel query and every
//! template variable is sent to a live Vane (scraping itself and a real node exporter, and
//! running an autoscaler whose target refuses connections) the way Grafana sends it, and must
//! parse and return data.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::harness::{Vane, free_port, http, post_form};
use crate::peers::{Peer, wait_for};

fn grafana_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../grafana")
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Grafana's substitutions: `$__rate_interval` (at least four scrape intervals; scrapes
/// here are every second) and multi-value variables set to "All" (`.+`).
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "15s")
        .replace("$instance", ".+")
        .replace("$job", ".+")
        .replace("$autoscaler", ".+")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn every_dashboard_query_parses_and_returns_data() {
    let dir = tempfile::tempdir().unwrap();
    let node = Peer::start(
        "prometheus-node-exporter",
        &["--web.listen-address={addr}"],
        "/metrics",
        &dir.path().join("node.log"),
    );
    let cfg = dir.path().join("vane.yml");
    let data = dir.path().join("data");
    // Vane's own address is only known once it runs: it scrapes itself through a file_sd
    // file written after start, with the node exporter listed statically. The autoscaler
    // asks for 2 replicas (the two `up` series) where 1 runs, and its target's port has
    // nothing listening: decisions and retried pushes for the autoscalers' dashboard.
    let sd = dir.path().join("self.json");
    std::fs::write(&sd, "[]").unwrap();
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vane\n    file_sd_configs: [{{files: ['{}']}}]\n  - job_name: node\n    static_configs: [{{targets: ['{}']}}]\nautoscalers:\n  - name: web\n    query: count(up)\n    current_replicas: {{query: vector(1)}}\n    max_replicas: 5\n    policy: {{per_replica: {{target: 1}}}}\n    target: {{http_openfaas: {{gateway: 'http://127.0.0.1:{}', function: web}}}}\n",
            sd.display(),
            node.addr,
            free_port()
        ),
    )
    .unwrap();
    let v = Vane::start_in(&data, &[&format!("--config.file={}", cfg.display())]);
    std::fs::write(&sd, format!("[{{\"targets\": [\"{}\"]}}]", v.addr)).unwrap();

    // Some queries first, so the query-latency panels have something to show; then enough
    // scrapes for 15s rates.
    wait_for(30, "both jobs scraped a few times", || {
        let r = http(
            &v.addr,
            "GET",
            &format!("/api/v1/query?query={}", enc("count by (job) (up) >= 1")),
        )
        .unwrap();
        let j: Value = serde_json::from_str(&r.body).unwrap();
        j["data"]["result"].as_array().is_some_and(|a| a.len() == 2)
    });
    std::thread::sleep(Duration::from_secs(6));

    let mut checked = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(grafana_dir().join("dashboards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    for file in &files {
        let d: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = file.file_name().unwrap().to_string_lossy();
        // Template variables: `label_values(metric, label)`, as Grafana asks for them.
        for var in d["templating"]["list"].as_array().unwrap() {
            let q = var["query"]["query"].as_str().unwrap();
            let (metric, label) = q
                .strip_prefix("label_values(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|r| r.split_once(", "))
                .unwrap_or_else(|| panic!("{name}: unexpected variable query {q}"));
            let path = format!(
                "/api/v1/label/{label}/values?match[]={}&start={}&end={}",
                enc(metric),
                now() - 3600,
                now()
            );
            let r = http(&v.addr, "GET", &path).unwrap();
            let j: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(r.status, 200, "{name}: {q}: {}", r.body);
            assert!(
                !j["data"].as_array().unwrap().is_empty(),
                "{name}: variable {q} has no values"
            );
        }
        for p in d["panels"].as_array().unwrap() {
            assert_eq!(p["datasource"]["uid"], "vane", "{name}: {}", p["title"]);
            for t in p["targets"].as_array().unwrap() {
                let expr = substitute(t["expr"].as_str().unwrap());
                let what = format!("{name}: {}: {expr}", p["title"]);
                // Grafana's panels send range queries by POST (the data source's method).
                let (end, start) = (now(), now() - 60);
                let r = post_form(
                    &v.addr,
                    "/api/v1/query_range",
                    &format!("query={}&start={start}&end={end}&step=2", enc(&expr)),
                )
                .unwrap();
                let j: Value = serde_json::from_str(&r.body).unwrap();
                assert_eq!(r.status, 200, "{what}: {}", r.body);
                assert_eq!(j["data"]["resultType"], "matrix", "{what}");
                let series = j["data"]["result"].as_array().unwrap();
                assert!(!series.is_empty(), "{what}: no data\n{}", v.logs());
                assert!(
                    series
                        .iter()
                        .any(|s| !s["values"].as_array().unwrap().is_empty()),
                    "{what}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 35, "{checked} panel queries");
}

#[test]
fn provisioning_points_grafana_at_vane() {
    let dir = grafana_dir().join("provisioning");
    let ds: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(dir.join("datasources/vane.yaml")).unwrap())
            .unwrap();
    let d = &ds["datasources"][0];
    assert_eq!(d["type"].as_str(), Some("prometheus"));
    assert_eq!(d["uid"].as_str(), Some("vane"));
    assert_eq!(d["jsonData"]["httpMethod"].as_str(), Some("POST"));
    let url = d["url"].as_str().unwrap();
    assert!(url.starts_with("http://"), "{url}");
    let dash: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(dir.join("dashboards/vane.yaml")).unwrap())
            .unwrap();
    assert_eq!(dash["providers"][0]["type"].as_str(), Some("file"));
}
