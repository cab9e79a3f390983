//! Bytes per sample on the real recordings in `shared/datasets/` (OpenMetrics, gzip).
//!
//! Imports the recording with the same code path as `vane tsdb import`, compacts the result
//! into as few blocks as compaction makes, and reports per sample: chunk payload bytes (the
//! column-encoded chunks before frame compression), chunk file bytes (compressed frames), and
//! whole-block bytes (index and meta included).
//! The same for the first 10 minutes of the recording alone.

use std::path::{Path, PathBuf};

use model::Labels;
use model::metrics::Registry;
use scraper::textparse::{Entry, Format, Parser};
use tsdb::{Db, DbOptions};

fn dataset() -> PathBuf {
    let p = std::env::var("VANE_DATASET")
        .map(PathBuf::from)
        .unwrap_or_else(|_| vane_benches::shared_path("datasets/exporters-42m-5s.om.gz"));
    assert!(
        p.exists(),
        "dataset not found: {} (set VANE_DATASET)",
        p.display()
    );
    p
}

fn samples(text: &str, max_t: Option<i64>) -> Vec<(Labels, i64, f64)> {
    let mut out = Vec::new();
    for e in Parser::new(text, Format::OpenMetrics) {
        if let Entry::Sample(s) = e.expect("dataset parses") {
            let t = s.timestamp_ms.expect("dataset has timestamps");
            if max_t.is_some_and(|m| t >= m) {
                continue;
            }
            let mut pairs: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            pairs.push(("__name__".into(), s.name.to_string()));
            out.push((Labels::from_pairs(pairs), t, s.value));
        }
    }
    out
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let m = e.metadata().unwrap();
        total += if m.is_dir() {
            dir_size(&e.path())
        } else {
            m.len()
        };
    }
    total
}

fn measure(name: &str, data: Vec<(Labels, i64, f64)>) {
    let n = data.len() as f64;
    let dir = tempfile::tempdir().unwrap();
    let stats = tsdb::import::import(
        dir.path(),
        2 * 3_600_000,
        data.into_iter().map(Ok::<_, String>),
    )
    .unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_time_ms: None,
            ..DbOptions::default()
        },
        &Registry::new(),
    )
    .unwrap();
    db.compact().unwrap();
    let blocks = db.blocks();
    let mut chunk_files = 0u64;
    let mut payload = 0u64;
    let mut whole = 0u64;
    for b in &blocks {
        chunk_files += dir_size(&b.dir().join("chunks"));
        whole += dir_size(b.dir());
        let mut metas = Vec::new();
        for id in 0..b.index().num_series() {
            metas.clear();
            b.index().series(id, &mut metas).unwrap();
            for m in &metas {
                payload += b.chunks().chunk(m.r).unwrap().1.as_ref().len() as u64;
            }
        }
    }
    println!(
        "{name}: samples={} series={} blocks={} chunk_payload_bytes_per_sample={:.3} chunk_file_bytes_per_sample={:.3} block_bytes_per_sample={:.3} block_bytes={whole}",
        stats.samples,
        stats.series,
        blocks.len(),
        payload as f64 / n,
        chunk_files as f64 / n,
        whole as f64 / n,
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let text = vane_benches::read_gz(&dataset());
    let all = samples(&text, None);
    let t0 = all.iter().map(|s| s.1).min().unwrap();
    measure("exporters-42m-5s", all);
    measure(
        "exporters-42m-5s first 10m",
        samples(&text, Some(t0 + 600_000)),
    );
}
