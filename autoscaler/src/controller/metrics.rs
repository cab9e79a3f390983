//! The controller's own metrics, on `/metrics`.

use model::metrics::{CounterVec, Registry};

/// `vane_autoscaler_decisions_total{autoscaler,reason}` and
/// `vane_autoscaler_target_requests_total{autoscaler,result}`.
#[derive(Clone)]
pub struct Metrics {
    decisions: CounterVec,
    pushes: CounterVec,
}

impl Metrics {
    pub fn new(r: &Registry) -> Metrics {
        Metrics {
            decisions: r.counter_vec(
                "vane_autoscaler_decisions_total",
                "Autoscaler evaluations, by the reason of their decision.",
                &["autoscaler", "reason"],
            ),
            pushes: r.counter_vec(
                "vane_autoscaler_target_requests_total",
                "Decisions pushed to targets, by result (ok, retry, error).",
                &["autoscaler", "result"],
            ),
        }
    }

    pub(super) fn decided(&self, autoscaler: &str, reason: &str) {
        self.decisions.with(&[autoscaler, reason]).inc();
    }

    pub(super) fn pushed(&self, autoscaler: &str, result: &str) {
        self.pushes.with(&[autoscaler, result]).inc();
    }
}
