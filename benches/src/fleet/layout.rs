//! What one target exposes: metric families, the units of series a target is made of, and
//! the label sets and shapes of each unit's series.
//!
//! A target holds one `Host` unit (node_exporter's per-host series), then repeats
//! [`PATTERN`] (CPUs, network interfaces, disks, filesystems as node_exporter shows them;
//! pods as kube-state-metrics shows them; instrumented HTTP handlers with a classic
//! histogram) while the next unit fits, and fills the rest with temperature sensors, so a
//! target has exactly the number of series asked for.

use super::value::{CONDITIONS, Life, PHASES, Shape, h2};

/// A metric family's type, as written in `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A metric family: its name, type and help text.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

macro_rules! families {
    ($($id:ident: $name:literal, $kind:ident, $help:literal;)*) => {
        $(const $id: &Family = &Family { name: $name, kind: Kind::$kind, help: $help };)*
    };
}

families! {
    BOOT_TIME: "node_boot_time_seconds", Gauge, "Node boot time, in unixtime.";
    TIME: "node_time_seconds", Gauge, "System time in seconds since epoch (1970).";
    LOAD1: "node_load1", Gauge, "1m load average.";
    LOAD5: "node_load5", Gauge, "5m load average.";
    LOAD15: "node_load15", Gauge, "15m load average.";
    PROCS_RUNNING: "node_procs_running", Gauge, "Number of processes in runnable state.";
    PROCS_BLOCKED: "node_procs_blocked", Gauge, "Number of processes blocked waiting for I/O to complete.";
    CONTEXT_SWITCHES: "node_context_switches_total", Counter, "Total number of context switches.";
    INTR: "node_intr_total", Counter, "Total number of interrupts serviced.";
    FORKS: "node_forks_total", Counter, "Total number of forks.";
    UNAME: "node_uname_info", Gauge, "Labeled system information as provided by the uname system call.";
    BUILD_INFO: "node_exporter_build_info", Gauge, "A metric with a constant '1' value labeled by version, revision, branch, and goversion from which node_exporter was built.";
    FILEFD_ALLOCATED: "node_filefd_allocated", Gauge, "File descriptor statistics: allocated.";
    FILEFD_MAXIMUM: "node_filefd_maximum", Gauge, "File descriptor statistics: maximum.";
    ENTROPY: "node_entropy_available_bits", Gauge, "Bits of available entropy.";
    SOCKETS_USED: "node_sockstat_sockets_used", Gauge, "Number of IPv4 sockets in use.";
    TCP_INUSE: "node_sockstat_TCP_inuse", Gauge, "Number of TCP sockets in state inuse.";
    TCP_ACTIVE_OPENS: "node_netstat_Tcp_ActiveOpens", Counter, "Statistic TcpActiveOpens.";
    TCP_PASSIVE_OPENS: "node_netstat_Tcp_PassiveOpens", Counter, "Statistic TcpPassiveOpens.";
    TCP_RETRANS: "node_netstat_Tcp_RetransSegs", Counter, "Statistic TcpRetransSegs.";
    CPU_SECONDS: "node_cpu_seconds_total", Counter, "Seconds the CPUs spent in each mode.";
    CPU_GUEST: "node_cpu_guest_seconds_total", Counter, "Seconds the CPUs spent in guests (VMs) for each mode.";
    NET_RX_BYTES: "node_network_receive_bytes_total", Counter, "Network device statistic receive_bytes.";
    NET_TX_BYTES: "node_network_transmit_bytes_total", Counter, "Network device statistic transmit_bytes.";
    NET_RX_PACKETS: "node_network_receive_packets_total", Counter, "Network device statistic receive_packets.";
    NET_TX_PACKETS: "node_network_transmit_packets_total", Counter, "Network device statistic transmit_packets.";
    NET_RX_ERRS: "node_network_receive_errs_total", Counter, "Network device statistic receive_errs.";
    NET_TX_ERRS: "node_network_transmit_errs_total", Counter, "Network device statistic transmit_errs.";
    NET_RX_DROP: "node_network_receive_drop_total", Counter, "Network device statistic receive_drop.";
    NET_TX_DROP: "node_network_transmit_drop_total", Counter, "Network device statistic transmit_drop.";
    NET_UP: "node_network_up", Gauge, "Value is 1 if operstate is 'up', 0 otherwise.";
    NET_MTU: "node_network_mtu_bytes", Gauge, "Network device property: mtu_bytes.";
    DISK_READS: "node_disk_reads_completed_total", Counter, "The total number of reads completed successfully.";
    DISK_WRITES: "node_disk_writes_completed_total", Counter, "The total number of writes completed successfully.";
    DISK_READ_BYTES: "node_disk_read_bytes_total", Counter, "The total number of bytes read successfully.";
    DISK_WRITTEN_BYTES: "node_disk_written_bytes_total", Counter, "The total number of bytes written successfully.";
    DISK_IO_TIME: "node_disk_io_time_seconds_total", Counter, "Total seconds spent doing I/Os.";
    DISK_READ_TIME: "node_disk_read_time_seconds_total", Counter, "The total number of seconds spent by all reads.";
    DISK_WRITE_TIME: "node_disk_write_time_seconds_total", Counter, "This is the total number of seconds spent by all writes.";
    DISK_IO_NOW: "node_disk_io_now", Gauge, "The number of I/Os currently in progress.";
    FS_SIZE: "node_filesystem_size_bytes", Gauge, "Filesystem size in bytes.";
    FS_AVAIL: "node_filesystem_avail_bytes", Gauge, "Filesystem space available to non-root users in bytes.";
    FS_FREE: "node_filesystem_free_bytes", Gauge, "Filesystem free space in bytes.";
    FS_FILES: "node_filesystem_files", Gauge, "Filesystem total file nodes.";
    FS_FILES_FREE: "node_filesystem_files_free", Gauge, "Filesystem total free file nodes.";
    FS_READONLY: "node_filesystem_readonly", Gauge, "Filesystem read-only status.";
    FS_ERROR: "node_filesystem_device_error", Gauge, "Whether an error occurred while getting statistics for the given device.";
    HWMON_TEMP: "node_hwmon_temp_celsius", Gauge, "Hardware monitor for temperature (input).";
    POD_INFO: "kube_pod_info", Gauge, "Information about pod.";
    POD_PHASE: "kube_pod_status_phase", Gauge, "The pods current phase.";
    POD_READY: "kube_pod_status_ready", Gauge, "Describes whether the pod is ready to serve requests.";
    POD_RESTARTS: "kube_pod_container_status_restarts_total", Counter, "The number of container restarts per container.";
    POD_REQUESTS: "kube_pod_container_resource_requests", Gauge, "The number of requested request resource by a container.";
    POD_RUNNING: "kube_pod_container_status_running", Gauge, "Describes whether the container is currently in running state.";
    HTTP_DURATION: "http_request_duration_seconds", Histogram, "Duration of HTTP requests.";
    HTTP_REQUESTS: "http_requests_total", Counter, "Total number of HTTP requests.";
    MEM_TOTAL: "node_memory_MemTotal_bytes", Gauge, "Memory information field MemTotal_bytes.";
    MEM_FREE: "node_memory_MemFree_bytes", Gauge, "Memory information field MemFree_bytes.";
    MEM_AVAILABLE: "node_memory_MemAvailable_bytes", Gauge, "Memory information field MemAvailable_bytes.";
    MEM_BUFFERS: "node_memory_Buffers_bytes", Gauge, "Memory information field Buffers_bytes.";
    MEM_CACHED: "node_memory_Cached_bytes", Gauge, "Memory information field Cached_bytes.";
    MEM_SWAP_CACHED: "node_memory_SwapCached_bytes", Gauge, "Memory information field SwapCached_bytes.";
    MEM_ACTIVE: "node_memory_Active_bytes", Gauge, "Memory information field Active_bytes.";
    MEM_INACTIVE: "node_memory_Inactive_bytes", Gauge, "Memory information field Inactive_bytes.";
    MEM_ACTIVE_ANON: "node_memory_Active_anon_bytes", Gauge, "Memory information field Active_anon_bytes.";
    MEM_INACTIVE_ANON: "node_memory_Inactive_anon_bytes", Gauge, "Memory information field Inactive_anon_bytes.";
    MEM_ACTIVE_FILE: "node_memory_Active_file_bytes", Gauge, "Memory information field Active_file_bytes.";
    MEM_INACTIVE_FILE: "node_memory_Inactive_file_bytes", Gauge, "Memory information field Inactive_file_bytes.";
    MEM_UNEVICTABLE: "node_memory_Unevictable_bytes", Gauge, "Memory information field Unevictable_bytes.";
    MEM_MLOCKED: "node_memory_Mlocked_bytes", Gauge, "Memory information field Mlocked_bytes.";
    MEM_SWAP_TOTAL: "node_memory_SwapTotal_bytes", Gauge, "Memory information field SwapTotal_bytes.";
    MEM_SWAP_FREE: "node_memory_SwapFree_bytes", Gauge, "Memory information field SwapFree_bytes.";
    MEM_DIRTY: "node_memory_Dirty_bytes", Gauge, "Memory information field Dirty_bytes.";
    MEM_WRITEBACK: "node_memory_Writeback_bytes", Gauge, "Memory information field Writeback_bytes.";
    MEM_ANON_PAGES: "node_memory_AnonPages_bytes", Gauge, "Memory information field AnonPages_bytes.";
    MEM_MAPPED: "node_memory_Mapped_bytes", Gauge, "Memory information field Mapped_bytes.";
    MEM_SHMEM: "node_memory_Shmem_bytes", Gauge, "Memory information field Shmem_bytes.";
    MEM_SLAB: "node_memory_Slab_bytes", Gauge, "Memory information field Slab_bytes.";
    MEM_SRECLAIMABLE: "node_memory_SReclaimable_bytes", Gauge, "Memory information field SReclaimable_bytes.";
    MEM_SUNRECLAIM: "node_memory_SUnreclaim_bytes", Gauge, "Memory information field SUnreclaim_bytes.";
    MEM_KERNEL_STACK: "node_memory_KernelStack_bytes", Gauge, "Memory information field KernelStack_bytes.";
    MEM_PAGE_TABLES: "node_memory_PageTables_bytes", Gauge, "Memory information field PageTables_bytes.";
    MEM_COMMIT_LIMIT: "node_memory_CommitLimit_bytes", Gauge, "Memory information field CommitLimit_bytes.";
    MEM_COMMITTED_AS: "node_memory_Committed_AS_bytes", Gauge, "Memory information field Committed_AS_bytes.";
    MEM_VMALLOC_TOTAL: "node_memory_VmallocTotal_bytes", Gauge, "Memory information field VmallocTotal_bytes.";
    MEM_VMALLOC_USED: "node_memory_VmallocUsed_bytes", Gauge, "Memory information field VmallocUsed_bytes.";
    MEM_HUGE_PAGES_TOTAL: "node_memory_HugePages_Total_bytes", Gauge, "Memory information field HugePages_Total_bytes.";
    MEM_HUGEPAGESIZE: "node_memory_Hugepagesize_bytes", Gauge, "Memory information field Hugepagesize_bytes.";
}

/// Memory gauges of the host unit: family, base (bytes), levels, step (bytes), ticks per
/// level (0 for constant).
const MEMORY: [(&Family, i64, u32, i64, u32); 32] = [
    (MEM_TOTAL, 16_777_216 * 1024, 1, 0, 0),
    (MEM_FREE, 1_048_576 * 1024, 4_000, 4096, 3),
    (MEM_AVAILABLE, 8_388_608 * 1024, 4_000, 4096, 3),
    (MEM_BUFFERS, 262_144 * 1024, 500, 4096, 20),
    (MEM_CACHED, 6_291_456 * 1024, 2_000, 4096, 5),
    (MEM_SWAP_CACHED, 0, 1, 0, 0),
    (MEM_ACTIVE, 4_194_304 * 1024, 10_000, 4096, 1),
    (MEM_INACTIVE, 3_145_728 * 1024, 2_000, 4096, 6),
    (MEM_ACTIVE_ANON, 2_097_152 * 1024, 10_000, 4096, 1),
    (MEM_INACTIVE_ANON, 524_288 * 1024, 500, 4096, 12),
    (MEM_ACTIVE_FILE, 2_097_152 * 1024, 2_000, 4096, 4),
    (MEM_INACTIVE_FILE, 2_621_440 * 1024, 2_000, 4096, 6),
    (MEM_UNEVICTABLE, 65_536 * 1024, 1, 0, 0),
    (MEM_MLOCKED, 32_768 * 1024, 1, 0, 0),
    (MEM_SWAP_TOTAL, 0, 1, 0, 0),
    (MEM_SWAP_FREE, 0, 1, 0, 0),
    (MEM_DIRTY, 4096 * 1024, 1_000, 4096, 1),
    (MEM_WRITEBACK, 0, 3, 4096, 1),
    (MEM_ANON_PAGES, 2_621_440 * 1024, 5_000, 4096, 2),
    (MEM_MAPPED, 786_432 * 1024, 300, 4096, 10),
    (MEM_SHMEM, 131_072 * 1024, 100, 4096, 30),
    (MEM_SLAB, 524_288 * 1024, 300, 4096, 8),
    (MEM_SRECLAIMABLE, 393_216 * 1024, 300, 4096, 8),
    (MEM_SUNRECLAIM, 131_072 * 1024, 100, 4096, 8),
    (MEM_KERNEL_STACK, 16_384 * 1024, 50, 16_384, 15),
    (MEM_PAGE_TABLES, 65_536 * 1024, 200, 4096, 10),
    (MEM_COMMIT_LIMIT, 8_388_608 * 1024, 1, 0, 0),
    (MEM_COMMITTED_AS, 12_582_912 * 1024, 3_000, 4096, 4),
    (MEM_VMALLOC_TOTAL, 34_359_738_367 * 1024, 1, 0, 0),
    (MEM_VMALLOC_USED, 65_536 * 1024, 100, 4096, 20),
    (MEM_HUGE_PAGES_TOTAL, 0, 1, 0, 0),
    (MEM_HUGEPAGESIZE, 2_097_152, 1, 0, 0),
];

/// Histogram bucket bounds (the last is `+Inf`).
pub(crate) const LE: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
/// A typical duration in each bucket (ms), for `_sum`.
pub(crate) const BUCKET_MID_MS: [u64; 12] =
    [3, 8, 18, 38, 75, 175, 375, 750, 1750, 3750, 7500, 15000];
/// Requests per tick falling into each bucket, before a handler's factor.
const BUCKET_WEIGHTS: [u32; 12] = [1, 2, 5, 8, 9, 7, 4, 2, 1, 0, 0, 0];

const HANDLERS: [&str; 7] = [
    "/api/v1/users",
    "/api/v1/orders",
    "/api/v1/search",
    "/login",
    "/healthz",
    "/static",
    "/checkout",
];
const CODES: [&str; 4] = ["200", "200", "404", "500"];
const NAMESPACES: [&str; 6] = [
    "default",
    "payments",
    "search",
    "frontend",
    "monitoring",
    "batch",
];
const DEPLOYMENTS: [&str; 8] = [
    "api", "web", "worker", "cache", "auth", "billing", "search", "ingest",
];
const CPU_MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
/// Share of a CPU's time per mode, in thousandths.
const CPU_SHARE: [u64; 8] = [800, 10, 0, 0, 5, 2, 50, 133];

/// The kinds of unit a target is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Host,
    Cpu,
    Nic,
    Disk,
    Fs,
    Pod,
    App,
    Sensor,
}

impl Unit {
    /// Series per unit.
    pub fn size(self) -> usize {
        match self {
            Unit::Host => 20 + MEMORY.len(),
            Unit::Cpu => 10,
            Unit::Nic => 10,
            Unit::Disk => 8,
            Unit::Fs => 7,
            Unit::Pod => 13,
            Unit::App => LE.len() + 3,
            Unit::Sensor => 1,
        }
    }

    /// Whether the unit's series can be replaced by others (a pod replaced by a new one).
    pub fn churns(self) -> bool {
        matches!(self, Unit::Pod | Unit::App)
    }
}

/// The repeated part of a target: 2 CPUs, 3 pods, 2 HTTP handlers, a network interface, a
/// disk and a filesystem (114 series: 40 % node_exporter, 34 % kube-state-metrics, 26 %
/// instrumented application).
pub(crate) const PATTERN: [Unit; 10] = [
    Unit::Cpu,
    Unit::Pod,
    Unit::App,
    Unit::Nic,
    Unit::Pod,
    Unit::Cpu,
    Unit::Disk,
    Unit::App,
    Unit::Pod,
    Unit::Fs,
];

/// The units of a target with `series` series, in order.
pub(crate) fn units(series: usize) -> Vec<Unit> {
    let mut out = vec![Unit::Host];
    let mut n = Unit::Host.size();
    for u in PATTERN.iter().cycle() {
        if n + u.size() > series {
            break;
        }
        out.push(*u);
        n += u.size();
    }
    out.extend(std::iter::repeat_n(Unit::Sensor, series.saturating_sub(n)));
    out
}

/// One line of a target's body, or the lines of one histogram.
#[derive(Debug)]
pub(crate) struct Item {
    pub family: &'static Family,
    pub id: u64,
    pub life: Life,
    pub what: What,
    /// The item's prefixes (`name{labels} `) in the target's text arena: one for a single
    /// series, `LE.len() + 2` for a histogram (buckets, `_sum`, `_count`; see
    /// [`What::Histogram`]).
    pub text: std::ops::Range<u32>,
}

#[derive(Debug)]
pub(crate) enum What {
    Single {
        shape: Shape,
        scale: u8,
    },
    /// A classic histogram: per-bucket (not cumulative) requests per tick, and where each
    /// line's prefix ends in the arena.
    Histogram {
        rates: [u32; LE.len()],
        ends: [u32; LE.len() + 2],
    },
}

/// Everything a unit needs to know to write its series.
pub(crate) struct UnitCtx {
    pub target: usize,
    /// Hash of the target (seeded).
    pub target_hash: u64,
    /// Distinct id of this unit; for a churning unit it depends on the generation.
    pub id: u64,
    /// Index of the unit among units of its kind.
    pub ordinal: usize,
    pub interval_ms: u64,
    /// Life of the unit's pod or process (birth for churning units, restart period).
    pub life: Life,
    /// Life of the host (a reboot every 30 days).
    pub host_life: Life,
}

/// Collects items and their label text.
pub(crate) struct Builder<'a> {
    pub items: &'a mut Vec<Item>,
    pub text: &'a mut Vec<u8>,
}

fn escape_into(out: &mut Vec<u8>, v: &str) {
    for b in v.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

fn write_prefix(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    labels: &[(&str, &str)],
    extra: Option<(&str, &str)>,
) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    let mut first = true;
    for (n, v) in labels.iter().chain(extra.as_ref()) {
        out.push(if first { b'{' } else { b',' });
        first = false;
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_into(out, v);
        out.push(b'"');
    }
    if !first {
        out.push(b'}');
    }
    out.push(b' ');
}

impl Builder<'_> {
    fn single(
        &mut self,
        family: &'static Family,
        labels: &[(&str, &str)],
        shape: Shape,
        scale: u8,
        id: u64,
        life: Life,
    ) {
        let start = self.text.len() as u32;
        write_prefix(self.text, family.name, "", labels, None);
        self.items.push(Item {
            family,
            id,
            life,
            what: What::Single { shape, scale },
            text: start..self.text.len() as u32,
        });
    }

    fn histogram(
        &mut self,
        family: &'static Family,
        labels: &[(&str, &str)],
        rates: [u32; LE.len()],
        id: u64,
        life: Life,
    ) {
        let start = self.text.len() as u32;
        let mut ends = [0; LE.len() + 2];
        for (i, le) in LE.iter().enumerate() {
            write_prefix(self.text, family.name, "_bucket", labels, Some(("le", le)));
            ends[i] = self.text.len() as u32;
        }
        write_prefix(self.text, family.name, "_sum", labels, None);
        ends[LE.len()] = self.text.len() as u32;
        write_prefix(self.text, family.name, "_count", labels, None);
        ends[LE.len() + 1] = self.text.len() as u32;
        self.items.push(Item {
            family,
            id,
            life,
            what: What::Histogram { rates, ends },
            text: start..self.text.len() as u32,
        });
    }

    /// Writes the series of one unit.
    pub fn unit(&mut self, unit: Unit, c: &UnitCtx) {
        let id = |i: u64| h2(c.id, i);
        let g = |base: i64, levels: u32, step: i64, every: u32| Shape::Slow {
            base,
            levels,
            step,
            every,
        };
        // Centiseconds per tick, for CPU counters.
        let cs = c.interval_ms / 10;
        match unit {
            Unit::Host => self.host(c),
            Unit::Cpu => {
                let cpu = c.ordinal.to_string();
                for (i, (mode, share)) in CPU_MODES.iter().zip(CPU_SHARE).enumerate() {
                    let rate = (cs * share / 1000) as u32;
                    self.single(
                        CPU_SECONDS,
                        &[("cpu", &cpu), ("mode", mode)],
                        Shape::Counter { rate },
                        2,
                        id(i as u64),
                        c.host_life,
                    );
                }
                for (i, mode) in ["nice", "user"].iter().enumerate() {
                    self.single(
                        CPU_GUEST,
                        &[("cpu", &cpu), ("mode", mode)],
                        Shape::Const(0),
                        2,
                        id(10 + i as u64),
                        c.host_life,
                    );
                }
            }
            Unit::Nic => {
                let dev = format!("eth{}", c.ordinal);
                let l = [("device", dev.as_str())];
                let f = 1 + (c.id % 8) as u32;
                let counters: [(&'static Family, Shape); 8] = [
                    (NET_RX_BYTES, Shape::Counter { rate: 600_000 * f }),
                    (NET_TX_BYTES, Shape::Counter { rate: 250_000 * f }),
                    (NET_RX_PACKETS, Shape::Counter { rate: 800 * f }),
                    (NET_TX_PACKETS, Shape::Counter { rate: 500 * f }),
                    (NET_RX_ERRS, Shape::Steps { every: 97 }),
                    (NET_TX_ERRS, Shape::Const(0)),
                    (NET_RX_DROP, Shape::Steps { every: 31 }),
                    (NET_TX_DROP, Shape::Const(0)),
                ];
                for (i, (fam, shape)) in counters.into_iter().enumerate() {
                    self.single(fam, &l, shape, 0, id(i as u64), c.host_life);
                }
                self.single(NET_UP, &l, Shape::Const(1), 0, id(8), c.host_life);
                self.single(NET_MTU, &l, Shape::Const(1500), 0, id(9), c.host_life);
            }
            Unit::Disk => {
                let dev = format!("nvme{}n1", c.ordinal);
                let l = [("device", dev.as_str())];
                let ms = c.interval_ms;
                let rows: [(&'static Family, Shape, u8); 8] = [
                    (DISK_READS, Shape::Counter { rate: 150 }, 0),
                    (DISK_WRITES, Shape::Counter { rate: 400 }, 0),
                    (DISK_READ_BYTES, Shape::Counter { rate: 1_200_000 }, 0),
                    (DISK_WRITTEN_BYTES, Shape::Counter { rate: 3_500_000 }, 0),
                    (
                        DISK_IO_TIME,
                        Shape::Counter {
                            rate: (ms / 20) as u32,
                        },
                        3,
                    ),
                    (
                        DISK_READ_TIME,
                        Shape::Counter {
                            rate: (ms / 50) as u32,
                        },
                        3,
                    ),
                    (
                        DISK_WRITE_TIME,
                        Shape::Counter {
                            rate: (ms / 25) as u32,
                        },
                        3,
                    ),
                    (DISK_IO_NOW, Shape::Noisy { base: 0, spread: 4 }, 0),
                ];
                for (i, (fam, shape, scale)) in rows.into_iter().enumerate() {
                    self.single(fam, &l, shape, scale, id(i as u64), c.host_life);
                }
            }
            Unit::Fs => {
                let dev = format!("/dev/mapper/vg0-vol{}", c.ordinal);
                let mnt = format!("/srv/vol{}", c.ordinal);
                let l = [
                    ("device", dev.as_str()),
                    ("fstype", "ext4"),
                    ("mountpoint", mnt.as_str()),
                ];
                let size = (1 + (c.id % 64) as i64) * 16 * 1024 * 1024 * 1024;
                let rows: [(&'static Family, Shape); 7] = [
                    (FS_SIZE, Shape::Const(size)),
                    (FS_AVAIL, g(size / 2, 5_000, 1 << 20, 30)),
                    (FS_FREE, g(size / 2 + size / 20, 5_000, 1 << 20, 30)),
                    (FS_FILES, Shape::Const(size / 16_384)),
                    (FS_FILES_FREE, g(size / 20_000, 1_000, 1, 60)),
                    (FS_READONLY, Shape::Const(0)),
                    (FS_ERROR, Shape::Const(0)),
                ];
                for (i, (fam, shape)) in rows.into_iter().enumerate() {
                    self.single(fam, &l, shape, 0, id(i as u64), c.host_life);
                }
            }
            Unit::Pod => self.pod(c),
            Unit::App => {
                let pod = pod_name(c);
                let handler = HANDLERS[c.ordinal % HANDLERS.len()];
                let method = if (c.ordinal / HANDLERS.len()).is_multiple_of(2) {
                    "GET"
                } else {
                    "POST"
                };
                let code = CODES[(c.ordinal / (2 * HANDLERS.len())) % CODES.len()];
                let l = [
                    ("code", code),
                    ("handler", handler),
                    ("method", method),
                    ("pod", pod.as_str()),
                ];
                let factor = match code {
                    "200" => 1 + (c.id % 4) as u32,
                    _ => (c.id % 2) as u32,
                };
                let rates = BUCKET_WEIGHTS.map(|w| w * factor);
                self.histogram(HTTP_DURATION, &l, rates, id(0), c.life);
                let total = rates.iter().sum();
                self.single(
                    HTTP_REQUESTS,
                    &l,
                    Shape::Counter { rate: total },
                    0,
                    id(1),
                    c.life,
                );
            }
            Unit::Sensor => {
                let sensor = format!("temp{}", c.ordinal + 1);
                self.single(
                    HWMON_TEMP,
                    &[("chip", "platform_coretemp_0"), ("sensor", &sensor)],
                    Shape::Noisy {
                        base: 35,
                        spread: 30,
                    },
                    0,
                    id(0),
                    c.host_life,
                );
            }
        }
    }

    fn host(&mut self, c: &UnitCtx) {
        let id = |i: u64| h2(c.id, i);
        let life = c.host_life;
        let node = format!("node-{:04}", c.target);
        let boot = 1_700_000_000 - (c.target_hash % 2_000_000) as i64;
        let g = |base: i64, levels: u32, step: i64, every: u32| Shape::Slow {
            base,
            levels,
            step,
            every,
        };
        let rows: [(&'static Family, Shape, u8); 19] = [
            (BOOT_TIME, Shape::Const(boot), 0),
            (
                TIME,
                Shape::Clock {
                    interval_ms: c.interval_ms,
                },
                3,
            ),
            (
                LOAD1,
                Shape::Noisy {
                    base: 20,
                    spread: 180,
                },
                2,
            ),
            (LOAD5, g(40, 120, 1, 3), 2),
            (LOAD15, g(60, 60, 1, 9), 2),
            (PROCS_RUNNING, Shape::Noisy { base: 1, spread: 6 }, 0),
            (PROCS_BLOCKED, Shape::Noisy { base: 0, spread: 2 }, 0),
            (CONTEXT_SWITCHES, Shape::Counter { rate: 40_000 }, 0),
            (INTR, Shape::Counter { rate: 25_000 }, 0),
            (FORKS, Shape::Counter { rate: 30 }, 0),
            (FILEFD_ALLOCATED, g(3_000, 400, 1, 4), 0),
            (
                FILEFD_MAXIMUM,
                Shape::Const(9_223_372_036_854_775_807 / (1 << 11)),
                0,
            ),
            (
                ENTROPY,
                Shape::Noisy {
                    base: 3_500,
                    spread: 600,
                },
                0,
            ),
            (
                SOCKETS_USED,
                Shape::Noisy {
                    base: 300,
                    spread: 80,
                },
                0,
            ),
            (
                TCP_INUSE,
                Shape::Noisy {
                    base: 40,
                    spread: 30,
                },
                0,
            ),
            (TCP_ACTIVE_OPENS, Shape::Counter { rate: 5 }, 0),
            (TCP_PASSIVE_OPENS, Shape::Counter { rate: 3 }, 0),
            (TCP_RETRANS, Shape::Steps { every: 7 }, 0),
            (BUILD_INFO, Shape::Const(1), 0),
        ];
        for (i, (fam, shape, scale)) in rows.into_iter().enumerate() {
            let labels: &[(&str, &str)] = if fam.name == BUILD_INFO.name {
                &[
                    ("branch", "debian/sid"),
                    ("goversion", "go1.19.8"),
                    ("revision", "1.5.0-1+b6"),
                    ("version", "1.5.0"),
                ]
            } else {
                &[]
            };
            self.single(fam, labels, shape, scale, id(i as u64), life);
        }
        self.single(
            UNAME,
            &[
                ("domainname", "(none)"),
                ("machine", "x86_64"),
                ("nodename", &node),
                ("release", "6.1.0-26-amd64"),
                ("sysname", "Linux"),
                (
                    "version",
                    "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)",
                ),
            ],
            Shape::Const(1),
            0,
            id(19),
            life,
        );
        for (i, (fam, base, levels, step, every)) in MEMORY.into_iter().enumerate() {
            let shape = match every {
                0 => Shape::Const(base),
                _ => g(base, levels, step, every),
            };
            self.single(fam, &[], shape, 0, id(100 + i as u64), life);
        }
    }

    fn pod(&mut self, c: &UnitCtx) {
        let id = |i: u64| h2(c.id, i);
        let pod = pod_name(c);
        let ns = NAMESPACES[c.ordinal % NAMESPACES.len()];
        let uid = uid(c.id);
        let node = format!("node-{:04}", c.target);
        let ip = format!(
            "10.{}.{}.{}",
            c.target % 250,
            (c.id >> 8) % 250,
            c.id % 250 + 2
        );
        let deployment = DEPLOYMENTS[c.ordinal % DEPLOYMENTS.len()];
        let owner = replica_set(c);
        let life = c.life;
        let base = [
            ("namespace", ns),
            ("pod", pod.as_str()),
            ("uid", uid.as_str()),
        ];
        self.single(
            POD_INFO,
            &[
                ("created_by_kind", "ReplicaSet"),
                ("created_by_name", &owner),
                ("host_network", "false"),
                ("namespace", ns),
                ("node", &node),
                ("pod", &pod),
                ("pod_ip", &ip),
                ("uid", &uid),
            ],
            Shape::Const(1),
            0,
            id(0),
            life,
        );
        // The phase and readiness follow the pod's age; they share the pod's id.
        for (i, phase) in PHASES.iter().enumerate() {
            let l = [base[0], base[1], base[2], ("phase", phase)];
            self.single(POD_PHASE, &l, Shape::Phase(i as u8), 0, c.id, life);
        }
        for (i, cond) in CONDITIONS.iter().enumerate() {
            let l = [("condition", *cond), base[0], base[1], base[2]];
            self.single(POD_READY, &l, Shape::Ready(i as u8), 0, c.id, life);
        }
        let ct = [("container", deployment), base[0], base[1], base[2]];
        let every = 700 + (c.id % 2_000) as u32;
        self.single(
            POD_RESTARTS,
            &ct,
            Shape::Steps { every },
            0,
            id(9),
            Life { period: 0, ..life },
        );
        self.single(POD_RUNNING, &ct, Shape::Const(1), 0, id(10), life);
        for (i, (res, unit, v)) in [("cpu", "core", 250), ("memory", "byte", 268_435_456_000)]
            .into_iter()
            .enumerate()
        {
            let l = [
                ("container", deployment),
                base[0],
                ("node", node.as_str()),
                base[1],
                ("resource", res),
                base[2],
                ("unit", unit),
            ];
            self.single(
                POD_REQUESTS,
                &l,
                Shape::Const(v),
                3,
                id(11 + i as u64),
                life,
            );
        }
    }
}

/// The ReplicaSet of a pod or handler unit: its deployment and a template hash (the same for
/// every pod of that deployment on the target).
fn replica_set(c: &UnitCtx) -> String {
    let d = c.ordinal % DEPLOYMENTS.len();
    format!(
        "{}-{:08x}",
        DEPLOYMENTS[d],
        h2(c.target_hash, d as u64) as u32
    )
}

/// A pod name as a ReplicaSet makes them: deployment, template hash, random suffix; unique
/// per target, unit and generation.
fn pod_name(c: &UnitCtx) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut s = replica_set(c);
    s.push('-');
    let mut h = c.id;
    for _ in 0..5 {
        s.push(ALPHABET[(h % ALPHABET.len() as u64) as usize] as char);
        h /= ALPHABET.len() as u64;
    }
    s
}

/// A UUID-shaped identifier from a hash.
fn uid(h: u64) -> String {
    let a = h2(h, 1);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        h as u16 & 0xfff,
        (a >> 48) as u16 & 0x3fff | 0x8000,
        a & 0xffff_ffff_ffff
    )
}
