//! The gRPC front: Vane's `vane.autoscaler.v1.ScalingTarget`, implemented over the same
//! [`Platform::scale`] and [`Platform::replicas`] as the HTTP front.
//!
//! The autoscaler's name is the function's name. `SetReplicas` applies the decision (a
//! `decision_id` not above the last applied one is acknowledged without acting, as the
//! protocol asks; 0 means no id) and answers the replicas running or starting; `GetReplicas`
//! answers the same count. An unknown function is `NOT_FOUND`.

use std::future::Future;

use proto::vane::autoscaler::v1 as pb;
use proto::vane::autoscaler::v1::scaling_target_server::{ScalingTarget, ScalingTargetServer};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use super::http::Shared;
use super::platform::{ReplicaCounts, ScaleCommand, ScaleError};

/// The `ScalingTarget` service over a shared platform.
pub struct Front {
    platform: Shared,
}

impl Front {
    pub fn new(platform: Shared) -> Front {
        Front { platform }
    }
}

/// What the platform runs: ready and starting replicas (draining ones are on their way out).
fn running(c: &ReplicaCounts) -> u32 {
    c.ready + c.starting
}

fn not_found(e: ScaleError) -> Status {
    Status::not_found(e.to_string())
}

#[tonic::async_trait]
impl ScalingTarget for Front {
    async fn set_replicas(
        &self,
        request: Request<pb::SetReplicasRequest>,
    ) -> Result<Response<pb::SetReplicasResponse>, Status> {
        let r = request.into_inner();
        let cmd = ScaleCommand {
            function: r.autoscaler,
            replicas: r.desired_replicas,
            decision_id: (r.decision_id != 0).then_some(r.decision_id),
            reason: (!r.reason.is_empty()).then_some(r.reason),
        };
        let status = self
            .platform
            .lock()
            .unwrap()
            .scale(&cmd)
            .map_err(not_found)?;
        Ok(Response::new(pb::SetReplicasResponse {
            current_replicas: Some(running(&status.counts)),
        }))
    }

    async fn get_replicas(
        &self,
        request: Request<pb::GetReplicasRequest>,
    ) -> Result<Response<pb::GetReplicasResponse>, Status> {
        let name = request.into_inner().autoscaler;
        let list = self
            .platform
            .lock()
            .unwrap()
            .replicas(Some(&name))
            .map_err(not_found)?;
        Ok(Response::new(pb::GetReplicasResponse {
            current_replicas: list.first().map(|s| running(&s.counts)),
        }))
    }
}

/// Serves the front on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    platform: Shared,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(ScalingTargetServer::new(Front::new(platform)))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown,
        )
        .await
}
