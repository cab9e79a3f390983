//! [`GrpcTarget`]: decisions sent to a platform's `vane.autoscaler.v1.ScalingTarget` service.

use std::time::Duration;

use proto::vane::autoscaler::v1 as pb;
use proto::vane::autoscaler::v1::scaling_target_client::ScalingTargetClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};

use crate::runtime::{BoxFuture, DecisionEvent, ScaleTarget, TargetError};

/// The deadline of one call when the configuration gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A platform that implements `ScalingTarget`. Every call carries a deadline (sent to the
/// server as `grpc-timeout` and enforced here); the connection is made on first use and
/// re-made after failures, so a platform that is down when Vane starts is not an error.
#[derive(Clone)]
pub struct GrpcTarget {
    url: String,
    timeout: Duration,
    client: ScalingTargetClient<Channel>,
}

/// TLS to a platform: PEM contents, as read from the configuration's files.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// CA certificates to trust instead of the public web roots.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate and its key, for mutual TLS.
    pub identity_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// The name the server's certificate must carry, when not the address's host.
    pub server_name: Option<String>,
}

impl GrpcTarget {
    /// A target at `url` (`http://host:port`, plaintext HTTP/2) whose calls each take at most
    /// `timeout`. Must be called inside a Tokio runtime (the channel's worker is spawned on it).
    pub fn new(url: &str, timeout: Duration) -> Result<GrpcTarget, crate::Error> {
        Self::build(url, timeout, None)
    }

    /// A target at `url` (`https://host:port`) over TLS: the server's certificate is checked
    /// against `tls.ca_pem`, or the public web roots without it.
    pub fn with_tls(url: &str, timeout: Duration, tls: &Tls) -> Result<GrpcTarget, crate::Error> {
        Self::build(url, timeout, Some(tls))
    }

    fn build(url: &str, timeout: Duration, tls: Option<&Tls>) -> Result<GrpcTarget, crate::Error> {
        let mut endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| crate::Error::Grpc(format!("target url {url:?}: {e}")))?
            .connect_timeout(timeout);
        if let Some(t) = tls {
            let mut c = ClientTlsConfig::new().timeout(timeout);
            c = match &t.ca_pem {
                Some(ca) => c.ca_certificate(Certificate::from_pem(ca)),
                None => c.with_webpki_roots(),
            };
            if let Some((cert, key)) = &t.identity_pem {
                c = c.identity(Identity::from_pem(cert, key));
            }
            if let Some(name) = &t.server_name {
                c = c.domain_name(name.clone());
            }
            endpoint = endpoint.tls_config(c).map_err(|e| {
                // The transport error's source says what is wrong with the certificates.
                let why = std::error::Error::source(&e)
                    .map_or_else(|| e.to_string(), ToString::to_string);
                crate::Error::Grpc(format!("TLS for {url:?}: {why}"))
            })?;
        }
        Ok(GrpcTarget {
            url: url.to_string(),
            timeout,
            client: ScalingTargetClient::new(endpoint.connect_lazy()),
        })
    }

    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.set_timeout(self.timeout);
        r
    }

    /// Runs one call within the deadline (the transport's own timeout may not cover a
    /// connection that hangs before the request is sent).
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, Status>>,
    ) -> Result<T, TargetError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(resp)) => Ok(resp.into_inner()),
            Ok(Err(status)) => Err(status_to_error(&self.url, &status)),
            Err(_) => Err(TargetError::Retryable(format!(
                "{}: no answer within {:?}",
                self.url, self.timeout
            ))),
        }
    }
}

/// gRPC status codes worth retrying (the same decision again, after a backoff); every other
/// code means retrying cannot help.
pub fn status_to_error(url: &str, status: &Status) -> TargetError {
    let text = format!("{url}: {:?}: {}", status.code(), status.message());
    // tonic reports the expiry of the call's own deadline (`grpc-timeout`, enforced on the
    // client side too) as CANCELLED with `TimeoutExpired`'s text: that is DEADLINE_EXCEEDED.
    if status.code() == Code::Cancelled && status.message() == tonic::TimeoutExpired(()).to_string()
    {
        return TargetError::Retryable(text);
    }
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Aborted => {
            TargetError::Retryable(text)
        }
        _ => TargetError::Permanent(text),
    }
}

fn request_of(d: &DecisionEvent) -> pb::SetReplicasRequest {
    pb::SetReplicasRequest {
        decision_id: d.id,
        autoscaler: d.autoscaler.clone(),
        desired_replicas: d.desired,
        reason: d.reason.clone(),
        detail: d.detail.clone(),
        signal: d.signal,
        current_replicas: d.current,
        time_ms: d.time_ms,
        active: d.active,
        panic: d.panic,
    }
}

impl ScaleTarget for GrpcTarget {
    fn describe(&self) -> String {
        format!("grpc:{}", self.url)
    }

    fn set_replicas<'a>(&'a self, d: &'a DecisionEvent) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            let mut client = self.client.clone();
            let req = self.request(request_of(d));
            self.bounded(client.set_replicas(req)).await.map(|_| ())
        })
    }

    fn current_replicas<'a>(
        &'a self,
        autoscaler: &'a str,
    ) -> BoxFuture<'a, Result<Option<u32>, TargetError>> {
        Box::pin(async move {
            let mut client = self.client.clone();
            let req = self.request(pb::GetReplicasRequest {
                autoscaler: autoscaler.to_string(),
            });
            let resp = self.bounded(client.get_replicas(req)).await?;
            Ok(resp.current_replicas)
        })
    }
}
