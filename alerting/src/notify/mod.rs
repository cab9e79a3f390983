//! Alert delivery: to Alertmanager's API v2 as Prometheus's notifier sends alerts, and, for
//! users without an Alertmanager, straight to webhooks in Alertmanager's webhook JSON.
//!
//! The rule engine calls [`Notifier::send`] after every evaluation with the alerts to (re)send.
//! Each alert gets the external labels it lacks, then goes through the relabel function, then
//! to every configured Alertmanager and every webhook receiver:
//!
//! * `alertmanager`: one send loop per Alertmanager, each with a bounded queue that drops its
//!   oldest alerts when full and posts batches of at most 256 alerts (Prometheus's notifier).
//! * [`webhook`]: receivers that group, wait, deduplicate, repeat and retry as Alertmanager's
//!   dispatcher and notification pipeline do, and post Alertmanager's webhook JSON.
//!
//! Every Alertmanager, receiver and group sends from its own task, so one that is down or hangs
//! delays nobody else. `docs/alerting.md` describes the configuration and the behaviour.

mod alertmanager;
mod encode;
mod metrics;
mod notifier;
mod tasks;
pub mod webhook;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use model::Labels;

pub use notifier::{Notifier, NotifierOptions};
pub use webhook::WebhookConfig;

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

/// Rewrites the labels of an alert before it is sent (the daemon passes Prometheus's
/// `alert_relabel_configs` through it); `None` drops the alert.
pub type RelabelFn = Arc<dyn Fn(&Labels) -> Option<Labels> + Send + Sync>;

/// Adds credentials to a request (basic auth, an `Authorization` header); an error fails
/// that request.
pub type AuthorizeFn =
    Arc<dyn Fn(reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, String> + Send + Sync>;

/// One Alertmanager, as the daemon builds it from an `alertmanagers:` entry of the
/// configuration (target, scheme, path prefix and HTTP client settings).
#[derive(Clone)]
pub struct Endpoint {
    /// The full URL of the alerts endpoint: `<scheme>://<target><path_prefix>/api/v2/alerts`.
    pub url: String,
    pub client: reqwest::Client,
    pub authorize: Option<AuthorizeFn>,
    /// Limit on one request, from connecting to reading the response. Zero means none.
    pub timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("authorize", &self.authorize.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A notification configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("webhooks[{index}] ({name:?}): {reason}")]
    Webhook {
        index: usize,
        name: String,
        reason: String,
    },
    #[error("webhooks: the name {0:?} is used twice")]
    DuplicateWebhook(String),
}

/// The User-Agent of notification requests (the daemon's clients for Alertmanagers set their
/// own).
const USER_AGENT: &str = concat!("Vane/", env!("CARGO_PKG_VERSION"));

/// Milliseconds since the epoch, now.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An error with its chain of causes, for logs (reqwest hides the useful part in sources).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let c_str = c.to_string();
        if !s.contains(&c_str) {
            s.push_str(": ");
            s.push_str(&c_str);
        }
        cur = c.source();
    }
    s
}
