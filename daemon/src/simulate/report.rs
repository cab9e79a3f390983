//! The replay's output: a table for people, CSV for tools.

use std::fmt::Write as _;

use model::metrics::format_value;

use super::replay::{Row, Summary};

/// What the output says about one autoscaler's replay besides its rows.
pub struct Heading<'a> {
    pub name: &'a str,
    pub policy: &'a str,
    /// Some of its scaling fields come from `--override`.
    pub overridden: bool,
    pub capacity: Option<f64>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
}

/// RFC 3339 in UTC, with milliseconds only when there are some.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn seconds(s: f64) -> String {
    format_value((s * 1000.0).round() / 1000.0)
}

/// The table: the heading, the replica timeline (the first step, every step whose count or
/// reason changes, the last step), and the totals.
pub fn table(out: &mut String, h: &Heading<'_>, rows: &[Row], sum: &Summary) {
    let capacity = h.capacity.map_or_else(
        || "capacity per replica unknown (--capacity)".to_string(),
        |c| format!("capacity {} per replica", format_value(c)),
    );
    let _ = writeln!(
        out,
        "autoscaler {:?}: policy {}{}, {capacity}; {} to {} every {}",
        h.name,
        h.policy,
        if h.overridden { " (overridden)" } else { "" },
        time(h.start_ms),
        time(h.end_ms),
        model::duration::format_duration_ms(h.step_ms as u64)
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<24}  {:>12}  {:>7}  {:>8}  REASON",
        "TIME", "SIGNAL", "NEEDED", "REPLICAS"
    );
    let mut prev: Option<&Row> = None;
    for (i, r) in rows.iter().enumerate() {
        let changed = prev.is_none_or(|p| p.replicas != r.replicas || p.reason != r.reason);
        if changed || i + 1 == rows.len() {
            let _ = writeln!(
                out,
                "{:<24}  {:>12}  {:>7}  {:>8}  {}{}",
                time(r.t_ms),
                opt(r.signal.map(format_value)),
                opt(r.needed),
                r.replicas,
                r.reason,
                if r.panic { " (panic)" } else { "" }
            );
        }
        prev = Some(r);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "replica-seconds:      {} ({} replicas on average)",
        seconds(sum.replica_seconds),
        if sum.seconds > 0.0 {
            format!("{:.2}", sum.replica_seconds / sum.seconds)
        } else {
            "-".into()
        }
    );
    if sum.measured_seconds > 0.0 {
        let _ = writeln!(
            out,
            "under-provisioned:    {}s of {}s measured ({:.2}%)",
            seconds(sum.under_seconds),
            seconds(sum.measured_seconds),
            100.0 * sum.under_seconds / sum.measured_seconds
        );
    } else {
        let _ = writeln!(
            out,
            "under-provisioned:    - (no interval with a known need)"
        );
    }
    let _ = writeln!(
        out,
        "peak replicas: {}; changes: {}; steps without signal: {}; steps in panic mode: {}",
        sum.peak_replicas, sum.changes, sum.missing, sum.panic_steps
    );
}

/// The CSV header.
pub const CSV_HEADER: &str =
    "autoscaler,time,signal,needed,replicas,reason,panic,replica_seconds,under_provisioned_seconds";

/// One CSV line per step; the totals are the sums of the last two columns. Times are Unix
/// seconds (never in exponent form), unknown values empty.
pub fn csv(out: &mut String, name: &str, rows: &[Row]) {
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            csv_field(name),
            r.t_ms as f64 / 1000.0,
            r.signal.map(format_value).unwrap_or_default(),
            r.needed.map(|n| n.to_string()).unwrap_or_default(),
            r.replicas,
            r.reason,
            u8::from(r.panic),
            seconds(r.replica_seconds),
            r.under_seconds.map(seconds).unwrap_or_default(),
        );
    }
}

/// A field quoted as RFC 4180 asks when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
