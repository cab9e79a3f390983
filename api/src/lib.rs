//! The Prometheus HTTP API v1: parameters, evaluation through [`promql::Engine`] and the JSON
//! envelope, values and error types Prometheus clients expect.
//!
//! Endpoints served so far: `/api/v1/query` and `/api/v1/query_range` (GET, and POST with a
//! form body). The daemon mounts [`router`] next to its own endpoints.

mod json;
mod params;
mod query;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
use model::storage::Queryable;

pub use json::encode_query_success;
pub use params::{parse_duration_param, parse_time_param};

/// What the API handlers share.
pub struct Api {
    /// Evaluates queries; its options give the default timeout and limits.
    pub engine: promql::Engine,
    /// The store, once it is open (requests before that get 503).
    pub store: Arc<OnceLock<Arc<dyn Queryable>>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("engine", &self.engine)
            .field("store_open", &self.store.get().is_some())
            .finish()
    }
}

/// The API's routes.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .with_state(api)
}
