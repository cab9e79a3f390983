//! AWS step scaling (Application Auto Scaling): ranges of the breach → adjustments, with a
//! cooldown.
//!
//! The breach is `signal - threshold`. Each step covers a range of it; when the signal is at
//! or above the threshold a range includes its lower bound and excludes its upper bound, below
//! the threshold it excludes the lower and includes the upper (so with a threshold of 50, the
//! range [0, 10) holds 50 up to but not including 60, and (-10, 0] holds 40 excluded up to 50).
//! A breach no step covers changes nothing.
//!
//! Cooldown, as Application Auto Scaling describes it for step policies: after a scale-out,
//! while the cooldown runs, the next scale-out is computed from the capacity before the one
//! that started the cooldown, so its added capacity counts towards the next (+2 then +3 adds
//! 1); a scale-out after a scale-in is immediate. A scale-in waits until the cooldown of the
//! last scaling activity has expired. Vane's step policy covers both directions in one policy,
//! so the scale-in also waits after a scale-out (AWS would need a second policy and alarm).

use super::{Reason, Recommendation, num};
use crate::config::AdjustmentType;

/// The validated `step` policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub threshold: f64,
    pub adjustment_type: AdjustmentType,
    /// Sorted by lower bound; contiguous, no overlap.
    pub steps: Vec<StepAdjustment>,
    /// For `PercentChangeInCapacity`: the least magnitude of a non-zero change. 0 for none.
    pub min_adjustment_magnitude: u32,
    pub cooldown_ms: u64,
}

/// One step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepAdjustment {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: i64,
}

/// The last scaling activity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct StepState {
    last: Option<Activity>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Activity {
    at_ms: u64,
    scale_out: bool,
    /// Capacity before the scale-out that started the cooldown.
    base: u32,
}

impl StepAdjustment {
    fn covers(&self, breach: f64) -> bool {
        if breach >= 0.0 {
            self.lower.is_none_or(|l| breach >= l) && self.upper.is_none_or(|u| breach < u)
        } else {
            self.lower.is_none_or(|l| breach > l) && self.upper.is_none_or(|u| breach <= u)
        }
    }
}

impl Step {
    pub fn recommend(
        &self,
        state: &StepState,
        now_ms: u64,
        signal: f64,
        current: u32,
    ) -> Recommendation {
        let breach = signal - self.threshold;
        let Some(step) = self.steps.iter().find(|s| s.covers(breach)) else {
            return Recommendation {
                replicas: current,
                reason: Reason::Scaled,
                detail: format!("breach {} is in no step", num(breach)),
            };
        };
        let in_cooldown = state
            .last
            .is_some_and(|a| now_ms < a.at_ms.saturating_add(self.cooldown_ms));
        let wanted = self.apply(current, step.adjustment);
        let what = format!(
            "breach {} → {} {:?}",
            num(breach),
            step.adjustment,
            self.adjustment_type
        );
        if wanted > current {
            if let Some(a) = state.last.filter(|a| a.scale_out && in_cooldown) {
                let from_base = self.apply(a.base, step.adjustment);
                if from_base <= current {
                    return Recommendation {
                        replicas: current,
                        reason: Reason::Cooldown,
                        detail: format!(
                            "{what}: scale-out cooldown, {} from {} already reached",
                            from_base, a.base
                        ),
                    };
                }
                return Recommendation {
                    replicas: from_base,
                    reason: Reason::Scaled,
                    detail: format!("{what}: during cooldown, from {}: {from_base}", a.base),
                };
            }
        } else if wanted < current && in_cooldown {
            return Recommendation {
                replicas: current,
                reason: Reason::Cooldown,
                detail: format!("{what}: scale-in waits for the cooldown"),
            };
        }
        Recommendation {
            replicas: wanted,
            reason: Reason::Scaled,
            detail: format!("{what}: {current} → {wanted}"),
        }
    }

    /// Records the decision: a change is a scaling activity that starts a cooldown.
    pub fn decided(&self, state: &mut StepState, now_ms: u64, current: u32, desired: u32) {
        if desired > current {
            let in_cooldown = state
                .last
                .is_some_and(|a| now_ms < a.at_ms.saturating_add(self.cooldown_ms));
            // A larger scale-out during the cooldown was computed from the same base; the
            // base stays so that later steps are measured from it too.
            let base = match state.last {
                Some(a) if a.scale_out && in_cooldown => a.base,
                _ => current,
            };
            state.last = Some(Activity {
                at_ms: now_ms,
                scale_out: true,
                base,
            });
        } else if desired < current {
            state.last = Some(Activity {
                at_ms: now_ms,
                scale_out: false,
                base: current,
            });
        }
    }

    /// The capacity after applying `adjustment` to `capacity`.
    fn apply(&self, capacity: u32, adjustment: i64) -> u32 {
        let cap = i64::from(capacity);
        let next = match self.adjustment_type {
            AdjustmentType::ChangeInCapacity => cap.saturating_add(adjustment),
            AdjustmentType::ExactCapacity => adjustment,
            AdjustmentType::PercentChangeInCapacity => {
                let mut change = round_percent_change(cap as f64 * adjustment as f64 / 100.0);
                let min = i64::from(self.min_adjustment_magnitude);
                if change != 0 && change.abs() < min {
                    change = change.signum() * min;
                }
                cap.saturating_add(change)
            }
        };
        next.clamp(0, i64::from(u32::MAX)) as u32
    }
}

/// Application Auto Scaling's rounding of a percentage change: values above 1 are rounded
/// down, values between 0 and 1 become 1, between -1 and 0 become -1, below -1 are rounded up
/// (towards zero).
pub(crate) fn round_percent_change(x: f64) -> i64 {
    if x == 0.0 || x.is_nan() {
        0
    } else if x > 0.0 && x < 1.0 {
        1
    } else if x < 0.0 && x > -1.0 {
        -1
    } else {
        x.trunc() as i64
    }
}
