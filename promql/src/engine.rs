//! Query entry points.

use std::time::{Duration, Instant};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use model::labels::Labels;
use model::storage::Queryable;
use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;

use crate::eval::{Evaluator, Grid, SampleSeries, Val, drop_metric_name, is_present};
use crate::stats::{Counter, QuerySamples, QueryStats, QueryTimings, StatsDetail};
use crate::value::{Annotations, Error, QueryResult, RangeSeries, Sample, Value};

/// Engine limits and defaults; the defaults are Prometheus's.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (`--query.lookback-delta`, 5m).
    pub lookback_delta_ms: i64,
    /// Most samples a query may hold in memory at once (`--query.max-samples`, 50 M).
    pub max_samples: usize,
    /// Per-query timeout (`--query.timeout`, 2m).
    pub timeout: Duration,
    /// Most points per series a range query may return (11,000).
    pub max_points_per_series: i64,
    /// Step of subqueries written without one (`x[10m:]`), 1m.
    pub default_subquery_step_ms: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 300_000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            max_points_per_series: 11_000,
            default_subquery_step_ms: 60_000,
        }
    }
}

/// Deepest nesting of operators and brackets a query may have. Evaluation recurses over the
/// tree; this keeps it well inside a thread's stack.
pub const MAX_DEPTH: usize = 500;

/// Evaluates PromQL. Cheap to clone: it holds its options and, for one query, a
/// cancellation flag and whether to gather statistics.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
    cancel: Option<Arc<AtomicBool>>,
    stats: Option<StatsDetail>,
}

/// What one evaluation measured, for [`QueryStats`].
struct Measured {
    samples: QuerySamples,
    preparation: Duration,
    inner_eval: Duration,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine {
            opts,
            cancel: None,
            stats: None,
        }
    }

    /// This engine gathering statistics: its results carry [`QueryResult::stats`]. Without
    /// it nothing is counted.
    pub fn with_stats(mut self, detail: StatsDetail) -> Self {
        self.stats = Some(detail);
        self
    }

    /// This engine with a cancellation flag: once `cancel` is set, a running query stops
    /// with a `canceled` error (the API sets it when the client goes away).
    pub fn with_cancel(mut self, cancel: Arc<AtomicBool>) -> Self {
        self.cancel = Some(cancel);
        self
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Parses `query` (a `bad_data` error saying what is wrong on failure).
    ///
    /// The message has Prometheus's shape, `parse error: <what>`, led by `<line>:<column>: `
    /// where the position can be told: an unbalanced bracket, the end of the input.
    /// Queries nested deeper than [`MAX_DEPTH`] and times or durations outside what a
    /// millisecond clock holds are refused here, so evaluation never meets them.
    pub fn parse(query: &str) -> Result<Expr, Error> {
        crate::position::check_depth(query, MAX_DEPTH)?;
        let parsed =
            std::panic::catch_unwind(|| promql_parser::parser::parse(query)).map_err(|_| {
                Error::BadData("parse error: a duration or time is out of range".into())
            })?;
        let expr = parsed.map_err(|e| {
            Error::BadData(match crate::position::locate_parse_error(query, &e) {
                Some((line, col)) => format!("{line}:{col}: parse error: {e}"),
                None => format!("parse error: {e}"),
            })
        })?;
        crate::position::check_times(&expr)?;
        Ok(expr)
    }

    /// Evaluates `query` at `t` (ms). Returns a scalar, string, vector or (for a range
    /// selector) matrix.
    pub fn instant_query(
        &self,
        q: &dyn Queryable,
        query: &str,
        t: i64,
    ) -> Result<QueryResult, Error> {
        let expr = Self::parse(query)?;
        self.exec_instant(q, &expr, t)
    }

    /// Evaluates `query` at `start, start+step, …, ≤ end` (ms). Returns a matrix sorted by
    /// labels; a scalar expression comes back as one series with no labels.
    pub fn range_query(
        &self,
        q: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, Error> {
        let expr = Self::parse(query)?;
        self.exec_range(q, &expr, start, end, step)
    }

    /// [`Engine::instant_query`] for an already parsed expression.
    pub fn exec_instant(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        t: i64,
    ) -> Result<QueryResult, Error> {
        let started = Instant::now();
        let (val, annotations, measured) = self.run(q, expr, Grid::new(t, t, 1), t, 0, false)?;
        let mut sort = Duration::ZERO;
        let value = match val {
            Val::Scalar(v) => Value::Scalar { t, v: v[0] },
            Val::String(s) => Value::String { t, v: s },
            Val::Vector(series) => {
                let mut out = Vec::with_capacity(series.len());
                let mut seen = HashSet::with_capacity(series.len());
                for s in series {
                    let labels = if s.drop_name {
                        drop_metric_name(&s.labels)
                    } else {
                        s.labels
                    };
                    if !seen.insert(labels.clone()) {
                        return Err(duplicate_labelset());
                    }
                    out.push(Sample {
                        labels,
                        t,
                        v: s.vals[0],
                    });
                }
                Value::Vector(out)
            }
            Val::Matrix(series) => Value::Matrix(finish_matrix(series, &mut sort)?),
        };
        Ok(QueryResult {
            value,
            annotations,
            stats: measured.map(|m| m.into_stats(started, sort)),
        })
    }

    /// [`Engine::range_query`] for an already parsed expression.
    pub fn exec_range(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, Error> {
        let started = Instant::now();
        if step <= 0 {
            return Err(Error::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end < start {
            return Err(Error::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        let span = end.checked_sub(start).unwrap_or(i64::MAX);
        if span / step > self.opts.max_points_per_series {
            return Err(Error::BadData(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                group_thousands(self.opts.max_points_per_series)
            )));
        }
        let kind = match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => None,
            ValueType::Matrix => Some("range vector"),
            ValueType::String => Some("string"),
        };
        if let Some(kind) = kind {
            return Err(Error::BadData(format!(
                "invalid expression type {kind:?} for range query, must be Scalar or instant Vector"
            )));
        }
        let g = Grid::new(start, end, step);
        let (val, annotations, measured) =
            self.run(q, expr, g, end, if start == end { 0 } else { step }, true)?;
        let points = |vals: Vec<f64>| -> Vec<(i64, f64)> {
            vals.into_iter()
                .enumerate()
                .filter(|(_, v)| is_present(*v))
                .map(|(i, v)| (g.t(i), v))
                .collect()
        };
        let series = match val {
            Val::Scalar(v) => vec![SampleSeries {
                labels: Labels::empty(),
                samples: points(v),
                drop_name: false,
            }],
            Val::Vector(v) => v
                .into_iter()
                .map(|s| SampleSeries {
                    samples: points(s.vals),
                    labels: s.labels,
                    drop_name: s.drop_name,
                })
                .collect(),
            _ => {
                return Err(Error::BadData(
                    "range queries need a scalar or an instant vector".into(),
                ));
            }
        };
        let mut sort = Duration::ZERO;
        let value = Value::Matrix(finish_matrix(series, &mut sort)?);
        Ok(QueryResult {
            value,
            annotations,
            stats: measured.map(|m| m.into_stats(started, sort)),
        })
    }

    /// Evaluates `expr` over `g`, turning a panic in evaluation into an error so one bad
    /// query cannot take the process down. `sorted_at_end`: the caller sorts the result by
    /// labels, so series may be selected in any order.
    fn run(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        g: Grid,
        end: i64,
        step: i64,
        sorted_at_end: bool,
    ) -> Result<(Val, Annotations, Option<Measured>), Error> {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let prepared = Instant::now();
            let mut ev =
                Evaluator::new(&self.opts, self.cancel.clone(), q, expr, g.start, end, step)?;
            if sorted_at_end {
                ev.select_in_any_order();
            }
            match self.stats {
                None => {}
                Some(StatsDetail::Totals) => ev.count_samples(Counter::default()),
                Some(StatsDetail::PerStep) => ev.count_samples(Counter::per_step(g.len)),
            }
            let evaluated = Instant::now();
            let val = ev.eval(expr, g)?;
            let measured = ev.sample_stats(|i| g.t(i)).map(|samples| Measured {
                samples,
                preparation: evaluated - prepared,
                inner_eval: evaluated.elapsed(),
            });
            Ok::<_, Error>((val, ev.annos, measured))
        }));
        match result {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(Error::Execution(format!("unexpected error: {msg}")))
            }
        }
    }
}

impl Measured {
    /// The query's statistics: evaluation began at `started`; sorting took `sort`. The
    /// engine knows no queue: `exec_total` is the evaluation's, until a caller that queued
    /// the query adds its wait.
    fn into_stats(self, started: Instant, sort: Duration) -> QueryStats {
        let eval_total = started.elapsed();
        QueryStats {
            timings: QueryTimings {
                eval_total,
                result_sort: sort,
                query_preparation: self.preparation,
                inner_eval: self.inner_eval,
                exec_queue: Duration::ZERO,
                exec_total: eval_total,
            },
            samples: self.samples,
        }
    }
}

fn duplicate_labelset() -> Error {
    Error::Execution("vector cannot contain metrics with the same labelset".into())
}

/// Drops metric names marked for dropping, joins series that became equal (an error if
/// they overlap in time) and sorts by labels, adding the time the sort took to `sort`.
fn finish_matrix(
    series: Vec<SampleSeries>,
    sort: &mut Duration,
) -> Result<Vec<RangeSeries>, Error> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<RangeSeries> = Vec::with_capacity(series.len());
    for SampleSeries {
        labels,
        samples: points,
        drop_name,
    } in series
    {
        if points.is_empty() {
            continue;
        }
        let labels = if drop_name {
            drop_metric_name(&labels)
        } else {
            labels
        };
        match index.get(&labels) {
            Some(&i) => {
                let dst = &mut out[i];
                dst.points.extend(points);
                dst.points.sort_by_key(|p| p.0);
                if dst.points.windows(2).any(|w| w[0].0 == w[1].0) {
                    return Err(duplicate_labelset());
                }
            }
            None => {
                index.insert(labels.clone(), out.len());
                out.push(RangeSeries { labels, points });
            }
        }
    }
    let sorting = Instant::now();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    *sort += sorting.elapsed();
    Ok(out)
}

/// `11000` → `11,000`, as Prometheus prints the limit.
fn group_thousands(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The vector selectors `query` reads (also inside range selectors, subqueries, function
/// arguments and operators), in the order they appear, each as the sets of matchers it stands
/// for (one set, or one per `or` branch) with the metric name as a `__name__` matcher.
pub fn query_selectors(query: &str) -> Result<Vec<Vec<Vec<model::matcher::Matcher>>>, Error> {
    fn walk(e: &Expr, out: &mut Vec<Vec<Vec<model::matcher::Matcher>>>) -> Result<(), Error> {
        match e {
            Expr::VectorSelector(vs) => out.push(crate::eval::selector_matchers(vs)?),
            Expr::MatrixSelector(ms) => out.push(crate::eval::selector_matchers(&ms.vs)?),
            Expr::Subquery(sq) => walk(&sq.expr, out)?,
            Expr::Aggregate(a) => {
                walk(&a.expr, out)?;
                if let Some(p) = &a.param {
                    walk(p, out)?;
                }
            }
            Expr::Binary(b) => {
                walk(&b.lhs, out)?;
                walk(&b.rhs, out)?;
            }
            Expr::Paren(p) => walk(&p.expr, out)?,
            Expr::Unary(u) => walk(&u.expr, out)?,
            Expr::Call(c) => {
                for a in &c.args.args {
                    walk(a, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(&Engine::parse(query)?, &mut out)?;
    Ok(out)
}

/// Parses a series selector such as `up{job="api"}` (the `match[]` of the metadata
/// endpoints) into the sets of matchers it stands for (one set, or one per `or` branch).
pub fn parse_selector(s: &str) -> Result<Vec<Vec<model::matcher::Matcher>>, Error> {
    match Engine::parse(s)? {
        Expr::VectorSelector(vs) => crate::eval::selector_matchers(&vs),
        other => Err(Error::BadData(format!(
            "expected a series selector, got {}",
            match other.value_type() {
                ValueType::Matrix => "a range vector",
                ValueType::Scalar => "a scalar",
                ValueType::String => "a string",
                ValueType::Vector => "an expression",
            }
        ))),
    }
}
