//! AWS step scaling (Application Auto Scaling User Guide, "How step scaling works": step
//! adjustments, scaling adjustment types, cooldown period).

use super::super::Reason;
use super::super::step::round_percent_change;
use super::{Run, expect};

/// The guide's example: a breach threshold of 50, a scale-out policy (+10% from 60, +30% from
/// 70) and a scale-in policy (-10% from 40, -30% from 30), as one list of steps.
const GUIDE_EXAMPLE: &str = "
max_replicas: 100
policy:
  step:
    threshold: 50
    adjustment_type: PercentChangeInCapacity
    cooldown: 0s
    steps:
    - {upper: -20, adjustment: -30}
    - {lower: -20, upper: -10, adjustment: -10}
    - {lower: -10, upper: 0, adjustment: 0}
    - {lower: 0, upper: 10, adjustment: 0}
    - {lower: 10, upper: 20, adjustment: 10}
    - {lower: 20, adjustment: 30}
";

#[test]
fn guide_example_sequence() {
    let mut run = Run::new(GUIDE_EXAMPLE);
    // (metric, capacity before, capacity after)
    let cases = [
        // Between 40 and 60 the capacity stays.
        (45.0, 10, 10, Reason::Unchanged),
        (59.9, 10, 10, Reason::Unchanged),
        // At 60: +10% of 10 = 1 → 11.
        (60.0, 10, 11, Reason::Scaled),
        // At 70: +30% of 11 = 3.3, rounded down → 14.
        (70.0, 11, 14, Reason::Scaled),
        // At 40: -10% of 14 = -1.4, rounded up → 13.
        (40.0, 14, 13, Reason::Scaled),
        // At 30: -30% of 13 = -3.9, rounded up → 10.
        (30.0, 13, 10, Reason::Scaled),
        // Just above 40 is in the unchanged band: below the threshold a range excludes its
        // lower bound and includes its upper bound.
        (40.1, 10, 10, Reason::Unchanged),
    ];
    for (i, (metric, before, after, reason)) in cases.into_iter().enumerate() {
        let d = run.at(i as f64 * 60.0, Some(metric), Some(before));
        expect(&d, after, reason);
    }
}

#[test]
fn bounds_are_inclusive_on_the_side_of_the_threshold() {
    // The API reference: with a threshold of 50, [0, 10) holds 50 ≤ metric < 60 and (-10, 0]
    // holds 40 < metric ≤ 50.
    let yaml = "
max_replicas: 100
policy:
  step:
    threshold: 50
    adjustment_type: ChangeInCapacity
    cooldown: 0s
    steps:
    - {upper: -10, adjustment: -2}
    - {lower: -10, upper: 0, adjustment: -1}
    - {lower: 0, upper: 10, adjustment: 1}
    - {lower: 10, adjustment: 2}
";
    let cases = [
        (50.0, 11),
        (59.99, 11),
        (60.0, 12),
        (49.99, 9),
        (40.01, 9),
        (40.0, 8),
    ];
    for (metric, after) in cases {
        let mut run = Run::new(yaml);
        let d = run.at(0.0, Some(metric), Some(10));
        assert_eq!(d.desired, after, "metric {metric}: {}", d.detail);
    }
}

#[test]
fn adjustment_types() {
    let one_step = |kind: &str, adjustment: i64, extra: &str| {
        Run::new(&format!(
            "
max_replicas: 100
policy:
  step:
    threshold: 0
    adjustment_type: {kind}
    cooldown: 0s
    steps: [{{lower: 0, adjustment: {adjustment}}}]
    {extra}
"
        ))
    };
    // The guide: ChangeInCapacity, capacity 3 and adjustment 5 → 8.
    expect(
        &one_step("ChangeInCapacity", 5, "").at(0.0, Some(1.0), Some(3)),
        8,
        Reason::Scaled,
    );
    // ExactCapacity, capacity 3 and adjustment 5 → 5.
    expect(
        &one_step("ExactCapacity", 5, "").at(0.0, Some(1.0), Some(3)),
        5,
        Reason::Scaled,
    );
    // PercentChangeInCapacity, capacity 10 and 10 percent → 11.
    expect(
        &one_step("PercentChangeInCapacity", 10, "").at(0.0, Some(1.0), Some(10)),
        11,
        Reason::Scaled,
    );
    // MinAdjustmentMagnitude: 25% of 4 is 1, but at least 2 are added.
    expect(
        &one_step("PercentChangeInCapacity", 25, "min_adjustment_magnitude: 2").at(
            0.0,
            Some(1.0),
            Some(4),
        ),
        6,
        Reason::Scaled,
    );
    // Without it, 25% of 4 adds 1.
    expect(
        &one_step("PercentChangeInCapacity", 25, "").at(0.0, Some(1.0), Some(4)),
        5,
        Reason::Scaled,
    );
    // 10% of 3 is 0.3, which rounds to 1.
    expect(
        &one_step("PercentChangeInCapacity", 10, "").at(0.0, Some(1.0), Some(3)),
        4,
        Reason::Scaled,
    );
}

#[test]
fn percent_rounding() {
    // The guide's rounding rules and examples.
    assert_eq!(round_percent_change(12.7), 12);
    assert_eq!(round_percent_change(0.67), 1);
    assert_eq!(round_percent_change(-0.58), -1);
    assert_eq!(round_percent_change(-6.67), -6);
    assert_eq!(round_percent_change(0.0), 0);
    assert_eq!(round_percent_change(3.0), 3);
    assert_eq!(round_percent_change(-1.0), -1);
}

#[test]
fn cooldown() {
    let mut run = Run::new(
        "
max_replicas: 100
policy:
  step:
    threshold: 50
    adjustment_type: ChangeInCapacity
    cooldown: 300s
    steps:
    - {upper: 0, adjustment: -1}
    - {lower: 0, upper: 10, adjustment: 2}
    - {lower: 10, adjustment: 3}
",
    );
    // The guide: a scale-out by 2 starts a cooldown ...
    expect(&run.at(0.0, Some(55.0), Some(10)), 12, Reason::Scaled);
    // ... and when the alarm asks for 3 during it, the 2 already added count: 1 more.
    expect(&run.at(60.0, Some(65.0), Some(12)), 13, Reason::Scaled);
    // Another +2 (from the same base, 12) is already reached.
    expect(&run.at(90.0, Some(55.0), Some(13)), 13, Reason::Cooldown);
    // Scale-in waits for the cooldown of the last activity (60s + 300s).
    expect(&run.at(120.0, Some(45.0), Some(13)), 13, Reason::Cooldown);
    expect(&run.at(359.0, Some(45.0), Some(13)), 13, Reason::Cooldown);
    expect(&run.at(360.0, Some(45.0), Some(13)), 12, Reason::Scaled);
    // A scale-out during the cooldown of a scale-in happens at once.
    expect(&run.at(361.0, Some(55.0), Some(12)), 14, Reason::Scaled);
    // After the cooldown a scale-out is measured from the current capacity again.
    expect(&run.at(700.0, Some(55.0), Some(14)), 16, Reason::Scaled);
}

#[test]
fn a_breach_no_step_covers_changes_nothing() {
    // Only scale-out steps: below the threshold no alarm fires.
    let mut run = Run::new(
        "
max_replicas: 10
policy:
  step:
    threshold: 50
    adjustment_type: ChangeInCapacity
    steps: [{lower: 0, adjustment: 1}]
",
    );
    expect(&run.at(0.0, Some(20.0), Some(3)), 3, Reason::Unchanged);
    // The result is bounded by max_replicas.
    expect(&run.at(1.0, Some(90.0), Some(10)), 10, Reason::Clamped);
}
