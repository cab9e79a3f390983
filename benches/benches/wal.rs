//! WAL write throughput (`tsdb::wal::Wal`) for records of one scrape-sized batch: 1,000
//! samples of 1,000 consecutive series (what a head commit of a node_exporter scrape logs).
//! Replay is measured by the `head` suite.
//!
//! * `encode_samples`: the samples record codec alone, into a reused buffer;
//! * `log/sync_never`: `Wal::log` of pre-encoded records with the default policy (fsync only
//!   when a 128 MiB segment is completed, which the figure includes);
//! * `log/sync_always/<n>_writers`: fsync before every `log` returns, from 1 and from 4
//!   threads at once; concurrent callers share one fsync (group commit), so 4 writers log
//!   more per second than 1 on the same disk.
//!
//! Segments already completed are deleted as the benchmark goes, so it needs a few hundred
//! MiB of disk at most.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tsdb::wal::{RefSample, SyncPolicy, Wal, WalOptions, encode_samples};
use vane_benches::value;

const BATCH: usize = 1_000;
const VARIANTS: usize = 16;

/// The samples of scrape `k`: series 5,000 … 5,999 at one time, 15 s apart.
fn batch(k: usize) -> Vec<RefSample> {
    (0..BATCH)
        .map(|i| RefSample {
            r: 5_000 + i as u64,
            t: 1_700_000_000_000 + k as i64 * 15_000,
            v: value(i, k),
        })
        .collect()
}

fn records() -> Vec<Vec<u8>> {
    (0..VARIANTS)
        .map(|k| {
            let mut buf = Vec::new();
            encode_samples(&batch(k), &mut buf);
            buf
        })
        .collect()
}

/// Bytes a record takes in a segment (its length and checksum come first).
fn framed(rec: &[u8]) -> u64 {
    rec.len() as u64 + 8
}

/// A WAL that deletes its completed segments every 256 MiB logged.
struct Bounded {
    wal: Wal,
    logged: AtomicU64,
}

impl Bounded {
    fn open(dir: &std::path::Path, sync: SyncPolicy) -> Bounded {
        let opts = WalOptions {
            sync,
            ..WalOptions::default()
        };
        Bounded {
            wal: Wal::open(dir, opts, None).unwrap(),
            logged: AtomicU64::new(0),
        }
    }

    fn log(&self, rec: &[u8]) {
        self.wal.log(&[rec]).unwrap();
        let before = self.logged.fetch_add(framed(rec), Ordering::Relaxed);
        if (before + framed(rec)) >> 28 != before >> 28 {
            self.wal.truncate(u32::MAX).unwrap();
        }
    }
}

fn encode(c: &mut Criterion) {
    let samples = batch(1);
    let mut g = c.benchmark_group("wal");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("encode_samples", |b| {
        let mut buf = Vec::with_capacity(16 * BATCH);
        b.iter(|| {
            buf.clear();
            encode_samples(&samples, &mut buf);
            buf.len()
        })
    });
    g.finish();
}

fn log(c: &mut Criterion) {
    let recs = records();
    let bytes = framed(&recs[0]);
    let mut g = c.benchmark_group("wal");
    g.throughput(Throughput::ElementsAndBytes {
        elements: BATCH as u64,
        bytes,
    });
    {
        let dir = tempfile::tempdir().unwrap();
        let wal = Bounded::open(dir.path(), SyncPolicy::Never);
        let mut k = 0usize;
        g.bench_function("log/sync_never", |b| {
            b.iter(|| {
                k += 1;
                wal.log(&recs[k % VARIANTS]);
            })
        });
        wal.wal.close().unwrap();
    }
    g.sample_size(10);
    for writers in [1usize, 4] {
        let dir = tempfile::tempdir().unwrap();
        let wal = Bounded::open(dir.path(), SyncPolicy::Always);
        g.throughput(Throughput::ElementsAndBytes {
            elements: (BATCH * writers) as u64,
            bytes: bytes * writers as u64,
        });
        g.bench_function(format!("log/sync_always/{writers}_writers"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for w in 0..writers {
                        let (wal, recs) = (&wal, &recs);
                        s.spawn(move || {
                            for k in 0..iters as usize {
                                wal.log(&recs[(k + w) % VARIANTS]);
                            }
                        });
                    }
                });
                start.elapsed().max(Duration::from_nanos(1))
            })
        });
        wal.wal.close().unwrap();
    }
    g.finish();
}

vane_benches::short_criterion_main!(encode, log);
