//! The OpenFaaS gateway's scale call and the Kubernetes scale subresource.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::runtime::{BoxFuture, DecisionEvent, ScaleTarget, TargetError};

/// Adds credentials to a request (basic auth, a bearer token); an error fails that request.
pub type Authorize = Arc<dyn Fn(RequestBuilder) -> Result<RequestBuilder, String> + Send + Sync>;

/// What a call's status means: 2xx taken; 408, 429 and 5xx worth retrying; the rest not.
fn classify(what: &str, status: StatusCode, body: &str) -> Result<(), TargetError> {
    let msg = || {
        format!(
            "{what}: HTTP {status}: {}",
            body.chars().take(200).collect::<String>().trim()
        )
    };
    if status.is_success() {
        Ok(())
    } else if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Err(TargetError::Retryable(msg()))
    } else {
        Err(TargetError::Permanent(msg()))
    }
}

/// Sends a request within `timeout`; connection errors and timeouts are retryable.
async fn send(
    what: &str,
    req: RequestBuilder,
    authorize: &Option<Authorize>,
    timeout: Duration,
) -> Result<String, TargetError> {
    let req = match authorize {
        Some(a) => a(req).map_err(TargetError::Permanent)?,
        None => req,
    };
    let resp = req
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| TargetError::Retryable(format!("{what}: {e}")))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    classify(what, status, &body)?;
    Ok(body)
}

/// An OpenFaaS function behind its gateway: `POST /system/scale-function/{name}` with
/// `{"serviceName": name, "replicas": n}` to scale, and `GET /system/function/{name}` (its
/// `replicas` field) for the current count. A namespace goes both in the query string
/// (`?namespace=`, where faas-netes reads it) and in the body's `namespace` (where OpenFaaS's
/// Go SDK puts it).
pub struct OpenFaas {
    /// The gateway's base URL, without a trailing slash.
    pub gateway: String,
    pub function: String,
    pub namespace: Option<String>,
    pub client: Client,
    pub authorize: Option<Authorize>,
    pub timeout: Duration,
}

impl OpenFaas {
    fn url(&self, what: &str) -> String {
        let mut u = format!(
            "{}/system/{what}/{}",
            self.gateway.trim_end_matches('/'),
            self.function
        );
        if let Some(ns) = &self.namespace {
            u.push_str("?namespace=");
            u.push_str(ns);
        }
        u
    }
}

impl ScaleTarget for OpenFaas {
    fn describe(&self) -> String {
        format!("openfaas:{}/{}", self.gateway, self.function)
    }

    fn set_replicas<'a>(&'a self, d: &'a DecisionEvent) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            let mut body = json!({ "serviceName": self.function, "replicas": d.desired });
            if let Some(ns) = &self.namespace {
                body["namespace"] = json!(ns);
            }
            let req = self
                .client
                .post(self.url("scale-function"))
                .header("Content-Type", "application/json")
                .body(body.to_string());
            send("scale-function", req, &self.authorize, self.timeout)
                .await
                .map(|_| ())
        })
    }

    fn current_replicas<'a>(
        &'a self,
        _autoscaler: &'a str,
    ) -> BoxFuture<'a, Result<Option<u32>, TargetError>> {
        Box::pin(async move {
            let req = self.client.get(self.url("function"));
            let body = send("function status", req, &self.authorize, self.timeout).await?;
            replicas_at(&body, "/replicas")
        })
    }
}

/// A Kubernetes workload's scale subresource:
/// `PATCH {api}/apis/{group_version}/namespaces/{ns}/{resource}/{name}/scale` with the merge
/// patch `{"spec":{"replicas":n}}` to scale, `GET` of the same path (`status.replicas`) for the
/// current count.
pub struct Kubernetes {
    /// The API server's base URL, without a trailing slash.
    pub api: String,
    pub namespace: String,
    /// `deployments` (default), `statefulsets`, `replicasets`.
    pub resource: String,
    pub name: String,
    pub client: Client,
    pub authorize: Option<Authorize>,
    pub timeout: Duration,
}

impl Kubernetes {
    fn url(&self) -> String {
        format!(
            "{}/apis/apps/v1/namespaces/{}/{}/{}/scale",
            self.api.trim_end_matches('/'),
            self.namespace,
            self.resource,
            self.name
        )
    }
}

impl ScaleTarget for Kubernetes {
    fn describe(&self) -> String {
        format!(
            "kubernetes:{}/{}/{}",
            self.namespace, self.resource, self.name
        )
    }

    fn set_replicas<'a>(&'a self, d: &'a DecisionEvent) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            let req = self
                .client
                .patch(self.url())
                .header("Content-Type", "application/merge-patch+json")
                .header("Accept", "application/json")
                .body(json!({ "spec": { "replicas": d.desired } }).to_string());
            send("scale PATCH", req, &self.authorize, self.timeout)
                .await
                .map(|_| ())
        })
    }

    fn current_replicas<'a>(
        &'a self,
        _autoscaler: &'a str,
    ) -> BoxFuture<'a, Result<Option<u32>, TargetError>> {
        Box::pin(async move {
            let req = self
                .client
                .get(self.url())
                .header("Accept", "application/json");
            let body = send("scale GET", req, &self.authorize, self.timeout).await?;
            replicas_at(&body, "/status/replicas")
        })
    }
}

/// The non-negative integer at `pointer` in a JSON body; absent means unknown.
fn replicas_at(body: &str, pointer: &str) -> Result<Option<u32>, TargetError> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| TargetError::Permanent(format!("the answer is not JSON: {e}")))?;
    Ok(v.pointer(pointer)
        .and_then(Value::as_u64)
        .map(|n| n.min(u32::MAX as u64) as u32))
}

#[cfg(test)]
mod tests;
