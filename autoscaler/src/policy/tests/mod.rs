//! Table tests of the policies, each case taken from the documented behaviour of the system the
//! policy follows (the source is named above each table), and property tests.

mod behavior;
mod concurrency;
mod fallback;
mod predictive;
mod props;
mod step;
mod target;
mod zero;

use super::{Decision, Input, Reason, Scaler, ServiceStats, State};
use crate::config::ScalerConfig;

/// A validated scaler from YAML.
pub(super) fn scaler(yaml: &str) -> Scaler {
    let config: ScalerConfig = yaml_serde::from_str(yaml).expect("test YAML parses");
    config.validate().expect("test configuration is valid")
}

/// An autoscaler over time: the scaler and its state.
pub(super) struct Run {
    pub scaler: Scaler,
    pub state: State,
}

impl Run {
    pub fn new(yaml: &str) -> Run {
        Run {
            scaler: scaler(yaml),
            state: State::default(),
        }
    }

    /// One evaluation at `now_s` seconds.
    pub fn at(&mut self, now_s: f64, signal: Option<f64>, current: Option<u32>) -> Decision {
        self.eval(Input {
            now_ms: (now_s * 1000.0).round() as u64,
            signal,
            current,
            service: None,
        })
    }

    pub fn eval(&mut self, input: Input) -> Decision {
        let state = std::mem::take(&mut self.state);
        let (decision, state) = self.scaler.decide(&input, state);
        self.state = state;
        decision
    }
}

/// Asserts the desired count and reason of a decision, showing the detail on failure.
#[track_caller]
pub(super) fn expect(d: &Decision, desired: u32, reason: Reason) {
    assert_eq!(
        (d.desired, d.reason),
        (desired, reason),
        "decision detail: {}",
        d.detail
    );
}

#[test]
fn reasons_have_distinct_labels() {
    let mut labels: Vec<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), Reason::ALL.len());
}

#[test]
fn ceil_count_ignores_float_noise() {
    use super::ceil_count;
    assert_eq!(ceil_count(5.000000000000001), 5);
    assert_eq!(ceil_count(2.0000000000000004), 2);
    assert_eq!(ceil_count(2.01), 3);
    assert_eq!(ceil_count(0.0000001), 1);
    assert_eq!(ceil_count(0.0), 0);
    assert_eq!(ceil_count(-3.0), 0);
    assert_eq!(ceil_count(f64::NAN), 0);
    assert_eq!(ceil_count(1e20), u32::MAX);
}

#[test]
fn unknown_current_assumes_the_last_decision() {
    let mut run = Run::new("max_replicas: 20\npolicy: {per_replica: {target: 10}}");
    // Before any decision: min_replicas (1).
    let d = run.at(0.0, Some(50.0), None);
    assert_eq!(d.desired, 5, "{}", d.detail);
    assert!(d.detail.contains("min_replicas assumed"));
    // Then the last decision (5): 52 is within the tolerance of 5 × 10.
    let d = run.at(1.0, Some(52.0), None);
    expect(&d, 5, Reason::WithinTolerance);
    assert!(d.detail.contains("last decision assumed"));
}

#[test]
fn service_stats_from_moments() {
    let s = ServiceStats::from_moments(0.2, 0.04);
    assert_eq!(s.mean_seconds, 0.2);
    assert!((s.cv.unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(ServiceStats::from_moments(0.0, 1.0).cv, None);
}
