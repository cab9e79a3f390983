//! The autoscaler's gRPC side.
//!
//! - [`keda`]: KEDA's external scaler (`externalscaler.ExternalScaler`), served over an
//!   [`AutoscalerSource`], so a ScaledObject whose `scalerAddress` points at Vane follows a
//!   named autoscaler, or a query and a target.
//! - [`service`]: Vane's own `vane.autoscaler.v1.Autoscaler` service (list, get, watch
//!   decisions), served from the same source.
//! - [`target`]: [`GrpcTarget`], a [`crate::runtime::ScaleTarget`] that calls a platform's
//!   `vane.autoscaler.v1.ScalingTarget` service with a deadline, in plaintext or over TLS.
//!
//! [`serve`] runs both services on one address, in plaintext or over TLS ([`ServerTls`],
//! optionally requiring client certificates), until `shutdown` completes; open streams
//! (`StreamIsActive`, `WatchDecisions`) then end with `UNAVAILABLE`, so the server's graceful
//! shutdown, which waits for every open call, does not wait for subscribers that never leave.

pub mod keda;
mod service;
pub mod target;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use proto::externalscaler::external_scaler_server::ExternalScalerServer;
use proto::vane::autoscaler::v1::autoscaler_server::AutoscalerServer;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::runtime::AutoscalerSource;

pub use keda::KedaScaler;
pub use service::AutoscalerService;
pub use target::{GrpcTarget, Tls};

/// The server's TLS settings, as PEM: its certificate chain and key, and the CAs whose client
/// certificates it requires (none: clients are not asked for one).
#[derive(Clone)]
pub struct ServerTls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}

impl ServerTls {
    /// A server builder with these settings (the certificate, key and CAs are parsed here, so
    /// an unusable one is an error before anything is served).
    fn builder(&self) -> Result<tonic::transport::Server, crate::Error> {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(
            self.cert_pem.clone(),
            self.key_pem.clone(),
        ));
        if let Some(ca) = &self.client_ca_pem {
            config = config.client_ca_root(Certificate::from_pem(ca.clone()));
        }
        tonic::transport::Server::builder()
            .tls_config(config)
            .map_err(|e| crate::Error::Grpc(format!("TLS configuration: {e}")))
    }

    /// Checks that the certificate, key and CAs can serve TLS.
    pub fn check(&self) -> Result<(), crate::Error> {
        self.builder().map(drop)
    }
}

/// Binds `addr` and serves KEDA's external scaler and Vane's `Autoscaler` service over
/// `source` until `shutdown` completes (open streams are then ended with `UNAVAILABLE`;
/// unary calls in flight finish).
pub async fn serve(
    addr: SocketAddr,
    source: Arc<dyn AutoscalerSource>,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), crate::Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| crate::Error::Grpc(format!("binding {addr}: {e}")))?;
    serve_listener(listener, source, tls, shutdown).await
}

/// [`serve`] on a listener the caller bound (tests bind port 0 and read the address).
pub async fn serve_listener(
    listener: TcpListener,
    source: Arc<dyn AutoscalerSource>,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), crate::Error> {
    let (close, closing) = watch::channel(false);
    let closing = Closing(closing);
    let keda = ExternalScalerServer::new(KedaScaler::new(source.clone()).closing(closing.clone()));
    let vane = AutoscalerServer::new(AutoscalerService::new(source).closing(closing));
    let mut server = match &tls {
        Some(t) => t.builder()?,
        None => tonic::transport::Server::builder(),
    };
    server
        .add_service(keda)
        .add_service(vane)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            async move {
                shutdown.await;
                let _ = close.send(true);
            },
        )
        .await
        .map_err(|e| crate::Error::Grpc(e.to_string()))
}

/// Tells the tasks behind open streams that the server is shutting down.
#[derive(Clone)]
pub(crate) struct Closing(watch::Receiver<bool>);

impl Closing {
    /// Never fires (a service used outside [`serve_listener`]).
    pub(crate) fn never() -> Closing {
        Closing(watch::channel(false).1)
    }

    /// Completes once the server shuts down; never, if its sender is gone without firing.
    async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Runs the task that feeds a stream until the server shuts down, then ends the stream
    /// with `UNAVAILABLE`.
    pub(crate) async fn guard<T>(
        mut self,
        tx: mpsc::Sender<Result<T, tonic::Status>>,
        task: impl Future<Output = ()>,
    ) {
        tokio::select! {
            _ = task => {}
            _ = self.wait() => {
                let _ = tx.try_send(Err(tonic::Status::unavailable("the server is shutting down")));
            }
        }
    }
}

#[cfg(test)]
mod tests;
