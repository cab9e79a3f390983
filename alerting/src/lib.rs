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
//! local store or a remote Prometheus API.

pub mod notify;
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
