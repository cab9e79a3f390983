//! Interop with an independent gRPC stack (Python's `grpcio`): KEDA's side of the external
//! scaler, generated from KEDA's own proto, calling Vane's scaler; and a platform's
//! `ScalingTarget` receiving decisions from [`GrpcTarget`]. Python and `grpcio-tools` are
//! required (`.ci/run` installs them); without them these tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use autoscaler::grpc::GrpcTarget;
use autoscaler::runtime::{
    AutoscalerSource, AutoscalerView, DecisionEvent, ScaleTarget, TargetError,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::broadcast;

/// Every test's time bound, Python start-up and code generation included.
const BOUND: Duration = Duration::from_secs(60);

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require_python_grpc() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import grpc, grpc_tools"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "these interop tests need python3 with grpcio and grpcio-tools \
         (`pip install grpcio grpcio-tools`; .ci/run installs them)"
    );
}

fn python(script: &str, args: &[&Path]) -> Child {
    Command::new("python3")
        .arg(manifest().join("tests/interop").join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting python3")
}

fn decision(autoscaler: &str, id: u64, desired: u32, active: bool) -> DecisionEvent {
    DecisionEvent {
        autoscaler: autoscaler.into(),
        id,
        time_ms: 1_700_000_000_000 + id as i64,
        desired,
        current: Some(2),
        signal: Some(12.5),
        reason: "scaled".into(),
        detail: "ceil(12.5 / 5) = 3".into(),
        active,
        panic: false,
    }
}

/// Known autoscalers: `checkout` (desired 3, active) and `idle` (desired 0, inactive); the
/// query `load` answers 7.5.
struct TestSource {
    events: broadcast::Sender<DecisionEvent>,
}

impl TestSource {
    fn view(name: &str, last: DecisionEvent) -> AutoscalerView {
        AutoscalerView {
            name: name.into(),
            query: "load".into(),
            min_replicas: 0,
            max_replicas: 10,
            policy: "per_replica".into(),
            target_value: Some(5.0),
            activation_threshold: Some(1.0),
            recent: vec![last.clone()],
            last: Some(last),
            failures: 0,
        }
    }
}

impl AutoscalerSource for TestSource {
    fn list(&self) -> Vec<AutoscalerView> {
        ["checkout", "idle"]
            .iter()
            .filter_map(|n| self.get(n))
            .collect()
    }
    fn get(&self, name: &str) -> Option<AutoscalerView> {
        match name {
            "checkout" => Some(Self::view(name, decision(name, 1, 3, true))),
            "idle" => Some(Self::view(name, decision(name, 1, 0, false))),
            _ => None,
        }
    }
    fn watch(&self) -> broadcast::Receiver<DecisionEvent> {
        self.events.subscribe()
    }
    fn query_value(&self, query: &str) -> Result<f64, String> {
        match query {
            "load" => Ok(7.5),
            _ => Err(format!("unknown query {query}")),
        }
    }
}

#[tokio::test]
async fn keda_client_from_kedas_proto_calls_vanes_scaler() {
    require_python_grpc();
    let (events, _) = broadcast::channel(16);
    let source = Arc::new(TestSource {
        events: events.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(autoscaler::grpc::serve_listener(
        listener,
        source,
        None,
        async {
            let _ = stopped.await;
        },
    ));

    let keda_proto = manifest().join("../../shared/protocols/keda");
    let out = tempfile::tempdir().unwrap();
    let address = PathBuf::from(addr.to_string());
    let mut child = python("keda_client.py", &[&keda_proto, out.path(), &address]);
    let stdout = child.stdout.take().unwrap();
    let run = async {
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("stream-first") {
                // The client holds the stream open: change checkout's activation.
                events.send(decision("checkout", 2, 0, false)).unwrap();
            }
            seen.push(line);
        }
        let status = child.wait().await.unwrap();
        (status, seen)
    };
    let (status, seen) = tokio::time::timeout(BOUND, run)
        .await
        .expect("the Python KEDA client did not finish in time");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        tokio::io::AsyncReadExt::read_to_string(&mut e, &mut err)
            .await
            .unwrap();
    }
    assert!(
        status.success(),
        "python client failed: {err}\nstdout: {seen:?}"
    );
    assert_eq!(seen, ["stream-first True", "ok"]);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn python_scaling_target_receives_decisions() {
    require_python_grpc();
    let out = tempfile::tempdir().unwrap();
    let mut child = python(
        "scaling_target.py",
        &[&manifest().join("../proto"), out.path()],
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let run = async {
        let first = lines.next_line().await.unwrap().unwrap_or_default();
        let port: u16 = first
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("python ScalingTarget printed {first:?}"));
        let target = GrpcTarget::new(
            &format!("http://127.0.0.1:{port}"),
            Duration::from_millis(1000),
        )
        .unwrap();
        assert_eq!(target.describe(), format!("grpc:http://127.0.0.1:{port}"));

        // A decision arrives with every field; the platform then reports the count.
        let d = decision("checkout", 7, 4, true);
        target.set_replicas(&d).await.unwrap();
        let got: serde_json::Value =
            serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!(
            got,
            serde_json::json!({
                "decision_id": 7, "autoscaler": "checkout", "desired_replicas": 4,
                "reason": "scaled", "detail": "ceil(12.5 / 5) = 3", "signal": 12.5,
                "current_replicas": 2, "time_ms": 1_700_000_000_007_i64, "active": true,
                "panic": false, "deadline_set": true,
            })
        );
        assert_eq!(target.current_replicas("checkout").await, Ok(Some(4)));
        assert_eq!(target.current_replicas("unknown").await, Ok(None));
        // A retry of the same decision is accepted and changes nothing.
        target.set_replicas(&d).await.unwrap();
        assert_eq!(target.current_replicas("checkout").await, Ok(Some(4)));

        // Status codes: retryable or permanent.
        for (name, retryable) in [
            ("flaky", true),
            ("busy", true),
            ("bad", false),
            ("slow", true),
        ] {
            let res = target.set_replicas(&decision(name, 1, 1, true)).await;
            match (res, retryable) {
                (Err(TargetError::Retryable(_)), true)
                | (Err(TargetError::Permanent(_)), false) => {}
                (other, _) => panic!("{name}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(BOUND, run)
        .await
        .expect("the ScalingTarget interop did not finish in time");
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

#[tokio::test]
async fn a_target_that_is_down_is_retryable() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = GrpcTarget::new(
        &format!("http://127.0.0.1:{port}"),
        Duration::from_millis(500),
    )
    .unwrap();
    let res = target.set_replicas(&decision("checkout", 1, 1, true)).await;
    assert!(matches!(res, Err(TargetError::Retryable(_))), "{res:?}");
    assert!(GrpcTarget::new("not a url", Duration::from_secs(1)).is_err());
}
