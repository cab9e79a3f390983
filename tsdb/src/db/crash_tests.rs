//! Crash loop: a child process appends and compacts while the parent kills it with SIGKILL
//! at random moments, over and over. After every kill the store must open, hold every
//! sample whose commit was acknowledged, and hold no sample twice.
//!
//! The child is this same test binary, re-run with `--ignored --exact` on `crash_child` and
//! the data directory in an environment variable.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::metrics::Registry;
use model::{Labels, MatchType, Matcher, Queryable, SelectHints, labels};

use super::{Db, DbOptions};

const ENV_DIR: &str = "VANE_TSDB_CRASH_CHILD_DIR";
const SERIES: usize = 40;
const STEP: i64 = 1000;

fn opts() -> DbOptions {
    let mut o = DbOptions::default();
    // One-minute blocks so that compaction, head truncation and WAL checkpoints happen often.
    o.head.chunk_range_ms = 60_000;
    o.retention_time_ms = None;
    o
}

fn series(i: usize) -> Labels {
    labels! {"__name__" => "crash", "i" => i.to_string()}
}

fn open_retrying(dir: &Path) -> Arc<Db> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Db::open(dir, opts(), &Registry::new()) {
            Ok(db) => return db,
            Err(crate::Error::Locked(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("store did not open: {e}"),
        }
    }
}

/// Timestamps per series, checked to be strictly increasing and gap-free from 0.
fn check(db: &Db) -> i64 {
    let q = Queryable::querier(db, i64::MIN, i64::MAX).unwrap();
    let all = [Matcher::new(MatchType::Equal, "__name__", "crash").unwrap()];
    let mut next_t = None;
    for s in q.select(&SelectHints::default(), &all).unwrap() {
        let mut it = s.iter();
        let mut expect = 0i64;
        while it.next() {
            let (t, v) = it.at();
            assert_eq!(t, expect, "{}: gap or duplicate at {t}", s.labels());
            assert_eq!(v, t as f64);
            expect += STEP;
        }
        assert!(it.err().is_none());
        next_t = Some(next_t.map_or(expect, |n: i64| n.min(expect)));
    }
    next_t.unwrap_or(0)
}

#[test]
#[ignore = "runs as the child process of crash_loop"]
fn crash_child() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let db = open_retrying(Path::new(&dir));
    let mut t = check(&db);
    let out = std::io::stdout();
    writeln!(out.lock(), "ready {t}").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut refs = vec![None; SERIES];
    let mut batch = 0u64;
    while Instant::now() < deadline {
        let mut app = db.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            *r = Some(app.append(*r, &series(i), t, t as f64).unwrap());
        }
        app.commit().unwrap();
        // Acknowledged: the commit returned.
        writeln!(out.lock(), "ack {t}").unwrap();
        t += STEP;
        batch += 1;
        if batch.is_multiple_of(40) {
            db.maintenance().unwrap();
        }
    }
}

#[test]
fn crash_loop() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ std::process::id() as u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut acked_total = 0i64;
    for round in 0..20 {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "db::crash_tests::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the child to be ready, then let it run for a random while.
        let start = Instant::now();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("child never became ready");
            // libtest prints the test name on the same line, before the test's output.
            if line.contains("ready ") {
                break;
            }
        }
        let run = Duration::from_millis(20 + rand() % 400);
        std::thread::sleep(run);
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let mut last_ack = None;
        while let Ok(line) = rx.try_recv() {
            if let Some(t) = line.strip_prefix("ack ") {
                last_ack = Some(t.parse::<i64>().unwrap());
            }
        }
        let db = open_retrying(dir.path());
        let next = check(&db);
        if let Some(a) = last_ack {
            assert!(
                next > a,
                "round {round}: acknowledged sample at {a} missing (store ends before {next})"
            );
            acked_total = acked_total.max(a);
        }
        db.close().unwrap();
        drop(db);
        let _ = start;
    }
    assert!(acked_total > 0, "the child never acknowledged anything");
}
