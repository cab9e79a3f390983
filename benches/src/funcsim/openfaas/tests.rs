//! Vane's `http_openfaas` target against funcsim's OpenFaaS front, on 127.0.0.1, and the
//! front's answers to requests OpenFaaS would refuse.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autoscaler::runtime::{DecisionEvent, ScaleTarget, TargetError};
use autoscaler::target::OpenFaas;

use crate::funcsim::http::router;
use crate::funcsim::{FunctionSpec, Platform, Profile};

/// Serves a platform with function `api` (one replica) and returns its base URL.
async fn serve() -> (String, Arc<Mutex<Platform>>) {
    let spec = FunctionSpec::new("api", Profile::Constant { rate: 0.0 });
    let p = Arc::new(Mutex::new(Platform::new(vec![spec], 1.0, 1)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, router(p.clone())).into_future());
    (format!("http://{addr}"), p)
}

fn target(gateway: &str, function: &str) -> OpenFaas {
    OpenFaas {
        gateway: gateway.to_string(),
        function: function.to_string(),
        namespace: Some("openfaas-fn".into()),
        client: reqwest::Client::new(),
        authorize: None,
        timeout: Duration::from_secs(5),
    }
}

fn decision(desired: u32) -> DecisionEvent {
    DecisionEvent {
        autoscaler: "api".into(),
        id: 1,
        time_ms: 0,
        desired,
        current: Some(1),
        signal: Some(40.0),
        reason: "scaled".into(),
        detail: String::new(),
        active: true,
        panic: false,
    }
}

#[tokio::test]
async fn vanes_openfaas_target_scales_a_funcsim_function() {
    let (url, p) = serve().await;
    let t = target(&url, "api");
    assert_eq!(t.current_replicas("api").await, Ok(Some(1)));
    t.set_replicas(&decision(4)).await.unwrap();
    assert_eq!(
        p.lock().unwrap().replicas(Some("api")).unwrap()[0]
            .counts
            .desired,
        4
    );
    // `replicas` is the desired count; the new ones are still starting.
    assert_eq!(t.current_replicas("api").await, Ok(Some(4)));
    let body = reqwest::get(format!("{url}/system/function/api?namespace=openfaas-fn"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["name"], "api");
    assert_eq!(status["namespace"], "openfaas-fn");
    assert_eq!(status["availableReplicas"], 1);

    // An unknown function is a 404, which retrying cannot fix.
    let e = target(&url, "nope").set_replicas(&decision(2)).await;
    assert!(
        matches!(e, Err(TargetError::Permanent(ref m)) if m.contains("404")),
        "{e:?}"
    );
    let e = target(&url, "nope").current_replicas("nope").await;
    assert!(matches!(e, Err(TargetError::Permanent(_))), "{e:?}");
}

#[tokio::test]
async fn scale_calls_must_be_a_scale_service_request() {
    let (url, p) = serve().await;
    let client = reqwest::Client::new();
    let post = |body: &'static str| {
        client
            .post(format!("{url}/system/scale-function/api"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    for bad in [
        r#"{"replicas": 3}"#,
        r#"{"serviceName": "api"}"#,
        r#"{"serviceName": "api", "replicas": -1}"#,
        r#"{"serviceName": "other", "replicas": 3}"#,
        "not json",
    ] {
        let r = post(bad).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    assert_eq!(
        p.lock().unwrap().replicas(Some("api")).unwrap()[0]
            .counts
            .desired,
        1
    );
    // As OpenFaaS's SDK sends it, namespace in the body: 202 and an empty body.
    let r = post(r#"{"serviceName": "api", "replicas": 3, "namespace": "openfaas-fn"}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.text().await.unwrap(), "");
    assert_eq!(
        p.lock().unwrap().replicas(Some("api")).unwrap()[0]
            .counts
            .desired,
        3
    );
}
