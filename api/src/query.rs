//! `/api/v1/query` and `/api/v1/query_range`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use promql::{Engine, EngineOptions, QueryResult, Value};

use crate::Api;
use crate::json::{self, ApiError};
use crate::params::Params;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sets its flag when dropped: when the client goes away, axum drops the request's future
/// and with it this guard, and the query running on the blocking pool stops.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The engine for one request: the `timeout` parameter can only shorten the default.
fn engine_for(api: &Api, p: &Params) -> Result<(Engine, CancelOnDrop), ApiError> {
    let mut opts: EngineOptions = api.engine.options().clone();
    if let Some(ms) = p.duration("timeout")? {
        opts.timeout = opts.timeout.min(Duration::from_millis(ms.max(0) as u64));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    Ok((
        Engine::new(opts).with_cancel(cancel.clone()),
        CancelOnDrop(cancel),
    ))
}

/// Runs a query on the blocking pool with the store (waiting for one of the
/// `--query.max-concurrency` slots), applies `limit` and encodes the JSON there too, so
/// large results never occupy the async runtime.
async fn run(
    api: &Api,
    endpoint: &'static str,
    limit: Option<usize>,
    f: impl FnOnce(&dyn model::storage::Queryable) -> Result<QueryResult, promql::Error>
    + Send
    + 'static,
) -> Result<String, ApiError> {
    let _slot = api
        .slots
        .acquire()
        .await
        .map_err(|_| ApiError::unavailable("shutting down"))?;
    let started = std::time::Instant::now();
    let out = crate::with_store(api, move |s| {
        let mut res = f(s).map_err(ApiError::from)?;
        apply_limit(&mut res, limit);
        Ok(json::encode_query_success(&res.value, &res.annotations))
    })
    .await;
    let m = &api.metrics;
    m.duration
        .with(&[endpoint])
        .observe(started.elapsed().as_secs_f64());
    let result = out.as_ref().map_or_else(|e| e.error_type, |_| "success");
    m.queries.with(&[endpoint, result]).inc();
    out
}

/// `limit`: at most this many series in a vector or matrix result.
fn apply_limit(res: &mut QueryResult, limit: Option<usize>) {
    let Some(n) = limit.filter(|n| *n > 0) else {
        return;
    };
    let truncated = match &mut res.value {
        Value::Vector(v) if v.len() > n => {
            v.truncate(n);
            true
        }
        Value::Matrix(m) if m.len() > n => {
            m.truncate(n);
            true
        }
        _ => false,
    };
    if truncated {
        res.annotations.warn("results truncated due to limit");
    }
}

/// The `query` parameter, parsed.
fn parse_query(p: &Params) -> Result<promql::Expr, ApiError> {
    let query = p.get("query").ok_or_else(|| {
        ApiError::bad_data("invalid parameter \"query\": query must not be empty")
    })?;
    Engine::parse(query)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))
}

fn respond(result: Result<String, ApiError>) -> Response {
    match result {
        Ok(body) => json::json_response(axum::http::StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn instant(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            let p = Params::from_request(q, &headers, &body)?;
            let expr = parse_query(&p)?;
            let t = p.time("time", now_ms())?;
            let limit = p.count("limit")?;
            let (engine, _cancel) = engine_for(&api, &p)?;
            run(&api, "query", limit, move |s| {
                engine.exec_instant(s, &expr, t)
            })
            .await
        }
        .await,
    )
}

pub(crate) async fn range(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            let p = Params::from_request(q, &headers, &body)?;
            let expr = parse_query(&p)?;
            let start = p.required_time("start")?;
            let end = p.required_time("end")?;
            if end < start {
                return Err(ApiError::bad_data(
                    "invalid parameter \"end\": end timestamp must not be before start time",
                ));
            }
            let step = p.duration("step")?.ok_or_else(|| {
                ApiError::bad_data(
                    "invalid parameter \"step\": cannot parse \"\" to a valid duration",
                )
            })?;
            if step <= 0 {
                return Err(ApiError::bad_data(
                    "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
                ));
            }
            let limit = p.count("limit")?;
            let (engine, _cancel) = engine_for(&api, &p)?;
            run(&api, "query_range", limit, move |s| {
                engine.exec_range(s, &expr, start, end, step)
            })
            .await
        }
        .await,
    )
}
