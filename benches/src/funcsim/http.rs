//! The HTTP front: `/metrics`, the scaling input (`POST /scale`) and `GET /replicas`, and
//! OpenFaaS's gateway calls (see `openfaas`).
//!
//! Handlers only translate to and from [`Platform::scale`] and [`Platform::replicas`], so a
//! gRPC `ScalingTarget` front (`SetReplicas`, `GetReplicas`) can call the same two methods.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::expose::metrics_text;
use super::platform::{Platform, ScaleCommand};

pub type Shared = Arc<Mutex<Platform>>;

pub fn router(platform: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/scale", post(scale))
        .route("/replicas", get(replicas))
        .merge(super::openfaas::routes())
        .with_state(platform)
}

fn error(code: StatusCode, msg: String) -> Response {
    (code, Json(serde_json::json!({ "error": msg }))).into_response()
}

async fn metrics(State(p): State<Shared>) -> Response {
    let text = metrics_text(&p.lock().unwrap());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn scale(State(p): State<Shared>, body: axum::body::Bytes) -> Response {
    let cmd: ScaleCommand = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad scale command: {e}")),
    };
    let result = p.lock().unwrap().scale(&cmd);
    match result {
        Ok(status) => Json(status).into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, e.to_string()),
    }
}

#[derive(Debug, serde::Deserialize)]
struct ReplicasQuery {
    function: Option<String>,
}

async fn replicas(State(p): State<Shared>, Query(q): Query<ReplicasQuery>) -> Response {
    let result = p.lock().unwrap().replicas(q.function.as_deref());
    match result {
        Ok(list) => Json(serde_json::json!({ "functions": list })).into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, e.to_string()),
    }
}
