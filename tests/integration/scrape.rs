//! Scraping end to end: real targets over TCP, bad targets, reloads, discovery, auth and
//! TLS, and the same series as a real Prometheus 2.42 scraping the same targets.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Vane, http};
use crate::peers::{Peer, Reply, TargetServer, dump, run_ok, values_of, wait_for};

fn targets(v: &Vane) -> Vec<Value> {
    let r = v.get("/api/v1/targets");
    assert_eq!(r.status, 200, "{}", r.body);
    let j: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["status"], "success");
    j["data"]["activeTargets"].as_array().unwrap().clone()
}

fn target_of<'a>(ts: &'a [Value], job: &str) -> Option<&'a Value> {
    ts.iter().find(|t| t["scrapePool"] == job)
}

/// Waits until every job in `jobs` has been scraped at least once.
fn wait_scraped(v: &Vane, jobs: &[&str]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ts = targets(v);
        let waiting: Vec<&&str> = jobs
            .iter()
            .filter(|j| !target_of(&ts, j).is_some_and(|t| t["health"] != "unknown"))
            .collect();
        if waiting.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "targets of {waiting:?} not scraped within 20 s: {ts:#?}\nlog:\n{}",
            v.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write(path: &Path, text: &str) {
    // Written whole then renamed, as configuration tools do, so no reader sees half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

const GOOD: &str = "# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\napp_requests_total{code=\"200\"} 10\napp_requests_total{code=\"500\"} 1\napp_temperature 21.5\n";

#[test]
fn bad_targets_fail_whole_and_leave_the_others_alone() {
    let srv = TargetServer::start(|r| match r.path.as_str() {
        "/good" => Reply::text(GOOD),
        // Compressed only for a client that asks for it, with Prometheus's Accept header.
        "/gzip"
            if r.headers
                .get("accept-encoding")
                .is_some_and(|e| e.contains("gzip"))
                && r.headers.get("accept").is_some_and(|a| {
                    a.starts_with("application/openmetrics-text;version=1.0.0")
                }) =>
        {
            Reply::Gzip("gz_series{a=\"1\"} 42\n".into())
        }
        "/malformed" => Reply::text("partial_ok 1\nthis is { not a sample\n"),
        "/hang" => Reply::Hang(Duration::from_secs(5)),
        "/500" => Reply::Body(500, "text/plain", b"boom".to_vec()),
        "/huge" => Reply::Huge(100 << 20),
        "/dup" => Reply::text("dup_series{a=\"1\"} 1\ndup_series{a=\"1\"} 2\n"),
        "/utf8" => Reply::Body(200, "text/plain", b"bad_utf8{a=\"\xff\"} 1\n".to_vec()),
        "/limit" => Reply::text("lim_a 1\nlim_b 2\nlim_c 3\n"),
        _ => Reply::Body(404, "text/plain", Vec::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vane.yml");
    let job = |name: &str, path: &str, extra: &str| {
        format!(
            "  - job_name: {name}\n    metrics_path: {path}\n    scrape_timeout: 500ms\n    static_configs: [{{targets: ['{}']}}]\n{extra}",
            srv.addr
        )
    };
    let text = [
        "global:\n  scrape_interval: 1s\nscrape_configs:\n".to_string(),
        job("good", "/good", ""),
        job("gzip", "/gzip", ""),
        job("malformed", "/malformed", ""),
        job("hang", "/hang", ""),
        job("status500", "/500", ""),
        job("huge", "/huge", "    body_size_limit: 10MB\n"),
        job("dup", "/dup", ""),
        job("utf8", "/utf8", ""),
        job("limit", "/limit", "    sample_limit: 2\n"),
        format!(
            "  - job_name: toomany\n    metrics_path: /good\n    target_limit: 1\n    static_configs: [{{targets: ['{}', '{}']}}]\n",
            srv.addr,
            srv.addr.replace("127.0.0.1", "localhost")
        ),
    ]
    .concat();
    write(&cfg, &text);
    let data = dir.path().join("data");
    let mut v = Vane::start_in(&data, &[&format!("--config.file={}", cfg.display())]);
    let jobs = [
        "good",
        "gzip",
        "malformed",
        "hang",
        "status500",
        "huge",
        "dup",
        "utf8",
        "limit",
    ];
    wait_scraped(&v, &jobs);
    // Let every target be scraped a few times.
    wait_for(20, "three scrapes of the good target", || {
        srv.hits("/good") >= 3
    });
    let ts = targets(&v);
    let expect = [
        ("good", "up", ""),
        ("gzip", "up", ""),
        ("malformed", "down", "parse error"),
        ("hang", "down", "timed out"),
        ("status500", "down", "HTTP status 500"),
        ("huge", "down", "body size limit exceeded"),
        ("dup", "down", "duplicate series"),
        ("utf8", "down", "not valid UTF-8"),
        ("limit", "down", "sample_limit exceeded"),
        ("toomany", "down", "target_limit exceeded"),
    ];
    for (job, health, err) in expect {
        let t = target_of(&ts, job).unwrap();
        assert_eq!(t["health"], health, "{job}: {t}");
        let e = t["lastError"].as_str().unwrap();
        assert!(e.contains(err), "{job}: lastError {e:?} lacks {err:?}");
    }
    let failures = v.get("/metrics").body;
    assert!(failures.contains("vane_scrape_failures_total{reason=\"timeout\"}"));
    assert_eq!(v.signal_and_wait("TERM").code(), Some(0));

    let samples = dump(&data, ".+");
    // Nothing of a failed body is stored, not even the lines before the error.
    for name in [
        "partial_ok",
        "huge_series",
        "dup_series",
        "bad_utf8",
        "lim_a",
    ] {
        assert!(
            !samples.iter().any(|s| s.series.contains(name)),
            "{name} was stored"
        );
    }
    assert!(
        values_of(&samples, "up", "good").len() >= 3
            && values_of(&samples, "up", "good").iter().all(|x| x == "1"),
        "{:?}",
        values_of(&samples, "up", "good")
    );
    for job in &jobs[2..] {
        let u = values_of(&samples, "up", job);
        assert!(!u.is_empty() && u.iter().all(|x| x == "0"), "{job}: {u:?}");
    }
    // The good target's samples carry the target labels.
    assert!(samples.iter().any(|s| s.series
        == format!(
            "{{__name__=\"app_requests_total\", code=\"200\", instance=\"{}\", job=\"good\"}}",
            srv.addr
        )
        && s.value == "10"));
    assert!(
        samples
            .iter()
            .any(|s| s.series.starts_with("{__name__=\"gz_series\"") && s.value == "42")
    );
    // scrape_samples_scraped of the limited target says what the body had; post-relabeling 0.
    assert!(
        values_of(&samples, "scrape_samples_scraped", "good")
            .iter()
            .all(|x| x == "3")
    );
    assert!(
        values_of(&samples, "scrape_series_added", "good")
            .first()
            .is_some_and(|x| x == "3")
    );
    assert!(
        values_of(&samples, "scrape_series_added", "good")
            .iter()
            .skip(1)
            .all(|x| x == "0")
    );
    // A scrape over its sample_limit still reports what the body held.
    assert!(
        values_of(&samples, "scrape_samples_scraped", "limit")
            .iter()
            .all(|x| x == "3")
    );
    assert!(
        values_of(&samples, "scrape_samples_post_metric_relabeling", "limit")
            .iter()
            .all(|x| x == "2")
    );
}

#[test]
fn disappearing_series_and_removed_targets_get_staleness_markers() {
    let state = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let st = state.clone();
    let srv = TargetServer::start(move |_| {
        if st.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::text("keeps 1\ngoes_away 1\n")
        } else {
            Reply::text("keeps 2\n")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vane.yml");
    let base = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: a\n    static_configs: [{{targets: ['{}']}}]\n",
        srv.addr
    );
    let with_b = format!(
        "{base}  - job_name: b\n    static_configs: [{{targets: ['{}']}}]\n",
        srv.addr
    );
    write(&cfg, &with_b);
    let data = dir.path().join("data");
    let mut v = Vane::start_in(
        &data,
        &[
            &format!("--config.file={}", cfg.display()),
            "--web.enable-lifecycle",
        ],
    );
    wait_scraped(&v, &["a", "b"]);
    let before = srv.hits("/metrics");
    wait_for(10, "more scrapes", || srv.hits("/metrics") >= before + 2);
    state.store(1, std::sync::atomic::Ordering::SeqCst);
    let before = srv.hits("/metrics");
    wait_for(10, "scrapes of the new body", || {
        srv.hits("/metrics") >= before + 4
    });
    // Job b goes away through a reload over HTTP.
    write(&cfg, &base);
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(target_of(&targets(&v), "b").is_none());
    // A removed target's markers are written one tick after its next tick (2 s at most here).
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(v.signal_and_wait("TERM").code(), Some(0));

    let samples = dump(&data, ".+");
    // `goes_away` ends with exactly one staleness marker, in both jobs.
    for job in ["a", "b"] {
        let g = values_of(&samples, "goes_away", job);
        assert_eq!(g.last().map(String::as_str), Some("NaN"), "{job}: {g:?}");
        assert_eq!(g.iter().filter(|x| *x == "NaN").count(), 1);
    }
    // `keeps` in job a never went stale (unless a scrape failed, which a loaded machine can
    // cause with a 1 s timeout); in job b (removed) it did, as did b's `up`.
    let up_a = values_of(&samples, "up", "a");
    if up_a.iter().all(|x| x == "1") {
        assert!(!values_of(&samples, "keeps", "a").contains(&"NaN".to_string()));
    }
    assert_eq!(
        values_of(&samples, "keeps", "b").last().map(String::as_str),
        Some("NaN")
    );
    assert_eq!(
        values_of(&samples, "up", "b").last().map(String::as_str),
        Some("NaN")
    );
    assert_eq!(
        values_of(&samples, "up", "a").last().map(String::as_str),
        Some("1")
    );
}

#[test]
fn reload_keeps_running_loops_and_refuses_a_bad_config() {
    let srv = TargetServer::start(|_| Reply::text(GOOD));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vane.yml");
    let one = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: a\n    metrics_path: /a\n    static_configs: [{{targets: ['{}']}}]\n",
        srv.addr
    );
    write(&cfg, &one);
    let mut v = Vane::start(&[
        &format!("--config.file={}", cfg.display()),
        "--web.enable-lifecycle",
    ]);
    wait_scraped(&v, &["a"]);
    let a_scrape = |v: &Vane| target_of(&targets(v), "a").unwrap()["lastScrape"].clone();
    // SIGHUP with a second job added: job a's loop keeps its schedule (no restart, no new
    // first scrape), job b starts.
    let two = format!(
        "{one}  - job_name: b\n    metrics_path: /b\n    static_configs: [{{targets: ['{}']}}]\n",
        srv.addr
    );
    write(&cfg, &two);
    let hits_a = srv.hits("/a");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &v.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_scraped(&v, &["a", "b"]);
    wait_for(10, "job a scraped on", || srv.hits("/a") >= hits_a + 2);
    assert_eq!(v.metric("vane_config_last_reload_successful"), Some(1.0));
    assert_ne!(a_scrape(&v), Value::Null);

    // A bad configuration is refused; both jobs keep running.
    write(
        &cfg,
        &format!("{two}  - job_name: a\n    static_configs: [{{targets: ['x:1']}}]\n"),
    );
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 500);
    assert!(r.body.contains("duplicate job_name"), "{}", r.body);
    write(
        &cfg,
        "scrape_configs:\n  - job_name: c\n    relabel_configs: [{regex: '('}]\n",
    );
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 500);
    assert!(r.body.contains("invalid regex"), "{}", r.body);
    assert_eq!(v.metric("vane_config_last_reload_successful"), Some(0.0));
    let (ha, hb) = (srv.hits("/a"), srv.hits("/b"));
    wait_for(10, "both jobs scraped on after the refused reload", || {
        srv.hits("/a") > ha && srv.hits("/b") > hb
    });
    assert_eq!(targets(&v).len(), 2);
    // Without --web.enable-lifecycle the endpoint is refused.
    assert_eq!(v.signal_and_wait("TERM").code(), Some(0));
    let v2 = Vane::start(&[]);
    assert_eq!(http(&v2.addr, "POST", "/-/reload").unwrap().status, 403);
    let log = v.logs();
    assert!(log.contains("configuration reload failed"), "{log}");
    // Every scrape of job a was one interval after the previous: the loop never restarted.
    let samples = dump(&v.data, "up");
    let mut ts: Vec<i64> = samples
        .iter()
        .filter(|s| s.series.contains("job=\"a\""))
        .map(|s| s.t)
        .collect();
    ts.sort();
    assert!(ts.len() >= 4, "{ts:?}");
    for w in ts.windows(2) {
        assert!(
            (w[1] - w[0] - 1000).abs() <= 50,
            "job a's scrapes not one interval apart: {ts:?}"
        );
    }
}

#[test]
fn file_and_http_discovery_follow_changes() {
    let srv = TargetServer::start(|_| Reply::text("m 1\n"));
    let sd_targets = std::sync::Arc::new(std::sync::Mutex::new(format!(
        "[{{\"targets\": [\"{}\"], \"labels\": {{\"__metrics_path__\": \"/from-http\", \"team\": \"x\"}}}}]",
        srv.addr
    )));
    let sdt = sd_targets.clone();
    let sd = TargetServer::start(move |_| {
        Reply::Body(
            200,
            "application/json",
            sdt.lock().unwrap().as_bytes().to_vec(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let sd_file = dir.path().join("targets.json");
    write(
        &sd_file,
        &format!(
            "[{{\"targets\": [\"{}\"], \"labels\": {{\"env\": \"prod\"}}}}]",
            srv.addr
        ),
    );
    let cfg = dir.path().join("vane.yml");
    write(
        &cfg,
        &format!(
            concat!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n",
                "  - job_name: files\n    file_sd_configs: [{{files: ['targets.json']}}]\n",
                "    relabel_configs:\n      - source_labels: [__meta_filepath]\n        regex: '.*/(.*)'\n        target_label: sd_file\n",
                "  - job_name: http\n    http_sd_configs: [{{url: 'http://{}/sd', refresh_interval: 1s}}]\n",
            ),
            sd.addr
        ),
    );
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);
    wait_scraped(&v, &["files", "http"]);
    let ts = targets(&v);
    let f = target_of(&ts, "files").unwrap();
    assert_eq!(f["labels"]["env"], "prod");
    assert_eq!(f["labels"]["sd_file"], "targets.json");
    let h = target_of(&ts, "http").unwrap();
    assert_eq!(h["labels"]["team"], "x");
    assert_eq!(h["scrapeUrl"], format!("http://{}/from-http", srv.addr));
    assert_eq!(
        h["discoveredLabels"]["__meta_url"],
        format!("http://{}/sd", sd.addr)
    );
    // The file changes: two targets (a second address for the same server).
    let other = srv.addr.replace("127.0.0.1", "localhost");
    write(
        &sd_file,
        &format!("[{{\"targets\": [\"{}\", \"{other}\"]}}]", srv.addr),
    );
    wait_for(15, "the file change", || {
        targets(&v)
            .iter()
            .filter(|t| t["scrapePool"] == "files")
            .count()
            == 2
    });
    // A broken file keeps the last good targets.
    write(&sd_file, "[{\"targets\": ");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        targets(&v)
            .iter()
            .filter(|t| t["scrapePool"] == "files")
            .count(),
        2
    );
    // The HTTP endpoint drops its target.
    *sd_targets.lock().unwrap() = "[]".into();
    wait_for(15, "the HTTP change", || {
        target_of(&targets(&v), "http").is_none()
    });
}

#[test]
fn authorization_and_tls_reach_protected_targets() {
    let srv = TargetServer::start(|r| {
        let auth = r.headers.get("authorization").cloned().unwrap_or_default();
        let ok = match r.path.as_str() {
            // "user:secret" in base64.
            "/basic" => auth == "Basic dXNlcjpzZWNyZXQ=",
            "/bearer" => auth == "Bearer tok-123",
            "/custom" => auth == "Token from-file",
            _ => false,
        };
        if ok {
            Reply::text("authed 1\n")
        } else {
            Reply::Body(401, "text/plain", Vec::new())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cred = dir.path().join("cred");
    std::fs::write(&cred, "from-file\n").unwrap();
    // A private CA and a server certificate for a name that is not the address.
    let certs = crate::peers::test_certs(dir.path(), "vane-test.example");
    let (cert, key, ca) = (certs.cert, certs.key, certs.ca);
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let node = Peer::start_tcp(
        "prometheus-node-exporter",
        &[
            "--web.listen-address={addr}",
            &format!("--web.config.file={}", web.display()),
            "--collector.disable-defaults",
            "--collector.loadavg",
        ],
        &dir.path().join("node.log"),
    );
    let cfg = dir.path().join("vane.yml");
    let job = |name: &str, path: &str, extra: &str| {
        format!(
            "  - job_name: {name}\n    metrics_path: {path}\n    static_configs: [{{targets: ['{}']}}]\n{extra}",
            srv.addr
        )
    };
    let tls = |name: &str, extra: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    static_configs: [{{targets: ['{}']}}]\n    tls_config:\n      ca_file: {}\n{extra}",
            node.addr,
            ca.display()
        )
    };
    write(
        &cfg,
        &[
            "global:\n  scrape_interval: 1s\nscrape_configs:\n".to_string(),
            job(
                "basic",
                "/basic",
                "    basic_auth: {username: user, password: secret}\n",
            ),
            job(
                "bearer",
                "/bearer",
                "    authorization: {credentials: tok-123}\n",
            ),
            job(
                "custom",
                "/custom",
                &format!(
                    "    authorization: {{type: Token, credentials_file: {}}}\n",
                    cred.display()
                ),
            ),
            job("wrong", "/bearer", "    bearer_token: nope\n"),
            tls("tls_named", "      server_name: vane-test.example\n"),
            tls("tls_unnamed", ""),
            tls("tls_insecure", "      insecure_skip_verify: true\n"),
        ]
        .concat(),
    );
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);
    let jobs = [
        "basic",
        "bearer",
        "custom",
        "wrong",
        "tls_named",
        "tls_unnamed",
        "tls_insecure",
    ];
    wait_scraped(&v, &jobs);
    let ts = targets(&v);
    for (job, health) in [
        ("basic", "up"),
        ("bearer", "up"),
        ("custom", "up"),
        ("wrong", "down"),
        ("tls_named", "up"),
        ("tls_unnamed", "down"),
        ("tls_insecure", "up"),
    ] {
        let t = target_of(&ts, job).unwrap();
        assert_eq!(t["health"], health, "{job}: {t}");
    }
    let e = target_of(&ts, "tls_unnamed").unwrap()["lastError"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
}

/// Label sets of every series, as `name{a="b", ...}` strings sorted by label name.
fn series_set(lines: impl Iterator<Item = String>) -> BTreeSet<String> {
    lines.collect()
}

#[test]
fn same_series_as_prometheus_scraping_the_same_targets() {
    let dir = tempfile::tempdir().unwrap();
    let node = Peer::start(
        "prometheus-node-exporter",
        &[
            "--web.listen-address={addr}",
            "--collector.disable-defaults",
            "--collector.cpu",
            "--collector.meminfo",
            "--collector.loadavg",
            "--collector.filesystem",
            "--collector.netdev",
            "--collector.stat",
        ],
        "/metrics",
        &dir.path().join("node.log"),
    );
    let om = "# TYPE jobs_total counter\n# HELP jobs_total Jobs.\njobs_total{kind=\"a\"} 3\njobs_total_created{kind=\"a\"} 1700000000\n# TYPE temp gauge\ntemp{job=\"inner\",instance=\"x\"} 1.5\n# TYPE rpc summary\nrpc{quantile=\"0.5\"} 1\nrpc_sum 5\nrpc_count 2\n# EOF\n";
    let app = TargetServer::start(move |r| match r.path.as_str() {
        "/om" => Reply::Body(
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            om.as_bytes().to_vec(),
        ),
        _ => Reply::text(
            "# TYPE http_requests_total counter\nhttp_requests_total{method=\"get\",job=\"exposed\"} 7\nhttp_requests_total{method=\"post\",exported_job=\"e\",job=\"exposed\"} 2\nlatency_bucket{le=\"0.1\"} 1\nlatency_bucket{le=\"+Inf\"} 2\nlatency_sum 0.3\nlatency_count 2\ndropped_by_relabel 1\n",
        ),
    });
    let cfg = dir.path().join("prometheus.yml");
    write(
        &cfg,
        &format!(
            concat!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n",
                "scrape_configs:\n",
                "  - job_name: node\n    static_configs: [{{targets: ['{node}'], labels: {{env: test}}}}]\n",
                "    relabel_configs:\n      - source_labels: [__address__]\n        regex: '([^:]+):.*'\n        target_label: host\n",
                "    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: 'node_scrape_collector_.*'\n        action: drop\n",
                "  - job_name: app\n    static_configs: [{{targets: ['{app}']}}]\n",
                "    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: dropped_by_relabel\n        action: drop\n      - regex: method\n        replacement: verb\n        action: labelmap\n",
                "  - job_name: app_honor\n    honor_labels: true\n    static_configs: [{{targets: ['{app}']}}]\n",
                "  - job_name: om\n    metrics_path: /om\n    static_configs: [{{targets: ['{app}']}}]\n",
            ),
            node = node.addr,
            app = app.addr
        ),
    );
    let prom = Peer::start(
        "prometheus",
        &[
            &format!("--config.file={}", cfg.display()),
            &format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            "--web.listen-address={addr}",
        ],
        "/-/ready",
        &dir.path().join("prometheus.log"),
    );
    let data = dir.path().join("vane");
    let mut v = Vane::start_in(&data, &[&format!("--config.file={}", cfg.display())]);
    wait_scraped(&v, &["node", "app", "app_honor", "om"]);
    // Prometheus applies discovered targets up to 5 s late; wait until it has scraped all.
    wait_for(30, "Prometheus scraping every target", || {
        let r = http(&prom.addr, "GET", "/api/v1/targets").unwrap();
        let j: Value = serde_json::from_str(&r.body).unwrap();
        let ts = j["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        ts.len() == 4 && ts.iter().all(|t| t["health"] == "up")
    });
    // Both scrape for a few intervals.
    std::thread::sleep(Duration::from_secs(3));
    // The metric metadata both took from the same targets.
    let metadata = |addr: &str| -> Value {
        let r = http(addr, "GET", "/api/v1/metadata").unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let j: Value = serde_json::from_str(&r.body).unwrap();
        j["data"].clone()
    };
    let (ours, theirs) = (metadata(&v.addr), metadata(&prom.addr));
    for metric in ["node_cpu_seconds_total", "node_load1", "jobs_total", "rpc"] {
        assert!(ours[metric].is_array(), "{metric}: {ours}");
        assert_eq!(ours[metric], theirs[metric], "{metric}");
    }
    assert_eq!(
        ours.as_object().unwrap().keys().collect::<BTreeSet<_>>(),
        theirs.as_object().unwrap().keys().collect::<BTreeSet<_>>()
    );
    assert_eq!(v.signal_and_wait("TERM").code(), Some(0));
    let q = "/api/v1/series?match[]=%7Bjob%3D~%22.%2B%22%7D";
    let r = http(&prom.addr, "GET", q).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let j: Value = serde_json::from_str(&r.body).unwrap();
    let prom_set = series_set(j["data"].as_array().unwrap().iter().map(|s| {
        let m = s.as_object().unwrap();
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        let inner: Vec<String> = keys
            .iter()
            .map(|k| format!("{k}={:?}", m[*k].as_str().unwrap()))
            .collect();
        format!("{{{}}}", inner.join(", "))
    }));
    let vane_set = series_set(dump(&data, ".+").into_iter().map(|d| d.series));
    let only_prom: Vec<_> = prom_set.difference(&vane_set).collect();
    let only_vane: Vec<_> = vane_set.difference(&prom_set).collect();
    assert!(
        only_prom.is_empty() && only_vane.is_empty(),
        "series only Prometheus has: {only_prom:#?}\nseries only Vane has: {only_vane:#?}"
    );
    // A sanity check that the comparison covered what it should.
    for want in [
        "exported_exported_job=\"exposed\"",
        "verb=\"get\"",
        "jobs_total_created",
        "scrape_series_added",
        "host=\"127.0.0.1\"",
    ] {
        assert!(
            vane_set.iter().any(|s| s.contains(want)),
            "no series with {want}"
        );
    }
    assert!(vane_set.len() > 100, "only {} series", vane_set.len());
}

/// A prometheus.yml using every field Vane supports, as Prometheus accepts it.
#[test]
fn a_prometheus_yml_with_every_supported_field_loads_in_both() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=ca",
        ])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::write(p("password"), "secret\n").unwrap();
    std::fs::write(p("token"), "tok\n").unwrap();
    std::fs::write(p("targets.json"), "[{\"targets\": [\"127.0.0.1:9\"]}]").unwrap();
    let text = format!(
        r#"global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 30s
  external_labels:
    region: eu
scrape_configs:
  - job_name: everything
    scrape_interval: 30s
    scrape_timeout: 5s
    metrics_path: /probe
    scheme: https
    params:
      module: [http_2xx]
    honor_labels: true
    honor_timestamps: false
    sample_limit: 1000
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 500
    target_limit: 10
    body_size_limit: 10MB
    basic_auth:
      username: user
      password_file: {pw}
    tls_config:
      ca_file: {ca}
      server_name: target.example
      insecure_skip_verify: false
    follow_redirects: true
    enable_http2: false
    static_configs:
      - targets: ['127.0.0.1:9']
        labels: {{team: a}}
    file_sd_configs:
      - files: ['{dir}/*.json']
        refresh_interval: 1m
    http_sd_configs:
      - url: http://127.0.0.1:9/sd
        refresh_interval: 30s
        authorization:
          credentials_file: {token}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        regex: '(.*):.*'
        target_label: host
        replacement: $1
      - {{source_labels: [team], regex: b, action: drop}}
      - {{source_labels: [team], regex: a|b, action: keep}}
      - {{source_labels: [team], target_label: team, action: keepequal}}
      - {{source_labels: [host], target_label: team, action: dropequal}}
      - {{source_labels: [__address__], modulus: 4, target_label: __tmp_shard, action: hashmod}}
      - {{regex: __meta_(.+), action: labelmap}}
      - {{regex: __tmp_.*, action: labeldrop}}
      - {{regex: .*, action: labelkeep}}
      - {{source_labels: [team], target_label: team_lower, action: lowercase}}
      - {{source_labels: [team], target_label: team_upper, action: uppercase}}
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
  - job_name: bearer
    authorization:
      type: Bearer
      credentials: abc
    static_configs:
      - targets: ['127.0.0.1:9']
  - job_name: legacy_bearer
    bearer_token_file: {token}
    static_configs:
      - targets: ['127.0.0.1:9']
"#,
        pw = p("password").display(),
        ca = p("ca.pem").display(),
        token = p("token").display(),
        dir = dir.path().display(),
    );
    let cfg = p("prometheus.yml");
    write(&cfg, &text);
    run_ok(
        std::process::Command::new("promtool")
            .args(["check", "config"])
            .arg(&cfg),
    );
    let out = crate::harness::vane(&["check", "config", cfg.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (3 scrape jobs)"));
    // And it runs: every job is there, the relabeled target as configured.
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);
    let ts = targets(&v);
    let e = ts.iter().find(|t| t["scrapePool"] == "everything").unwrap();
    assert_eq!(e["labels"]["host"], "127.0.0.1");
    assert_eq!(e["labels"]["team_upper"], "A");
    assert_eq!(
        e["scrapeUrl"],
        "https://127.0.0.1:9/probe?module=http_2xx&target=127.0.0.1%3A9"
    );
    assert_eq!(e["scrapeInterval"], "30s");
    assert!(target_of(&ts, "bearer").is_some() && target_of(&ts, "legacy_bearer").is_some());
}
