//! The replay itself, pure: a policy run over a signal sampled at fixed steps.
//!
//! At every step the policy decides with [`Scaler::decide`], exactly as the controller calls
//! it, with the previous simulated decision as the current count: the simulated platform
//! applies every decision at once. The decision of step `k` is the replica count over the
//! interval `(t_k, t_k+1]`; that interval costs `replicas × step` replica-seconds, and it is
//! **under-provisioned** when those replicas are fewer than the replicas **needed** at
//! `t_k+1`: `ceil(load / capacity)`, the load measured at the end of the interval divided
//! by what one replica is meant to carry. An interval whose end has no load is not measured.
//! The last step ends the range: its decision is shown but covers no interval.

use autoscaler::policy::{Input, Reason, Scaler, ServiceStats, State, ceil_count};

/// How the replay reads the signal and sizes the need.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Distance between steps, ms.
    pub step_ms: i64,
    /// The replica count before the first step.
    pub initial: u32,
    /// What one replica is meant to carry, in the units of the load; without it the need
    /// and the under-provisioned time are unknown.
    pub capacity: Option<f64>,
    /// The signal is a per-replica value (the `ratio` policy): the load is the signal times
    /// the replicas observed when it was recorded, and the policy is given the load spread
    /// over the simulated replicas instead.
    pub per_replica_signal: bool,
}

/// One step of stored history.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub t_ms: i64,
    /// The signal query's value; `None` when it had none (or several series, or NaN).
    pub signal: Option<f64>,
    /// Replicas observed at that time, if known.
    pub observed: Option<u32>,
    /// The service time observed then (`predictive` with `service_time_histogram`).
    pub service: Option<ServiceStats>,
}

/// One simulated step.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub t_ms: i64,
    /// The signal as stored.
    pub signal: Option<f64>,
    /// Replicas needed for the load at this step.
    pub needed: Option<u32>,
    /// The simulated decision.
    pub replicas: u32,
    pub reason: Reason,
    pub panic: bool,
    /// Cost of the interval this decision covers (0 for the last step).
    pub replica_seconds: f64,
    /// Seconds of that interval counted as under-provisioned; `None` when not measured.
    pub under_seconds: Option<f64>,
}

/// Totals over the whole replay.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Seconds from the first to the last step.
    pub seconds: f64,
    pub replica_seconds: f64,
    pub under_seconds: f64,
    /// Seconds of the intervals whose need was known.
    pub measured_seconds: f64,
    pub peak_replicas: u32,
    /// Steps whose decision differs from the count before it.
    pub changes: usize,
    /// Steps the policy saw no signal.
    pub missing: usize,
    /// Steps in panic mode (`concurrency` policy).
    pub panic_steps: usize,
}

/// Replicas needed to carry `load` at `capacity` each, rounded up as the policies round.
pub fn needed(load: f64, capacity: f64) -> u32 {
    ceil_count(load / capacity)
}

/// Runs `scaler` over `points` (in time order, `params.step_ms` apart).
pub fn replay(scaler: &Scaler, params: &Params, points: &[Point]) -> (Vec<Row>, Summary) {
    let step_s = params.step_ms as f64 / 1000.0;
    let load = |p: &Point| match (p.signal, params.per_replica_signal) {
        (Some(s), false) => Some(s),
        (Some(s), true) => p.observed.map(|n| s * f64::from(n)),
        (None, _) => None,
    };
    let need = |p: &Point| {
        let c = params.capacity?;
        load(p).map(|l| needed(l, c))
    };
    let mut rows: Vec<Row> = Vec::with_capacity(points.len());
    let mut state = State::default();
    let mut current = params.initial;
    let mut sum = Summary::default();
    for (k, p) in points.iter().enumerate() {
        let signal = if params.per_replica_signal {
            load(p).map(|l| {
                if current > 0 {
                    l / f64::from(current)
                } else {
                    l
                }
            })
        } else {
            p.signal
        };
        let input = Input {
            now_ms: p.t_ms.max(0) as u64,
            signal,
            current: Some(current),
            service: p.service,
        };
        let (d, next) = scaler.decide(&input, std::mem::take(&mut state));
        state = next;
        if d.desired != current {
            sum.changes += 1;
        }
        sum.missing += usize::from(signal.is_none());
        sum.panic_steps += usize::from(d.panic);
        sum.peak_replicas = sum.peak_replicas.max(d.desired);
        let (cost, under) = match points.get(k + 1) {
            Some(end) => {
                let under = need(end).map(|n| if d.desired < n { step_s } else { 0.0 });
                (f64::from(d.desired) * step_s, under)
            }
            None => (0.0, None),
        };
        if k + 1 < points.len() {
            sum.seconds += step_s;
        }
        sum.replica_seconds += cost;
        if let Some(u) = under {
            sum.under_seconds += u;
            sum.measured_seconds += step_s;
        }
        rows.push(Row {
            t_ms: p.t_ms,
            signal: p.signal,
            needed: need(p),
            replicas: d.desired,
            reason: d.reason,
            panic: d.panic,
            replica_seconds: cost,
            under_seconds: under,
        });
        current = d.desired;
    }
    (rows, sum)
}
