//! Predictive sizing: capacity for the load expected one cold start ahead.
//!
//! The signal is the arrival rate λ (requests per second). Two parts:
//!
//! **Trend.** The rates of the last `trend_window` are fitted by least squares, as
//! Prometheus's `predict_linear` fits a range, and the line is read `cold_start` after now:
//! a replica asked for now serves only then. The rate sized for is
//! λ̂ = max(λ now, predicted λ), so a rising trend adds capacity early while a falling one
//! never removes capacity before the load has actually fallen.
//!
//! **Queueing.** By Little's law the concurrency in service is λ̂ × S (S the mean service
//! time). Replicas serving `per_replica_concurrency` requests each:
//!
//! ```text
//! replicas = ceil(λ̂ × S × (1 + h) / per_replica_concurrency)
//! ```
//!
//! The headroom h keeps queueing delay bounded when requests arrive at random. Kingman's
//! approximation of the mean wait in a G/G/1 queue is
//! `Wq ≈ ρ/(1-ρ) × (Ca² + Cs²)/2 × S`; with Poisson arrivals (Ca = 1) the variability factor
//! is v = (1 + Cs²)/2, Cs the coefficient of variation of the service time. Holding the wait
//! at what utilisation u gives for exponential service times (v = 1) means
//! ρ/(1-ρ) × v = u/(1-u), so the capacity is the load × (1 + v(1-u)/u), that is
//!
//! ```text
//! h = (1 + Cs²)/2 × (1 - u)/u        (capped at max_headroom)
//! ```
//!
//! With u = 0.8: deterministic service (Cs = 0) gives h = 0.125, exponential (Cs = 1) 0.25,
//! Cs = 2 gives 0.625. A fixed `headroom` replaces the formula.
//!
//! **Observed service time.** With `service_time_histogram`, each evaluation brings S and Cs
//! from a classic histogram of service times over a window: S is the `_sum` rate over the
//! `_count` rate (exact), the variance is estimated from the `_bucket` rates (see
//! [`histogram_variance`]). A window without requests brings nothing, and the last observed S
//! and Cs are used; before any, `service_time`.
//!
//! Limits: Kingman's formula is a heavy-traffic approximation for one server; a pool of
//! replicas queues less than one server of the same total capacity, so for large pools h is
//! conservative. Arrivals are assumed Poisson (bursty arrivals need more), the trend linear
//! over the window, and service time independent of load. Without a service time (neither in
//! the evaluation nor `service_time`) the policy has no data.

use std::collections::VecDeque;

use super::{Reason, Recommendation, ServiceStats, ceil_count, num};

/// The validated `predictive` policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Predictive {
    pub per_replica_concurrency: f64,
    pub cold_start_ms: u64,
    pub trend_window_ms: u64,
    /// Mean service time in seconds, when the evaluation brings none.
    pub service_time_seconds: Option<f64>,
    /// Where the controller observes the service time.
    pub service_queries: Option<ServiceQueries>,
    pub target_utilization: f64,
    pub headroom: Option<f64>,
    pub max_headroom: f64,
}

/// The PromQL queries of a service-time histogram, built from `service_time_histogram`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceQueries {
    /// The mean service time in seconds: `sum(rate(_sum)) / sum(rate(_count))`.
    pub mean: String,
    /// The bucket rates: `sum by (le) (rate(_bucket))`.
    pub buckets: String,
}

impl ServiceQueries {
    /// One series of the bucket query's answer as `(le, rate)`, its bound read as
    /// `histogram_quantile` reads it; `None` without a readable `le`.
    pub fn bucket(labels: &model::Labels, rate: f64) -> Option<(f64, f64)> {
        Some((promql::parse_bucket_bound(labels.get("le"))?, rate))
    }
}

/// Recent arrival rates.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PredictiveState {
    samples: VecDeque<(u64, f64)>,
    /// The last service time an evaluation brought.
    service: Option<ServiceStats>,
}

impl Predictive {
    /// `None` when no service time is known.
    pub fn recommend(
        &self,
        state: &mut PredictiveState,
        now_ms: u64,
        rate: f64,
        service: Option<ServiceStats>,
    ) -> Option<Recommendation> {
        let rate = rate.max(0.0);
        state.samples.push_back((now_ms, rate));
        let cutoff = now_ms.checked_sub(self.trend_window_ms);
        while state
            .samples
            .front()
            .is_some_and(|&(t, _)| cutoff.is_some_and(|c| t <= c))
        {
            state.samples.pop_front();
        }
        let predicted = predict_linear(&state.samples, now_ms, self.cold_start_ms);
        let sized = predicted.map_or(rate, |p| rate.max(p));

        let observed = service.filter(|s| s.mean_seconds.is_finite() && s.mean_seconds > 0.0);
        let source = if observed.is_some() {
            state.service = observed;
            "observed"
        } else if state.service.is_some() {
            "last observed"
        } else {
            "configured"
        };
        let (mean, cv) = match state.service {
            Some(s) => (s.mean_seconds, s.cv.filter(|c| c.is_finite() && *c >= 0.0)),
            None => (self.service_time_seconds?, None),
        };
        let headroom = self.headroom.unwrap_or_else(|| {
            let cv = cv.unwrap_or(1.0);
            let v = (1.0 + cv * cv) / 2.0;
            let u = self.target_utilization;
            (v * (1.0 - u) / u).min(self.max_headroom)
        });
        let load = sized * mean;
        let replicas = ceil_count(load * (1.0 + headroom) / self.per_replica_concurrency);
        let trend = match predicted {
            Some(p) => format!(
                "rate {}, {} in {}s",
                num(rate),
                num(p),
                num(self.cold_start_ms as f64 / 1000.0)
            ),
            None => format!("rate {}", num(rate)),
        };
        Some(Recommendation {
            replicas,
            reason: Reason::Scaled,
            detail: format!(
                "{trend}: ceil({} × {}s × (1 + {}) / {}) = {replicas} (service time {source})",
                num(sized),
                num(mean),
                num(headroom),
                num(self.per_replica_concurrency)
            ),
        })
    }
}

/// The least-squares line through `samples` read `ahead_ms` after `now_ms`, as
/// `predict_linear` computes it with the evaluation time as the origin. `None` with fewer than
/// two distinct times.
pub(crate) fn predict_linear(
    samples: &VecDeque<(u64, f64)>,
    now_ms: u64,
    ahead_ms: u64,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let n = samples.len() as f64;
    let x = |t: u64| (t as f64 - now_ms as f64) / 1000.0;
    let (mut sx, mut sy) = (0.0, 0.0);
    for &(t, v) in samples {
        sx += x(t);
        sy += v;
    }
    let (mx, my) = (sx / n, sy / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(t, v) in samples {
        let dx = x(t) - mx;
        sxy += dx * (v - my);
        sxx += dx * dx;
    }
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    Some((intercept + slope * ahead_ms as f64 / 1000.0).max(0.0))
}

/// The variance of the observations in a classic histogram whose mean is known exactly (its
/// `_sum` over its `_count`), from its cumulative buckets `(le, count)` in any order (counts
/// may be rates). Each bucket's observations are placed at one point, the same fraction `t` of
/// the way through every bucket `(a, b]` (the first starting at 0), with `t` in [0, 1] chosen
/// so the points have the known mean; the `+Inf` bucket's sit at the last finite bound. A
/// count below the one before it is taken as equal, and buckets with the same bound add up, as
/// in `histogram_quantile`; a `-Inf` or NaN bound is ignored. `None` without a `+Inf` bucket, a
/// finite bound or any observation.
///
/// Placing each bucket's mass where the mean says it lies tracks the spread across buckets
/// closely (exponential service times with a mean of 0.02–0.1 s over the client libraries'
/// default buckets: cv 1.03–1.08 for a true 1.00); what happens inside one bucket is not seen, so observations all within one
/// bucket look constant and a narrow spread across a bound looks as wide as the buckets.
pub(crate) fn histogram_variance(mean: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let mut b: Vec<(f64, f64)> = buckets
        .iter()
        .copied()
        .filter(|(le, c)| !le.is_nan() && *le > f64::NEG_INFINITY && c.is_finite())
        .collect();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Buckets with the same bound (`le="1"` and `le="1.0"`) add up, as in
    // `histogram_quantile`.
    b.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            earlier.1 += later.1;
        }
        same
    });
    let (&(last, total), finite) = b.split_last()?;
    if last != f64::INFINITY || finite.is_empty() || !mean.is_finite() {
        return None;
    }
    // (observations, lower bound, upper bound) of every bucket; the +Inf bucket has no width.
    let mut rows = Vec::with_capacity(b.len());
    let (mut lower, mut below) = (None, 0.0_f64);
    for &(le, cumulative) in finite {
        let count = cumulative.max(below);
        rows.push((count - below, lower.unwrap_or(le.min(0.0)), le));
        (lower, below) = (Some(le), count);
    }
    let top = lower.unwrap_or(0.0);
    rows.push((total.max(below) - below, top, top));
    let n: f64 = rows.iter().map(|r| r.0).sum();
    if n <= 0.0 {
        return None;
    }
    let at_lower: f64 = rows.iter().map(|&(k, a, _)| k * a).sum();
    let width: f64 = rows.iter().map(|&(k, a, b)| k * (b - a)).sum();
    let t = if width > 0.0 {
        ((mean * n - at_lower) / width).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let squares: f64 = rows
        .iter()
        .map(|&(k, a, b)| k * (a + t * (b - a) - mean).powi(2))
        .sum();
    Some(squares / n)
}
