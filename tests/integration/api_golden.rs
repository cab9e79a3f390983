//! The HTTP API's response shapes: the exact requests Grafana's Prometheus data source sends,
//! checked field by field, and a golden JSON file per endpoint
//! (`tests/integration/golden/`). Run with `VANE_UPDATE_GOLDEN=1` to rewrite the golden files
//! after an intended change, then review the diff.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::harness::{Vane, http, post_form};
use crate::query::{T0, start_vane_with_dataset};

fn get(v: &Vane, path: &str) -> (u16, Value) {
    let r = http(&v.addr, "GET", path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let j = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body));
    (r.status, j)
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn grafanas_requests_get_prometheus_shaped_answers() {
    let dir = tempfile::tempdir().unwrap();
    let v = start_vane_with_dataset(dir.path());
    let (start, end) = (T0 + 3600, T0 + 7200);

    // "Save & test": the instant query 1+1 at time 4, then the build information.
    let (s, j) = get(&v, "/api/v1/query?query=1%2B1&time=4");
    assert_eq!(s, 200);
    assert_eq!(
        j,
        json!({"status": "success", "data": {"resultType": "scalar", "result": [4, "2"]}})
    );
    let (s, j) = get(&v, "/api/v1/status/buildinfo");
    assert_eq!(s, 200);
    for key in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(j["data"][key].is_string(), "{key}: {j}");
    }

    // The metrics browser: label names, metric names, a metric's series, metadata.
    let (s, j) = get(&v, &format!("/api/v1/labels?start={start}&end={end}"));
    assert_eq!(s, 200);
    assert!(j["data"].as_array().unwrap().iter().all(Value::is_string));
    let (_, j) = get(
        &v,
        &format!("/api/v1/label/__name__/values?start={start}&end={end}"),
    );
    assert!(
        j["data"]
            .as_array()
            .unwrap()
            .contains(&json!("demo_temperature")),
        "{j}"
    );
    let (_, j) = get(
        &v,
        &format!(
            "/api/v1/series?match%5B%5D={}&start={start}&end={end}",
            enc("demo_temperature")
        ),
    );
    let series = j["data"].as_array().unwrap();
    assert_eq!(series.len(), 4);
    assert!(series.iter().all(|s| s["__name__"] == "demo_temperature"
        && s.as_object().unwrap().values().all(Value::is_string)));
    let (s, j) = get(&v, "/api/v1/metadata");
    assert_eq!((s, j["data"].is_object()), (200, true));

    // A time-series panel and a stat panel: range queries by POST with Grafana's step in
    // seconds; a table panel: an instant query.
    for (query, step) in [
        ("sum by (job) (rate(demo_requests_total[1m]))", "30"),
        ("demo_temperature", "60"),
    ] {
        let r = post_form(
            &v.addr,
            "/api/v1/query_range",
            &format!("query={}&start={start}&end={end}&step={step}", enc(query)),
        )
        .unwrap();
        let j: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!((r.status, j["status"].as_str()), (200, Some("success")));
        assert_eq!(j["data"]["resultType"], "matrix");
        for s in j["data"]["result"].as_array().unwrap() {
            assert!(s["metric"].is_object());
            for p in s["values"].as_array().unwrap() {
                let p = p.as_array().unwrap();
                assert_eq!(p.len(), 2);
                assert!(p[0].is_number() && p[1].is_string(), "{p:?}");
                p[1].as_str().unwrap().parse::<f64>().unwrap();
            }
        }
    }
    let (_, j) = get(
        &v,
        &format!("/api/v1/query?query={}&time={end}", enc("demo_temperature")),
    );
    assert_eq!(j["data"]["resultType"], "vector");
    for s in j["data"]["result"].as_array().unwrap() {
        assert_eq!(s["value"][0], json!(end));
        assert!(s["value"][1].is_string());
    }

    // The exemplar probe, with millisecond times.
    let (s, j) = get(
        &v,
        &format!(
            "/api/v1/query_exemplars?query={}&start={start}.123&end={end}.456",
            enc("demo_temperature")
        ),
    );
    assert_eq!((s, j), (200, json!({"status": "success", "data": []})));
}

/// Replaces values that differ from run to run.
fn normalize(name: &str, mut j: Value) -> Value {
    let volatile = |v: &mut Value, keys: &[&str]| {
        for k in keys {
            if v.get(*k).is_some() {
                v[*k] = json!("<varies>");
            }
        }
    };
    let Some(d) = j.get_mut("data") else {
        return j;
    };
    match name {
        "status_runtimeinfo" => volatile(
            d,
            &[
                "startTime",
                "serverTime",
                "lastConfigTime",
                "CWD",
                "hostname",
            ],
        ),
        "status_flags" => volatile(
            d,
            &["config.file", "storage.tsdb.path", "web.listen-address"],
        ),
        "status_buildinfo" => volatile(d, &["version"]),
        _ => {}
    }
    j
}

#[test]
fn every_endpoint_matches_its_golden_json() {
    let dir = tempfile::tempdir().unwrap();
    let v = start_vane_with_dataset(dir.path());
    let t = T0 + 5400;
    let sel = enc("demo_temperature{instance=\"host-1:9100\"}");
    let cases: Vec<(&str, String)> = vec![
        (
            "query_vector",
            format!("/api/v1/query?query={sel}&time={t}"),
        ),
        (
            "query_scalar",
            format!("/api/v1/query?query=scalar({sel})&time={t}"),
        ),
        (
            "query_string",
            format!("/api/v1/query?query=%22text%22&time={t}"),
        ),
        (
            "query_matrix",
            format!("/api/v1/query?query={sel}%5B1m%5D&time={t}"),
        ),
        (
            "query_range",
            format!(
                "/api/v1/query_range?query=rate({})&start={t}&end={}&step=60",
                enc("demo_requests_total{job=\"api\",code=\"500\"}[5m]"),
                t + 120
            ),
        ),
        (
            "query_warnings",
            format!(
                "/api/v1/query?query={}&time={t}",
                enc("rate(demo_temperature[5m])")
            ),
        ),
        ("error_bad_data", "/api/v1/query?query=sum(".to_string()),
        (
            "error_execution",
            format!(
                "/api/v1/query?query={}&time={t}",
                enc("demo_requests_total + on() demo_temperature")
            ),
        ),
        ("labels", "/api/v1/labels".to_string()),
        ("label_values", "/api/v1/label/instance/values".to_string()),
        ("series", format!("/api/v1/series?match%5B%5D={sel}")),
        ("metadata", "/api/v1/metadata".to_string()),
        (
            "query_exemplars",
            format!("/api/v1/query_exemplars?query={sel}"),
        ),
        (
            "format_query",
            "/api/v1/format_query?query=sum(rate(x%5B5m%5D))by(job)".to_string(),
        ),
        ("status_buildinfo", "/api/v1/status/buildinfo".to_string()),
        ("status_config", "/api/v1/status/config".to_string()),
        ("status_flags", "/api/v1/status/flags".to_string()),
        (
            "status_runtimeinfo",
            "/api/v1/status/runtimeinfo".to_string(),
        ),
        ("status_tsdb", "/api/v1/status/tsdb".to_string()),
        ("rules", "/api/v1/rules".to_string()),
        ("alerts", "/api/v1/alerts".to_string()),
    ];
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/integration/golden");
    let update = std::env::var_os("VANE_UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (name, path) in &cases {
        let (status, j) = get(&v, path);
        let got = json!({"http_status": status, "body": normalize(name, j)});
        let file = golden.join(format!("{name}.json"));
        if update {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&file, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
            continue;
        }
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap_or_else(|e| {
                panic!("{}: {e} (VANE_UPDATE_GOLDEN=1 writes it)", file.display())
            }))
            .unwrap();
        if got != want {
            mismatches.push(format!("{name} ({path}):\n  want {want}\n  got  {got}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "responses differ from tests/integration/golden/ (VANE_UPDATE_GOLDEN=1 rewrites them):\n{}",
        mismatches.join("\n")
    );
}
