//! The HPA's replica calculation (Kubernetes docs, "Horizontal Pod Autoscaling", algorithm
//! details; the replica calculator of the HPA controller).

use super::super::{PerReplica, Ratio, Reason, Tolerances};
use super::{Run, expect};

const TOL: Tolerances = Tolerances { up: 0.1, down: 0.1 };

#[test]
fn ratio_table() {
    let p = Ratio {
        target: 100.0,
        tolerance: TOL,
    };
    // (signal, current, desired, reason)
    let cases = [
        // The docs: a current value of 200m against a target of 100m doubles the count.
        (200.0, 4, 8, Reason::Scaled),
        // ... and 50m halves it.
        (50.0, 4, 2, Reason::Scaled),
        // Within the default tolerance of 0.1 nothing changes; both ends are included.
        (110.0, 4, 4, Reason::WithinTolerance),
        (90.0, 4, 4, Reason::WithinTolerance),
        (105.0, 10, 10, Reason::WithinTolerance),
        // Just outside: ceil(current × ratio).
        (111.0, 4, 5, Reason::Scaled),
        (85.0, 10, 9, Reason::Scaled),
        (89.0, 4, 4, Reason::Scaled),
        // With no replicas the HPA scales to ceil(ratio), without tolerance.
        (250.0, 0, 3, Reason::Scaled),
        (100.0, 0, 1, Reason::Scaled),
        (0.0, 0, 0, Reason::Scaled),
        // No load: zero (min_replicas applies later).
        (0.0, 5, 0, Reason::Scaled),
    ];
    for (signal, current, desired, reason) in cases {
        let r = p.recommend(signal, current);
        assert_eq!(
            (r.replicas, r.reason),
            (desired, reason),
            "signal {signal} current {current}: {}",
            r.detail
        );
    }
}

#[test]
fn ratio_float_noise_does_not_add_a_replica() {
    // The replica calculator's scale-up case: three pods at an average 50% of their request
    // against a 30% target want ceil(3 × 50/30) = 5, although 3 × (50/30) is 5.000000000000001
    // in floating point.
    let p = Ratio {
        target: 30.0,
        tolerance: TOL,
    };
    assert_eq!(p.recommend(50.0, 3).replicas, 5);
}

#[test]
fn per_replica_table() {
    let p = PerReplica {
        target: 100.0,
        tolerance: TOL,
    };
    let cases = [
        // desired = ceil(signal / target).
        (250.0, 0, 3, Reason::Scaled),
        (250.0, 1, 3, Reason::Scaled),
        (30.0, 5, 1, Reason::Scaled),
        // The HPA's AverageValue calculation keeps the count while
        // signal / (target × current) is within the tolerance.
        (1000.0, 10, 10, Reason::WithinTolerance),
        (1100.0, 10, 10, Reason::WithinTolerance),
        (900.0, 10, 10, Reason::WithinTolerance),
        (1150.0, 10, 12, Reason::Scaled),
        (850.0, 10, 9, Reason::Scaled),
        (0.0, 3, 0, Reason::Scaled),
        // A negative signal is no load.
        (-5.0, 3, 0, Reason::Scaled),
    ];
    for (signal, current, desired, reason) in cases {
        let r = p.recommend(signal, current);
        assert_eq!(
            (r.replicas, r.reason),
            (desired, reason),
            "signal {signal} current {current}: {}",
            r.detail
        );
    }
}

#[test]
fn tolerance_per_direction() {
    // Kubernetes ≥ 1.33: behavior.scaleUp.tolerance and behavior.scaleDown.tolerance.
    let p = Ratio {
        target: 100.0,
        tolerance: Tolerances {
            up: 0.05,
            down: 0.2,
        },
    };
    assert_eq!(p.recommend(106.0, 10).replicas, 11);
    assert_eq!(p.recommend(105.0, 10).reason, Reason::WithinTolerance);
    assert_eq!(p.recommend(85.0, 10).reason, Reason::WithinTolerance);
    assert_eq!(p.recommend(79.0, 10).replicas, 8);
}

#[test]
fn configured_tolerances_reach_the_policy() {
    let mut run = Run::new(
        "
max_replicas: 50
policy: {ratio: {target: 100, tolerance: 0.2}}
behavior:
  scale_up: {tolerance: 0.05}
",
    );
    // Scale-up tolerance 0.05 from the behaviour, scale-down 0.2 from the policy.
    expect(&run.at(0.0, Some(106.0), Some(10)), 11, Reason::Scaled);
    expect(
        &run.at(1.0, Some(81.0), Some(10)),
        10,
        Reason::WithinTolerance,
    );
}

#[test]
fn min_and_max_bound_the_recommendation() {
    let mut run = Run::new(
        "
min_replicas: 2
max_replicas: 6
policy: {per_replica: {target: 10}}
behavior:
  scale_down: {stabilization_window: 0s}
",
    );
    // 100 / 10 = 10, above max_replicas.
    expect(&run.at(0.0, Some(100.0), Some(4)), 6, Reason::Clamped);
    // 5 / 10 → 1, below min_replicas.
    expect(&run.at(1.0, Some(5.0), Some(6)), 2, Reason::Clamped);
    assert_eq!(run.at(2.0, Some(5.0), Some(2)).recommendation, Some(1));
}
