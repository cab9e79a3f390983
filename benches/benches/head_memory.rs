//! Memory per active series: RSS of this process after loading N series (default 1,000,000;
//! `VANE_BENCH_SERIES`) with 150 samples each at 15 s (one full, memory-mapped chunk and an
//! open chunk of 30 samples per series, as in steady state), WAL on.
//!
//! Each series' labels are built just before its first sample and dropped after it (later
//! samples go by reference), so the process holds no label sets of its own: a vector of a
//! million of them, and the temporary strings building them left freed in malloc's bins,
//! would be counted before the head exists and then lend it memory that costs no RSS growth.
//!
//! Prints RSS before, after, and the difference divided by the number of series; then the same
//! after handing whole free pages back to the system (`daemon::memory::release`, which the
//! daemon calls once a minute). The two differ by memory freed inside the heap that is still
//! resident; the open chunks' buffers, whose cut frees them in waves, live in the chunk-buffer
//! slabs (`tsdb::arena`) and not in the heap, so the two figures are now within a few bytes
//! (before the slabs, 573 and 428 bytes per series at 1M). Memory-mapped chunk pages are
//! file-backed and count in RSS only while resident; both figures are `VmRSS`, which includes
//! them.

use model::metrics::Registry;
use model::{Appender, Labels, SeriesRef};
use tsdb::{Head, HeadOptions};
use vane_benches::{node_like_series, rss_bytes, value};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("VANE_BENCH_SERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let scrapes = 150usize;
    let dir = tempfile::tempdir().unwrap();
    let before = rss_bytes();
    let head = Head::open(
        dir.path(),
        HeadOptions::default(),
        &Registry::new(),
        i64::MIN,
    )
    .unwrap();
    let mut refs: Vec<Option<SeriesRef>> = vec![None; n];
    let start = std::time::Instant::now();
    for k in 0..scrapes {
        let mut app = head.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            let labels = match r {
                None => node_like_series(i),
                Some(_) => Labels::empty(),
            };
            *r = Some(
                app.append(*r, &labels, k as i64 * 15_000, value(i, k))
                    .unwrap(),
            );
            if i % 10_000 == 9_999 {
                app.commit().unwrap();
            }
        }
        app.commit().unwrap();
    }
    let elapsed = start.elapsed();
    drop(refs);
    let after = rss_bytes();
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    println!(
        "head_memory: series={n} samples={} load_time={:.1}s",
        n * scrapes,
        elapsed.as_secs_f64()
    );
    println!(
        "head_memory: rss_before={} MiB rss_after={} MiB",
        before >> 20,
        after >> 20
    );
    println!("head_memory: bytes_per_series={per:.0}");
    daemon::memory::release();
    let trimmed = rss_bytes();
    println!(
        "head_memory: after handing free pages back: rss={} MiB bytes_per_series={:.0}",
        trimmed >> 20,
        trimmed.saturating_sub(before) as f64 / n as f64
    );
    drop(head);
}
