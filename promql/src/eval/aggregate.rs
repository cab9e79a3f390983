//! Aggregation operators (`sum by (job) (...)`, `topk`, `count_values`, ...).

use std::collections::HashMap;

use model::labels::Labels;
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use super::binary::BinaryFold;
use super::{
    ABSENT, Evaluator, Grid, Ordinals, Series, Val, is_present, picks_label, set_label, unparen,
};
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

    /// Folds in `o`, the state of the same group and step over later input series.
    fn merge(&mut self, op: AggOp, o: &Acc) {
        match op {
            AggOp::Sum => {
                (self.value, self.kahan) = kahan_inc(o.value, self.value, self.kahan);
                self.kahan += o.kahan;
            }
            AggOp::Avg => {
                let n = self.count + o.count;
                if !self.incremental && !o.incremental {
                    let (v, c) = kahan_inc(o.value, self.value, self.kahan);
                    if !v.is_infinite() {
                        (self.value, self.kahan, self.count) = (v, c + o.kahan, n);
                        return;
                    }
                }
                // A sum that overflows: the two parts' means, weighted by their counts.
                let (a, b) = (self.result(op), o.result(op));
                self.mean = a * (self.count / n) + b * (o.count / n);
                (self.kahan, self.count, self.incremental) = (0.0, n, true);
            }
            AggOp::Max | AggOp::Min => self.add(op, o.value),
            AggOp::Count => self.count += o.count,
            AggOp::Stddev | AggOp::Stdvar => {
                // Sums of squared deviations of two parts (Chan, Golub and LeVeque).
                let n = self.count + o.count;
                let delta = o.mean - self.mean;
                self.value += o.value + delta * delta * (self.count * o.count / n);
                self.mean += delta * (o.count / n);
                self.count = n;
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

/// The groups of an aggregation computed with [`Acc`] (`sum`, `avg`, `count`, `min`, `max`,
/// `group`, `stddev`, `stdvar`) and their state at every step, fed one input series at a
/// time. Contiguous parts of the input folded on different threads are merged in order.
struct GroupFold<'a> {
    op: AggOp,
    grouping: &'a Grouping,
    steps: usize,
    ids: Ordinals,
    /// Output labels, in order of first appearance.
    groups: Vec<Labels>,
    /// `steps` states per group.
    accs: Vec<Acc>,
    drop_name: Vec<bool>,
}

impl<'a> GroupFold<'a> {
    fn new(op: AggOp, grouping: &'a Grouping, steps: usize) -> GroupFold<'a> {
        GroupFold {
            op,
            grouping,
            steps,
            ids: Ordinals::with_capacity(0),
            groups: Vec::new(),
            accs: Vec::new(),
            drop_name: Vec::new(),
        }
    }

    fn foldable(op: AggOp) -> bool {
        matches!(
            op,
            AggOp::Sum
                | AggOp::Avg
                | AggOp::Count
                | AggOp::Min
                | AggOp::Max
                | AggOp::Group
                | AggOp::Stddev
                | AggOp::Stdvar
        )
    }

    /// The row of the group `labels` belongs to, made if new (then `true`).
    fn row(&mut self, labels: &Labels, picked: bool) -> (usize, bool) {
        let (gi, new) = self
            .ids
            .of(labels, &self.grouping.labels, !self.grouping.without);
        if new {
            self.groups.push(if picked {
                labels.clone()
            } else {
                self.grouping.group_labels(labels)
            });
            self.accs
                .resize(self.accs.len() + self.steps, Acc::default());
            self.drop_name.push(false);
        }
        (gi, new)
    }

    /// Adds one input series' values; `true` if it opened a group.
    fn add(&mut self, labels: &Labels, drop_name: bool, vals: &[f64]) -> bool {
        let (gi, new) = self.row(labels, false);
        self.drop_name[gi] |= drop_name;
        let op = self.op;
        let row = &mut self.accs[gi * self.steps..(gi + 1) * self.steps];
        for (acc, &v) in row.iter_mut().zip(vals) {
            if !is_present(v) {
                continue;
            }
            if acc.seen {
                acc.add(op, v);
            } else {
                *acc = Acc::first(op, v);
            }
        }
        new
    }

    /// Folds in the fold of the input series that follow this one's.
    fn merge(&mut self, other: GroupFold<'_>) {
        let op = self.op;
        let steps = self.steps;
        for (oi, labels) in other.groups.iter().enumerate() {
            // A group's labels are its own picked labels.
            let (gi, _) = self.row(labels, true);
            self.drop_name[gi] |= other.drop_name[oi];
            let theirs = &other.accs[oi * steps..(oi + 1) * steps];
            let ours = &mut self.accs[gi * steps..(gi + 1) * steps];
            for (acc, o) in ours.iter_mut().zip(theirs) {
                if !o.seen {
                    continue;
                }
                if acc.seen {
                    acc.merge(op, o);
                } else {
                    *acc = *o;
                }
            }
        }
    }

    /// The groups with a value at some step.
    fn finish(self) -> Vec<Series> {
        let (op, steps) = (self.op, self.steps);
        self.groups
            .into_iter()
            .zip(self.drop_name)
            .enumerate()
            .filter_map(|(gi, (labels, drop_name))| {
                let row = &self.accs[gi * steps..(gi + 1) * steps];
                row.iter().any(|a| a.seen).then(|| Series {
                    labels,
                    vals: row
                        .iter()
                        .map(|a| if a.seen { a.result(op) } else { ABSENT })
                        .collect(),
                    drop_name,
                })
            })
            .collect()
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
        if GroupFold::foldable(op) {
            return self.aggregate_fold(op, &grouping, &a.expr, g);
        }
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
            _ => unreachable!("{op:?} is folded"),
        };
        let out: Vec<Series> = out
            .into_iter()
            .filter(|s| s.vals.iter().any(|v| is_present(*v)))
            .collect();
        self.release(held);
        if matches!(op, AggOp::Quantile) {
            self.release(groups_len * g.len + held);
        }
        self.hold(out.len() * g.len)?;
        Ok(Val::Vector(out))
    }

    /// An aggregation computed with [`Acc`] over `e`. An instant selector, a function
    /// over a range vector, or arithmetic between a selector and a vector (see
    /// [`Evaluator::fold_binary`]) is folded into the groups as each series' values are
    /// placed or computed, on the threads that read the selection, so no per-series row is
    /// kept; anything else is evaluated first.
    fn aggregate_fold(
        &mut self,
        op: AggOp,
        grouping: &Grouping,
        e: &Expr,
        g: Grid,
    ) -> Result<Val, Error> {
        // An accumulator is six words; a group has one per step.
        let row_words = 6 * g.len;
        let new_fold = || GroupFold::new(op, grouping, g.len);
        // Adds one series' values, holding a new group's row.
        let add = |ev: &Self, fold: &mut GroupFold<'_>, labels: &Labels, drop, vals: &[f64]| {
            if fold.add(labels, drop, vals) {
                ev.hold(row_words)?;
            }
            Ok(())
        };
        let rows_of = |parts: &[GroupFold<'_>]| parts.iter().map(|p| p.groups.len()).sum::<usize>();
        let folded = match unparen(e) {
            Expr::Call(c) => {
                self.fold_range_call(c, g, new_fold, |ev, fold, labels, drop, vals| {
                    add(ev, fold, labels, drop, vals)
                })?
            }
            Expr::VectorSelector(vs) => {
                Some(
                    self.fold_selector(vs, g, false, new_fold, |ev, fold, labels, vals, _| {
                        ev.release(vals.len());
                        add(ev, fold, labels, false, vals)
                    })?,
                )
            }
            Expr::Binary(b) => {
                let sink = |ev: &Self, fold: &mut GroupFold<'_>, labels: &Labels, vals: &[f64]| {
                    add(ev, fold, labels, false, vals)
                };
                match self.fold_binary(b, g, new_fold, sink)? {
                    BinaryFold::Folded(parts) => Some(parts),
                    BinaryFold::Undecided(parts) => {
                        self.release(rows_of(&parts) * row_words);
                        None
                    }
                    BinaryFold::NotFolded => None,
                }
            }
            _ => None,
        };
        let (fold, rows) = match folded {
            Some(parts) => {
                let rows = rows_of(&parts);
                let mut parts = parts.into_iter();
                let mut fold = parts.next().unwrap_or_else(new_fold);
                for p in parts {
                    fold.merge(p);
                }
                (fold, rows)
            }
            None => {
                let input = self.eval_vector(e, g)?;
                let mut fold = new_fold();
                for (n, s) in input.iter().enumerate() {
                    if n % 256 == 0 {
                        self.check_deadline()?;
                    }
                    if fold.add(&s.labels, s.drop_name, &s.vals) {
                        self.hold(row_words)?;
                    }
                }
                self.release(input.len() * g.len);
                let rows = fold.groups.len();
                (fold, rows)
            }
        };
        let out = fold.finish();
        self.release(rows * row_words);
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

#[cfg(test)]
mod tests;
