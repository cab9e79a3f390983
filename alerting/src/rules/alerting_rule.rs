//! Alerting rules and the alert state machine.

use std::collections::{BTreeMap, HashMap, HashSet};

use model::{Labels, LabelsBuilder};
use parking_lot::Mutex;

use super::{RuleEnv, RuleStatus, ms};
use crate::notify::Alert;
use crate::template::{self, TemplateData};

/// Resolved alerts are kept (and re-sent) this long, so a lost notification is repeated.
const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of a rule: a label set the expression returned. Times in ms since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAlert {
    pub state: AlertState,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub valid_until: Option<i64>,
    pub keep_firing_since: Option<i64>,
}

impl ActiveAlert {
    /// Pending alerts are never sent; resolved ones once more after resolving; firing ones
    /// again after `resend_delay`.
    fn needs_sending(&self, ts: i64, resend_delay: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if self.resolved_at > self.last_sent_at {
            return true;
        }
        self.last_sent_at
            .is_none_or(|s| s.saturating_add(resend_delay) < ts)
    }
}

#[derive(Default)]
pub(super) struct AlertsState {
    pub(super) active: HashMap<u64, ActiveAlert>,
    /// `for` state restored (or nothing to restore): until then no `ALERTS` /
    /// `ALERTS_FOR_STATE` samples are written, so a restart does not overwrite them.
    pub(super) restored: bool,
}

pub struct AlertingRule {
    pub name: String,
    pub expr: String,
    pub hold_ms: i64,
    pub keep_firing_for_ms: i64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub(super) state: Mutex<AlertsState>,
    pub(super) status: Mutex<RuleStatus>,
}

impl AlertingRule {
    pub fn new(
        name: String,
        expr: String,
        hold_ms: i64,
        keep_firing_for_ms: i64,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        restored: bool,
    ) -> Self {
        AlertingRule {
            name,
            expr,
            hold_ms,
            keep_firing_for_ms,
            labels,
            annotations,
            state: Mutex::new(AlertsState {
                active: HashMap::new(),
                restored,
            }),
            status: Mutex::new(RuleStatus::default()),
        }
    }

    pub(super) fn definition_eq(&self, o: &AlertingRule) -> bool {
        self.name == o.name && self.expr == o.expr && self.labels == o.labels
    }

    /// The alerts (pending, firing, and resolved ones still kept), sorted by labels.
    pub fn alerts(&self) -> Vec<ActiveAlert> {
        let mut v: Vec<ActiveAlert> = self.state.lock().active.values().cloned().collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    /// The highest state among the alerts (`inactive` without any).
    pub fn state(&self) -> AlertState {
        self.state
            .lock()
            .active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }

    pub(super) fn set_restored(&self) {
        self.state.lock().restored = true;
    }

    /// Evaluates at `ts`, querying at `ts - offset`. Returns the `ALERTS` and
    /// `ALERTS_FOR_STATE` samples (stamped `ts - offset`) once state is restored.
    pub fn eval(
        &self,
        ts: i64,
        offset: i64,
        env: &RuleEnv,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let qt = ts - offset;
        let res = env.query.instant(&self.expr, qt)?;
        let tmpl_name = format!("__alert_{}", self.name);
        let mut fresh: HashMap<u64, ActiveAlert> = HashMap::with_capacity(res.len());
        for s in res {
            let data = TemplateData {
                labels: s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect(),
                external_labels: env.external_labels.clone(),
                external_url: env.external_url.clone(),
                value: s.value,
            };
            let expand = |text: &str| match template::expand(
                &tmpl_name,
                text,
                &data,
                ts,
                Some(env.query.as_ref()),
            ) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(rule = %self.name, error = %e, "expanding an alert template failed");
                    format!("<error expanding template: {e}>")
                }
            };
            let mut b = s.labels.to_builder();
            b.del("__name__");
            for (k, v) in &self.labels {
                b.set(k.as_str(), expand(v));
            }
            b.set("alertname", self.name.as_str());
            let annotations: BTreeMap<String, String> = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), expand(v)))
                .collect();
            let labels = b.build();
            let h = labels.stable_hash();
            let alert = ActiveAlert {
                state: AlertState::Pending,
                labels,
                annotations,
                value: s.value,
                active_at: ts,
                fired_at: None,
                resolved_at: None,
                last_sent_at: None,
                valid_until: None,
                keep_firing_since: None,
            };
            if fresh.insert(h, alert).is_some() {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .into(),
                );
            }
        }

        let mut st = self.state.lock();
        let returned: HashSet<u64> = fresh.keys().copied().collect();
        for (h, a) in fresh {
            match st.active.get_mut(&h) {
                Some(old) if old.state != AlertState::Inactive => {
                    old.value = a.value;
                    old.annotations = a.annotations;
                }
                _ => {
                    st.active.insert(h, a);
                }
            }
        }
        let mut out = Vec::new();
        let mut active_or_pending = 0usize;
        let restored = st.restored;
        st.active.retain(|h, a| {
            if !returned.contains(h) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && self.keep_firing_for_ms > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < self.keep_firing_for_ms;
                }
                // Pending alerts go at once; resolved ones after the retention.
                let drop = a.state == AlertState::Pending
                    || a.resolved_at
                        .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS);
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    return !drop;
                }
            } else {
                a.keep_firing_since = None;
            }
            active_or_pending += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= self.hold_ms {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            if restored {
                out.push((self.alerts_sample(a), 1.0));
                out.push((
                    self.for_state_labels(&a.labels),
                    a.active_at.div_euclid(1000) as f64,
                ));
            }
            true
        });
        if limit > 0 && active_or_pending > limit {
            st.active.clear();
            return Err(format!(
                "exceeded limit of {limit} with {active_or_pending} alerts"
            ));
        }
        Ok(out)
    }

    /// `ALERTS{alertname, alertstate, <rule labels>, <alert labels>}`.
    fn alerts_sample(&self, a: &ActiveAlert) -> Labels {
        let mut b = self.base_labels(&a.labels);
        b.set("__name__", "ALERTS");
        b.set("alertstate", a.state.as_str());
        b.build()
    }

    /// `ALERTS_FOR_STATE{alertname, <rule labels>, <alert labels>}`.
    fn for_state_labels(&self, alert_labels: &Labels) -> Labels {
        let mut b = self.base_labels(alert_labels);
        b.set("__name__", "ALERTS_FOR_STATE");
        b.build()
    }

    fn base_labels(&self, alert_labels: &Labels) -> LabelsBuilder {
        let mut b = LabelsBuilder::with_capacity(alert_labels.len() + 3);
        for (k, v) in &self.labels {
            b.set(k.as_str(), v.as_str());
        }
        for l in alert_labels {
            b.set(l.name.clone(), l.value.clone());
        }
        b.set("alertname", self.name.as_str());
        b
    }

    /// The alerts due to be sent at `ts` (marking them sent), as the notifier takes them.
    pub fn alerts_to_send(&self, ts: i64, interval_ms: i64, env: &RuleEnv) -> Vec<Alert> {
        let resend = ms(env.resend_delay);
        let delta = resend.max(interval_ms);
        let url = generator_url(&env.external_url, &self.expr);
        let mut out = Vec::new();
        let mut st = self.state.lock();
        for a in st.active.values_mut() {
            if !a.needs_sending(ts, resend) {
                continue;
            }
            a.last_sent_at = Some(ts);
            a.valid_until = Some(ts + 4 * delta);
            out.push(Alert {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: a.fired_at.unwrap_or(a.active_at),
                ends_at: a.resolved_at.or(a.valid_until),
                generator_url: url.clone(),
            });
        }
        out
    }

    /// Restores `for` state after a restart from the newest `ALERTS_FOR_STATE` sample of each
    /// pending alert within `[ts - outage_tolerance, ts]`, as Prometheus does: an alert that had
    /// already waited its `for` keeps its original start; one that had less than the grace
    /// period left gets the grace period; otherwise the outage is added to its start.
    pub(super) fn restore(&self, ts: i64, env: &RuleEnv) {
        let grace = ms(env.for_grace_period);
        if self.hold_ms < grace {
            self.set_restored();
            return;
        }
        let Some(queryable) = &env.queryable else {
            self.set_restored();
            return;
        };
        let found = self.newest_for_state(queryable.as_ref(), ts - ms(env.outage_tolerance), ts);
        let last = match found {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(rule = %self.name, error = %e, "could not restore 'for' state");
                self.set_restored();
                return;
            }
        };
        let mut st = self.state.lock();
        for a in st.active.values_mut() {
            let key = self.for_state_labels(&a.labels).without_metric_name();
            let Some(&(t, v)) = last.get(&key) else {
                continue;
            };
            if model::is_stale_nan(v) {
                continue;
            }
            let down_at = t.div_euclid(1000) * 1000;
            let mut active_at = (v as i64).saturating_mul(1000);
            let remaining = self.hold_ms - (down_at - active_at);
            if remaining <= 0 {
                // It was firing: the next evaluation fires it again if still true.
            } else if remaining < grace {
                active_at = ts + grace - self.hold_ms;
            } else {
                active_at += ts - down_at;
            }
            a.active_at = active_at;
            tracing::debug!(rule = %self.name, labels = %a.labels, active_at, "'for' state restored");
        }
        st.restored = true;
    }

    /// The newest `ALERTS_FOR_STATE` sample in `[mint, maxt]` of each of this rule's series,
    /// keyed by labels without the metric name.
    fn newest_for_state(
        &self,
        store: &dyn model::Queryable,
        mint: i64,
        maxt: i64,
    ) -> Result<HashMap<Labels, (i64, f64)>, String> {
        use model::{MatchType, Matcher};
        let mut matchers = vec![
            Matcher::new(MatchType::Equal, "__name__", "ALERTS_FOR_STATE")?,
            Matcher::new(MatchType::Equal, "alertname", &self.name)?,
        ];
        for (k, v) in &self.labels {
            // Templated rule labels are only known per alert.
            if !v.contains("{{") {
                matchers.push(Matcher::new(MatchType::Equal, k, v)?);
            }
        }
        let hints = model::SelectHints {
            start: mint,
            end: maxt,
            ..Default::default()
        };
        let q = store.querier(mint, maxt).map_err(|e| e.to_string())?;
        let mut last = HashMap::new();
        for s in q.select(&hints, &matchers).map_err(|e| e.to_string())? {
            let mut it = s.iter();
            let mut newest = None;
            while it.next() {
                newest = Some(it.at());
            }
            if let Some(e) = it.err() {
                return Err(e.to_string());
            }
            if let Some(n) = newest {
                last.insert(s.labels().without_metric_name(), n);
            }
        }
        Ok(last)
    }

    /// Takes over the alerts of the same rule from before a reload.
    pub(super) fn copy_state_from(&self, old: &AlertingRule) {
        let old = old.state.lock();
        let mut st = self.state.lock();
        st.active = old.active.clone();
        st.restored = old.restored;
    }
}

/// The link Prometheus puts in `generatorURL`: the expression in the graph page's table tab.
pub(crate) fn generator_url(external_url: &str, expr: &str) -> String {
    let q: String = form_urlencoded::byte_serialize(expr.as_bytes()).collect();
    format!(
        "{}/graph?g0.expr={q}&g0.tab=1",
        external_url.trim_end_matches('/')
    )
}
