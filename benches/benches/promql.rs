//! PromQL evaluation over a generated store: 10,000 series × one day at 15 s
//! (`vane_benches::query_fixture`), imported once as blocks and cached under
//! `target/bench-data/`.
//!
//! Each query runs as an instant query at the end of the data, as a range query over the
//! last hour at a 15 s step (240 points) and over the whole day at a 60 s step (1,440
//! points), the steps Grafana picks for those ranges. Throughput is in output points.
//!
//! `promql_binop/*` runs binary operators between vectors (`BINOP_QUERIES`) over a second
//! store of kube-state-metrics-like pods and node_exporter-like hosts
//! (`vane_benches::kube_fixture`, cached under `target/bench-data/` too), as an instant query
//! and a range query over the last hour at a 15 s step.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::Labels;
use model::metrics::Registry;
use promql::{Engine, EngineOptions, Value};
use tsdb::{Db, DbOptions};
use vane_benches::kube_fixture;
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

/// The store under `target/bench-data/<name>`, imported by `import` (given the directory)
/// the first time.
fn open_fixture(name: &str, import: impl FnOnce(&Path)) -> Arc<Db> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-data")
        .join(name);
    let done = dir.join("complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        import(&dir);
        let db = open(&dir);
        db.compact().unwrap();
        db.close().unwrap();
        std::fs::write(&done, b"").unwrap();
    }
    open(&dir)
}

/// Imports `samples` into `dir` as two-hour blocks.
fn import(dir: &Path, samples: impl Iterator<Item = (Labels, i64, f64)>) {
    tsdb::import::import(dir, 2 * 3_600_000, samples.map(Ok::<_, String>)).unwrap();
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

/// Binary operators between two vectors over `kube_fixture`: a many-to-one join under `sum`,
/// one-to-one ratios under `min` and with a scalar.
pub const BINOP_QUERIES: &[(&str, &str)] = &[
    (
        "join_group_left",
        "sum by (node) (kube_pod_container_resource_requests{resource=\"cpu\"} * on (namespace, pod) group_left () kube_pod_info)",
    ),
    (
        "fs_ratio",
        "min by (instance) (node_filesystem_avail_bytes / node_filesystem_size_bytes)",
    ),
    (
        "mem_ratio",
        "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
    ),
];

/// Runs `queries` against `db` as an instant query at `end` and as range queries ending
/// there, one benchmark group per mode (`<prefix>/<mode>`): `(mode, range, step)`, step 0
/// for the instant query.
fn run_queries(
    c: &mut Criterion,
    prefix: &str,
    db: &Db,
    end: i64,
    modes: &[(&str, i64, i64)],
    queries: &[(&str, &str)],
) {
    let engine = Engine::new(EngineOptions::default());
    for &(mode, range, step) in modes {
        let mut g = c.benchmark_group(format!("{prefix}/{mode}"));
        g.sample_size(10);
        g.warm_up_time(std::time::Duration::from_millis(500));
        g.measurement_time(std::time::Duration::from_secs(3));
        for (name, q) in queries {
            let run = || {
                if step == 0 {
                    engine.instant_query(db, q, end).unwrap()
                } else {
                    engine.range_query(db, q, end - range, end, step).unwrap()
                }
            };
            g.throughput(Throughput::Elements(points(&run().value)));
            g.bench_function(*name, |b| b.iter(run));
        }
        g.finish();
    }
}

fn bench(c: &mut Criterion) {
    let db = open_fixture("promql-fixture-v1", |dir| {
        import(dir, query_fixture::samples(&query_fixture::series()))
    });
    let modes = [
        ("instant", 0, 0),
        ("range_1h_15s", 3_600_000, 15_000),
        ("range_24h_60s", END_MS - query_fixture::START_MS, 60_000),
    ];
    run_queries(c, "promql", db.as_ref(), END_MS, &modes, QUERIES);
    db.close().unwrap();
}

fn bench_binop(c: &mut Criterion) {
    let db = open_fixture("promql-kube-fixture-v1", |dir| {
        import(dir, kube_fixture::samples(&kube_fixture::series()))
    });
    let modes = [("instant", 0, 0), ("range_1h_15s", 3_600_000, 15_000)];
    let end = kube_fixture::END_MS;
    run_queries(c, "promql_binop", db.as_ref(), end, &modes, BINOP_QUERIES);
    db.close().unwrap();
}

criterion_group!(benches, bench, bench_binop);
criterion_main!(benches);
