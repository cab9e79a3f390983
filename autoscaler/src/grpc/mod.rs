//! The autoscaler's gRPC side.
//!
//! - [`keda`]: KEDA's external scaler (`externalscaler.ExternalScaler`), served over an
//!   [`AutoscalerSource`], so a ScaledObject whose `scalerAddress` points at Vane follows a
//!   named autoscaler, or a query and a target.
//! - [`service`]: Vane's own `vane.autoscaler.v1.Autoscaler` service (list, get, watch
//!   decisions), served from the same source.
//! - [`target`]: [`GrpcTarget`], a [`crate::runtime::ScaleTarget`] that calls a platform's
//!   `vane.autoscaler.v1.ScalingTarget` service with a deadline.
//!
//! [`serve`] runs both services on one address until `shutdown` completes.

pub mod keda;
mod service;
pub mod target;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use proto::externalscaler::external_scaler_server::ExternalScalerServer;
use proto::vane::autoscaler::v1::autoscaler_server::AutoscalerServer;
use tokio::net::TcpListener;

use crate::runtime::AutoscalerSource;

pub use keda::KedaScaler;
pub use service::AutoscalerService;
pub use target::GrpcTarget;

/// Binds `addr` and serves KEDA's external scaler and Vane's `Autoscaler` service over
/// `source` until `shutdown` completes (in-flight calls and open streams are then ended).
pub async fn serve(
    addr: SocketAddr,
    source: Arc<dyn AutoscalerSource>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), crate::Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| crate::Error::Grpc(format!("binding {addr}: {e}")))?;
    serve_listener(listener, source, shutdown).await
}

/// [`serve`] on a listener the caller bound (tests bind port 0 and read the address).
pub async fn serve_listener(
    listener: TcpListener,
    source: Arc<dyn AutoscalerSource>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), crate::Error> {
    let keda = ExternalScalerServer::new(KedaScaler::new(source.clone()));
    let vane = AutoscalerServer::new(AutoscalerService::new(source));
    tonic::transport::Server::builder()
        .add_service(keda)
        .add_service(vane)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown,
        )
        .await
        .map_err(|e| crate::Error::Grpc(e.to_string()))
}
