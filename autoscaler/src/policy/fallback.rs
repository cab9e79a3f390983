//! Missing or failing data, and KEDA's fallback.
//!
//! An evaluation without a usable signal (the query failed, returned nothing, or NaN) never
//! scales down: the count is held (brought within `[min_replicas, max_replicas]` only). The
//! consecutive failures are counted; once they exceed `failure_threshold` — KEDA compares
//! with "greater than", so a threshold of 3 falls back on the fourth failure — the fallback
//! count is used instead, until a signal comes back:
//!
//! - `static`: `replicas`;
//! - `currentReplicas`: the current count;
//! - `currentReplicasIfHigher`: the current count if higher than `replicas`, else `replicas`;
//! - `currentReplicasIfLower`: the current count if lower than `replicas`, else `replicas`.
//!
//! KEDA feeds the fallback to the HPA as a metric, so with replicas running the fallback count
//! goes through the behaviour (stabilization and rate policies) like any recommendation; at
//! zero replicas KEDA's executor sets it directly, and so does Vane.

use crate::config::FallbackBehavior;

/// The validated `fallback` settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fallback {
    pub failure_threshold: u32,
    pub replicas: u32,
    pub behavior: FallbackBehavior,
}

impl Fallback {
    /// Whether `failures` consecutive failures call for the fallback.
    pub fn engaged(&self, failures: u32) -> bool {
        failures > self.failure_threshold
    }

    /// The fallback count for the current count.
    pub fn replicas(&self, current: u32) -> u32 {
        match self.behavior {
            FallbackBehavior::Static => self.replicas,
            FallbackBehavior::CurrentReplicas => current,
            FallbackBehavior::CurrentReplicasIfHigher => current.max(self.replicas),
            FallbackBehavior::CurrentReplicasIfLower => current.min(self.replicas),
        }
    }
}
