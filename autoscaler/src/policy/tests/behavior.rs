//! The HPA's scaling behaviour (Kubernetes docs, "Horizontal Pod Autoscaling", configurable
//! scaling behavior and its examples; the HPA controller's normalization).

use super::super::Reason;
use super::{Run, expect};

/// A ratio policy whose recommendation is exactly the signal (target 1, current 1 → the
/// signal), so tests can feed recommendations directly.
fn run_with(behavior: &str, min: u32, max: u32) -> Run {
    Run::new(&format!(
        "min_replicas: {min}\nmax_replicas: {max}\npolicy: {{per_replica: {{target: 1, tolerance: 0}}}}\n{behavior}"
    ))
}

#[test]
fn default_scale_up_is_4_pods_or_100_percent_per_15s() {
    // The documented default: scaleUp allows the larger of 4 pods and 100% every 15 seconds,
    // with no stabilization window.
    let mut run = run_with("", 1, 100);
    // From 1: max(1 + 4, 1 × 2) = 5.
    expect(&run.at(0.0, Some(40.0), Some(1)), 5, Reason::RateLimited);
    // Within the same 15s period, nothing more: the period started at 1.
    expect(&run.at(5.0, Some(40.0), Some(5)), 5, Reason::RateLimited);
    // At 15s the first event has left the period: max(5 + 4, 5 × 2) = 10.
    expect(&run.at(15.0, Some(40.0), Some(5)), 10, Reason::RateLimited);
    // Then max(10 + 4, 20) = 20, and 40 at 45s.
    expect(&run.at(30.0, Some(40.0), Some(10)), 20, Reason::RateLimited);
    expect(&run.at(45.0, Some(40.0), Some(20)), 40, Reason::Scaled);
}

#[test]
fn default_scale_down_waits_for_the_300s_window() {
    // The documented default: scaleDown has a 300s stabilization window; the count falls only
    // to the highest recommendation of the window.
    let mut run = run_with("", 1, 100);
    expect(
        &run.at(0.0, Some(10.0), Some(10)),
        10,
        Reason::WithinTolerance,
    );
    let mut t = 30.0;
    while t < 300.0 {
        expect(&run.at(t, Some(5.0), Some(10)), 10, Reason::Stabilized);
        t += 30.0;
    }
    // At 300s the recommendation of time 0 has left the window (now − 300s, now].
    expect(&run.at(300.0, Some(5.0), Some(10)), 5, Reason::Scaled);
}

#[test]
fn docs_example_scale_down_by_percent_then_pods() {
    // The docs' example: scale down by at most 4 pods or 10% per 60s, whichever removes more.
    // From 80 towards 10: 8 pods first, then 10% of 72 (7.2) removes 8 (the count is
    // truncated), and below 40 pods the Pods policy removes 4 at a time.
    let mut run = run_with(
        "
behavior:
  scale_down:
    stabilization_window: 0s
    policies:
    - {type: Pods, value: 4, period: 60s}
    - {type: Percent, value: 10, period: 60s}
",
        1,
        100,
    );
    let mut current = 80;
    let mut seen = vec![current];
    for minute in 0..10 {
        let d = run.at(f64::from(minute) * 60.0, Some(10.0), Some(current));
        assert_eq!(d.reason, Reason::RateLimited, "{}", d.detail);
        current = d.desired;
        seen.push(current);
    }
    assert_eq!(seen, [80, 72, 64, 57, 51, 45, 40, 36, 32, 28, 24]);
    // Within a period, nothing more is removed.
    let d = run.at(570.0, Some(10.0), Some(24));
    expect(&d, 24, Reason::RateLimited);
}

#[test]
fn select_policy_min_takes_the_smaller_change() {
    let mut run = run_with(
        "
behavior:
  scale_up:
    select_policy: Min
    policies:
    - {type: Pods, value: 4, period: 60s}
    - {type: Percent, value: 100, period: 60s}
",
        1,
        100,
    );
    // From 10: min(14, 20) = 14.
    expect(&run.at(0.0, Some(50.0), Some(10)), 14, Reason::RateLimited);
}

#[test]
fn select_policy_disabled_forbids_the_direction() {
    // The docs: selectPolicy Disabled turns off scaling in that direction.
    let mut run = run_with(
        "
behavior:
  scale_down: {select_policy: Disabled}
",
        1,
        100,
    );
    expect(&run.at(0.0, Some(1.0), Some(10)), 10, Reason::RateLimited);
    expect(
        &run.at(1000.0, Some(1.0), Some(10)),
        10,
        Reason::RateLimited,
    );
    // Scaling up still works.
    expect(&run.at(1001.0, Some(12.0), Some(10)), 12, Reason::Scaled);
}

#[test]
fn scale_up_stabilization_takes_the_lowest_recent_recommendation() {
    let mut run = run_with(
        "
behavior:
  scale_up: {stabilization_window: 60s}
",
        1,
        100,
    );
    expect(&run.at(0.0, Some(5.0), Some(5)), 5, Reason::WithinTolerance);
    // 10 is wanted, but 5 was recommended within the last 60s.
    expect(&run.at(30.0, Some(10.0), Some(5)), 5, Reason::Stabilized);
    expect(&run.at(59.0, Some(10.0), Some(5)), 5, Reason::Stabilized);
    // At 60s the recommendation of time 0 has left the window.
    expect(&run.at(60.0, Some(10.0), Some(5)), 10, Reason::Scaled);
}

#[test]
fn stabilization_clamps_current_between_both_windows() {
    // The controller starts from the current count, raises it to the lowest recommendation of
    // the scale-up window and lowers it to the highest of the scale-down window.
    let mut run = run_with(
        "
behavior:
  scale_up: {stabilization_window: 60s}
  scale_down: {stabilization_window: 60s}
",
        1,
        100,
    );
    run.at(0.0, Some(8.0), Some(6));
    // Recommendations 8 and 4 in both windows: up-limit 4, down-limit 8; current 6 stays.
    expect(&run.at(10.0, Some(4.0), Some(6)), 6, Reason::Stabilized);
}

#[test]
fn rate_period_counts_replicas_added_and_removed() {
    // The period's start is the count before its first change: with a platform reporting each
    // decision at once, the current count minus the replicas added and plus those removed
    // within the period (Kubernetes counts both directions since 1.27).
    let mut run = run_with(
        "
behavior:
  scale_up:
    policies: [{type: Pods, value: 4, period: 60s}]
  scale_down:
    stabilization_window: 0s
    policies: [{type: Percent, value: 100, period: 60s}]
",
        1,
        100,
    );
    expect(&run.at(0.0, Some(20.0), Some(10)), 14, Reason::RateLimited);
    expect(&run.at(10.0, Some(5.0), Some(14)), 5, Reason::Scaled);
    // Start of the period: 5 − 4 + 9 = 10, so at most 14.
    expect(&run.at(20.0, Some(20.0), Some(5)), 14, Reason::RateLimited);
}

#[test]
fn a_current_count_that_lags_the_decision_does_not_shrink_the_limit() {
    // A platform may report the old count for a while after a decision (the push is still in
    // flight, or it reports running replicas). The period still started at 1, so 4 stays
    // allowed: the limit is not taken from "current − added" (1 − 3 = −2, which would allow
    // only 2).
    let mut run = run_with("", 1, 100);
    expect(&run.at(0.0, Some(4.0), Some(1)), 4, Reason::Scaled);
    expect(&run.at(0.5, Some(4.0), Some(1)), 4, Reason::Scaled);
    expect(&run.at(1.0, Some(4.0), Some(1)), 4, Reason::Scaled);
    // Once it reports 4, the period's start is still 1: at most max(1 + 4, 1 × 2) = 5.
    expect(&run.at(2.0, Some(9.0), Some(4)), 5, Reason::RateLimited);
    // The decisions made again while the report lagged were not new changes, so the first
    // change leaves the period at 15 s: the period then starts at the 4 → 5 of 2 s, at most
    // max(4 + 4, 4 × 2) = 8; once that has left too, from 5: max(9, 10), and 9 is asked.
    expect(&run.at(15.0, Some(9.0), Some(5)), 8, Reason::RateLimited);
    expect(&run.at(17.0, Some(9.0), Some(8)), 9, Reason::Scaled);
}

#[test]
fn a_count_changed_outside_vane_does_not_move_the_period_start() {
    // Unlike the HPA's "current − added + removed", the period starts where Vane's first
    // change of the period started, whatever the platform reports since (documented): after
    // 10 → 14 and an operator's 30, a 100 % policy allows 20, so 30 is held, not raised.
    let mut run = run_with(
        "
behavior:
  scale_up:
    policies: [{type: Percent, value: 100, period: 60s}]
",
        1,
        100,
    );
    expect(&run.at(0.0, Some(14.0), Some(10)), 14, Reason::Scaled);
    expect(&run.at(10.0, Some(60.0), Some(30)), 30, Reason::RateLimited);
    // Once the period has passed: from 30, at most 60.
    expect(&run.at(60.0, Some(60.0), Some(30)), 60, Reason::Scaled);
}

#[test]
fn current_outside_the_bounds_is_brought_back_first() {
    // The controller: a current count above maxReplicas goes to maxReplicas, below
    // minReplicas to minReplicas, whatever the metrics say.
    let mut run = run_with("", 2, 10);
    expect(&run.at(0.0, Some(12.0), Some(15)), 10, Reason::Clamped);
    expect(&run.at(1.0, Some(1.0), Some(1)), 2, Reason::Clamped);
}

#[test]
fn behaviour_none_passes_the_recommendation_through() {
    // The step and concurrency policies default to no behaviour.
    let mut run = Run::new(
        "
max_replicas: 100
policy:
  step:
    threshold: 0
    adjustment_type: ExactCapacity
    cooldown: 0s
    steps: [{lower: 0, adjustment: 50}, {upper: 0, adjustment: 1}]
",
    );
    expect(&run.at(0.0, Some(1.0), Some(1)), 50, Reason::Scaled);
    expect(&run.at(1.0, Some(-1.0), Some(50)), 1, Reason::Scaled);
}
