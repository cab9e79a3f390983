//! Aggregation operators (`sum by (job) (...)`, `topk`, `count_values`, ...).

use std::collections::HashMap;

use model::labels::Labels;
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use super::{ABSENT, Evaluator, Grid, Ordinals, Series, Val, is_present, picks_label, set_label};
use crate::functions::buckets::{invalid_quantile_warning, quantile};
use crate::functions::math::format_go_float;
use crate::functions::window::kahan_inc;
use crate::value::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Quantile,
    Topk,
    Bottomk,
    Limitk,
    CountValues,
}

impl AggOp {
    fn parse(s: &str) -> Result<AggOp, Error> {
        Ok(match s {
            "sum" => AggOp::Sum,
            "avg" => AggOp::Avg,
            "count" => AggOp::Count,
            "min" => AggOp::Min,
            "max" => AggOp::Max,
            "group" => AggOp::Group,
            "stddev" => AggOp::Stddev,
            "stdvar" => AggOp::Stdvar,
            "quantile" => AggOp::Quantile,
            "topk" => AggOp::Topk,
            "bottomk" => AggOp::Bottomk,
            "limitk" => AggOp::Limitk,
            "count_values" => AggOp::CountValues,
            other => {
                return Err(Error::BadData(format!(
                    "aggregation {other:?} is not supported"
                )));
            }
        })
    }
}

/// `by (...)` / `without (...)` grouping.
struct Grouping {
    without: bool,
    labels: Vec<String>,
}

impl Grouping {
    fn from(m: &Option<LabelModifier>) -> Grouping {
        match m {
            None => Grouping {
                without: false,
                labels: Vec::new(),
            },
            Some(LabelModifier::Include(l)) => Grouping {
                without: false,
                labels: l.labels.clone(),
            },
            Some(LabelModifier::Exclude(l)) => Grouping {
                without: true,
                labels: l.labels.clone(),
            },
        }
    }

    /// The output labels of the group `l` belongs to (also its key).
    fn group_labels(&self, l: &Labels) -> Labels {
        if !self.without && self.labels.is_empty() {
            return Labels::empty();
        }
        l.filter(|x| picks_label(&self.labels, !self.without, &x.name))
    }
}

/// Running state of one group at one step.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    seen: bool,
    value: f64,
    kahan: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

impl Acc {
    fn first(op: AggOp, f: f64) -> Acc {
        let value = match op {
            AggOp::Stddev | AggOp::Stdvar => {
                if f.is_nan() || f.is_infinite() {
                    f64::NAN
                } else {
                    0.0
                }
            }
            AggOp::Group => 1.0,
            _ => f,
        };
        Acc {
            seen: true,
            value,
            kahan: 0.0,
            mean: f,
            count: 1.0,
            incremental: false,
        }
    }

    fn add(&mut self, op: AggOp, f: f64) {
        match op {
            AggOp::Sum => (self.value, self.kahan) = kahan_inc(f, self.value, self.kahan),
            AggOp::Avg => {
                self.count += 1.0;
                if !self.incremental {
                    let (v, c) = kahan_inc(f, self.value, self.kahan);
                    if !v.is_infinite() {
                        (self.value, self.kahan) = (v, c);
                        return;
                    }
                    // The sum overflows: continue with an incremental mean.
                    self.incremental = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.kahan /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.kahan) = kahan_inc(f / self.count, q * self.mean, q * self.kahan);
            }
            AggOp::Max if self.value < f || self.value.is_nan() => self.value = f,
            AggOp::Min if self.value > f || self.value.is_nan() => self.value = f,
            AggOp::Count => self.count += 1.0,
            AggOp::Stddev | AggOp::Stdvar => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            _ => {}
        }
    }

    fn result(&self, op: AggOp) -> f64 {
        match op {
            AggOp::Sum => self.value + self.kahan,
            AggOp::Avg if self.incremental => self.mean + self.kahan,
            AggOp::Avg => self.value / self.count + self.kahan / self.count,
            AggOp::Count => self.count,
            AggOp::Stdvar => self.value / self.count,
            AggOp::Stddev => (self.value / self.count).sqrt(),
            _ => self.value,
        }
    }
}

impl Evaluator<'_> {
    pub(crate) fn aggregate(&mut self, a: &AggregateExpr, g: Grid) -> Result<Val, Error> {
        let op = AggOp::parse(&a.op.to_string())?;
        let grouping = Grouping::from(&a.modifier);
        if op == AggOp::CountValues {
            let label = match a.param.as_deref().map(super::unparen) {
                Some(Expr::StringLiteral(s)) => s.val.clone(),
                _ => {
                    return Err(Error::BadData(
                        "count_values expects a string label name as its first argument".into(),
                    ));
                }
            };
            if label.is_empty() {
                return Err(Error::Execution(format!("invalid label name {label:?}")));
            }
            let input = self.eval_vector(&a.expr, g)?;
            return Ok(Val::Vector(count_values(
                self, &input, &grouping, &label, g,
            )?));
        }
        let param = match (&a.param, op) {
            (Some(p), AggOp::Quantile | AggOp::Topk | AggOp::Bottomk | AggOp::Limitk) => {
                Some(self.eval_scalar(p, g)?)
            }
            _ => None,
        };
        let input = self.eval_vector(&a.expr, g)?;
        let held: usize = input.len() * g.len;

        // Group index of every input series, in order of first appearance; a group's labels
        // are built once.
        let mut ids = Ordinals::with_capacity(input.len().min(1 << 16));
        let mut groups: Vec<Labels> = Vec::new();
        let member: Vec<usize> = input
            .iter()
            .map(|s| {
                let (id, new) = ids.of(&s.labels, &grouping.labels, !grouping.without);
                if new {
                    groups.push(grouping.group_labels(&s.labels));
                }
                id
            })
            .collect();

        let groups_len = groups.len();
        let out = match op {
            AggOp::Topk | AggOp::Bottomk | AggOp::Limitk => {
                let ks = param.expect("k parameter evaluated");
                self.aggregate_k(op, &input, &member, groups.len(), &ks, g)?
            }
            AggOp::Quantile => {
                let qs = param.expect("quantile parameter evaluated");
                if qs.iter().any(|q| q.is_nan()) {
                    self.annos.warn(invalid_quantile_warning(f64::NAN));
                }
                if let Some(max) = qs.iter().copied().filter(|q| *q > 1.0).reduce(f64::max) {
                    self.annos.warn(invalid_quantile_warning(max));
                }
                if let Some(min) = qs.iter().copied().filter(|q| *q < 0.0).reduce(f64::min) {
                    self.annos.warn(invalid_quantile_warning(min));
                }
                self.hold(groups.len() * g.len + held)?;
                let mut values: Vec<Vec<f64>> = vec![Vec::new(); groups.len() * g.len];
                for (s, &gi) in input.iter().zip(&member) {
                    for (i, v) in s.vals.iter().enumerate() {
                        if is_present(*v) {
                            values[gi * g.len + i].push(*v);
                        }
                    }
                }
                let mut out = Vec::new();
                for (gi, labels) in groups.into_iter().enumerate() {
                    let mut vals = vec![ABSENT; g.len];
                    for (i, v) in vals.iter_mut().enumerate() {
                        let vs = &mut values[gi * g.len + i];
                        if !vs.is_empty() {
                            *v = quantile(qs[i], vs);
                        }
                    }
                    let drop_name = input
                        .iter()
                        .zip(&member)
                        .any(|(s, m)| *m == gi && s.drop_name);
                    out.push(Series {
                        labels,
                        vals,
                        drop_name,
                    });
                }
                out
            }
            _ => {
                // Accumulators are six words a slot.
                self.hold(groups.len() * g.len * 6)?;
                let mut accs = vec![Acc::default(); groups.len() * g.len];
                let mut drop = vec![false; groups.len()];
                for (n, (s, &gi)) in input.iter().zip(&member).enumerate() {
                    if n % 256 == 0 {
                        self.check_deadline()?;
                    }
                    drop[gi] |= s.drop_name;
                    let row = &mut accs[gi * g.len..(gi + 1) * g.len];
                    for (acc, &v) in row.iter_mut().zip(&s.vals) {
                        if !is_present(v) {
                            continue;
                        }
                        if acc.seen {
                            acc.add(op, v);
                        } else {
                            *acc = Acc::first(op, v);
                        }
                    }
                }
                groups
                    .into_iter()
                    .enumerate()
                    .map(|(gi, labels)| Series {
                        labels,
                        vals: accs[gi * g.len..(gi + 1) * g.len]
                            .iter()
                            .map(|a| if a.seen { a.result(op) } else { ABSENT })
                            .collect(),
                        drop_name: drop[gi],
                    })
                    .collect()
            }
        };
        let out: Vec<Series> = out
            .into_iter()
            .filter(|s| s.vals.iter().any(|v| is_present(*v)))
            .collect();
        self.release(held);
        if matches!(op, AggOp::Quantile) {
            self.release(groups_len * g.len + held);
        } else if !matches!(op, AggOp::Topk | AggOp::Bottomk | AggOp::Limitk) {
            self.release(groups_len * g.len * 6);
        }
        self.hold(out.len() * g.len)?;
        Ok(Val::Vector(out))
    }

    /// `topk`, `bottomk`, `limitk`: the selected input series keep their labels.
    fn aggregate_k(
        &mut self,
        op: AggOp,
        input: &[Series],
        member: &[usize],
        ngroups: usize,
        ks: &[f64],
        g: Grid,
    ) -> Result<Vec<Series>, Error> {
        if ks.iter().any(|k| k.is_nan()) {
            return Err(Error::Execution("Parameter value is NaN".into()));
        }
        if ks.iter().copied().fold(f64::NEG_INFINITY, f64::max) < 1.0 {
            return Ok(Vec::new());
        }
        if let Some(k) = ks.iter().find(|k| **k <= i64::MIN as f64) {
            return Err(Error::Execution(format!(
                "Scalar value {} underflows int64",
                format_go_float(*k)
            )));
        }
        if let Some(k) = ks.iter().find(|k| **k >= i64::MAX as f64) {
            return Err(Error::Execution(format!(
                "Scalar value {} overflows int64",
                format_go_float(*k)
            )));
        }
        // Output series in the order an instant query shows them: group by group, best first.
        let mut out: Vec<Series> = Vec::new();
        let mut out_index: HashMap<usize, usize> = HashMap::new();
        let mut candidates: Vec<Vec<usize>> = vec![Vec::new(); ngroups];
        for (i, &k) in ks.iter().enumerate().take(g.len) {
            if i % 64 == 0 {
                self.check_deadline()?;
            }
            let k = (k as i64).min(input.len() as i64);
            if k < 1 {
                continue;
            }
            candidates.iter_mut().for_each(Vec::clear);
            for (si, s) in input.iter().enumerate() {
                if is_present(s.vals[i]) {
                    candidates[member[si]].push(si);
                }
            }
            for c in candidates.iter_mut() {
                // Best first; NaN always last; ties go to the series met first.
                let sign = if op == AggOp::Bottomk { -1.0 } else { 1.0 };
                let better = |&a: &usize, &b: &usize| {
                    rank(sign * input[b].vals[i], sign * input[a].vals[i]).then(a.cmp(&b))
                };
                if op != AggOp::Limitk {
                    if c.len() > k as usize {
                        c.select_nth_unstable_by(k as usize - 1, better);
                        c.truncate(k as usize);
                    }
                    c.sort_unstable_by(better);
                }
                for &si in c.iter().take(k as usize) {
                    let oi = *out_index.entry(si).or_insert_with(|| {
                        out.push(Series {
                            labels: input[si].labels.clone(),
                            vals: vec![ABSENT; g.len],
                            drop_name: input[si].drop_name,
                        });
                        out.len() - 1
                    });
                    out[oi].vals[i] = input[si].vals[i];
                }
            }
        }
        Ok(out)
    }
}

/// Orders values ascending with NaN lowest (so a descending sort puts NaN last).
fn rank(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// `count_values("label", v)`: how many series have each value, per group.
fn count_values(
    ev: &Evaluator<'_>,
    input: &[Series],
    grouping: &Grouping,
    label: &str,
    g: Grid,
) -> Result<Vec<Series>, Error> {
    let mut grouping_with_label = Grouping {
        without: grouping.without,
        labels: grouping.labels.clone(),
    };
    if !grouping.without {
        grouping_with_label.labels.push(label.to_string());
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::new();
    for s in input {
        for (i, v) in s.vals.iter().enumerate() {
            if !is_present(*v) {
                continue;
            }
            let mut b = s.labels.to_builder();
            set_label(&mut b, label, &format_value_label(*v));
            let labels = grouping_with_label.group_labels(&b.build());
            let oi = match index.get(&labels) {
                Some(&oi) => oi,
                None => {
                    ev.hold(g.len)?;
                    index.insert(labels.clone(), out.len());
                    out.push(Series {
                        labels,
                        vals: vec![ABSENT; g.len],
                        drop_name: false,
                    });
                    out.len() - 1
                }
            };
            let slot = &mut out[oi].vals[i];
            *slot = if is_present(*slot) { *slot + 1.0 } else { 1.0 };
        }
    }
    Ok(out)
}

/// A float as `count_values` writes it into a label: shortest decimal, no exponent.
fn format_value_label(v: f64) -> String {
    match crate::functions::math::non_finite(v) {
        Some(s) => s.to_string(),
        None => format!("{v}"),
    }
}
