//! Reading and validating configurations: defaults, and errors that name the field.

use super::*;
use crate::policy::{Behavior, Policy, RatePolicy, Rules, Scaler};

fn parse(yaml: &str) -> Result<Scaler, String> {
    let config: ScalerConfig = yaml_serde::from_str(yaml).map_err(|e| e.to_string())?;
    config.validate().map_err(|e| e.to_string())
}

#[test]
fn defaults_of_an_hpa_like_policy() {
    let s = parse("max_replicas: 10\npolicy: {per_replica: {target: 100}}").unwrap();
    assert_eq!(s.min_replicas, 1);
    assert_eq!(s.max_replicas, 10);
    assert_eq!(s.behavior, Behavior::hpa());
    assert_eq!(s.scale_to_zero, None);
    assert_eq!(s.fallback, None);
    let Policy::PerReplica(p) = &s.policy else {
        panic!("{:?}", s.policy)
    };
    assert_eq!((p.tolerance.up, p.tolerance.down), (0.1, 0.1));
    // The HPA's documented default behaviour.
    assert_eq!(s.behavior.scale_up.stabilization_window_ms, 0);
    assert_eq!(s.behavior.scale_down.stabilization_window_ms, 300_000);
    assert_eq!(s.behavior.scale_up.policies.len(), 2);
}

#[test]
fn defaults_of_the_concurrency_policy() {
    let s = parse("max_replicas: 10\npolicy: {concurrency: {target: 10}}").unwrap();
    assert_eq!(s.behavior, Behavior::none());
    let Policy::Concurrency(p) = &s.policy else {
        panic!("{:?}", s.policy)
    };
    // Knative's defaults: 70% of the target, 60s stable window, 6s panic window, 200%.
    assert!((p.target - 7.0).abs() < 1e-12);
    assert_eq!(p.stable_window_ms, 60_000);
    assert_eq!(p.panic_window_ms, 6_000);
    assert_eq!(p.panic_threshold, 2.0);
    assert_eq!(p.max_scale_up_rate, 1000.0);
    assert_eq!(p.max_scale_down_rate, 2.0);
}

#[test]
fn defaults_of_step_scale_to_zero_and_fallback() {
    let s = parse(
        "
min_replicas: 0
max_replicas: 10
policy:
  step:
    threshold: 1
    adjustment_type: ChangeInCapacity
    steps: [{lower: 0, adjustment: 1}]
fallback: {failure_threshold: 3, replicas: 6}
",
    )
    .unwrap();
    let Policy::Step(p) = &s.policy else {
        panic!("{:?}", s.policy)
    };
    assert_eq!(p.cooldown_ms, 300_000);
    let z = s.scale_to_zero.as_ref().unwrap();
    assert_eq!(z.activation_threshold, 0.0);
    assert_eq!(z.cooldown_ms, 300_000);
    assert_eq!(z.initial_cooldown_ms, 0);
    assert_eq!(z.activation_replicas, ActivationReplicas::Computed);
    assert_eq!(
        s.fallback.as_ref().unwrap().behavior,
        FallbackBehavior::Static
    );
}

#[test]
fn partial_behaviour_keeps_the_policy_defaults() {
    // As the HPA fills a partly given behaviour: only the stabilization window changes.
    let s = parse(
        "
max_replicas: 10
policy: {ratio: {target: 1}}
behavior:
  scale_down: {stabilization_window: 1m}
",
    )
    .unwrap();
    assert_eq!(s.behavior.scale_up, Rules::hpa_scale_up());
    assert_eq!(s.behavior.scale_down.stabilization_window_ms, 60_000);
    assert_eq!(
        s.behavior.scale_down.policies,
        Rules::hpa_scale_down().policies
    );
    // For the concurrency policy the defaults are no limits.
    let s = parse(
        "
max_replicas: 10
policy: {concurrency: {target: 1}}
behavior:
  scale_down:
    policies: [{type: Pods, value: 2, period: 30s}]
",
    )
    .unwrap();
    assert_eq!(s.behavior.scale_up, Rules::none());
    assert_eq!(
        s.behavior.scale_down.policies,
        [RatePolicy {
            kind: RatePolicyType::Pods,
            value: 2,
            period_ms: 30_000
        }]
    );
    assert_eq!(s.behavior.scale_down.stabilization_window_ms, 0);
}

#[test]
fn every_policy_parses_from_yaml() {
    for yaml in [
        "max_replicas: 5\npolicy: {ratio: {target: 80, tolerance: 0.05}}",
        "max_replicas: 5\npolicy: {concurrency: {target: 100, target_utilization: 0.9, stable_window: 2m, panic_window_percentage: 5, panic_threshold_percentage: 300, max_scale_up_rate: 10, max_scale_down_rate: 4}}",
        "max_replicas: 5\npolicy: {predictive: {per_replica_concurrency: 8, cold_start: 45s, trend_window: 5m, service_time: 120ms, target_utilization: 0.75, max_headroom: 2}}",
        "max_replicas: 5\npolicy: {step: {threshold: 10, adjustment_type: ExactCapacity, steps: [{upper: 0, adjustment: 1}, {lower: 0, adjustment: 5}]}}",
        "max_replicas: 5\nmin_replicas: 0\npolicy: {per_replica: {target: 1}}\nscale_to_zero: {activation_threshold: 2.5, cooldown: 90s, initial_cooldown: 2m, activation_replicas: one}",
        "max_replicas: 5\npolicy: {per_replica: {target: 1}}\nfallback: {failure_threshold: 0, replicas: 2, behavior: currentReplicasIfHigher}",
        "max_replicas: 5\npolicy: {per_replica: {target: 1}}\nbehavior: {scale_up: {select_policy: Disabled, policies: []}}",
    ] {
        parse(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
    }
}

#[test]
fn errors_name_the_field() {
    // (configuration, expected error text)
    let cases = [
        (
            "max_replicas: 0\npolicy: {ratio: {target: 1}}",
            "max_replicas: must be at least 1",
        ),
        (
            "min_replicas: 5\nmax_replicas: 4\npolicy: {ratio: {target: 1}}",
            "min_replicas: 5 exceeds max_replicas 4",
        ),
        (
            "max_replicas: 4\npolicy: {ratio: {target: 0}}",
            "policy.ratio.target: must be a positive number, got 0",
        ),
        (
            "max_replicas: 4\npolicy: {per_replica: {target: 1, tolerance: -0.1}}",
            "policy.per_replica.tolerance: must be a number ≥ 0, got -0.1",
        ),
        (
            "max_replicas: 4\npolicy: {per_replica: {target: 1}}\nbehavior: {scale_down: {tolerance: -1}}",
            "behavior.scale_down.tolerance: must be a number ≥ 0, got -1",
        ),
        (
            "max_replicas: 4\npolicy: {concurrency: {target: 1}}\nbehavior: {scale_up: {tolerance: 0.1}}",
            "behavior.scale_up.tolerance: only the per_replica and ratio policies have a tolerance",
        ),
        (
            "max_replicas: 4\npolicy: {concurrency: {target: 1, stable_window: 5s}}",
            "policy.concurrency.stable_window: must be between 6s and 1h, got 5s",
        ),
        (
            "max_replicas: 4\npolicy: {concurrency: {target: 1, panic_threshold_percentage: 100}}",
            "policy.concurrency.panic_threshold_percentage: must be between 110 and 1000, got 100",
        ),
        (
            "max_replicas: 4\npolicy: {concurrency: {target: 1, max_scale_down_rate: 1}}",
            "policy.concurrency.max_scale_down_rate: must be greater than 1, got 1",
        ),
        (
            "max_replicas: 4\npolicy: {concurrency: {target: 1, target_utilization: 70}}",
            "policy.concurrency.target_utilization: must be in (0, 1], got 70",
        ),
        (
            "max_replicas: 4\nbehavior: {scale_up: {policies: [{type: Pods, value: 0, period: 15s}]}}\npolicy: {ratio: {target: 1}}",
            "behavior.scale_up.policies[0].value: must be greater than 0",
        ),
        (
            "max_replicas: 4\nbehavior: {scale_down: {policies: [{type: Pods, value: 1, period: 15s}, {type: Percent, value: 1, period: 31m}]}}\npolicy: {ratio: {target: 1}}",
            "behavior.scale_down.policies[1].period: must be more than 0s and at most 30m, got 31m",
        ),
        (
            "max_replicas: 4\nbehavior: {scale_down: {stabilization_window: 2h}}\npolicy: {ratio: {target: 1}}",
            "behavior.scale_down.stabilization_window: 2h is longer than 1h",
        ),
        (
            "max_replicas: 4\nbehavior: {scale_up: {policies: []}}\npolicy: {ratio: {target: 1}}",
            "behavior.scale_up.policies: must list at least one policy (or set select_policy: Disabled)",
        ),
        (
            "max_replicas: 4\npolicy: {}",
            "policy: must name exactly one of per_replica, ratio, concurrency, step, predictive",
        ),
        (
            "max_replicas: 4\npolicy: {ratio: {target: 1}, per_replica: {target: 1}}",
            "policy: must name exactly one of per_replica, ratio, concurrency, step, predictive",
        ),
        (
            "max_replicas: 4\npolicy: {ratio: {target: 1}}\nscale_to_zero: {cooldown: 1m}",
            "scale_to_zero: needs min_replicas: 0 (min_replicas is 1)",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ChangeInCapacity, steps: []}}",
            "policy.step.steps: must list at least one step",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ChangeInCapacity, steps: [{adjustment: 1}]}}",
            "policy.step.steps[0]: lower and upper cannot both be left out",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ChangeInCapacity, steps: [{lower: 5, upper: 1, adjustment: 1}]}}",
            "policy.step.steps[0]: lower 5 must be below upper 1",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ChangeInCapacity, steps: [{lower: 0, upper: 10, adjustment: 1}, {lower: 20, adjustment: 2}]}}",
            "policy.step.steps: ranges must not overlap or leave a gap: [0, 10) then [20, ∞)",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ChangeInCapacity, steps: [{upper: 10, adjustment: 1}, {lower: 5, adjustment: 2}]}}",
            "policy.step.steps: ranges must not overlap or leave a gap: [-∞, 10) then [5, ∞)",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ChangeInCapacity, steps: [{lower: -5, adjustment: 1}]}}",
            "policy.step.steps: a negative lower bound needs a step without lower bound",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ChangeInCapacity, steps: [{upper: 5, adjustment: 1}]}}",
            "policy.step.steps: a positive upper bound needs a step without upper bound",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ExactCapacity, steps: [{lower: 0, adjustment: -1}]}}",
            "policy.step.steps[0].adjustment: must be ≥ 0 with ExactCapacity",
        ),
        (
            "max_replicas: 4\npolicy: {step: {threshold: 1, adjustment_type: ChangeInCapacity, min_adjustment_magnitude: 2, steps: [{lower: 0, adjustment: 1}]}}",
            "policy.step.min_adjustment_magnitude: only with adjustment_type: PercentChangeInCapacity",
        ),
        (
            "max_replicas: 4\npolicy: {predictive: {per_replica_concurrency: 1, cold_start: 10s, target_utilization: 1}}",
            "policy.predictive.target_utilization: must be in (0, 1), got 1",
        ),
        (
            "max_replicas: 4\npolicy: {predictive: {per_replica_concurrency: 1, cold_start: 10s, service_time: 0s}}",
            "policy.predictive.service_time: must be more than 0s",
        ),
        (
            "max_replicas: 4\npolicy: {predictive: {per_replica_concurrency: 1, cold_start: 10s, service_time_histogram: {selector: 'x{a=\"b\"} offset 1m'}}}",
            "policy.predictive.service_time_histogram.selector: must be a metric name with optional {matchers}, got \"x{a=\\\"b\\\"} offset 1m\"",
        ),
        (
            "max_replicas: 4\npolicy: {predictive: {per_replica_concurrency: 1, cold_start: 10s, service_time_histogram: {selector: '{job=\"a\"}'}}}",
            "policy.predictive.service_time_histogram.selector: must start with a histogram's metric name, got \"{job=\\\"a\\\"}\"",
        ),
        (
            "max_replicas: 4\npolicy: {predictive: {per_replica_concurrency: 1, cold_start: 10s, service_time_histogram: {selector: x, window: 0s}}}",
            "policy.predictive.service_time_histogram.window: must be more than 0s",
        ),
        (
            "max_replicas: 4\npolicy: {predictive: {per_replica_concurrency: 1, cold_start: 10s, service_time_histogram: {selector: x_bucket}}}",
            "policy.predictive.service_time_histogram.selector: names the histogram without _bucket, got \"x_bucket\"",
        ),
    ];
    for (yaml, expected) in cases {
        assert_eq!(parse(yaml).unwrap_err(), expected, "{yaml}");
    }
}

#[test]
fn serde_refuses_unknown_fields_and_bad_values() {
    // (configuration, text the error contains)
    let cases = [
        (
            "max_replicas: 4\npolicy: {ratio: {target: 1, tolerence: 0.1}}",
            "unknown field `tolerence`",
        ),
        (
            "max_replicas: 4\npolicy: {ratio: {target: 1}}\nbehaviour: {}",
            "unknown field `behaviour`",
        ),
        (
            "max_replicas: 4\npolicy: {linear: {target: 1}}",
            "unknown field `linear`",
        ),
        (
            "max_replicas: 4\npolicy: {concurrency: {target: 1, stable_window: 1minute}}",
            "invalid duration \"1minute\"",
        ),
        (
            "max_replicas: 4\npolicy: {ratio: {target: 1}}\nbehavior: {scale_up: {select_policy: max}}",
            "unknown variant `max`",
        ),
        (
            "max_replicas: 4\npolicy: {ratio: {target: 1}}\nbehavior: {scale_up: {policies: [{type: Pods, value: 1, periodSeconds: 15}]}}",
            "unknown field `periodSeconds`",
        ),
        (
            "max_replicas: 4\npolicy: {ratio: {target: 1}}\nfallback: {failure_threshold: 1, replicas: 2, behavior: current}",
            "unknown variant `current`",
        ),
        (
            "policy: {ratio: {target: 1}}",
            "missing field `max_replicas`",
        ),
    ];
    for (yaml, expected) in cases {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(expected), "{yaml}: {err}");
    }
}

#[test]
fn durations_are_prometheus_durations() {
    let d: DurationMs = yaml_serde::from_str("1h30m").unwrap();
    assert_eq!(d, DurationMs(5_400_000));
    let d: DurationMs = yaml_serde::from_str("250ms").unwrap();
    assert_eq!(d.0, 250);
    assert_eq!(format!("{:?}", DurationMs(90_000)), "1m30s");
}

#[test]
fn a_service_time_selector_is_one_plain_selector() {
    let with = |sel: &str| {
        parse(&format!(
            "max_replicas: 4\npolicy: {{predictive: {{per_replica_concurrency: 1, cold_start: 10s, service_time_histogram: {{selector: '{sel}'}}}}}}"
        ))
    };
    // Braces inside a label value are the value's.
    let s = with(r#"svc{a="}", b="{"}"#).unwrap();
    assert_eq!(
        s.service_queries().unwrap().buckets,
        r#"sum by (le) (rate(svc_bucket{a="}", b="{"}[1m]))"#
    );
    // Text that would splice another expression into the queries is refused.
    let e = with(r#"x{a="b"}[1m])) or vector(1) or sum(rate(x{a="b"}"#).unwrap_err();
    assert!(
        e.starts_with("policy.predictive.service_time_histogram.selector: must be a metric name"),
        "{e}"
    );
}
