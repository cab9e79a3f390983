//! `vane tsdb import` and `vane tsdb analyze` end to end, and a daemon serving the result.

use crate::harness::{Vane, vane};

/// Two days of a few series at 1m, ending with `# EOF`, with timestamps in seconds.
fn openmetrics(series: usize, hours: i64) -> (String, usize) {
    let mut s = String::from("# TYPE demo_requests counter\n");
    let mut n = 0;
    for i in 0..series {
        for k in 0..hours * 60 {
            let t = 1_700_000_000 + k * 60;
            s.push_str(&format!(
                "demo_requests_total{{path=\"/p{i}\",code=\"200\"}} {} {t}.250\n",
                k * (i as i64 + 1)
            ));
            n += 1;
        }
    }
    s.push_str("# TYPE demo_up gauge\ndemo_up 1 1700000000\n# EOF\n");
    (s, n + 1)
}

#[test]
fn import_then_analyze_then_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("in.om");
    let (text, samples) = openmetrics(5, 48);
    std::fs::write(&file, text).unwrap();
    let out = vane(&[
        "tsdb",
        "import",
        file.to_str().unwrap(),
        &format!("--storage.tsdb.path={}", data.display()),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("imported {samples} samples of 6 series")),
        "{stdout}"
    );
    let blocks = std::fs::read_dir(&data)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().len() == 26)
        .count();
    // 48 hours in 2h windows (the start is not aligned, so 25 windows).
    assert_eq!(blocks, 25, "{stdout}");

    let out = vane(&[
        "tsdb",
        "analyze",
        &format!("--storage.tsdb.path={}", data.display()),
        "--limit=3",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("samples: {samples}")) || stdout.contains("Blocks: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("Highest cardinality metric names"),
        "{stdout}"
    );
    assert!(stdout.contains("demo_requests_total"), "{stdout}");
    assert!(stdout.contains("bytes per sample"), "{stdout}");

    // A daemon on that directory loads the (merged) blocks.
    let v = Vane::start_in(&data, &["--storage.tsdb.retention.time=0"]);
    assert!(v.metric("vane_tsdb_blocks_loaded").unwrap() >= 1.0);
    // Analyze while the daemon holds the directory: blocks only, with a note.
    let out = vane(&[
        "tsdb",
        "analyze",
        &format!("--storage.tsdb.path={}", data.display()),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("in use by a running vane"));
}

#[test]
fn import_refuses_bad_input_and_keeps_nothing_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for (name, body, want) in [
        ("nots.om", "a 1\n# EOF\n", "no timestamp"),
        ("broken.om", "a{b=\"1\" 1 5\n# EOF\n", "line 1"),
        ("noeof.om", "a 1 5\n", "missing # EOF"),
    ] {
        let f = tmp.path().join(name);
        std::fs::write(&f, body).unwrap();
        let out = vane(&[
            "tsdb",
            "import",
            f.to_str().unwrap(),
            &format!("--storage.tsdb.path={}", data.display()),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{name}: {err}");
        let blocks = std::fs::read_dir(&data).map(|d| d.count()).unwrap_or(0);
        assert_eq!(blocks, 0, "{name}: a failed import left files behind");
    }
}
