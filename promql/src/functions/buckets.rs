//! Classic-histogram kernels (`histogram_quantile`, `histogram_fraction` over `le` buckets) and
//! the sample quantile behind the `quantile` aggregation, `quantile_over_time` and
//! `mad_over_time`, with the annotation texts they can cause.

use super::math::{format_go_float, format_go_float_prec, go_quote};

/// One bucket of a classic histogram: its `le` bound and the cumulative count up to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub upper_bound: f64,
    pub count: f64,
}

/// What [`bucket_quantile`] found besides the value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantileResult {
    pub value: f64,
    /// Counts decreased somewhere and were raised to make them monotonic: the engine must emit
    /// [`forced_monotonicity_info`] (an info annotation).
    pub forced_monotonicity: bool,
    /// Differences below a relative 1e-12 were ignored as float noise. Prometheus reports
    /// nothing for this.
    pub fixed_precision: bool,
    /// Lowest and highest upper bound whose count had to be raised (`+Inf`/`-Inf` when none),
    /// and the largest decrease fixed (0 when none): details of the forced-monotonicity info.
    pub min_bucket: f64,
    pub max_bucket: f64,
    pub max_diff: f64,
}

/// Relative tolerance below which differences between adjacent bucket counts are ignored.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// `histogram_quantile(q, ...)` over one classic histogram, as Prometheus's `BucketQuantile`.
///
/// Special cases, in this order: NaN `q` → NaN, `q < 0` → -Inf, `q > 1` → +Inf (before any look
/// at the buckets); no buckets or highest bound not +Inf → NaN. Then buckets with equal bounds
/// are merged (counts added), counts are made monotonic, and fewer than 2 buckets or zero
/// observations give NaN. A quantile in the +Inf bucket gives the second-highest bound; in the
/// lowest bucket with a bound <= 0 it gives that bound; otherwise it is interpolated linearly
/// within its bucket, the lowest bucket starting at 0.
///
/// `buckets` is left sorted, merged and fixed (its length may shrink).
pub fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> QuantileResult {
    let mut res = QuantileResult {
        value: f64::NAN,
        forced_monotonicity: false,
        fixed_precision: false,
        min_bucket: 0.0,
        max_bucket: 0.0,
        max_diff: 0.0,
    };
    if q.is_nan() {
        return res;
    }
    if q < 0.0 {
        res.value = f64::NEG_INFINITY;
        return res;
    }
    if q > 1.0 {
        res.value = f64::INFINITY;
        return res;
    }
    if !sort_and_check_inf(buckets) {
        return res;
    }
    coalesce(buckets);
    let fix = ensure_monotonic(buckets, SMALL_DELTA_TOLERANCE);
    res.forced_monotonicity = fix.forced;
    res.fixed_precision = fix.fixed_precision;
    res.min_bucket = fix.min_bucket;
    res.max_bucket = fix.max_bucket;
    res.max_diff = fix.max_diff;

    let n = buckets.len();
    if n < 2 {
        return res;
    }
    let observations = buckets[n - 1].count;
    if observations == 0.0 {
        return res;
    }
    let mut rank = q * observations;
    // First bucket (excluding +Inf) whose count reaches the rank, else the +Inf bucket.
    let b = buckets[..n - 1].partition_point(|bk| bk.count < rank);
    res.value = if b == n - 1 {
        buckets[n - 2].upper_bound
    } else if b == 0 && buckets[0].upper_bound <= 0.0 {
        buckets[0].upper_bound
    } else {
        let bucket_end = buckets[b].upper_bound;
        let mut bucket_start = 0.0;
        let mut count = buckets[b].count;
        if b > 0 {
            bucket_start = buckets[b - 1].upper_bound;
            count -= buckets[b - 1].count;
            rank -= buckets[b - 1].count;
        }
        bucket_start + (bucket_end - bucket_start) * (rank / count)
    };
    res
}

/// `histogram_fraction(lower, upper, ...)` over one classic histogram, as Prometheus's
/// `BucketFraction`: the estimated share of observations in `[lower, upper]`, interpolating
/// linearly within buckets (the lowest bucket starts at 0 if its bound is > 0, else at -Inf,
/// where nothing is interpolated).
///
/// NaN if there are no buckets, the highest bound is not +Inf, there are no observations, or
/// either limit is NaN; 0 if `lower >= upper`. Counts are not made monotonic here.
/// `buckets` is left sorted and merged.
pub fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    if !sort_and_check_inf(buckets) {
        return f64::NAN;
    }
    coalesce(buckets);
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }

    let mut rank = 0.0;
    let mut lower_rank = 0.0;
    let mut upper_rank = 0.0;
    let mut lower_set = false;
    let mut upper_set = false;
    let mut lower_bound = if buckets[0].upper_bound <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };

    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            lower_bound = buckets[i - 1].upper_bound;
        }
        let upper_bound = b.upper_bound;
        // Cumulative count at `v` (finite), interpolated within this bucket. A bucket starting
        // at -Inf contributes nothing partial (its full count is used), like a +Inf one.
        let interpolate = |v: f64, rank: f64| {
            if lower_bound == f64::NEG_INFINITY {
                return b.count;
            }
            rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
        };

        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower, rank);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper, rank);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

/// Sorts by upper bound; false if empty or the highest bound is not +Inf.
fn sort_and_check_inf(buckets: &mut [Bucket]) -> bool {
    buckets.sort_unstable_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    buckets
        .last()
        .is_some_and(|b| b.upper_bound == f64::INFINITY)
}

/// Merges adjacent buckets with equal bounds (input sorted), adding their counts.
fn coalesce(buckets: &mut Vec<Bucket>) {
    if buckets.is_empty() {
        return;
    }
    let mut last = buckets[0];
    let mut i = 0;
    for j in 1..buckets.len() {
        let b = buckets[j];
        if b.upper_bound == last.upper_bound {
            last.count += b.count;
        } else {
            buckets[i] = last;
            last = b;
            i += 1;
        }
    }
    buckets[i] = last;
    buckets.truncate(i + 1);
}

struct MonotonicityFix {
    forced: bool,
    fixed_precision: bool,
    min_bucket: f64,
    max_bucket: f64,
    max_diff: f64,
}

/// Ignores relative differences below `tolerance` between a count and the last accepted one
/// (in either direction, without adopting the new value), then raises every count that is
/// lower than the last accepted one to it.
fn ensure_monotonic(buckets: &mut [Bucket], tolerance: f64) -> MonotonicityFix {
    let mut fix = MonotonicityFix {
        forced: false,
        fixed_precision: false,
        min_bucket: f64::INFINITY,
        max_bucket: f64::NEG_INFINITY,
        max_diff: 0.0,
    };
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, tolerance) {
            b.count = prev;
            fix.fixed_precision = true;
            continue;
        }
        if curr < prev {
            b.count = prev;
            fix.forced = true;
            fix.min_bucket = fix.min_bucket.min(b.upper_bound);
            fix.max_bucket = fix.max_bucket.max(b.upper_bound);
            if prev - curr > fix.max_diff {
                fix.max_diff = prev - curr;
            }
            continue;
        }
        prev = curr;
    }
    fix
}

/// Prometheus's `almost.Equal`: true if both are NaN, equal, or differ by less than
/// `epsilon` relative to their magnitude (absolute near zero).
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
    let (a_stale, b_stale) = (a.to_bits() == STALE_NAN, b.to_bits() == STALE_NAN);
    if a_stale || b_stale {
        return a_stale && b_stale;
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// The `q`-quantile of `values` (sorted in place, NaNs first), interpolating linearly between
/// the two nearest ranks: `quantile` aggregation, `quantile_over_time`, `mad_over_time`.
/// No values or NaN `q` → NaN; `q < 0` → -Inf; `q > 1` → +Inf.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_unstable_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.partial_cmp(b).expect("not NaN"),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// `PromQL warning: quantile value should be between 0 and 1, got <q>`: for a NaN `q` or one
/// outside [0, 1], from `histogram_quantile`, `quantile_over_time` and the `quantile`
/// aggregation (the aggregation reports NaN, the largest above 1 and the smallest below 0 of
/// its per-step parameters, each once).
pub fn invalid_quantile_warning(q: f64) -> String {
    format!(
        "PromQL warning: quantile value should be between 0 and 1, got {}",
        format_go_float(q)
    )
}

/// `PromQL warning: bucket label "le" is missing or has a malformed value of "<le>"[ for metric
/// name "<name>"]`: `histogram_quantile`/`histogram_fraction` input sample whose `le` does not
/// parse as a float; that sample is skipped. Prometheus passes the metric name only with
/// delayed name removal enabled, else "" (no suffix).
pub fn bad_bucket_label_warning(metric_name: &str, le: &str) -> String {
    let mut s = format!(
        "PromQL warning: bucket label \"le\" is missing or has a malformed value of {}",
        go_quote(le)
    );
    push_metric_name(&mut s, metric_name);
    s
}

fn push_metric_name(s: &mut String, metric_name: &str) {
    if !metric_name.is_empty() {
        s.push_str(" for metric name ");
        s.push_str(&go_quote(metric_name));
    }
}

/// Occurrences of forced monotonicity, merged the way Prometheus merges its
/// `HistogramQuantileForcedMonotonicityInfo` annotations with the same metric name (across
/// series and steps of one query): time range, bucket range and max diff widen, occurrences add.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForcedMonotonicity {
    pub min_ts: i64,
    pub max_ts: i64,
    pub min_bucket: f64,
    pub max_bucket: f64,
    pub max_diff: f64,
    pub occurrences: u64,
}

impl ForcedMonotonicity {
    /// One occurrence, at evaluation time `ts_ms`, from a result with `forced_monotonicity`.
    pub fn new(ts_ms: i64, r: &QuantileResult) -> Self {
        ForcedMonotonicity {
            min_ts: ts_ms,
            max_ts: ts_ms,
            min_bucket: r.min_bucket,
            max_bucket: r.max_bucket,
            max_diff: r.max_diff,
            occurrences: 1,
        }
    }

    pub fn merge(&mut self, other: &ForcedMonotonicity) {
        self.min_ts = self.min_ts.min(other.min_ts);
        self.max_ts = self.max_ts.max(other.max_ts);
        if other.min_bucket < self.min_bucket {
            self.min_bucket = other.min_bucket;
        }
        if other.max_bucket > self.max_bucket {
            self.max_bucket = other.max_bucket;
        }
        if other.max_diff > self.max_diff {
            self.max_diff = other.max_diff;
        }
        self.occurrences += other.occurrences;
    }
}

/// The short text of Prometheus's `HistogramQuantileForcedMonotonicityInfo` (an info
/// annotation): `PromQL info: input to histogram_quantile needed to be fixed for monotonicity
/// (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)[
/// for metric name "<name>"]`. Prometheus deduplicates and merges the annotation by this text;
/// the API shows the longer [`forced_monotonicity_info_details`] text.
pub fn forced_monotonicity_info(metric_name: &str) -> String {
    let mut s = String::from(
        "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see \
         https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)",
    );
    push_metric_name(&mut s, metric_name);
    s
}

/// The text of Prometheus's `HistogramQuantileForcedMonotonicityInfo` as the API shows it,
/// without the trailing ` (line:col)` position:
/// `PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see
/// https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)[ for
/// metric name "<name>"], from buckets <min> to <max>, with a max diff of <diff>, over <n>
/// samples from <RFC3339 start> to <RFC3339 end>`.
///
/// Emitted for `histogram_quantile`/`histogram_quantiles` whenever [`bucket_quantile`] reports
/// `forced_monotonicity`; merge all occurrences with the same `metric_name` into one
/// [`ForcedMonotonicity`] first. Prometheus passes the metric name only with delayed name
/// removal enabled, else "".
pub fn forced_monotonicity_info_details(metric_name: &str, acc: &ForcedMonotonicity) -> String {
    let mut s = forced_monotonicity_info(metric_name);
    s.push_str(&format!(
        ", from buckets {} to {}, with a max diff of {}, over {} samples from {} to {}",
        format_go_float(acc.min_bucket),
        format_go_float(acc.max_bucket),
        format_go_float_prec(acc.max_diff, 2),
        acc.occurrences,
        // Go's time.Unix(ts/1000, 0): integer division truncating toward zero.
        rfc3339_seconds(acc.min_ts / 1000),
        rfc3339_seconds(acc.max_ts / 1000),
    ));
    s
}

/// Unix seconds as Go's `time.Unix(sec, 0).UTC().Format(time.RFC3339)`.
fn rfc3339_seconds(sec: i64) -> String {
    let days = sec.div_euclid(86_400);
    let sod = sec.rem_euclid(86_400);
    let z = days as i128 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
// Values are copied as Prometheus's tests and Go print them.
#[allow(clippy::excessive_precision, clippy::approx_constant)]
mod tests {
    use super::*;

    fn bk(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper_bound, count)| Bucket { upper_bound, count })
            .collect()
    }

    const INF: f64 = f64::INFINITY;

    #[test]
    fn quantile_interpolates_within_buckets() {
        // histograms.test: testhistogram_bucket{start="positive"} at 5m:
        // le=0.1: 50, 0.2: 70, +Inf: 110.
        let b = || bk(&[(0.1, 50.0), (0.2, 70.0), (INF, 110.0)]);
        let q = |q: f64| bucket_quantile(q, &mut b()).value;
        assert_eq!(q(0.0), 0.0);
        assert!((q(0.25) - 0.055).abs() < 1e-12);
        assert!((q(0.5) - 0.125).abs() < 1e-12);
        assert_eq!(q(0.75), 0.2);
        assert_eq!(q(1.0), 0.2);
        assert_eq!(q(-0.1), f64::NEG_INFINITY);
        assert_eq!(q(1.01), INF);
        assert!(q(f64::NAN).is_nan());
        // Unsorted input is fine.
        assert!(
            (bucket_quantile(0.5, &mut bk(&[(INF, 110.0), (0.2, 70.0), (0.1, 50.0)])).value
                - 0.125)
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn quantile_special_cases() {
        // No +Inf bucket.
        assert!(
            bucket_quantile(0.5, &mut bk(&[(0.1, 1.0), (0.2, 2.0)]))
                .value
                .is_nan()
        );
        // Only the +Inf bucket.
        assert!(bucket_quantile(0.5, &mut bk(&[(INF, 3.0)])).value.is_nan());
        // No observations.
        assert!(
            bucket_quantile(0.5, &mut bk(&[(1.0, 0.0), (INF, 0.0)]))
                .value
                .is_nan()
        );
        // q out of range wins over missing +Inf.
        assert_eq!(bucket_quantile(2.0, &mut bk(&[(0.1, 1.0)])).value, INF);
        // Negative lowest bound: its bound is returned.
        assert_eq!(
            bucket_quantile(0.1, &mut bk(&[(-1.0, 5.0), (0.0, 7.0), (INF, 10.0)])).value,
            -1.0
        );
        // Equal bounds are merged.
        let mut b = bk(&[(1.0, 2.0), (1.0, 3.0), (INF, 10.0), (INF, 0.0)]);
        assert_eq!(bucket_quantile(0.25, &mut b).value, 0.5);
        assert_eq!(b, bk(&[(1.0, 5.0), (INF, 10.0)]));
    }

    #[test]
    fn quantile_forces_monotonicity() {
        // histograms.test: nonmonotonic_bucket at 50m:
        // le=0.1: 20, 1: 10(!), 10: 50, 100: 40(!), 1000: 90, +Inf: 80(!).
        let b = || {
            bk(&[
                (0.1, 20.0),
                (1.0, 10.0),
                (10.0, 50.0),
                (100.0, 40.0),
                (1000.0, 90.0),
                (INF, 80.0),
            ])
        };
        let r = bucket_quantile(0.5, &mut b());
        assert!(r.forced_monotonicity);
        assert!(!r.fixed_precision);
        assert_eq!((r.min_bucket, r.max_bucket, r.max_diff), (1.0, INF, 10.0));
        assert_eq!(r.value, 8.5);
        assert!((bucket_quantile(0.01, &mut b()).value - 0.0045).abs() < 1e-15);
        // The test file says 979.75 (compared with a tolerance); Go computes this too.
        assert_eq!(bucket_quantile(0.99, &mut b()).value, 979.7499999999999);
        // Tiny relative differences are float noise, not reported.
        let r = bucket_quantile(
            0.5,
            &mut bk(&[(1.0, 1000.0), (2.0, 999.9999999999999), (INF, 1000.0)]),
        );
        assert!(!r.forced_monotonicity && r.fixed_precision);

        let short = "PromQL info: input to histogram_quantile needed to be fixed for \
                     monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/\
                     functions/#histogram_quantile)";
        assert_eq!(forced_monotonicity_info(""), short);
        assert_eq!(
            forced_monotonicity_info("foo"),
            format!("{short} for metric name \"foo\"")
        );
        let r = bucket_quantile(0.5, &mut b());
        let mut acc = ForcedMonotonicity::new(3_000_000, &r);
        let mut other = ForcedMonotonicity::new(60_500, &r);
        other.max_diff = 0.125;
        other.min_bucket = 0.1;
        acc.merge(&other);
        assert_eq!(
            forced_monotonicity_info_details("foo", &acc),
            format!(
                "{short} for metric name \"foo\", from buckets 0.1 to +Inf, with a max diff of \
                 10, over 2 samples from 1970-01-01T00:01:00Z to 1970-01-01T00:50:00Z"
            )
        );
    }

    #[test]
    fn fraction() {
        let b = || bk(&[(0.1, 50.0), (0.2, 70.0), (INF, 110.0)]);
        let f = |l: f64, u: f64| bucket_fraction(l, u, &mut b());
        assert_eq!(f(0.0, 0.2), 70.0 / 110.0);
        assert_eq!(f(0.0, 0.05), 25.0 / 110.0);
        assert_eq!(f(0.2, INF), 40.0 / 110.0);
        assert_eq!(f(f64::NEG_INFINITY, INF), 1.0);
        assert_eq!(f(0.2, 0.1), 0.0);
        assert!(f(f64::NAN, 0.1).is_nan());
        assert!(bucket_fraction(0.0, 1.0, &mut bk(&[(1.0, 1.0)])).is_nan());
        // Lowest bound <= 0: no interpolation inside the bucket from -Inf.
        let mut neg = bk(&[(-1.0, 10.0), (1.0, 20.0), (INF, 20.0)]);
        // The whole (-Inf, -1] bucket counts as below -2.
        assert_eq!(bucket_fraction(-2.0, 0.0, &mut neg), 5.0 / 20.0);
    }

    #[test]
    fn sample_quantile() {
        let mut v = [4.0, 1.0, 2.0];
        assert_eq!(quantile(0.5, &mut v), 2.0);
        assert_eq!(v, [1.0, 2.0, 4.0]);
        assert_eq!(quantile(0.75, &mut [0.0, 1.0, 4.0]), 2.5);
        assert_eq!(quantile(0.8, &mut [0.0, 1.0]), 0.8);
        assert_eq!(quantile(0.0, &mut [3.0]), 3.0);
        assert!(quantile(0.5, &mut []).is_nan());
        assert!(quantile(f64::NAN, &mut [1.0]).is_nan());
        assert_eq!(quantile(-1.0, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut [1.0]), INF);
        // NaN sorts first.
        let mut v = [3.0, f64::NAN, 1.0];
        assert!(quantile(0.0, &mut v).is_nan());
        assert_eq!(quantile(1.0, &mut v), 3.0);
    }

    #[test]
    fn annotation_texts() {
        assert_eq!(
            invalid_quantile_warning(1.5),
            "PromQL warning: quantile value should be between 0 and 1, got 1.5"
        );
        assert_eq!(
            invalid_quantile_warning(f64::NAN),
            "PromQL warning: quantile value should be between 0 and 1, got NaN"
        );
        assert_eq!(
            bad_bucket_label_warning("series", "Hello World"),
            "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"Hello World\" for metric name \"series\""
        );
        assert_eq!(
            bad_bucket_label_warning("", ""),
            "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"\""
        );
        assert_eq!(rfc3339_seconds(1136239445), "2006-01-02T22:04:05Z");
        assert_eq!(rfc3339_seconds(-1), "1969-12-31T23:59:59Z");
    }
}
