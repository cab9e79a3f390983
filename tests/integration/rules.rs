//! Rules in the running daemon: rule files from the configuration, recording and alerting
//! rules evaluated over scraped data, `/api/v1/rules` and `/api/v1/alerts`, reloads.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::harness::{Vane, http};
use crate::peers::{Reply, TargetServer, wait_for};

/// A target exposing `demo_value` with a value the test sets.
pub fn demo_target() -> (TargetServer, Arc<AtomicU64>) {
    let value = Arc::new(AtomicU64::new(0));
    let v = value.clone();
    let srv = TargetServer::start(move |_| {
        let body = format!(
            "# TYPE demo_value gauge\ndemo_value{{kind=\"a\"}} {}\n",
            f64::from_bits(v.load(Ordering::Relaxed))
        );
        Reply::Body(200, "text/plain; version=0.0.4", body.into_bytes())
    });
    (srv, value)
}

pub fn set(v: &AtomicU64, x: f64) {
    v.store(x.to_bits(), Ordering::Relaxed);
}

pub fn json(v: &Vane, path: &str) -> Value {
    let r = v.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    let j: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["status"], "success", "{path}: {}", r.body);
    j["data"].clone()
}

/// A configuration scraping `target` every second, evaluating every second, with `extra`
/// appended (rule_files, alerting).
pub fn config(dir: &Path, target: &str, extra: &str) -> std::path::PathBuf {
    let cfg = dir.join("vane.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  external_labels: {{site: lab}}\nscrape_configs:\n  - job_name: demo\n    static_configs: [{{targets: ['{target}']}}]\n{extra}"
        ),
    )
    .unwrap();
    cfg
}

const RULES: &str = r#"groups:
  - name: demo
    rules:
      - record: demo:value:doubled
        expr: demo_value * 2
        labels:
          source: rule
      - alert: DemoHigh
        expr: demo_value > 5
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.kind }} is {{ $value }}"
"#;

fn alerts(v: &Vane) -> Vec<Value> {
    json(v, "/api/v1/alerts")["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn rules_record_and_alert_over_scraped_data_and_reload_keeps_alert_state() {
    let (srv, value) = demo_target();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/demo.yml"), RULES).unwrap();
    let cfg = config(dir.path(), &srv.addr, "rule_files: ['rules/*.yml']\n");
    let v = Vane::start(&[
        &format!("--config.file={}", cfg.display()),
        "--web.enable-lifecycle",
    ]);
    set(&value, 10.0);
    wait_for(30, "the alert to fire", || {
        alerts(&v).iter().any(|a| a["state"] == "firing")
    });
    let a = &alerts(&v)[0];
    assert_eq!(a["labels"]["alertname"], "DemoHigh");
    assert_eq!(a["labels"]["severity"], "page");
    assert_eq!(a["labels"]["kind"], "a");
    assert_eq!(a["value"], "1e+01");
    assert!(a["activeAt"].as_str().unwrap().ends_with('Z'));
    let active_at = a["activeAt"].clone();

    // The recording rule's output and the ALERTS series are in the store.
    let r = json(&v, "/api/v1/query?query=demo:value:doubled");
    assert_eq!(r["result"][0]["value"][1], "20", "{r}");
    assert_eq!(r["result"][0]["metric"]["source"], "rule");
    let r = json(&v, "/api/v1/query?query=ALERTS");
    assert_eq!(r["result"][0]["metric"]["alertstate"], "firing", "{r}");

    let rules = json(&v, "/api/v1/rules");
    let g = &rules["groups"][0];
    assert_eq!(g["name"], "demo");
    assert!(g["file"].as_str().unwrap().ends_with("rules/demo.yml"));
    assert_eq!(g["interval"], 1.0);
    assert_eq!(g["rules"][0]["type"], "recording");
    assert_eq!(g["rules"][0]["health"], "ok");
    assert_eq!(g["rules"][0]["query"], "demo_value * 2");
    let alert_rule = &g["rules"][1];
    assert_eq!(alert_rule["type"], "alerting");
    assert_eq!(alert_rule["state"], "firing");
    assert_eq!(alert_rule["duration"], 2.0);
    assert_eq!(alert_rule["alerts"].as_array().unwrap().len(), 1);
    let only_records = json(&v, "/api/v1/rules?type=record");
    assert_eq!(
        only_records["groups"][0]["rules"].as_array().unwrap().len(),
        1
    );
    let r = v.get("/api/v1/rules?type=nope");
    assert_eq!(r.status, 400, "{}", r.body);

    // Reload with one more rule: the unchanged alert keeps its state.
    std::fs::write(
        dir.path().join("rules/demo.yml"),
        format!("{RULES}      - record: demo:value:tripled\n        expr: demo_value * 3\n"),
    )
    .unwrap();
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json(&v, "/api/v1/rules")["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let a = &alerts(&v)[0];
    assert_eq!(a["state"], "firing");
    assert_eq!(
        a["activeAt"], active_at,
        "alert state kept across the reload"
    );

    // A broken rule file is refused; the running rules stay.
    std::fs::write(
        dir.path().join("rules/bad.yml"),
        "groups:\n  - name: x\n    rules:\n      - record: bad\n        expr: sum(\n",
    )
    .unwrap();
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.body.contains("bad.yml"), "{}", r.body);
    assert_eq!(
        json(&v, "/api/v1/rules")["groups"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    std::fs::remove_file(dir.path().join("rules/bad.yml")).unwrap();

    // The condition clears: the alert resolves and leaves /api/v1/alerts.
    set(&value, 1.0);
    wait_for(30, "the alert to resolve", || alerts(&v).is_empty());
    let r = json(&v, "/api/v1/query?query=ALERTS");
    assert_eq!(r["result"], serde_json::json!([]), "ALERTS went stale: {r}");
}

#[test]
fn a_bad_rule_file_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.yml"),
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        record: B\n        expr: up\n",
    )
    .unwrap();
    let cfg = config(dir.path(), "127.0.0.1:1", "rule_files: ['r.yml']\n");
    let out = crate::harness::vane(&[
        "run",
        &format!("--config.file={}", cfg.display()),
        &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("r.yml"), "{err}");
}

#[test]
fn rules_and_autoscalers_can_evaluate_against_a_remote_prometheus_and_write_locally() {
    let (target, value) = demo_target();
    set(&value, 7.0);
    let tmp = tempfile::tempdir().unwrap();
    let prom_cfg = tmp.path().join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: demo\n    static_configs: [{{targets: ['{}']}}]\n",
            target.addr
        ),
    )
    .unwrap();
    let prom = crate::peers::Peer::start(
        "prometheus",
        &[
            &format!("--config.file={}", prom_cfg.display()),
            &format!("--storage.tsdb.path={}", tmp.path().join("prom").display()),
            "--web.listen-address={addr}",
        ],
        "/-/ready",
        &tmp.path().join("prometheus.log"),
    );
    std::fs::write(tmp.path().join("rules.yml"), RULES).unwrap();
    // An OpenFaaS gateway that takes every scale call.
    let scaled = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = scaled.clone();
    let gateway = TargetServer::start(move |req| {
        seen.lock()
            .unwrap()
            .push(String::from_utf8_lossy(&req.body).to_string());
        Reply::text("")
    });
    // Vane scrapes nothing itself: every value comes from the remote API.
    let cfg = tmp.path().join("vane.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{evaluation_interval: 1s}}\nrule_files: [rules.yml]\nrule_evaluation:\n  query_url: http://{}\n  timeout: 10s\n\
             autoscalers:\n  - name: demo\n    query: sum(demo_value)\n    current_replicas: {{query: vector(1)}}\n    max_replicas: 10\n\
             \x20   policy: {{per_replica: {{target: 2}}}}\n    target:\n      http_openfaas: {{gateway: 'http://{}', function: demo}}\n",
            prom.addr, gateway.addr
        ),
    )
    .unwrap();
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);
    wait_for(30, "the recorded series from remote data", || {
        json(&v, "/api/v1/query?query=demo:value:doubled")["result"][0]["value"][1] == "14"
    });
    wait_for(30, "the alert from remote data", || {
        alerts(&v).iter().any(|a| a["state"] == "firing")
    });
    assert_eq!(
        json(&v, "/api/v1/query?query=demo_value")["result"],
        serde_json::json!([]),
        "the raw data stays remote"
    );
    let rules = json(&v, "/api/v1/rules");
    assert_eq!(rules["groups"][0]["rules"][0]["health"], "ok", "{rules}");
    // The autoscaler reads the same remote API: 7 / 2 per replica → 4 replicas, pushed to
    // the gateway and written to the local store.
    wait_for(30, "the autoscaler's decision from remote data", || {
        scaled
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.contains("\"replicas\":4"))
    });
    let j = json(&v, "/api/v1/query?query=vane_autoscaler_signal");
    assert_eq!(j["result"][0]["value"][1], "7", "{j}");
}
