//! Binary operators: arithmetic, comparisons and set operators, with vector matching.

use std::collections::HashMap;

use model::labels::Labels;
use promql_parser::parser::{
    BinaryExpr, LabelModifier, VectorMatchCardinality, VectorMatchFillValues,
};

use super::{ABSENT, Evaluator, Grid, Series, Val, is_metadata_label, is_present, set_label};
use crate::value::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    And,
    Or,
    Unless,
}

impl Op {
    fn parse(s: &str) -> Result<Op, Error> {
        Ok(match s {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "^" => Op::Pow,
            "atan2" => Op::Atan2,
            "==" => Op::Eql,
            "!=" => Op::Neq,
            ">" => Op::Gtr,
            "<" => Op::Lss,
            ">=" => Op::Gte,
            "<=" => Op::Lte,
            "and" => Op::And,
            "or" => Op::Or,
            "unless" => Op::Unless,
            other => {
                return Err(Error::BadData(format!(
                    "unsupported binary operator {other:?}"
                )));
            }
        })
    }

    fn is_comparison(self) -> bool {
        matches!(
            self,
            Op::Eql | Op::Neq | Op::Gtr | Op::Lss | Op::Gte | Op::Lte
        )
    }

    /// Arithmetic changes what the metric means, so its name goes.
    fn changes_metric_schema(self) -> bool {
        matches!(
            self,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod | Op::Pow | Op::Atan2
        )
    }

    /// `(value, keep)`: for comparisons the value is `l` and `keep` says whether it passes.
    #[inline]
    fn apply(self, l: f64, r: f64) -> (f64, bool) {
        match self {
            Op::Add => (l + r, true),
            Op::Sub => (l - r, true),
            Op::Mul => (l * r, true),
            Op::Div => (l / r, true),
            Op::Mod => (go_mod(l, r), true),
            Op::Pow => (l.powf(r), true),
            Op::Atan2 => (l.atan2(r), true),
            Op::Eql => (l, l == r),
            Op::Neq => (l, l != r),
            Op::Gtr => (l, l > r),
            Op::Lss => (l, l < r),
            Op::Gte => (l, l >= r),
            Op::Lte => (l, l <= r),
            Op::And | Op::Or | Op::Unless => (l, true),
        }
    }
}

/// Go's `math.Mod`: the result has the sign of `x` (as Rust's `%` on floats).
#[inline]
fn go_mod(x: f64, y: f64) -> f64 {
    x % y
}

/// How series are matched: the labels that make up the signature.
struct Matching {
    on: bool,
    labels: Vec<String>,
}

impl Matching {
    fn signature(&self, l: &Labels) -> String {
        let mut key = String::new();
        for lab in l.iter() {
            let name: &str = &lab.name;
            let listed = self.labels.iter().any(|x| x == name);
            let take = if self.on {
                listed
            } else {
                !listed && name != "__name__"
            };
            if take {
                key.push_str(name);
                key.push('\u{ff}');
                key.push_str(&lab.value);
                key.push('\u{ff}');
            }
        }
        key
    }

    /// The matching labels of `l`, for error messages.
    fn match_labels(&self, l: &Labels) -> Labels {
        let mut b = l.to_builder();
        b.retain(|x| {
            let listed = self.labels.iter().any(|n| **n == *x.name);
            if self.on {
                listed
            } else {
                !listed && &*x.name != "__name__"
            }
        });
        b.build()
    }
}

/// Assigns each series an ordinal for its signature; equal signatures share one.
fn ordinals(m: &Matching, sides: [&[Series]; 2]) -> (Vec<usize>, Vec<usize>, usize) {
    let mut map: HashMap<String, usize> = HashMap::new();
    let mut out = [Vec::new(), Vec::new()];
    for (k, side) in sides.iter().enumerate() {
        for s in side.iter() {
            let n = map.len();
            let id = *map.entry(m.signature(&s.labels)).or_insert(n);
            out[k].push(id);
        }
    }
    let [a, b] = out;
    (a, b, map.len())
}

impl Evaluator<'_> {
    pub(crate) fn binary(&mut self, b: &BinaryExpr, g: Grid) -> Result<Val, Error> {
        let op = Op::parse(&b.op.to_string())?;
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs, g)?;
        let rhs = self.eval(&b.rhs, g)?;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(&a, &b)| {
                        let (v, keep) = op.apply(a, b);
                        if op.is_comparison() {
                            if keep { 1.0 } else { 0.0 }
                        } else {
                            v
                        }
                    })
                    .collect(),
            )),
            (Val::Vector(l), Val::Scalar(r)) => {
                Ok(Val::Vector(vector_scalar(op, l, &r, false, return_bool)))
            }
            (Val::Scalar(l), Val::Vector(r)) => {
                Ok(Val::Vector(vector_scalar(op, r, &l, true, return_bool)))
            }
            (Val::Vector(l), Val::Vector(r)) => {
                let matching = match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                    Some(LabelModifier::Include(ls)) => Matching {
                        on: true,
                        labels: ls.labels.clone(),
                    },
                    Some(LabelModifier::Exclude(ls)) => Matching {
                        on: false,
                        labels: ls.labels.clone(),
                    },
                    None => Matching {
                        on: false,
                        labels: Vec::new(),
                    },
                };
                let out = match op {
                    Op::And | Op::Or | Op::Unless => set_op(op, l, r, &matching, g),
                    _ => {
                        let card = b
                            .modifier
                            .as_ref()
                            .map(|m| m.card.clone())
                            .unwrap_or(VectorMatchCardinality::OneToOne);
                        let fill = b
                            .modifier
                            .as_ref()
                            .map(|m| m.fill_values.clone())
                            .unwrap_or_default();
                        self.vector_binop(op, l, r, &matching, &card, return_bool, &fill, g)?
                    }
                };
                Ok(Val::Vector(out))
            }
            (l, r) => Err(Error::BadData(format!(
                "binary operator {op:?} not allowed between {} and {}",
                super::val_type(&l),
                super::val_type(&r)
            ))),
        }
    }

    /// Arithmetic and comparisons between two vectors, one step at a time. The "many" side is
    /// iterated and the "one" side looked up by signature; `fill` supplies a value for a side
    /// without a match (`fill`, `fill_left`, `fill_right`).
    #[allow(clippy::too_many_arguments)]
    fn vector_binop(
        &mut self,
        op: Op,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
        m: &Matching,
        card: &VectorMatchCardinality,
        return_bool: bool,
        fill: &VectorMatchFillValues,
        g: Grid,
    ) -> Result<Vec<Series>, Error> {
        let no_fill = fill.lhs.is_none() && fill.rhs.is_none();
        if (lhs.is_empty() && rhs.is_empty()) || ((lhs.is_empty() || rhs.is_empty()) && no_fill) {
            return Ok(Vec::new());
        }
        let one_to_many = matches!(card, VectorMatchCardinality::OneToMany(_));
        let include: Vec<String> = card.labels().map(|l| l.labels.clone()).unwrap_or_default();
        let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
        let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
        let (sig_many, sig_one, nsigs) = ordinals(m, [&many, &one]);

        let mut b = BinopState {
            op,
            return_bool,
            one_to_many,
            one_to_one,
            include: &include,
            m,
            g,
            matched_at: vec![usize::MAX; nsigs],
            inserted: HashMap::new(),
            label_cache: HashMap::new(),
            out: Vec::new(),
            out_index: HashMap::new(),
            out_step: Vec::new(),
        };
        let mut one_at: Vec<(usize, usize)> = vec![(usize::MAX, 0); nsigs]; // (step, series)
        for i in 0..g.len {
            if i % 64 == 0 {
                self.check_deadline()?;
            }
            for (ri, rs) in one.iter().enumerate() {
                if !is_present(rs.vals[i]) {
                    continue;
                }
                let sig = sig_one[ri];
                if one_at[sig].0 == i {
                    let other = &one[one_at[sig].1];
                    let side = if one_to_many { "left" } else { "right" };
                    let (mut a, mut b) = (rs.labels.to_string(), other.labels.to_string());
                    if a > b {
                        std::mem::swap(&mut a, &mut b);
                    }
                    return Err(Error::Execution(format!(
                        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side",
                        m.match_labels(&rs.labels)
                    )));
                }
                one_at[sig] = (i, ri);
            }
            for (li, ls) in many.iter().enumerate() {
                let lv = ls.vals[i];
                if !is_present(lv) {
                    continue;
                }
                let sig = sig_many[li];
                if one_at[sig].0 == i {
                    let ri = one_at[sig].1;
                    b.apply(
                        i,
                        sig,
                        Side::Real(&ls.labels, li),
                        lv,
                        Side::Real(&one[ri].labels, ri),
                        one[ri].vals[i],
                    )?;
                } else if let Some(f) = fill.rhs {
                    b.apply(i, sig, Side::Real(&ls.labels, li), lv, Side::Filled, f)?;
                }
            }
            if let Some(f) = fill.lhs {
                for (ri, rs) in one.iter().enumerate() {
                    let sig = sig_one[ri];
                    if !is_present(rs.vals[i]) || b.matched_at[sig] == i {
                        continue;
                    }
                    b.apply(
                        i,
                        sig,
                        Side::Filled,
                        f,
                        Side::Real(&rs.labels, ri),
                        rs.vals[i],
                    )?;
                }
            }
        }
        let mut out = b.out;
        out.retain(|s| s.vals.iter().any(|v| is_present(*v)));
        self.hold(out.len() * g.len)?;
        self.release((many.len() + one.len()) * g.len);
        Ok(out)
    }
}

/// One side of a vector-vector match: a real series (labels, index) or a fill value.
#[derive(Clone, Copy)]
enum Side<'a> {
    Real(&'a Labels, usize),
    Filled,
}

/// The per-query state of [`Evaluator::vector_binop`].
struct BinopState<'a> {
    op: Op,
    return_bool: bool,
    one_to_many: bool,
    one_to_one: bool,
    include: &'a [String],
    m: &'a Matching,
    g: Grid,
    /// Step at which each signature last matched.
    matched_at: Vec<usize>,
    /// Step at which each (signature, output labels) was last produced (many-to-one).
    inserted: HashMap<(usize, Labels), usize>,
    /// Output series of each (many, one) pair; `usize::MAX` for a filled side.
    label_cache: HashMap<(usize, usize), usize>,
    out: Vec<Series>,
    out_index: HashMap<Labels, usize>,
    /// Step at which each output series last got a value.
    out_step: Vec<usize>,
}

impl BinopState<'_> {
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        i: usize,
        sig: usize,
        many: Side<'_>,
        mv: f64,
        one: Side<'_>,
        ov: f64,
    ) -> Result<(), Error> {
        let (fl, fr) = if self.one_to_many { (ov, mv) } else { (mv, ov) };
        let (mut v, keep) = self.op.apply(fl, fr);
        if self.return_bool {
            v = if keep { 1.0 } else { 0.0 };
        }
        let idx = |s: Side<'_>| match s {
            Side::Real(_, k) => k,
            Side::Filled => usize::MAX,
        };
        let key = (idx(many), idx(one));
        let oi = match self.label_cache.get(&key) {
            Some(&oi) => oi,
            None => {
                let (ml, ol) = match (many, one) {
                    (Side::Real(a, _), Side::Real(b, _)) => (a.clone(), b.clone()),
                    (Side::Real(a, _), Side::Filled) => (a.clone(), self.m.match_labels(a)),
                    (Side::Filled, Side::Real(b, _)) => (self.m.match_labels(b), b.clone()),
                    (Side::Filled, Side::Filled) => unreachable!("one side is always real"),
                };
                let labels =
                    result_metric(&ml, &ol, self.op, self.m, self.one_to_one, self.include);
                let (g, return_bool) = (self.g, self.return_bool);
                let out = &mut self.out;
                let out_step = &mut self.out_step;
                let oi = *self.out_index.entry(labels.clone()).or_insert_with(|| {
                    out.push(Series {
                        labels,
                        vals: vec![ABSENT; g.len],
                        drop_name: return_bool,
                    });
                    out_step.push(usize::MAX);
                    out.len() - 1
                });
                if self.label_cache.len() < 1 << 20 {
                    self.label_cache.insert(key, oi);
                }
                oi
            }
        };
        if self.one_to_one {
            if self.matched_at[sig] == i {
                return Err(Error::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
        } else {
            let k = (sig, self.out[oi].labels.clone());
            if self.inserted.get(&k) == Some(&i) {
                return Err(Error::Execution(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                        .into(),
                ));
            }
            self.inserted.insert(k, i);
        }
        self.matched_at[sig] = i;
        if !keep && !self.return_bool {
            return Ok(());
        }
        if self.out_step[oi] == i {
            return Err(Error::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
        self.out_step[oi] = i;
        self.out[oi].vals[i] = v;
        Ok(())
    }
}

/// Labels of a vector-vector result: the "many" side's labels, without the metric name for
/// arithmetic, reduced to the matching labels for one-to-one `on`, minus the ignored labels
/// for one-to-one `ignoring`, plus the `group_left`/`group_right` labels from the "one" side.
fn result_metric(
    l: &Labels,
    r: &Labels,
    op: Op,
    m: &Matching,
    one_to_one: bool,
    include: &[String],
) -> Labels {
    let mut b = l.to_builder();
    if op.changes_metric_schema() {
        b.retain(|x| !is_metadata_label(&x.name));
    }
    if one_to_one {
        if m.on {
            b.retain(|x| m.labels.iter().any(|n| **n == *x.name));
        } else {
            b.retain(|x| !m.labels.iter().any(|n| **n == *x.name));
        }
    }
    for name in include {
        set_label(&mut b, name, r.get(name));
    }
    b.build()
}

fn vector_scalar(
    op: Op,
    vec: Vec<Series>,
    scalar: &[f64],
    swap: bool,
    return_bool: bool,
) -> Vec<Series> {
    let mut out = Vec::with_capacity(vec.len());
    for mut s in vec {
        let mut any = false;
        for (i, x) in s.vals.iter_mut().enumerate() {
            if !is_present(*x) {
                continue;
            }
            let (l, r) = if swap {
                (scalar[i], *x)
            } else {
                (*x, scalar[i])
            };
            let (mut v, keep) = op.apply(l, r);
            if op.is_comparison() && swap {
                v = r;
            }
            if return_bool {
                *x = if keep { 1.0 } else { 0.0 };
                any = true;
            } else if keep {
                *x = v;
                any = true;
            } else {
                *x = ABSENT;
            }
        }
        if op.changes_metric_schema() || return_bool {
            s.drop_name = true;
        }
        if any {
            out.push(s);
        }
    }
    out
}

/// `and`, `or`, `unless`: series pass through unchanged, step by step.
fn set_op(op: Op, lhs: Vec<Series>, rhs: Vec<Series>, m: &Matching, g: Grid) -> Vec<Series> {
    let (sig_l, sig_r, nsigs) = ordinals(m, [&lhs, &rhs]);
    // For each signature and step: is it present on the right (and/unless) or left (or)?
    let mut present = vec![false; nsigs * g.len];
    let marks = |side: &[Series], sigs: &[usize], present: &mut Vec<bool>| {
        for (s, &sig) in side.iter().zip(sigs) {
            for (i, v) in s.vals.iter().enumerate() {
                if is_present(*v) {
                    present[sig * g.len + i] = true;
                }
            }
        }
    };
    let filter = |mut s: Series, sig: usize, present: &[bool], want: bool| -> Option<Series> {
        let mut any = false;
        for (i, v) in s.vals.iter_mut().enumerate() {
            if is_present(*v) {
                if present[sig * g.len + i] == want {
                    any = true;
                } else {
                    *v = ABSENT;
                }
            }
        }
        any.then_some(s)
    };
    match op {
        Op::And | Op::Unless => {
            marks(&rhs, &sig_r, &mut present);
            let want = op == Op::And;
            lhs.into_iter()
                .zip(sig_l)
                .filter_map(|(s, sig)| filter(s, sig, &present, want))
                .collect()
        }
        _ => {
            marks(&lhs, &sig_l, &mut present);
            let mut out = lhs;
            out.extend(
                rhs.into_iter()
                    .zip(sig_r)
                    .filter_map(|(s, sig)| filter(s, sig, &present, false)),
            );
            merge_same_labels(out)
        }
    }
}

/// Joins series with equal labels whose steps do not overlap (a series can appear on both
/// sides of `or` at different steps).
fn merge_same_labels(series: Vec<Series>) -> Vec<Series> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        match index.get(&s.labels) {
            Some(&i) if s.drop_name == out[i].drop_name => {
                let dst = &mut out[i];
                for (d, v) in dst.vals.iter_mut().zip(&s.vals) {
                    if !is_present(*d) && is_present(*v) {
                        *d = *v;
                    }
                }
            }
            _ => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    out
}
