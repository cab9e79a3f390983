//! An aggregation group: the alerts of one receiver that share their grouping labels, and the
//! task that notifies about them (Alertmanager's `aggrGroup` with the dedup and retry stages).
//!
//! Timing: the first flush comes `group_wait` after the group was created (at once when the
//! first alert started longer ago than that), then a flush every `group_interval`. A flush
//! notifies when the group changed since the last successful notification (a new firing
//! alert, a newly resolved one when `send_resolved`, every alert resolved) or when
//! `repeat_interval` has passed; after a successful flush the resolved alerts leave the group,
//! and a group left empty ends.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use model::Labels;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::message::{self, MessageAlert};
use super::{Receiver, Settings, deliver};
use crate::notify::encode::{fingerprint, label_set_string};
use crate::notify::{Alert, now_ms};

/// How long an alert without an end time stays firing unless re-sent (Alertmanager's default
/// `resolve_timeout`).
const RESOLVE_TIMEOUT_MS: i64 = 5 * 60 * 1000;

/// An alert held by a group.
struct Held {
    alert: Arc<Alert>,
    fingerprint: u64,
    /// Bumped on every update, so a flush only removes resolved alerts it notified about.
    version: u64,
}

/// What the last successful notification said (Alertmanager's notification log entry).
#[derive(Debug, Clone)]
pub(super) struct Notified {
    firing: HashSet<u64>,
    resolved: HashSet<u64>,
    at: Instant,
}

struct State {
    alerts: HashMap<Labels, Held>,
    next_flush: Instant,
    has_flushed: bool,
    last: Option<Notified>,
    version: u64,
}

pub(super) struct Group {
    labels: Labels,
    /// The `groupKey` of the notifications: `{}:` (the route key of a root route without
    /// matchers) and the group labels as Go prints a label set.
    key: String,
    state: Mutex<State>,
    /// Wakes the task when a flush becomes due earlier.
    wake: Notify,
}

impl Group {
    pub fn new(labels: Labels, group_wait: Duration) -> Group {
        Group {
            key: format!("{{}}:{}", label_set_string(&labels)),
            labels,
            state: Mutex::new(State {
                alerts: HashMap::new(),
                next_flush: Instant::now() + group_wait,
                has_flushed: false,
                last: None,
                version: 0,
            }),
            wake: Notify::new(),
        }
    }

    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    pub fn is_empty(&self) -> bool {
        self.state.lock().alerts.is_empty()
    }

    /// Adds or updates an alert.
    pub fn insert(&self, alert: &Arc<Alert>, now_ms: i64, group_wait: Duration) {
        let mut st = self.state.lock();
        st.version += 1;
        let version = st.version;
        let mut alert = alert.clone();
        if alert.ends_at.is_none() {
            let a = Arc::make_mut(&mut alert);
            a.ends_at = Some(now_ms + RESOLVE_TIMEOUT_MS);
        }
        // An update of an alert that is still active keeps its earliest start (Alertmanager
        // merges overlapping alerts so).
        if let Some(old) = st.alerts.get(&alert.labels)
            && !old.alert.resolved_at(now_ms)
            && old.alert.starts_at < alert.starts_at
        {
            Arc::make_mut(&mut alert).starts_at = old.alert.starts_at;
        }
        let starts_at = alert.starts_at;
        st.alerts.insert(
            alert.labels.clone(),
            Held {
                fingerprint: fingerprint(&alert.labels),
                alert,
                version,
            },
        );
        // An alert that started longer than group_wait ago need not wait for the first flush.
        let wait_ms = i64::try_from(group_wait.as_millis()).unwrap_or(i64::MAX);
        if !st.has_flushed && starts_at.saturating_add(wait_ms) < now_ms {
            st.next_flush = Instant::now();
            drop(st);
            self.wake.notify_one();
        }
    }

    /// The group's task: flushes on time until the receiver stops or the group empties.
    pub async fn run(self: Arc<Self>, receiver: Arc<Receiver>) {
        loop {
            let due = self.state.lock().next_flush;
            tokio::select! {
                _ = receiver.stop.cancelled() => return,
                _ = self.wake.notified() => continue,
                _ = tokio::time::sleep_until(due) => {}
            }
            let settings = receiver.settings();
            let tick = Instant::now();
            let next = {
                let mut st = self.state.lock();
                if tick < st.next_flush {
                    continue;
                }
                st.next_flush = tick + settings.cfg.group_interval;
                st.has_flushed = true;
                st.next_flush
            };
            tokio::select! {
                _ = receiver.stop.cancelled() => return,
                _ = self.flush(&receiver, &settings, tick, next) => {}
            }
            if receiver.remove_if_empty(&self) {
                return;
            }
        }
    }

    /// Notifies if needed; retries until `next` (when the next flush is due).
    async fn flush(&self, receiver: &Receiver, settings: &Settings, tick: Instant, next: Instant) {
        let now = now_ms();
        let (mut alerts, last) = {
            let st = self.state.lock();
            if st.alerts.is_empty() {
                return;
            }
            let alerts: Vec<(Arc<Alert>, u64, u64)> = st
                .alerts
                .values()
                .map(|h| (h.alert.clone(), h.fingerprint, h.version))
                .collect();
            (alerts, st.last.clone())
        };
        alerts.sort_by(|a, b| message::alert_order(&a.0.labels, &b.0.labels));

        let mut firing = HashSet::new();
        let mut resolved = HashSet::new();
        let mut resolved_versions = Vec::new();
        for (a, fp, version) in &alerts {
            if a.resolved_at(now) {
                resolved.insert(*fp);
                resolved_versions.push((a.labels.clone(), *version));
            } else {
                firing.insert(*fp);
            }
        }
        let cfg = &settings.cfg;
        if !needs_update(
            last.as_ref(),
            &firing,
            &resolved,
            cfg.send_resolved,
            cfg.repeat_interval,
            tick,
        ) {
            self.remove_resolved(&resolved_versions);
            return;
        }

        // Without send_resolved only the firing alerts are sent; when none is left, the
        // notification counts as sent without a request (so the log forgets them).
        let to_send: Vec<MessageAlert<'_>> = alerts
            .iter()
            .filter(|(a, _, _)| cfg.send_resolved || !a.resolved_at(now))
            .map(|(a, fp, _)| MessageAlert::new(a, *fp, now))
            .collect();
        if !to_send.is_empty() {
            let body = message::encode(
                &receiver.name,
                &self.labels,
                &self.key,
                &settings.external_url,
                cfg.max_alerts,
                to_send,
            );
            let delivered = deliver::post(
                settings,
                body,
                next,
                &receiver.metrics.retries,
                &receiver.name,
                &self.key,
            )
            .await;
            if let Err(err) = delivered {
                receiver.metrics.failed.inc();
                tracing::error!(
                    receiver = %receiver.name,
                    group = %self.key,
                    %err,
                    "webhook notification failed"
                );
                return;
            }
            receiver.metrics.sent.inc();
        }
        self.state.lock().last = Some(Notified {
            firing,
            resolved,
            at: tick,
        });
        self.remove_resolved(&resolved_versions);
    }

    /// Removes the resolved alerts that were notified about, unless updated meanwhile.
    fn remove_resolved(&self, notified: &[(Labels, u64)]) {
        let mut st = self.state.lock();
        for (labels, version) in notified {
            if st.alerts.get(labels).is_some_and(|h| h.version == *version) {
                st.alerts.remove(labels);
            }
        }
    }
}

/// Alertmanager's dedup stage: whether a flush with these firing and resolved alerts (by
/// fingerprint) notifies, given the last successful notification.
pub(super) fn needs_update(
    last: Option<&Notified>,
    firing: &HashSet<u64>,
    resolved: &HashSet<u64>,
    send_resolved: bool,
    repeat: Duration,
    now: Instant,
) -> bool {
    let Some(last) = last else {
        // Never notified: only firing alerts are worth a notification.
        return !firing.is_empty();
    };
    if !firing.is_subset(&last.firing) {
        return true;
    }
    if firing.is_empty() {
        // Everything resolved: notify if the receiver was told about firing alerts
        // (whatever send_resolved says, so the log forgets them).
        return !last.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&last.resolved) {
        return true;
    }
    now.saturating_duration_since(last.at) >= repeat
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u64]) -> HashSet<u64> {
        v.iter().copied().collect()
    }

    #[test]
    fn dedup_follows_alertmanager() {
        let t0 = Instant::now();
        let repeat = Duration::from_secs(60);
        let later = t0 + Duration::from_secs(10);
        let after_repeat = t0 + repeat;
        let last = Notified {
            firing: set(&[1, 2]),
            resolved: set(&[]),
            at: t0,
        };
        let nu = |last: Option<&Notified>, f: &[u64], r: &[u64], sr: bool, now: Instant| {
            needs_update(last, &set(f), &set(r), sr, repeat, now)
        };
        // First notification: only with firing alerts.
        assert!(nu(None, &[1], &[], true, t0));
        assert!(!nu(None, &[], &[1], true, t0));
        // A new firing alert.
        assert!(nu(Some(&last), &[1, 2, 3], &[], true, later));
        // Same or fewer firing alerts, nothing resolved: only after the repeat interval.
        assert!(!nu(Some(&last), &[1, 2], &[], true, later));
        assert!(!nu(Some(&last), &[1], &[], false, later));
        assert!(nu(Some(&last), &[1, 2], &[], true, after_repeat));
        // A newly resolved alert: with send_resolved only.
        assert!(nu(Some(&last), &[1], &[2], true, later));
        assert!(!nu(Some(&last), &[1], &[2], false, later));
        // Everything resolved: always, once.
        assert!(nu(Some(&last), &[], &[1, 2], false, later));
        let all_resolved = Notified {
            firing: set(&[]),
            resolved: set(&[1, 2]),
            at: t0,
        };
        assert!(!nu(Some(&all_resolved), &[], &[1, 2], true, after_repeat));
    }

    #[test]
    fn group_key_is_a_root_routes() {
        let g = Group::new(
            model::labels! {"alertname" => "Down", "job" => "a\"b"},
            Duration::ZERO,
        );
        assert_eq!(g.key, r#"{}:{alertname="Down", job="a\"b"}"#);
        assert_eq!(Group::new(Labels::empty(), Duration::ZERO).key, "{}:{}");
    }
}
