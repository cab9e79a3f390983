//! Relabeling alone (`scraper::relabel::process_labels`): label sets per second.
//!
//! * `target/kubernetes_pods`: 10,000 discovered pod targets (Kubernetes pod discovery's
//!   `__meta_*` labels) through the usual `kubernetes-pods` job: keep on the scrape
//!   annotation, drop finished phases, path and port from annotations (a two-source regex
//!   replace), `labelmap` of the pod labels, namespace/pod/node copies, and a `hashmod`
//!   shard (one of two kept).
//! * `metric/cadvisor_and_apiserver`: 10,000 sample label sets (cAdvisor containers,
//!   kube-state-metrics, API server histogram buckets, Go runtime) through
//!   `metric_relabel_configs`: drop by name regex, drop buckets by `__name__;le`, `labeldrop`
//!   of high-cardinality ids, keep by name prefix, a copy and a `labelmap`.

use criterion::{Criterion, Throughput};
use model::Labels;
use scraper::relabel::{RelabelConfig, parse_list, process_labels};

const SETS: usize = 10_000;

const TARGET_RELABEL: &str = r#"
- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
  action: keep
  regex: "true"
- source_labels: [__meta_kubernetes_pod_phase]
  action: drop
  regex: Pending|Succeeded|Failed|Completed
- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
  action: replace
  target_label: __metrics_path__
  regex: (.+)
- source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
  action: replace
  regex: ([^:]+)(?::\d+)?;(\d+)
  replacement: $1:$2
  target_label: __address__
- action: labelmap
  regex: __meta_kubernetes_pod_label_(.+)
- source_labels: [__meta_kubernetes_namespace]
  action: replace
  target_label: namespace
- source_labels: [__meta_kubernetes_pod_name]
  action: replace
  target_label: pod
- source_labels: [__meta_kubernetes_pod_node_name]
  target_label: node
- source_labels: [__address__]
  modulus: 2
  target_label: __tmp_shard
  action: hashmod
- source_labels: [__tmp_shard]
  regex: "0"
  action: keep
"#;

const METRIC_RELABEL: &str = r#"
- source_labels: [__name__]
  regex: go_gc_duration_seconds.*|go_memstats_.*_sys_bytes
  action: drop
- source_labels: [__name__, le]
  regex: apiserver_request_duration_seconds_bucket;(0.15|0.25|0.35|0.45|0.6|0.7|0.8|0.9|1.25|1.5|1.75|2.5|3|3.5|4.5|6|7|8|9|15|25|30|50)
  action: drop
- regex: id|uid|pod_template_hash
  action: labeldrop
- source_labels: [__name__]
  regex: (container|kube|apiserver|go|http)_.*
  action: keep
- source_labels: [pod]
  target_label: pod_name
- regex: exported_(.+)
  action: labelmap
"#;

/// A small deterministic generator (xorshift), so every run sees the same sets.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn pod_targets() -> Vec<Labels> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let apps = [
        "api", "web", "worker", "cache", "ingest", "billing", "search", "auth",
    ];
    (0..SETS)
        .map(|i| {
            let app = apps[i % apps.len()];
            let ns = format!("team-{}", i % 12);
            let hash = format!("{:08x}", rng.below(u32::MAX as u64));
            let pod = format!("{app}-{hash}-{:05x}", rng.below(1 << 20));
            let ip = format!("10.{}.{}.{}", 64 + i / 65_536, (i / 256) % 256, i % 256);
            let phase = if rng.below(20) == 0 {
                "Pending"
            } else {
                "Running"
            };
            let scrape = if rng.below(5) == 0 { "false" } else { "true" };
            let mut pairs = vec![
                ("__address__", format!("{ip}:8080")),
                ("__meta_kubernetes_namespace", ns),
                ("__meta_kubernetes_pod_name", pod),
                ("__meta_kubernetes_pod_ip", ip),
                (
                    "__meta_kubernetes_pod_node_name",
                    format!("node-{}", i % 40),
                ),
                ("__meta_kubernetes_pod_phase", phase.to_string()),
                ("__meta_kubernetes_pod_ready", "true".to_string()),
                ("__meta_kubernetes_pod_container_name", app.to_string()),
                ("__meta_kubernetes_pod_container_port_number", "8080".into()),
                ("__meta_kubernetes_pod_controller_kind", "ReplicaSet".into()),
                (
                    "__meta_kubernetes_pod_controller_name",
                    format!("{app}-{hash}"),
                ),
                ("__meta_kubernetes_pod_label_app", app.to_string()),
                ("__meta_kubernetes_pod_label_pod_template_hash", hash),
                (
                    "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
                    scrape.into(),
                ),
                (
                    "__meta_kubernetes_pod_annotation_prometheus_io_port",
                    "9102".into(),
                ),
                ("__metrics_path__", "/metrics".into()),
                ("__scheme__", "http".into()),
                ("job", "kubernetes-pods".into()),
            ];
            if i % 3 == 0 {
                pairs.push((
                    "__meta_kubernetes_pod_annotation_prometheus_io_path",
                    "/stats/prometheus".into(),
                ));
                pairs.push(("__meta_kubernetes_pod_label_version", format!("v{}", i % 4)));
            }
            Labels::from_pairs(pairs)
        })
        .collect()
}

fn sample_sets() -> Vec<Labels> {
    let les = [
        "0.005", "0.025", "0.05", "0.1", "0.15", "0.2", "0.25", "0.4", "0.6", "1", "1.25", "2",
        "3", "5", "8", "15", "30", "60", "+Inf",
    ];
    (0..SETS)
        .map(|i| {
            let pod = format!("web-{:06x}", i / 8 % 500);
            let target = [
                (
                    "instance",
                    format!("10.0.{}.{}:10250", i / 2000, i / 8 % 250),
                ),
                ("job", "kubelet".to_string()),
            ];
            let own: Vec<(&str, String)> = match i % 8 {
                0 | 1 => vec![
                    (
                        "__name__",
                        [
                            "container_cpu_usage_seconds_total",
                            "container_memory_working_set_bytes",
                        ][i % 2]
                            .into(),
                    ),
                    ("container", "web".into()),
                    ("cpu", "total".into()),
                    (
                        "id",
                        format!("/kubepods/burstable/pod{i:08x}/{:016x}", i * 7919),
                    ),
                    ("image", "registry.example.org/web:1.4.2".into()),
                    ("name", format!("k8s_web_{pod}_default_{i:08x}_0")),
                    ("namespace", "default".into()),
                    ("pod", pod.clone()),
                ],
                2 => vec![
                    ("__name__", "kube_pod_status_phase".into()),
                    ("namespace", "default".into()),
                    ("pod", pod.clone()),
                    ("phase", ["Running", "Pending", "Failed"][i / 8 % 3].into()),
                    ("uid", format!("{i:08x}-1f2e-4d3c-9b8a-{:012x}", i * 31)),
                    ("exported_namespace", "default".into()),
                ],
                3 | 4 => vec![
                    (
                        "__name__",
                        "apiserver_request_duration_seconds_bucket".into(),
                    ),
                    ("verb", ["GET", "LIST", "WATCH", "PATCH"][i / 8 % 4].into()),
                    (
                        "resource",
                        ["pods", "nodes", "configmaps"][i / 32 % 3].into(),
                    ),
                    ("le", les[i / 8 % les.len()].into()),
                    ("component", "apiserver".into()),
                ],
                5 => vec![
                    ("__name__", "go_gc_duration_seconds".into()),
                    (
                        "quantile",
                        ["0", "0.25", "0.5", "0.75", "1"][i / 8 % 5].into(),
                    ),
                ],
                6 => vec![("__name__", "go_memstats_heap_sys_bytes".into())],
                _ => vec![
                    ("__name__", "process_open_fds".into()),
                    ("pod_template_hash", format!("{:08x}", i * 13)),
                ],
            };
            Labels::from_pairs(own.into_iter().chain(target))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let cases: [(&str, Vec<Labels>, Vec<RelabelConfig>); 2] = [
        (
            "target/kubernetes_pods",
            pod_targets(),
            parse_list(TARGET_RELABEL).unwrap(),
        ),
        (
            "metric/cadvisor_and_apiserver",
            sample_sets(),
            parse_list(METRIC_RELABEL).unwrap(),
        ),
    ];
    let mut g = c.benchmark_group("relabel");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SETS as u64));
    for (name, sets, steps) in &cases {
        let kept = sets
            .iter()
            .filter(|l| process_labels(l, steps).is_some())
            .count();
        eprintln!("relabel {name}: {kept} of {} label sets kept", sets.len());
        g.bench_function(*name, |b| {
            b.iter(|| {
                sets.iter()
                    .filter(|l| process_labels(l, steps).is_some())
                    .count()
            })
        });
    }
    g.finish();
}

vane_benches::short_criterion_main!(bench);
