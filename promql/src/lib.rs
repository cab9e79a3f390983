//! PromQL evaluation over [`model::Queryable`], with Prometheus 3 semantics.
//!
//! Queries are parsed by `promql-parser` and evaluated by [`Engine`]. Every expression is
//! evaluated for all steps of a query at once: a vector is a set of series, each holding one
//! value slot per step, so range queries decode each chunk once and functions over ranges walk
//! each series' samples with a sliding window instead of re-selecting per step. An instant
//! query is a range query with one step.
//!
//! [`notation`] reads series and their values as Prometheus's test files write them (the
//! conformance scripts and rule unit tests share it).

mod engine;
mod eval;
pub mod functions;
pub mod notation;
mod position;
pub mod stats;
pub mod value;

#[cfg(test)]
mod tests;

pub use engine::{Engine, EngineOptions, MAX_DEPTH, parse_selector, query_selectors};
pub use promql_parser::parser::Expr;
pub use stats::{QueryStats, StatsDetail};
pub use value::{Annotations, Error, QueryResult, RangeSeries, Sample, Value};

/// A classic histogram bucket's `le` label as `histogram_quantile` reads it.
pub fn parse_bucket_bound(le: &str) -> Option<f64> {
    eval::parse_go_float(le)
}
