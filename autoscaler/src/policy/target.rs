//! The HPA's replica calculation: a per-replica target (`AverageValue`, KEDA's default) and a
//! ratio to a target (`Value` and utilization), both skipped within a tolerance.

use super::{Reason, Recommendation, ceil_count, num};

/// How far the usage ratio may stray from 1 before the count changes. Kubernetes ≥ 1.33 lets
/// each direction have its own (`behavior.scaleUp.tolerance`, `behavior.scaleDown.tolerance`);
/// both default to the controller's 0.1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tolerances {
    pub up: f64,
    pub down: f64,
}

impl Tolerances {
    /// Whether `ratio` is within `[1 - down, 1 + up]`, both ends included (the HPA keeps the
    /// count on the boundary).
    pub fn within(&self, ratio: f64) -> bool {
        1.0 - self.down <= ratio && ratio <= 1.0 + self.up
    }
}

/// `per_replica`: desired = ceil(signal / target).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerReplica {
    pub target: f64,
    pub tolerance: Tolerances,
}

impl PerReplica {
    /// As the HPA computes an external or object metric with an `AverageValue` target: the
    /// usage ratio is signal / (target × current); within the tolerance the current count
    /// stays, otherwise the count is ceil(signal / target). With no replicas the ratio is
    /// undefined and the count is computed directly.
    pub fn recommend(&self, signal: f64, current: u32) -> Recommendation {
        let wanted = ceil_count(signal / self.target);
        if current > 0 {
            let ratio = signal / (self.target * f64::from(current));
            if self.tolerance.within(ratio) {
                return Recommendation {
                    replicas: current,
                    reason: Reason::WithinTolerance,
                    detail: format!(
                        "usage ratio {} / ({} × {current}) = {} within tolerance",
                        num(signal),
                        num(self.target),
                        num(ratio)
                    ),
                };
            }
        }
        Recommendation {
            replicas: wanted,
            reason: Reason::Scaled,
            detail: format!("ceil({} / {}) = {wanted}", num(signal), num(self.target)),
        }
    }
}

/// `ratio`: desired = ceil(current × signal / target).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ratio {
    pub target: f64,
    pub tolerance: Tolerances,
}

impl Ratio {
    /// As the HPA computes a `Value` or utilization target: the usage ratio is
    /// signal / target; within the tolerance the current count stays, otherwise the count is
    /// ceil(ratio × current). With no replicas it is ceil(ratio), which is how the HPA scales
    /// up from zero on an object or external metric.
    pub fn recommend(&self, signal: f64, current: u32) -> Recommendation {
        let ratio = signal / self.target;
        if current == 0 {
            let wanted = ceil_count(ratio);
            return Recommendation {
                replicas: wanted,
                reason: Reason::Scaled,
                detail: format!(
                    "no replicas: ceil({} / {}) = {wanted}",
                    num(signal),
                    num(self.target)
                ),
            };
        }
        if self.tolerance.within(ratio) {
            return Recommendation {
                replicas: current,
                reason: Reason::WithinTolerance,
                detail: format!(
                    "usage ratio {} / {} = {} within tolerance",
                    num(signal),
                    num(self.target),
                    num(ratio)
                ),
            };
        }
        let wanted = ceil_count(ratio * f64::from(current));
        Recommendation {
            replicas: wanted,
            reason: Reason::Scaled,
            detail: format!(
                "ceil({current} × {} / {}) = {wanted}",
                num(signal),
                num(self.target)
            ),
        }
    }
}
