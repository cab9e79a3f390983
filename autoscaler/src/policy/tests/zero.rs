//! Scale to zero and back (KEDA docs: ScaledObject specification — cooldownPeriod,
//! initialCooldownPeriod, minReplicaCount; "Scaling Deployments" — activating and scaling
//! thresholds; KEDA's scale executor).

use super::super::Reason;
use super::{Run, expect};

fn queue(scale_to_zero: &str) -> Run {
    Run::new(&format!(
        "
min_replicas: 0
max_replicas: 20
policy: {{per_replica: {{target: 10}}}}
behavior:
  scale_down: {{stabilization_window: 0s}}
{scale_to_zero}
"
    ))
}

#[test]
fn activation_from_zero() {
    // Inactive at zero stays at zero.
    let mut run = queue("");
    let d = run.at(0.0, Some(0.0), Some(0));
    expect(&d, 0, Reason::Idle);
    assert_eq!(d.active, Some(false));
    // Any signal above the default activation threshold of 0 activates at once, here to the
    // policy's count for the signal: ceil(25 / 10) = 3.
    let d = run.at(1.0, Some(25.0), Some(0));
    expect(&d, 3, Reason::Activation);
    assert_eq!(d.active, Some(true));
    assert_eq!(run.state.last_active_ms(), Some(1000));

    // `activation_replicas: one` is KEDA's 0 → 1; the policy takes over afterwards.
    let mut run = queue("scale_to_zero: {activation_replicas: one}");
    expect(&run.at(0.0, Some(25.0), Some(0)), 1, Reason::Activation);
    expect(&run.at(1.0, Some(25.0), Some(1)), 3, Reason::Scaled);
}

#[test]
fn activation_threshold_is_strict() {
    // The docs: activation only occurs when the value is greater than the threshold, not
    // greater or equal.
    let mut run = queue("scale_to_zero: {activation_threshold: 5}");
    expect(&run.at(0.0, Some(5.0), Some(0)), 0, Reason::Idle);
    expect(&run.at(1.0, Some(5.01), Some(0)), 1, Reason::Activation);
}

#[test]
fn activation_takes_precedence_over_the_scaling_value() {
    // The docs' example: a threshold of 10 per replica and an activation threshold of 50; with
    // 40 messages the scaler is inactive and the workload goes to zero although the
    // scaling computation wants 4 replicas. (Never active since start: no cooldown to wait.)
    let mut run = queue("scale_to_zero: {activation_threshold: 50}");
    let d = run.at(0.0, Some(40.0), Some(4));
    expect(&d, 0, Reason::ScaleToZero);
    assert_eq!(d.recommendation, Some(4));
}

#[test]
fn cooldown_before_zero() {
    // cooldownPeriod (default 300s): the time since the trigger was last active before going
    // back to zero; KEDA scales down once lastActiveTime + cooldown is before now.
    let mut run = queue("");
    expect(
        &run.at(0.0, Some(20.0), Some(2)),
        2,
        Reason::WithinTolerance,
    );
    // Inactive: the policy keeps running with a floor of one replica.
    let d = run.at(60.0, Some(0.0), Some(2));
    expect(&d, 1, Reason::Clamped);
    assert!(
        d.detail.contains("scale to zero in 240.001s"),
        "{}",
        d.detail
    );
    let d = run.at(120.0, Some(0.0), Some(1));
    expect(&d, 1, Reason::Cooldown);
    expect(&run.at(300.0, Some(0.0), Some(1)), 1, Reason::Cooldown);
    expect(&run.at(300.001, Some(0.0), Some(1)), 0, Reason::ScaleToZero);
    expect(&run.at(301.0, Some(0.0), Some(0)), 0, Reason::Idle);
}

#[test]
fn activity_during_cooldown_restarts_it() {
    let mut run = queue("scale_to_zero: {cooldown: 60s}");
    run.at(0.0, Some(20.0), Some(2));
    run.at(30.0, Some(0.0), Some(2));
    run.at(50.0, Some(3.0), Some(1));
    expect(&run.at(100.0, Some(0.0), Some(1)), 1, Reason::Cooldown);
    expect(&run.at(110.001, Some(0.0), Some(1)), 0, Reason::ScaleToZero);
}

#[test]
fn never_active_goes_to_zero_at_once() {
    // KEDA: without a last active time the cooldown is ignored.
    let mut run = queue("");
    expect(&run.at(0.0, Some(0.0), Some(3)), 0, Reason::ScaleToZero);
}

#[test]
fn initial_cooldown_delays_the_first_scale_to_zero() {
    // initialCooldownPeriod: no scale to zero until it has passed since the start.
    let mut run = queue("scale_to_zero: {initial_cooldown: 120s}");
    expect(&run.at(0.0, Some(0.0), Some(3)), 1, Reason::Clamped);
    expect(&run.at(119.0, Some(0.0), Some(1)), 1, Reason::Cooldown);
    expect(&run.at(120.0, Some(0.0), Some(1)), 0, Reason::ScaleToZero);
}

#[test]
fn activation_bypasses_the_behaviour_and_respects_max() {
    // KEDA's executor scales from zero itself, outside the HPA's rate policies.
    let mut run = queue("");
    expect(&run.at(0.0, Some(150.0), Some(0)), 15, Reason::Activation);
    let mut run = queue("");
    expect(&run.at(0.0, Some(1000.0), Some(0)), 20, Reason::Activation);
}

#[test]
fn missing_data_at_zero_stays_at_zero() {
    let mut run = queue("");
    let d = run.at(0.0, None, Some(0));
    expect(&d, 0, Reason::MissingData);
    assert_eq!(d.active, None);
}

#[test]
fn docs_example_queue_timeline() {
    // docs/autoscaling.md: default settings, active from 12:00:00 to 12:03:00, zero at
    // 12:08:00 plus a millisecond. Times in seconds after 12:00:00.
    let mut run =
        Run::new("min_replicas: 0\nmax_replicas: 20\npolicy: {per_replica: {target: 10}}");
    expect(&run.at(0.0, Some(1.0), Some(0)), 1, Reason::Activation);
    let mut current = 1;
    let mut t = 15.0;
    while t <= 180.0 {
        current = run.at(t, Some(35.0), Some(current)).desired;
        t += 15.0;
    }
    assert_eq!(current, 4);
    while t <= 480.0 {
        let d = run.at(t, Some(0.0), Some(current));
        assert!(d.desired >= 1, "at {t}: {}", d.detail);
        current = d.desired;
        t += 15.0;
    }
    expect(
        &run.at(480.001, Some(0.0), Some(current)),
        0,
        Reason::ScaleToZero,
    );
}
