//! The front the rule engine and the daemon use: sending, reloading, starting and stopping.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use model::metrics::Registry;
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use super::alertmanager::Sender;
use super::metrics::NotifyMetrics;
use super::tasks::Tasks;
use super::webhook::{Receiver, Settings, WebhookConfig};
use super::{Alert, ConfigError, Endpoint, RelabelFn, now_ms};

/// What a notifier starts with.
#[derive(Clone)]
pub struct NotifierOptions {
    /// Alerts each Alertmanager's queue holds before the oldest are dropped (Prometheus's
    /// `--alertmanager.notification-queue-capacity`, default 10000).
    pub queue_capacity: usize,
    /// `global.external_labels`: added to every alert that lacks the label.
    pub external_labels: BTreeMap<String, String>,
    /// The URL Vane is reached under; the `externalURL` of webhook notifications.
    pub external_url: String,
    /// Applied to every alert's labels after the external labels; `None` from it drops the
    /// alert.
    pub relabel: Option<RelabelFn>,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue_capacity: 10_000,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            relabel: None,
        }
    }
}

impl std::fmt::Debug for NotifierOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifierOptions")
            .field("queue_capacity", &self.queue_capacity)
            .field("external_labels", &self.external_labels)
            .field("external_url", &self.external_url)
            .field("relabel", &self.relabel.is_some())
            .finish()
    }
}

/// What happens to an alert's labels before it is sent.
struct LabelRules {
    external: BTreeMap<String, String>,
    relabel: Option<RelabelFn>,
}

/// Delivers alerts to the configured Alertmanagers and webhook receivers.
///
/// Life cycle: [`Notifier::new`], [`Notifier::apply`] with the configuration (again on every
/// reload), [`Notifier::start`] on a runtime (configuration applied earlier waits for it),
/// [`Notifier::send`] after every rule evaluation, [`Notifier::stop`] at shutdown.
pub struct Notifier {
    queue_capacity: usize,
    external_url: String,
    rules: RwLock<Arc<LabelRules>>,
    alertmanagers: Arc<RwLock<Vec<Arc<Sender>>>>,
    receivers: RwLock<Vec<Arc<Receiver>>>,
    /// Serializes reloads.
    applying: Mutex<()>,
    metrics: NotifyMetrics,
    tasks: Arc<Tasks>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("alertmanagers", &self.alertmanager_urls())
            .field(
                "webhooks",
                &self
                    .receivers
                    .read()
                    .iter()
                    .map(|r| r.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier with no Alertmanager and no webhook yet; its metrics go to `registry`.
    pub fn new(opts: NotifierOptions, registry: &Registry) -> Arc<Notifier> {
        let alertmanagers: Arc<RwLock<Vec<Arc<Sender>>>> = Arc::default();
        let (ams_len, ams_count) = (alertmanagers.clone(), alertmanagers.clone());
        let metrics = NotifyMetrics::new(
            registry,
            move || {
                ams_len
                    .read()
                    .iter()
                    .map(|s| s.queue_len())
                    .max()
                    .unwrap_or(0) as f64
            },
            move || ams_count.read().len() as f64,
        );
        let queue_capacity = opts.queue_capacity.max(1);
        metrics.queue_capacity.set(queue_capacity as f64);
        Arc::new(Notifier {
            queue_capacity,
            external_url: opts.external_url,
            rules: RwLock::new(Arc::new(LabelRules {
                external: opts.external_labels,
                relabel: opts.relabel,
            })),
            alertmanagers,
            receivers: RwLock::default(),
            applying: Mutex::new(()),
            metrics,
            tasks: Arc::new(Tasks::new()),
        })
    }

    /// Applies a (re)loaded configuration. An Alertmanager whose URL stays keeps its queue; a
    /// webhook whose name and `group_by` stay keeps its groups and what they notified (other
    /// changes, such as the URL or the intervals, apply from the next flush). Removed ones stop
    /// and drop what they held. Nothing changes when a webhook is invalid.
    pub fn apply(
        &self,
        alertmanagers: Vec<Endpoint>,
        webhooks: Vec<WebhookConfig>,
        external_labels: BTreeMap<String, String>,
        relabel: Option<RelabelFn>,
    ) -> Result<(), ConfigError> {
        let mut names = HashSet::new();
        let mut settings = Vec::with_capacity(webhooks.len());
        for (index, cfg) in webhooks.into_iter().enumerate() {
            let invalid = |reason: String| ConfigError::Webhook {
                index,
                name: cfg.name.clone(),
                reason,
            };
            cfg.validate().map_err(invalid)?;
            if !names.insert(cfg.name.clone()) {
                return Err(ConfigError::DuplicateWebhook(cfg.name));
            }
            settings.push(Settings::new(cfg.clone(), self.external_url.clone()).map_err(invalid)?);
        }

        let _applying = self.applying.lock();
        *self.rules.write() = Arc::new(LabelRules {
            external: external_labels,
            relabel,
        });
        self.apply_alertmanagers(alertmanagers);
        self.apply_webhooks(settings);
        Ok(())
    }

    fn apply_alertmanagers(&self, endpoints: Vec<Endpoint>) {
        let old: Vec<Arc<Sender>> = self.alertmanagers.read().clone();
        let mut next: Vec<Arc<Sender>> = Vec::with_capacity(endpoints.len());
        for ep in endpoints {
            // The same Alertmanager twice gets the alerts once (as Prometheus deduplicates).
            if next.iter().any(|s| s.url() == ep.url) {
                continue;
            }
            match old.iter().find(|s| s.url() == ep.url) {
                Some(s) => {
                    s.update(ep);
                    next.push(s.clone());
                }
                None => next.push(Sender::start(
                    ep,
                    self.queue_capacity,
                    &self.metrics,
                    &self.tasks,
                )),
            }
        }
        for s in &old {
            if !next.iter().any(|n| Arc::ptr_eq(n, s)) {
                s.stop();
            }
        }
        *self.alertmanagers.write() = next;
    }

    fn apply_webhooks(&self, settings: Vec<Settings>) {
        let old: Vec<Arc<Receiver>> = self.receivers.read().clone();
        let mut next = Vec::with_capacity(settings.len());
        for s in settings {
            match old.iter().find(|r| r.name() == s.cfg.name) {
                Some(r) if r.can_update(&s.cfg) => {
                    if r.config() != s.cfg {
                        tracing::info!(receiver = %s.cfg.name, "webhook settings changed");
                    }
                    r.update(s);
                    next.push(r.clone());
                }
                _ => next.push(Receiver::new(s, &self.metrics, &self.tasks)),
            }
        }
        for r in &old {
            if !next.iter().any(|n| Arc::ptr_eq(n, r)) {
                r.stop();
            }
        }
        *self.receivers.write() = next;
    }

    /// Queues alerts for every Alertmanager and hands them to every webhook receiver. Never
    /// blocks: a full queue drops its oldest alerts.
    pub fn send(&self, alerts: Vec<Alert>) {
        if alerts.is_empty() || self.tasks.is_stopped() {
            return;
        }
        let alerts = self.prepare(alerts);
        if alerts.is_empty() {
            return;
        }
        for s in self.alertmanagers.read().iter() {
            s.add(&alerts);
        }
        let receivers = self.receivers.read().clone();
        if !receivers.is_empty() {
            let now = now_ms();
            for r in &receivers {
                r.insert(&alerts, now);
            }
        }
    }

    /// External labels where the alert lacks them, then the relabel function.
    fn prepare(&self, alerts: Vec<Alert>) -> Vec<Arc<Alert>> {
        let rules = self.rules.read().clone();
        alerts
            .into_iter()
            .filter_map(|mut a| {
                let missing = rules.external.iter().filter(|(n, _)| !a.labels.has(n));
                let mut missing = missing.peekable();
                if missing.peek().is_some() {
                    let mut b = a.labels.to_builder();
                    for (n, v) in missing {
                        b.set(n.as_str(), v.as_str());
                    }
                    a.labels = b.build();
                }
                if let Some(relabel) = &rules.relabel {
                    a.labels = relabel(&a.labels)?;
                }
                Some(Arc::new(a))
            })
            .collect()
    }

    /// Starts delivering on `rt`. Only the first call counts.
    pub fn start(&self, rt: &tokio::runtime::Handle) {
        self.tasks.start(rt);
    }

    /// Stops delivering: Alertmanager queues are sent for at most `grace`, then dropped;
    /// webhook groups stop at once (a notification being retried is abandoned). Returns when
    /// every task has ended, or `grace` (and a little) has passed.
    pub async fn stop(&self, grace: Duration) {
        tracing::info!("stopping the notifier");
        self.tasks.stop(grace).await;
    }

    /// Starts on the current runtime, runs until `shutdown` is cancelled, then stops with
    /// `grace` for the queues (the daemon's component shape).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken, grace: Duration) {
        self.start(&tokio::runtime::Handle::current());
        shutdown.cancelled().await;
        self.stop(grace).await;
    }

    /// The alerts URLs of the active Alertmanagers (for `/api/v1/alertmanagers`).
    pub fn alertmanager_urls(&self) -> Vec<String> {
        self.alertmanagers
            .read()
            .iter()
            .map(|s| s.url().to_string())
            .collect()
    }

    #[cfg(test)]
    pub(super) fn receiver(&self, name: &str) -> Option<Arc<Receiver>> {
        self.receivers
            .read()
            .iter()
            .find(|r| r.name() == name)
            .cloned()
    }
}

/// A notifier dropped without [`Notifier::stop`] ends its tasks (nothing more is sent).
impl Drop for Notifier {
    fn drop(&mut self) {
        self.tasks.cancel();
    }
}
