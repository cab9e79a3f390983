//! The HTTP server: `/metrics`, `/-/healthy`, `/-/ready`, `/-/reload` and `/-/quit`, with
//! the `api` crate's Prometheus API v1 routes and the remote write and read endpoints
//! ([`crate::remote`]) mounted beside them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use model::metrics::Registry;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A request to reload the configuration; the answer says whether it was applied.
pub type ReloadRequest = oneshot::Sender<Result<(), String>>;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct HttpState {
    pub registry: Arc<Registry>,
    /// Set once the store is open and replayed; cleared when shutdown begins.
    pub ready: Arc<AtomicBool>,
    /// Where reload requests go.
    pub reload: mpsc::Sender<ReloadRequest>,
    /// `--web.enable-lifecycle`.
    pub lifecycle: bool,
    /// Cancelled by `POST /-/quit`.
    pub quit: CancellationToken,
    /// The Prometheus query API.
    pub api: Arc<api::Api>,
    /// `/api/v1/write` and `/api/v1/read`.
    pub remote: Arc<crate::remote::Remote>,
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

fn lifecycle_disabled() -> Response {
    (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response()
}

async fn reload(State(s): State<HttpState>) -> Response {
    if !s.lifecycle {
        return lifecycle_disabled();
    }
    let (tx, rx) = oneshot::channel();
    if s.reload.send(tx).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match rx.await {
        Ok(Ok(())) => (StatusCode::OK, "").into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response(),
    }
}

async fn quit(State(s): State<HttpState>) -> Response {
    if !s.lifecycle {
        return lifecycle_disabled();
    }
    s.quit.cancel();
    (StatusCode::OK, "Requesting termination... Goodbye!\n").into_response()
}

pub fn router(state: HttpState) -> Router {
    // `get` also answers HEAD.
    Router::new()
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/-/reload", axum::routing::post(reload).put(reload))
        .route("/-/quit", axum::routing::post(quit).put(quit))
        .with_state(state.clone())
        .merge(crate::remote::router(state.remote.clone()))
        .merge(api::router(state.api))
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
