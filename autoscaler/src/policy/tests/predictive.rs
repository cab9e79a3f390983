//! Predictive sizing: the trend as Prometheus's `predict_linear` fits it, and the queueing
//! formula documented in `predictive.rs`.

use std::collections::VecDeque;

use super::super::predictive::predict_linear;
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
