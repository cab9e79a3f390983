//! The OpenFaaS gateway's two scaling calls, as its API (`api-docs/spec.openapi.yml` of
//! openfaas/faas) and its providers define them, so Vane's `http_openfaas` target can drive
//! funcsim unchanged:
//!
//! - `POST /system/scale-function/{name}` with a JSON `ScaleServiceRequest`:
//!   `{"serviceName": name, "replicas": n}`, optionally `"namespace"` (or `?namespace=`, which
//!   faas-netes reads). Answers `202 Accepted` with an empty body, as faas-netes does; `400` for
//!   a body that is not that (`serviceName` and `replicas`, a non-negative integer, are
//!   required), `404` for an unknown function.
//! - `GET /system/function/{name}` (optional `?namespace=`): a `FunctionStatus` with `name`,
//!   `image`, `namespace`, `replicas` (the desired count), `availableReplicas` (ready ones)
//!   and `invocationCount`.
//!
//! funcsim has no namespaces: any namespace is accepted and reported back (default
//! `openfaas-fn`). The calls carry no decision id, so each is applied.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::http::Shared;
use super::platform::ScaleCommand;

const DEFAULT_NAMESPACE: &str = "openfaas-fn";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/system/scale-function/{name}", post(scale))
        .route("/system/function/{name}", get(status))
}

#[derive(Debug, Deserialize)]
struct NamespaceQuery {
    namespace: Option<String>,
}

/// faas-provider's `ScaleServiceRequest` (its optional `namespace` is accepted and, like
/// unknown fields, ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScaleServiceRequest {
    service_name: String,
    replicas: u64,
}

fn plain(code: StatusCode, msg: String) -> Response {
    (code, msg).into_response()
}

async fn scale(
    State(p): State<Shared>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let req: ScaleServiceRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("Cannot parse request. Please pass valid JSON. ({e})"),
            );
        }
    };
    if req.service_name != name {
        return plain(
            StatusCode::BAD_REQUEST,
            format!(
                "serviceName {:?} does not match the path's {name:?}",
                req.service_name
            ),
        );
    }
    let cmd = ScaleCommand {
        function: name,
        replicas: req.replicas.min(u32::MAX as u64) as u32,
        decision_id: None,
        reason: None,
    };
    let result = p.lock().unwrap().scale(&cmd);
    match result {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(e) => plain(StatusCode::NOT_FOUND, e.to_string()),
    }
}

async fn status(
    State(p): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<NamespaceQuery>,
) -> Response {
    let p = p.lock().unwrap();
    let Some(f) = p.functions().iter().find(|f| f.spec.name == name) else {
        return plain(
            StatusCode::NOT_FOUND,
            format!("function {name:?} not found"),
        );
    };
    let counts = f.replica_counts();
    Json(serde_json::json!({
        "name": name,
        "image": format!("funcsim/{name}:latest"),
        "namespace": q.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE),
        "replicas": counts.desired,
        "availableReplicas": counts.ready,
        "invocationCount": f.counters.invocations,
    }))
    .into_response()
}

#[cfg(test)]
mod tests;
