//! Functions over one series' range window at one evaluation step: `rate(x[5m])`,
//! `*_over_time(x[5m])`, `deriv`, `predict_linear`, ... (float samples only).

use super::buckets::{invalid_quantile_warning, quantile};
use super::math::{format_go_float_fixed, go_quote};
use crate::value::Annotations;

/// The samples one range function sees at one evaluation step.
pub struct Window<'a> {
    /// Samples with range_start < t <= range_end, increasing t, staleness markers already removed.
    pub samples: &'a [(i64, f64)],
    /// Milliseconds, exclusive.
    pub range_start: i64,
    /// Milliseconds, inclusive (= eval time - offset, or @ time - offset).
    pub range_end: i64,
    /// Milliseconds: the step's evaluation time.
    pub eval_ts: i64,
    /// Metric name of the series ("" if none), for annotations.
    pub metric_name: &'a str,
    /// Whether any sample is lower than the one before it (a counter reset), if the caller
    /// knows; `rate`/`increase` then skip their scan for resets. `None`: scan.
    pub counter_resets: Option<bool>,
}

/// A PromQL function taking a range vector (other than `absent_over_time`, which the engine
/// handles as it works on the set of series).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    Changes,
    Resets,
    AvgOverTime,
    SumOverTime,
    MinOverTime,
    MaxOverTime,
    CountOverTime,
    LastOverTime,
    FirstOverTime,
    PresentOverTime,
    StddevOverTime,
    StdvarOverTime,
    QuantileOverTime,
    MadOverTime,
    DoubleExponentialSmoothing,
    TsOfMinOverTime,
    TsOfMaxOverTime,
    TsOfLastOverTime,
    TsOfFirstOverTime,
}

const NAMES: [(RangeFn, &str); 26] = [
    (RangeFn::Rate, "rate"),
    (RangeFn::Increase, "increase"),
    (RangeFn::Delta, "delta"),
    (RangeFn::Irate, "irate"),
    (RangeFn::Idelta, "idelta"),
    (RangeFn::Deriv, "deriv"),
    (RangeFn::PredictLinear, "predict_linear"),
    (RangeFn::Changes, "changes"),
    (RangeFn::Resets, "resets"),
    (RangeFn::AvgOverTime, "avg_over_time"),
    (RangeFn::SumOverTime, "sum_over_time"),
    (RangeFn::MinOverTime, "min_over_time"),
    (RangeFn::MaxOverTime, "max_over_time"),
    (RangeFn::CountOverTime, "count_over_time"),
    (RangeFn::LastOverTime, "last_over_time"),
    (RangeFn::FirstOverTime, "first_over_time"),
    (RangeFn::PresentOverTime, "present_over_time"),
    (RangeFn::StddevOverTime, "stddev_over_time"),
    (RangeFn::StdvarOverTime, "stdvar_over_time"),
    (RangeFn::QuantileOverTime, "quantile_over_time"),
    (RangeFn::MadOverTime, "mad_over_time"),
    (
        RangeFn::DoubleExponentialSmoothing,
        "double_exponential_smoothing",
    ),
    (RangeFn::TsOfMinOverTime, "ts_of_min_over_time"),
    (RangeFn::TsOfMaxOverTime, "ts_of_max_over_time"),
    (RangeFn::TsOfLastOverTime, "ts_of_last_over_time"),
    (RangeFn::TsOfFirstOverTime, "ts_of_first_over_time"),
];

impl RangeFn {
    /// The function with this Prometheus name.
    pub fn from_name(name: &str) -> Option<RangeFn> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// The Prometheus name.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, n)| *n)
            .expect("every RangeFn is named")
    }

    /// How many scalar arguments `apply` expects besides the range vector.
    pub fn scalar_arg_count(self) -> usize {
        match self {
            RangeFn::QuantileOverTime | RangeFn::PredictLinear => 1,
            RangeFn::DoubleExponentialSmoothing => 2,
            _ => 0,
        }
    }

    /// Whether the result series lose their metric name. Prometheus keeps it only for
    /// `last_over_time` and `first_over_time` (they act like an offset); a series whose name
    /// is already marked for dropping (e.g. from a subquery) keeps that mark.
    pub fn drops_metric_name(self) -> bool {
        !matches!(self, RangeFn::LastOverTime | RangeFn::FirstOverTime)
    }

    /// The info annotation Prometheus raises once per input series of `rate`/`increase` that
    /// produced output at any step: [`possible_non_counter_info`] when the series' metric name
    /// is non-empty and does not end in `_total`, `_sum`, `_count` or `_bucket`. None for other
    /// functions and names. (With Prometheus's type-and-unit-labels feature enabled it checks
    /// the `__type__` label instead; that feature is not covered here.)
    pub fn non_counter_info(self, metric_name: &str) -> Option<String> {
        let counter_fn = matches!(self, RangeFn::Rate | RangeFn::Increase);
        (counter_fn && !metric_name.is_empty() && !has_counter_suffix(metric_name))
            .then(|| possible_non_counter_info(metric_name))
    }

    /// Checks arguments that Prometheus rejects with a query error rather than an annotation:
    /// `double_exponential_smoothing` needs 0 < sf < 1 and 0 < tf < 1 (a NaN factor passes,
    /// giving NaN). The `Err` text is Prometheus's exact error message; the engine should fail
    /// the query with it (API `errorType` "execution") the first time it is about to call
    /// [`RangeFn::apply`] on a non-empty window with such arguments (Prometheus checks at that
    /// point, so a query where no series has samples in range does not fail).
    pub fn validate_args(self, args: &[f64]) -> Result<(), String> {
        if self == RangeFn::DoubleExponentialSmoothing
            && let [sf, tf, ..] = *args
        {
            if sf <= 0.0 || sf >= 1.0 {
                return Err(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
                    format_go_float_fixed(sf, 6)
                ));
            }
            if tf <= 0.0 || tf >= 1.0 {
                return Err(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {}",
                    format_go_float_fixed(tf, 6)
                ));
            }
        }
        Ok(())
    }

    /// Value at one step, or None for no output at that step (e.g. rate with < 2 samples).
    /// `args` are the scalar arguments other than the range vector, in call order, already
    /// evaluated for this step: quantile_over_time(q, r) → [q]; predict_linear(r, t) → [t];
    /// double_exponential_smoothing(r, sf, tf) → [sf, tf]; others → [].
    ///
    /// An empty window always gives None (Prometheus does not call the function then). Too few
    /// `args` give None. Annotations raised (`rate`/`increase`'s non-counter info is per
    /// series, see [`RangeFn::non_counter_info`]):
    /// - `quantile_over_time` with q NaN or outside [0, 1]: [`invalid_quantile_warning`].
    /// - `double_exponential_smoothing` with invalid factors: Prometheus fails the query (see
    ///   [`RangeFn::validate_args`], which the engine should call first). If it reaches here
    ///   anyway, the result is None and the error text is added as a warning with the
    ///   `PromQL warning: ` prefix, as a fallback only.
    pub fn apply(self, w: &Window<'_>, args: &[f64], annos: &mut Annotations) -> Option<f64> {
        let mut scratch = Vec::new();
        self.apply_with_scratch(w, args, annos, &mut scratch)
    }

    /// [`RangeFn::apply`] with a caller-owned buffer, reused by `quantile_over_time` and
    /// `mad_over_time` (the only functions that need one) to avoid an allocation per call.
    pub fn apply_with_scratch(
        self,
        w: &Window<'_>,
        args: &[f64],
        annos: &mut Annotations,
        scratch: &mut Vec<f64>,
    ) -> Option<f64> {
        let s = w.samples;
        if s.is_empty() || args.len() < self.scalar_arg_count() {
            return None;
        }
        let n = s.len();
        match self {
            RangeFn::Rate | RangeFn::Increase => extrapolated_rate(w, true, self == RangeFn::Rate),
            RangeFn::Delta => extrapolated_rate(w, false, false),
            RangeFn::Irate | RangeFn::Idelta => {
                if n < 2 {
                    return None;
                }
                let (t0, v0) = s[n - 2];
                let (t1, v1) = s[n - 1];
                let interval_ms = t1 - t0;
                if interval_ms == 0 {
                    return None;
                }
                if self == RangeFn::Idelta {
                    return Some(v1 - v0);
                }
                // A decrease is a counter reset: the counter restarted from 0 and is now v1.
                let increase = if v1 < v0 { v1 } else { v1 - v0 };
                Some(increase / (interval_ms as f64 / 1000.0))
            }
            RangeFn::Deriv => {
                if n < 2 {
                    return None;
                }
                // Regress around the first sample's time for accuracy.
                Some(linear_regression(s, s[0].0).0)
            }
            RangeFn::PredictLinear => {
                if n < 2 {
                    return None;
                }
                let (slope, intercept) = linear_regression(s, w.eval_ts);
                Some(slope * args[0] + intercept)
            }
            RangeFn::Changes => Some(
                s.windows(2)
                    .filter(|p| p[1].1 != p[0].1 && !(p[1].1.is_nan() && p[0].1.is_nan()))
                    .count() as f64,
            ),
            RangeFn::Resets => Some(s.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64),
            RangeFn::AvgOverTime => Some(avg(s)),
            RangeFn::SumOverTime => {
                let (mut sum, mut c) = (0.0, 0.0);
                for &(_, v) in s {
                    (sum, c) = kahan_inc(v, sum, c);
                }
                Some(if sum.is_infinite() { sum } else { sum + c })
            }
            RangeFn::MinOverTime => Some(extreme(s, |cur, best| cur < best).1),
            RangeFn::MaxOverTime => Some(extreme(s, |cur, best| cur > best).1),
            RangeFn::TsOfMinOverTime => Some(seconds(extreme(s, |cur, best| cur <= best).0)),
            RangeFn::TsOfMaxOverTime => Some(seconds(extreme(s, |cur, best| cur >= best).0)),
            RangeFn::CountOverTime => Some(n as f64),
            RangeFn::LastOverTime => Some(s[n - 1].1),
            RangeFn::FirstOverTime => Some(s[0].1),
            RangeFn::TsOfLastOverTime => Some(seconds(s[n - 1].0)),
            RangeFn::TsOfFirstOverTime => Some(seconds(s[0].0)),
            RangeFn::PresentOverTime => Some(1.0),
            RangeFn::StdvarOverTime => Some(variance(s)),
            RangeFn::StddevOverTime => Some(variance(s).sqrt()),
            RangeFn::QuantileOverTime => {
                let q = args[0];
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    annos.warn(invalid_quantile_warning(q));
                }
                scratch.clear();
                scratch.extend(s.iter().map(|&(_, v)| v));
                Some(quantile(q, scratch))
            }
            RangeFn::MadOverTime => {
                if s.iter().any(|&(_, v)| v.is_nan()) {
                    return Some(f64::NAN);
                }
                scratch.clear();
                scratch.extend(s.iter().map(|&(_, v)| v));
                let median = quantile(0.5, scratch);
                for v in scratch.iter_mut() {
                    *v = (*v - median).abs();
                }
                Some(quantile(0.5, scratch))
            }
            RangeFn::DoubleExponentialSmoothing => {
                if let Err(e) = self.validate_args(args) {
                    annos.warn(format!("PromQL warning: {e}"));
                    return None;
                }
                double_exponential_smoothing(s, args[0], args[1])
            }
        }
    }
}

/// `PromQL info: metric might not be a counter, name does not end in
/// _total/_sum/_count/_bucket: "<name>"` (see [`RangeFn::non_counter_info`]).
pub fn possible_non_counter_info(metric_name: &str) -> String {
    format!(
        "PromQL info: metric might not be a counter, name does not end in \
         _total/_sum/_count/_bucket: {}",
        go_quote(metric_name)
    )
}

fn has_counter_suffix(name: &str) -> bool {
    ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Milliseconds to float seconds, as `float64(t) / 1000`.
fn seconds(t_ms: i64) -> f64 {
    t_ms as f64 / 1000.0
}

/// Go's `Duration.Seconds()` for a duration of `ms` milliseconds: whole seconds plus the
/// fraction, added separately (which can round differently from `ms / 1000.0`).
fn duration_seconds(ms: i64) -> f64 {
    let secs = ms / 1000;
    let nanos = (ms % 1000) * 1_000_000;
    secs as f64 + nanos as f64 / 1e9
}

/// One step of Kahan–Neumaier summation (Prometheus's `kahansum.Inc`): adds `inc` to `sum`
/// with compensation `c`, returning the new pair. An infinite sum resets the compensation to
/// 0. The final value is `sum + c` (or `sum` alone if it is infinite).
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// `rate`, `increase` (`is_counter`) and `delta`: the change over the window, corrected for
/// counter resets, extrapolated towards the window's boundaries (fully if the first/last
/// sample is within 1.1 average sample intervals of the boundary, else by half an interval;
/// for counters never below a zero value), per second of the window's range for `rate`.
/// None with fewer than 2 samples.
fn extrapolated_rate(w: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    let n = s.len();
    if n < 2 {
        return None;
    }
    let (first_t, first_v) = s[0];
    let (last_t, last_v) = s[n - 1];
    let mut result = last_v - first_v;
    if is_counter && w.counter_resets != Some(false) {
        for p in s.windows(2) {
            if p[1].1 < p[0].1 {
                result += p[0].1;
            }
        }
    }

    let mut duration_to_start = (first_t - w.range_start) as f64 / 1000.0;
    let mut duration_to_end = (w.range_end - last_t) as f64 / 1000.0;
    let sampled_interval = (last_t - first_t) as f64 / 1000.0;
    let average_interval = sampled_interval / (n - 1) as f64;
    let threshold = average_interval * 1.1;

    if duration_to_start >= threshold {
        duration_to_start = average_interval / 2.0;
    }
    if is_counter {
        // Do not extrapolate to before the time the counter would have been 0.
        let mut duration_to_zero = duration_to_start;
        if result > 0.0 && first_v >= 0.0 {
            duration_to_zero = sampled_interval * (first_v / result);
        }
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average_interval / 2.0;
    }

    let mut factor = 1.0;
    if sampled_interval != 0.0 {
        factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    }
    if is_rate {
        factor /= duration_seconds(w.range_end - w.range_start);
    }
    Some(result * factor)
}

/// Least-squares fit of value over time (seconds relative to `intercept_ms`), with Kahan sums:
/// `(slope per second, value at intercept_ms)`. Constant values give slope 0 (NaN for both if
/// the constant is infinite).
fn linear_regression(s: &[(i64, f64)], intercept_ms: i64) -> (f64, f64) {
    let mut n = 0.0;
    let (mut sum_x, mut c_x) = (0.0, 0.0);
    let (mut sum_y, mut c_y) = (0.0, 0.0);
    let (mut sum_xy, mut c_xy) = (0.0, 0.0);
    let (mut sum_x2, mut c_x2) = (0.0, 0.0);
    let init_y = s[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in s.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_ms) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// Mean with Kahan summation, switching to an incremental mean once the running sum would
/// become infinite.
fn avg(s: &[(i64, f64)]) -> f64 {
    let mut sum = s[0].1;
    let mut count = 1.0;
    let mut mean = 0.0;
    let mut c = 0.0;
    let mut incremental = false;
    for (i, &(_, v)) in s.iter().enumerate().skip(1) {
        count = (i + 1) as f64;
        if !incremental {
            let (new_sum, new_c) = kahan_inc(v, sum, c);
            if !new_sum.is_infinite() {
                (sum, c) = (new_sum, new_c);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// Population variance by Welford's method with Kahan-compensated mean and sum of squares.
fn variance(s: &[(i64, f64)]) -> f64 {
    let mut count = 0.0;
    let (mut mean, mut c_mean) = (0.0, 0.0);
    let (mut aux, mut c_aux) = (0.0, 0.0);
    for &(_, v) in s {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// The sample kept by scanning with `better(current, best)` (a NaN best is always replaced),
/// starting from the first: `(timestamp, value)`.
fn extreme(s: &[(i64, f64)], better: impl Fn(f64, f64) -> bool) -> (i64, f64) {
    let (mut best_t, mut best) = s[0];
    for &(t, v) in s {
        if better(v, best) || best.is_nan() {
            best = v;
            best_t = t;
        }
    }
    (best_t, best)
}

/// `max_over_time` or `min_over_time` (`max` false) of successive windows of one series,
/// equal to what [`extreme`] gives for each window, in amortised constant time per window: a
/// queue holds the indices of the window's non-NaN samples that can still be a later window's
/// extreme, best first and the earliest of equal values first (the one a scan keeps).
#[derive(Debug)]
pub struct SlidingExtreme {
    max: bool,
    queue: std::collections::VecDeque<usize>,
    /// Samples taken into the queue so far.
    pushed: usize,
}

impl SlidingExtreme {
    /// For `max_over_time` and `min_over_time`; None for other functions.
    pub fn for_fn(f: RangeFn) -> Option<SlidingExtreme> {
        let max = match f {
            RangeFn::MaxOverTime => true,
            RangeFn::MinOverTime => false,
            _ => return None,
        };
        Some(SlidingExtreme {
            max,
            queue: std::collections::VecDeque::new(),
            pushed: 0,
        })
    }

    /// The value of the non-empty window `s[lo..hi]`; successive calls never move `lo` or
    /// `hi` back. A window of NaNs only gives its last NaN, as the scan does.
    pub fn window(&mut self, s: &[(i64, f64)], lo: usize, hi: usize) -> f64 {
        while self.pushed < hi {
            let v = s[self.pushed].1;
            if !v.is_nan() {
                while let Some(&b) = self.queue.back() {
                    let worse = if self.max { s[b].1 < v } else { s[b].1 > v };
                    if !worse {
                        break;
                    }
                    self.queue.pop_back();
                }
                self.queue.push_back(self.pushed);
            }
            self.pushed += 1;
        }
        while self.queue.front().is_some_and(|&i| i < lo) {
            self.queue.pop_front();
        }
        self.queue.front().map_or(s[hi - 1].1, |&i| s[i].1)
    }
}

/// Holt's linear (double exponential) smoothing with smoothing factor `sf` and trend factor
/// `tf`; None with fewer than 2 samples.
fn double_exponential_smoothing(s: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let mut s0 = 0.0;
    let mut s1 = s[0].1;
    let mut trend = s[1].1 - s[0].1;
    for (i, &(_, v)) in s.iter().enumerate().skip(1) {
        let x = sf * v;
        if i > 1 {
            trend = tf * (s1 - s0) + (1.0 - tf) * trend;
        }
        let y = (1.0 - sf) * (s1 + trend);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}

#[cfg(test)]
// Values are copied as Prometheus's tests and Go print them.
#[allow(clippy::excessive_precision, clippy::approx_constant)]
mod tests {
    use super::*;

    /// Samples `values[i]` at `start_ms + i * step_ms`.
    fn series(start_ms: i64, step_ms: i64, values: &[f64]) -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| (start_ms + i as i64 * step_ms, v))
            .collect()
    }

    /// The window of `range_ms` ending at `at_ms`, over `all`.
    fn eval(
        f: RangeFn,
        all: &[(i64, f64)],
        at_ms: i64,
        range_ms: i64,
        args: &[f64],
        name: &str,
    ) -> (Option<f64>, Annotations) {
        let start = at_ms - range_ms;
        let lo = all.partition_point(|s| s.0 <= start);
        let hi = all.partition_point(|s| s.0 <= at_ms);
        let w = Window {
            samples: &all[lo..hi],
            range_start: start,
            range_end: at_ms,
            eval_ts: at_ms,
            metric_name: name,
            counter_resets: None,
        };
        let mut annos = Annotations::default();
        let v = f.apply(&w, args, &mut annos);
        (v, annos)
    }

    fn v(f: RangeFn, all: &[(i64, f64)], at_ms: i64, range_ms: i64, args: &[f64]) -> Option<f64> {
        eval(f, all, at_ms, range_ms, args, "x_total").0
    }

    const M: i64 = 60_000;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| a == b || (a - b).abs() <= 1e-9 * b.abs().max(1.0))
    }

    #[test]
    fn names_round_trip() {
        for (f, n) in NAMES {
            assert_eq!(RangeFn::from_name(n), Some(f));
            assert_eq!(f.name(), n);
        }
        assert_eq!(RangeFn::from_name("absent_over_time"), None);
        assert!(!RangeFn::LastOverTime.drops_metric_name());
        assert!(RangeFn::Rate.drops_metric_name());
    }

    #[test]
    fn increase_extrapolates_and_clamps_at_zero() {
        // functions.test: load 5m; foo 0+10x10, bar 0+18x5 0+18x5, dings 10+10x10, bumms 1+10x10
        let foo = series(
            0,
            5 * M,
            &(0..=10).map(|i| 10.0 * i as f64).collect::<Vec<_>>(),
        );
        let bar: Vec<f64> = (0..=5).chain(0..=5).map(|i| 18.0 * i as f64).collect();
        let bar = series(0, 5 * M, &bar);
        let dings = series(
            0,
            5 * M,
            &(0..=10).map(|i| 10.0 + 10.0 * i as f64).collect::<Vec<_>>(),
        );
        let bumms = series(
            0,
            5 * M,
            &(0..=10).map(|i| 1.0 + 10.0 * i as f64).collect::<Vec<_>>(),
        );
        let inc = |s: &[(i64, f64)], r| v(RangeFn::Increase, s, 50 * M, r, &[]);
        assert!(close(inc(&foo, 50 * M), 100.0));
        assert!(close(inc(&bar, 50 * M), 160.0));
        assert!(close(inc(&dings, 50 * M), 100.0));
        assert!(close(inc(&bumms, 50 * M), 100.0));
        assert!(close(inc(&foo, 100 * M), 100.0));
        assert!(close(inc(&bar, 100 * M), 162.0));
        assert!(close(inc(&dings, 100 * M), 105.0));
        assert!(close(inc(&bumms, 100 * M), 101.0));
        // Counter reset: 0 1 2 3 2 3 4 → 7.
        let r = series(0, 5 * M, &[0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0]);
        assert!(close(v(RangeFn::Increase, &r, 30 * M, 30 * M, &[]), 7.0));
    }

    #[test]
    fn rate_cases() {
        // testcounter_reset_middle_total 0+27x4 0+27x5 → rate[50m] at 50m = 0.08
        let vals: Vec<f64> = (0..=4).chain(0..=5).map(|i| 27.0 * i as f64).collect();
        let s = series(0, 5 * M, &vals);
        assert!(close(v(RangeFn::Rate, &s, 50 * M, 50 * M, &[]), 0.08));
        // testcounter_reset_end_total 0+10x9 0 10: [5m] has one sample → nothing; [6m] → 0.
        let vals: Vec<f64> = (0..=9)
            .map(|i| 10.0 * i as f64)
            .chain([0.0, 10.0])
            .collect();
        let s = series(0, 5 * M, &vals);
        assert_eq!(v(RangeFn::Rate, &s, 50 * M, 5 * M, &[]), None);
        assert!(close(v(RangeFn::Rate, &s, 50 * M, 6 * M, &[]), 0.0));
        // calculate_rate_window_total 0+80x10: rate[50m] = 0.26666666666666666
        let s = series(
            0,
            5 * M,
            &(0..=10).map(|i| 80.0 * i as f64).collect::<Vec<_>>(),
        );
        // The test file says 0.26666666666666666 (compared with a tolerance); Go computes this.
        assert_eq!(
            v(RangeFn::Rate, &s, 50 * M, 50 * M, &[]),
            Some(0.2666666666666667)
        );
        // Zero cutoff: load 4m; start="1m" 60+240x10 at 10m rate[20m] = 0.55, start="5m" = 0.6.
        let z = |start: f64| {
            series(
                0,
                4 * M,
                &(0..=10)
                    .map(|i| start + 240.0 * i as f64)
                    .collect::<Vec<_>>(),
            )
        };
        assert!(close(v(RangeFn::Rate, &z(0.0), 10 * M, 20 * M, &[]), 0.5));
        assert!(close(v(RangeFn::Rate, &z(60.0), 10 * M, 20 * M, &[]), 0.55));
        assert!(close(v(RangeFn::Rate, &z(120.0), 10 * M, 20 * M, &[]), 0.6));
        assert!(close(v(RangeFn::Rate, &z(300.0), 10 * M, 20 * M, &[]), 0.6));
        assert!(close(v(RangeFn::Rate, &z(0.0), 50 * M, 20 * M, &[]), 0.6));
        // delta does not correct resets nor clamp.
        let s = series(0, 5 * M, &[10.0, 5.0, 0.0]);
        assert!(close(v(RangeFn::Delta, &s, 10 * M, 15 * M, &[]), -15.0));
    }

    #[test]
    fn non_counter_info() {
        assert_eq!(
            RangeFn::Rate.non_counter_info("foo").as_deref(),
            Some(
                "PromQL info: metric might not be a counter, name does not end in \
                 _total/_sum/_count/_bucket: \"foo\""
            )
        );
        for name in ["foo_total", "foo_bucket", "foo_sum", "foo_count", ""] {
            assert_eq!(RangeFn::Increase.non_counter_info(name), None);
        }
        assert!(RangeFn::Increase.non_counter_info("foo").is_some());
        assert_eq!(RangeFn::Irate.non_counter_info("foo"), None);
        let s = series(0, 5 * M, &[1.0, 2.0, 3.0]);
        assert!(
            eval(RangeFn::Rate, &s, 10 * M, 10 * M, &[], "foo")
                .1
                .is_empty()
        );
    }

    #[test]
    fn irate_idelta() {
        // http_requests_total{path="/bar"} 0+10x5 0+10x5: at 50m irate = 10/300 s.
        let vals: Vec<f64> = (0..=5).chain(0..=5).map(|i| 10.0 * i as f64).collect();
        let s = series(0, 5 * M, &vals);
        assert!(close(
            v(RangeFn::Irate, &s, 50 * M, 50 * M, &[]),
            10.0 / 300.0
        ));
        // Reset between the last two: 50 → 0 at 30m; irate uses the new value.
        assert_eq!(v(RangeFn::Irate, &s, 30 * M, 50 * M, &[]), Some(0.0));
        let s2 = series(0, 5 * M, &[5.0, 50.0, 2.0]);
        assert!(close(
            v(RangeFn::Irate, &s2, 10 * M, 50 * M, &[]),
            2.0 / 300.0
        ));
        assert_eq!(v(RangeFn::Idelta, &s2, 10 * M, 50 * M, &[]), Some(-48.0));
        assert_eq!(v(RangeFn::Irate, &s2, 0, 50 * M, &[]), None);
        // NaN: http_requests_nan 1 NaN NaN 5 11 → irate at 20m over NaN pair is NaN.
        let s3 = series(0, 5 * M, &[1.0, f64::NAN, f64::NAN, 5.0, 11.0]);
        assert!(
            v(RangeFn::Irate, &s3, 15 * M, 15 * M, &[])
                .unwrap()
                .is_nan()
        );
        assert!(close(
            v(RangeFn::Irate, &s3, 20 * M, 15 * M, &[]),
            6.0 / 300.0
        ));
    }

    #[test]
    fn deriv_and_predict_linear() {
        // testcounter_reset_middle_total 0+10x4 0+10x5
        let vals: Vec<f64> = (0..=4).chain(0..=5).map(|i| 10.0 * i as f64).collect();
        let s = series(0, 5 * M, &vals);
        assert_eq!(
            v(RangeFn::Deriv, &s, 50 * M, 100 * M, &[]),
            Some(0.010606060606060607)
        );
        assert!(close(
            v(RangeFn::PredictLinear, &s, 50 * M, 50 * M, &[3600.0]),
            70.0
        ));
        // @ 3000 with [55m]: the window ends at 3000 s but the intercept is at eval time.
        let w = |eval_ms: i64| Window {
            samples: &s,
            range_start: 3000 * 1000 - 55 * M,
            range_end: 3000 * 1000,
            eval_ts: eval_ms,
            metric_name: "",
            counter_resets: None,
        };
        let mut a = Annotations::default();
        let p = |e| RangeFn::PredictLinear.apply(&w(e), &[3600.0], &mut Annotations::default());
        assert!(close(p(50 * M), 76.81818181818181));
        assert!(close(p(10 * M), 51.36363636363637));
        assert!(close(p(70 * M), 89.54545454545455));
        assert!(RangeFn::PredictLinear.apply(&w(0), &[], &mut a).is_none());
        // http_requests_inf -Inf 0+80x10 Inf → NaN.
        let mut vals = vec![f64::NEG_INFINITY];
        vals.extend((0..=10).map(|i| 80.0 * i as f64));
        vals.push(f64::INFINITY);
        let s = series(0, 5 * M, &vals);
        assert!(
            v(RangeFn::Deriv, &s, 100 * M, 100 * M, &[])
                .unwrap()
                .is_nan()
        );
        // Constant values: slope 0.
        let c = series(0, 10_000, &[1.5990505637277868; 3]);
        assert_eq!(v(RangeFn::Deriv, &c, 20_000, 60_000, &[]), Some(0.0));
        assert_eq!(v(RangeFn::Deriv, &c, 0, 60_000, &[]), None);
    }

    #[test]
    fn changes_and_resets() {
        // http_requests{path="/foo"} 1 2 3 0 1 0 0 1 2 0 at 5m steps.
        let s = series(
            0,
            5 * M,
            &[1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0],
        );
        assert_eq!(v(RangeFn::Resets, &s, 50 * M, 50 * M, &[]), Some(3.0));
        assert_eq!(v(RangeFn::Resets, &s, 50 * M, 20 * M, &[]), Some(1.0));
        assert_eq!(v(RangeFn::Changes, &s, 50 * M, 50 * M, &[]), Some(7.0));
        assert_eq!(v(RangeFn::Changes, &s, 50 * M, 5 * M, &[]), None);
        let nan = series(0, 5 * M, &[f64::NAN, f64::NAN, f64::NAN]);
        assert_eq!(v(RangeFn::Changes, &nan, 15 * M, 20 * M, &[]), Some(0.0));
        let c = series(0, 5 * M, &[0.0, f64::NAN, 0.0]);
        assert_eq!(v(RangeFn::Changes, &c, 15 * M, 20 * M, &[]), Some(2.0));
    }

    #[test]
    fn over_time_aggregations() {
        let s = series(0, 10_000, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(v(RangeFn::AvgOverTime, &s, 55_000, 10_000, &[]), None);
        assert_eq!(v(RangeFn::AvgOverTime, &s, 55_000, 20_000, &[]), Some(5.0));
        assert_eq!(v(RangeFn::AvgOverTime, &s, 55_000, 60_000, &[]), Some(3.0));
        assert_eq!(v(RangeFn::SumOverTime, &s, 55_000, 60_000, &[]), Some(15.0));
        assert_eq!(
            v(RangeFn::CountOverTime, &s, 55_000, 60_000, &[]),
            Some(5.0)
        );
        assert_eq!(
            v(RangeFn::FirstOverTime, &s, 55_000, 30_000, &[]),
            Some(4.0)
        );
        assert_eq!(v(RangeFn::LastOverTime, &s, 55_000, 60_000, &[]), Some(5.0));
        assert_eq!(
            v(RangeFn::PresentOverTime, &s, 55_000, 60_000, &[]),
            Some(1.0)
        );
        let avg_of = |vals: &[f64]| {
            v(
                RangeFn::AvgOverTime,
                &series(0, 5_000, vals),
                55_000,
                60_000,
                &[],
            )
            .unwrap()
        };
        let inf = f64::INFINITY;
        assert_eq!(avg_of(&[1.0, 2.0, 3.0, 4.0, inf]), inf);
        assert!(avg_of(&[1.0, 2.0, 3.0, inf, -inf]).is_nan());
        assert_eq!(avg_of(&[inf, 0.0, inf]), inf);
        assert!(avg_of(&[inf, inf, inf, -inf]).is_nan());
        assert_eq!(avg_of(&[-inf, 0.0, -inf]), -inf);
        assert_eq!(
            avg_of(&[9.988465674311579e+307, 9.988465674311579e+307]),
            9.988465674311579e+307
        );
        assert_eq!(
            avg_of(&[-9.988465674311579e+307, 9.988465674311579e+307]),
            0.0
        );
        assert_eq!(avg_of(&[1.0, 1e100, 1.0, -1e100]), 0.5);
        assert_eq!(
            v(
                RangeFn::SumOverTime,
                &series(0, 10_000, &[1.0, 1e100, 1.0, -1e100]),
                55_000,
                60_000,
                &[]
            ),
            Some(2.0)
        );
        assert_eq!(
            avg_of(&[1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6]),
            1.6666666666666675e+09
        );
        assert_eq!(avg_of(&[52.0; 11]), 52.0);
        let big = [
            -2.258E+220,
            -1.78264E+219,
            0.76342771,
            1.9592258,
            2.3757689E+217,
            -2.3757689E+217,
            2.258E+220,
            7.69805412,
            1.78264E+219,
            -458.90154,
        ];
        assert_eq!(avg_of(&big), 0.0);
        // min/max and their timestamps (load 10s53ms; metric 1 2 3 0 5 6 2 1 4).
        let s = series(0, 10_053, &[1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 2.0, 1.0, 4.0]);
        assert_eq!(
            v(RangeFn::TsOfMinOverTime, &s, 90_000, 90_000, &[]),
            Some(30.159)
        );
        assert_eq!(
            v(RangeFn::TsOfMaxOverTime, &s, 90_000, 90_000, &[]),
            Some(50.265)
        );
        assert_eq!(v(RangeFn::MinOverTime, &s, 90_000, 90_000, &[]), Some(0.0));
        assert_eq!(v(RangeFn::MaxOverTime, &s, 90_000, 90_000, &[]), Some(6.0));
        assert_eq!(
            v(RangeFn::TsOfLastOverTime, &s, 90_000, 90_000, &[]),
            Some(80.424)
        );
        assert_eq!(
            v(RangeFn::TsOfFirstOverTime, &s, 90_000, 90_000, &[]),
            Some(10.053)
        );
        // NaN is only the result if everything is NaN; ties take the last for ts_of_*.
        let n = series(0, 1000, &[f64::NAN, 3.0, f64::NAN, 1.0, 3.0]);
        assert_eq!(v(RangeFn::MaxOverTime, &n, 4000, 10_000, &[]), Some(3.0));
        assert_eq!(v(RangeFn::MinOverTime, &n, 4000, 10_000, &[]), Some(1.0));
        assert_eq!(
            v(RangeFn::TsOfMaxOverTime, &n, 4000, 10_000, &[]),
            Some(4.0)
        );
        let all_nan = series(0, 1000, &[f64::NAN, f64::NAN]);
        assert!(
            v(RangeFn::MaxOverTime, &all_nan, 4000, 10_000, &[])
                .unwrap()
                .is_nan()
        );
    }

    #[test]
    fn variance_and_mad() {
        let s = series(0, 10_000, &[0.0, 8.0, 8.0, 2.0, 3.0]);
        assert!(close(
            v(RangeFn::StdvarOverTime, &s, 60_000, 120_000, &[]),
            10.56
        ));
        let sd = v(RangeFn::StddevOverTime, &s, 60_000, 120_000, &[]).unwrap();
        assert!((sd - 3.249615).abs() < 1e-6);
        let c = series(0, 10_000, &[1.5990505637277868; 3]);
        assert_eq!(
            v(RangeFn::StdvarOverTime, &c, 55_000, 60_000, &[]),
            Some(0.0)
        );
        let m = series(0, 10_000, &[4.0, 6.0, 2.0, 1.0, 999.0, 1.0, 2.0]);
        assert_eq!(v(RangeFn::MadOverTime, &m, 70_000, 70_000, &[]), Some(1.0));
        let odd = series(0, 10_000, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(
            v(RangeFn::MadOverTime, &odd, 40_000, 50_000, &[]),
            Some(1.0)
        );
        let nan = series(0, 10_000, &[1.0, 2.0, f64::NAN, 4.0]);
        assert!(
            v(RangeFn::MadOverTime, &nan, 30_000, 40_000, &[])
                .unwrap()
                .is_nan()
        );
        assert_eq!(
            v(RangeFn::MadOverTime, &series(0, 1, &[5.0]), 0, 10_000, &[]),
            Some(0.0)
        );
    }

    #[test]
    fn quantile_over_time() {
        let s = series(0, 10_000, &[0.0, 1.0, 4.0]);
        let q = |q: f64| eval(RangeFn::QuantileOverTime, &s, 60_000, 120_000, &[q], "data");
        assert_eq!(q(0.5).0, Some(1.0));
        assert_eq!(q(0.75).0, Some(2.5));
        assert!(close(q(0.8).0, 2.8));
        assert!(q(0.8).1.is_empty());
        let (r, a) = q(2.0);
        assert_eq!(r, Some(f64::INFINITY));
        assert_eq!(
            a.warnings,
            vec!["PromQL warning: quantile value should be between 0 and 1, got 2".to_string()]
        );
        assert_eq!(q(-1.0).0, Some(f64::NEG_INFINITY));
        assert!(q(f64::NAN).0.unwrap().is_nan());
        assert_eq!(q(f64::NAN).1.warnings.len(), 1);
        // Scratch reuse.
        let w = Window {
            samples: &s,
            range_start: -1,
            range_end: 60_000,
            eval_ts: 60_000,
            metric_name: "",
            counter_resets: None,
        };
        let mut scratch = Vec::new();
        let mut a = Annotations::default();
        assert_eq!(
            RangeFn::QuantileOverTime.apply_with_scratch(&w, &[0.0], &mut a, &mut scratch),
            Some(0.0)
        );
        assert_eq!(
            RangeFn::QuantileOverTime.apply_with_scratch(&w, &[1.0], &mut a, &mut scratch),
            Some(4.0)
        );
        assert_eq!(RangeFn::QuantileOverTime.apply(&w, &[], &mut a), None);
    }

    #[test]
    fn double_exponential_smoothing_cases() {
        // load 10s; http_requests 0+10x1000 100+30x1000 at 8000s [1m] with 0.01, 0.1 → 8000.
        let vals: Vec<f64> = (0..=1000)
            .map(|i| 10.0 * i as f64)
            .chain((0..=1000).map(|i| 100.0 + 30.0 * i as f64))
            .collect();
        let s = series(0, 10_000, &vals);
        let d = |at: i64, s: &[(i64, f64)]| {
            v(
                RangeFn::DoubleExponentialSmoothing,
                s,
                at,
                60_000,
                &[0.01, 0.1],
            )
        };
        assert!(close(d(8_000_000, &s), 8000.0));
        let neg: Vec<f64> = (0..=1000).map(|i| 8000.0 - 10.0 * i as f64).collect();
        assert!(d(8_000_000, &series(0, 10_000, &neg)).unwrap().abs() < 1e-6);
        assert_eq!(d(0, &s), None);
        assert_eq!(
            RangeFn::DoubleExponentialSmoothing.validate_args(&[0.5, 0.5]),
            Ok(())
        );
        assert_eq!(
            RangeFn::DoubleExponentialSmoothing.validate_args(&[1.0, 0.5]),
            Err("invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000".to_string())
        );
        assert_eq!(
            RangeFn::DoubleExponentialSmoothing.validate_args(&[0.5, 0.0]),
            Err("invalid trend factor. Expected: 0 < tf < 1, got: 0.000000".to_string())
        );
        assert_eq!(
            RangeFn::DoubleExponentialSmoothing.validate_args(&[f64::NAN, 0.5]),
            Ok(())
        );
        let (r, a) = eval(
            RangeFn::DoubleExponentialSmoothing,
            &s,
            8_000_000,
            60_000,
            &[1.5, 0.5],
            "",
        );
        assert_eq!(r, None);
        assert_eq!(a.warnings.len(), 1);
    }

    #[test]
    fn sliding_extreme_matches_a_scan_of_each_window() {
        // Ties between 0 and -0, NaNs before, between and after numbers, windows of NaNs only,
        // growing and shrinking windows.
        let pool = [1.0, -0.0, 0.0, 3.0, f64::NAN, -2.0, 3.0, f64::INFINITY, 0.0];
        let mut x = 7u64;
        for _ in 0..200 {
            let n = 1 + (x % 24) as usize;
            let s: Vec<(i64, f64)> = (0..n)
                .map(|i| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (i as i64, pool[(x >> 33) as usize % pool.len()])
                })
                .collect();
            for (f, better) in [
                (RangeFn::MaxOverTime, (|c, b| c > b) as fn(f64, f64) -> bool),
                (RangeFn::MinOverTime, |c, b| c < b),
            ] {
                let mut sliding = SlidingExtreme::for_fn(f).expect("an extreme");
                let (mut lo, mut hi) = (0, 0);
                while hi < n {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    hi = (hi + 1 + (x >> 40) as usize % 3).min(n);
                    lo = (lo + (x >> 50) as usize % 3).min(hi - 1);
                    let got = sliding.window(&s, lo, hi);
                    let want = extreme(&s[lo..hi], better).1;
                    assert_eq!(got.to_bits(), want.to_bits(), "{f:?} of {:?}", &s[lo..hi]);
                }
            }
        }
    }
}
