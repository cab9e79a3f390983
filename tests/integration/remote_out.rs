//! Remote write out to real receivers on 127.0.0.1: VictoriaMetrics and Prometheus 2.42
//! (`--web.enable-remote-write-receiver`). Vane scrapes a counter that goes up by one per
//! scrape; receivers are stopped and started again, Vane is killed and started again on the
//! same data directory, a reload changes a destination; at the end every sample Vane holds
//! must be at each receiver, once, with the same values.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::harness::{Vane, free_port, http};
use crate::peers::{Reply, TargetServer, wait_for};

/// A receiver program on a fixed address, so it can be stopped and started again.
struct Receiver {
    program: &'static str,
    addr: String,
    args: Vec<String>,
    ready: &'static str,
    log: PathBuf,
    child: Option<Child>,
}

impl Receiver {
    fn victoria(dir: &Path) -> Receiver {
        let addr = format!("127.0.0.1:{}", free_port());
        Receiver {
            program: "victoria-metrics",
            args: vec![
                format!("-httpListenAddr={addr}"),
                format!("-storageDataPath={}", dir.join("vm").display()),
                // Fresh samples are visible to queries at once.
                "-search.latencyOffset=0s".into(),
                "-search.disableCache".into(),
                // Remote write delivers at least once: a batch the receiver took just before
                // Vane was killed is sent again after the restart. Prometheus drops a sample
                // identical to one it holds; VictoriaMetrics keeps both unless told to
                // deduplicate, which 1ms does for equal timestamps only.
                "-dedup.minScrapeInterval=1ms".into(),
            ],
            addr,
            ready: "/health",
            log: dir.join("vm.log"),
            child: None,
        }
    }

    fn prometheus(dir: &Path) -> Receiver {
        let addr = format!("127.0.0.1:{}", free_port());
        let cfg = dir.join("receiver.yml");
        std::fs::write(&cfg, "global:\n  scrape_interval: 1m\n").unwrap();
        Receiver {
            program: "prometheus",
            args: vec![
                format!("--config.file={}", cfg.display()),
                format!("--storage.tsdb.path={}", dir.join("prom").display()),
                format!("--web.listen-address={addr}"),
                "--web.enable-remote-write-receiver".into(),
            ],
            addr,
            ready: "/-/ready",
            log: dir.join("prometheus.log"),
            child: None,
        }
    }

    fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(self.program)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (.ci/run installs it): {e}", self.program));
        self.child = Some(child);
        let (addr, ready) = (self.addr.clone(), self.ready);
        wait_for(30, self.program, || {
            http(&addr, "GET", ready).is_ok_and(|r| r.status == 200)
        });
    }

    /// SIGTERM (a clean stop: the receiver keeps what it acknowledged) and wait.
    fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < end, "{} did not stop", self.program);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `(ms, value)` of every sample of the single series `selector` selects up to `end`.
    fn samples(&self, selector: &str, end_ms: i64) -> Vec<(i64, String)> {
        raw_samples(&self.addr, selector, end_ms)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query(addr: &str, q: &str, at_ms: i64) -> Value {
    let path = format!(
        "/api/v1/query?query={}&time={}.{:03}",
        enc(q),
        at_ms / 1000,
        at_ms % 1000
    );
    let r = http(addr, "GET", &path).unwrap_or_else(|e| panic!("{addr}{path}: {e}"));
    assert_eq!(r.status, 200, "{addr}{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

/// The raw samples of `selector` over the 10 minutes before `end_ms` (one series expected).
fn raw_samples(addr: &str, selector: &str, end_ms: i64) -> Vec<(i64, String)> {
    let j = query(addr, &format!("{selector}[10m]"), end_ms);
    let result = j["data"]["result"].as_array().cloned().unwrap_or_default();
    assert!(result.len() <= 1, "{selector} at {addr}: {j}");
    result
        .first()
        .and_then(|s| s["values"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
            (t, p[1].as_str().unwrap().to_string())
        })
        .collect()
}

fn count_over_time(addr: &str, selector: &str, end_ms: i64) -> Option<String> {
    let j = query(addr, &format!("count_over_time({selector}[10m])"), end_ms);
    j["data"]["result"][0]["value"][1]
        .as_str()
        .map(str::to_string)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The sum of a counter's lines on Vane's `/metrics` for destination `name`.
fn remote_metric(v: &Vane, metric: &str, name: &str) -> f64 {
    v.get("/metrics")
        .body
        .lines()
        .filter(|l| {
            l.starts_with(&format!("{metric}{{")) && l.contains(&format!("remote_name=\"{name}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A target whose counter goes up by one per scrape.
fn counting_target() -> TargetServer {
    let n = Arc::new(AtomicU64::new(0));
    TargetServer::start(move |_| {
        let v = n.fetch_add(1, Ordering::SeqCst) + 1;
        Reply::text(&format!(
            "# TYPE rw_counter_total counter\nrw_counter_total {v}\n# TYPE rw_gauge gauge\nrw_gauge{{k=\"a\"}} {}\n",
            v % 7
        ))
    })
}

/// Waits until `receiver` holds exactly Vane's samples of `selector` up to `end_ms`, then
/// checks them and `count_over_time` once more.
fn assert_same_samples(v: &Vane, receiver: &Receiver, selector: &str, end_ms: i64) {
    let ours = raw_samples(&v.addr, selector, end_ms);
    assert!(ours.len() > 8, "Vane holds too few samples: {ours:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut theirs = receiver.samples(selector, end_ms);
    while theirs != ours && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        theirs = receiver.samples(selector, end_ms);
    }
    let missing: Vec<_> = ours.iter().filter(|s| !theirs.contains(s)).collect();
    let extra: Vec<_> = theirs.iter().filter(|s| !ours.contains(s)).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && theirs.len() == ours.len(),
        "{}: {} samples in Vane, {} at the receiver; missing {missing:?}, extra {extra:?}",
        receiver.program,
        ours.len(),
        theirs.len()
    );
    assert!(theirs.windows(2).all(|w| w[0].0 < w[1].0), "{theirs:?}");
    if selector.ends_with("_total") {
        // The counter only goes up, one per scrape: nothing repeated, nothing reordered.
        let values: Vec<f64> = theirs.iter().map(|s| s.1.parse().unwrap()).collect();
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{theirs:?}");
    }
    assert_eq!(
        count_over_time(&receiver.addr, selector, end_ms),
        count_over_time(&v.addr, selector, end_ms),
        "{}: count_over_time",
        receiver.program
    );
}

fn config(dir: &Path, target: &str, destinations: &str) -> PathBuf {
    let cfg = dir.join("vane.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  external_labels:\n    replica: a\n\
             scrape_configs:\n  - job_name: rw\n    static_configs: [{{targets: ['{target}']}}]\n\
             remote_write:\n{destinations}"
        ),
    )
    .unwrap();
    cfg
}

/// Queue settings that keep the test short: batches every second, retries at most a second
/// apart.
const QUEUE: &str = "    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 50ms\n      max_backoff: 1s\n";

#[test]
fn every_sample_reaches_both_receivers_through_outages_and_a_killed_vane() {
    let dir = tempfile::tempdir().unwrap();
    let target = counting_target();
    let mut vm = Receiver::victoria(dir.path());
    let mut prom = Receiver::prometheus(dir.path());
    vm.start();
    prom.start();
    let cfg = config(
        dir.path(),
        &target.addr,
        &format!(
            "  - url: {}\n    name: vm\n{QUEUE}    write_relabel_configs:\n      - source_labels: [__name__]\n        regex: rw_gauge\n        action: drop\n\
             \x20 - url: {}\n    name: prom\n{QUEUE}",
            vm.write_url(),
            prom.write_url()
        ),
    );
    let cfg_arg = format!("--config.file={}", cfg.display());
    let data = dir.path().join("vane");
    let mut v = Vane::start_in(&data, &[&cfg_arg]);
    std::thread::sleep(Duration::from_secs(5));

    // VictoriaMetrics is down for a while: Vane retries, then catches up.
    vm.stop();
    std::thread::sleep(Duration::from_secs(5));
    vm.start();
    wait_for(20, "Vane retrying towards VictoriaMetrics", || {
        remote_metric(&v, "vane_remote_storage_samples_retried_total", "vm") > 0.0
    });
    std::thread::sleep(Duration::from_secs(3));

    // Vane is killed and started again on the same data directory.
    v.signal_and_wait("KILL");
    std::thread::sleep(Duration::from_secs(2));
    let mut v = Vane::start_in(&data, &[&cfg_arg]);
    std::thread::sleep(Duration::from_secs(4));

    // Prometheus is down for a while.
    prom.stop();
    std::thread::sleep(Duration::from_secs(5));
    prom.start();
    std::thread::sleep(Duration::from_secs(3));

    let end = now_ms() - 1000;
    let counter = "rw_counter_total";
    assert_same_samples(&v, &vm, counter, end);
    assert_same_samples(&v, &prom, counter, end);
    assert_same_samples(&v, &prom, "rw_gauge", end);
    // write_relabel_configs kept rw_gauge away from VictoriaMetrics; external labels came.
    assert!(vm.samples("rw_gauge", end).is_empty());
    let j = query(&prom.addr, counter, end);
    assert_eq!(j["data"]["result"][0]["metric"]["replica"], "a", "{j}");
    for name in ["vm", "prom"] {
        for m in [
            "vane_remote_storage_samples_failed_total",
            "vane_remote_storage_wal_gaps_total",
        ] {
            assert_eq!(remote_metric(&v, m, name), 0.0, "{m} for {name}");
        }
    }
    assert!(remote_metric(&v, "vane_remote_storage_samples_retried_total", "prom") > 0.0);
    assert!(remote_metric(&v, "vane_remote_storage_samples_total", "prom") > 0.0);
    let logs = v.logs();
    assert!(logs.contains("remote write started"), "{logs}");
    v.signal_and_wait("TERM");
    assert!(v.logs().contains("remote write stopped"));
}

#[test]
fn a_reload_restarts_a_changed_destination_from_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let target = counting_target();
    let mut vm = Receiver::victoria(dir.path());
    vm.start();
    let dest = format!("  - url: {}\n    name: vm\n{QUEUE}", vm.write_url());
    let cfg = config(dir.path(), &target.addr, &dest);
    let v = Vane::start_in(
        &dir.path().join("vane"),
        &[
            &format!("--config.file={}", cfg.display()),
            "--web.enable-lifecycle",
        ],
    );
    std::thread::sleep(Duration::from_secs(4));
    // Same destination, new settings: its queue stops and starts again from the saved
    // position. A destination that is not changed keeps running.
    config(
        dir.path(),
        &target.addr,
        &format!(
            "{dest}    headers:\n      X-Scope-OrgID: test\n    write_relabel_configs:\n      - source_labels: [__name__]\n        regex: rw_gauge\n        action: drop\n"
        ),
    );
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    std::thread::sleep(Duration::from_secs(4));
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    std::thread::sleep(Duration::from_secs(3));
    let end = now_ms() - 1000;
    assert_same_samples(&v, &vm, "rw_counter_total", end);
    // The queue was restarted once: by the first reload, not the unchanged second one.
    let logs = v.logs();
    assert_eq!(logs.matches("remote write started").count(), 2, "{logs}");
}

/// A target whose counter goes up by one per scrape, beside 20 series with new label values
/// every scrape (churn: each one lives for a single scrape).
fn churning_target() -> TargetServer {
    let n = Arc::new(AtomicU64::new(0));
    TargetServer::start(move |_| {
        let v = n.fetch_add(1, Ordering::SeqCst) + 1;
        let mut body = format!(
            "# TYPE rw_counter_total counter\nrw_counter_total {v}\n# TYPE rw_churn gauge\n"
        );
        for i in 0..20 {
            body.push_str(&format!("rw_churn{{gen=\"{v}\",i=\"{i}\"}} 1\n"));
        }
        Reply::text(&body)
    })
}

#[test]
fn agent_mode_forwards_everything_through_an_outage_and_keeps_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("agent");
    let data_arg = format!("--storage.agent.path={}", data.display());
    let mut vm = Receiver::victoria(dir.path());
    vm.start();

    // What agent mode cannot run is refused, naming the field.
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "rule_files: [rules.yml]\n").unwrap();
    let out = crate::harness::vane(&[
        "run",
        "--agent",
        &data_arg,
        &format!("--config.file={}", bad.display()),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("field rule_files is not allowed in agent mode"),
        "{err}"
    );

    let target = churning_target();
    let cfg = config(
        dir.path(),
        &target.addr,
        &format!("  - url: {}\n    name: vm\n{QUEUE}", vm.write_url()),
    );
    // The WAL is truncated every second, keeping one second of samples: anything that is
    // not protected by the destination's position would be lost during the outage below.
    let args = [
        "--agent",
        data_arg.as_str(),
        "--storage.agent.wal-truncate-frequency=1s",
        "--storage.agent.retention.min-time=1s",
        "--web.enable-lifecycle",
    ];
    let cfg_arg = format!("--config.file={}", cfg.display());
    let mut all = args.to_vec();
    all.push(&cfg_arg);
    let mut v = Vane::start_in(&dir.path().join("unused"), &all);

    // No local queries: the endpoints that need the store answer as a Prometheus agent does.
    for path in [
        "/api/v1/query?query=up",
        "/api/v1/query_range?query=up&start=0&end=1&step=1",
        "/api/v1/series?match[]=up",
        "/api/v1/labels",
        "/api/v1/label/job/values",
        "/api/v1/rules",
        "/api/v1/status/tsdb",
    ] {
        let r = v.get(path);
        assert_eq!(r.status, 422, "{path}: {}", r.body);
        let j: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(j["errorType"], "execution", "{path}: {j}");
    }
    assert_eq!(v.get("/api/v1/targets").status, 200);
    assert_eq!(v.get("/api/v1/status/flags").status, 200);
    // A reload that adds rules is refused and the running configuration stays.
    std::fs::write(dir.path().join("rules.yml"), "groups: []\n").unwrap();
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("rule_files: [rules.yml]\n{good}")).unwrap();
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.body.contains("not allowed in agent mode"), "{}", r.body);
    std::fs::write(&cfg, &good).unwrap();

    std::thread::sleep(Duration::from_secs(3));
    // The receiver is down for longer than the WAL keeps samples by time.
    vm.stop();
    std::thread::sleep(Duration::from_secs(6));
    vm.start();
    wait_for(20, "truncations while the receiver was down", || {
        v.metric("vane_agent_truncations_total").unwrap_or(0.0) >= 5.0
    });
    // Killed and started again on the same WAL.
    v.signal_and_wait("KILL");
    let mut v = Vane::start_in(&dir.path().join("unused"), &all);
    std::thread::sleep(Duration::from_secs(5));
    v.signal_and_wait("TERM");

    // Every scrape Vane committed is at the receiver once, in order: the counter's values
    // are consecutive except for at most the one scrape a kill can interrupt.
    let end = now_ms();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = vm.samples("rw_counter_total", end);
    loop {
        let values: Vec<u64> = got.iter().map(|s| s.1.parse().unwrap()).collect();
        let gaps: u64 = values.windows(2).map(|w| w[1] - w[0] - 1).sum();
        let ordered = values.windows(2).all(|w| w[0] < w[1]);
        if ordered && gaps <= 1 && values.len() > 10 && values[0] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "samples at the receiver: {values:?} (gaps {gaps})"
        );
        std::thread::sleep(Duration::from_millis(500));
        got = vm.samples("rw_counter_total", end);
    }
    let logs = v.logs();
    assert!(logs.contains("agent WAL truncated"), "{logs}");
    assert!(!logs.contains("had not sent yet"), "{logs}");

    // Memory stays flat under churn: 20 new series every scrape, but only those still inside
    // the WAL's minimum time are held.
    let v = Vane::start_in(&dir.path().join("unused"), &all);
    std::thread::sleep(Duration::from_secs(10));
    let active = v.metric("vane_agent_active_series").unwrap();
    let created = v.metric("vane_agent_series_created_total").unwrap();
    assert!(created >= 150.0, "created {created}");
    assert!(
        active < created / 2.0,
        "active {active} of {created} created"
    );
}
