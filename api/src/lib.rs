//! The Prometheus HTTP API v1: parameters, evaluation through [`promql::Engine`] and the JSON
//! envelope, values and error types Prometheus clients expect.
//!
//! Endpoints served so far: `/api/v1/query`, `/api/v1/query_range`, `/api/v1/labels`,
//! `/api/v1/label/<name>/values`, `/api/v1/series`, `/api/v1/query_exemplars`,
//! `/api/v1/format_query`, `/api/v1/parse_query`, `/api/v1/targets`, `/api/v1/status/{buildinfo,config,flags,runtimeinfo,tsdb,
//! walreplay}`, `/api/v1/metadata`, `/api/v1/rules`, `/api/v1/alerts`, `/api/v1/alertmanagers` and, with
//! `--web.enable-admin-api`, `/api/v1/admin/tsdb/{snapshot,delete_series,clean_tombstones}` (GET, and POST with a form body where
//! Prometheus accepts it). The daemon mounts [`router`] next to its own endpoints.

mod ast;
mod gzip;
mod json;
mod meta;
mod metrics;
mod params;
mod query;
mod status;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::{get, post};
use model::storage::Queryable;

pub use json::encode_query_success;
pub use params::{parse_duration_param, parse_time_param};
pub use status::{RulesQuery, StatusSource};

/// What the API handlers share.
pub struct Api {
    /// Evaluates queries; its options give the default timeout and limits.
    pub engine: promql::Engine,
    /// The store, once it is open (requests before that get 503).
    pub store: Arc<OnceLock<Arc<dyn Queryable>>>,
    /// One permit per query allowed to run at once (`--query.max-concurrency`); others wait.
    slots: Arc<tokio::sync::Semaphore>,
    metrics: metrics::ApiMetrics,
    /// The daemon's answers for the status pages.
    status: Arc<dyn StatusSource>,
    /// `--web.enable-admin-api`: the `/api/v1/admin/` endpoints answer only when set.
    pub admin: bool,
    /// `--agent`: there is no local store to query; the endpoints that need it answer with
    /// an `execution` error (HTTP 422), as a Prometheus agent's do.
    pub agent: bool,
}

impl Api {
    /// The API over `engine`, registering its metrics (`vane_api_*`) in `reg`.
    pub fn new(
        engine: promql::Engine,
        store: Arc<OnceLock<Arc<dyn Queryable>>>,
        max_concurrency: usize,
        reg: &model::metrics::Registry,
        status: Arc<dyn StatusSource>,
    ) -> Api {
        Api {
            engine,
            store,
            slots: Arc::new(tokio::sync::Semaphore::new(max_concurrency.max(1))),
            metrics: metrics::ApiMetrics::new(reg),
            status,
            admin: false,
            agent: false,
        }
    }
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("engine", &self.engine)
            .field("store_open", &self.store.get().is_some())
            .finish()
    }
}

/// Runs `f` on the blocking pool with the store: queries and index lookups can take long
/// and must not hold up the runtime.
pub(crate) async fn with_store<T: Send + 'static>(
    api: &Api,
    f: impl FnOnce(&dyn Queryable) -> Result<T, json::ApiError> + Send + 'static,
) -> Result<T, json::ApiError> {
    let store = api
        .store
        .get()
        .cloned()
        .ok_or_else(|| json::ApiError::unavailable("the store is not open yet"))?;
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| json::ApiError::internal(format!("task failed: {e}")))?
}

/// Endpoints that read the local store or what only runs beside it (rules, alerts,
/// autoscalers); unavailable in agent mode.
fn needs_store(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "/api/v1/query",
        "/api/v1/query_range",
        "/api/v1/labels",
        "/api/v1/series",
        "/api/v1/query_exemplars",
        "/api/v1/status/tsdb",
        "/api/v1/rules",
        "/api/v1/alerts",
        "/api/v1/alertmanagers",
        "/api/v1/autoscalers",
    ];
    EXACT.contains(&path)
        || path.starts_with("/api/v1/label/")
        || path.starts_with("/api/v1/admin/")
}

async fn agent_gate(
    axum::extract::State(api): axum::extract::State<Arc<Api>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if api.agent && needs_store(req.uri().path()) {
        return json::ApiError::execution("unavailable in agent mode").into_response();
    }
    next.run(req).await
}

/// The API's routes.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/labels", get(meta::labels).post(meta::labels))
        .route("/api/v1/label/{name}/values", get(meta::label_values))
        .route("/api/v1/series", get(meta::series).post(meta::series))
        .route(
            "/api/v1/query_exemplars",
            get(meta::exemplars).post(meta::exemplars),
        )
        .route(
            "/api/v1/format_query",
            get(meta::format_query).post(meta::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(ast::parse_query).post(ast::parse_query),
        )
        .route("/api/v1/status/buildinfo", get(meta::buildinfo))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtime_info))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/walreplay", get(status::wal_replay))
        .route("/api/v1/metadata", get(status::metadata))
        .route("/api/v1/targets", get(status::targets))
        .route(
            "/api/v1/admin/tsdb/snapshot",
            post(status::snapshot).put(status::snapshot),
        )
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(status::delete_series).put(status::delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(status::clean_tombstones).put(status::clean_tombstones),
        )
        .route("/api/v1/rules", get(status::rules))
        .route("/api/v1/alerts", get(status::alerts))
        .route("/api/v1/alertmanagers", get(status::alertmanagers))
        .route("/api/v1/autoscalers", get(status::autoscalers))
        .layer(axum::middleware::from_fn(gzip::compress))
        .layer(axum::middleware::from_fn_with_state(
            api.clone(),
            agent_gate,
        ))
        .with_state(api)
}
