//! Webhook receivers: alerts delivered without an Alertmanager, in Alertmanager's webhook JSON.
//!
//! Each receiver behaves as an Alertmanager whose only route is a root route with that
//! receiver: alerts are grouped by the `group_by` labels ([`group`]), each group notifies
//! after `group_wait`, then at most every `group_interval` when it changed and every
//! `repeat_interval` when it did not; failed requests are retried with backoff until the
//! group's next notification is due ([`deliver`]); the body is built in [`message`].

mod deliver;
mod group;
mod message;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use model::Labels;
use model::metrics::Counter;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Deserializer};
use tokio_util::sync::CancellationToken;

use super::metrics::NotifyMetrics;
use super::tasks::Tasks;
use super::{Alert, USER_AGENT};
use group::Group;

/// `group_by: ['...']` groups by every label.
pub const GROUP_BY_ALL: &str = "...";

/// One webhook receiver, as written in the `webhooks:` list of the `alerting:` section.
/// Durations are Prometheus duration strings (`30s`, `5m`, `4h`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique among the webhooks; the `receiver` of the notifications.
    pub name: String,
    /// Where notifications are posted (`http` or `https`).
    pub url: String,
    /// Labels whose values form a group; empty puts every alert in one group, `['...']`
    /// groups by all labels.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// How long a new group waits before its first notification (default 30s).
    #[serde(default = "defaults::group_wait", deserialize_with = "duration")]
    pub group_wait: Duration,
    /// How long a group waits before notifying about changes (default 5m).
    #[serde(default = "defaults::group_interval", deserialize_with = "duration")]
    pub group_interval: Duration,
    /// How long before an unchanged group is notified again (default 4h).
    #[serde(default = "defaults::repeat_interval", deserialize_with = "duration")]
    pub repeat_interval: Duration,
    /// Whether resolved alerts are notified (default true).
    #[serde(default = "defaults::send_resolved")]
    pub send_resolved: bool,
    /// Limit on one request (default 10s; 0 means only the retry window limits it).
    #[serde(default = "defaults::timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    /// Most alerts in one notification; the rest are counted in `truncatedAlerts`. 0 means
    /// all.
    #[serde(default)]
    pub max_alerts: u64,
}

mod defaults {
    use std::time::Duration;

    pub fn group_wait() -> Duration {
        Duration::from_secs(30)
    }
    pub fn group_interval() -> Duration {
        Duration::from_secs(5 * 60)
    }
    pub fn repeat_interval() -> Duration {
        Duration::from_secs(4 * 3600)
    }
    pub fn send_resolved() -> bool {
        true
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(10)
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    model::duration::parse_duration(&s).map_err(serde::de::Error::custom)
}

impl WebhookConfig {
    /// A receiver with the defaults of every optional field.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        WebhookConfig {
            name: name.into(),
            url: url.into(),
            group_by: Vec::new(),
            group_wait: defaults::group_wait(),
            group_interval: defaults::group_interval(),
            repeat_interval: defaults::repeat_interval(),
            send_resolved: defaults::send_resolved(),
            timeout: defaults::timeout(),
            max_alerts: 0,
        }
    }

    /// Checks what serde cannot: the URL, `group_by`, non-zero intervals (as Alertmanager).
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err("name must not be empty".into());
        }
        let url = reqwest::Url::parse(&self.url).map_err(|e| format!("url {:?}: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("url {:?}: must be an http or https URL", self.url));
        }
        if self.group_by.iter().any(|l| l == GROUP_BY_ALL) && self.group_by.len() > 1 {
            return Err("group_by: '...' cannot be combined with other labels".into());
        }
        for (i, l) in self.group_by.iter().enumerate() {
            if l.is_empty() {
                return Err("group_by: empty label name".into());
            }
            if self.group_by[..i].contains(l) {
                return Err(format!("group_by: label {l:?} is listed twice"));
            }
        }
        if self.group_interval.is_zero() {
            return Err("group_interval must be greater than 0".into());
        }
        if self.repeat_interval.is_zero() {
            return Err("repeat_interval must be greater than 0".into());
        }
        Ok(())
    }
}

/// A receiver's settings as its groups read them at each flush (a reload swaps them).
pub(super) struct Settings {
    pub cfg: WebhookConfig,
    /// `group_by`, sorted; `None` for `['...']`.
    group_by: Option<Vec<String>>,
    pub client: reqwest::Client,
    pub external_url: String,
}

impl Settings {
    pub fn new(cfg: WebhookConfig, external_url: String) -> Result<Settings, String> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let group_by = if cfg.group_by.iter().any(|l| l == GROUP_BY_ALL) {
            None
        } else {
            let mut g = cfg.group_by.clone();
            g.sort();
            Some(g)
        };
        Ok(Settings {
            cfg,
            group_by,
            client,
            external_url,
        })
    }

    /// The labels of `labels` that name its group.
    fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.group_by {
            None => labels.clone(),
            Some(names) => Labels::from_sorted(
                labels
                    .iter()
                    .filter(|l| names.binary_search_by(|n| n.as_str().cmp(&l.name)).is_ok())
                    .cloned()
                    .collect(),
            ),
        }
    }
}

/// Counters of one receiver.
pub(super) struct ReceiverMetrics {
    pub sent: Arc<Counter>,
    pub failed: Arc<Counter>,
    pub retries: Arc<Counter>,
}

/// One webhook receiver and its aggregation groups.
pub(crate) struct Receiver {
    name: String,
    settings: RwLock<Arc<Settings>>,
    groups: Mutex<HashMap<Labels, Arc<Group>>>,
    stop: CancellationToken,
    tasks: Arc<Tasks>,
    metrics: ReceiverMetrics,
}

impl Receiver {
    pub(super) fn new(
        settings: Settings,
        metrics: &NotifyMetrics,
        tasks: &Arc<Tasks>,
    ) -> Arc<Self> {
        let name = settings.cfg.name.clone();
        Arc::new(Receiver {
            metrics: ReceiverMetrics {
                sent: metrics.webhook_sent.with(&[&name]),
                failed: metrics.webhook_failed.with(&[&name]),
                retries: metrics.webhook_retries.with(&[&name]),
            },
            name,
            settings: RwLock::new(Arc::new(settings)),
            groups: Mutex::new(HashMap::new()),
            stop: tasks.child_token(),
            tasks: tasks.clone(),
        })
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn config(&self) -> WebhookConfig {
        self.settings.read().cfg.clone()
    }

    /// Whether `settings` can replace the current ones without regrouping.
    pub(super) fn can_update(&self, cfg: &WebhookConfig) -> bool {
        self.settings.read().cfg.group_by == cfg.group_by
    }

    /// New settings with the same grouping (a reload): groups and their history stay.
    pub(super) fn update(&self, settings: Settings) {
        *self.settings.write() = Arc::new(settings);
    }

    fn settings(&self) -> Arc<Settings> {
        self.settings.read().clone()
    }

    /// Stops every group of this receiver; pending notifications are abandoned.
    pub(super) fn stop(&self) {
        self.stop.cancel();
    }

    /// Puts alerts into their groups, creating (and starting) groups as needed.
    pub(super) fn insert(self: &Arc<Self>, alerts: &[Arc<Alert>], now_ms: i64) {
        if self.stop.is_cancelled() {
            return;
        }
        let settings = self.settings();
        let mut groups = self.groups.lock();
        for a in alerts {
            let labels = settings.group_labels(&a.labels);
            let g = match groups.get(&labels) {
                Some(g) => g.clone(),
                None => {
                    let g = Arc::new(Group::new(labels.clone(), settings.cfg.group_wait));
                    groups.insert(labels, g.clone());
                    self.tasks.spawn(g.clone().run(self.clone()));
                    g
                }
            };
            g.insert(a, now_ms, settings.cfg.group_wait);
        }
    }

    /// Removes `g` if it holds no alert; then its task ends.
    fn remove_if_empty(&self, g: &Arc<Group>) -> bool {
        let mut groups = self.groups.lock();
        if !g.is_empty() {
            return false;
        }
        if groups
            .get(g.labels())
            .is_some_and(|cur| Arc::ptr_eq(cur, g))
        {
            groups.remove(g.labels());
        }
        true
    }

    #[cfg(test)]
    pub(super) fn group_count(&self) -> usize {
        self.groups.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<WebhookConfig, String> {
        yaml_serde::from_str::<WebhookConfig>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_alertmanagers() {
        let c = parse("name: team\nurl: http://127.0.0.1:9/hook\n").unwrap();
        assert_eq!(c, WebhookConfig::new("team", "http://127.0.0.1:9/hook"));
        assert_eq!(c.group_wait, Duration::from_secs(30));
        assert_eq!(c.group_interval, Duration::from_secs(300));
        assert_eq!(c.repeat_interval, Duration::from_secs(4 * 3600));
        assert!(c.send_resolved);
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.max_alerts, 0);
        c.validate().unwrap();
    }

    #[test]
    fn every_field_parses() {
        let c = parse(
            "name: t\nurl: https://hooks.example/x\ngroup_by: [alertname, job]\n\
             group_wait: 10s\ngroup_interval: 1m\nrepeat_interval: 1h30m\n\
             send_resolved: false\ntimeout: 500ms\nmax_alerts: 20\n",
        )
        .unwrap();
        assert_eq!(c.group_by, ["alertname", "job"]);
        assert_eq!(c.group_wait, Duration::from_secs(10));
        assert_eq!(c.group_interval, Duration::from_secs(60));
        assert_eq!(c.repeat_interval, Duration::from_secs(5400));
        assert!(!c.send_resolved);
        assert_eq!(c.timeout, Duration::from_millis(500));
        assert_eq!(c.max_alerts, 20);
        c.validate().unwrap();
    }

    #[test]
    fn bad_configs_are_refused() {
        let e = parse("name: t\nurl: http://x/\nsend_resovled: true\n").unwrap_err();
        assert!(e.contains("unknown field `send_resovled`"), "{e}");
        let e = parse("name: t\nurl: http://x/\ngroup_wait: 10\n").unwrap_err();
        assert!(e.contains("not a valid duration string"), "{e}");
        let e = parse("url: http://x/\n").unwrap_err();
        assert!(e.contains("missing field `name`"), "{e}");

        let check = |f: &dyn Fn(&mut WebhookConfig)| {
            let mut c = WebhookConfig::new("t", "http://127.0.0.1/");
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(check(&|c| c.url = "ftp://x/".into()).contains("http or https"));
        assert!(check(&|c| c.url = "not a url".into()).contains("url"));
        assert!(check(&|c| c.name.clear()).contains("name"));
        let e = check(&|c| c.group_by = vec!["...".into(), "job".into()]);
        assert!(e.contains("'...'"), "{e}");
        let e = check(&|c| c.group_by = vec!["job".into(), "job".into()]);
        assert!(e.contains("twice"), "{e}");
        assert!(check(&|c| c.group_interval = Duration::ZERO).contains("group_interval"));
        assert!(check(&|c| c.repeat_interval = Duration::ZERO).contains("repeat_interval"));
    }

    #[test]
    fn group_labels_follow_group_by() {
        let l = model::labels! {"alertname" => "A", "job" => "j", "instance" => "i"};
        let s = |g: &[&str]| {
            let mut c = WebhookConfig::new("t", "http://127.0.0.1/");
            c.group_by = g.iter().map(|s| s.to_string()).collect();
            Settings::new(c, String::new()).unwrap()
        };
        assert_eq!(s(&[]).group_labels(&l), Labels::empty());
        assert_eq!(
            s(&["job", "alertname", "absent"]).group_labels(&l),
            model::labels! {"alertname" => "A", "job" => "j"}
        );
        assert_eq!(s(&["..."]).group_labels(&l), l);
    }
}
