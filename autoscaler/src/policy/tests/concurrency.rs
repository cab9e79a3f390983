//! Knative's KPA (Knative docs, "Configuring the autoscaler": stable window 60s, panic window
//! 10% of it, panic threshold 200%, max scale up rate 1000, max scale down rate 2; and the
//! autoscaler's `Scale`).

use super::super::Reason;
use super::{Run, expect};

fn kpa(extra: &str) -> Run {
    Run::new(&format!(
        "max_replicas: 1000\npolicy:\n  concurrency: {{target: 10, target_utilization: 1{extra}}}\n"
    ))
}

#[test]
fn panic_starts_when_the_panic_window_needs_twice_the_ready_pods() {
    let mut run = kpa("");
    // A quiet minute with one replica, then three replicas, then the last six seconds at 60.
    // No load wants 0 pods; min_replicas keeps one.
    expect(&run.at(0.0, Some(0.0), Some(1)), 1, Reason::Clamped);
    for t in 1..54 {
        let d = run.at(f64::from(t), Some(0.0), Some(3));
        assert!(!d.panic, "t={t}: {}", d.detail);
    }
    for t in 54..59 {
        // Panic average 10..50 over 6 samples: at most 5 pods, less than 2 × 3.
        let d = run.at(f64::from(t), Some(60.0), Some(3));
        assert!(!d.panic, "t={t}: {}", d.detail);
    }
    // At 59s the panic window (six samples of 60) wants 6 pods = 2 × 3 ready: the threshold is
    // reached (Knative compares with ≥). The stable window averages 6 → 1 pod, but in panic
    // the larger count wins.
    let d = run.at(59.0, Some(60.0), Some(3));
    expect(&d, 6, Reason::Panic);
    assert!(d.panic);
    assert!(run.state.panicking());
}

#[test]
fn no_scale_down_while_panicking_and_panic_ends_after_a_stable_window() {
    let mut run = kpa("");
    run.at(0.0, Some(0.0), Some(1));
    for t in 1..59 {
        run.at(
            f64::from(t),
            Some(if t >= 54 { 60.0 } else { 0.0 }),
            Some(3),
        );
    }
    expect(&run.at(59.0, Some(60.0), Some(3)), 6, Reason::Panic);
    // The load is gone at once, but while panicking the count never goes down.
    for t in 60..=119 {
        let d = run.at(f64::from(t), Some(0.0), Some(6));
        expect(&d, 6, Reason::Panic);
    }
    // The threshold was last crossed at 59s; at 120s a whole stable window has passed and
    // panic ends. The stable count is 0, but a scale-down halves at most (rate 2).
    let d = run.at(120.0, Some(0.0), Some(6));
    expect(&d, 3, Reason::Scaled);
    assert!(!d.panic);
    expect(&run.at(121.0, Some(0.0), Some(3)), 1, Reason::Scaled);
}

#[test]
fn panic_keeps_the_highest_count_of_the_panic() {
    let mut run = kpa("");
    run.at(0.0, Some(0.0), Some(1));
    // One ready replica: a panic average of 20 wants 2 pods, which is 2 × 1.
    expect(&run.at(1.0, Some(40.0), Some(1)), 2, Reason::Panic);
    // Samples 0, 40, 200 average 80: 8 pods.
    expect(&run.at(2.0, Some(200.0), Some(2)), 8, Reason::Panic);
    // The load falls (average 62.5 wants 7 pods) but panic never decreases.
    expect(&run.at(3.0, Some(10.0), Some(8)), 8, Reason::Panic);
}

#[test]
fn a_new_autoscaler_with_replicas_starts_in_panic() {
    // Knative: an autoscaler created with more than one ready pod starts in panic mode at that
    // count, so losing its history does not scale the revision down.
    let mut run = kpa("");
    let d = run.at(0.0, Some(0.0), Some(5));
    expect(&d, 5, Reason::Panic);
    expect(&run.at(60.0, Some(0.0), Some(5)), 5, Reason::Panic);
    expect(&run.at(61.0, Some(0.0), Some(5)), 2, Reason::Scaled);
    // With one replica it starts in stable mode.
    let mut run = kpa("");
    expect(&run.at(0.0, Some(0.0), Some(1)), 1, Reason::Clamped);
    assert!(!run.state.panicking());
}

#[test]
fn max_scale_up_rate_rounds_up() {
    // Knative's comment on maxScaleUp: with a rate of 1.1, 3 in flight, 2 ready pods and a
    // target of 1, ceil(1.1 × 2) = 3 still allows the 3 pods needed. (Panic is kept out of the
    // way with a high threshold.)
    let mut run = Run::new(
        "max_replicas: 100\npolicy: {concurrency: {target: 1, target_utilization: 1, \
         max_scale_up_rate: 1.1, panic_threshold_percentage: 1000}}",
    );
    expect(&run.at(0.0, Some(3.0), Some(1)), 2, Reason::Scaled);
    expect(&run.at(1.0, Some(3.0), Some(2)), 3, Reason::Scaled);
}

#[test]
fn stable_window_average() {
    let mut run = kpa(", panic_threshold_percentage: 1000");
    // Current follows the decisions (`None`: last decision assumed).
    for t in 0..60 {
        expect(
            &run.at(f64::from(t), Some(10.0), None),
            1,
            Reason::Unchanged,
        );
    }
    // Thirty seconds at 40 after a minute at 10: the stable window (30s, 90s] averages 25.
    let mut last = None;
    for t in 60..90 {
        last = Some(run.at(f64::from(t), Some(40.0), None));
    }
    assert_eq!(last.as_ref().unwrap().desired, 3);
    // A full window at 40: 4 pods.
    for t in 90..120 {
        last = Some(run.at(f64::from(t), Some(40.0), None));
    }
    assert_eq!(last.unwrap().desired, 4);
}

#[test]
fn target_utilization_defaults_to_70_percent() {
    // Knative's container-concurrency-target-percentage: 70, applied to the target.
    let mut run = Run::new(
        "max_replicas: 100\npolicy: {concurrency: {target: 10, panic_threshold_percentage: 1000}}",
    );
    // An effective target of 7: 63 in flight want 9 pods (not 7).
    expect(&run.at(0.0, Some(63.0), Some(1)), 9, Reason::Scaled);
}

#[test]
fn missing_data_holds_the_count() {
    let mut run = kpa("");
    run.at(0.0, Some(0.0), Some(1));
    expect(&run.at(1.0, None, Some(4)), 4, Reason::MissingData);
}
