//! Scaling policies as pure decision functions.
//!
//! One evaluation takes an [`Input`] (the time, the signal, the current replica count) and the
//! autoscaler's [`State`], and returns a [`Decision`] and the next state. Nothing here reads a
//! clock, a metric or a socket: time comes in as `now_ms`, and the caller keeps the state
//! between evaluations (and across reloads of an unchanged autoscaler).
//!
//! An evaluation runs these stages, each in its own file:
//!
//! 1. **data** ([`fallback`]): a missing or non-finite signal never scales down; the count is
//!    held, and after more consecutive failures than `fallback.failure_threshold` the
//!    configured fallback count is used (KEDA's `fallback`).
//! 2. **policy**: the recommendation of the configured policy — per-replica target and ratio
//!    ([`target`], the HPA's algorithm), concurrency with stable and panic windows
//!    ([`concurrency`], Knative's KPA), step scaling ([`step`], AWS), predictive
//!    ([`predictive`]).
//! 3. **scale to zero** ([`zero`]): with `min_replicas: 0`, KEDA's activation and cooldown
//!    decide between zero and the rest of the pipeline.
//! 4. **behaviour** ([`behavior`]): the HPA's stabilization windows and rate policies, then
//!    `min_replicas`/`max_replicas`.
//!
//! The decision's [`Reason`] names the last stage that changed the count.

mod behavior;
mod concurrency;
mod decide;
mod fallback;
mod predictive;
mod step;
mod target;
mod zero;

#[cfg(test)]
mod tests;

use std::fmt;

pub(crate) use behavior::{Behavior, BehaviorState, RatePolicy, Rules};
pub(crate) use concurrency::{Concurrency, ConcurrencyState};
pub(crate) use fallback::Fallback;
pub use predictive::ServiceQueries;
pub(crate) use predictive::{Predictive, PredictiveState};
pub(crate) use step::{Step, StepAdjustment, StepState};
pub(crate) use target::{PerReplica, Ratio, Tolerances};
pub(crate) use zero::ScaleToZero;

/// A validated autoscaler policy with its limits: the only way to decide. Built by
/// [`crate::config::ScalerConfig::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    pub(crate) min_replicas: u32,
    pub(crate) max_replicas: u32,
    pub(crate) policy: Policy,
    pub(crate) behavior: Behavior,
    pub(crate) scale_to_zero: Option<ScaleToZero>,
    pub(crate) fallback: Option<Fallback>,
}

impl Scaler {
    /// The lower bound of every decision; 0 when scale to zero is enabled.
    pub fn min_replicas(&self) -> u32 {
        self.min_replicas
    }

    /// The upper bound of every decision.
    pub fn max_replicas(&self) -> u32 {
        self.max_replicas
    }

    /// The policy's name as written in the configuration (`per_replica`, `ratio`,
    /// `concurrency`, `step`, `predictive`).
    pub fn policy_name(&self) -> &'static str {
        match self.policy {
            Policy::PerReplica(_) => "per_replica",
            Policy::Ratio(_) => "ratio",
            Policy::Concurrency(_) => "concurrency",
            Policy::Step(_) => "step",
            Policy::Predictive(_) => "predictive",
        }
    }

    /// The value one replica is meant to carry, for the policies that have one
    /// (`per_replica`, `ratio`, `concurrency`); KEDA's `GetMetricSpec` reports it.
    pub fn target_value(&self) -> Option<f64> {
        match &self.policy {
            Policy::PerReplica(p) => Some(p.target),
            Policy::Ratio(p) => Some(p.target),
            Policy::Concurrency(p) => Some(p.target),
            Policy::Step(_) | Policy::Predictive(_) => None,
        }
    }

    /// The queries the service time is observed with (`predictive` with
    /// `service_time_histogram`); their results go to [`ServiceStats::from_histogram`].
    pub fn service_queries(&self) -> Option<&ServiceQueries> {
        match &self.policy {
            Policy::Predictive(p) => p.service_queries.as_ref(),
            _ => None,
        }
    }

    /// The activation threshold, when scale to zero is enabled.
    pub fn activation_threshold(&self) -> Option<f64> {
        self.scale_to_zero.as_ref().map(|z| z.activation_threshold)
    }
}

/// The configured policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Policy {
    PerReplica(PerReplica),
    Ratio(Ratio),
    Concurrency(Concurrency),
    Step(Step),
    Predictive(Predictive),
}

/// What one evaluation knows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Input {
    /// Evaluation time, milliseconds since the epoch (or any fixed origin, used consistently).
    pub now_ms: u64,
    /// The load signal; `None` when the query failed or returned nothing. NaN and infinities
    /// count as missing.
    pub signal: Option<f64>,
    /// Replicas the target reports; `None` when unknown, in which case the last decision is
    /// assumed (or `min_replicas` before the first one).
    pub current: Option<u32>,
    /// Service-time statistics for the `predictive` policy; other policies ignore them.
    pub service: Option<ServiceStats>,
}

/// Observed service time of requests, for the queueing model of the `predictive` policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceStats {
    /// Mean service time in seconds.
    pub mean_seconds: f64,
    /// Coefficient of variation (standard deviation / mean); `None` when not observed.
    pub cv: Option<f64>,
}

impl ServiceStats {
    /// From the mean and variance of the service time (seconds, seconds²), as computed from a
    /// histogram's or summary's sum, count and sum of squares.
    pub fn from_moments(mean_seconds: f64, variance: f64) -> ServiceStats {
        let cv = (mean_seconds > 0.0 && variance >= 0.0).then(|| variance.sqrt() / mean_seconds);
        ServiceStats { mean_seconds, cv }
    }

    /// From a classic histogram of service times over a window: the mean (its `_sum` rate over
    /// its `_count` rate, exact) and the rates of its cumulative `_bucket` series as
    /// `(le, rate)` in any order; the variance is estimated from the buckets (see
    /// [`predictive::histogram_variance`]), and without usable buckets the variability stays
    /// unknown. `None` when the mean is not a positive number (no request in the window).
    pub fn from_histogram(mean_seconds: f64, buckets: &[(f64, f64)]) -> Option<ServiceStats> {
        if !(mean_seconds.is_finite() && mean_seconds > 0.0) {
            return None;
        }
        Some(
            match predictive::histogram_variance(mean_seconds, buckets) {
                Some(variance) => ServiceStats::from_moments(mean_seconds, variance),
                None => ServiceStats {
                    mean_seconds,
                    cv: None,
                },
            },
        )
    }
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Replicas the target should run; always within `[min_replicas, max_replicas]`.
    pub desired: u32,
    /// Why `desired` is what it is.
    pub reason: Reason,
    /// A human-readable account of the computation (`ceil(250 / 100) = 3; ...`).
    pub detail: String,
    /// The policy's own recommendation before scale to zero, behaviour and limits; `None`
    /// when the policy could not run (missing data, fallback).
    pub recommendation: Option<u32>,
    /// Whether the signal is above the activation threshold (0 unless `scale_to_zero` sets
    /// another); `None` without data.
    pub active: Option<bool>,
    /// Whether the `concurrency` policy is in panic mode.
    pub panic: bool,
}

/// Why a decision is what it is. The label strings are used in metrics and APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The policy's recommendation, applied as computed.
    Scaled,
    /// The policy's recommendation equals the current count.
    Unchanged,
    /// The signal is within the tolerance of the target: the current count is kept.
    WithinTolerance,
    /// A stabilization window held the count (the lowest recent recommendation on the way up,
    /// the highest on the way down).
    Stabilized,
    /// A rate policy (`Pods`/`Percent` per period, or `Disabled`) limited the change.
    RateLimited,
    /// The count was brought within `[min_replicas, max_replicas]`.
    Clamped,
    /// The `concurrency` policy is panicking: sized on the panic window, never scaled down.
    Panic,
    /// Scale to zero: inactive for longer than the cooldown.
    ScaleToZero,
    /// Inactive and already at zero.
    Idle,
    /// Activation from zero.
    Activation,
    /// A cooldown blocked the change (step scaling's cooldown, or waiting for the cooldown
    /// before scale to zero).
    Cooldown,
    /// The signal is missing: the count is held.
    MissingData,
    /// The signal has been missing too often: the fallback count is used.
    Fallback,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 13] = [
        Reason::Scaled,
        Reason::Unchanged,
        Reason::WithinTolerance,
        Reason::Stabilized,
        Reason::RateLimited,
        Reason::Clamped,
        Reason::Panic,
        Reason::ScaleToZero,
        Reason::Idle,
        Reason::Activation,
        Reason::Cooldown,
        Reason::MissingData,
        Reason::Fallback,
    ];

    /// The label value (`scaled`, `within_tolerance`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Scaled => "scaled",
            Reason::Unchanged => "unchanged",
            Reason::WithinTolerance => "within_tolerance",
            Reason::Stabilized => "stabilized",
            Reason::RateLimited => "rate_limited",
            Reason::Clamped => "clamped",
            Reason::Panic => "panic",
            Reason::ScaleToZero => "scale_to_zero",
            Reason::Idle => "idle",
            Reason::Activation => "activation",
            Reason::Cooldown => "cooldown",
            Reason::MissingData => "missing_data",
            Reason::Fallback => "fallback",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything an autoscaler remembers between evaluations. `State::default()` is a new
/// autoscaler.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// Time of the first evaluation (for `scale_to_zero.initial_cooldown`).
    pub(crate) first_seen_ms: Option<u64>,
    /// The last decision.
    pub(crate) last_desired: Option<u32>,
    /// Consecutive evaluations without a usable signal.
    pub(crate) failures: u32,
    /// Last time the signal was above the activation threshold.
    pub(crate) last_active_ms: Option<u64>,
    /// Stabilization windows and scale events.
    pub(crate) behavior: BehaviorState,
    /// The policy's own memory.
    pub(crate) policy: PolicyState,
}

impl State {
    /// The last decision, if any.
    pub fn last_desired(&self) -> Option<u32> {
        self.last_desired
    }

    /// Consecutive evaluations without a usable signal.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Last time the signal was above the activation threshold.
    pub fn last_active_ms(&self) -> Option<u64> {
        self.last_active_ms
    }

    /// Whether the `concurrency` policy is in panic mode.
    pub fn panicking(&self) -> bool {
        matches!(&self.policy, PolicyState::Concurrency(s) if s.panicking())
    }
}

/// The memory of the policy that needs one.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum PolicyState {
    #[default]
    None,
    Concurrency(ConcurrencyState),
    Step(StepState),
    Predictive(PredictiveState),
}

/// What a policy recommends for one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recommendation {
    pub replicas: u32,
    /// `Scaled`, `WithinTolerance`, `Panic` or `Cooldown`.
    pub reason: Reason,
    pub detail: String,
}

/// Rounds a non-negative replica count up, as the HPA and Knative do with `math.Ceil`, but
/// without letting floating-point noise add a replica: `2.0000000000000004` is 2, not 3.
/// Negative and NaN values are 0; values beyond `u32::MAX` saturate.
pub fn ceil_count(x: f64) -> u32 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let nearest = x.round();
    let c = if (x - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        x.ceil()
    };
    if c >= u32::MAX as f64 {
        u32::MAX
    } else {
        c as u32
    }
}

/// Formats a number for a decision's detail: integers without a fraction, others with at
/// most three decimals.
pub(crate) fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
