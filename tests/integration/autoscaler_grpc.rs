//! Autoscalers over gRPC end to end: `vane run` scrapes a simulated function platform
//! (`funcsim`, run in-process on 127.0.0.1), decides, and pushes replica counts to the
//! platform's `ScalingTarget` front; and `vane run --grpc.listen-address` answers KEDA's
//! external scaler (called by Python's `grpcio` from KEDA's own proto) and Vane's
//! `Autoscaler` service, across a reload and until shutdown.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proto::tonic::Code;
use proto::vane::autoscaler::v1 as pb;
use proto::vane::autoscaler::v1::autoscaler_client::AutoscalerClient;
use serde_json::{Value, json};
use vane_benches::funcsim::live::Live;
use vane_benches::funcsim::{Platform, spec};

use crate::harness::{Vane, free_port, http, output_within};
use crate::peers::wait_for;
use crate::rules::{config, json as api};

type Shared = Arc<Mutex<Platform>>;

/// funcsim in a thread of its own: `/metrics` on `http`, `ScalingTarget` on `grpc`. The
/// listeners are bound at once; simulated time starts with [`Funcsim::start`].
struct Funcsim {
    http: String,
    grpc: String,
    platform: Shared,
    listeners: Option<(TcpListener, TcpListener)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Funcsim {
    fn bind(functions: &[&str]) -> Funcsim {
        let specs = functions
            .iter()
            .map(|f| spec::parse_function(f).unwrap())
            .collect();
        let http = TcpListener::bind("127.0.0.1:0").unwrap();
        let grpc = TcpListener::bind("127.0.0.1:0").unwrap();
        Funcsim {
            http: http.local_addr().unwrap().to_string(),
            grpc: grpc.local_addr().unwrap().to_string(),
            platform: Arc::new(Mutex::new(Platform::new(specs, 1.0, 1))),
            listeners: Some((http, grpc)),
            stop: None,
            thread: None,
        }
    }

    fn start(&mut self) {
        let (http, grpc) = self.listeners.take().expect("started once");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let platform = self.platform.clone();
        self.thread = Some(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                for l in [&http, &grpc] {
                    l.set_nonblocking(true).unwrap();
                }
                let live = Live {
                    http: tokio::net::TcpListener::from_std(http).unwrap(),
                    grpc: Some(tokio::net::TcpListener::from_std(grpc).unwrap()),
                    tick: 0.01,
                    duration: None,
                };
                live.run(platform, async {
                    let _ = stopped.await;
                })
                .await;
            });
        }));
        self.stop = Some(stop);
    }

    /// The replica count last asked of `function`.
    fn desired(&self, function: &str) -> u32 {
        let p = self.platform.lock().unwrap();
        p.replicas(Some(function)).unwrap()[0].counts.desired
    }

    fn last_decision(&self, function: &str) -> Option<u64> {
        let p = self.platform.lock().unwrap();
        let f = p.functions().iter().find(|f| f.spec.name == function);
        f.and_then(|f| f.last_decision)
    }
}

impl Drop for Funcsim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An autoscaler on `function`'s load (the profile's rate, which funcsim shows as a gauge),
/// 10 per replica, scaling down at once, pushing to funcsim's gRPC front.
fn autoscaler(name: &str, function: &str, grpc: &str) -> String {
    format!(
        r#"  - name: {name}
    query: sum(funcsim_load_rate{{function="{function}"}})
    max_replicas: 10
    policy: {{per_replica: {{target: 10}}}}
    behavior: {{scale_down: {{stabilization_window: 0s}}}}
    target:
      grpc: {{address: '{grpc}', timeout: 2s}}
"#
    )
}

#[test]
fn replicas_follow_a_load_spike_up_and_down_over_grpc() {
    // 5 requests/s, then 35 from 4 s to 16 s of simulated time, then 5 again.
    let mut sim =
        Funcsim::bind(&["api:profile=spike,base=5,peak=35,at=4s,width=12s,cold_start=1s"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &sim.http,
        &format!("autoscalers:\n{}", autoscaler("api", "api", &sim.grpc)),
    );
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);
    sim.start();

    // Vane's decision history, not a poll of funcsim, tells that the spike was followed (a
    // loaded machine may poll too late to see 4 replicas on funcsim itself).
    let decided = |v: &Vane| -> Vec<u64> {
        api(v, "/api/v1/autoscalers")["autoscalers"][0]["recent"]
            .as_array()
            .map(|r| r.iter().filter_map(|d| d["desired"].as_u64()).collect())
            .unwrap_or_default()
    };
    wait_for(
        60,
        "decisions of 4 replicas on the spike and 1 after it",
        || {
            let d = decided(&v);
            let up = d.iter().position(|&x| x == 4);
            matches!((up, d.iter().rposition(|&x| x == 1)), (Some(u), Some(l)) if u < l)
        },
    );
    wait_for(30, "funcsim to run 1 replica after the spike", || {
        sim.desired("api") == 1
    });
    // The decisions came with Vane's ids.
    assert!(sim.last_decision("api").is_some());

    let list = api(&v, "/api/v1/autoscalers");
    let a = &list["autoscalers"][0];
    assert_eq!(a["target"], format!("grpc:http://{}", sim.grpc), "{list}");
    let recent = a["recent"].as_array().unwrap();
    let desired: Vec<u64> = recent
        .iter()
        .map(|d| d["desired"].as_u64().unwrap())
        .collect();
    let up = desired.iter().position(|&d| d == 4);
    let down = desired.iter().rposition(|&d| d == 1);
    assert!(
        matches!((up, down), (Some(u), Some(d)) if u < d),
        "up then down: {desired:?}"
    );
    // Pushes are sent after the decision is recorded and may still be in flight (funcsim
    // already ran 1 replica before the spike): wait for both to be acknowledged.
    let pushed_ok = |v: &Vane| -> f64 {
        v.get("/metrics")
            .body
            .lines()
            .find(|l| {
                l.starts_with(
                    r#"vane_autoscaler_target_requests_total{autoscaler="api",result="ok"}"#,
                )
            })
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    wait_for(30, "two decisions acknowledged by the gRPC target", || {
        pushed_ok(&v) >= 2.0
    });
}

#[test]
fn the_predictive_policy_sizes_from_the_service_times_it_observes() {
    // 40 requests/s, each served in exactly 200 ms by replicas of 2 slots: 8 in service.
    let mut sim = Funcsim::bind(&["fn:rate=40,service=200ms,jitter=0,concurrency=2,cold_start=1s"]);
    let dir = tempfile::tempdir().unwrap();
    let autoscaler = format!(
        r#"autoscalers:
  - name: fn
    query: sum(funcsim_load_rate{{function="fn"}})
    max_replicas: 20
    policy:
      predictive:
        per_replica_concurrency: 2
        cold_start: 1s
        service_time_histogram:
          selector: 'funcsim_service_duration_seconds{{function="fn"}}'
          window: 5s
    target:
      grpc: {{address: '{}', timeout: 2s}}
"#,
        sim.grpc
    );
    let cfg = config(dir.path(), &sim.http, &autoscaler);
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);
    sim.start();
    // No service time is configured: nothing is decided until one is observed. Then 0.2 s,
    // all in one bucket (cv 0, headroom (1 + 0)/2 × 0.25 = 0.125): 40 × 0.2 × 1.125 / 2 = 4.5,
    // so 5 replicas.
    let last = |v: &Vane| api(v, "/api/v1/autoscalers")["autoscalers"][0]["last"].clone();
    wait_for(60, "a decision on the observed service time", || {
        last(&v)["desired"] == 5
    });
    let d = last(&v);
    let detail = d["detail"].as_str().unwrap();
    assert!(detail.contains("× 0.2s × (1 + 0.125) / 2) = 5"), "{d}");
    wait_for(30, "funcsim to be asked for 5 replicas", || {
        sim.desired("fn") == 5
    });
}

fn keda_proto() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/keda")
}

/// Runs the Python KEDA client's `calls` against `address`; one JSON value per call.
fn python_keda(address: &str, calls: &Value) -> Vec<Value> {
    python_keda_with(address, calls, &[])
}

/// [`python_keda`] with environment variables (the client's TLS settings).
fn python_keda_with(address: &str, calls: &Value, env: &[(&str, &Path)]) -> Vec<Value> {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import grpc, grpc_tools"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this test needs python3 with grpcio and grpcio-tools (`pip install grpcio grpcio-tools`)"
    );
    let out_dir = tempfile::tempdir().unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/integration/interop/keda_calls.py");
    let child = std::process::Command::new("python3")
        .arg(script)
        .arg(keda_proto())
        .arg(out_dir.path())
        .arg(address)
        .arg(calls.to_string())
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let out = output_within(child, 60, "the Python KEDA client");
    assert!(
        out.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn vane_run_serves_keda_and_the_autoscaler_service_over_grpc() {
    let mut sim = Funcsim::bind(&[
        "web:profile=constant,rate=35",
        "shop:profile=constant,rate=12",
    ]);
    sim.start();
    let dir = tempfile::tempdir().unwrap();
    let write_config = |autoscalers: &str| {
        config(
            dir.path(),
            &sim.http,
            &format!("autoscalers:\n{autoscalers}"),
        )
    };
    let cfg = write_config(&autoscaler("web", "web", &sim.grpc));
    let grpc = format!("127.0.0.1:{}", free_port());
    let mut v = Vane::start(&[
        &format!("--config.file={}", cfg.display()),
        &format!("--grpc.listen-address={grpc}"),
        "--web.enable-lifecycle",
    ]);
    // 35 requests/s at 10 per replica: 4.
    wait_for(30, "web's decision of 4 replicas", || {
        api(&v, "/api/v1/autoscalers")["autoscalers"][0]["last"]["desired"] == 4
    });

    let meta = |pairs: &[(&str, &str)]| -> Value {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let named = meta(&[("autoscaler", "web")]);
    let query = meta(&[
        ("query", "sum(funcsim_load_rate)"),
        ("targetValue", "10"),
        ("activationThreshold", "50"),
        ("metricName", "load"),
    ]);
    let calls = json!([
        {"call": "IsActive", "metadata": named},
        {"call": "GetMetricSpec", "metadata": named},
        {"call": "GetMetrics", "metadata": named, "metricName": "vane-web"},
        {"call": "GetMetrics", "metadata": query, "metricName": "load"},
        {"call": "IsActive", "metadata": query},
        {"call": "IsActive", "metadata": meta(&[("autoscaler", "nope")])},
        {"call": "GetMetricSpec", "metadata": meta(&[("query", "up")])},
    ]);
    let got = python_keda(&grpc, &calls);
    let want = [
        json!({"result": true}),
        json!({"specs": [["vane-web", 1, 1.0]]}),
        json!({"values": [["vane-web", 4, 4.0]]}),
        // Both functions: 35 + 12 requests/s; not above the threshold of 50.
        json!({"values": [["load", 47, 47.0]]}),
        json!({"result": false}),
        json!({"code": "NOT_FOUND"}),
        json!({"code": "INVALID_ARGUMENT"}),
    ];
    assert_eq!(got, want);

    // Vane's own service, from the same port; a watch stays open across a reload.
    let url = format!("http://{grpc}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut client, mut watch) = rt.block_on(async {
        let mut c = AutoscalerClient::connect(url.clone()).await.unwrap();
        let state = c
            .get_autoscaler(pb::GetAutoscalerRequest { name: "web".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(state.policy, "per_replica");
        assert_eq!(state.last.map(|d| d.desired_replicas), Some(4));
        let watch = c
            .watch_decisions(pb::WatchDecisionsRequest {
                autoscaler: "shop".into(),
            })
            .await;
        assert_eq!(watch.unwrap_err().code(), Code::NotFound);
        let watch = c
            .watch_decisions(pb::WatchDecisionsRequest::default())
            .await
            .unwrap()
            .into_inner();
        (c, watch)
    });

    write_config(&format!(
        "{}{}",
        autoscaler("web", "web", &sim.grpc),
        autoscaler("shop", "shop", &sim.grpc)
    ));
    let r = http(&v.addr, "POST", "/-/reload").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    // The server that was serving before the reload shows the new autoscaler, and the open
    // watch sees its decisions.
    let shop = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let d = watch.message().await.unwrap().expect("the watch is open");
                if d.autoscaler == "shop" {
                    return d;
                }
            }
        })
        .await
        .expect("no decision of shop within 30 s")
    });
    assert_eq!(shop.desired_replicas, 2);
    let names = rt.block_on(async {
        let list = client
            .list_autoscalers(pb::ListAutoscalersRequest {})
            .await
            .unwrap()
            .into_inner();
        let mut n: Vec<String> = list.autoscalers.into_iter().map(|a| a.name).collect();
        n.sort();
        n
    });
    assert_eq!(names, ["shop", "web"]);

    // SIGTERM with the watch still open: the stream ends with UNAVAILABLE and vane exits.
    let status = v.signal_and_wait("TERM");
    assert!(status.success(), "{}", v.logs());
    let end = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), async {
            // Decisions sent before the shutdown come first.
            loop {
                match watch.message().await {
                    Ok(Some(_)) => continue,
                    end => return end,
                }
            }
        })
        .await
        .expect("the watch did not end within 30 s")
    });
    assert_eq!(
        end.map(|_| ()).map_err(|s| s.code()),
        Err(Code::Unavailable),
        "the watch ends with UNAVAILABLE"
    );
}

#[test]
fn a_grpc_address_in_use_or_in_agent_mode_stops_the_start() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &str| {
        let out = crate::harness::vane(&[
            "run",
            &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            &format!(
                "--storage.agent.path={}",
                dir.path().join("agent").display()
            ),
            "--web.listen-address=127.0.0.1:0",
            &format!("--grpc.listen-address={addr}"),
            extra,
        ]);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = run("--log.level=info");
    let want = format!("cannot listen for gRPC on {addr}");
    assert!(err.contains(&want), "{err}");
    // An agent runs no autoscalers, so it has nothing to serve over gRPC.
    let err = run("--agent");
    assert!(
        err.contains("--grpc.listen-address is not allowed in agent mode"),
        "{err}"
    );
}

/// funcsim's `ScalingTarget` over TLS with `certs`' server certificate, on a thread of its
/// own until the sender is dropped.
fn tls_front(
    platform: Shared,
    certs: &crate::peers::TestCerts,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    use proto::tonic::transport::{Identity, Server, ServerTlsConfig};
    use proto::vane::autoscaler::v1::scaling_target_server::ScalingTargetServer;

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    listener.set_nonblocking(true).unwrap();
    let identity = Identity::from_pem(
        std::fs::read(&certs.cert).unwrap(),
        std::fs::read(&certs.key).unwrap(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let front = vane_benches::funcsim::grpc::Front::new(platform);
            let _ = Server::builder()
                .tls_config(ServerTlsConfig::new().identity(identity))
                .unwrap()
                .add_service(ScalingTargetServer::new(front))
                .serve_with_incoming_shutdown(
                    proto::tonic::transport::server::TcpIncoming::from(listener),
                    async {
                        let _ = stopped.await;
                    },
                )
                .await;
        });
    });
    (addr, stop)
}

#[test]
fn a_grpc_target_over_tls_checks_the_platforms_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = crate::peers::test_certs(dir.path(), "platform.test");
    let mut sim = Funcsim::bind(&[
        "web:profile=constant,rate=35",
        "untrusted:profile=constant,rate=35",
    ]);
    sim.start();
    let (tls, _stop) = tls_front(sim.platform.clone(), &certs);
    // `web` trusts the private CA; `untrusted` only the public web roots.
    let web = autoscaler("web", "web", &tls).replace(
        "timeout: 2s}",
        &format!(
            "timeout: 2s, tls_config: {{ca_file: '{}', server_name: platform.test}}}}",
            certs.ca.display()
        ),
    );
    let untrusted = autoscaler("untrusted", "untrusted", &format!("https://{tls}"));
    let cfg = config(
        dir.path(),
        &sim.http,
        &format!("autoscalers:\n{web}{untrusted}"),
    );
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);

    wait_for(30, "web to reach 4 replicas over TLS", || {
        sim.desired("web") == 4
    });
    let retried = |v: &Vane| {
        let metrics = v.get("/metrics").body;
        metrics.lines().any(|l| {
            l.starts_with(
                r#"vane_autoscaler_target_requests_total{autoscaler="untrusted",result="retry"}"#,
            ) && !l.ends_with(" 0")
        })
    };
    wait_for(30, "pushes of untrusted to fail and be retried", || {
        retried(&v)
    });
    assert_eq!(
        sim.desired("untrusted"),
        1,
        "an unverified server got a decision"
    );
    let list = api(&v, "/api/v1/autoscalers");
    let all = list["autoscalers"].as_array().unwrap();
    let target = |name: &str| {
        all.iter().find(|a| a["name"] == name).unwrap()["target"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(target("web"), format!("grpc:https://{tls}"));
    assert_eq!(target("untrusted"), format!("grpc:https://{tls}"));
}

#[test]
fn keda_reaches_vane_over_tls_and_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["server", "client"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
    }
    let server = crate::peers::test_certs(&dir.path().join("server"), "vane.test");
    // A second CA and its certificate stand for KEDA's client identity.
    let client = crate::peers::test_certs(&dir.path().join("client"), "keda.test");
    let mut sim = Funcsim::bind(&["web:profile=constant,rate=35"]);
    sim.start();
    let cfg = config(
        dir.path(),
        &sim.http,
        &format!("autoscalers:\n{}", autoscaler("web", "web", &sim.grpc)),
    );
    let grpc = format!("127.0.0.1:{}", free_port());
    let tls_flags = |extra: Option<&Path>| {
        let mut f = vec![
            format!("--config.file={}", cfg.display()),
            format!("--grpc.listen-address={grpc}"),
            format!("--grpc.tls-cert-file={}", server.cert.display()),
            format!("--grpc.tls-key-file={}", server.key.display()),
        ];
        if let Some(ca) = extra {
            f.push(format!("--grpc.tls-client-ca-file={}", ca.display()));
        }
        f
    };
    // KEDA passes its whole trigger metadata, its TLS settings included.
    let is_active = json!([{"call": "IsActive", "metadata": {
        "autoscaler": "web", "scalerAddress": grpc, "caCert": server.ca,
        "tlsClientCert": client.cert, "tlsClientKey": client.key,
    }}]);
    let trust: [(&str, &Path); 2] = [
        ("KEDA_CA", &server.ca),
        ("KEDA_SERVER_NAME", Path::new("vane.test")),
    ];

    // TLS: a client trusting the server's CA is served; a plaintext client is not.
    let flags = tls_flags(None);
    let v = Vane::start(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    wait_for(30, "web's decision of 4 replicas", || {
        api(&v, "/api/v1/autoscalers")["autoscalers"][0]["last"]["desired"] == 4
    });
    assert_eq!(
        python_keda_with(&grpc, &is_active, &trust),
        vec![json!({"result": true})]
    );
    // (Refused connections are expected from here on: the client waits 3 s for one.)
    let short = ("KEDA_READY_TIMEOUT", Path::new("3"));
    assert_eq!(
        python_keda_with(&grpc, &is_active, &[short]),
        vec![json!({"code": "UNAVAILABLE"})]
    );
    drop(v);

    // Mutual TLS: only a client with a certificate of the configured CA is served.
    let flags = tls_flags(Some(&client.ca));
    let v = Vane::start(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    wait_for(30, "web's decision of 4 replicas", || {
        api(&v, "/api/v1/autoscalers")["autoscalers"][0]["last"]["desired"] == 4
    });
    let with_cert: Vec<(&str, &Path)> = trust
        .iter()
        .copied()
        .chain([
            ("KEDA_CERT", client.cert.as_path()),
            ("KEDA_KEY", client.key.as_path()),
        ])
        .collect();
    assert_eq!(
        python_keda_with(&grpc, &is_active, &with_cert),
        vec![json!({"result": true})]
    );
    let no_cert: Vec<(&str, &Path)> = trust.iter().copied().chain([short]).collect();
    let refused = python_keda_with(&grpc, &is_active, &no_cert);
    assert_eq!(
        refused,
        vec![json!({"code": "UNAVAILABLE"})],
        "no client certificate"
    );
    drop(v);

    // Bad TLS flags stop the start with a clear error.
    let bad = |args: &[String], want: &str| {
        let mut all = vec![
            "run".to_string(),
            format!("--storage.tsdb.path={}", dir.path().join("bad").display()),
            "--web.listen-address=127.0.0.1:0".to_string(),
        ];
        all.extend_from_slice(args);
        let out = crate::harness::vane(&all.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(err.contains(want), "{args:?}: {err}");
    };
    let listen = format!("--grpc.listen-address={grpc}");
    bad(
        &[
            listen.clone(),
            format!("--grpc.tls-cert-file={}", server.cert.display()),
        ],
        "--grpc.tls-cert-file and --grpc.tls-key-file go together",
    );
    bad(
        &[
            format!("--grpc.tls-cert-file={}", server.cert.display()),
            format!("--grpc.tls-key-file={}", server.key.display()),
        ],
        "--grpc.tls-cert-file needs --grpc.listen-address",
    );
    bad(
        &[
            listen.clone(),
            format!("--grpc.tls-cert-file={}", server.cert.display()),
            format!("--grpc.tls-key-file={}", server.cert.display()),
        ],
        "gRPC TLS",
    );
    bad(
        &[
            listen,
            format!("--grpc.tls-cert-file={}", server.cert.display()),
            format!(
                "--grpc.tls-key-file={}",
                dir.path().join("missing.pem").display()
            ),
        ],
        "missing.pem",
    );
}
