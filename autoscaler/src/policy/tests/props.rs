//! Property tests: bounds, stabilization, rate limits and panic hold for any signal sequence.

use proptest::prelude::*;

use super::super::{Input, Reason, Scaler, State};
use super::scaler;

/// One evaluation of a generated run: time step, signal (or missing), whether the target
/// reports its count.
#[derive(Debug, Clone)]
struct Step {
    dt_ms: u64,
    signal: Option<f64>,
    report_current: bool,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = (
        1u64..40_000,
        prop_oneof![
            8 => (0.0f64..500.0).prop_map(Some),
            1 => Just(None),
            1 => Just(Some(0.0)),
        ],
        any::<bool>(),
    )
        .prop_map(|(dt_ms, signal, report_current)| Step {
            dt_ms,
            signal,
            report_current,
        });
    proptest::collection::vec(step, 1..120)
}

const CONFIGS: &[&str] = &[
    "min_replicas: 2\nmax_replicas: 30\npolicy: {per_replica: {target: 10}}",
    "min_replicas: 0\nmax_replicas: 30\npolicy: {ratio: {target: 50}}\nscale_to_zero: {cooldown: 30s}\nfallback: {failure_threshold: 2, replicas: 40}",
    "min_replicas: 1\nmax_replicas: 200\npolicy: {concurrency: {target: 10}}",
    "min_replicas: 0\nmax_replicas: 50\npolicy: {concurrency: {target: 5, stable_window: 10s}}",
    "min_replicas: 3\nmax_replicas: 12\npolicy:\n  step:\n    threshold: 100\n    adjustment_type: PercentChangeInCapacity\n    min_adjustment_magnitude: 2\n    cooldown: 20s\n    steps:\n    - {upper: 0, adjustment: -30}\n    - {lower: 0, upper: 100, adjustment: 50}\n    - {lower: 100, adjustment: 200}",
    "min_replicas: 1\nmax_replicas: 100\npolicy: {predictive: {per_replica_concurrency: 2, cold_start: 20s, service_time: 100ms}}",
];

/// Runs `steps` with the target applying every decision (or not reporting its count).
fn run(scaler: &Scaler, steps: &[Step], mut check: impl FnMut(u64, u32, &super::Decision)) {
    let mut state = State::default();
    let mut now = 0;
    let mut current = scaler.min_replicas();
    for s in steps {
        now += s.dt_ms;
        let input = Input {
            now_ms: now,
            signal: s.signal,
            current: s.report_current.then_some(current),
            service: None,
        };
        let (d, next) = scaler.decide(&input, state);
        state = next;
        check(now, current, &d);
        current = d.desired;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn desired_is_always_within_min_and_max(config in 0..CONFIGS.len(), steps in steps()) {
        let scaler = scaler(CONFIGS[config]);
        run(&scaler, &steps, |_, _, d| {
            assert!(
                d.desired >= scaler.min_replicas() && d.desired <= scaler.max_replicas(),
                "{} outside [{}, {}]: {}",
                d.desired, scaler.min_replicas(), scaler.max_replicas(), d.detail
            );
        });
    }

    #[test]
    fn missing_data_never_scales_down(config in 0..CONFIGS.len(), steps in steps()) {
        let scaler = scaler(CONFIGS[config]);
        run(&scaler, &steps, |_, current, d| {
            if d.reason == Reason::MissingData {
                assert!(d.desired >= current, "{}", d.detail);
            }
        });
    }

    /// After a scale-up to n at t, no decision before t + the scale-down window goes below n;
    /// after a scale-down to n at t, none before t + the scale-up window goes above n.
    #[test]
    fn stabilization_never_flaps_faster_than_its_windows(
        up_s in 0u64..120,
        down_s in 0u64..400,
        steps in steps(),
    ) {
        let scaler = scaler(&format!(
            "max_replicas: 60\npolicy: {{per_replica: {{target: 10, tolerance: 0}}}}\n\
             behavior:\n  scale_up: {{stabilization_window: {up_s}s}}\n  \
             scale_down: {{stabilization_window: {down_s}s}}"
        ));
        let mut ups: Vec<(u64, u32)> = Vec::new();
        let mut downs: Vec<(u64, u32)> = Vec::new();
        run(&scaler, &steps, |now, current, d| {
            for &(t, n) in &ups {
                if now < t + down_s * 1000 {
                    assert!(d.desired >= n, "at {now}: {} below {n} set at {t}: {}", d.desired, d.detail);
                }
            }
            for &(t, n) in &downs {
                if now < t + up_s * 1000 {
                    assert!(d.desired <= n, "at {now}: {} above {n} set at {t}: {}", d.desired, d.detail);
                }
            }
            if d.desired > current {
                ups.push((now, d.desired));
            } else if d.desired < current {
                downs.push((now, d.desired));
            }
        });
    }

    /// With `Pods` policies, a scale-up never takes the count more than `value` above the count
    /// at the start of the period that ends with it, nor a scale-down more than `value` below.
    /// (As in the HPA, the bound holds when a change is made: a later evaluation whose period
    /// starts just after a scale-down can see a larger net change without making one.)
    #[test]
    fn rate_policies_are_never_exceeded(
        up in 1u32..10,
        down in 1u32..10,
        period_s in 1u64..120,
        steps in steps(),
    ) {
        let scaler = scaler(&format!(
            "max_replicas: 60\npolicy: {{per_replica: {{target: 10}}}}\n\
             behavior:\n  scale_up: {{policies: [{{type: Pods, value: {up}, period: {period_s}s}}]}}\n  \
             scale_down:\n    stabilization_window: 0s\n    \
             policies: [{{type: Pods, value: {down}, period: {period_s}s}}]"
        ));
        let mut changes: Vec<(u64, i64)> = Vec::new();
        run(&scaler, &steps, |now, current, d| {
            let change = i64::from(d.desired) - i64::from(current);
            changes.push((now, change));
            let net: i64 = changes
                .iter()
                .filter(|(t, _)| *t + period_s * 1000 > now)
                .map(|(_, c)| c)
                .sum();
            if change > 0 {
                assert!(net <= i64::from(up), "net {net} within {period_s}s at {now}: {}", d.detail);
            }
            if change < 0 {
                assert!(net >= -i64::from(down), "net {net} within {period_s}s at {now}: {}", d.detail);
            }
        });
    }

    /// The concurrency policy never scales down while it panics.
    #[test]
    fn no_scale_down_while_panicking(steps in steps()) {
        let scaler = scaler("max_replicas: 500\npolicy: {concurrency: {target: 10}}");
        let mut was_panicking = false;
        run(&scaler, &steps, |_, current, d| {
            if d.panic && was_panicking && d.reason == Reason::Panic {
                assert!(d.desired >= current, "{}", d.detail);
            }
            was_panicking = d.panic;
        });
    }
}
