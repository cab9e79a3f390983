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
//!
//! `promql_fleet/range_1h_15s` runs the side-by-side benchmark's dashboard queries that
//! aggregate many series or read range vectors (`FLEET_QUERIES`) over a third store: 100
//! targets of its synthetic fleet scraped every 15 s (`vane_benches::fleet::store`, 100,000
//! series at a time, with churn and counter resets), the older hour in a block and the newest
//! 35 minutes in the head, which the store replays from its WAL when the benchmark opens it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::Labels;
use model::metrics::Registry;
use promql::{Engine, EngineOptions, Value};
use tsdb::{Db, DbOptions};
use vane_benches::fleet::store as fleet_store;
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

/// The side-by-side benchmark's queries over the fleet store that aggregate many series or
/// read range vectors.
pub const FLEET_QUERIES: &[(&str, &str)] = &[
    ("load1_max_5m", "max_over_time(node_load1[5m])"),
    (
        "pods_by_phase",
        "sum by (namespace, phase) (kube_pod_status_phase)",
    ),
    (
        "cpu_requests_by_node",
        "sum by (node) (kube_pod_container_resource_requests{resource=\"cpu\"} * on (namespace, pod) group_left () kube_pod_info)",
    ),
    (
        "restarts_5m",
        "sum by (namespace) (increase(kube_pod_container_status_restarts_total[5m]))",
    ),
    (
        "http_p99",
        "histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[1m])))",
    ),
    (
        "http_rps_by_code",
        "sum by (code) (rate(http_requests_total[1m]))",
    ),
    (
        "http_error_ratio",
        "sum by (instance) (rate(http_requests_total{code=\"500\"}[1m])) / sum by (instance) (rate(http_requests_total[1m]))",
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

/// Writes the fleet store into `dir`: the older ticks imported as a block, the newest
/// appended to the head (one commit per target and tick, as scrapes do) and kept in its WAL.
fn import_fleet(dir: &Path) {
    use fleet_store::{FIRST_TICK, HEAD_TICKS, TICKS};
    let head_from = FIRST_TICK + TICKS - HEAD_TICKS;
    // The generator calls back; the importer pulls: a thread between them.
    let (tx, rx) = std::sync::mpsc::sync_channel(65_536);
    let producer = std::thread::spawn(move || {
        fleet_store::each_sample(FIRST_TICK, head_from, |_, l, t, v| {
            tx.send((l.clone(), t, v)).unwrap()
        })
    });
    import(dir, rx.into_iter());
    producer.join().unwrap();
    let db = open(dir);
    let mut app = db.appender();
    let mut last = 0;
    fleet_store::each_sample(head_from, FIRST_TICK + TICKS, |target, l, t, v| {
        if target != last {
            app.commit().unwrap();
            app = db.appender();
            last = target;
        }
        app.append(None, l, t, v).unwrap();
    });
    app.commit().unwrap();
    db.close().unwrap();
}

fn bench_fleet(c: &mut Criterion) {
    let db = open_fixture("promql-fleet-fixture-v1", import_fleet);
    let modes = [("range_1h_15s", 3_600_000, 15_000)];
    let end = fleet_store::END_MS;
    run_queries(c, "promql_fleet", db.as_ref(), end, &modes, FLEET_QUERIES);
    db.close().unwrap();
}

criterion_group!(benches, bench, bench_binop, bench_fleet);
criterion_main!(benches);
