//! The daemon's lifecycle, health endpoints, self-metrics and command line.

use std::os::unix::process::ExitStatusExt;

use crate::harness::{Vane, free_port, vane};

#[test]
fn health_readiness_and_metrics() {
    let v = Vane::start(&[]);
    let r = v.get("/-/healthy");
    assert_eq!((r.status, r.body.as_str()), (200, "Vane is Healthy.\n"));
    let r = v.get("/-/ready");
    assert_eq!((r.status, r.body.as_str()), (200, "Vane is Ready.\n"));
    let head = crate::harness::http(&v.addr, "HEAD", "/-/healthy").unwrap();
    assert_eq!(head.status, 200);
    let m = v.get("/metrics");
    assert_eq!(m.status, 200);
    assert_eq!(
        m.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "vane_tsdb_head_series",
        "vane_tsdb_head_samples_appended_total",
        "vane_tsdb_wal_fsync_duration_seconds_bucket",
        "vane_tsdb_blocks_loaded",
        "vane_tsdb_compactions_total",
        "vane_tsdb_head_chunks_files",
    ] {
        assert!(
            m.body.contains(&format!("\n{name}")),
            "{name} missing from /metrics:\n{}",
            m.body
        );
    }
    assert!(m.body.contains(&format!(
        "vane_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(v.metric("process_resident_memory_bytes").unwrap() > 1e6);
    assert_eq!(v.get("/nope").status, 404);
}

#[test]
fn sigterm_and_sigint_stop_cleanly() {
    for sig in ["TERM", "INT"] {
        let mut v = Vane::start(&[]);
        let status = v.signal_and_wait(sig);
        assert_eq!(
            status.code(),
            Some(0),
            "exit after SIG{sig}: {status:?}\n{}",
            v.logs()
        );
        assert!(v.logs().contains("store closed"), "{}", v.logs());
    }
}

#[test]
fn restarts_after_sigkill_and_after_clean_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut v = Vane::start_in(&data, &[]);
    let status = v.signal_and_wait("KILL");
    assert_eq!(status.signal(), Some(9));
    drop(v);
    let mut v = Vane::start_in(&data, &[]);
    assert_eq!(v.signal_and_wait("TERM").code(), Some(0));
    let _v = Vane::start_in(&data, &[]);
}

#[test]
fn help_documents_every_flag() {
    let out = vane(&["run", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--config.file",
        "--storage.tsdb.path",
        "--web.listen-address",
        "--storage.tsdb.retention.time",
        "--storage.tsdb.retention.size",
        "--storage.tsdb.wal-fsync",
        "--log.level",
        "--log.format",
    ] {
        assert!(help.contains(flag), "{flag} not in help:\n{help}");
    }
    let top = String::from_utf8_lossy(&vane(&["--help"]).stdout).to_string();
    for cmd in ["run", "tsdb", "check"] {
        assert!(top.contains(cmd), "{cmd} not in help:\n{top}");
    }
}

#[test]
fn bad_configuration_and_flags_are_refused_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yml");
    std::fs::write(
        &bad,
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    bogus: 1\n",
    )
    .unwrap();
    let data = tmp.path().join("data");
    let out = vane(&[
        "run",
        &format!("--config.file={}", bad.display()),
        &format!("--storage.tsdb.path={}", data.display()),
        &format!("--web.listen-address=127.0.0.1:{}", free_port()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yml") && err.contains("line 5") && err.contains("bogus"),
        "{err}"
    );
    let out = vane(&[
        "run",
        "--storage.tsdb.retention.time=15 days",
        &format!("--storage.tsdb.path={}", data.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--storage.tsdb.retention.time"));
    // `check config`.
    let good = tmp.path().join("good.yml");
    std::fs::write(&good, "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:9100']\n").unwrap();
    let out = vane(&["check", "config", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (1 scrape jobs)"));
    let out = vane(&["check", "config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_busy_port_or_a_locked_store_is_a_clear_error() {
    let v = Vane::start(&[]);
    // Same port, other data directory.
    let tmp = tempfile::tempdir().unwrap();
    let out = vane(&[
        "run",
        &format!("--web.listen-address={}", v.addr),
        &format!("--storage.tsdb.path={}", tmp.path().display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen on"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Same data directory, other port.
    let out = vane(&[
        "run",
        &format!("--web.listen-address=127.0.0.1:{}", free_port()),
        &format!("--storage.tsdb.path={}", v.data.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn logs_are_logfmt_or_json_lines() {
    let mut v = Vane::start(&[]);
    v.signal_and_wait("TERM");
    let logs = v.logs();
    assert!(logs.contains("msg=\"store closed; bye\""), "{logs}");
    for line in logs.lines() {
        assert!(
            line.starts_with("time=") && line.contains(" level=") && line.contains(" msg="),
            "not logfmt: {line}"
        );
    }
    assert!(logs.contains("level=info"), "{logs}");
    let mut v = Vane::start(&["--log.format=json"]);
    v.signal_and_wait("TERM");
    let logs = v.logs();
    assert!(!logs.is_empty());
    for line in logs.lines() {
        let j: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            j["time"].is_string() && j["level"].is_string() && j["msg"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn retention_size_follows_prometheus_units() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for bad in ["1024", "1kb", "1.5XB"] {
        let out = vane(&[
            "run",
            &format!("--storage.tsdb.retention.size={bad}"),
            &format!("--storage.tsdb.path={}", data.display()),
            &format!("--web.listen-address=127.0.0.1:{}", free_port()),
        ]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--storage.tsdb.retention.size"),
            "{bad}"
        );
    }
    let _v = Vane::start(&["--storage.tsdb.retention.size=1GB512MB"]);
}

#[test]
fn status_pages_report_flags_config_runtime_and_the_store() {
    let v = Vane::start(&[
        "--storage.tsdb.retention.time=30d",
        "--query.max-samples=1234",
    ]);
    let json = |path: &str| -> serde_json::Value {
        let r = v.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(j["status"], "success", "{path}");
        j["data"].clone()
    };
    let flags = json("/api/v1/status/flags");
    assert_eq!(flags["storage.tsdb.retention.time"], "30d");
    assert_eq!(flags["query.max-samples"], "1234");
    assert_eq!(flags["web.listen-address"], v.addr.as_str());
    let cfg = json("/api/v1/status/config");
    assert!(
        cfg["yaml"].as_str().unwrap().contains("scrape_configs"),
        "{cfg}"
    );
    let rt = json("/api/v1/status/runtimeinfo");
    assert_eq!(rt["storageRetention"], "30d");
    assert_eq!(rt["reloadConfigSuccess"], true);
    assert!(rt["startTime"].as_str().unwrap().ends_with('Z'), "{rt}");
    // The embedded default scrapes Vane itself: wait for the head to hold series and for the
    // scrape that created them to be committed (series exist before their samples are).
    crate::peers::wait_for(30, "the first self-scrape", || {
        let head = &json("/api/v1/status/tsdb")["headStats"];
        head["numSeries"].as_u64().is_some_and(|n| n > 0)
            && head["chunkCount"].as_u64().is_some_and(|n| n > 0)
    });
    let tsdb = json("/api/v1/status/tsdb?limit=3");
    for key in [
        "seriesCountByMetricName",
        "labelValueCountByLabelName",
        "memoryInBytesByLabelName",
        "seriesCountByLabelValuePair",
    ] {
        let list = tsdb[key].as_array().unwrap();
        assert!(!list.is_empty() && list.len() <= 3, "{key}: {tsdb}");
        assert!(
            list[0]["name"].is_string() && list[0]["value"].is_u64(),
            "{key}"
        );
    }
    assert!(tsdb["headStats"]["maxTime"].as_i64() >= tsdb["headStats"]["minTime"].as_i64());
    assert!(
        tsdb["headStats"]["chunkCount"].as_u64().unwrap() >= 1,
        "{tsdb}"
    );
    let wal = json("/api/v1/status/walreplay");
    assert_eq!(wal["current"], wal["max"]);
    assert_eq!(json("/api/v1/rules")["groups"], serde_json::json!([]));
    assert_eq!(json("/api/v1/alerts")["alerts"], serde_json::json!([]));
}

#[test]
fn admin_snapshot_is_a_store_of_its_own_and_admin_is_off_by_default() {
    let off = Vane::start(&[]);
    let r = crate::harness::http(&off.addr, "POST", "/api/v1/admin/tsdb/snapshot").unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("admin APIs disabled"), "{}", r.body);
    drop(off);

    let mut v = Vane::start(&["--web.enable-admin-api"]);
    let has_samples = |data: &std::path::Path| {
        let out = vane(&[
            "tsdb",
            "dump",
            &format!("--storage.tsdb.path={}", data.display()),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    // The embedded default scrapes Vane itself: wait for the first samples.
    crate::peers::wait_for(30, "the first self-scrape", || {
        v.metric("vane_tsdb_head_series").is_some_and(|n| n > 0.0)
    });
    // The series' open chunks are in the chunk-buffer slabs, which hold at least what they
    // hand out.
    let used = v.metric("vane_tsdb_chunk_buffer_used_bytes").unwrap();
    let mapped = v.metric("vane_tsdb_chunk_buffer_mapped_bytes").unwrap();
    assert!(
        used >= 40.0 && mapped >= used,
        "used {used}, mapped {mapped}"
    );
    // The series' label sets are symbol ids: the table holds at least the metric names.
    let symbols = v.metric("vane_tsdb_head_symbols").unwrap();
    let bytes = v.metric("vane_tsdb_head_symbol_bytes").unwrap();
    assert!(
        symbols >= 10.0 && bytes > symbols,
        "symbols {symbols}, bytes {bytes}"
    );
    // Each series is a 96-byte slot of the small classes, and its label ids another (8 bytes
    // at least).
    let series = v.metric("vane_tsdb_head_series").unwrap();
    let used = v.metric("vane_tsdb_series_slab_used_bytes").unwrap();
    let mapped = v.metric("vane_tsdb_series_slab_mapped_bytes").unwrap();
    assert!(
        used >= 104.0 * series && mapped >= used,
        "series {series}, used {used}, mapped {mapped}"
    );
    let r = crate::harness::http(&v.addr, "POST", "/api/v1/admin/tsdb/snapshot").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let name = j["data"]["name"].as_str().unwrap().to_string();
    assert!(name.len() > 17 && name.contains("Z-"), "{name}");
    let snap = v.data.join("snapshots").join(&name);
    assert_eq!(v.signal_and_wait("TERM").code(), Some(0));
    assert!(
        has_samples(&snap) > 0,
        "the snapshot holds the head's samples"
    );
}

#[test]
fn deleted_series_stay_deleted_after_a_kill_and_clean_tombstones_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut v = Vane::start_in(&data, &["--web.enable-admin-api"]);
    // How many series of `metric` have samples in the 10 minutes before `t`.
    let series_at = |v: &Vane, metric: &str, t: f64| -> usize {
        let r = v.get(&format!(
            "/api/v1/query?query=count_over_time({metric}%5B10m%5D)&time={t:.3}"
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        j["data"]["result"].as_array().unwrap().len()
    };
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    // The embedded default scrapes Vane itself: wait for the first `up` sample.
    crate::peers::wait_for(30, "the first self-scrape", || {
        series_at(&v, "up", now()) == 1
    });
    // ... and make it older than the time the checks below look at.
    std::thread::sleep(std::time::Duration::from_secs(3));

    let path = "/api/v1/admin/tsdb/delete_series";
    let r = crate::harness::http(&v.addr, "POST", path).unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("no match[] parameter provided"),
        "{}",
        r.body
    );
    let r = crate::harness::post_form(&v.addr, path, "match[]=up{&start=1").unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    // Only samples older than `t` are checked: a scrape that lands after the deletion is
    // new data, not a deleted sample coming back.
    let t = now() - 2.0;
    let r = crate::harness::post_form(&v.addr, path, "match[]=up&match[]=nothing_matches").unwrap();
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        series_at(&v, "up", t),
        0,
        "deleted samples are gone from queries"
    );
    assert_eq!(
        series_at(&v, "scrape_duration_seconds", t),
        1,
        "other series are kept"
    );

    // The tombstones are in the WAL: a killed process comes back without the samples.
    assert!(!v.signal_and_wait("KILL").success());
    let v = Vane::start_in(&data, &["--web.enable-admin-api"]);
    assert_eq!(
        series_at(&v, "up", t),
        0,
        "deleted samples stay gone after a restart"
    );
    let r = crate::harness::http(&v.addr, "PUT", "/api/v1/admin/tsdb/clean_tombstones").unwrap();
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(series_at(&v, "up", t), 0);
}
