//! Status pages: `/api/v1/status/{config,flags,runtimeinfo,tsdb,walreplay}`, and
//! `/api/v1/rules` and `/api/v1/alerts` (empty: Vane evaluates no rules yet).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::Api;
use crate::json::{self, ApiError};
use crate::params::Params;

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

pub(crate) async fn rules() -> Response {
    ok(&serde_json::json!({ "groups": [] }))
}

pub(crate) async fn alerts() -> Response {
    ok(&serde_json::json!({ "alerts": [] }))
}
