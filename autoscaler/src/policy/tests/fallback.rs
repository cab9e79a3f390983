//! Missing data and fallback (KEDA docs: ScaledObject specification, `fallback` and
//! `fallback.behavior`; KEDA's fallback, which engages once the failures exceed the
//! threshold).

use super::super::Reason;
use super::{Run, expect};

fn with_fallback(fallback: &str) -> Run {
    Run::new(&format!(
        "
max_replicas: 20
policy: {{per_replica: {{target: 10}}}}
{fallback}
"
    ))
}

#[test]
fn missing_data_never_scales_down() {
    let mut run = with_fallback("");
    expect(
        &run.at(0.0, Some(80.0), Some(8)),
        8,
        Reason::WithinTolerance,
    );
    for i in 1..100 {
        let d = run.at(f64::from(i) * 15.0, None, Some(8));
        expect(&d, 8, Reason::MissingData);
        assert_eq!(d.recommendation, None);
    }
    assert_eq!(run.state.failures(), 99);
    // NaN counts as missing.
    expect(
        &run.at(2000.0, Some(f64::NAN), Some(8)),
        8,
        Reason::MissingData,
    );
    // A signal resets the count.
    run.at(2015.0, Some(80.0), Some(8));
    assert_eq!(run.state.failures(), 0);
}

#[test]
fn missing_data_still_respects_the_bounds() {
    let mut run = with_fallback("");
    expect(&run.at(0.0, None, Some(25)), 20, Reason::Clamped);
}

#[test]
fn fallback_after_more_failures_than_the_threshold() {
    // The docs: with failureThreshold 3 and replicas 6, once the consecutive failures pass the
    // threshold the fallback count is used.
    let mut run = with_fallback("fallback: {failure_threshold: 3, replicas: 6}");
    for i in 0..3 {
        expect(&run.at(f64::from(i), None, Some(2)), 2, Reason::MissingData);
    }
    let d = run.at(3.0, None, Some(2));
    expect(&d, 6, Reason::Fallback);
    assert!(d.detail.contains("4 evaluations (> 3)"), "{}", d.detail);
    // Recovery: the policy decides again.
    expect(
        &run.at(4.0, Some(60.0), Some(6)),
        6,
        Reason::WithinTolerance,
    );
}

#[test]
fn fallback_behaviours() {
    // (behaviour, fallback replicas, current, expected) — the docs' examples.
    let cases = [
        // static: fallback.replicas.
        ("static", 6, 2, 6),
        // currentReplicas: the current count (6 when 6 run).
        ("currentReplicas", 3, 6, 6),
        // currentReplicasIfHigher: 6 running, fallback 3 → 6.
        ("currentReplicasIfHigher", 3, 6, 6),
        ("currentReplicasIfHigher", 6, 3, 6),
        // currentReplicasIfLower: 3 running, fallback 6 → 3.
        ("currentReplicasIfLower", 6, 3, 3),
        ("currentReplicasIfLower", 3, 6, 3),
    ];
    for (behavior, replicas, current, expected) in cases {
        let mut run = with_fallback(&format!(
            "fallback: {{failure_threshold: 0, replicas: {replicas}, behavior: {behavior}}}"
        ));
        let d = run.at(0.0, None, Some(current));
        assert_eq!(d.reason, Reason::Fallback, "{behavior}: {}", d.detail);
        assert_eq!(d.desired, expected, "{behavior}: {}", d.detail);
    }
}

#[test]
fn fallback_goes_through_the_behaviour() {
    // KEDA feeds the fallback to the HPA as a metric: the scale-down stabilization window
    // still holds the count.
    let mut run = with_fallback("fallback: {failure_threshold: 0, replicas: 4}");
    expect(
        &run.at(0.0, Some(100.0), Some(10)),
        10,
        Reason::WithinTolerance,
    );
    let d = run.at(15.0, None, Some(10));
    expect(&d, 10, Reason::Fallback);
    assert!(d.detail.contains("stabilized at 10"), "{}", d.detail);
    expect(&run.at(300.0, None, Some(10)), 4, Reason::Fallback);
}

#[test]
fn fallback_from_zero_is_direct() {
    // KEDA's executor sets the fallback count itself when no trigger is active and a scaler
    // fails.
    let mut run = Run::new(
        "
min_replicas: 0
max_replicas: 20
policy: {per_replica: {target: 10}}
fallback: {failure_threshold: 1, replicas: 6}
",
    );
    expect(&run.at(0.0, None, Some(0)), 0, Reason::MissingData);
    expect(&run.at(1.0, None, Some(0)), 6, Reason::Fallback);
}
