//! The store the binary-operator benchmarks query: kube-state-metrics-like pods and
//! node_exporter-like filesystems and memory over two hours at a 15 s interval (the last
//! hour is queried, with the lookback's worth of data before it).
//!
//! * `kube_pod_info{namespace, pod, uid, node, created_by_kind, …}`: 32 namespaces × 250
//!   pods = 8,000 series at any time.
//! * `kube_pod_container_resource_requests{namespace, pod, uid, container, node, resource,
//!   unit}`: one or two containers per pod, for `cpu` and `memory`: 12,000 of each.
//! * `node_filesystem_avail_bytes` and `node_filesystem_size_bytes{instance, device,
//!   fstype, mountpoint}`: 1,000 hosts × 4 mount points = 4,000 of each.
//! * `node_memory_MemAvailable_bytes` and `node_memory_MemTotal_bytes{instance}`: 1,000 each.
//!
//! One pod in eight is replaced every 40 minutes (a new name and uid, staggered per pod), so
//! pod series start and stop inside the queried hour as they do under a deployment's churn.

use model::Labels;

/// Start of the data (2023-11-14T00:00:00Z), ms.
pub const START_MS: i64 = 1_699_920_000_000;
/// Scrape interval, ms.
pub const STEP_MS: i64 = 15_000;
/// Scrapes per series that lives throughout (two hours).
pub const POINTS: usize = 480;
/// Time of the last scrape, ms.
pub const END_MS: i64 = START_MS + (POINTS as i64 - 1) * STEP_MS;

const NAMESPACES: usize = 32;
const PODS_PER_NAMESPACE: usize = 250;
const NODES: usize = 200;
const HOSTS: usize = 1_000;
const MOUNTPOINTS: [(&str, &str, &str); 4] = [
    ("/", "/dev/nvme0n1p1", "ext4"),
    ("/boot", "/dev/nvme0n1p2", "vfat"),
    ("/var/lib/kubelet", "/dev/nvme1n1", "xfs"),
    ("/run", "tmpfs", "tmpfs"),
];
/// A churning pod lives this many scrapes (40 minutes).
const POD_LIFE: usize = 160;

/// How a series' value moves.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Always this value.
    Constant(f64),
    /// `base` minus a slow sawtooth of up to `swing` (free space, free memory).
    Drifting { base: f64, swing: f64, seed: u64 },
}

/// One series of the fixture during one life (scrapes `from..to`).
#[derive(Debug, Clone)]
pub struct FixtureSeries {
    pub labels: Labels,
    shape: Shape,
    from: usize,
    to: usize,
}

impl FixtureSeries {
    /// The sample of scrape `k`, if the series exists then.
    pub fn value(&self, k: usize) -> Option<f64> {
        if k < self.from || k >= self.to {
            return None;
        }
        Some(match self.shape {
            Shape::Constant(v) => v,
            Shape::Drifting { base, swing, seed } => {
                let phase = (k as u64 + seed) % 97;
                base - swing * phase as f64 / 97.0
            }
        })
    }
}

fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 29)
}

/// The series of one pod life: its info series and its containers' requests.
fn pod(out: &mut Vec<FixtureSeries>, ns: usize, p: usize, life: usize, from: usize, to: usize) {
    let id = mix(((ns * PODS_PER_NAMESPACE + p) as u64) << 16 | life as u64);
    let namespace = format!("team-{ns:02}");
    let deployment = format!("svc-{}", p / 5);
    let name = format!("{deployment}-{:08x}-{:05x}", id >> 32, id & 0xf_ffff);
    let uid = format!("{:016x}-{:04x}", mix(id), life);
    let node = format!("node-{:03}", mix(id ^ 7) % NODES as u64);
    let common = |name_: &str| {
        vec![
            ("__name__", name_.to_string()),
            ("job", "kube-state-metrics".to_string()),
            ("instance", "10.0.0.10:8080".to_string()),
            ("namespace", namespace.clone()),
            ("pod", name.clone()),
            ("uid", uid.clone()),
            ("node", node.clone()),
        ]
    };
    let mut info = common("kube_pod_info");
    info.extend([
        ("created_by_kind", "ReplicaSet".to_string()),
        ("created_by_name", format!("{deployment}-{:08x}", id >> 32)),
        ("host_ip", format!("10.1.{}.{}", id % 200, (id >> 8) % 250)),
        (
            "pod_ip",
            format!("10.2.{}.{}", (id >> 16) % 250, (id >> 24) % 250),
        ),
        ("priority_class", "default".to_string()),
    ]);
    out.push(FixtureSeries {
        labels: Labels::from_pairs(info),
        shape: Shape::Constant(1.0),
        from,
        to,
    });
    for c in 0..1 + p % 2 {
        for (resource, unit, amount) in [
            ("cpu", "core", 0.05 * (1 + id % 8) as f64),
            ("memory", "byte", (64 << 20) as f64 * (1 + id % 16) as f64),
        ] {
            let mut l = common("kube_pod_container_resource_requests");
            l.extend([
                ("container", ["app", "sidecar"][c].to_string()),
                ("resource", resource.to_string()),
                ("unit", unit.to_string()),
            ]);
            out.push(FixtureSeries {
                labels: Labels::from_pairs(l),
                shape: Shape::Constant(amount),
                from,
                to,
            });
        }
    }
}

/// The metric names of a filesystem's size and free space.
const FILESYSTEM: [&str; 2] = ["node_filesystem_size_bytes", "node_filesystem_avail_bytes"];
/// The metric names of a host's memory and its available part.
const MEMORY: [&str; 2] = [
    "node_memory_MemTotal_bytes",
    "node_memory_MemAvailable_bytes",
];

/// A capacity of `size` and its free part, drifting down from `base` by up to `swing`
/// (`(base, swing, seed)`), as the series `names` (size, free) with labels `labels(name)`.
fn capacity(
    out: &mut Vec<FixtureSeries>,
    labels: impl Fn(&str) -> Labels,
    names: [&str; 2],
    size: f64,
    (base, swing, seed): (f64, f64, u64),
) {
    for (name, shape) in [
        (names[0], Shape::Constant(size)),
        (names[1], Shape::Drifting { base, swing, seed }),
    ] {
        out.push(FixtureSeries {
            labels: labels(name),
            shape,
            from: 0,
            to: POINTS,
        });
    }
}

/// Every series life of the fixture.
pub fn series() -> Vec<FixtureSeries> {
    let mut out = Vec::new();
    for ns in 0..NAMESPACES {
        for p in 0..PODS_PER_NAMESPACE {
            if p % 8 != 0 {
                pod(&mut out, ns, p, 0, 0, POINTS);
                continue;
            }
            // Replaced every POD_LIFE scrapes, at a moment of its own.
            let shift = (mix((ns * PODS_PER_NAMESPACE + p) as u64) % POD_LIFE as u64) as usize;
            let mut life = 0;
            let mut from = 0;
            while from < POINTS {
                let to = ((life + 1) * POD_LIFE - shift).min(POINTS);
                pod(&mut out, ns, p, life, from, to);
                from = to;
                life += 1;
            }
        }
    }
    for h in 0..HOSTS {
        let instance = format!("10.3.{}.{}:9100", h / 250, h % 250);
        let host = |name: &str, extra: &[(&str, &str)]| {
            let mut l = vec![
                ("__name__", name.to_string()),
                ("job", "node".to_string()),
                ("instance", instance.clone()),
            ];
            l.extend(extra.iter().map(|(n, v)| (*n, v.to_string())));
            Labels::from_pairs(l)
        };
        for (m, (mountpoint, device, fstype)) in MOUNTPOINTS.iter().enumerate() {
            let extra = [
                ("mountpoint", *mountpoint),
                ("device", *device),
                ("fstype", *fstype),
            ];
            let size = (1u64 << (30 + (h + m) % 6)) as f64;
            let labels = |name: &str| host(name, &extra);
            let free = (size * 0.8, size * 0.5, mix((h * 4 + m) as u64));
            capacity(&mut out, labels, FILESYSTEM, size, free);
        }
        let total = (8u64 << 30) as f64 * (1 + h % 8) as f64;
        let free = (total * 0.9, total * 0.6, mix(h as u64));
        capacity(&mut out, |name| host(name, &[]), MEMORY, total, free);
    }
    out
}

/// Every sample, scrape by scrape.
pub fn samples(series: &[FixtureSeries]) -> impl Iterator<Item = (Labels, i64, f64)> + '_ {
    crate::scrape_by_scrape(series, START_MS, STEP_MS, POINTS, |s, k| {
        Some((&s.labels, s.value(k)?))
    })
}
