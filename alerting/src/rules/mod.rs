//! Rule evaluation, as Prometheus's rule manager does it.
//!
//! * A [`Group`] evaluates its rules in order at aligned times (`interval` apart, shifted by a
//!   per-group offset so groups spread out); groups run in parallel. Each rule queries at the
//!   evaluation time minus the group's `query_offset`; what it returns is written to the store
//!   at that time, and series it returned last time but not now get staleness markers.
//! * A [`RecordingRule`] renames its result and sets its labels.
//! * An [`AlertingRule`] keeps one alert per label set: pending when the expression first
//!   returns it, firing once it has been active for `for`, resolved when it no longer returns
//!   (or `keep_firing_for` after that); resolved alerts are kept, and re-sent, for 15 minutes.
//!   Its results are the `ALERTS` and `ALERTS_FOR_STATE` series; the latter lets the first
//!   evaluations after a restart restore how long an alert has been pending.
//! * The [`Manager`] loads rule files, runs one task per group, and on reload keeps the alert
//!   state of rules that did not change.

mod alerting_rule;
mod api;
mod group;
mod manager;
mod recording;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use model::{Appendable, Queryable};
use parking_lot::Mutex;

pub use alerting_rule::{ActiveAlert, AlertState, AlertingRule};
pub use api::RuleFilter;
pub use group::{Group, GroupMetrics};
pub use manager::{Manager, ManagerOptions};
pub use recording::RecordingRule;

use crate::QueryEngine;
use crate::notify::Alert;

/// Where rule evaluation reads and writes, and where alerts go.
pub struct RuleEnv {
    pub query: Arc<dyn QueryEngine>,
    pub appendable: Arc<dyn Appendable>,
    /// For restoring `for` state from `ALERTS_FOR_STATE` after a restart; `None` skips it.
    pub queryable: Option<Arc<dyn Queryable>>,
    /// Receives the alerts to send after each evaluation of an alerting rule.
    pub notify: Arc<dyn Fn(Vec<Alert>) + Send + Sync>,
    pub external_labels: BTreeMap<String, String>,
    /// The URL Vane is reached at (`--web.external-url`), for `generatorURL` and templates.
    pub external_url: String,
    /// Alerts are re-sent at least this often (`--rules.alert.resend-delay`, 1m).
    pub resend_delay: Duration,
    /// How far back `ALERTS_FOR_STATE` is looked for (`--rules.alert.for-outage-tolerance`, 1h).
    pub outage_tolerance: Duration,
    /// The least time left to fire after a restore (`--rules.alert.for-grace-period`, 10m).
    pub for_grace_period: Duration,
}

/// A rule's health after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Good,
    Bad,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Good => "ok",
            Health::Bad => "err",
        }
    }
}

/// What the last evaluation of a rule left behind.
#[derive(Debug, Clone)]
pub struct RuleStatus {
    pub health: Health,
    pub last_error: Option<String>,
    /// When it ran (ms since the epoch) and how long it took.
    pub last_evaluation: Option<i64>,
    pub evaluation_time: Duration,
}

impl Default for RuleStatus {
    fn default() -> Self {
        RuleStatus {
            health: Health::Unknown,
            last_error: None,
            last_evaluation: None,
            evaluation_time: Duration::ZERO,
        }
    }
}

/// One rule of a group.
pub enum Rule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl Rule {
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(r) => &r.name,
        }
    }

    pub fn expr(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(r) => &r.expr,
        }
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        match self {
            Rule::Recording(r) => &r.labels,
            Rule::Alerting(r) => &r.labels,
        }
    }

    fn status_cell(&self) -> &Mutex<RuleStatus> {
        match self {
            Rule::Recording(r) => &r.status,
            Rule::Alerting(r) => &r.status,
        }
    }

    pub fn status(&self) -> RuleStatus {
        self.status_cell().lock().clone()
    }

    /// Identity across reloads: kind, name, labels and expression.
    fn same_definition(&self, other: &Rule) -> bool {
        match (self, other) {
            (Rule::Recording(a), Rule::Recording(b)) => a.definition_eq(b),
            (Rule::Alerting(a), Rule::Alerting(b)) => a.definition_eq(b),
            _ => false,
        }
    }
}

/// Formats a timestamp (ms) as Go's `time.Time` marshals to JSON (RFC 3339 with as many
/// fractional digits as needed, UTC).
pub(crate) fn rfc3339(ms: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Milliseconds since the epoch now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
