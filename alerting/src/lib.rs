//! Recording and alerting rules, alert state and notification delivery.
//!
//! * [`rulefmt`]: Prometheus rule files (YAML groups of recording and alerting rules), parsed
//!   and validated with errors that name the file, group, rule and problem.
//! * [`template`]: the Go text/template subset rule labels and annotations use, with
//!   Prometheus's template functions.
//! * [`rules`]: evaluation of rule groups on their interval, the alert state machine, the
//!   `ALERTS` and `ALERTS_FOR_STATE` series.
//! * [`notify`]: delivery of alerts to Alertmanager (API v2) and to webhooks.
//!
//! Query capability comes in through [`QueryEngine`], so the same rules can run against the
//! local store ([`LocalQueryEngine`]) or a remote Prometheus API
//! ([`remote::RemoteQueryEngine`]).

pub mod notify;
pub mod remote;
pub mod rulefmt;
pub mod rules;
pub mod template;

use model::Labels;

/// One element of an instant query's result: a series' labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// Runs PromQL instant queries for rules and templates.
pub trait QueryEngine: Send + Sync {
    /// Evaluates `query` at `t_ms` (ms since the epoch). A scalar result comes back as one
    /// sample without labels; a string result is an error.
    fn instant(&self, query: &str, t_ms: i64) -> Result<Vec<Sample>, String>;
}

/// [`QueryEngine`] over Vane's own PromQL engine and a store.
pub struct LocalQueryEngine {
    pub engine: promql::Engine,
    pub store: std::sync::Arc<dyn model::Queryable>,
}

impl QueryEngine for LocalQueryEngine {
    fn instant(&self, query: &str, t_ms: i64) -> Result<Vec<Sample>, String> {
        let res = self
            .engine
            .instant_query(self.store.as_ref(), query, t_ms)
            .map_err(|e| e.to_string())?;
        match res.value {
            promql::Value::Vector(v) => Ok(v
                .into_iter()
                .map(|s| Sample {
                    labels: s.labels,
                    value: s.v,
                })
                .collect()),
            promql::Value::Scalar { v, .. } => Ok(vec![Sample {
                labels: Labels::empty(),
                value: v,
            }]),
            _ => Err("rule result is not a vector or scalar".into()),
        }
    }
}
