//! Vane's `vane.autoscaler.v1.Autoscaler` service: the running autoscalers, their state and
//! decisions, over an [`AutoscalerSource`].

use std::pin::Pin;
use std::sync::Arc;

use proto::vane::autoscaler::v1 as pb;
use proto::vane::autoscaler::v1::autoscaler_server::Autoscaler;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::Closing;
use crate::runtime::{AutoscalerSource, AutoscalerView, DecisionEvent};

/// The `Autoscaler` service.
pub struct AutoscalerService {
    source: Arc<dyn AutoscalerSource>,
    closing: Closing,
}

impl AutoscalerService {
    pub fn new(source: Arc<dyn AutoscalerSource>) -> Self {
        AutoscalerService {
            source,
            closing: Closing::never(),
        }
    }

    /// Open watches end when `closing` fires.
    pub(crate) fn closing(mut self, closing: Closing) -> Self {
        self.closing = closing;
        self
    }
}

pub(crate) fn decision_to_pb(d: &DecisionEvent) -> pb::Decision {
    pb::Decision {
        id: d.id,
        autoscaler: d.autoscaler.clone(),
        time_ms: d.time_ms,
        desired_replicas: d.desired,
        current_replicas: d.current,
        signal: d.signal,
        reason: d.reason.clone(),
        detail: d.detail.clone(),
        active: d.active,
        panic: d.panic,
    }
}

fn view_to_pb(v: &AutoscalerView) -> pb::AutoscalerState {
    pb::AutoscalerState {
        name: v.name.clone(),
        query: v.query.clone(),
        min_replicas: v.min_replicas,
        max_replicas: v.max_replicas,
        policy: v.policy.clone(),
        target_value: v.target_value,
        activation_threshold: v.activation_threshold,
        last: v.last.as_ref().map(decision_to_pb),
        recent: v.recent.iter().map(decision_to_pb).collect(),
        failures: v.failures,
    }
}

type DecisionStream = Pin<Box<dyn Stream<Item = Result<pb::Decision, Status>> + Send>>;

#[tonic::async_trait]
impl Autoscaler for AutoscalerService {
    async fn list_autoscalers(
        &self,
        _request: Request<pb::ListAutoscalersRequest>,
    ) -> Result<Response<pb::ListAutoscalersResponse>, Status> {
        let autoscalers = self.source.list().iter().map(view_to_pb).collect();
        Ok(Response::new(pb::ListAutoscalersResponse { autoscalers }))
    }

    async fn get_autoscaler(
        &self,
        request: Request<pb::GetAutoscalerRequest>,
    ) -> Result<Response<pb::AutoscalerState>, Status> {
        let name = &request.get_ref().name;
        match self.source.get(name) {
            Some(v) => Ok(Response::new(view_to_pb(&v))),
            None => Err(Status::not_found(format!("no autoscaler named {name:?}"))),
        }
    }

    type WatchDecisionsStream = DecisionStream;

    async fn watch_decisions(
        &self,
        request: Request<pb::WatchDecisionsRequest>,
    ) -> Result<Response<Self::WatchDecisionsStream>, Status> {
        let only = request.into_inner().autoscaler;
        if !only.is_empty() && self.source.get(&only).is_none() {
            return Err(Status::not_found(format!("no autoscaler named {only:?}")));
        }
        let mut events = self.source.watch();
        let (tx, rx) = mpsc::channel(64);
        let feed = {
            let tx = tx.clone();
            async move {
                loop {
                    let d = tokio::select! {
                        _ = tx.closed() => return,
                        ev = events.recv() => match ev {
                            Ok(d) => d,
                            // A slow subscriber skips to the newest decisions (documented in the proto).
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return,
                        },
                    };
                    if (only.is_empty() || d.autoscaler == only)
                        && tx.send(Ok(decision_to_pb(&d))).await.is_err()
                    {
                        return;
                    }
                }
            }
        };
        tokio::spawn(self.closing.clone().guard(tx, feed));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
