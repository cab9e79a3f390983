//! KEDA's external scaler (`externalscaler.ExternalScaler`), served over an
//! [`AutoscalerSource`].
//!
//! A ScaledObject's `scalerMetadata` says what to follow:
//!
//! - `autoscaler: <name>` — a Vane autoscaler. The metric is Vane's desired replica count
//!   and the target is 1 (KEDA's default `AverageValue` metric type), so the HPA computes
//!   `ceil(desired / 1) = desired`: KEDA's HPA ends at Vane's count. Active when the newest
//!   decision is active or desires at least one replica.
//! - `query: <PromQL>` and `targetValue: <number>` (and optionally `activationThreshold`,
//!   default 0, and `metricName`) — a load signal and a per-replica target, as KEDA's own
//!   Prometheus scaler does it; active when the value is strictly greater than the threshold.
//!
//! Both the int64 and the float fields of sizes and values are filled: KEDA reads the float
//! only when it is > 0.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use proto::externalscaler::external_scaler_server::ExternalScaler;
use proto::externalscaler::{
    GetMetricSpecResponse, GetMetricsRequest, GetMetricsResponse, IsActiveResponse, MetricSpec,
    MetricValue, ScaledObjectRef,
};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::Closing;
use crate::runtime::{AutoscalerSource, AutoscalerView, DecisionEvent};

/// How often `StreamIsActive` re-evaluates a query-based scaled object (named autoscalers
/// push on their decisions instead). `streamInterval` (`500ms`, `2s`...) in the metadata
/// overrides it.
const QUERY_STREAM_INTERVAL: Duration = Duration::from_secs(1);

/// What a ScaledObject's metadata asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// `autoscaler: <name>`.
    Autoscaler(String),
    /// `query` + `targetValue` (+ `activationThreshold`, `metricName`).
    Query {
        query: String,
        target: f64,
        activation: f64,
        metric_name: String,
    },
}

impl Subject {
    /// Reads a ScaledObject's `scalerMetadata`. Errors are `INVALID_ARGUMENT` text.
    pub fn from_metadata(meta: &HashMap<String, String>) -> Result<Subject, String> {
        if let Some(name) = meta.get("autoscaler") {
            let name = name.trim();
            if name.is_empty() {
                return Err("scalerMetadata.autoscaler is empty".into());
            }
            return Ok(Subject::Autoscaler(name.to_string()));
        }
        let Some(query) = meta.get("query").filter(|q| !q.trim().is_empty()) else {
            return Err(
                "scalerMetadata needs `autoscaler` (a Vane autoscaler's name), or `query` and `targetValue`"
                    .into(),
            );
        };
        let number = |key: &str| -> Result<Option<f64>, String> {
            match meta.get(key) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(Some(x)),
                    _ => Err(format!("scalerMetadata.{key}: {v:?} is not a number")),
                },
            }
        };
        let target =
            number("targetValue")?.ok_or("scalerMetadata.targetValue is required with query")?;
        if target <= 0.0 {
            return Err(format!(
                "scalerMetadata.targetValue: must be greater than 0, got {target}"
            ));
        }
        let activation = number("activationThreshold")?.unwrap_or(0.0);
        let metric_name = meta
            .get("metricName")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "vane-query".to_string());
        Ok(Subject::Query {
            query: query.clone(),
            target,
            activation,
            metric_name,
        })
    }

    fn metric_name(&self) -> String {
        match self {
            Subject::Autoscaler(name) => format!("vane-{name}"),
            Subject::Query { metric_name, .. } => metric_name.clone(),
        }
    }
}

/// The activation of a named autoscaler's newest decision.
fn decision_active(d: &DecisionEvent) -> bool {
    d.active || d.desired > 0
}

/// KEDA's int64 fields: the float rounded, saturating.
fn as_int(x: f64) -> i64 {
    if x.is_nan() { 0 } else { x.round() as i64 }
}

/// The `ExternalScaler` service.
pub struct KedaScaler {
    source: Arc<dyn AutoscalerSource>,
    closing: Closing,
}

impl KedaScaler {
    pub fn new(source: Arc<dyn AutoscalerSource>) -> Self {
        KedaScaler {
            source,
            closing: Closing::never(),
        }
    }

    /// Open `StreamIsActive` calls end when `closing` fires.
    pub(crate) fn closing(mut self, closing: Closing) -> Self {
        self.closing = closing;
        self
    }

    fn subject(r: &ScaledObjectRef) -> Result<Subject, Status> {
        Subject::from_metadata(&r.scaler_metadata).map_err(|e| {
            Status::invalid_argument(format!("ScaledObject {}/{}: {e}", r.namespace, r.name))
        })
    }

    fn autoscaler(&self, name: &str) -> Result<AutoscalerView, Status> {
        self.source
            .get(name)
            .ok_or_else(|| Status::not_found(format!("no autoscaler named {name:?}")))
    }

    /// The newest decision of a named autoscaler; `UNAVAILABLE` before its first one.
    fn last_decision(&self, name: &str) -> Result<DecisionEvent, Status> {
        self.autoscaler(name)?.last.ok_or_else(|| {
            Status::unavailable(format!("autoscaler {name:?} has made no decision yet"))
        })
    }

    async fn query(&self, query: &str) -> Result<f64, Status> {
        query_value(self.source.clone(), query.to_string()).await
    }

    async fn active(&self, subject: &Subject) -> Result<bool, Status> {
        match subject {
            Subject::Autoscaler(name) => Ok(decision_active(&self.last_decision(name)?)),
            Subject::Query {
                query, activation, ..
            } => Ok(self.query(query).await? > *activation),
        }
    }
}

/// Evaluates a query off the async threads (the local engine computes in place).
async fn query_value(source: Arc<dyn AutoscalerSource>, query: String) -> Result<f64, Status> {
    let q = query.clone();
    match tokio::task::spawn_blocking(move || source.query_value(&q)).await {
        Ok(Ok(v)) if v.is_finite() => Ok(v),
        Ok(Ok(v)) => Err(Status::unavailable(format!("query {query:?} returned {v}"))),
        Ok(Err(e)) => Err(Status::unavailable(format!("query {query:?}: {e}"))),
        Err(e) => Err(Status::internal(format!("query {query:?}: {e}"))),
    }
}

type ActiveStream = Pin<Box<dyn Stream<Item = Result<IsActiveResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ExternalScaler for KedaScaler {
    async fn is_active(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<IsActiveResponse>, Status> {
        let subject = Self::subject(request.get_ref())?;
        let result = self.active(&subject).await?;
        Ok(Response::new(IsActiveResponse { result }))
    }

    type StreamIsActiveStream = ActiveStream;

    async fn stream_is_active(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<Self::StreamIsActiveStream>, Status> {
        let r = request.into_inner();
        let subject = Self::subject(&r)?;
        let (tx, rx) = mpsc::channel(4);
        match subject {
            Subject::Autoscaler(name) => {
                // Subscribe before reading the state, so no change falls between the two.
                let events = self.source.watch();
                let view = self.autoscaler(&name)?;
                let first = view.last.as_ref().map(decision_active);
                tokio::spawn(self.closing.clone().guard(
                    tx.clone(),
                    stream_autoscaler(self.source.clone(), name, first, events, tx),
                ));
            }
            Subject::Query {
                query, activation, ..
            } => {
                let every = match r.scaler_metadata.get("streamInterval") {
                    Some(s) => model::duration::parse_duration(s.trim())
                        .ok()
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| {
                            Status::invalid_argument(format!(
                                "scalerMetadata.streamInterval: {s:?} is not a duration"
                            ))
                        })?,
                    None => QUERY_STREAM_INTERVAL,
                };
                tokio::spawn(self.closing.clone().guard(
                    tx.clone(),
                    stream_query(self.source.clone(), query, activation, every, tx),
                ));
            }
        }
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_metric_spec(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<GetMetricSpecResponse>, Status> {
        let subject = Self::subject(request.get_ref())?;
        let target = match &subject {
            Subject::Autoscaler(name) => {
                self.autoscaler(name)?;
                1.0
            }
            Subject::Query { target, .. } => *target,
        };
        Ok(Response::new(GetMetricSpecResponse {
            metric_specs: vec![MetricSpec {
                metric_name: subject.metric_name(),
                // At least 1: an int64 target of 0 would mean "no target" to an old KEDA.
                target_size: as_int(target).max(1),
                target_size_float: target,
            }],
        }))
    }

    async fn get_metrics(
        &self,
        request: Request<GetMetricsRequest>,
    ) -> Result<Response<GetMetricsResponse>, Status> {
        let r = request.into_inner();
        let so = r
            .scaled_object_ref
            .ok_or_else(|| Status::invalid_argument("scaledObjectRef is missing"))?;
        let subject = Self::subject(&so)?;
        let value = match &subject {
            Subject::Autoscaler(name) => f64::from(self.last_decision(name)?.desired),
            Subject::Query { query, .. } => self.query(query).await?,
        };
        // KEDA asks with the name it got from GetMetricSpec; answer with the same.
        let metric_name = if r.metric_name.is_empty() {
            subject.metric_name()
        } else {
            r.metric_name
        };
        Ok(Response::new(GetMetricsResponse {
            metric_values: vec![MetricValue {
                metric_name,
                metric_value: as_int(value),
                metric_value_float: value,
            }],
        }))
    }
}

/// Pushes a named autoscaler's activation: now (when it has decided), then on every change.
async fn stream_autoscaler(
    source: Arc<dyn AutoscalerSource>,
    name: String,
    first: Option<bool>,
    mut events: broadcast::Receiver<DecisionEvent>,
    tx: mpsc::Sender<Result<IsActiveResponse, Status>>,
) {
    let mut last = first;
    if let Some(result) = first
        && tx.send(Ok(IsActiveResponse { result })).await.is_err()
    {
        return;
    }
    loop {
        let active = tokio::select! {
            _ = tx.closed() => return,
            ev = events.recv() => match ev {
                Ok(d) if d.autoscaler == name => decision_active(&d),
                Ok(_) => continue,
                // Missed some: the source's newest decision says where things are.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    match source.get(&name).and_then(|v| v.last) {
                        Some(d) => decision_active(&d),
                        None => continue,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = tx.send(Err(Status::unavailable("autoscaler stopped"))).await;
                    return;
                }
            },
        };
        if last != Some(active) {
            last = Some(active);
            if tx
                .send(Ok(IsActiveResponse { result: active }))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// Pushes a query's activation: now, then on every change, evaluating every `every`.
/// Failed evaluations push nothing (KEDA keeps the last state).
async fn stream_query(
    source: Arc<dyn AutoscalerSource>,
    query: String,
    activation: f64,
    every: Duration,
    tx: mpsc::Sender<Result<IsActiveResponse, Status>>,
) {
    let mut last = None;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tx.closed() => return,
            _ = tick.tick() => {}
        }
        let Ok(v) = query_value(source.clone(), query.clone()).await else {
            continue;
        };
        let active = v > activation;
        if last != Some(active) {
            last = Some(active);
            if tx
                .send(Ok(IsActiveResponse { result: active }))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
