//! Autoscalers end to end: Vane scrapes a load value, decides, and pushes the replica count to
//! a Kubernetes-like scale subresource and an OpenFaaS-like gateway served here, each checking
//! the requests as its API documents them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::harness::Vane;
use crate::peers::{Reply, Request, TargetServer, wait_for};
use crate::rules::{config, demo_target, json, set};

/// What a fake platform saw: the replica count it runs and the requests it refused.
#[derive(Default)]
struct Platform {
    replicas: AtomicU32,
    refused: Mutex<Vec<String>>,
    scale_calls: AtomicU32,
}

impl Platform {
    fn refuse(&self, why: String) -> Reply {
        self.refused.lock().unwrap().push(why.clone());
        Reply::Body(400, "application/json", why.into_bytes())
    }
}

fn json_reply(v: Value) -> Reply {
    Reply::Body(200, "application/json", v.to_string().into_bytes())
}

/// `GET`/`PATCH /apis/apps/v1/namespaces/default/deployments/web/scale` with a bearer token
/// and a JSON merge patch.
fn kubernetes(p: Arc<Platform>) -> TargetServer {
    TargetServer::start(move |r: &Request| {
        const PATH: &str = "/apis/apps/v1/namespaces/default/deployments/web/scale";
        if r.path != PATH {
            return p.refuse(format!("unexpected path {}", r.path));
        }
        if r.headers.get("authorization").map(String::as_str) != Some("Bearer secret-token") {
            return p.refuse(format!(
                "bad authorization {:?}",
                r.headers.get("authorization")
            ));
        }
        let scale = |n: u32| {
            json_reply(serde_json::json!({
                "kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"replicas": n}, "status": {"replicas": n, "selector": "app=web"}
            }))
        };
        match r.method.as_str() {
            "GET" => scale(p.replicas.load(Ordering::SeqCst)),
            "PATCH" => {
                let ct = r.headers.get("content-type").map(String::as_str);
                if ct != Some("application/merge-patch+json") {
                    return p.refuse(format!("bad content type {ct:?}"));
                }
                let body: Value = match serde_json::from_slice(&r.body) {
                    Ok(v) => v,
                    Err(e) => return p.refuse(format!("body is not JSON: {e}")),
                };
                let Some(n) = body["spec"]["replicas"].as_u64() else {
                    return p.refuse(format!("no spec.replicas in {body}"));
                };
                if body.as_object().unwrap().len() != 1 {
                    return p.refuse(format!("more than spec in {body}"));
                }
                p.replicas.store(n as u32, Ordering::SeqCst);
                p.scale_calls.fetch_add(1, Ordering::SeqCst);
                scale(n as u32)
            }
            m => p.refuse(format!("unexpected method {m}")),
        }
    })
}

/// An OpenFaaS gateway with basic auth (`admin:pw`): `GET /system/function/figlet` and
/// `POST /system/scale-function/figlet`.
fn openfaas(p: Arc<Platform>) -> TargetServer {
    TargetServer::start(move |r: &Request| {
        // base64("admin:pw")
        if r.headers.get("authorization").map(String::as_str) != Some("Basic YWRtaW46cHc=") {
            return p.refuse(format!(
                "bad authorization {:?}",
                r.headers.get("authorization")
            ));
        }
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/system/function/figlet") => json_reply(serde_json::json!({
                "name": "figlet", "image": "ghcr.io/openfaas/figlet:latest",
                "replicas": p.replicas.load(Ordering::SeqCst),
                "availableReplicas": p.replicas.load(Ordering::SeqCst),
                "invocationCount": 0
            })),
            ("POST", "/system/scale-function/figlet") => {
                let body: Value = match serde_json::from_slice(&r.body) {
                    Ok(v) => v,
                    Err(e) => return p.refuse(format!("body is not JSON: {e}")),
                };
                if body["serviceName"] != "figlet" {
                    return p.refuse(format!("bad serviceName in {body}"));
                }
                let Some(n) = body["replicas"].as_u64() else {
                    return p.refuse(format!("no replicas in {body}"));
                };
                p.replicas.store(n as u32, Ordering::SeqCst);
                p.scale_calls.fetch_add(1, Ordering::SeqCst);
                Reply::Body(202, "text/plain", Vec::new())
            }
            (m, path) => p.refuse(format!("unexpected {m} {path}")),
        }
    })
}

/// The value of `metric{autoscaler="web"}` now.
fn web_value(v: &Vane, metric: &str) -> String {
    let r = json(v, &format!("/api/v1/query?query={metric}"));
    let s = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metric"]["autoscaler"] == "web")
        .unwrap_or_else(|| panic!("{metric}: no series of web in {r}"));
    s["value"][1].as_str().unwrap().to_string()
}

fn autoscalers_yaml(k8s: &str, faas: &str) -> String {
    format!(
        r#"autoscalers:
  - name: web
    query: sum(demo_value)
    max_replicas: 10
    policy: {{per_replica: {{target: 10}}}}
    target:
      http_kubernetes:
        api: http://{k8s}
        namespace: default
        deployment: web
        bearer_token: secret-token
  - name: figlet
    query: sum(demo_value)
    interval: 500ms
    max_replicas: 10
    policy: {{per_replica: {{target: 10}}}}
    target:
      http_openfaas:
        gateway: http://{faas}/
        function: figlet
        basic_auth: {{username: admin, password: pw}}
"#
    )
}

#[test]
fn autoscalers_follow_a_load_step_into_kubernetes_and_openfaas() {
    let (srv, value) = demo_target();
    set(&value, 5.0);
    let k8s_state = Arc::new(Platform::default());
    k8s_state.replicas.store(1, Ordering::SeqCst);
    let faas_state = Arc::new(Platform::default());
    faas_state.replicas.store(1, Ordering::SeqCst);
    let k8s = kubernetes(k8s_state.clone());
    let faas = openfaas(faas_state.clone());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &srv.addr,
        &autoscalers_yaml(&k8s.addr, &faas.addr),
    );
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);

    // The signal arrives: one replica is right, nothing needs pushing.
    wait_for(20, "decisions on the signal", || {
        json(&v, "/api/v1/autoscalers")["autoscalers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["last"]["signal"] == 5.0)
    });

    // The load steps up: 35 / 10 per replica = 4 replicas, at both platforms.
    set(&value, 35.0);
    wait_for(10, "the Kubernetes deployment to reach 4 replicas", || {
        k8s_state.replicas.load(Ordering::SeqCst) == 4
    });
    wait_for(10, "the OpenFaaS function to reach 4 replicas", || {
        faas_state.replicas.load(Ordering::SeqCst) == 4
    });
    assert!(
        k8s_state.refused.lock().unwrap().is_empty(),
        "{:?}",
        k8s_state.refused
    );
    assert!(
        faas_state.refused.lock().unwrap().is_empty(),
        "{:?}",
        faas_state.refused
    );
    // The current count comes from the target: once it is 4, no more scale calls are needed.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(k8s_state.scale_calls.load(Ordering::SeqCst), 1);

    // The decision series are in the store.
    let r = json(&v, "/api/v1/query?query=vane_autoscaler_desired_replicas");
    let result = r["result"].as_array().unwrap();
    assert_eq!(result.len(), 2, "{r}");
    for s in result {
        assert_eq!(s["value"][1], "4", "{r}");
    }
    assert_eq!(web_value(&v, "vane_autoscaler_signal"), "35");
    assert_eq!(web_value(&v, "vane_autoscaler_current_replicas"), "4");
    assert_eq!(web_value(&v, "vane_autoscaler_panic_mode"), "0");

    // /api/v1/autoscalers shows both, with their recent decisions.
    let list = json(&v, "/api/v1/autoscalers");
    let all = list["autoscalers"].as_array().unwrap();
    assert_eq!(all.len(), 2, "{list}");
    let web = all.iter().find(|a| a["name"] == "web").unwrap();
    assert_eq!(web["policy"], "per_replica");
    assert_eq!(web["query"], "sum(demo_value)");
    assert_eq!(web["minReplicas"], 1);
    assert_eq!(web["maxReplicas"], 10);
    assert_eq!(web["targetValue"], 10.0);
    assert_eq!(web["target"], "kubernetes:default/deployments/web");
    assert_eq!(web["last"]["desired"], 4);
    assert_eq!(web["last"]["current"], 4);
    assert!(
        web["last"]["time"].as_str().unwrap().ends_with('Z'),
        "{web}"
    );
    let recent = web["recent"].as_array().unwrap();
    assert!(
        recent
            .iter()
            .any(|d| d["desired"] == 4 && d["reason"] == "scaled"),
        "{web}"
    );
    let ids: Vec<u64> = recent.iter().map(|d| d["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    // Decisions are counted by reason on /metrics.
    let metrics = v.get("/metrics").body;
    assert!(
        metrics.contains(r#"vane_autoscaler_decisions_total{autoscaler="web",reason="scaled"}"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"vane_autoscaler_target_requests_total{autoscaler="web",result="ok"} 1"#),
        "{metrics}"
    );
}

#[test]
fn a_bad_autoscaler_names_itself_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = autoscalers_yaml("127.0.0.1:1", "127.0.0.1:1").replace("target: 10}", "target: -1}");
    let cfg = config(dir.path(), "127.0.0.1:1", &bad);
    let out = crate::harness::vane(&[
        "run",
        &format!("--config.file={}", cfg.display()),
        &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(r#"autoscalers[0] ("web")"#), "{err}");
    assert!(err.contains("policy.per_replica.target"), "{err}");
}

#[test]
fn a_scrape_wakes_an_autoscaler_long_before_its_interval() {
    let (srv, value) = demo_target();
    set(&value, 5.0);
    let state = Arc::new(Platform::default());
    state.replicas.store(1, Ordering::SeqCst);
    let faas = openfaas(state.clone());
    let dir = tempfile::tempdir().unwrap();
    // An hour between ticks: after the first evaluation at start, only scrapes of
    // `demo_value` can make it evaluate again.
    let yaml = format!(
        r#"autoscalers:
  - name: figlet
    query: sum(demo_value)
    interval: 1h
    max_replicas: 10
    policy: {{per_replica: {{target: 10}}}}
    target:
      http_openfaas:
        gateway: http://{}
        function: figlet
        basic_auth: {{username: admin, password: pw}}
"#,
        faas.addr
    );
    let cfg = config(dir.path(), &srv.addr, &yaml);
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);
    let last = |v: &Vane| json(v, "/api/v1/autoscalers")["autoscalers"][0]["last"].clone();
    wait_for(20, "a decision on the scraped signal", || {
        last(&v)["signal"] == 5.0
    });
    set(&value, 35.0);
    wait_for(10, "the OpenFaaS function to reach 4 replicas", || {
        state.replicas.load(Ordering::SeqCst) == 4
    });
    let d = last(&v);
    assert_eq!(d["desired"], 4, "{d}");
    assert_eq!(d["signal"], 35.0, "{d}");
    assert!(
        state.refused.lock().unwrap().is_empty(),
        "{:?}",
        state.refused
    );
}
