//! The scaling part of an autoscaler's configuration, as read from YAML.
//!
//! These types mirror the file: every field that may be left out is an `Option`, unknown fields
//! are refused, and durations are Prometheus duration strings (`15s`, `5m`, `1h30m`). Nothing
//! here is checked beyond what serde checks; [`ScalerConfig::validate`] turns a read
//! configuration into a [`crate::policy::Scaler`], applying the defaults and naming the field of
//! every error. Enumerated values keep the spelling of the system they come from (`Pods`,
//! `Percent`, `Max` from the HPA; `currentReplicasIfHigher` from KEDA; `ChangeInCapacity` from
//! AWS Application Auto Scaling), so their documentation reads across.
//!
//! The `autoscalers:` entries of the daemon's file (name, query, interval, target) will hold
//! these fields next to their own.

mod validate;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A duration read from a Prometheus duration string, in milliseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct DurationMs(pub u64);

impl fmt::Debug for DurationMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&model::duration::format_duration_ms(self.0))
    }
}

impl fmt::Display for DurationMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        model::duration::parse_duration_ms(&s)
            .map(DurationMs)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration {s:?}: {e}")))
    }
}

/// How an autoscaler turns its signal into a replica count, with its limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalerConfig {
    /// Default 1. 0 enables scale to zero (see `scale_to_zero`).
    pub min_replicas: Option<u32>,
    pub max_replicas: u32,
    pub policy: PolicyConfig,
    /// Stabilization windows and rate limits. Left out: the HPA's defaults for the
    /// `per_replica`, `ratio` and `predictive` policies, none for `concurrency` and `step`, which
    /// damp themselves.
    pub behavior: Option<BehaviorConfig>,
    /// Only with `min_replicas: 0`; KEDA's defaults when left out.
    pub scale_to_zero: Option<ScaleToZeroConfig>,
    /// What to do when the signal cannot be read; without it, Vane holds the current count.
    pub fallback: Option<FallbackConfig>,
}

/// The policy: exactly one of the keys, naming it. (A struct rather than an enum: the YAML
/// library reads enums from `!tags`, and a map with one key is what the file should hold.)
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    pub per_replica: Option<PerReplicaConfig>,
    pub ratio: Option<RatioConfig>,
    pub concurrency: Option<ConcurrencyConfig>,
    pub step: Option<StepConfig>,
    pub predictive: Option<PredictiveConfig>,
}

/// `per_replica`: the signal is a total; each replica should carry `target` of it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerReplicaConfig {
    pub target: f64,
    /// Default 0.1.
    pub tolerance: Option<f64>,
}

/// `ratio`: the signal is a per-replica average (or a value the replicas share) to hold at
/// `target`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioConfig {
    pub target: f64,
    /// Default 0.1.
    pub tolerance: Option<f64>,
}

/// `concurrency`: Knative's KPA over the observed total concurrency (or request rate).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencyConfig {
    /// Concurrency (or rate) one replica is meant to carry.
    pub target: f64,
    /// Fraction of `target` aimed at, in (0, 1]. Default 0.7.
    pub target_utilization: Option<f64>,
    /// Default 60s, between 6s and 1h.
    pub stable_window: Option<DurationMs>,
    /// Panic window as a percentage of the stable window. Default 10, between 1 and 100.
    pub panic_window_percentage: Option<f64>,
    /// Default 200, between 110 and 1000.
    pub panic_threshold_percentage: Option<f64>,
    /// Default 1000, greater than 1.
    pub max_scale_up_rate: Option<f64>,
    /// Default 2, greater than 1.
    pub max_scale_down_rate: Option<f64>,
}

/// `step`: AWS step scaling.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// The breach threshold the step bounds are relative to.
    pub threshold: f64,
    pub adjustment_type: AdjustmentType,
    pub steps: Vec<StepAdjustmentConfig>,
    /// Only with `PercentChangeInCapacity`.
    pub min_adjustment_magnitude: Option<u32>,
    /// Default 300s.
    pub cooldown: Option<DurationMs>,
}

/// One step: a range of `signal - threshold` and what to do in it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepAdjustmentConfig {
    /// Left out: negative infinity.
    pub lower: Option<f64>,
    /// Left out: positive infinity.
    pub upper: Option<f64>,
    pub adjustment: i64,
}

/// How a step's adjustment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AdjustmentType {
    ChangeInCapacity,
    PercentChangeInCapacity,
    ExactCapacity,
}

/// `predictive`: size for the load expected one cold start ahead.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictiveConfig {
    /// Requests one replica serves at once.
    pub per_replica_concurrency: f64,
    /// How far ahead to size: the time a new replica takes to serve.
    pub cold_start: DurationMs,
    /// Window of the least-squares trend. Default 2m.
    pub trend_window: Option<DurationMs>,
    /// Mean service time used when an evaluation brings none.
    pub service_time: Option<DurationMs>,
    /// A classic histogram of service times the mean and its variability are observed from.
    pub service_time_histogram: Option<ServiceTimeHistogramConfig>,
    /// Utilisation accepted when service times are exponential (CV = 1). Default 0.8.
    pub target_utilization: Option<f64>,
    /// A fixed headroom instead of the one derived from the service-time variability.
    pub headroom: Option<f64>,
    /// Upper bound of the derived headroom. Default 1.
    pub max_headroom: Option<f64>,
}

/// `service_time_histogram`: where the `predictive` policy observes service times.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTimeHistogramConfig {
    /// The histogram's name without `_bucket`/`_sum`/`_count`, with optional matchers:
    /// `funcsim_service_duration_seconds{function="a"}`. Observations in seconds.
    pub selector: String,
    /// The window of the rates. Default 1m.
    pub window: Option<DurationMs>,
}

/// `behavior`: the HPA's scaling behaviour.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviorConfig {
    pub scale_up: Option<ScalingRulesConfig>,
    pub scale_down: Option<ScalingRulesConfig>,
}

/// `scale_up` / `scale_down`: each field left out takes the policy's default.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingRulesConfig {
    /// At most 1h.
    pub stabilization_window: Option<DurationMs>,
    pub select_policy: Option<SelectPolicy>,
    pub policies: Option<Vec<RatePolicyConfig>>,
    /// Tolerance of this direction, for the `per_replica` and `ratio` policies.
    pub tolerance: Option<f64>,
}

/// Which rate policy wins when several are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (the default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// One rate policy: at most `value` pods or percent per `period`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePolicyConfig {
    #[serde(rename = "type")]
    pub kind: RatePolicyType,
    pub value: u32,
    /// More than 0, at most 30m.
    pub period: DurationMs,
}

/// The unit of a rate policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RatePolicyType {
    Pods,
    Percent,
}

/// `scale_to_zero`: KEDA's activation and cooldown.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleToZeroConfig {
    /// Active only while the signal is strictly greater. Default 0.
    pub activation_threshold: Option<f64>,
    /// Time since the signal was last active before going to zero. Default 5m.
    pub cooldown: Option<DurationMs>,
    /// Time after the first evaluation before the first scale to zero. Default 0s.
    pub initial_cooldown: Option<DurationMs>,
    /// Replicas on activation from zero. Default `computed`.
    pub activation_replicas: Option<ActivationReplicas>,
}

/// How many replicas an activation from zero asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationReplicas {
    /// One replica (KEDA); the policy takes over on the next evaluation.
    One,
    /// The policy's recommendation for the signal, at least one.
    Computed,
}

/// `fallback`: KEDA's fallback.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackConfig {
    /// Fallback starts once the consecutive failures exceed this number.
    pub failure_threshold: u32,
    pub replicas: u32,
    /// Default `static`.
    pub behavior: Option<FallbackBehavior>,
}

/// How the fallback count is chosen (KEDA's `fallback.behavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FallbackBehavior {
    /// `replicas`.
    #[serde(rename = "static")]
    Static,
    /// The current count.
    #[serde(rename = "currentReplicas")]
    CurrentReplicas,
    /// The current count if higher than `replicas`, else `replicas`.
    #[serde(rename = "currentReplicasIfHigher")]
    CurrentReplicasIfHigher,
    /// The current count if lower than `replicas`, else `replicas`.
    #[serde(rename = "currentReplicasIfLower")]
    CurrentReplicasIfLower,
}
