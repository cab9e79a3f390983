//! Status pages: `/api/v1/status/{config,flags,runtimeinfo,tsdb,walreplay}`,
//! `/api/v1/metadata`, `/api/v1/rules` and `/api/v1/alerts`, and the admin endpoints.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use model::Matcher;
use serde_json::Value;

use crate::Api;
use crate::json::{self, ApiError};
use crate::params::{MAX_TIME, MIN_TIME, Params};

/// What the status pages report, supplied by the daemon (which knows its flags,
/// configuration and store).
pub trait StatusSource: Send + Sync {
    /// Every command-line flag with its value, named without the leading dashes.
    fn flags(&self) -> Vec<(String, String)>;
    /// The configuration in effect, as the YAML it was read from.
    fn config_yaml(&self) -> String;
    /// Prometheus's runtime information object (`startTime`, `CWD`, `reloadConfigSuccess`,
    /// `lastConfigTime`, `storageRetention`, ...).
    fn runtime_info(&self) -> Value;
    /// Head statistics and the `limit` highest cardinalities, in Prometheus's shape
    /// (`headStats`, `seriesCountByMetricName`, ...); `None` before the store is open.
    fn tsdb(&self, limit: usize) -> Option<Value>;
    /// WAL replay progress: `{"min": …, "max": …, "current": …}` (segment numbers).
    fn wal_replay(&self) -> Value;
    /// Metric metadata from the targets' last scrapes: `(metric, type, help, unit)`, one
    /// entry per target that reports it.
    fn metadata(&self) -> Vec<(String, String, String, String)>;
    /// The scrape targets as `/api/v1/targets` answers (the whole JSON body): `state` is
    /// `active`, `dropped` or `any`, `scrape_pool` a job name.
    fn targets(&self, state: Option<&str>, scrape_pool: Option<&str>) -> String;
    /// Writes a snapshot of the store (with the head's samples unless `skip_head`) and
    /// returns its name (a directory under `<data>/snapshots/`).
    fn snapshot(&self, skip_head: bool) -> Result<String, String>;
    /// Deletes `[start, end]` (ms) of the series matching any of the matcher sets.
    fn delete_series(&self, sets: &[Vec<Matcher>], start: i64, end: i64) -> Result<(), String>;
    /// Rewrites the store's blocks without their deleted samples.
    fn clean_tombstones(&self) -> Result<(), String>;
    /// The `data` of `/api/v1/rules` (`{"groups": [...]}`) for the filter.
    fn rules(&self, q: &RulesQuery) -> Value;
    /// The `data` of `/api/v1/alerts` (`{"alerts": [...]}`).
    fn alerts(&self) -> Value;
    /// The alerts URLs of the Alertmanagers alerts are sent to.
    fn alertmanagers(&self) -> Vec<String>;
    /// The `data` of `/api/v1/autoscalers` (`{"autoscalers": [...]}`): each autoscaler's
    /// configuration, state and recent decisions.
    fn autoscalers(&self) -> Value {
        serde_json::json!({ "autoscalers": [] })
    }
}

/// The parameters of `/api/v1/rules`.
#[derive(Debug, Clone, Default)]
pub struct RulesQuery {
    /// `type`: `alert` or `record`; both when absent.
    pub kind: Option<String>,
    /// `rule_name[]`, `rule_group[]`, `file[]`: only these (all when empty).
    pub rule_names: Vec<String>,
    pub groups: Vec<String>,
    pub files: Vec<String>,
    /// `exclude_alerts`: leave out the alerts of alerting rules.
    pub exclude_alerts: bool,
}

impl RulesQuery {
    fn from_params(p: &Params) -> Result<RulesQuery, ApiError> {
        let kind = match p.get("type").map(str::to_ascii_lowercase) {
            None => None,
            Some(t) if t.is_empty() => None,
            Some(t) if t == "alert" || t == "record" => Some(t),
            Some(t) => {
                return Err(ApiError::bad_data(format!(
                    "invalid parameter \"type\": not supported value {t:?}"
                )));
            }
        };
        let exclude_alerts = match p.get("exclude_alerts") {
            None | Some("") => false,
            Some(v) => parse_go_bool(v).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter \"exclude_alerts\": strconv.ParseBool: parsing {v:?}: invalid syntax"
                ))
            })?,
        };
        let all = |n: &str| p.all(n).into_iter().map(String::from).collect();
        Ok(RulesQuery {
            kind,
            rule_names: all("rule_name[]"),
            groups: all("rule_group[]"),
            files: all("file[]"),
            exclude_alerts,
        })
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn ok(v: &Value) -> Response {
    json::success(&v.to_string(), &[])
}

pub(crate) async fn config(State(api): State<Arc<Api>>) -> Response {
    ok(&serde_json::json!({ "yaml": api.status.config_yaml() }))
}

pub(crate) async fn flags(State(api): State<Arc<Api>>) -> Response {
    let map: serde_json::Map<String, Value> = api
        .status
        .flags()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    ok(&Value::Object(map))
}

pub(crate) async fn runtime_info(State(api): State<Arc<Api>>) -> Response {
    ok(&api.status.runtime_info())
}

pub(crate) async fn tsdb(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let limit = match Params::from_request(q, &headers, &[]).and_then(|p| p.count("limit")) {
        Ok(l) => l.unwrap_or(10),
        Err(e) => return e.into_response(),
    };
    if limit == 0 {
        return ApiError::bad_data("limit must be a positive number").into_response();
    }
    let status = api.status.clone();
    match tokio::task::spawn_blocking(move || status.tsdb(limit)).await {
        Ok(Some(v)) => ok(&v),
        Ok(None) => ApiError::unavailable("the store is not open yet").into_response(),
        Err(e) => ApiError::internal(format!("task failed: {e}")).into_response(),
    }
}

pub(crate) async fn wal_replay(State(api): State<Arc<Api>>) -> Response {
    ok(&api.status.wal_replay())
}

/// `/api/v1/metadata`: `{metric: [{type, help, unit}, …]}` from the targets' scrapes, each
/// distinct entry once; `metric`, `limit` and `limit_per_metric` as in Prometheus.
pub(crate) async fn metadata(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let p = match Params::from_request(q, &headers, &[]) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (limit, per_metric) = match (p.count("limit"), p.count("limit_per_metric")) {
        (Ok(a), Ok(b)) => (a.unwrap_or(0), b.unwrap_or(0)),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let only = p.get("metric").map(str::to_string);
    let mut map: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for (metric, kind, help, unit) in api.status.metadata() {
        if only.as_ref().is_some_and(|m| *m != metric) {
            continue;
        }
        let entry = serde_json::json!({ "type": kind, "help": help, "unit": unit });
        let list = map.entry(metric).or_default();
        if !list.contains(&entry) && (per_metric == 0 || list.len() < per_metric) {
            list.push(entry);
        }
    }
    let obj: serde_json::Map<String, Value> = map
        .into_iter()
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(|(k, v)| (k, Value::Array(v)))
        .collect();
    ok(&Value::Object(obj))
}

fn admin_disabled() -> Response {
    ApiError::unavailable("admin APIs disabled (start with --web.enable-admin-api)").into_response()
}

/// `POST /api/v1/admin/tsdb/snapshot`: `{"name": …}` of the snapshot written.
pub(crate) async fn snapshot(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !api.admin {
        return admin_disabled();
    }
    let skip_head = match Params::from_request(q, &headers, &body) {
        Ok(p) => matches!(
            p.get("skip_head"),
            Some("true" | "1" | "t" | "T" | "TRUE" | "True")
        ),
        Err(e) => return e.into_response(),
    };
    let status = api.status.clone();
    match tokio::task::spawn_blocking(move || status.snapshot(skip_head)).await {
        Ok(Ok(name)) => ok(&serde_json::json!({ "name": name })),
        Ok(Err(e)) => ApiError::internal(format!("create snapshot: {e}")).into_response(),
        Err(e) => ApiError::internal(format!("task failed: {e}")).into_response(),
    }
}

/// Runs an admin action on the blocking pool; 204 No Content when it succeeds.
async fn admin_action(
    what: &str,
    f: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(())) => axum::http::StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => ApiError::internal(format!("{what}: {e}")).into_response(),
        Err(e) => ApiError::internal(format!("task failed: {e}")).into_response(),
    }
}

/// `POST /api/v1/admin/tsdb/delete_series` (`match[]` required, `start`, `end`): the data of
/// the matching series in the range is deleted (tombstoned at once, removed from disk by the
/// next compaction or `clean_tombstones`); 204 No Content.
pub(crate) async fn delete_series(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !api.admin {
        return admin_disabled();
    }
    let parsed = Params::from_request(q, &headers, &body).and_then(|p| {
        let sets = crate::meta::matchers(&p)?;
        if sets.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let (start, end) = (p.time("start", MIN_TIME)?, p.time("end", MAX_TIME)?);
        if end < start {
            return Err(ApiError::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        Ok((sets, start, end))
    });
    let (sets, start, end) = match parsed {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let status = api.status.clone();
    admin_action("delete series", move || {
        status.delete_series(&sets, start, end)
    })
    .await
}

/// `POST /api/v1/admin/tsdb/clean_tombstones`: blocks rewritten without deleted samples;
/// 204 No Content.
pub(crate) async fn clean_tombstones(State(api): State<Arc<Api>>) -> Response {
    if !api.admin {
        return admin_disabled();
    }
    let status = api.status.clone();
    admin_action("clean tombstones", move || status.clean_tombstones()).await
}

/// `/api/v1/targets` (`state`, `scrapePool`).
pub(crate) async fn targets(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match Params::from_request(q, &headers, &[]) {
        Ok(p) => json::json_response(
            axum::http::StatusCode::OK,
            api.status.targets(p.get("state"), p.get("scrapePool")),
        ),
        Err(e) => e.into_response(),
    }
}

/// `/api/v1/rules` (`type`, `rule_name[]`, `rule_group[]`, `file[]`, `exclude_alerts`).
pub(crate) async fn rules(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match Params::from_request(q, &headers, &body).and_then(|p| RulesQuery::from_params(&p)) {
        Ok(q) => ok(&api.status.rules(&q)),
        Err(e) => e.into_response(),
    }
}

/// `/api/v1/alertmanagers`: where alerts are sent (none are dropped: targets are static).
pub(crate) async fn alertmanagers(State(api): State<Arc<Api>>) -> Response {
    let active: Vec<Value> = api
        .status
        .alertmanagers()
        .into_iter()
        .map(|url| serde_json::json!({ "url": url }))
        .collect();
    ok(&serde_json::json!({ "activeAlertmanagers": active, "droppedAlertmanagers": [] }))
}

/// `/api/v1/autoscalers`: Vane's own; every autoscaler with its recent decisions.
pub(crate) async fn autoscalers(State(api): State<Arc<Api>>) -> Response {
    ok(&api.status.autoscalers())
}

/// `/api/v1/alerts`: every pending and firing alert.
pub(crate) async fn alerts(State(api): State<Arc<Api>>) -> Response {
    ok(&api.status.alerts())
}
