//! `vane autoscale simulate` end to end: history backfilled with `vane tsdb import`, replayed
//! with the policies of a configuration file, printed as a table and as CSV; the same again
//! while a `vane run` holds the store. Expected values are worked out by hand below.

use crate::harness::{Vane, vane};

/// 1700000000 = 2023-11-14T22:13:20Z; samples every 15s, nine steps.
const T0: i64 = 1_700_000_000;

/// `web`: a total (in-flight requests) for `per_replica` at 10; `batch`: a utilization of 2
/// replicas (their count in `demo_replicas`) for `ratio` at 0.5.
fn history() -> String {
    let inflight = [10.0, 10.0, 40.0, 40.0, 40.0, 10.0, 10.0, 10.0, 10.0];
    let util = [0.5, 0.5, 1.0, 1.0, 1.0, 0.25, 0.25, 0.25, 0.25];
    let mut s = String::from("# TYPE demo_inflight gauge\n");
    for (k, v) in inflight.iter().enumerate() {
        s.push_str(&format!("demo_inflight {v} {}\n", T0 + 15 * k as i64));
    }
    s.push_str("# TYPE demo_utilization gauge\n");
    for (k, v) in util.iter().enumerate() {
        s.push_str(&format!("demo_utilization {v} {}\n", T0 + 15 * k as i64));
    }
    s.push_str("# TYPE demo_replicas gauge\n");
    for k in 0..9 {
        s.push_str(&format!("demo_replicas 2 {}\n", T0 + 15 * k));
    }
    s.push_str("# EOF\n");
    s
}

const CONFIG: &str = r#"
autoscalers:
  - name: web
    query: demo_inflight
    interval: 15s
    max_replicas: 10
    policy: {per_replica: {target: 10}}
    behavior: {scale_down: {stabilization_window: 30s}}
    target: {http_openfaas: {gateway: "http://127.0.0.1:9", function: web}}
  - name: batch
    query: demo_utilization
    current_replicas: {query: demo_replicas}
    interval: 15s
    max_replicas: 10
    policy: {ratio: {target: 0.5}}
    target: {http_openfaas: {gateway: "http://127.0.0.1:9", function: batch}}
"#;

fn simulate(data: &std::path::Path, cfg: &std::path::Path, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "autoscale".to_string(),
        "simulate".into(),
        format!("--config.file={}", cfg.display()),
        format!("--storage.tsdb.path={}", data.display()),
        format!("--start={T0}"),
        "--end=2023-11-14T22:15:20Z".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = vane(&args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stderr}");
    (stdout, stderr)
}

/// The table's lines with runs of spaces made one.
fn squeeze(table: &str) -> Vec<String> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn check_table(table: &str) {
    let lines = squeeze(table);
    let at = |k: i64| {
        chrono_free_time(T0 + 15 * k) // e.g. 2023-11-14T22:13:50Z
    };
    // web, per_replica at 10 (a need of ceil(inflight / 10)): 1 replica within tolerance,
    // 4 at the rise (the default scale-up allows +4), held 4 by the 30s scale-down window at
    // k=5 (k=4's recommendation of 4 is 15s old), down to 1 at k=6.
    let web = [
        format!("{} 10 1 1 within_tolerance", at(0)),
        format!("{} 40 4 4 scaled", at(2)),
        format!("{} 40 4 4 within_tolerance", at(3)),
        format!("{} 10 1 4 stabilized", at(5)),
        format!("{} 10 1 1 scaled", at(6)),
        format!("{} 10 1 1 within_tolerance", at(7)),
        format!("{} 10 1 1 within_tolerance", at(8)),
    ];
    // batch, ratio at 0.5 over a load of utilization × 2 replicas (need ceil(load / 0.5)):
    // 2 within tolerance, 4 at the rise (ceil(2 × 1.0 / 0.5)), then 0.5 spread over 4 is
    // 0.125, which asks for 1, held at 4 by the default 300s scale-down window.
    let batch = [
        format!("{} 0.5 2 2 within_tolerance", at(0)),
        format!("{} 1 4 4 scaled", at(2)),
        format!("{} 1 4 4 within_tolerance", at(3)),
        format!("{} 0.25 1 4 stabilized", at(5)),
        format!("{} 0.25 1 4 stabilized", at(8)),
    ];
    let start = |name: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("autoscaler \"{name}\"")))
            .unwrap_or_else(|| panic!("no {name} in\n{table}"))
    };
    let (w, b) = (start("web"), start("batch"));
    assert!(w < b, "in the configuration's order");
    assert_eq!(
        lines[w],
        "autoscaler \"web\": policy per_replica, capacity 10 per replica; 2023-11-14T22:13:20Z to 2023-11-14T22:15:20Z every 15s"
    );
    assert_eq!(lines[w + 2], "TIME SIGNAL NEEDED REPLICAS REASON");
    assert_eq!(lines[w + 3..w + 3 + web.len()], web, "\n{table}");
    // 15s × (1+1+4+4+4+4+1+1) over 8 intervals (120s); the interval k=1 (1 replica) ends
    // where 4 are needed.
    let web_totals = [
        "replica-seconds: 300 (2.50 replicas on average)",
        "under-provisioned: 15s of 120s measured (12.50%)",
        "peak replicas: 4; changes: 2; steps without signal: 0; steps in panic mode: 0",
    ];
    assert_eq!(lines[w + 4 + web.len()..w + 7 + web.len()], web_totals);
    assert_eq!(lines[b + 3..b + 3 + batch.len()], batch, "\n{table}");
    // 15s × (2+2+4×6) = 420; the interval k=1 (2 replicas) ends where 4 are needed.
    let batch_totals = [
        "replica-seconds: 420 (3.50 replicas on average)",
        "under-provisioned: 15s of 120s measured (12.50%)",
        "peak replicas: 4; changes: 1; steps without signal: 0; steps in panic mode: 0",
    ];
    assert_eq!(
        lines[b + 4 + batch.len()..b + 7 + batch.len()],
        batch_totals
    );
}

/// RFC 3339 of Unix seconds in the window of this test (22:13:20 to 22:15:20 UTC).
fn chrono_free_time(t: i64) -> String {
    let s = t - 1_699_920_000; // seconds since 2023-11-14T00:00:00Z
    format!(
        "2023-11-14T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[test]
fn simulate_replays_imported_history_as_a_table_and_as_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("history.om");
    let cfg = tmp.path().join("vane.yml");
    std::fs::write(&file, history()).unwrap();
    std::fs::write(&cfg, CONFIG).unwrap();
    let out = vane(&[
        "tsdb",
        "import",
        file.to_str().unwrap(),
        &format!("--storage.tsdb.path={}", data.display()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (table, _) = simulate(&data, &cfg, &[]);
    check_table(&table);

    let (csv, _) = simulate(&data, &cfg, &["--format=csv", "--autoscaler=web"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "autoscaler,time,signal,needed,replicas,reason,panic,replica_seconds,under_provisioned_seconds"
    );
    assert_eq!(lines.len(), 1 + 9, "one line per step, web only:\n{csv}");
    assert_eq!(lines[1], "web,1700000000,10,1,1,within_tolerance,0,15,0");
    assert_eq!(lines[2], "web,1700000015,10,1,1,within_tolerance,0,15,15");
    assert_eq!(lines[6], "web,1700000075,10,1,4,stabilized,0,60,0");
    assert_eq!(lines[9], "web,1700000120,10,1,1,within_tolerance,0,0,");
    let sum = |col: usize| -> f64 {
        lines[1..]
            .iter()
            .map(|l| l.split(',').nth(col).unwrap().parse::<f64>().unwrap_or(0.0))
            .sum()
    };
    assert_eq!((sum(7), sum(8)), (300.0, 15.0), "the table's totals");

    // A step of 30s: 5 steps; web sees 10, 40, 40, 10, 10 and goes 1, 4, 4, 1, 1 (the 30s
    // window no longer holds k=4's recommendation 30s later).
    let (csv, _) = simulate(
        &data,
        &cfg,
        &["--format=csv", "--autoscaler=web", "--step=30s"],
    );
    let replicas: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap())
        .collect();
    assert_eq!(replicas, ["1", "4", "4", "1", "1"], "{csv}");

    // Without the scale-down window (`--override`), web goes down at k=5: 1, 1, 4, 4, 4, 1, 1,
    // 1, 1 is 15s × 17 = 255 replica-seconds, still 15s under-provisioned.
    let (table, _) = simulate(
        &data,
        &cfg,
        &[
            "--autoscaler=web",
            "--override={behavior: {scale_down: {stabilization_window: 0s}}}",
        ],
    );
    let lines = squeeze(&table);
    assert!(lines[0].starts_with("autoscaler \"web\": policy per_replica (overridden),"));
    assert!(
        lines.contains(&format!("{} 10 1 1 scaled", chrono_free_time(T0 + 75))),
        "{table}"
    );
    assert!(
        lines.contains(&"replica-seconds: 255 (2.12 replicas on average)".to_string()),
        "{table}"
    );

    // While a `vane run` holds the store: the blocks are read, the same answer.
    let running = Vane::start_in(&data, &[]);
    let (table, stderr) = simulate(&data, &cfg, &[]);
    assert!(stderr.contains("in use by a running vane"), "{stderr}");
    check_table(&table);
    drop(running);

    let out = vane(&[
        "autoscale",
        "simulate",
        &format!("--config.file={}", cfg.display()),
        &format!("--storage.tsdb.path={}", data.display()),
        "--start=0",
        "--end=1",
        "--autoscaler=nope",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no autoscaler named \"nope\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
