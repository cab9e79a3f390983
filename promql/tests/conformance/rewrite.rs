//! The upstream runner's `@` variants of an instant eval: every vector selector, range
//! selector and subquery without an `@` gets `@ <T>` (selectors inside a subquery are left
//! alone; the subquery itself gets it), and the rewritten query must give the same result at
//! `-10T, 0, T/5, T, 10T` (at -1 s, 0, +1 s when T = 0).
//!
//! As upstream (whose printer lets a timestamp win over `start()`/`end()`), a selector or
//! subquery with `@ start()` / `@ end()` counts as having no fixed timestamp and is pinned to
//! `T` too: for an instant query at `T` both mean `T`.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql::Expr;
use promql_parser::parser::AtModifier;
use promql_parser::parser::ast::VectorSelector;
use regex::Regex;

/// Functions whose result depends on the evaluation time even with pinned arguments
/// (upstream's `AtModifierUnsafeFunctions` plus the query-context functions).
const AT_UNSAFE_FUNCTIONS: [&str; 15] = [
    "time",
    "timestamp",
    "predict_linear",
    "start",
    "end",
    "range",
    "step",
    "minute",
    "hour",
    "day_of_week",
    "day_of_month",
    "day_of_year",
    "days_in_month",
    "month",
    "year",
];

static RE_QUERY_CONTEXT_FUNCS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(start|end|range|step)\(\)").unwrap());

/// Upstream skips the range-mode re-run for queries calling `start()`, `end()`, `range()` or
/// `step()` (a text match on the query).
pub fn uses_query_context_funcs(expr: &str) -> bool {
    RE_QUERY_CONTEXT_FUNCS.is_match(expr)
}

/// `ms` since the epoch as a `SystemTime` (before the epoch for negative values).
pub fn system_time(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// The evaluation times of the `@` variants of an instant eval at `t`.
pub fn variant_times(t: i64) -> Vec<i64> {
    if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    }
}

/// The `@`-pinned copy of `expr`, or `None` if it calls a time-dependent function (outside
/// pinned subqueries, as upstream inspects it), in which case there are no `@` variants.
pub fn at_rewrite(expr: &Expr, t: i64) -> Option<Expr> {
    let mut e = expr.clone();
    let at = AtModifier::At(system_time(t));
    let mut unsafe_call = false;
    pin(&mut e, &at, &mut unsafe_call);
    (!unsafe_call).then_some(e)
}

fn pin_selector(vs: &mut VectorSelector, at: &AtModifier) {
    if !matches!(vs.at, Some(AtModifier::At(_))) {
        vs.at = Some(at.clone());
    }
}

fn pin(e: &mut Expr, at: &AtModifier, unsafe_call: &mut bool) {
    match e {
        Expr::VectorSelector(vs) => pin_selector(vs, at),
        Expr::MatrixSelector(ms) => pin_selector(&mut ms.vs, at),
        Expr::Subquery(sq) => {
            // Everything below a subquery with a timestamp is left alone (and not inspected).
            if !matches!(sq.at, Some(AtModifier::At(_))) {
                sq.at = Some(at.clone());
            }
        }
        Expr::Aggregate(a) => {
            if let Some(p) = a.param.as_deref_mut() {
                pin(p, at, unsafe_call);
            }
            pin(&mut a.expr, at, unsafe_call);
        }
        Expr::Unary(u) => pin(&mut u.expr, at, unsafe_call),
        Expr::Binary(b) => {
            pin(&mut b.lhs, at, unsafe_call);
            pin(&mut b.rhs, at, unsafe_call);
        }
        Expr::Paren(p) => pin(&mut p.expr, at, unsafe_call),
        Expr::Call(c) => {
            if AT_UNSAFE_FUNCTIONS.contains(&c.func.name) {
                *unsafe_call = true;
            }
            for a in c.args.args.iter_mut() {
                pin(a, at, unsafe_call);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}
