//! The HTTP server: `/metrics`, `/-/healthy`, `/-/ready`. The Prometheus API v1 will be
//! mounted here by the `api` crate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use model::metrics::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct HttpState {
    pub registry: Arc<Registry>,
    /// Set once the store is open and replayed.
    pub ready: Arc<AtomicBool>,
}

async fn metrics(State(s): State<HttpState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.registry.render(),
    )
}

async fn healthy() -> impl IntoResponse {
    (StatusCode::OK, "Vane is Healthy.\n")
}

async fn ready(State(s): State<HttpState>) -> impl IntoResponse {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "Vane is Ready.\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
    }
}

pub fn router(state: HttpState) -> Router {
    // `get` also answers HEAD.
    Router::new()
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .with_state(state)
}

/// Serves until `shutdown` is cancelled, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}
