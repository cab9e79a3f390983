//! The daemon's own process metrics, read from `/proc` when `/metrics` is rendered, with the
//! names and meanings Prometheus client libraries give them.

use std::time::{SystemTime, UNIX_EPOCH};

use model::metrics::Registry;

/// Clock ticks per second of `/proc/self/stat` CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

fn status_kib(field: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .split_whitespace()
        .next()?
        .parse::<f64>()
        .ok()
}

/// Resident bytes of this process (`VmRSS`), None where `/proc` cannot be read.
pub fn resident_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|kib| kib as u64 * 1024)
}

fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / TICKS_PER_SECOND
}

fn max_fds() -> f64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(3)
                        .and_then(|v| v.parse::<f64>().ok())
                })
        })
        .unwrap_or(0.0)
}

/// Registers the process metrics and `vane_build_info`.
pub fn register(reg: &Registry) {
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    reg.counter_fn(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        cpu_seconds,
    );
    reg.gauge_fn(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        || resident_bytes().unwrap_or(0) as f64,
    );
    reg.gauge_fn(
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        || status_kib("VmSize:").unwrap_or(0.0) * 1024.0,
    );
    reg.gauge_fn(
        "process_open_fds",
        "Number of open file descriptors.",
        || {
            std::fs::read_dir("/proc/self/fd")
                .map(|d| d.count() as f64)
                .unwrap_or(0.0)
        },
    );
    reg.gauge_fn(
        "process_max_fds",
        "Maximum number of open file descriptors.",
        max_fds,
    );
    reg.gauge_fn(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        move || start,
    );
    reg.gauge_vec(
        "vane_build_info",
        "Vane's version; the value is always 1.",
        &["version"],
    )
    .with(&[env!("CARGO_PKG_VERSION")])
    .set(1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_metrics_have_plausible_values() {
        let reg = Registry::new();
        register(&reg);
        let text = reg.render();
        let value = |name: &str| -> f64 {
            text.lines()
                .find(|l| l.starts_with(name) && !l.starts_with('#'))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} missing in {text}"))
        };
        assert!(value("process_resident_memory_bytes ") > 1e6);
        assert!(value("process_open_fds ") >= 3.0);
        assert!(value("process_max_fds ") >= value("process_open_fds "));
        assert!(value("process_start_time_seconds ") > 1.6e9);
        assert!(value("process_cpu_seconds_total ") >= 0.0);
        assert!(text.contains(&format!(
            "vane_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
    }
}
