//! Function calls: one table names every function and how it is evaluated.

use std::collections::HashMap;

use model::labels::Labels;
use promql_parser::parser::{Call, Expr};
use regex::Regex;

use super::{
    ABSENT, Evaluator, Grid, RangeArg, Series, Val, is_present, selector_matchers, set_label,
    unparen,
};
use crate::functions::buckets::{self, Bucket};
use crate::functions::math;
use crate::functions::window::{RangeFn, SlidingExtreme, Window};
use crate::value::Error;

/// How a function is evaluated.
#[derive(Clone, Copy)]
enum Kind {
    /// Over a range vector, step by step with a sliding window. `matrix_arg` is the index of
    /// the range-vector argument; the others are scalars.
    Range(RangeFn, usize),
    AbsentOverTime,
    /// Elementwise over an instant vector; drops the metric name.
    Unary(fn(f64) -> f64),
    /// Date functions: over a vector of Unix times, or `vector(time())` without argument.
    Date(fn(f64) -> f64),
    Clamp,
    ClampMin,
    ClampMax,
    Round,
    Time,
    Pi,
    Vector,
    Scalar,
    Sort {
        desc: bool,
    },
    Timestamp,
    Absent,
    LabelReplace,
    LabelJoin,
    /// The query's own parameters: `start()`, `end()`, `range()`, `step()`, in seconds.
    QueryParam(fn(&Evaluator<'_>) -> f64),
    MinOf,
    MaxOf,
    SortByLabel {
        desc: bool,
    },
    HistogramQuantile,
    HistogramQuantiles,
    HistogramFraction,
    /// Native-histogram functions: float series have no native histograms, so nothing.
    NativeOnly,
}

/// Every supported function. Names not listed here fail with a clear error.
fn kind(name: &str) -> Option<Kind> {
    if let Some(f) = RangeFn::from_name(name) {
        let matrix_arg = usize::from(name == "quantile_over_time");
        return Some(Kind::Range(f, matrix_arg));
    }
    if let Some(f) = math::unary_fn(name) {
        return Some(Kind::Unary(f));
    }
    if let Some(f) = math::date_fn(name) {
        return Some(Kind::Date(f));
    }
    Some(match name {
        "absent_over_time" => Kind::AbsentOverTime,
        "clamp" => Kind::Clamp,
        "clamp_min" => Kind::ClampMin,
        "clamp_max" => Kind::ClampMax,
        "round" => Kind::Round,
        "time" => Kind::Time,
        "pi" => Kind::Pi,
        "vector" => Kind::Vector,
        "scalar" => Kind::Scalar,
        "sort" => Kind::Sort { desc: false },
        "sort_desc" => Kind::Sort { desc: true },
        "timestamp" => Kind::Timestamp,
        "absent" => Kind::Absent,
        "label_replace" => Kind::LabelReplace,
        "label_join" => Kind::LabelJoin,
        "histogram_quantile" => Kind::HistogramQuantile,
        "histogram_quantiles" => Kind::HistogramQuantiles,
        "start" => Kind::QueryParam(|e| e.query_start as f64 / 1000.0),
        "end" => Kind::QueryParam(|e| e.query_end as f64 / 1000.0),
        "range" => Kind::QueryParam(|e| (e.query_end - e.query_start) as f64 / 1000.0),
        "step" => Kind::QueryParam(|e| e.query_step as f64 / 1000.0),
        "min_of" => Kind::MinOf,
        "max_of" => Kind::MaxOf,
        "sort_by_label" => Kind::SortByLabel { desc: false },
        "sort_by_label_desc" => Kind::SortByLabel { desc: true },
        "histogram_fraction" => Kind::HistogramFraction,
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => Kind::NativeOnly,
        _ => return None,
    })
}

fn string_arg(e: &Expr) -> Result<&str, Error> {
    match unparen(e) {
        Expr::StringLiteral(s) => Ok(&s.val),
        _ => Err(Error::BadData("expected a string literal argument".into())),
    }
}

/// Labels `absent(x{a="b"})` reports: the equality matchers, unless a name is matched twice.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match unparen(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let Ok(sets) = selector_matchers(vs) else {
        return Labels::empty();
    };
    let mut b = Labels::empty().to_builder();
    let mut seen: Vec<&str> = Vec::new();
    for m in sets.first().map(Vec::as_slice).unwrap_or_default() {
        if m.name == "__name__" {
            continue;
        }
        if m.kind == model::matcher::MatchType::Equal && !seen.contains(&m.name.as_str()) {
            set_label(&mut b, &m.name, &m.value);
            seen.push(&m.name);
        } else {
            b.del(&m.name);
        }
    }
    b.build()
}

fn map_values(mut vec: Vec<Series>, mut f: impl FnMut(usize, f64) -> Option<f64>) -> Vec<Series> {
    for s in &mut vec {
        s.drop_name = true;
        for (i, v) in s.vals.iter_mut().enumerate() {
            if is_present(*v) {
                *v = f(i, *v).unwrap_or(ABSENT);
            }
        }
    }
    vec.retain(|s| s.vals.iter().any(|v| is_present(*v)));
    vec
}

impl Evaluator<'_> {
    pub(crate) fn call(&mut self, c: &Call, g: Grid) -> Result<Val, Error> {
        let name = c.func.name;
        let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
        let Some(kind) = kind(name) else {
            return Err(Error::BadData(format!(
                "function {name:?} is not supported"
            )));
        };
        let vector = |s: Vec<Series>| Ok(Val::Vector(s));
        match kind {
            Kind::Range(f, matrix_arg) => self.range_function(f, &args, matrix_arg, g),
            Kind::AbsentOverTime => {
                let (source, arg) = self.range_arg(args[0], g)?;
                let mut vals = vec![1.0; g.len];
                let present = self.map_range_series(source, &arg, |_, _, _, samples, _| {
                    let mut steps = Vec::new();
                    for_each_window(&arg, samples, |i, _, _| steps.push(i));
                    Ok(Some(steps))
                })?;
                for i in present.into_iter().flatten() {
                    vals[i] = ABSENT;
                }
                if vals.iter().all(|v| !is_present(*v)) {
                    return vector(Vec::new());
                }
                vector(vec![Series {
                    labels: absent_labels(args[0]),
                    vals,
                    drop_name: true,
                }])
            }
            Kind::Unary(f) => {
                let v = self.eval_vector(args[0], g)?;
                vector(map_values(v, |_, x| Some(f(x))))
            }
            Kind::Date(f) => {
                if args.is_empty() {
                    return vector(vec![Series {
                        labels: Labels::empty(),
                        vals: (0..g.len).map(|i| f((g.t(i) / 1000) as f64)).collect(),
                        drop_name: false,
                    }]);
                }
                let v = self.eval_vector(args[0], g)?;
                vector(map_values(v, |_, x| Some(f(x))))
            }
            Kind::Clamp | Kind::ClampMin | Kind::ClampMax => {
                let v = self.eval_vector(args[0], g)?;
                let a = self.eval_scalar(args[1], g)?;
                let b = match kind {
                    Kind::Clamp => self.eval_scalar(args[2], g)?,
                    _ => Vec::new(),
                };
                vector(map_values(v, |i, x| match kind {
                    Kind::Clamp => math::clamp(x, a[i], b[i]),
                    Kind::ClampMin => math::clamp(x, a[i], f64::INFINITY),
                    _ => math::clamp(x, f64::NEG_INFINITY, a[i]),
                }))
            }
            Kind::Round => {
                let v = self.eval_vector(args[0], g)?;
                let to = match args.get(1) {
                    Some(e) => self.eval_scalar(e, g)?,
                    None => vec![1.0; g.len],
                };
                vector(map_values(v, |i, x| Some(math::round(x, to[i]))))
            }
            Kind::Time => Ok(Val::Scalar(
                (0..g.len).map(|i| g.t(i) as f64 / 1000.0).collect(),
            )),
            Kind::Pi => Ok(Val::Scalar(vec![std::f64::consts::PI; g.len])),
            Kind::QueryParam(f) => Ok(Val::Scalar(vec![f(self); g.len])),
            Kind::MinOf | Kind::MaxOf => {
                let mut acc = self.eval_scalar(args[0], g)?;
                for a in &args[1..] {
                    let v = self.eval_scalar(a, g)?;
                    for (x, y) in acc.iter_mut().zip(v) {
                        *x = if matches!(kind, Kind::MinOf) {
                            math::go_min(*x, y)
                        } else {
                            math::go_max(*x, y)
                        };
                    }
                }
                Ok(Val::Scalar(acc))
            }
            Kind::SortByLabel { desc } => {
                let names = args[1..]
                    .iter()
                    .map(|a| string_arg(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut v = self.eval_vector(args[0], g)?;
                if g.len > 1 || self.query_start != self.query_end {
                    self.annos.warn(
                        "PromQL warning: sort is ineffective for range queries since results are always ordered by labels",
                    );
                }
                v.sort_by(|a, b| {
                    let mut ord = std::cmp::Ordering::Equal;
                    for n in &names {
                        let (x, y) = (a.labels.get(n), b.labels.get(n));
                        if x != y {
                            ord = natural_cmp(x, y);
                            break;
                        }
                    }
                    let ord = ord.then_with(|| a.labels.cmp(&b.labels));
                    if desc { ord.reverse() } else { ord }
                });
                vector(v)
            }
            Kind::Vector => {
                let s = self.eval_scalar(args[0], g)?;
                vector(vec![Series {
                    labels: Labels::empty(),
                    vals: s,
                    drop_name: false,
                }])
            }
            Kind::Scalar => {
                let v = self.eval_vector(args[0], g)?;
                let mut out = vec![f64::NAN; g.len];
                for (i, o) in out.iter_mut().enumerate() {
                    let mut present = v.iter().filter(|s| is_present(s.vals[i]));
                    if let (Some(s), None) = (present.next(), present.next()) {
                        *o = s.vals[i];
                    }
                }
                Ok(Val::Scalar(out))
            }
            Kind::Sort { desc } => {
                let mut v = self.eval_vector(args[0], g)?;
                if g.len > 1 || self.query_start != self.query_end {
                    self.annos.warn(
                        "PromQL warning: sort is ineffective for range queries since results are always ordered by labels",
                    );
                } else if g.len == 1 {
                    v.sort_by(|a, b| {
                        let (x, y) = (a.vals[0], b.vals[0]);
                        match (x.is_nan(), y.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ if desc => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                        }
                    });
                }
                vector(v)
            }
            Kind::Timestamp => {
                if let Expr::VectorSelector(vs) = unparen(args[0]) {
                    let (mut series, times) = self.vector_selector(vs, g, true)?;
                    for (s, ts) in series.iter_mut().zip(times) {
                        s.drop_name = true;
                        for (v, t) in s.vals.iter_mut().zip(ts) {
                            if is_present(*v) {
                                *v = t as f64 / 1000.0;
                            }
                        }
                    }
                    return vector(series);
                }
                let v = self.eval_vector(args[0], g)?;
                vector(map_values(v, |i, _| Some(g.t(i) as f64 / 1000.0)))
            }
            Kind::Absent => {
                let v = self.eval_vector(args[0], g)?;
                let vals: Vec<f64> = (0..g.len)
                    .map(|i| {
                        if v.iter().any(|s| is_present(s.vals[i])) {
                            ABSENT
                        } else {
                            1.0
                        }
                    })
                    .collect();
                if vals.iter().all(|v| !is_present(*v)) {
                    return vector(Vec::new());
                }
                vector(vec![Series {
                    labels: absent_labels(args[0]),
                    vals,
                    drop_name: false,
                }])
            }
            Kind::LabelReplace => {
                let dst = string_arg(args[1])?;
                let repl = string_arg(args[2])?;
                let src = string_arg(args[3])?;
                let pattern = string_arg(args[4])?;
                let re = Regex::new(&format!("^(?s:{pattern})$")).map_err(|_| {
                    Error::Execution(format!(
                        "invalid regular expression in label_replace(): {pattern}"
                    ))
                })?;
                if dst.is_empty() {
                    return Err(Error::Execution(format!(
                        "invalid destination label name in label_replace(): {dst}"
                    )));
                }
                let v = self.eval_vector(args[0], g)?;
                vector(set_label_on_each(v, dst, |l| {
                    re.captures(l.get(src)).map(|caps| {
                        let mut res = String::new();
                        caps.expand(repl, &mut res);
                        res
                    })
                })?)
            }
            Kind::LabelJoin => {
                let dst = string_arg(args[1])?;
                let sep = string_arg(args[2])?;
                let srcs = args[3..]
                    .iter()
                    .map(|a| string_arg(a))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(bad) = srcs.iter().find(|s| s.is_empty()) {
                    return Err(Error::Execution(format!(
                        "invalid source label name in label_join(): {bad}"
                    )));
                }
                if dst.is_empty() {
                    return Err(Error::Execution(format!(
                        "invalid destination label name in label_join(): {dst}"
                    )));
                }
                let v = self.eval_vector(args[0], g)?;
                vector(set_label_on_each(v, dst, |l| {
                    Some(srcs.iter().map(|n| l.get(n)).collect::<Vec<_>>().join(sep))
                })?)
            }
            Kind::HistogramQuantile => {
                let q = self.eval_scalar(args[0], g)?;
                let v = self.eval_vector(args[1], g)?;
                let mut warned = Vec::new();
                for &qi in &q {
                    if (qi.is_nan() || !(0.0..=1.0).contains(&qi))
                        && !warned.iter().any(|w: &f64| w.to_bits() == qi.to_bits())
                    {
                        warned.push(qi);
                        self.annos.warn(buckets::invalid_quantile_warning(qi));
                    }
                }
                let out = self.classic_histograms(&v, g, |i, buckets, name, annos| {
                    let r = buckets::bucket_quantile(q[i], buckets);
                    if r.forced_monotonicity {
                        annos.info(buckets::forced_monotonicity_info(name));
                    }
                    r.value
                });
                vector(out)
            }
            Kind::HistogramQuantiles => {
                let v = self.eval_vector(args[0], g)?;
                let label = string_arg(args[1])?.to_string();
                let mut qs = Vec::new();
                for a in &args[2..] {
                    let q = self.eval_scalar(a, g)?;
                    if let Some(&bad) = q.iter().find(|q| q.is_nan() || !(0.0..=1.0).contains(*q)) {
                        self.annos.warn(buckets::invalid_quantile_warning(bad));
                    }
                    qs.push(q);
                }
                let mut out = Vec::new();
                for q in &qs {
                    let per_q = self.classic_histograms(&v, g, |i, buckets, name, annos| {
                        let r = buckets::bucket_quantile(q[i], buckets);
                        if r.forced_monotonicity {
                            annos.info(buckets::forced_monotonicity_info(name));
                        }
                        r.value
                    });
                    // The quantile label takes the value of the first step (the parameter is
                    // a literal in practice).
                    let text = format_openmetrics_float(q.first().copied().unwrap_or(f64::NAN));
                    for mut s in per_q {
                        let mut b = s.labels.to_builder();
                        set_label(&mut b, &label, &text);
                        s.labels = b.build();
                        out.push(s);
                    }
                }
                vector(merge_disjoint(out)?)
            }
            Kind::HistogramFraction => {
                let lo = self.eval_scalar(args[0], g)?;
                let hi = self.eval_scalar(args[1], g)?;
                let v = self.eval_vector(args[2], g)?;
                let out = self.classic_histograms(&v, g, |i, buckets, _, _| {
                    buckets::bucket_fraction(lo[i], hi[i], buckets)
                });
                vector(out)
            }
            Kind::NativeOnly => {
                self.eval_vector(args[0], g)?;
                vector(Vec::new())
            }
        }
    }

    /// Evaluates a function over a range vector, one sliding window per step.
    fn range_function(
        &mut self,
        f: RangeFn,
        args: &[&Expr],
        matrix_arg: usize,
        g: Grid,
    ) -> Result<Val, Error> {
        let parts = self.range_fold(
            f,
            args,
            matrix_arg,
            g,
            Vec::new,
            |ev, out: &mut Vec<Series>, labels, drop_name, vals| {
                let vals = std::mem::take(vals);
                ev.hold(vals.len())?;
                out.push(Series {
                    labels: labels.clone(),
                    vals,
                    drop_name,
                });
                Ok(())
            },
        )?;
        Ok(Val::Vector(parts.into_iter().flatten().collect()))
    }

    /// If `c` calls a function over a range vector, folds each series' result into a state
    /// made by `init` with `sink` (see [`Evaluator::range_fold`]) instead of collecting the
    /// series: one state per part of the selection, in series order. `None` for any other
    /// function.
    pub(crate) fn fold_range_call<S: Send>(
        &mut self,
        c: &Call,
        g: Grid,
        init: impl Fn() -> S + Sync,
        sink: impl Fn(&Self, &mut S, &Labels, bool, &mut Vec<f64>) -> Result<(), Error> + Sync,
    ) -> Result<Option<Vec<S>>, Error> {
        let Some(Kind::Range(f, matrix_arg)) = kind(c.func.name) else {
            return Ok(None);
        };
        let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
        self.range_fold(f, &args, matrix_arg, g, init, sink)
            .map(Some)
    }

    /// Computes `f` over each series of the range argument, step by step with a sliding
    /// window, and hands every series with a value at some step to
    /// `sink(evaluator, state, labels, drop_name, values)`; `values` holds one slot per step
    /// and is reused for the next series unless the sink takes it. States are made by
    /// `init`, one per part of the selection (see [`Evaluator::fold_range_series`]).
    fn range_fold<S: Send>(
        &mut self,
        f: RangeFn,
        args: &[&Expr],
        matrix_arg: usize,
        g: Grid,
        init: impl Fn() -> S + Sync,
        sink: impl Fn(&Self, &mut S, &Labels, bool, &mut Vec<f64>) -> Result<(), Error> + Sync,
    ) -> Result<Vec<S>, Error> {
        let mut scalars = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i != matrix_arg {
                scalars.push(self.eval_scalar(a, g)?);
            }
        }
        let (source, arg) = self.range_arg(args[matrix_arg], g)?;
        let keeps_name = !f.drops_metric_name();
        let counter_fn = matches!(f, RangeFn::Rate | RangeFn::Increase);
        let parts = self.fold_range_series(
            source,
            &arg,
            || (init(), Vec::new()),
            |ev, (state, vals), labels, drop_name, samples, annos| {
                let metric_name = labels.get("__name__");
                vals.clear();
                vals.resize(g.len, ABSENT);
                let mut any = false;
                let mut invalid: Option<String> = None;
                let mut step_args = vec![0.0; scalars.len()];
                let mut scratch = Vec::new();
                // For counters: the newest reset (a sample lower than the one before) among the
                // first `scanned` samples, 0 for none; a window `lo..hi` holds one if it is > lo.
                let (mut last_reset, mut scanned) = (0usize, 1usize);
                // max_over_time and min_over_time slide over the windows; the rest take each.
                let mut sliding = SlidingExtreme::for_fn(f);
                for_each_window(&arg, samples, |i, lo, w| {
                    if invalid.is_some() {
                        return;
                    }
                    if let Some(sliding) = &mut sliding {
                        vals[i] = sliding.window(samples, lo, lo + w.len());
                        any = true;
                        return;
                    }
                    if !scalars.is_empty() {
                        for (k, sc) in scalars.iter().enumerate() {
                            step_args[k] = sc[i];
                        }
                        if let Err(e) = f.validate_args(&step_args) {
                            invalid = Some(e);
                            return;
                        }
                    }
                    let hi = lo + w.len();
                    if counter_fn {
                        while scanned < hi {
                            if samples[scanned].1 < samples[scanned - 1].1 {
                                last_reset = scanned;
                            }
                            scanned += 1;
                        }
                    }
                    let end = arg.ends[i];
                    let window = Window {
                        samples: w,
                        range_start: end - arg.range,
                        range_end: end,
                        eval_ts: g.t(i),
                        metric_name,
                        counter_resets: counter_fn.then_some(last_reset > lo),
                    };
                    if let Some(v) = f.apply_with_scratch(&window, &step_args, annos, &mut scratch)
                    {
                        vals[i] = v;
                        any = true;
                    }
                });
                if let Some(e) = invalid {
                    return Err(Error::Execution(e));
                }
                if !any {
                    return Ok(());
                }
                if let Some(info) = f.non_counter_info(metric_name) {
                    annos.info(info);
                }
                sink(ev, state, labels, drop_name || !keeps_name, vals)
            },
        )?;
        Ok(parts.into_iter().map(|(state, _)| state).collect())
    }

    /// Groups classic-histogram bucket series (`le`) by their other labels and computes
    /// `f(step, buckets, metric name, annotations)` for each group and step.
    fn classic_histograms(
        &mut self,
        v: &[Series],
        g: Grid,
        mut f: impl FnMut(usize, &mut Vec<Bucket>, &str, &mut crate::value::Annotations) -> f64,
    ) -> Vec<Series> {
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<(Labels, Vec<(f64, usize)>)> = Vec::new();
        for (si, s) in v.iter().enumerate() {
            let le = s.labels.get("le");
            let Some(upper) = parse_go_float(le) else {
                self.annos.warn(buckets::bad_bucket_label_warning(
                    s.labels.get("__name__"),
                    le,
                ));
                continue;
            };
            let mut b = s.labels.to_builder();
            b.del("le");
            let key = b.build();
            let n = groups.len();
            let gi = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                n
            });
            groups[gi].1.push((upper, si));
        }
        let mut out = Vec::new();
        let mut buckets = Vec::new();
        for (labels, members) in groups {
            let name = labels.get("__name__").to_string();
            let mut vals = vec![ABSENT; g.len];
            for (i, slot) in vals.iter_mut().enumerate() {
                buckets.clear();
                for &(upper, si) in &members {
                    let c = v[si].vals[i];
                    if is_present(c) {
                        buckets.push(Bucket {
                            upper_bound: upper,
                            count: c,
                        });
                    }
                }
                if !buckets.is_empty() {
                    *slot = f(i, &mut buckets, &name, &mut self.annos);
                }
            }
            if vals.iter().any(|x| is_present(*x)) {
                out.push(Series {
                    labels,
                    vals,
                    drop_name: true,
                });
            }
        }
        out
    }
}

/// Calls `f(step, first index, window)` for every step whose window, the samples in
/// `(end - range, end]`, holds any. Window ends never decrease, so two cursors suffice, and
/// the steps before the first sample and after the last one's reach are skipped without
/// looking at them (a series often covers a small part of a long range query).
pub(crate) fn for_each_window(
    arg: &RangeArg,
    samples: &[(i64, f64)],
    mut f: impl FnMut(usize, usize, &[(i64, f64)]),
) {
    let (Some(&(first, _)), Some(&(last, _))) = (samples.first(), samples.last()) else {
        return;
    };
    let from = arg.ends.partition_point(|&end| end < first);
    let to = arg
        .ends
        .partition_point(|&end| end.saturating_sub(arg.range) < last);
    let (mut lo, mut hi) = (0usize, 0usize);
    for (i, &end) in arg.ends.iter().enumerate().take(to).skip(from) {
        let start = end - arg.range;
        while hi < samples.len() && samples[hi].0 <= end {
            hi += 1;
        }
        while lo < hi && samples[lo].0 <= start {
            lo += 1;
        }
        if lo < hi {
            f(i, lo, &samples[lo..hi]);
        }
    }
}

/// Compares label values "naturally": runs of digits as numbers, the rest as text.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let chunks = |s: &str| -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, text)) if *d == digit => text.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    };
    let (x, y) = (chunks(a), chunks(b));
    for (p, q) in x.iter().zip(&y) {
        let ord = if p.0 && q.0 {
            let (pt, qt) = (p.1.trim_start_matches('0'), q.1.trim_start_matches('0'));
            pt.len().cmp(&qt.len()).then_with(|| pt.cmp(qt))
        } else {
            p.1.cmp(&q.1)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    x.len().cmp(&y.len())
}

/// A float as OpenMetrics writes it in a label (`0.5`, `1.0`, `+Inf`): integers keep a `.0`.
fn format_openmetrics_float(v: f64) -> String {
    match math::non_finite(v) {
        Some(s) => s.to_string(),
        None if v == v.trunc() && v.abs() < 1e15 => format!("{v:.1}"),
        None => math::format_go_float(v),
    }
}

/// Parses a float as Go's `strconv.ParseFloat` does for `le` labels.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches('+');
    match t.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => {
            return Some(if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if s.is_empty() || s.contains(|c: char| c == '_' || c.is_whitespace()) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// `label_replace`/`label_join`: sets `dst` to `value(labels)` on every series where it gives
/// one (an empty value removes the label); setting `__name__` keeps the name at the end.
/// Series that become equal are joined as [`merge_disjoint`] does.
fn set_label_on_each(
    mut v: Vec<Series>,
    dst: &str,
    value: impl Fn(&Labels) -> Option<String>,
) -> Result<Vec<Series>, Error> {
    for s in &mut v {
        if let Some(new) = value(&s.labels) {
            let mut b = s.labels.to_builder();
            set_label(&mut b, dst, &new);
            s.labels = b.build();
            if dst == "__name__" {
                s.drop_name = false;
            }
        }
    }
    merge_disjoint(v)
}

/// Joins series whose labels became equal (after `label_replace`/`label_join`) when their
/// steps do not overlap; overlapping ones are an error, as in Prometheus.
fn merge_disjoint(v: Vec<Series>) -> Result<Vec<Series>, Error> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::with_capacity(v.len());
    for s in v {
        if let Some(&i) = index.get(&s.labels) {
            let dst = &mut out[i];
            for (d, x) in dst.vals.iter_mut().zip(&s.vals) {
                if is_present(*x) {
                    if is_present(*d) {
                        return Err(Error::Execution(
                            "vector cannot contain metrics with the same labelset".into(),
                        ));
                    }
                    *d = *x;
                }
            }
            dst.drop_name |= s.drop_name;
        } else {
            index.insert(s.labels.clone(), out.len());
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every step's window by definition: the samples in `(end - range, end]`.
    fn windows_by_scan(arg: &RangeArg, samples: &[(i64, f64)]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for (i, &end) in arg.ends.iter().enumerate() {
            let inside: Vec<usize> = (0..samples.len())
                .filter(|&k| samples[k].0 > end - arg.range && samples[k].0 <= end)
                .collect();
            if let (Some(&lo), Some(&hi)) = (inside.first(), inside.last()) {
                out.push((i, lo, hi + 1));
            }
        }
        out
    }

    #[test]
    fn windows_are_the_non_empty_ones_of_every_step() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for case in 0..500 {
            // Samples with gaps, steps before, among and after them; an @ time repeats one end.
            let mut samples = Vec::new();
            let mut t = next(200) as i64;
            for _ in 0..next(40) {
                t += 1 + next(if case % 3 == 0 { 90 } else { 15 }) as i64;
                samples.push((t, 0.0));
            }
            let range = 1 + next(120) as i64;
            let ends: Vec<i64> = if case % 7 == 0 {
                vec![next(600) as i64; 5]
            } else {
                let (start, step) = (next(300) as i64 - 100, 1 + next(30) as i64);
                (0..next(60)).map(|i| start + i as i64 * step).collect()
            };
            let arg = RangeArg { ends, range };
            let mut got = Vec::new();
            for_each_window(&arg, &samples, |i, lo, w| got.push((i, lo, lo + w.len())));
            assert_eq!(got, windows_by_scan(&arg, &samples), "case {case}");
        }
    }
}
