//! Compaction throughput through `Db::compact`, in samples written to the new block per
//! second. 10,000 node_exporter-like series at a 15 s interval; blocks of the default 2 h
//! range hold 480 samples (4 chunks) per series, 4.8 M samples.
//!
//! * `head_to_block`: a store whose head spans just over 3 h (WAL on) writes its oldest 2 h as
//!   a block and truncates the head (4.8 M samples);
//! * `merge/leveled`: three adjacent 2 h blocks (and a newer fourth, which is never merged)
//!   merged into one 6 h block; chunks are copied (14.4 M samples);
//! * `merge/overlapping`: two blocks over the same 2 h whose samples interleave (a backfill
//!   over existing data) merged into one; every chunk is decoded, merged and encoded again
//!   (9.6 M samples).
//!
//! The store is built before each compaction and not timed.

use std::path::Path;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use model::metrics::Registry;
use model::{Labels, SeriesRef};
use tsdb::{Db, DbOptions};
use vane_benches::{node_like_series, value};

const SERIES: usize = 10_000;
const STEP_MS: i64 = 15_000;
const RANGE_MS: i64 = 2 * 3_600_000;
/// Samples per series in one block range.
const PER_BLOCK: usize = (RANGE_MS / STEP_MS) as usize;
/// A multiple of 6 h, so three 2 h blocks from here fill one merge window.
const T0: i64 = 1_699_920_000_000;

fn options() -> DbOptions {
    DbOptions {
        retention_time_ms: None,
        ..DbOptions::default()
    }
}

fn open(dir: &Path) -> Arc<Db> {
    Db::open(dir, options(), &Registry::new()).unwrap()
}

fn samples_in_blocks(db: &Db) -> u64 {
    db.blocks().iter().map(|b| b.meta().stats.num_samples).sum()
}

/// A fresh store whose head holds scrapes `0..=3 h / 15 s + 1` of every series: just over
/// the 1.5 block ranges after which the head's oldest range is compacted.
fn head_store(labels: &[Labels]) -> (tempfile::TempDir, Arc<Db>) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut refs: Vec<Option<SeriesRef>> = vec![None; labels.len()];
    for k in 0..=(3 * PER_BLOCK / 2 + 1) {
        let mut app = db.appender();
        let t = T0 + k as i64 * STEP_MS;
        for (i, l) in labels.iter().enumerate() {
            refs[i] = Some(app.append(refs[i], l, t, value(i, k)).unwrap());
        }
        app.commit().unwrap();
    }
    (dir, db)
}

fn head_to_block(c: &mut Criterion) {
    let labels: Vec<Labels> = (0..SERIES).map(node_like_series).collect();
    let mut g = c.benchmark_group("compaction");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements((SERIES * PER_BLOCK) as u64));
    g.bench_function("head_to_block", |b| {
        b.iter_batched(
            || head_store(&labels),
            |(dir, db)| {
                db.compact().unwrap();
                assert_eq!(samples_in_blocks(&db), (SERIES * PER_BLOCK) as u64);
                (dir, db)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Imports scrapes `first..first + n` of every series, shifted by `offset_ms`, as blocks.
fn import(dir: &Path, labels: &[Labels], first: usize, n: usize, offset_ms: i64) {
    let samples = (first..first + n).flat_map(|k| {
        labels.iter().enumerate().map(move |(i, l)| {
            Ok::<_, String>((l.clone(), T0 + offset_ms + k as i64 * STEP_MS, value(i, k)))
        })
    });
    tsdb::import::import(dir, RANGE_MS, samples).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

fn merge(c: &mut Criterion) {
    let labels: Vec<Labels> = (0..SERIES).map(node_like_series).collect();
    let leveled = tempfile::tempdir().unwrap();
    import(leveled.path(), &labels, 0, 4 * PER_BLOCK, 0);
    let overlapping = tempfile::tempdir().unwrap();
    import(overlapping.path(), &labels, 0, PER_BLOCK, 0);
    import(overlapping.path(), &labels, 0, PER_BLOCK, STEP_MS / 2);
    drop(labels);

    let mut g = c.benchmark_group("compaction");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    for (name, source, merged_blocks, blocks_after) in [
        ("merge/leveled", &leveled, 3, 2),
        ("merge/overlapping", &overlapping, 2, 1),
    ] {
        g.throughput(Throughput::Elements(
            (merged_blocks * SERIES * PER_BLOCK) as u64,
        ));
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    copy_dir(source.path(), dir.path());
                    let db = open(dir.path());
                    (dir, db)
                },
                |(dir, db)| {
                    db.compact().unwrap();
                    assert_eq!(db.blocks().len(), blocks_after);
                    (dir, db)
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

vane_benches::short_criterion_main!(head_to_block, merge);
