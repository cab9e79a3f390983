//! PromQL evaluation over a generated store: 10,000 series × one day at 15 s
//! (`vane_benches::query_fixture`), imported once as blocks and cached under
//! `target/bench-data/`.
//!
//! Each query runs as an instant query at the end of the data, as a range query over the
//! last hour at a 15 s step (240 points) and over the whole day at a 60 s step (1,440
//! points), the steps Grafana picks for those ranges. Throughput is in output points.

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::metrics::Registry;
use promql::{Engine, EngineOptions, Value};
use tsdb::{Db, DbOptions};
use vane_benches::query_fixture::{self, END_MS};

/// The query set of the PromQL benchmarks (also used by the side-by-side harness).
pub const QUERIES: &[(&str, &str)] = &[
    ("selector", "http_requests_total{job=\"job-3\"}"),
    ("rate", "rate(http_requests_total[5m])"),
    (
        "sum_by_rate",
        "sum by (job) (rate(http_requests_total[5m]))",
    ),
    (
        "histogram_quantile",
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    ("topk", "topk(10, rate(http_requests_total[5m]))"),
    (
        "binary_on",
        "sum by (job) (rate(http_requests_total{code=\"500\"}[5m])) / on(job) sum by (job) (rate(http_requests_total[5m]))",
    ),
    (
        "subquery_1h",
        "max_over_time(sum by (job) (rate(http_requests_total[5m]))[1h:1m])",
    ),
];

fn open_fixture() -> Arc<Db> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/promql-fixture-v1");
    let done = dir.join("complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let series = query_fixture::series();
        tsdb::import::import(
            &dir,
            2 * 3_600_000,
            query_fixture::samples(&series).map(Ok::<_, String>),
        )
        .unwrap();
        let db = open(&dir);
        db.compact().unwrap();
        db.close().unwrap();
        std::fs::write(&done, b"").unwrap();
    }
    open(&dir)
}

fn open(dir: &std::path::Path) -> Arc<Db> {
    Db::open(
        dir,
        DbOptions {
            retention_time_ms: None,
            ..DbOptions::default()
        },
        &Registry::new(),
    )
    .unwrap()
}

fn points(v: &Value) -> u64 {
    match v {
        Value::Vector(v) => v.len() as u64,
        Value::Matrix(m) => m.iter().map(|s| s.points.len() as u64).sum(),
        _ => 1,
    }
}

fn bench(c: &mut Criterion) {
    let db = open_fixture();
    let engine = Engine::new(EngineOptions::default());
    let modes: [(&str, i64, i64); 3] = [
        ("instant", 0, 0),
        ("range_1h_15s", 3_600_000, 15_000),
        ("range_24h_60s", END_MS - query_fixture::START_MS, 60_000),
    ];
    for (mode, range, step) in modes {
        let mut g = c.benchmark_group(format!("promql/{mode}"));
        g.sample_size(10);
        g.warm_up_time(std::time::Duration::from_millis(500));
        g.measurement_time(std::time::Duration::from_secs(3));
        for (name, q) in QUERIES {
            let run = || {
                if step == 0 {
                    engine.instant_query(db.as_ref(), q, END_MS).unwrap()
                } else {
                    engine
                        .range_query(db.as_ref(), q, END_MS - range, END_MS, step)
                        .unwrap()
                }
            };
            g.throughput(Throughput::Elements(points(&run().value)));
            g.bench_function(*name, |b| b.iter(run));
        }
        g.finish();
    }
    db.close().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
