//! What the status pages of the API report: flags, the configuration, runtime facts and the
//! store's statistics.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use model::Matcher;
use scraper::scrape::ScrapeManager;
use serde_json::{Value, json};
use tsdb::Db;

use crate::storage::Storage;

use crate::targets::rfc3339;

/// The daemon's side of [`api::StatusSource`].
pub struct DaemonStatus {
    flags: Vec<(String, String)>,
    retention: String,
    start: SystemTime,
    /// The configuration text in effect, whether the last reload worked, and when the
    /// configuration last changed.
    config: Mutex<(String, bool, SystemTime)>,
    storage: OnceLock<Storage>,
    scrape: OnceLock<Arc<ScrapeManager>>,
    rules: OnceLock<Arc<alerting::rules::Manager>>,
    notifier: OnceLock<Arc<alerting::notify::Notifier>>,
    autoscalers: OnceLock<Arc<autoscaler::controller::Controller>>,
}

impl DaemonStatus {
    pub fn new(args: &crate::cli::RunArgs, config_text: &str) -> DaemonStatus {
        let time = (args.retention_time != "0").then(|| args.retention_time.clone());
        let size = (args.retention_size != "0").then(|| args.retention_size.clone());
        let retention = match (time, size) {
            (Some(t), Some(s)) => format!("{t} or {s}"),
            (Some(t), None) => t,
            (None, Some(s)) => s,
            (None, None) => "unlimited".to_string(),
        };
        DaemonStatus {
            flags: args.flag_values(),
            retention,
            start: SystemTime::now(),
            config: Mutex::new((config_text.to_string(), true, SystemTime::now())),
            storage: OnceLock::new(),
            scrape: OnceLock::new(),
            rules: OnceLock::new(),
            notifier: OnceLock::new(),
            autoscalers: OnceLock::new(),
        }
    }

    pub fn set_storage(&self, s: Storage) {
        let _ = self.storage.set(s);
    }

    /// The full store (`None` before it opens and in agent mode).
    fn db(&self) -> Option<&Arc<Db>> {
        self.storage.get()?.full()
    }

    pub fn set_scrape(&self, s: Arc<ScrapeManager>) {
        let _ = self.scrape.set(s);
    }

    pub fn set_rules(&self, r: Arc<alerting::rules::Manager>) {
        let _ = self.rules.set(r);
    }

    pub fn set_notifier(&self, n: Arc<alerting::notify::Notifier>) {
        let _ = self.notifier.set(n);
    }

    pub fn set_autoscalers(&self, c: Arc<autoscaler::controller::Controller>) {
        let _ = self.autoscalers.set(c);
    }

    /// A reload happened: `Some(text)` if it was applied, `None` if it failed.
    pub fn record_reload(&self, applied: Option<&str>) {
        let mut c = self.config.lock().unwrap_or_else(|e| e.into_inner());
        match applied {
            Some(text) => *c = (text.to_string(), true, SystemTime::now()),
            None => c.1 = false,
        }
    }
}

/// A decision as `/api/v1/autoscalers` shows it; the time in RFC 3339 like the other pages.
fn decision_json(d: &autoscaler::runtime::DecisionEvent) -> Value {
    let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(d.time_ms.max(0) as u64);
    json!({
        "id": d.id,
        "time": rfc3339(Some(time)),
        "desired": d.desired,
        "current": d.current,
        "signal": d.signal,
        "reason": d.reason,
        "detail": d.detail,
        "active": d.active,
        "panic": d.panic,
    })
}

fn stats(list: &[(String, u64)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect(),
    )
}

impl api::StatusSource for DaemonStatus {
    fn flags(&self) -> Vec<(String, String)> {
        self.flags.clone()
    }

    fn config_yaml(&self) -> String {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    fn runtime_info(&self) -> Value {
        let (_, ok, changed) = self
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        json!({
            "startTime": rfc3339(Some(self.start)),
            "CWD": std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default(),
            "hostname": std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
            "serverTime": rfc3339(Some(SystemTime::now())),
            "reloadConfigSuccess": ok,
            "lastConfigTime": rfc3339(Some(changed)),
            "storageRetention": self.retention,
            "corruptionCount": self.storage.get().map_or(0, Storage::wal_corruptions),
        })
    }

    fn tsdb(&self, limit: usize) -> Option<Value> {
        let db = self.db()?;
        let head = db.head();
        let c = tsdb::analyze::head_cardinality(head, limit);
        let (min, max) = if head.is_empty() {
            (i64::MAX, i64::MIN)
        } else {
            (head.min_time(), head.max_time())
        };
        Some(json!({
            "headStats": {
                "numSeries": c.series,
                "numLabelPairs": c.pairs,
                "chunkCount": head.num_chunks(),
                "minTime": min,
                "maxTime": max,
            },
            "seriesCountByMetricName": stats(&c.metrics_by_series),
            "labelValueCountByLabelName": stats(&c.labels_by_values),
            "memoryInBytesByLabelName": stats(&c.labels_by_value_bytes),
            "seriesCountByLabelValuePair": stats(&c.pairs_by_series),
        }))
    }

    fn metadata(&self) -> Vec<(String, String, String, String)> {
        let Some(s) = self.scrape.get() else {
            return Vec::new();
        };
        let (active, _) = s.targets();
        active
            .iter()
            .flat_map(|t| t.metadata.iter())
            .map(|m| {
                (
                    m.metric.clone(),
                    m.kind.clone(),
                    m.help.clone(),
                    m.unit.clone(),
                )
            })
            .collect()
    }

    fn targets(&self, state: Option<&str>, scrape_pool: Option<&str>) -> String {
        let (active, dropped) = match self.scrape.get() {
            Some(m) => m.targets(),
            None => (Vec::new(), Vec::new()),
        };
        let q = crate::targets::TargetsQuery {
            state: state.map(str::to_string),
            scrape_pool: scrape_pool.map(str::to_string),
        };
        crate::targets::render(&active, &dropped, &q)
    }

    fn snapshot(&self, skip_head: bool) -> Result<String, String> {
        let db = self.db().ok_or("the store is not open yet")?;
        let now = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // Like Prometheus's names: the UTC time, then 16 hex digits to keep them apart.
        let stamp = rfc3339(Some(SystemTime::now()));
        let compact: String = stamp[..19]
            .chars()
            .filter(|c| *c != '-' && *c != ':')
            .collect();
        let name = format!(
            "{compact}Z-{:016x}",
            (now.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
        );
        db.snapshot(&db.dir().join("snapshots").join(&name), !skip_head)
            .map_err(|e| e.to_string())?;
        Ok(name)
    }

    fn delete_series(&self, sets: &[Vec<Matcher>], start: i64, end: i64) -> Result<(), String> {
        let db = self.db().ok_or("the store is not open yet")?;
        for set in sets {
            db.delete(set, start, end).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn clean_tombstones(&self) -> Result<(), String> {
        let db = self.db().ok_or("the store is not open yet")?;
        db.clean_tombstones().map(|_| ()).map_err(|e| e.to_string())
    }

    fn rules(&self, q: &api::RulesQuery) -> Value {
        let filter = alerting::rules::RuleFilter {
            kind: q.kind.clone(),
            rule_names: q.rule_names.iter().cloned().collect(),
            group_names: q.groups.iter().cloned().collect(),
            files: q.files.iter().cloned().collect(),
            exclude_alerts: q.exclude_alerts,
        };
        self.rules
            .get()
            .map_or_else(|| json!({ "groups": [] }), |m| m.rules_json(&filter))
    }

    fn alerts(&self) -> Value {
        self.rules
            .get()
            .map_or_else(|| json!({ "alerts": [] }), |m| m.alerts_json())
    }

    fn autoscalers(&self) -> Value {
        use autoscaler::runtime::AutoscalerSource;
        let Some(c) = self.autoscalers.get() else {
            return json!({ "autoscalers": [] });
        };
        let list: Vec<Value> = c
            .list()
            .into_iter()
            .map(|v| {
                let (target, error) = c.details(&v.name).unwrap_or_default();
                json!({
                    "name": v.name,
                    "query": v.query,
                    "policy": v.policy,
                    "minReplicas": v.min_replicas,
                    "maxReplicas": v.max_replicas,
                    "targetValue": v.target_value,
                    "activationThreshold": v.activation_threshold,
                    "target": target,
                    "failures": v.failures,
                    "lastError": error,
                    "last": v.last.as_ref().map(decision_json),
                    "recent": v.recent.iter().map(decision_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "autoscalers": list })
    }

    fn alertmanagers(&self) -> Vec<String> {
        self.notifier
            .get()
            .map_or_else(Vec::new, |n| n.alertmanager_urls())
    }

    fn wal_replay(&self) -> Value {
        // Replay is over once the store is open: current is the last segment.
        let segments: Vec<u64> = self
            .storage
            .get()
            .and_then(|s| std::fs::read_dir(s.wal_dir()).ok())
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let (min, max) = (
            segments.iter().min().copied().unwrap_or(0),
            segments.iter().max().copied().unwrap_or(0),
        );
        json!({ "min": min, "max": max, "current": max })
    }
}
