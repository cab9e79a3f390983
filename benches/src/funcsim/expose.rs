//! What the simulator shows: `/metrics` in the Prometheus text format (0.0.4) and the
//! summary printed at exit.

use std::fmt::Write;

use super::platform::{Function, Platform};
use super::stats::BUCKETS;

/// Every metric family: name, type, help. One table, so the docs and `/metrics` agree.
pub const FAMILIES: &[(&str, &str, &str)] = &[
    (
        "funcsim_invocations_total",
        "counter",
        "Requests that arrived (served, queued or dropped).",
    ),
    (
        "funcsim_requests_in_flight",
        "gauge",
        "Requests being served.",
    ),
    (
        "funcsim_requests_queued",
        "gauge",
        "Requests waiting for a free slot.",
    ),
    (
        "funcsim_requests_dropped_total",
        "counter",
        "Requests dropped because the queue was full.",
    ),
    (
        "funcsim_replicas",
        "gauge",
        "Replicas by state: starting (cold start), ready, draining.",
    ),
    (
        "funcsim_desired_replicas",
        "gauge",
        "The replica count last asked for.",
    ),
    (
        "funcsim_replica_concurrency",
        "gauge",
        "Requests one replica serves at the same time.",
    ),
    (
        "funcsim_request_duration_seconds",
        "histogram",
        "Time from arrival to response (queueing included).",
    ),
    (
        "funcsim_service_duration_seconds",
        "histogram",
        "Time a replica spent serving a request (queueing excluded).",
    ),
    (
        "funcsim_replica_seconds_total",
        "counter",
        "Replica-seconds of all replicas (starting, ready, draining): the cost.",
    ),
    (
        "funcsim_under_provisioned_seconds_total",
        "counter",
        "Time with a non-empty queue or dropped requests.",
    ),
    (
        "funcsim_load_rate",
        "gauge",
        "The load profile's arrival rate now, requests per second.",
    ),
    (
        "funcsim_scale_commands_total",
        "counter",
        "Scale commands applied.",
    ),
];

fn value(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

/// Writes one function's samples of `family`.
fn samples(out: &mut String, family: &str, f: &Function) {
    let name = &f.spec.name;
    let c = &f.counters;
    let mut line = |suffix: &str, extra: &str, v: f64| {
        let _ = writeln!(
            out,
            "{family}{suffix}{{function=\"{name}\"{extra}}} {}",
            value(v)
        );
    };
    match family {
        "funcsim_invocations_total" => line("", "", c.invocations as f64),
        "funcsim_requests_in_flight" => line("", "", f.in_flight() as f64),
        "funcsim_requests_queued" => line("", "", f.queued() as f64),
        "funcsim_requests_dropped_total" => line("", "", c.dropped as f64),
        "funcsim_replicas" => {
            let r = f.replica_counts();
            line("", ",state=\"starting\"", r.starting.into());
            line("", ",state=\"ready\"", r.ready.into());
            line("", ",state=\"draining\"", r.draining.into());
        }
        "funcsim_desired_replicas" => line("", "", f.replica_counts().desired.into()),
        "funcsim_replica_concurrency" => line("", "", f.spec.concurrency.into()),
        "funcsim_request_duration_seconds" | "funcsim_service_duration_seconds" => {
            let h = if family == "funcsim_service_duration_seconds" {
                &c.service
            } else {
                &c.duration
            };
            let les = BUCKETS
                .iter()
                .map(|b| value(*b))
                .chain(["+Inf".to_string()]);
            for (le, n) in les.zip(h.cumulative()) {
                line("_bucket", &format!(",le=\"{le}\""), n as f64);
            }
            line("_sum", "", h.sum);
            line("_count", "", h.count as f64);
        }
        "funcsim_replica_seconds_total" => line("", "", c.replica_seconds),
        "funcsim_under_provisioned_seconds_total" => line("", "", c.under_provisioned_seconds),
        "funcsim_load_rate" => line("", "", f.rate()),
        "funcsim_scale_commands_total" => line("", "", c.scale_commands as f64),
        _ => unreachable!("family {family} missing from samples()"),
    }
}

/// The whole `/metrics` page.
pub fn metrics_text(p: &Platform) -> String {
    let mut out = String::with_capacity(4096);
    for (family, kind, help) in FAMILIES {
        let _ = writeln!(out, "# HELP {family} {help}");
        let _ = writeln!(out, "# TYPE {family} {kind}");
        for f in p.functions() {
            samples(&mut out, family, f);
        }
    }
    out
}

/// One function's results over the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FunctionSummary {
    pub function: String,
    pub profile: String,
    /// Simulated seconds.
    pub duration_s: f64,
    pub invocations: u64,
    pub completed: u64,
    pub dropped: u64,
    pub replica_seconds: f64,
    pub under_provisioned_s: f64,
    /// Latency quantiles (arrival to response), seconds; `None` if nothing completed.
    pub p50_s: Option<f64>,
    pub p99_s: Option<f64>,
}

pub fn summary(p: &Platform) -> Vec<FunctionSummary> {
    p.functions()
        .iter()
        .map(|f| {
            let c = &f.counters;
            FunctionSummary {
                function: f.spec.name.clone(),
                profile: f.spec.profile.name().to_string(),
                duration_s: f.now(),
                invocations: c.invocations,
                completed: c.completed,
                dropped: c.dropped,
                replica_seconds: c.replica_seconds,
                under_provisioned_s: c.under_provisioned_seconds,
                p50_s: c.latency.quantile(0.5),
                p99_s: c.latency.quantile(0.99),
            }
        })
        .collect()
}

/// The summary as an aligned text table.
pub fn summary_table(rows: &[FunctionSummary]) -> String {
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{:.1}", s * 1000.0));
    let mut out = format!(
        "{:<16} {:<9} {:>9} {:>10} {:>10} {:>8} {:>14} {:>12} {:>9} {:>9}\n",
        "function",
        "profile",
        "seconds",
        "requests",
        "completed",
        "dropped",
        "replica_s",
        "under_prov_s",
        "p50_ms",
        "p99_ms"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<16} {:<9} {:>9.1} {:>10} {:>10} {:>8} {:>14.1} {:>12.1} {:>9} {:>9}",
            r.function,
            r.profile,
            r.duration_s,
            r.invocations,
            r.completed,
            r.dropped,
            r.replica_seconds,
            r.under_provisioned_s,
            ms(r.p50_s),
            ms(r.p99_s)
        );
    }
    out
}
