//! Comparing query results with an eval's expectations, as the upstream runner does.

use std::collections::BTreeMap;

use model::labels::Labels;
use promql::{Annotations, RangeSeries, Sample, Value};

use super::script::{EvalCmd, ExpectKind, ExpectedSeries, SeqValue, TextMatch};

const EPSILON: f64 = 1e-6;
const MIN_NORMAL: f64 = 2.2250738585072014e-308;

/// Upstream's `almost.Equal` with ε = 1e-6: the staleness NaN equals only itself, any two
/// other NaNs are equal, zero must be matched (almost) exactly, otherwise the difference is
/// relative to the sum of magnitudes.
pub fn almost_equal(exp: f64, act: f64) -> bool {
    if model::is_stale_nan(exp) || model::is_stale_nan(act) {
        return model::is_stale_nan(exp) && model::is_stale_nan(act);
    }
    if exp.is_nan() && act.is_nan() {
        return true;
    }
    if exp == act {
        return true;
    }
    let abs_sum = exp.abs() + act.abs();
    let diff = (exp - act).abs();
    if exp == 0.0 || act == 0.0 || abs_sum < MIN_NORMAL {
        return diff < EPSILON * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// A float as Go's `%v` would show it (`stale` for the staleness marker).
pub fn fmt_f64(v: f64) -> String {
    if model::is_stale_nan(v) {
        "stale".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn fmt_seq(v: &SeqValue) -> String {
    match v {
        SeqValue::Omitted => "_".into(),
        SeqValue::Float(f) => fmt_f64(*f),
        SeqValue::Histogram(h) => h.clone(),
    }
}

fn fmt_points(points: &[(i64, f64)]) -> String {
    const MAX: usize = 8;
    let mut s: Vec<String> = points
        .iter()
        .take(MAX)
        .map(|(t, v)| format!("{}@{t}", fmt_f64(*v)))
        .collect();
    if points.len() > MAX {
        s.push(format!("… ({} points)", points.len()));
    }
    format!("[{}]", s.join(" "))
}

/// How an eval's result is to be read.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Expected value k of a series is at `start + k*step`, never after `end`.
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub ordered: bool,
}

impl Ctx {
    /// For an instant eval: points only with `expect range vector` (upstream's zero end time
    /// otherwise makes any expected matrix point an error).
    pub fn instant(ev: &EvalCmd, t: i64) -> Ctx {
        let (start, end, step) = ev.range_vector.unwrap_or((t, i64::MIN, 0));
        Ctx {
            start,
            end,
            step,
            ordered: ev.is_ordered(),
        }
    }

    pub fn range(ev: &EvalCmd, start: i64, end: i64, step: i64) -> Ctx {
        Ctx {
            start,
            end,
            step,
            ordered: ev.is_ordered(),
        }
    }
}

/// Compares `value` with the expectations; on mismatch, a short diff (one item per line).
pub fn compare_value(ev: &EvalCmd, ctx: &Ctx, value: &Value) -> Result<(), String> {
    match value {
        Value::Matrix(m) => compare_matrix(ev, ctx, m),
        Value::Vector(v) => compare_vector(ev, ctx.ordered, v),
        Value::Scalar { v, .. } => match ev.expected_scalar {
            None => Err(format!(
                "expected {}, got scalar {}",
                expected_kind(ev),
                fmt_f64(*v)
            )),
            Some(e) if !almost_equal(e, *v) => Err(format!(
                "expected scalar {}, got {}",
                fmt_f64(e),
                fmt_f64(*v)
            )),
            Some(_) => Ok(()),
        },
        Value::String { v, .. } => {
            let want = ev.expected_string.as_deref().unwrap_or("");
            if want == v {
                Ok(())
            } else {
                Err(format!("expected string {want:?}, got string {v:?}"))
            }
        }
    }
}

fn expected_kind(ev: &EvalCmd) -> &'static str {
    if ev.expected_scalar.is_some() {
        "a scalar"
    } else if ev.expected_string.is_some() {
        "a string"
    } else if ev.series.is_empty() {
        "an empty vector or matrix"
    } else {
        "a vector or matrix"
    }
}

fn expected_map(ev: &EvalCmd) -> BTreeMap<&Labels, &ExpectedSeries> {
    ev.series.iter().map(|s| (&s.labels, s)).collect()
}

/// Compares an instant vector (also used for the range-mode re-run, at one step).
pub fn compare_vector(ev: &EvalCmd, ordered: bool, v: &[Sample]) -> Result<(), String> {
    if let Some(e) = ev.expected_scalar {
        return Err(format!(
            "expected scalar {}, got a vector of {} sample(s){}",
            fmt_f64(e),
            v.len(),
            v.first().map_or(String::new(), |s| format!(
                ": {} {} …",
                s.labels,
                fmt_f64(s.v)
            ))
        ));
    }
    if ev.expected_string.is_some() {
        return Err("expected a string, got a vector".into());
    }
    let exp = expected_map(ev);
    let mut issues = Vec::new();
    let mut seen = BTreeMap::new();
    for (pos, s) in v.iter().enumerate() {
        if seen.insert(&s.labels, ()).is_some() {
            issues.push(format!(
                "duplicate series in result: {} {}",
                s.labels,
                fmt_f64(s.v)
            ));
            continue;
        }
        let Some(e) = exp.get(&s.labels) else {
            issues.push(format!("+ unexpected {} {}", s.labels, fmt_f64(s.v)));
            continue;
        };
        if ordered && e.pos != pos {
            issues.push(format!(
                "order: {} expected at position {}, got {}",
                s.labels,
                e.pos + 1,
                pos + 1
            ));
        }
        match e.values.first() {
            None => issues.push(format!("{}: no expected value in the script", s.labels)),
            Some(SeqValue::Histogram(h)) => issues.push(format!(
                "{}: expected histogram {h}, got float {}",
                s.labels,
                fmt_f64(s.v)
            )),
            Some(x) => {
                let want = if let SeqValue::Float(f) = x { *f } else { 0.0 };
                if !almost_equal(want, s.v) {
                    issues.push(format!(
                        "~ {}: expected {}, got {}",
                        s.labels,
                        fmt_f64(want),
                        fmt_f64(s.v)
                    ));
                }
            }
        }
    }
    for e in &ev.series {
        if !seen.contains_key(&e.labels) {
            let want = e.values.first().map_or("?".into(), fmt_seq);
            issues.push(format!("- missing {} {want}", e.labels));
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues.join("\n"))
    }
}

fn compare_matrix(ev: &EvalCmd, ctx: &Ctx, m: &[RangeSeries]) -> Result<(), String> {
    if ctx.ordered {
        return Err("expected ordered result, but query returned a matrix".into());
    }
    if let Some(e) = ev.expected_scalar {
        return Err(format!(
            "expected scalar {}, got a matrix of {} series",
            fmt_f64(e),
            m.len()
        ));
    }
    if ev.expected_string.is_some() {
        return Err("expected a string, got a matrix".into());
    }
    let mut issues = Vec::new();
    if let Some(w) = m.windows(2).find(|w| w[0].labels > w[1].labels) {
        issues.push(format!(
            "matrix not sorted by labels: {} before {}",
            w[0].labels, w[1].labels
        ));
    }
    let exp = expected_map(ev);
    let mut seen = BTreeMap::new();
    for s in m {
        if seen.insert(&s.labels, ()).is_some() {
            issues.push(format!("duplicate series in result: {}", s.labels));
            continue;
        }
        let Some(e) = exp.get(&s.labels) else {
            issues.push(format!(
                "+ unexpected {} {}",
                s.labels,
                fmt_points(&s.points)
            ));
            continue;
        };
        let mut want: Vec<(i64, f64)> = Vec::new();
        let mut histograms = 0;
        let mut too_many = false;
        for (k, v) in e.values.iter().enumerate() {
            let t = ctx.start + k as i64 * ctx.step;
            if t > ctx.end {
                too_many = true;
                break;
            }
            match v {
                SeqValue::Omitted => {}
                SeqValue::Float(f) => want.push((t, *f)),
                SeqValue::Histogram(_) => histograms += 1,
            }
        }
        if too_many {
            issues.push(format!(
                "{}: expected {} points, but the query time range cannot return this many",
                s.labels,
                e.values.len()
            ));
            continue;
        }
        if histograms > 0 {
            issues.push(format!(
                "{}: expected {histograms} histogram point(s), got floats only",
                s.labels
            ));
            continue;
        }
        let same = want.len() == s.points.len()
            && want
                .iter()
                .zip(&s.points)
                .all(|(w, g)| w.0 == g.0 && almost_equal(w.1, g.1));
        if !same {
            issues.push(format!(
                "~ {}: expected {}, got {}",
                s.labels,
                fmt_points(&want),
                fmt_points(&s.points)
            ));
        }
    }
    for e in &ev.series {
        if !seen.contains_key(&e.labels) {
            let vals: Vec<String> = e.values.iter().take(8).map(fmt_seq).collect();
            issues.push(format!("- missing {} {}", e.labels, vals.join(" ")));
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues.join("\n"))
    }
}

/// The range-mode re-run of an instant eval: the points of a range query at `t`, compared like
/// the instant result (order not checked).
pub fn compare_range_mode(
    ev: &EvalCmd,
    instant_was_scalar: bool,
    m: &Value,
    t: i64,
) -> Result<(), String> {
    let Value::Matrix(m) = m else {
        return Err(format!(
            "range query returned a {}, not a matrix",
            m.type_name()
        ));
    };
    if let Some(w) = m.windows(2).find(|w| w[0].labels > w[1].labels) {
        return Err(format!(
            "matrix not sorted by labels: {} before {}",
            w[0].labels, w[1].labels
        ));
    }
    let vec: Vec<Sample> = m
        .iter()
        .filter_map(|s| {
            s.points.iter().find(|p| p.0 == t).map(|p| Sample {
                labels: s.labels.clone(),
                t,
                v: p.1,
            })
        })
        .collect();
    if instant_was_scalar {
        let Some(first) = vec.first() else {
            return Err(format!("scalar query: no point at t={t}ms in range mode"));
        };
        let v = Value::Scalar { t, v: first.v };
        return compare_value(ev, &Ctx::instant(ev, t), &v);
    }
    compare_vector(ev, false, &vec)
}

/// Outcome of checking annotations: `failure` for a missing or forbidden kind (a test
/// failure), `text` for a `msg:`/`regex:` mismatch (advisory).
#[derive(Debug, Default)]
pub struct AnnoCheck {
    pub failure: Option<String>,
    pub text: Option<String>,
}

pub fn check_annotations(ev: &EvalCmd, a: &Annotations) -> AnnoCheck {
    let mut out = AnnoCheck::default();
    let kinds = [
        (
            "warn",
            ExpectKind::Warn,
            ExpectKind::NoWarn,
            ev.legacy_warn,
            &a.warnings,
        ),
        (
            "info",
            ExpectKind::Info,
            ExpectKind::NoInfo,
            ev.legacy_info,
            &a.infos,
        ),
    ];
    for (name, yes, no, legacy, got) in kinds {
        let wanted: Vec<&TextMatch> = ev.expects_of(yes).collect();
        if (legacy || !wanted.is_empty()) && got.is_empty() {
            out.failure
                .get_or_insert(format!("expected {name} annotation(s), got none"));
            continue;
        }
        if ev.has(no) && !got.is_empty() {
            out.failure
                .get_or_insert(format!("unexpected {name} annotation(s): {got:?}"));
            continue;
        }
        if wanted.is_empty() || wanted.iter().all(|w| w.is_any()) {
            continue;
        }
        for w in &wanted {
            if !got.iter().any(|g| w.matches(g)) {
                out.text
                    .get_or_insert(format!("no {name} annotation matching {w}; got {got:?}"));
            }
        }
        for g in got.iter() {
            if !wanted.iter().any(|w| w.matches(g)) {
                out.text
                    .get_or_insert(format!("unexpected {name} annotation text {g:?}"));
            }
        }
    }
    out
}

/// Advisory check of an expected failure's text: `Some(mismatch)` if it does not match.
pub fn check_fail_text(ev: &EvalCmd, err: &str) -> Option<String> {
    let want = ev
        .expects_of(ExpectKind::Fail)
        .next()
        .filter(|t| !t.is_any())
        .or(ev.legacy_fail_text.as_ref())?;
    (!want.matches(err)).then(|| format!("error text: expected {want}, got {err:?}"))
}
