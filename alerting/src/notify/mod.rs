//! Alert delivery.

use std::collections::BTreeMap;

use model::Labels;

/// An alert as it is sent: what Alertmanager's API v2 takes (`labels`, `annotations`,
/// `startsAt`, `endsAt`, `generatorURL`). Times are ms since the epoch; `ends_at` is set for
/// firing alerts (a time in the future after which Alertmanager resolves it unless re-sent)
/// and for resolved ones (when they resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub generator_url: String,
}

impl Alert {
    /// Resolved at `now_ms`: it has an end time that is not after it.
    pub fn resolved_at(&self, now_ms: i64) -> bool {
        self.ends_at.is_some_and(|e| e <= now_ms)
    }
}
