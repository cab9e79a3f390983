//! The evaluator: every node is evaluated for all steps of the query at once.
//!
//! A [`Vector`] holds series with one value slot per step of the current [`Grid`]; a slot
//! without a sample holds [`ABSENT`], a signalling NaN that no arithmetic produces (hardware
//! quiets every NaN it computes) and that the selectors never let in from the store. Matrix
//! arguments of functions are never materialised per step: each series' samples are read once
//! and a sliding window walks them across the steps.

mod aggregate;
mod binary;
mod call;

pub(crate) use call::parse_go_float;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use model::labels::{Labels, LabelsBuilder};
use model::matcher::{MatchType, Matcher};
use model::sample::is_stale_nan;
use model::storage::{Querier, Queryable, SelectHints};
use promql_parser::label::MatchOp;
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};

use crate::engine::EngineOptions;
use crate::stats::{Counter, QuerySamples};
use crate::value::{Annotations, Error};

/// The value of an absent slot. Signalling NaN: never the result of arithmetic.
const ABSENT_BITS: u64 = 0x7ff0_0000_0000_0003;
pub(crate) const ABSENT: f64 = f64::from_bits(ABSENT_BITS);

#[inline]
pub(crate) fn is_absent(v: f64) -> bool {
    v.to_bits() == ABSENT_BITS
}

#[inline]
pub(crate) fn is_present(v: f64) -> bool {
    v.to_bits() != ABSENT_BITS
}

/// The evaluation times of a node: `start, start+step, …` (`len` of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    pub start: i64,
    pub step: i64,
    pub len: usize,
}

impl Grid {
    pub fn new(start: i64, end: i64, step: i64) -> Grid {
        let len = if end < start {
            0
        } else {
            ((end - start) / step.max(1)) as usize + 1
        };
        Grid {
            start,
            step: step.max(1),
            len,
        }
    }

    #[inline]
    pub fn t(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    fn first(&self) -> Grid {
        Grid {
            len: self.len.min(1),
            ..*self
        }
    }
}

/// One series of an instant vector across the grid.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub labels: Labels,
    /// One slot per grid step; [`ABSENT`] where the series has no value.
    pub vals: Vec<f64>,
    /// The metric name is dropped when evaluation ends (Prometheus's delayed name removal).
    pub drop_name: bool,
}

/// One series of a range vector: samples with their own timestamps.
#[derive(Debug, Clone)]
pub(crate) struct SampleSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
    pub drop_name: bool,
}

/// An evaluated node.
#[derive(Debug)]
pub(crate) enum Val {
    /// One value per grid step.
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<Series>),
    /// A range vector; only a query's top level (or a function argument) sees one.
    Matrix(Vec<SampleSeries>),
}

/// A selector's matchers in the store's terms, including the metric name.
pub(crate) fn selector_matchers(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, Error> {
    let convert = |list: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>, Error> {
        let mut out = Vec::with_capacity(list.len() + 1);
        if let Some(name) = &vs.name {
            out.push(Matcher::equal("__name__", name.as_str()));
        }
        for m in list {
            let kind = match m.op {
                MatchOp::Equal => MatchType::Equal,
                MatchOp::NotEqual => MatchType::NotEqual,
                MatchOp::Re(_) => MatchType::RegexMatch,
                MatchOp::NotRe(_) => MatchType::RegexNoMatch,
            };
            out.push(
                Matcher::new(kind, m.name.as_str(), m.value.as_str()).map_err(Error::BadData)?,
            );
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![convert(&vs.matchers.matchers)?])
    } else {
        vs.matchers
            .or_matchers
            .iter()
            .map(|list| {
                let mut all = vs.matchers.matchers.clone();
                all.extend(list.iter().cloned());
                convert(&all)
            })
            .collect()
    }
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

/// Milliseconds since the epoch, saturating (queries are checked to stay far inside).
pub(crate) fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => duration_ms(&d),
        Err(e) => -duration_ms(&e.duration()),
    }
}

/// Milliseconds, saturating at `i64::MAX` (queries are checked to stay far inside).
pub(crate) fn duration_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Strips parentheses.
pub(crate) fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// Functions whose value depends on the evaluation time even when every selector below them
/// is pinned with `@`.
const AT_UNSAFE_FUNCTIONS: &[&str] = &[
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

/// True if `e` gives the same value at every step (every selector pinned with `@`, no
/// time-dependent function), so it can be evaluated once and repeated.
fn step_invariant(e: &Expr) -> bool {
    match e {
        Expr::VectorSelector(vs) => vs.at.is_some(),
        Expr::MatrixSelector(ms) => ms.vs.at.is_some(),
        Expr::Subquery(sq) => sq.at.is_some(),
        Expr::Aggregate(a) => step_invariant(&a.expr),
        Expr::Binary(b) => step_invariant(&b.lhs) && step_invariant(&b.rhs),
        Expr::Paren(p) => step_invariant(&p.expr),
        Expr::Unary(u) => step_invariant(&u.expr),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => true,
        Expr::Call(c) => {
            let args_invariant = c.args.args.iter().all(|a| step_invariant(a));
            if c.func.name == "timestamp" {
                // timestamp(x @ t) is pinned; timestamp(f(x @ t)) is the evaluation time.
                return args_invariant
                    && c.args
                        .args
                        .iter()
                        .all(|a| matches!(unparen(a), Expr::VectorSelector(_)));
            }
            !AT_UNSAFE_FUNCTIONS.contains(&c.func.name) && args_invariant
        }
        Expr::Extension(_) => false,
    }
}

/// State of one query's evaluation.
pub(crate) struct Evaluator<'a> {
    pub opts: &'a EngineOptions,
    querier: Box<dyn Querier>,
    /// The query's own start and end (for `@ start()` / `@ end()`).
    pub query_start: i64,
    pub query_end: i64,
    /// The query's step in ms (0 for an instant query).
    pub query_step: i64,
    deadline: Instant,
    cancel: Option<Arc<AtomicBool>>,
    pub annos: Annotations,
    /// Samples currently held, checked against `max_samples`.
    samples: AtomicUsize,
    /// The query's sample counts when it asked for statistics: the counter of the scope
    /// being evaluated (the query, a subquery's grid, a part evaluated once).
    counter: Option<Counter>,
    /// Most samples held at once; kept only while counting.
    peak: AtomicUsize,
    /// Whether selections may come in the store's own order: the query's result is sorted
    /// at the end (a range query), so no step depends on the order series arrive in.
    any_order: bool,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        opts: &'a EngineOptions,
        cancel: Option<Arc<AtomicBool>>,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Self, Error> {
        let (mint, maxt) = time_range(expr, start, end, opts);
        let querier = q.querier(mint, maxt)?;
        Ok(Evaluator {
            opts,
            querier,
            query_start: start,
            query_end: end,
            query_step: step,
            deadline: Instant::now() + opts.timeout,
            cancel,
            annos: Annotations::default(),
            samples: AtomicUsize::new(0),
            counter: None,
            peak: AtomicUsize::new(0),
            any_order: false,
        })
    }

    /// Lets selections come in the store's own order (see [`SelectHints::any_order`]); for
    /// a query whose result is sorted by labels at the end.
    pub fn select_in_any_order(&mut self) {
        self.any_order = true;
    }

    /// Counts samples into `counter` for the query's statistics.
    pub fn count_samples(&mut self, counter: Counter) {
        self.counter = Some(counter);
    }

    /// The counted samples (step `i` at time `t(i)`), if counting.
    pub fn sample_stats(&self, t: impl Fn(usize) -> i64) -> Option<QuerySamples> {
        let peak = self.peak.load(Ordering::Relaxed);
        self.counter.as_ref().map(|c| c.finish(peak, t))
    }

    /// Runs `f` with a sample counter of its own (made by `sub`, when counting) and returns
    /// that counter with the result, for the caller to fold into the current one.
    fn scoped<T>(
        &mut self,
        sub: impl FnOnce() -> Counter,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<(T, Option<Counter>), Error> {
        let Some(outer) = self.counter.take() else {
            return Ok((f(self)?, None));
        };
        self.counter = Some(sub());
        let r = f(self);
        let sub = self.counter.replace(outer);
        Ok((r?, sub))
    }

    /// Fails once the query is canceled or past its deadline; called between series and
    /// nodes, so a query stops within one series' work.
    pub fn check_deadline(&self) -> Result<(), Error> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(Error::Canceled("query execution"));
        }
        if Instant::now() > self.deadline {
            return Err(Error::Timeout("query execution"));
        }
        Ok(())
    }

    /// Accounts for `n` more samples held in memory.
    pub fn hold(&self, n: usize) -> Result<(), Error> {
        let now = self.samples.fetch_add(n, Ordering::Relaxed) + n;
        if self.counter.is_some() {
            self.peak.fetch_max(now, Ordering::Relaxed);
        }
        if now > self.opts.max_samples {
            return Err(too_many_samples());
        }
        Ok(())
    }

    pub fn release(&self, n: usize) {
        let _ = self
            .samples
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_sub(n))
            });
    }

    fn at_ms(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.query_start),
            Some(AtModifier::End) => Some(self.query_end),
            Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
        }
    }

    /// Evaluates `e` at every step of `g`.
    pub fn eval(&mut self, e: &Expr, g: Grid) -> Result<Val, Error> {
        self.check_deadline()?;
        if g.len > 1
            && !matches!(
                e,
                Expr::MatrixSelector(_)
                    | Expr::Subquery(_)
                    | Expr::NumberLiteral(_)
                    | Expr::StringLiteral(_)
            )
            && step_invariant(e)
        {
            // Prometheus counts the one evaluation's samples at every step, and reads
            // them once.
            let (once, sub) = self.scoped(Counter::default, |ev| ev.eval(e, g.first()))?;
            if let (Some(c), Some(sub)) = (&self.counter, sub) {
                (0..g.len).for_each(|i| c.add_total(i, sub.total()));
                c.add_read(0, sub.read());
            }
            return Ok(broadcast(once, g.len));
        }
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; g.len])),
            Expr::StringLiteral(s) => Ok(Val::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, g),
            Expr::Unary(u) => match self.eval(&u.expr, g)? {
                Val::Scalar(mut v) => {
                    v.iter_mut().for_each(|x| *x = -*x);
                    Ok(Val::Scalar(v))
                }
                Val::Vector(mut vec) => {
                    for s in &mut vec {
                        s.drop_name = true;
                        for x in s.vals.iter_mut().filter(|x| is_present(**x)) {
                            *x = -*x;
                        }
                    }
                    Ok(Val::Vector(vec))
                }
                _ => Err(Error::BadData(
                    "unary expression only allowed on expressions of type scalar or vector".into(),
                )),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.vector_selector(vs, g, false)?.0)),
            Expr::MatrixSelector(ms) => {
                let ends = self.window_ends(&ms.vs.at, &ms.vs.offset, g);
                let range = duration_ms(&ms.range);
                let mut out = self.range_selector(&ms.vs, &ends, range)?;
                out.retain(|s| !s.samples.is_empty());
                Ok(Val::Matrix(out))
            }
            Expr::Subquery(sq) => {
                let ends = self.window_ends(&sq.at, &sq.offset, g);
                let range = duration_ms(&sq.range);
                let lo = ends[0] - range;
                let mut out = self.subquery(sq, &ends, range, g, true)?;
                for s in &mut out {
                    s.samples.retain(|p| p.0 > lo);
                }
                out.retain(|s| !s.samples.is_empty());
                Ok(Val::Matrix(out))
            }
            Expr::Aggregate(a) => self.aggregate(a, g),
            Expr::Binary(b) => self.binary(b, g),
            Expr::Call(c) => self.call(c, g),
            Expr::Extension(_) => Err(Error::BadData("unsupported expression".into())),
        }
    }

    /// The end of each step's window (or lookback) for a selector: `@` time or step time,
    /// minus the offset.
    fn window_ends(&self, at: &Option<AtModifier>, offset: &Option<Offset>, g: Grid) -> Vec<i64> {
        let off = offset_ms(offset);
        match self.at_ms(at) {
            Some(t) => vec![t.saturating_sub(off); g.len],
            None => (0..g.len).map(|i| g.t(i).saturating_sub(off)).collect(),
        }
    }

    fn select(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Box<dyn model::storage::Series>>, Error> {
        let hints = SelectHints {
            start: mint,
            end: maxt,
            any_order: self.any_order,
            ..SelectHints::default()
        };
        let sets = selector_matchers(vs)?;
        if sets.len() == 1 {
            return Ok(self.querier.select(&hints, &sets[0])?);
        }
        let mut all: Vec<Box<dyn model::storage::Series>> = Vec::new();
        let mut seen: std::collections::HashSet<Labels> = std::collections::HashSet::new();
        for set in &sets {
            for s in self.querier.select(&hints, set)? {
                if seen.insert(s.labels().clone()) {
                    all.push(s);
                }
            }
        }
        if !self.any_order {
            all.sort_by(|a, b| a.labels().cmp(b.labels()));
        }
        Ok(all)
    }

    /// Reads one series' samples with `mint <= t <= maxt` into `buf`, replacing any value
    /// that collides with the absent marker by an ordinary NaN.
    fn read_samples(
        &self,
        s: &dyn model::storage::Series,
        mint: i64,
        maxt: i64,
        buf: &mut Vec<(i64, f64)>,
    ) -> Result<(), Error> {
        buf.clear();
        if let Err(e) = s.read_into(mint, maxt, buf) {
            return Err(Error::Execution(format!("expanding series: {e}")));
        }
        for s in buf.iter_mut().filter(|s| is_absent(s.1)) {
            s.1 = f64::NAN;
        }
        Ok(())
    }

    /// An instant selector: at each step the newest sample within the lookback window,
    /// unless it is a staleness marker. With `want_ts`, also each chosen sample's timestamp.
    pub fn vector_selector(
        &mut self,
        vs: &VectorSelector,
        g: Grid,
        want_ts: bool,
    ) -> Result<(Vec<Series>, Vec<Vec<i64>>), Error> {
        if g.len == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let parts = self.fold_selector(vs, g, want_ts, Vec::new, |_, out, labels, vals, ts| {
            let series = Series {
                labels: labels.clone(),
                vals: std::mem::take(vals),
                drop_name: false,
            };
            out.push((series, std::mem::take(ts)));
            Ok(())
        })?;
        Ok(parts.into_iter().flatten().unzip())
    }

    /// Folds each series an instant selector gives (see [`Evaluator::vector_selector`]) into
    /// a state made by `init`: `f(evaluator, state, labels, values, timestamps)`, with one
    /// value slot per step, and the timestamps only if `want_ts`. The values are counted as
    /// held when `f` gets them; both vectors are reused for the next series unless `f` takes
    /// them. Large selections are split into contiguous parts, each read and folded on its
    /// own thread one series at a time; returns one state per part, in series order.
    pub fn fold_selector<S: Send>(
        &mut self,
        vs: &VectorSelector,
        g: Grid,
        want_ts: bool,
        init: impl Fn() -> S + Sync,
        f: impl Fn(&Self, &mut S, &Labels, &mut Vec<f64>, &mut Vec<i64>) -> Result<(), Error> + Sync,
    ) -> Result<Vec<S>, Error> {
        if g.len == 0 {
            return Ok(Vec::new());
        }
        let ends = self.window_ends(&vs.at, &vs.offset, g);
        let lookback = self.opts.lookback_delta_ms;
        let (lo, hi) = span(&ends).expect("non-empty grid");
        let from = lo.saturating_sub(lookback) + 1;
        let series = self.select(vs, from, hi)?;
        let this: &Self = self;
        // Each thread reads its part of the selection one series at a time into one buffer.
        let work = |part: Vec<Box<dyn model::storage::Series>>| {
            let mut state = init();
            let (mut buf, mut vals, mut ts) = (Vec::new(), Vec::new(), Vec::new());
            for s in part {
                this.check_deadline()?;
                this.read_samples(s.as_ref(), from, hi, &mut buf)?;
                if this.place_samples(&buf, &ends, want_ts, &mut vals, &mut ts)? {
                    f(this, &mut state, s.labels(), &mut vals, &mut ts)?;
                }
            }
            Ok((state, Annotations::default()))
        };
        Ok(parallel_parts(series, g.len, work)?.0)
    }

    /// Fills `vals` with the value at each step of one series' samples `buf`: the newest
    /// within the lookback window before the step's `ends`, unless a staleness marker (and
    /// `ts` with its timestamp, if `want_ts`); false if no step has one. The values are
    /// counted as held when there are some.
    fn place_samples(
        &self,
        buf: &[(i64, f64)],
        ends: &[i64],
        want_ts: bool,
        vals: &mut Vec<f64>,
        ts: &mut Vec<i64>,
    ) -> Result<bool, Error> {
        let lookback = self.opts.lookback_delta_ms;
        if buf.is_empty() {
            return Ok(false);
        }
        vals.clear();
        vals.resize(ends.len(), ABSENT);
        ts.clear();
        if want_ts {
            ts.resize(ends.len(), 0);
        }
        let mut n = 0;
        // `ends` is non-decreasing: one pass with a cursor on the newest sample <= end.
        let mut cur = 0usize;
        for (i, &end) in ends.iter().enumerate() {
            while cur < buf.len() && buf[cur].0 <= end {
                cur += 1;
            }
            if cur == 0 {
                continue;
            }
            let (t, v) = buf[cur - 1];
            if t <= end - lookback || is_stale_nan(v) {
                continue;
            }
            vals[i] = v;
            if want_ts {
                ts[i] = t;
            }
            n += 1;
        }
        if n == 0 {
            return Ok(false);
        }
        if let Some(c) = &self.counter {
            if c.keeps_steps() {
                for (i, v) in vals.iter().enumerate() {
                    if is_present(*v) {
                        c.add(i, 1);
                    }
                }
            } else {
                c.add(0, n);
            }
        }
        // Memory holds every slot, present or not: that is what the limit bounds.
        self.hold(vals.len())?;
        Ok(true)
    }

    /// Samples of each selected series covering all windows `(end - range, end]`, staleness
    /// markers removed.
    fn range_selector(
        &mut self,
        vs: &VectorSelector,
        ends: &[i64],
        range: i64,
    ) -> Result<Vec<SampleSeries>, Error> {
        let Some((lo, hi)) = span(ends) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for s in self.select(vs, lo.saturating_sub(range) + 1, hi)? {
            self.check_deadline()?;
            let mut buf = Vec::new();
            self.read_samples(s.as_ref(), lo.saturating_sub(range) + 1, hi, &mut buf)?;
            buf.retain(|(_, v)| !is_stale_nan(*v));
            self.hold(buf.len())?;
            if let Some(c) = &self.counter {
                c.add(0, buf.len() as u64);
            }
            out.push(SampleSeries {
                labels: s.labels().clone(),
                samples: buf,
                drop_name: false,
            });
        }
        Ok(out)
    }

    /// Evaluates a subquery's inner expression on its own grid: multiples of its step after
    /// the earliest window start, up to the latest window end. Returns each series' points.
    ///
    /// The inner evaluation's samples are counted apart: a `bare` subquery (the query's
    /// result) adds them at the last step of `g`; a function's argument adds only the
    /// samples read, as the function counts its windows itself.
    fn subquery(
        &mut self,
        sq: &SubqueryExpr,
        ends: &[i64],
        range: i64,
        g: Grid,
        bare: bool,
    ) -> Result<Vec<SampleSeries>, Error> {
        let Some((lo, hi)) = span(ends) else {
            return Ok(Vec::new());
        };
        let step = sq
            .step
            .as_ref()
            .map(duration_ms)
            .filter(|s| *s > 0)
            .unwrap_or(self.opts.default_subquery_step_ms);
        let start = (lo.saturating_sub(range).div_euclid(step) + 1).saturating_mul(step);
        let steps = (hi.saturating_sub(start) / step).saturating_add(1);
        if steps as u64 > self.opts.max_samples as u64 {
            return Err(too_many_samples());
        }
        let inner = Grid::new(start, hi, step);
        let to_points = |vals: &[f64]| -> Vec<(i64, f64)> {
            vals.iter()
                .enumerate()
                .filter(|(_, v)| is_present(**v))
                .map(|(i, v)| (inner.t(i), *v))
                .collect()
        };
        let (val, sub) = self.scoped(
            || Counter::for_subquery(inner.len),
            |ev| ev.eval(&sq.expr, inner),
        )?;
        if let (Some(c), Some(sub)) = (&self.counter, sub) {
            let outer = (g.start, g.step, g.len);
            if bare {
                c.add_total(g.len.saturating_sub(1), sub.total());
                c.merge_read(&sub, (inner.start, inner.step), outer, 0, 0);
            } else {
                let offset = offset_ms(&sq.offset);
                c.merge_read(&sub, (inner.start, inner.step), outer, offset, range);
            }
        }
        Ok(match val {
            Val::Vector(v) => v
                .into_iter()
                .map(|s| SampleSeries {
                    samples: to_points(&s.vals),
                    labels: s.labels,
                    drop_name: s.drop_name,
                })
                .filter(|s| !s.samples.is_empty())
                .collect(),
            Val::Scalar(v) => vec![SampleSeries {
                labels: Labels::empty(),
                samples: to_points(&v),
                drop_name: false,
            }],
            _ => {
                return Err(Error::BadData(
                    "subquery is only allowed on instant vector or scalar".into(),
                ));
            }
        })
    }

    /// A function's range-vector argument (a range selector or a subquery): where its samples
    /// come from, and the end of every step's window and the range. Store series are read
    /// later, one at a time, by [`Evaluator::map_range_series`].
    pub fn range_arg(&mut self, e: &Expr, g: Grid) -> Result<(RangeSource, RangeArg), Error> {
        match unparen(e) {
            Expr::MatrixSelector(ms) => {
                let ends = self.window_ends(&ms.vs.at, &ms.vs.offset, g);
                let range = duration_ms(&ms.range);
                let source = match span(&ends) {
                    None => RangeSource::Evaluated(Vec::new()),
                    Some((lo, hi)) => RangeSource::Store {
                        series: self.select(&ms.vs, lo.saturating_sub(range) + 1, hi)?,
                        mint: lo.saturating_sub(range) + 1,
                        maxt: hi,
                    },
                };
                Ok((source, RangeArg { ends, range }))
            }
            Expr::Subquery(sq) => {
                let ends = self.window_ends(&sq.at, &sq.offset, g);
                let range = duration_ms(&sq.range);
                let series = self.subquery(sq, &ends, range, g, false)?;
                Ok((RangeSource::Evaluated(series), RangeArg { ends, range }))
            }
            _ => Err(Error::BadData(
                "expected a range vector (a range selector or a subquery)".into(),
            )),
        }
    }

    /// Applies `f(evaluator, labels, drop_name, samples, annotations)` to every series of a
    /// range argument's `source` and returns the results in series order (see
    /// [`Evaluator::fold_range_series`]).
    pub fn map_range_series<R: Send>(
        &mut self,
        source: RangeSource,
        arg: &RangeArg,
        f: impl Fn(&Self, &Labels, bool, &[(i64, f64)], &mut Annotations) -> Result<Option<R>, Error>
        + Sync,
    ) -> Result<Vec<R>, Error> {
        let parts = self.fold_range_series(
            source,
            arg,
            Vec::new,
            |ev, out: &mut Vec<R>, labels, drop_name, samples, annos| {
                out.extend(f(ev, labels, drop_name, samples, annos)?);
                Ok(())
            },
        )?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Folds every series of a range argument's `source` into a state made by `init`:
    /// `f(evaluator, state, labels, drop_name, samples, annotations)`. Store series are read
    /// one at a time per thread into one buffer (staleness markers removed), so memory holds
    /// a few series' samples, not the selection's; large selections are split into
    /// contiguous parts folded on their own threads, which also drop the series they read.
    /// Returns one state per part, in series order.
    pub fn fold_range_series<S: Send>(
        &mut self,
        source: RangeSource,
        arg: &RangeArg,
        init: impl Fn() -> S + Sync,
        f: impl Fn(&Self, &mut S, &Labels, bool, &[(i64, f64)], &mut Annotations) -> Result<(), Error>
        + Sync,
    ) -> Result<Vec<S>, Error> {
        let this: &Self = self;
        let (results, annos) = match source {
            RangeSource::Store { series, mint, maxt } => {
                let work = |part: Vec<Box<dyn model::storage::Series>>| {
                    let mut buf = Vec::new();
                    let mut annos = Annotations::default();
                    let mut state = init();
                    for s in part {
                        this.check_deadline()?;
                        this.read_samples(s.as_ref(), mint, maxt, &mut buf)?;
                        buf.retain(|(_, v)| !is_stale_nan(*v));
                        this.hold(buf.len())?;
                        if let Some(c) = &this.counter {
                            count_windows(c, &arg.ends, arg.range, &buf, true);
                        }
                        let r = f(this, &mut state, s.labels(), false, &buf, &mut annos);
                        this.release(buf.len());
                        r?;
                    }
                    Ok::<_, Error>((state, annos))
                };
                parallel_parts(series, arg.ends.len(), work)?
            }
            RangeSource::Evaluated(series) => {
                let n = series.iter().map(|s| s.samples.len()).sum();
                this.hold(n)?;
                let work = |part: Vec<SampleSeries>| {
                    let mut annos = Annotations::default();
                    let mut state = init();
                    for s in part {
                        this.check_deadline()?;
                        if let Some(c) = &this.counter {
                            count_windows(c, &arg.ends, arg.range, &s.samples, false);
                        }
                        f(
                            this,
                            &mut state,
                            &s.labels,
                            s.drop_name,
                            &s.samples,
                            &mut annos,
                        )?;
                    }
                    Ok::<_, Error>((state, annos))
                };
                let r = parallel_parts(series, arg.ends.len(), work);
                this.release(n);
                r?
            }
        };
        self.annos.merge(annos);
        Ok(results)
    }

    /// Evaluates `e` as a scalar per step (number literals, scalar expressions).
    pub fn eval_scalar(&mut self, e: &Expr, g: Grid) -> Result<Vec<f64>, Error> {
        match self.eval(e, g)? {
            Val::Scalar(v) => Ok(v),
            other => Err(Error::BadData(format!(
                "expected scalar, got {}",
                val_type(&other)
            ))),
        }
    }

    /// Evaluates `e` as an instant vector.
    pub fn eval_vector(&mut self, e: &Expr, g: Grid) -> Result<Vec<Series>, Error> {
        match self.eval(e, g)? {
            Val::Vector(v) => Ok(v),
            other => Err(Error::BadData(format!(
                "expected instant vector, got {}",
                val_type(&other)
            ))),
        }
    }
}

/// Below this many series × steps a selection is processed on the calling thread.
const PARALLEL_MIN_WORK: usize = 200_000;

/// Runs `work` over contiguous parts of `items` on up to `available_parallelism` threads
/// (one part if the work is small) and returns each part's result in order, with the
/// annotations of all. Each part is handed over, so the threads also drop what they were
/// given.
fn parallel_parts<T: Send, S: Send>(
    mut items: Vec<T>,
    steps: usize,
    work: impl Fn(Vec<T>) -> Result<(S, Annotations), Error> + Sync,
) -> Result<(Vec<S>, Annotations), Error> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || items.len() < 2 || items.len() * steps.max(1) < PARALLEL_MIN_WORK {
        let (state, annos) = work(items)?;
        return Ok((vec![state], annos));
    }
    let chunk = items.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    while !items.is_empty() {
        let rest = items.split_off(chunk.min(items.len()));
        parts.push(std::mem::replace(&mut items, rest));
    }
    let work = &work;
    let parts: Vec<Result<(S, Annotations), Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    });
    let mut out = Vec::with_capacity(parts.len());
    let mut annos = Annotations::default();
    for p in parts {
        let (state, a) = p?;
        out.push(state);
        annos.merge(a);
    }
    Ok((out, annos))
}

/// Counts each step's window `(end - range, end]` of one series' `samples` as covered and,
/// for samples taken from storage (`read`), those no earlier step's window held (windows
/// of a pinned selector, all alike, are read once).
fn count_windows(c: &Counter, ends: &[i64], range: i64, samples: &[(i64, f64)], read: bool) {
    let per_step = c.keeps_steps();
    let (mut lo, mut hi) = (0usize, 0usize);
    let (mut total, mut fresh) = (0u64, 0u64);
    for (i, &end) in ends.iter().enumerate() {
        // Samples before `hi` were in an earlier window (or before it); the rest are new.
        let seen = hi;
        while hi < samples.len() && samples[hi].0 <= end {
            hi += 1;
        }
        while lo < hi && samples[lo].0 <= end - range {
            lo += 1;
        }
        let (w, new) = ((hi - lo) as u64, (hi - lo.max(seen)) as u64);
        if per_step {
            c.add_total(i, w);
            if read {
                c.add_read(i, new);
            }
        } else {
            total += w;
            fresh += new;
        }
    }
    if !per_step {
        c.add_total(0, total);
        if read {
            c.add_read(0, fresh);
        }
    }
}

pub(crate) fn too_many_samples() -> Error {
    Error::Execution(
        "query processing would load too many samples into memory in query execution".into(),
    )
}

/// The earliest and latest of `ends`.
fn span(ends: &[i64]) -> Option<(i64, i64)> {
    Some((*ends.iter().min()?, *ends.iter().max()?))
}

/// Where a range argument's samples come from.
pub(crate) enum RangeSource {
    /// Selected store series, read when iterated; `mint..=maxt` covers every window.
    Store {
        series: Vec<Box<dyn model::storage::Series>>,
        mint: i64,
        maxt: i64,
    },
    /// An evaluated subquery's points.
    Evaluated(Vec<SampleSeries>),
}

/// The windows of a function's range-vector argument; its samples come from a
/// [`RangeSource`].
pub(crate) struct RangeArg {
    /// Window end (inclusive) per step.
    pub ends: Vec<i64>,
    /// Window length: a window is `(end - range, end]`.
    pub range: i64,
}

pub(crate) fn val_type(v: &Val) -> &'static str {
    match v {
        Val::Scalar(_) => "scalar",
        Val::String(_) => "string",
        Val::Vector(_) => "instant vector",
        Val::Matrix(_) => "range vector",
    }
}

/// Repeats a one-step value across `n` steps.
fn broadcast(v: Val, n: usize) -> Val {
    match v {
        Val::Scalar(s) => Val::Scalar(vec![s.first().copied().unwrap_or(f64::NAN); n]),
        Val::Vector(vec) => Val::Vector(
            vec.into_iter()
                .map(|s| Series {
                    vals: vec![s.vals[0]; n],
                    ..s
                })
                .collect(),
        ),
        other => other,
    }
}

/// The widest time range any selector of `expr` reads, for the querier.
fn time_range(expr: &Expr, start: i64, end: i64, opts: &EngineOptions) -> (i64, i64) {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    let query = (start, end);
    walk_ranges(expr, query, start, end, 0, 0, opts, &mut lo, &mut hi);
    if lo > hi { (start, end) } else { (lo, hi) }
}

/// `before`: how far back enclosing subqueries reach; `after`: how far forward (negative
/// offsets) they reach.
#[allow(clippy::too_many_arguments)]
fn walk_ranges(
    e: &Expr,
    query: (i64, i64),
    start: i64,
    end: i64,
    before: i64,
    after: i64,
    opts: &EngineOptions,
    lo: &mut i64,
    hi: &mut i64,
) {
    // `@ start()` / `@ end()` always mean the query's own, however deep.
    let at_of = |at: &Option<AtModifier>| match at {
        None => None,
        Some(AtModifier::Start) => Some(query.0),
        Some(AtModifier::End) => Some(query.1),
        Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
    };
    let mut mark =
        |at: &Option<AtModifier>, off: &Option<Offset>, range: i64, before: i64, after: i64| {
            let off = offset_ms(off);
            let (s, e) = match at_of(at) {
                Some(t) => (t, t),
                None => (start - before, end + after),
            };
            *lo = (*lo).min(s - off - range - opts.lookback_delta_ms);
            *hi = (*hi).max(e - off);
        };
    match e {
        Expr::VectorSelector(vs) => mark(&vs.at, &vs.offset, 0, before, after),
        Expr::MatrixSelector(ms) => mark(
            &ms.vs.at,
            &ms.vs.offset,
            duration_ms(&ms.range),
            before,
            after,
        ),
        Expr::Subquery(sq) => {
            let off = offset_ms(&sq.offset);
            let range = duration_ms(&sq.range);
            match at_of(&sq.at) {
                Some(t) => walk_ranges(
                    &sq.expr,
                    query,
                    t,
                    t,
                    range.saturating_add(off.max(0)),
                    off.saturating_neg().max(0),
                    opts,
                    lo,
                    hi,
                ),
                None => walk_ranges(
                    &sq.expr,
                    query,
                    start,
                    end,
                    before.saturating_add(range).saturating_add(off.max(0)),
                    after.saturating_add(off.saturating_neg().max(0)),
                    opts,
                    lo,
                    hi,
                ),
            }
        }
        Expr::Aggregate(a) => {
            walk_ranges(&a.expr, query, start, end, before, after, opts, lo, hi);
            if let Some(p) = &a.param {
                walk_ranges(p, query, start, end, before, after, opts, lo, hi);
            }
        }
        Expr::Binary(b) => {
            walk_ranges(&b.lhs, query, start, end, before, after, opts, lo, hi);
            walk_ranges(&b.rhs, query, start, end, before, after, opts, lo, hi);
        }
        Expr::Paren(p) => walk_ranges(&p.expr, query, start, end, before, after, opts, lo, hi),
        Expr::Unary(u) => walk_ranges(&u.expr, query, start, end, before, after, opts, lo, hi),
        Expr::Call(c) => {
            for a in &c.args.args {
                walk_ranges(a, query, start, end, before, after, opts, lo, hi);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Drops the metric name (and the `__type__`/`__unit__` metadata labels) from `l`.
pub(crate) fn drop_metric_name(l: &Labels) -> Labels {
    if !l.iter().any(|x| is_metadata_label(&x.name)) {
        return l.clone();
    }
    l.filter(|x| !is_metadata_label(&x.name))
}

/// Whether label `name` is one of `names` (`on`, `by`), or with `listed` false, whether it is
/// neither one of them nor the metric name (`ignoring`, `without`).
pub(crate) fn picks_label(names: &[String], listed: bool, name: &str) -> bool {
    let named = names.iter().any(|n| n == name);
    if listed {
        named
    } else {
        !named && name != "__name__"
    }
}

/// Numbers label sets by their picked labels ([`picks_label`]) in order of first sight.
pub(crate) struct Ordinals {
    index: std::collections::HashMap<Vec<u8>, usize>,
    key: Vec<u8>,
}

impl Ordinals {
    pub fn with_capacity(n: usize) -> Ordinals {
        Ordinals {
            index: std::collections::HashMap::with_capacity(n),
            key: Vec::new(),
        }
    }

    /// The ordinal of `l`'s picked labels, and whether it is new.
    pub fn of(&mut self, l: &Labels, names: &[String], listed: bool) -> (usize, bool) {
        signature(l, names, listed, &mut self.key);
        if let Some(&id) = self.index.get(&self.key) {
            return (id, false);
        }
        let id = self.index.len();
        self.index.insert(self.key.clone(), id);
        (id, true)
    }

    /// The ordinal of `l`'s picked labels if it has one; `key` is scratch space.
    pub fn find(
        &self,
        l: &Labels,
        names: &[String],
        listed: bool,
        key: &mut Vec<u8>,
    ) -> Option<usize> {
        signature(l, names, listed, key);
        self.index.get(key).copied()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }
}

/// The labels of `l` that [`picks_label`] picks, as a key: each name and value followed by a
/// 0xff byte, which UTF-8 text never holds, so equal keys mean equal picked labels.
pub(crate) fn signature(l: &Labels, names: &[String], listed: bool, key: &mut Vec<u8>) {
    key.clear();
    for lab in l.iter().filter(|x| picks_label(names, listed, &x.name)) {
        key.extend_from_slice(lab.name.as_bytes());
        key.push(0xff);
        key.extend_from_slice(lab.value.as_bytes());
        key.push(0xff);
    }
}

pub(crate) fn is_metadata_label(name: &str) -> bool {
    matches!(name, "__name__" | "__type__" | "__unit__")
}

/// Sets `name=value` on a builder, deleting the label when `value` is empty.
pub(crate) fn set_label(b: &mut LabelsBuilder, name: &str, value: &str) {
    if value.is_empty() {
        b.del(name);
    } else {
        b.set(name, value);
    }
}
