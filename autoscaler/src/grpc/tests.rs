use std::sync::Arc;
use std::time::Duration;

use proto::externalscaler::ScaledObjectRef;
use proto::externalscaler::external_scaler_client::ExternalScalerClient;
use proto::vane::autoscaler::v1 as pb;
use proto::vane::autoscaler::v1::autoscaler_client::AutoscalerClient;
use tokio::sync::broadcast;
use tonic::Code;

use crate::runtime::{AutoscalerSource, AutoscalerView, DecisionEvent};

/// One autoscaler, `web`, that has decided 2 replicas.
struct OneAutoscaler {
    events: broadcast::Sender<DecisionEvent>,
}

impl AutoscalerSource for OneAutoscaler {
    fn list(&self) -> Vec<AutoscalerView> {
        self.get("web").into_iter().collect()
    }

    fn get(&self, name: &str) -> Option<AutoscalerView> {
        (name == "web").then(|| AutoscalerView {
            name: "web".into(),
            query: "load".into(),
            min_replicas: 1,
            max_replicas: 5,
            policy: "per_replica".into(),
            target_value: Some(1.0),
            activation_threshold: None,
            last: Some(DecisionEvent {
                autoscaler: "web".into(),
                id: 1,
                time_ms: 1,
                desired: 2,
                current: Some(2),
                signal: Some(2.0),
                reason: "scaled".into(),
                detail: String::new(),
                active: true,
                panic: false,
            }),
            recent: Vec::new(),
            failures: 0,
        })
    }

    fn watch(&self) -> broadcast::Receiver<DecisionEvent> {
        self.events.subscribe()
    }

    fn query_value(&self, _query: &str) -> Result<f64, String> {
        Ok(1.0)
    }
}

#[tokio::test]
async fn shutdown_ends_open_streams_with_unavailable() {
    let (events, _) = broadcast::channel(4);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(super::serve_listener(
        listener,
        Arc::new(OneAutoscaler { events }),
        None,
        async {
            let _ = stopped.await;
        },
    ));
    let bound = Duration::from_secs(10);
    let calls = async {
        let mut vane = AutoscalerClient::connect(url.clone()).await.unwrap();
        let mut watch = vane
            .watch_decisions(pb::WatchDecisionsRequest::default())
            .await
            .unwrap()
            .into_inner();
        let mut keda = ExternalScalerClient::connect(url.clone()).await.unwrap();
        let mut active = keda
            .stream_is_active(ScaledObjectRef {
                name: "web".into(),
                namespace: "default".into(),
                scaler_metadata: [("autoscaler".to_string(), "web".to_string())].into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(active.message().await.unwrap().unwrap().result);
        // Both streams are open and idle; the server shuts down.
        stop.send(()).unwrap();
        let end = watch.message().await.unwrap_err();
        assert_eq!(end.code(), Code::Unavailable, "{end:?}");
        let end = active.message().await.unwrap_err();
        assert_eq!(end.code(), Code::Unavailable, "{end:?}");
        server.await.unwrap().unwrap();
    };
    tokio::time::timeout(bound, calls)
        .await
        .expect("the server did not shut down with streams open");
}

#[tokio::test]
async fn tls_settings_that_cannot_work_are_refused_when_the_target_is_built() {
    use super::{GrpcTarget, Tls};
    use crate::runtime::ScaleTarget;

    let url = "https://platform.test:443";
    let t = GrpcTarget::with_tls(url, Duration::from_secs(1), &Tls::default()).unwrap();
    assert_eq!(t.describe(), format!("grpc:{url}"));
    let bad_identity = Tls {
        identity_pem: Some((b"no certificate".to_vec(), b"no key".to_vec())),
        ..Tls::default()
    };
    let err = GrpcTarget::with_tls(url, Duration::from_secs(1), &bad_identity)
        .err()
        .expect("a client identity without a certificate is refused");
    assert!(
        err.to_string()
            .contains("TLS for \"https://platform.test:443\""),
        "{err}"
    );
}
