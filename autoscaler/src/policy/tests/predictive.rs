//! Predictive sizing: the trend as Prometheus's `predict_linear` fits it, and the queueing
//! formula documented in `predictive.rs`.

use std::collections::VecDeque;

use super::super::predictive::{histogram_variance, predict_linear};
use super::super::{Input, Reason, ServiceStats};
use super::{Run, expect};

fn predictive(extra: &str) -> Run {
    Run::new(&format!(
        "
max_replicas: 1000
policy:
  predictive:
    per_replica_concurrency: 5
    cold_start: 30s
    trend_window: 60s
    {extra}
behavior:
  scale_up: {{policies: [{{type: Pods, value: 1000, period: 1s}}]}}
"
    ))
}

fn eval(run: &mut Run, now_s: u64, rate: f64, mean: f64, cv: Option<f64>) -> super::Decision {
    run.eval(Input {
        now_ms: now_s * 1000,
        signal: Some(rate),
        current: None,
        service: Some(ServiceStats {
            mean_seconds: mean,
            cv,
        }),
    })
}

#[test]
fn predict_linear_reads_the_line_ahead() {
    // y = 10 + 2t over the last 10 seconds, read 30 seconds ahead: 10 + 60.
    let samples: VecDeque<(u64, f64)> = (0..=10)
        .map(|i| (100_000 + i * 1000, 10.0 + 2.0 * (i as f64 - 10.0)))
        .collect();
    let p = predict_linear(&samples, 110_000, 30_000).unwrap();
    assert!((p - 70.0).abs() < 1e-9, "{p}");
    // One sample, or all at one time: no line.
    assert_eq!(
        predict_linear(&samples.range(..1).copied().collect(), 100_000, 1000),
        None
    );
    let same: VecDeque<_> = [(5, 1.0), (5, 2.0)].into_iter().collect();
    assert_eq!(predict_linear(&same, 5, 1000), None);
    // A falling line is not read below zero.
    let falling: VecDeque<_> = [(0, 10.0), (1000, 0.0)].into_iter().collect();
    assert_eq!(predict_linear(&falling, 1000, 60_000), Some(0.0));
}

#[test]
fn queueing_headroom_from_the_service_time_variability() {
    // 100 req/s × 0.2 s = 20 in service; 5 per replica; u = 0.8.
    // (cv, replicas): h = (1 + cv²)/2 × 0.25.
    let cases = [
        // Exponential service times: h = 0.25 → 25 / 5 = 5.
        (Some(1.0), 5),
        // Unknown variability is taken as exponential.
        (None, 5),
        // Deterministic: h = 0.125 → 22.5 / 5 → 5.
        (Some(0.0), 5),
        // cv 2: h = 0.625 → 32.5 / 5 → 7.
        (Some(2.0), 7),
        // cv 10: h = 12.625, capped at max_headroom 1 → 40 / 5 = 8.
        (Some(10.0), 8),
    ];
    for (cv, replicas) in cases {
        let mut run = predictive("");
        let d = eval(&mut run, 0, 100.0, 0.2, cv);
        assert_eq!(d.desired, replicas, "cv {cv:?}: {}", d.detail);
    }
    // A fixed headroom replaces the formula: h = 0 → 20 / 5 = 4.
    let mut run = predictive("headroom: 0");
    assert_eq!(eval(&mut run, 0, 100.0, 0.2, Some(2.0)).desired, 4);
}

#[test]
fn sizes_for_the_rising_trend_one_cold_start_ahead() {
    let mut run = predictive("headroom: 0");
    // The rate rises by 1 req/s every second; service time 1 s, 5 per replica.
    let mut d = None;
    for t in 0..=20 {
        d = Some(eval(&mut run, t, 10.0 + t as f64, 1.0, None));
    }
    // Now 30 req/s, in 30 s 60 req/s: 60 × 1 / 5 = 12 replicas instead of 6.
    let d = d.unwrap();
    assert_eq!(
        (d.desired, d.recommendation),
        (12, Some(12)),
        "{}",
        d.detail
    );
}

#[test]
fn a_falling_trend_does_not_remove_capacity_early() {
    let mut run = predictive("headroom: 0");
    let mut d = None;
    for t in 0..=20 {
        d = Some(eval(&mut run, t, 60.0 - t as f64, 1.0, None));
    }
    // Sized for the current 40 req/s, not the predicted 10.
    assert_eq!(d.unwrap().recommendation, Some(8));
}

#[test]
fn without_a_service_time_there_is_no_data() {
    let mut run = predictive("");
    let d = run.at(0.0, Some(100.0), Some(3));
    expect(&d, 3, Reason::MissingData);
    // A configured service time is used when the evaluation brings none.
    let mut run = predictive("service_time: 200ms\n    headroom: 0");
    expect(&run.at(0.0, Some(100.0), Some(3)), 4, Reason::Scaled);
}

#[test]
fn histogram_variance_places_each_bucket_where_the_mean_says() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    // Half in (0.1, 0.2], half in (0.2, 0.3], mean 0.2: halfway through each, 0.15 and 0.25.
    let v = histogram_variance(
        0.2,
        &[(0.1, 0.0), (0.2, 2.0), (0.3, 4.0), (f64::INFINITY, 4.0)],
    )
    .unwrap();
    assert!(close(v, 0.0025), "{v}");
    // All within one bucket: seen as constant.
    let v = histogram_variance(0.07, &[(0.05, 0.0), (0.1, 9.0), (f64::INFINITY, 9.0)]);
    assert!(close(v.unwrap(), 0.0));
    // The first bucket starts at 0; the +Inf bucket sits at the last bound; order does not
    // matter; a count below the one before it is taken as equal. 1 in (0, 1], 1 in (2, 3] and
    // 2 at 3 cannot average 1.5 (t would be −1): t is clamped to 0, points 0, 2, 3 and 3,
    // deviations taken from the known mean.
    let v = histogram_variance(
        1.5,
        &[(f64::INFINITY, 4.0), (1.0, 1.0), (2.0, 0.5), (3.0, 2.0)],
    )
    .unwrap();
    let expected = (1.5f64.powi(2) + 0.5f64.powi(2) + 2.0 * 1.5f64.powi(2)) / 4.0;
    assert!(close(v, expected), "{v} {expected}");
    // No +Inf bucket, no finite bound, no observations: nothing.
    assert_eq!(histogram_variance(1.0, &[(1.0, 3.0)]), None);
    assert_eq!(histogram_variance(1.0, &[(f64::INFINITY, 3.0)]), None);
    assert_eq!(
        histogram_variance(1.0, &[(1.0, 0.0), (f64::INFINITY, 0.0)]),
        None
    );
    assert_eq!(histogram_variance(1.0, &[]), None);
}

#[test]
fn service_stats_from_a_histogram() {
    let buckets = [(0.1, 0.0), (0.2, 2.0), (0.3, 4.0), (f64::INFINITY, 4.0)];
    let s = ServiceStats::from_histogram(0.2, &buckets).unwrap();
    assert_eq!(s.mean_seconds, 0.2);
    assert!((s.cv.unwrap() - 0.25).abs() < 1e-9, "{s:?}");
    // Exponential service times (mean 0.1) over the client libraries' default buckets: the
    // estimate is close to the true cv of 1.
    let bounds = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let mut buckets: Vec<(f64, f64)> = bounds
        .iter()
        .map(|&b| (b, 1000.0 * (1.0 - (-b / 0.1f64).exp())))
        .collect();
    buckets.push((f64::INFINITY, 1000.0));
    let cv = ServiceStats::from_histogram(0.1, &buckets)
        .unwrap()
        .cv
        .unwrap();
    assert!((cv - 1.0).abs() < 0.1, "{cv}");
    // A mean that is not a positive number (0 / 0 with no request) brings nothing; without
    // usable buckets the variability stays unknown.
    assert_eq!(ServiceStats::from_histogram(f64::NAN, &buckets), None);
    assert_eq!(ServiceStats::from_histogram(0.0, &buckets), None);
    assert_eq!(
        ServiceStats::from_histogram(0.2, &[]),
        Some(ServiceStats {
            mean_seconds: 0.2,
            cv: None
        })
    );
}

#[test]
fn the_last_observed_service_time_holds_through_a_window_without_requests() {
    let mut run = predictive("headroom: 0\n    service_time: 1s");
    // Observed 0.2 s: 100 × 0.2 / 5 = 4.
    assert_eq!(eval(&mut run, 0, 100.0, 0.2, None).desired, 4);
    // No observation now: the last one (0.2 s) rather than the configured 1 s.
    let d = run.eval(Input {
        now_ms: 1000,
        signal: Some(100.0),
        current: Some(4),
        service: None,
    });
    assert_eq!(d.desired, 4, "{}", d.detail);
}

#[test]
fn histogram_variance_adds_buckets_of_one_bound_and_ignores_minus_infinity() {
    // `le="0.2"` and `le="0.20"` are one bucket: 1 + 1 of 2 below 0.2, so all in (0.1, 0.2].
    let v = histogram_variance(
        0.15,
        &[
            (0.1, 0.0),
            (0.2, 1.0),
            (0.2, 1.0),
            (f64::NEG_INFINITY, 0.0),
            (f64::INFINITY, 2.0),
        ],
    );
    assert_eq!(v, Some(0.0));
}
