//! Head append and replay throughput.
//!
//! * `append_by_ref`: one sample for each of N existing series (default 1,000,000; set
//!   `VANE_BENCH_SERIES`), committed in batches of 1,000 (one node_exporter scrape), with
//!   the WAL on (default sync policy). Series references are cached, as the scraper does.
//! * `append_by_ref_shuffled`: the same, the series in a fixed random order instead of the
//!   order they were created in (ids not consecutive, so the head's prefetch of the series a
//!   few ids ahead finds nothing useful).
//! * `append_by_labels`: the same through label-set lookups (no cached reference).
//! * `replay_wal`: opening a head whose WAL holds 5 M samples (head-chunk files removed first,
//!   so every sample is decoded from the WAL and appended again).

use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use model::metrics::Registry;
use model::{Appender, Labels, SeriesRef};
use tsdb::{Head, HeadOptions};
use vane_benches::{node_like_series, value};

fn series_count() -> usize {
    std::env::var("VANE_BENCH_SERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

const BATCH: usize = 1_000;
const STEP_MS: i64 = 15_000;

fn append_by_ref(c: &mut Criterion) {
    let n = series_count();
    let dir = tempfile::tempdir().unwrap();
    let head = Head::open(
        dir.path(),
        HeadOptions::default(),
        &Registry::new(),
        i64::MIN,
    )
    .unwrap();
    let labels: Vec<_> = (0..n).map(node_like_series).collect();
    let mut refs: Vec<SeriesRef> = Vec::with_capacity(n);
    let mut app = head.appender();
    for (i, l) in labels.iter().enumerate() {
        refs.push(app.append(None, l, 0, value(i, 0)).unwrap());
        if i % BATCH == BATCH - 1 {
            app.commit().unwrap();
        }
    }
    app.commit().unwrap();
    let mut k = 1usize;
    let mut g = c.benchmark_group("head");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("append_by_ref/{n}_series"), |b| {
        b.iter(|| {
            append_round(&head, 0..n, Some(&refs), &labels, k);
            k += 1;
        })
    });
    // A fixed random permutation: the series sorted by a hash of their index.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by_key(|&i| splitmix64(i as u64));
    g.bench_function(format!("append_by_ref_shuffled/{n}_series"), |b| {
        b.iter(|| {
            append_round(&head, order.iter().copied(), Some(&refs), &labels, k);
            k += 1;
        })
    });
    g.bench_function(format!("append_by_labels/{n}_series"), |b| {
        b.iter(|| {
            append_round(&head, 0..n, None, &labels, k);
            k += 1;
        })
    });
    g.finish();
}

/// Appends scrape `k`'s sample of each series in `order`, committing every `BATCH` samples:
/// by the cached references when given, else by label set.
fn append_round(
    head: &Arc<Head>,
    order: impl Iterator<Item = usize>,
    refs: Option<&[SeriesRef]>,
    labels: &[Labels],
    k: usize,
) {
    let t = k as i64 * STEP_MS;
    let mut app = head.appender();
    for (j, i) in order.enumerate() {
        app.append(refs.map(|r| r[i]), &labels[i], t, value(i, k))
            .unwrap();
        if j % BATCH == BATCH - 1 {
            app.commit().unwrap();
        }
    }
    app.commit().unwrap();
}

/// SplitMix64's output function: a bijection on u64 that scatters consecutive inputs.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn replay(c: &mut Criterion) {
    const SERIES: usize = 10_000;
    const SCRAPES: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    {
        let head = Head::open(
            dir.path(),
            HeadOptions::default(),
            &Registry::new(),
            i64::MIN,
        )
        .unwrap();
        for k in 0..SCRAPES {
            let mut app = head.appender();
            for i in 0..SERIES {
                app.append(None, &node_like_series(i), k as i64 * STEP_MS, value(i, k))
                    .unwrap();
            }
            app.commit().unwrap();
        }
        head.close().unwrap();
    }
    let mut g = c.benchmark_group("head");
    g.sample_size(10);
    g.throughput(Throughput::Elements((SERIES * SCRAPES) as u64));
    g.bench_function("replay_wal/5M_samples", |b| {
        b.iter_batched(
            || {
                let chunks = dir.path().join("chunks_head");
                let _ = std::fs::remove_dir_all(&chunks);
            },
            |()| {
                let head = Head::open(
                    dir.path(),
                    HeadOptions::default(),
                    &Registry::new(),
                    i64::MIN,
                )
                .unwrap();
                assert_eq!(head.num_series(), SERIES as u64);
                head.close().unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, append_by_ref, replay);
criterion_main!(benches);
