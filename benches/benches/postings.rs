//! Postings: from label matchers to series ids through a block index of 1,000,000 series
//! (`tsdb::postings::postings_for_matchers` over `tsdb::index::IndexReader`, the path every
//! block query takes).
//!
//! The series are shaped like a Kubernetes cluster's: 20 jobs (`svc-00` … `svc-19`) in 5
//! namespaces, 500 instances per job (`10.<job>.<i/256>.<i%256>:8080`, 10,000 in all), and
//! 100 metric names per instance (10 families × 10 suffixes). So a metric name selects 10,000
//! series, a job 50,000 and a namespace 200,000.
//!
//! Each benchmark is one selector; throughput is selections per second. The index is written
//! once per run (a few seconds) into a temporary directory.

use criterion::{Criterion, Throughput};
use model::{LabelStr, Labels, MatchType, Matcher};
use tsdb::index::{IndexReader, IndexWriter};
use tsdb::postings::postings_for_matchers;

const JOBS: usize = 20;
const INSTANCES: usize = 500;
const NAMESPACES: usize = 5;
const FAMILIES: [&str; 10] = [
    "http",
    "grpc",
    "process",
    "go",
    "node",
    "container",
    "kube",
    "apiserver",
    "etcd",
    "envoy",
];
const SUFFIXES: [&str; 10] = [
    "requests_total",
    "request_duration_seconds_bucket",
    "request_duration_seconds_sum",
    "request_duration_seconds_count",
    "errors_total",
    "bytes_total",
    "open_fds",
    "memory_bytes",
    "cpu_seconds_total",
    "up",
];

fn instance(job: usize, i: usize) -> String {
    format!("10.{job}.{}.{}:8080", i / 256, i % 256)
}

/// Every label set of the fixture, sorted (the order an index is written in). Strings are
/// shared, so the million sets cost about 150 MB.
fn series() -> Vec<Labels> {
    let arc = |s: String| -> LabelStr { s.into() };
    let names: Vec<LabelStr> = FAMILIES
        .iter()
        .flat_map(|f| SUFFIXES.iter().map(move |s| arc(format!("{f}_{s}"))))
        .collect();
    let namespaces: Vec<LabelStr> = (0..NAMESPACES).map(|n| arc(format!("ns-{n}"))).collect();
    let mut out = Vec::with_capacity(JOBS * INSTANCES * names.len());
    for job in 0..JOBS {
        let job_name = arc(format!("svc-{job:02}"));
        for i in 0..INSTANCES {
            let inst = arc(instance(job, i));
            for name in &names {
                out.push(Labels::from_pairs([
                    ("__name__", name.clone()),
                    ("job", job_name.clone()),
                    ("instance", inst.clone()),
                    ("namespace", namespaces[job % NAMESPACES].clone()),
                ]));
            }
        }
    }
    out.sort();
    out
}

fn write_index(path: &std::path::Path) {
    let mut w = IndexWriter::create(path).unwrap();
    for l in series() {
        w.add_series(&l, &[]).unwrap();
    }
    w.finish().unwrap();
}

fn m(name: &str, kind: MatchType, value: &str) -> Matcher {
    Matcher::new(kind, name, value).unwrap()
}

/// (benchmark name, selector, expected number of series).
fn selectors() -> Vec<(&'static str, Vec<Matcher>, u64)> {
    use MatchType::{Equal as Eq, NotEqual as Ne, RegexMatch as Re, RegexNoMatch as Nre};
    vec![
        (
            "name_and_job",
            vec![
                m("__name__", Eq, "http_requests_total"),
                m("job", Eq, "svc-07"),
            ],
            500,
        ),
        (
            "name_job_instance",
            vec![
                m("__name__", Eq, "http_requests_total"),
                m("job", Eq, "svc-07"),
                m("instance", Eq, &instance(7, 273)),
            ],
            1,
        ),
        (
            "namespace_and_job",
            vec![m("namespace", Eq, "ns-2"), m("job", Eq, "svc-07")],
            50_000,
        ),
        (
            "name_and_job_not_equal",
            vec![
                m("__name__", Eq, "http_requests_total"),
                m("job", Ne, "svc-07"),
            ],
            9_500,
        ),
        (
            "regex_alternation",
            vec![m(
                "__name__",
                Re,
                "http_requests_total|grpc_errors_total|process_cpu_seconds_total",
            )],
            30_000,
        ),
        (
            "regex_prefix",
            vec![m("job", Eq, "svc-07"), m("instance", Re, "10.7.1.*")],
            24_400,
        ),
        (
            "regex_suffix",
            vec![m("job", Eq, "svc-07"), m("__name__", Re, ".*_bucket")],
            5_000,
        ),
        (
            "regex_no_match_on_name",
            vec![m("job", Eq, "svc-07"), m("__name__", Nre, "go_.*|etcd_.*")],
            40_000,
        ),
        (
            "regex_matching_nothing",
            vec![m("instance", Re, ".*:9100")],
            0,
        ),
        (
            "regex_broad",
            vec![m("job", Re, "svc-0.*"), m("__name__", Re, "http_.*")],
            50_000,
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    write_index(&path);
    let ix = IndexReader::open(&path).unwrap();
    assert_eq!(ix.num_series() as usize, JOBS * INSTANCES * 100);
    let mut g = c.benchmark_group("postings");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    for (name, matchers, expected) in selectors() {
        assert_eq!(
            postings_for_matchers(&ix, &matchers).unwrap().len(),
            expected,
            "{name}"
        );
        g.bench_function(name, |b| {
            b.iter(|| postings_for_matchers(&ix, &matchers).unwrap().len())
        });
    }
    g.finish();
}

vane_benches::short_criterion_main!(bench);
