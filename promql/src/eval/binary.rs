//! Binary operators: arithmetic, comparisons and set operators, with vector matching.

use std::collections::HashMap;

use model::labels::Labels;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    BinaryExpr, Expr, LabelModifier, VectorMatchCardinality, VectorMatchFillValues,
};

use super::{
    ABSENT, Evaluator, Grid, Ordinals, Series, Val, is_metadata_label, is_present, picks_label,
    set_label,
};
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
    /// The matching of `b`: `on (...)`, `ignoring (...)` or all labels.
    fn of(b: &BinaryExpr) -> Matching {
        match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
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
        }
    }

    /// The matching labels of `l` (a filled side's labels, and for error messages).
    fn match_labels(&self, l: &Labels) -> Labels {
        l.filter(|x| picks_label(&self.labels, self.on, &x.name))
    }
}

/// Assigns each series an ordinal for its signature; equal signatures share one.
fn ordinals(m: &Matching, sides: [&[Series]; 2]) -> (Vec<usize>, Vec<usize>, usize) {
    let mut ids = Ordinals::with_capacity(sides[0].len().max(sides[1].len()));
    let [a, b] = sides.map(|side| {
        side.iter()
            .map(|s| ids.of(&s.labels, &m.labels, m.on).0)
            .collect::<Vec<usize>>()
    });
    (a, b, ids.len())
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
                let matching = Matching::of(b);
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

    /// Arithmetic and comparisons between two vectors. The "many" side's series are paired
    /// with the "one" side's series of the same signature once for the whole range, each pair
    /// with its output series; then every pair's steps are computed in one pass. Should two
    /// series meet in one output series or signature at a step (which Prometheus may reject
    /// as a duplicate), the join is evaluated again step by step, which finds the exact error.
    /// `fill` supplies a value for a side without a match (`fill`, `fill_left`, `fill_right`).
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
        let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
        let mut join = Join::new(
            JoinOptions {
                op,
                return_bool,
                one_to_many,
                one_to_one: matches!(card, VectorMatchCardinality::OneToOne),
                include: &include,
                m,
                fill_one: fill.rhs,
                fill_many: fill.lhs,
                g,
            },
            many,
            one,
        );
        let held = (join.many.len() + join.one.len()) * g.len;
        let check = || self.check_deadline();
        let mut out = match join.by_pair(&check)? {
            Some(out) => out,
            None => join.by_step(&check)?,
        };
        out.retain(|s| s.vals.iter().any(|v| is_present(*v)));
        self.hold(out.len() * g.len)?;
        self.release(held);
        Ok(out)
    }
}

/// What [`Evaluator::fold_binary`] did.
pub(crate) enum BinaryFold<S> {
    /// The operator is not of the shape that is folded: evaluate it whole.
    NotFolded,
    /// One state per part of the left side's selection, in series order.
    Folded(Vec<S>),
    /// Two series could meet in one output series or match group at a step, which
    /// Prometheus may reject: the states are discarded and the operator is to be evaluated
    /// whole, which finds out.
    Undecided(Vec<S>),
}

/// Whether two entries with the same key have overlapping spans.
fn overlap_by_key(mut spans: Vec<(u64, Span)>) -> bool {
    spans.sort_unstable();
    spans
        .windows(2)
        .any(|w| w[0].0 == w[1].0 && w[1].1.0 <= w[0].1.1)
}

impl Evaluator<'_> {
    /// Arithmetic between an instant selector on the left and a vector on the right,
    /// matched one-to-one or many-to-one (`group_left`) without fill values, computed for
    /// an aggregation without building its result: the right side is evaluated and indexed
    /// by signature first, then each left series is paired and computed as the threads that
    /// read the selection place it, and every output series goes to
    /// `sink(evaluator, state, labels, values)` (one state per part, made by `init`).
    /// Outputs are the same as the whole operator's, pair by pair: an output series that
    /// two pairs write at different steps reaches the sink twice, once per pair.
    pub(crate) fn fold_binary<S: Send>(
        &mut self,
        b: &BinaryExpr,
        g: Grid,
        init: impl Fn() -> S + Sync,
        sink: impl Fn(&Self, &mut S, &Labels, &[f64]) -> Result<(), Error> + Sync,
    ) -> Result<BinaryFold<S>, Error> {
        let op = Op::parse(&b.op.to_string())?;
        let Expr::VectorSelector(vs) = super::unparen(&b.lhs) else {
            return Ok(BinaryFold::NotFolded);
        };
        let modifier = b.modifier.as_ref();
        let card = modifier.map_or(VectorMatchCardinality::OneToOne, |m| m.card.clone());
        let one_to_one = match card {
            VectorMatchCardinality::OneToOne => true,
            VectorMatchCardinality::ManyToOne(_) => false,
            _ => return Ok(BinaryFold::NotFolded),
        };
        let filled =
            modifier.is_some_and(|m| m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some());
        if !op.changes_metric_schema()
            || filled
            || vs.at.is_some()
            || b.rhs.value_type() != ValueType::Vector
            || g.len == 0
        {
            return Ok(BinaryFold::NotFolded);
        }
        let include: Vec<String> = card.labels().map(|l| l.labels.clone()).unwrap_or_default();
        let m = Matching::of(b);
        let one = self.eval_vector(&b.rhs, g)?;
        let held = one.len() * g.len;
        let r = self.fold_join(op, vs, one, (&m, one_to_one, &include), g, init, sink);
        self.release(held);
        r
    }

    /// The rest of [`Evaluator::fold_binary`], once the right side (`one`) is evaluated.
    #[allow(clippy::too_many_arguments)]
    fn fold_join<S: Send>(
        &mut self,
        op: Op,
        vs: &promql_parser::parser::VectorSelector,
        one: Vec<Series>,
        (m, one_to_one, include): (&Matching, bool, &[String]),
        g: Grid,
        init: impl Fn() -> S + Sync,
        sink: impl Fn(&Self, &mut S, &Labels, &[f64]) -> Result<(), Error> + Sync,
    ) -> Result<BinaryFold<S>, Error> {
        let mut ids = Ordinals::with_capacity(one.len());
        let sig_one: Vec<usize> = one
            .iter()
            .map(|s| ids.of(&s.labels, &m.labels, m.on).0)
            .collect();
        let span_one: Vec<Option<Span>> = one.iter().map(|s| span(&s.vals)).collect();
        let nsigs = ids.len();
        let ones = (0..one.len()).filter_map(|k| Some((sig_one[k], span_one[k]?)));
        if overlap_in_group(ones, nsigs) {
            return Ok(BinaryFold::Undecided(Vec::new()));
        }
        let one_by_sig = BySig::new(&sig_one, &span_one, nsigs);
        // Per part: the state, each output's (labels hash, span), and for one-to-one each
        // matched left series' (signature, span).
        type Part<S> = (S, Vec<(u64, Span)>, Vec<(u64, Span)>);
        let parts = self.fold_selector(
            vs,
            g,
            false,
            || -> (Part<S>, Vec<f64>, Vec<u8>) {
                ((init(), Vec::new(), Vec::new()), Vec::new(), Vec::new())
            },
            |ev, ((state, outs, matched), row, key), labels, vals, _| {
                let r = (|| {
                    let Some(sig) = ids.find(labels, &m.labels, m.on, key) else {
                        return Ok(());
                    };
                    let members = one_by_sig.members(sig);
                    let Some((lo, hi)) = span(vals).filter(|_| !members.is_empty()) else {
                        return Ok(());
                    };
                    if one_to_one {
                        matched.push((sig as u64, (lo, hi)));
                    }
                    for &ri in members {
                        let (a, z) = span_one[ri].expect("grouped series have spans");
                        let (plo, phi) = (a.max(lo), z.min(hi));
                        if plo > phi {
                            continue;
                        }
                        let ov = &one[ri].vals;
                        row.clear();
                        row.resize(g.len, ABSENT);
                        let mut any = false;
                        for i in plo..=phi {
                            if is_present(vals[i]) && is_present(ov[i]) {
                                row[i] = op.apply(vals[i], ov[i]).0;
                                any = true;
                            }
                        }
                        if !any {
                            continue;
                        }
                        let out =
                            result_metric(labels, &one[ri].labels, op, m, one_to_one, include);
                        // Equal label sets hash alike; a collision only costs a fallback.
                        outs.push((out.stable_hash(), (plo, phi)));
                        sink(ev, state, &out, row)?;
                    }
                    Ok(())
                })();
                ev.release(vals.len());
                r
            },
        )?;
        let mut states = Vec::with_capacity(parts.len());
        let (mut outs, mut matched) = (Vec::new(), Vec::new());
        for ((state, o, mt), _, _) in parts {
            states.push(state);
            outs.extend(o);
            matched.extend(mt);
        }
        if overlap_by_key(outs) || overlap_by_key(matched) {
            return Ok(BinaryFold::Undecided(states));
        }
        Ok(BinaryFold::Folded(states))
    }
}

/// The settings of a vector-vector arithmetic or comparison.
#[derive(Clone)]
struct JoinOptions<'a> {
    op: Op,
    return_bool: bool,
    /// `group_right`: the left side is the "one" side.
    one_to_many: bool,
    one_to_one: bool,
    /// The `group_left`/`group_right` labels copied from the "one" side.
    include: &'a [String],
    m: &'a Matching,
    /// The value of a missing "one" side (`fill_right`).
    fill_one: Option<f64>,
    /// The value of a missing "many" side (`fill_left`).
    fill_many: Option<f64>,
    g: Grid,
}

/// First and last step at which a series (or a pair of series) has a value.
type Span = (usize, usize);

fn span(vals: &[f64]) -> Option<Span> {
    let first = vals.iter().position(|v| is_present(*v))?;
    let last = vals.iter().rposition(|v| is_present(*v))?;
    Some((first, last))
}

/// Series indices grouped by signature, each group in series order.
struct BySig {
    /// Group `sig` is `items[start[sig]..start[sig + 1]]`.
    start: Vec<usize>,
    items: Vec<usize>,
}

impl BySig {
    /// Groups the series that have a span.
    fn new(sigs: &[usize], spans: &[Option<Span>], nsigs: usize) -> BySig {
        let mut start = vec![0usize; nsigs + 1];
        for (&sig, s) in sigs.iter().zip(spans) {
            if s.is_some() {
                start[sig + 1] += 1;
            }
        }
        for k in 0..nsigs {
            start[k + 1] += start[k];
        }
        let mut next = start.clone();
        let mut items = vec![0; start[nsigs]];
        for (k, (&sig, s)) in sigs.iter().zip(spans).enumerate() {
            if s.is_some() {
                items[next[sig]] = k;
                next[sig] += 1;
            }
        }
        BySig { start, items }
    }

    fn members(&self, sig: usize) -> &[usize] {
        &self.items[self.start[sig]..self.start[sig + 1]]
    }
}

/// Whether two members of one group have overlapping spans; `members` are `(group, span)`.
fn overlap_in_group(members: impl Iterator<Item = (usize, Span)>, ngroups: usize) -> bool {
    let members: Vec<(usize, Span)> = members.collect();
    let mut count = vec![0u32; ngroups];
    for &(group, _) in &members {
        count[group] += 1;
    }
    let mut shared: Vec<(usize, Span)> = members
        .into_iter()
        .filter(|(group, _)| count[*group] > 1)
        .collect();
    shared.sort_unstable();
    shared
        .windows(2)
        .any(|w| w[0].0 == w[1].0 && w[1].1.0 <= w[0].1.1)
}

/// A "many" series paired with a "one" series (`None`: the fill value stands in for the
/// side), with the output series it writes and the steps at which both can have values.
struct Pair {
    many: Option<usize>,
    one: Option<usize>,
    sig: usize,
    out: usize,
    span: Span,
}

/// The output series of a join, one per label set.
#[derive(Default)]
struct Outs {
    series: Vec<Series>,
    index: HashMap<Labels, usize>,
}

/// What [`Join::by_step`] remembers of the current step.
struct StepMarks {
    /// Step at which each signature last matched.
    matched_at: Vec<usize>,
    /// Step at which each (signature, output series) was last produced (many-to-one).
    inserted: HashMap<(usize, usize), usize>,
}

/// Both sides of a vector-vector arithmetic or comparison, with their signatures.
struct Join<'a> {
    o: JoinOptions<'a>,
    many: Vec<Series>,
    one: Vec<Series>,
    sig_many: Vec<usize>,
    sig_one: Vec<usize>,
    span_many: Vec<Option<Span>>,
    span_one: Vec<Option<Span>>,
    many_by_sig: BySig,
    one_by_sig: BySig,
    nsigs: usize,
}

impl<'a> Join<'a> {
    fn new(o: JoinOptions<'a>, many: Vec<Series>, one: Vec<Series>) -> Join<'a> {
        let (sig_many, sig_one, nsigs) = ordinals(o.m, [&many, &one]);
        let span_many: Vec<Option<Span>> = many.iter().map(|s| span(&s.vals)).collect();
        let span_one: Vec<Option<Span>> = one.iter().map(|s| span(&s.vals)).collect();
        Join {
            many_by_sig: BySig::new(&sig_many, &span_many, nsigs),
            one_by_sig: BySig::new(&sig_one, &span_one, nsigs),
            o,
            many,
            one,
            sig_many,
            sig_one,
            span_many,
            span_one,
            nsigs,
        }
    }

    /// The output series of `many` paired with `one`, added on first use (its values are
    /// left empty).
    fn out_of(&self, outs: &mut Outs, many: Option<usize>, one: Option<usize>) -> usize {
        let matched;
        let (ml, ol) = match (many, one) {
            (Some(a), Some(b)) => (&self.many[a].labels, &self.one[b].labels),
            (Some(a), None) => {
                matched = self.o.m.match_labels(&self.many[a].labels);
                (&self.many[a].labels, &matched)
            }
            (None, Some(b)) => {
                matched = self.o.m.match_labels(&self.one[b].labels);
                (&matched, &self.one[b].labels)
            }
            (None, None) => unreachable!("one side is always real"),
        };
        let o = &self.o;
        let labels = result_metric(ml, ol, o.op, o.m, o.one_to_one, o.include);
        let Outs { series, index } = outs;
        *index.entry(labels).or_insert_with_key(|labels| {
            series.push(Series {
                labels: labels.clone(),
                vals: Vec::new(),
                drop_name: o.return_bool,
            });
            series.len() - 1
        })
    }

    /// `(value, keep)` of the operation on a "many" and a "one" value.
    #[inline]
    fn apply(&self, mv: f64, ov: f64) -> (f64, bool) {
        let (l, r) = if self.o.one_to_many {
            (ov, mv)
        } else {
            (mv, ov)
        };
        let (v, keep) = self.o.op.apply(l, r);
        if self.o.return_bool {
            (if keep { 1.0 } else { 0.0 }, true)
        } else {
            (v, keep)
        }
    }

    /// Every pair whose series can both have values at a step, or `None` if two "one" series
    /// of a signature (or, one-to-one, two "many" series) have values at overlapping steps.
    fn pairs(&self, outs: &mut Outs) -> Option<Vec<Pair>> {
        let ones = (0..self.one.len()).filter_map(|k| Some((self.sig_one[k], self.span_one[k]?)));
        if overlap_in_group(ones, self.nsigs) {
            return None;
        }
        if self.o.one_to_one {
            let matchable =
                |sig: usize| self.o.fill_one.is_some() || !self.one_by_sig.members(sig).is_empty();
            let manys = (0..self.many.len())
                .filter_map(|k| Some((self.sig_many[k], self.span_many[k]?)))
                .filter(|(sig, _)| matchable(*sig));
            if overlap_in_group(manys, self.nsigs) {
                return None;
            }
        }
        let mut pairs = Vec::with_capacity(self.many.len());
        for (li, s) in self.span_many.iter().enumerate() {
            let Some((lo, hi)) = *s else { continue };
            let sig = self.sig_many[li];
            for &ri in self.one_by_sig.members(sig) {
                let (a, b) = self.span_one[ri].expect("grouped series have spans");
                if a.max(lo) <= b.min(hi) {
                    pairs.push(Pair {
                        many: Some(li),
                        one: Some(ri),
                        sig,
                        out: self.out_of(outs, Some(li), Some(ri)),
                        span: (a.max(lo), b.min(hi)),
                    });
                }
            }
            if self.o.fill_one.is_some() {
                pairs.push(Pair {
                    many: Some(li),
                    one: None,
                    sig,
                    out: self.out_of(outs, Some(li), None),
                    span: (lo, hi),
                });
            }
        }
        if self.o.fill_many.is_some() {
            for (ri, s) in self.span_one.iter().enumerate() {
                let Some(span) = *s else { continue };
                pairs.push(Pair {
                    many: None,
                    one: Some(ri),
                    sig: self.sig_one[ri],
                    out: self.out_of(outs, None, Some(ri)),
                    span,
                });
            }
        }
        Some(pairs)
    }

    /// Whether none of the series `members` of `side` has a value at step `i`.
    fn none_at(side: &[Series], members: &[usize], i: usize) -> bool {
        !members.iter().any(|&k| is_present(side[k].vals[i]))
    }

    /// The join computed pair by pair, over all steps of a pair at once; `None` if two pairs
    /// meet in one output series at a step (then [`Join::by_step`] decides). The values of
    /// a "many" series in a single pair, alone in its output series, become the output.
    fn by_pair(
        &mut self,
        check: &dyn Fn() -> Result<(), Error>,
    ) -> Result<Option<Vec<Series>>, Error> {
        let mut outs = Outs {
            series: Vec::with_capacity(self.many.len()),
            index: HashMap::with_capacity(self.many.len()),
        };
        let Some(pairs) = self.pairs(&mut outs) else {
            return Ok(None);
        };
        let mut writers = vec![0u32; outs.series.len()];
        let mut uses = vec![0u32; self.many.len()];
        for p in &pairs {
            writers[p.out] += 1;
            if let Some(li) = p.many {
                uses[li] += 1;
            }
        }
        let len = self.o.g.len;
        // Output series that several pairs write come first, while no input has changed: a
        // pair that matched without passing a comparison leaves no value behind, so where
        // comparisons filter, the steps each of them is taken at are marked apart.
        let filters = self.o.op.is_comparison() && !self.o.return_bool;
        let mut taken: Vec<Vec<bool>> = vec![Vec::new(); outs.series.len()];
        for (n, p) in pairs.iter().filter(|p| writers[p.out] > 1).enumerate() {
            if n % 1024 == 0 {
                check()?;
            }
            let dst = &mut outs.series[p.out].vals;
            if dst.is_empty() {
                *dst = vec![ABSENT; len];
            }
            let taken = &mut taken[p.out];
            if filters && taken.is_empty() {
                *taken = vec![false; len];
            }
            if !self.put_pair(p, dst, taken) {
                return Ok(None);
            }
        }
        // A "many" series' values become those of its only pair, unless a filled "many"
        // side still looks for them.
        let in_place = self.o.fill_many.is_none();
        for (n, p) in pairs.iter().filter(|p| writers[p.out] == 1).enumerate() {
            if n % 1024 == 0 {
                check()?;
            }
            outs.series[p.out].vals = match (p.many, p.one) {
                (Some(li), Some(ri)) if in_place && uses[li] == 1 => {
                    let mut vals = std::mem::take(&mut self.many[li].vals);
                    self.apply_in_place(&mut vals, &self.one[ri].vals);
                    vals
                }
                _ => {
                    let mut vals = vec![ABSENT; len];
                    self.put_pair(p, &mut vals, &mut []);
                    vals
                }
            };
        }
        Ok(Some(outs.series))
    }

    /// `mv` becomes the result of the operation on it and `ov`, step by step.
    fn apply_in_place(&self, mv: &mut [f64], ov: &[f64]) {
        for (m, &o) in mv.iter_mut().zip(ov) {
            *m = if is_present(*m) && is_present(o) {
                match self.apply(*m, o) {
                    (v, true) => v,
                    (_, false) => ABSENT,
                }
            } else {
                ABSENT
            };
        }
    }

    /// Writes the values of pair `p` into `dst`; false if a step of `dst` already has a
    /// value or is marked in `taken` (where comparisons filter, else empty).
    fn put_pair(&self, p: &Pair, dst: &mut [f64], taken: &mut [bool]) -> bool {
        let mut put = |i: usize, mv: f64, ov: f64| -> bool {
            if is_present(dst[i]) || taken.get(i) == Some(&true) {
                return false;
            }
            match self.apply(mv, ov) {
                (v, true) => dst[i] = v,
                (_, false) => {
                    if let Some(t) = taken.get_mut(i) {
                        *t = true;
                    }
                }
            }
            true
        };
        let (lo, hi) = p.span;
        match (p.many, p.one) {
            (Some(li), Some(ri)) => {
                let (mv, ov) = (&self.many[li].vals, &self.one[ri].vals);
                (lo..=hi).all(|i| !(is_present(mv[i]) && is_present(ov[i])) || put(i, mv[i], ov[i]))
            }
            (Some(li), None) => {
                let (mv, ones) = (&self.many[li].vals, self.one_by_sig.members(p.sig));
                let fill = self.o.fill_one.unwrap_or(f64::NAN);
                (lo..=hi).all(|i| {
                    !(is_present(mv[i]) && Self::none_at(&self.one, ones, i)) || put(i, mv[i], fill)
                })
            }
            (None, Some(ri)) => {
                let (ov, manys) = (&self.one[ri].vals, self.many_by_sig.members(p.sig));
                let fill = self.o.fill_many.unwrap_or(f64::NAN);
                (lo..=hi).all(|i| {
                    !(is_present(ov[i]) && Self::none_at(&self.many, manys, i))
                        || put(i, fill, ov[i])
                })
            }
            (None, None) => unreachable!("one side is always real"),
        }
    }

    /// The join computed one step at a time, as Prometheus does, with its errors: a
    /// duplicate on the "one" side, several matches for a signature (one-to-one) or for an
    /// output series (many-to-one), and two values for one output series. A step at which a
    /// side has no sample is passed over, errors and all (unless a fill value stands in).
    fn by_step(&self, check: &dyn Fn() -> Result<(), Error>) -> Result<Vec<Series>, Error> {
        let mut outs = Outs::default();
        let mut one_at: Vec<(usize, usize)> = vec![(usize::MAX, 0); self.nsigs]; // (step, series)
        let mut marks = StepMarks {
            matched_at: vec![usize::MAX; self.nsigs],
            inserted: HashMap::new(),
        };
        // The last output series of each "many" series (with its "one" series), and of each
        // "one" series paired with the fill value.
        let mut last_many: Vec<(Option<usize>, usize)> = vec![(None, usize::MAX); self.many.len()];
        let mut last_one: Vec<usize> = vec![usize::MAX; self.one.len()];
        // Prometheus skips a step at which a side has no sample (both, with a fill value).
        let present_at = |side: &[Series]| {
            let mut at = vec![false; self.o.g.len];
            for s in side {
                at.iter_mut()
                    .zip(&s.vals)
                    .for_each(|(a, v)| *a |= is_present(*v));
            }
            at
        };
        let (has_many, has_one) = (present_at(&self.many), present_at(&self.one));
        let filled = self.o.fill_one.is_some() || self.o.fill_many.is_some();
        for i in 0..self.o.g.len {
            if i % 64 == 0 {
                check()?;
            }
            let skip = if filled {
                !has_many[i] && !has_one[i]
            } else {
                !has_many[i] || !has_one[i]
            };
            if skip {
                continue;
            }
            for (ri, rs) in self.one.iter().enumerate() {
                if !is_present(rs.vals[i]) {
                    continue;
                }
                let sig = self.sig_one[ri];
                if one_at[sig].0 == i {
                    return Err(self.duplicate(ri, one_at[sig].1));
                }
                one_at[sig] = (i, ri);
            }
            for (li, ls) in self.many.iter().enumerate() {
                let mv = ls.vals[i];
                if !is_present(mv) {
                    continue;
                }
                let sig = self.sig_many[li];
                let (one, ov) = if one_at[sig].0 == i {
                    let ri = one_at[sig].1;
                    (Some(ri), self.one[ri].vals[i])
                } else if let Some(f) = self.o.fill_one {
                    (None, f)
                } else {
                    continue;
                };
                if last_many[li].1 == usize::MAX || last_many[li].0 != one {
                    last_many[li] = (one, self.out_of(&mut outs, Some(li), one));
                }
                self.step_apply(&mut marks, &mut outs, (i, sig, last_many[li].1), mv, ov)?;
            }
            if let Some(f) = self.o.fill_many {
                for (ri, rs) in self.one.iter().enumerate() {
                    let sig = self.sig_one[ri];
                    if !is_present(rs.vals[i]) || marks.matched_at[sig] == i {
                        continue;
                    }
                    if last_one[ri] == usize::MAX {
                        last_one[ri] = self.out_of(&mut outs, None, Some(ri));
                    }
                    self.step_apply(&mut marks, &mut outs, (i, sig, last_one[ri]), f, rs.vals[i])?;
                }
            }
        }
        Ok(outs.series)
    }

    /// One match at step `i` of signature `sig` into output series `out` (`at`), with the
    /// "many" and "one" values.
    fn step_apply(
        &self,
        marks: &mut StepMarks,
        outs: &mut Outs,
        (i, sig, out): (usize, usize, usize),
        mv: f64,
        ov: f64,
    ) -> Result<(), Error> {
        let (v, keep) = self.apply(mv, ov);
        if self.o.one_to_one {
            if marks.matched_at[sig] == i {
                return Err(Error::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
        } else if marks.inserted.insert((sig, out), i) == Some(i) {
            return Err(Error::Execution(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        marks.matched_at[sig] = i;
        let vals = &mut outs.series[out].vals;
        if vals.is_empty() {
            *vals = vec![ABSENT; self.o.g.len];
        }
        let slot = &mut vals[i];
        if !keep {
            return Ok(());
        }
        if is_present(*slot) {
            return Err(Error::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
        *slot = v;
        Ok(())
    }

    /// The error for "one" series `a` and `b` of one signature with values at one step.
    fn duplicate(&self, a: usize, b: usize) -> Error {
        let (rs, other) = (&self.one[a], &self.one[b]);
        let side = if self.o.one_to_many { "left" } else { "right" };
        let (mut a, mut b) = (rs.labels.to_string(), other.labels.to_string());
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        Error::Execution(format!(
            "found duplicate series for the match group {} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side",
            self.o.m.match_labels(&rs.labels)
        ))
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
    let drop_name = op.changes_metric_schema();
    let kept = l.filter(|x| {
        !(drop_name && is_metadata_label(&x.name))
            && (!one_to_one || m.on == m.labels.iter().any(|n| **n == *x.name))
    });
    if include.is_empty() {
        return kept;
    }
    let mut b = kept.to_builder();
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

#[cfg(test)]
mod tests;
