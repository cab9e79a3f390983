//! Shared helpers for Vane's benchmarks: data generators and measurements.

use model::Labels;

/// Resident set size of this process in bytes, from `/proc/self/status`.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A node_exporter-like label set for series `i`: 100 metric names spread over hosts, with
/// `instance`, `job`, and a per-metric dimension.
pub fn node_like_series(i: usize) -> Labels {
    let metric = i % 100;
    let host = i / 1000;
    let dim = (i / 100) % 10;
    Labels::from_pairs([
        ("__name__", format!("node_metric_{metric}_total")),
        ("instance", format!("host-{host}.example.org:9100")),
        ("job", "node".to_string()),
        ("cpu", dim.to_string()),
        (
            "mode",
            [
                "idle",
                "user",
                "system",
                "iowait",
                "irq",
                "nice",
                "softirq",
                "steal",
                "guest",
                "guest_nice",
            ][dim]
                .to_string(),
        ),
    ])
}

/// A deterministic, realistic sample value for series `i` at scrape `k`: counters that grow
/// by small varying amounts, and some constant gauges.
pub fn value(i: usize, k: usize) -> f64 {
    if i.is_multiple_of(3) {
        (i % 17) as f64
    } else {
        (k * (i % 7 + 1)) as f64 + ((k * 31 + i) % 5) as f64 * 0.25
    }
}
