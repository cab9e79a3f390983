//! Alert delivery from the running daemon: to the real Debian Alertmanager over its API v2,
//! and straight to webhook receivers that fail, hang and recover.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Vane, http};
use crate::peers::{Peer, Reply, Request, TargetServer, wait_for};
use crate::rules::{config, demo_target, json, set};

const FIRING_RULE: &str = r#"groups:
  - name: demo
    rules:
      - alert: DemoHigh
        expr: demo_value > 5
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.kind }} is {{ $value }}"
"#;

/// Webhook bodies a receiver accepted, with when they arrived.
type Received = Arc<Mutex<Vec<(Instant, Value)>>>;

/// A webhook receiver answering `reply(n)` to its `n`th request (from 0) and recording the
/// bodies of the requests it answered 200, and when every request arrived.
fn receiver(
    reply: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> (TargetServer, Received, Arc<Mutex<Vec<Instant>>>) {
    let got: Received = Arc::default();
    let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let n = AtomicUsize::new(0);
    let (g, ts) = (got.clone(), times.clone());
    let srv = TargetServer::start(move |r: &Request| {
        ts.lock().unwrap().push(Instant::now());
        let out = reply(n.fetch_add(1, Ordering::SeqCst));
        if matches!(out, Reply::Body(200, ..)) {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            g.lock().unwrap().push((Instant::now(), body));
        }
        out
    });
    (srv, got, times)
}

fn ok() -> Reply {
    Reply::Body(200, "text/plain", b"ok".to_vec())
}

fn statuses(got: &Received) -> Vec<String> {
    got.lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b["status"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn alerts_reach_a_real_alertmanager_and_resolve_there() {
    let tmp = tempfile::tempdir().unwrap();
    // Alertmanager forwards to a webhook of ours, so its own notifications show what it made
    // of the alerts.
    let (hook, from_am, _) = receiver(|_| ok());
    let am_cfg = tmp.path().join("am.yml");
    std::fs::write(
        &am_cfg,
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{}/hook\n        send_resolved: true\n",
            hook.addr
        ),
    )
    .unwrap();
    let am = Peer::start(
        "prometheus-alertmanager",
        &[
            &format!("--config.file={}", am_cfg.display()),
            &format!("--storage.path={}", tmp.path().join("am").display()),
            "--web.listen-address={addr}",
            "--cluster.listen-address=",
        ],
        "/-/ready",
        &tmp.path().join("am.log"),
    );

    let (target, value) = demo_target();
    std::fs::write(tmp.path().join("rules.yml"), FIRING_RULE).unwrap();
    let cfg = config(
        tmp.path(),
        &target.addr,
        &format!(
            "rule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['{}']}}]\n",
            am.addr
        ),
    );
    let v = Vane::start(&[
        &format!("--config.file={}", cfg.display()),
        "--web.external-url=http://vane.example:9090/",
    ]);
    let ams = json(&v, "/api/v1/alertmanagers");
    assert_eq!(
        ams["activeAlertmanagers"][0]["url"],
        format!("http://{}/api/v2/alerts", am.addr)
    );
    set(&value, 10.0);

    // Alertmanager holds the alert, with the external labels and the annotations.
    let am_alerts = || -> Vec<Value> {
        let r = http(&am.addr, "GET", "/api/v2/alerts").unwrap();
        serde_json::from_str::<Value>(&r.body)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    };
    wait_for(30, "the alert in Alertmanager", || !am_alerts().is_empty());
    let a = &am_alerts()[0];
    assert_eq!(a["labels"]["alertname"], "DemoHigh");
    assert_eq!(a["labels"]["site"], "lab", "external labels are added");
    assert_eq!(a["labels"]["kind"], "a");
    assert_eq!(a["status"]["state"], "active");
    assert!(
        a["generatorURL"]
            .as_str()
            .unwrap()
            .starts_with("http://vane.example:9090/graph?g0.expr="),
        "{a}"
    );
    wait_for(30, "Alertmanager's firing notification", || {
        statuses(&from_am).contains(&"firing".to_string())
    });
    let metrics = v.get("/metrics").body;
    let sent = metrics
        .lines()
        .find(|l| l.starts_with("vane_notifications_sent_total{"))
        .unwrap_or_else(|| panic!("no vane_notifications_sent_total in\n{metrics}"));
    assert!(sent.contains(&am.addr), "{sent}");
    assert!(
        sent.rsplit(' ').next().unwrap().parse::<f64>().unwrap() >= 1.0,
        "{sent}"
    );

    // The condition clears: Vane sends the alert resolved, Alertmanager resolves it.
    set(&value, 1.0);
    wait_for(30, "Alertmanager's resolved notification", || {
        statuses(&from_am).contains(&"resolved".to_string())
    });
    assert!(
        am_alerts().is_empty(),
        "resolved alerts leave Alertmanager's list"
    );
    assert!(
        json(&v, "/api/v1/alerts")["alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn webhooks_get_every_notification_once_a_failing_receiver_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    // Two 500s, then a request that hangs past the timeout, then success.
    let (flaky, flaky_got, _) = receiver(|n| match n {
        0 | 1 => Reply::Body(500, "text/plain", b"down".to_vec()),
        2 => Reply::Hang(Duration::from_secs(5)),
        _ => ok(),
    });
    let (steady, steady_got, _) = receiver(|_| ok());
    let (refusing, refusing_got, refused_at) =
        receiver(|_| Reply::Body(400, "text/plain", b"no".to_vec()));

    let (target, value) = demo_target();
    std::fs::write(tmp.path().join("rules.yml"), FIRING_RULE).unwrap();
    let hook = |name: &str, addr: &str| {
        format!(
            "    - name: {name}\n      url: http://{addr}/hook\n      group_by: [alertname]\n      group_wait: 1s\n      group_interval: 2s\n      repeat_interval: 1h\n      timeout: 1s\n"
        )
    };
    let cfg = config(
        tmp.path(),
        &target.addr,
        &format!(
            "rule_files: [rules.yml]\nalerting:\n  webhooks:\n{}{}{}",
            hook("flaky", &flaky.addr),
            hook("steady", &steady.addr),
            hook("refusing", &refusing.addr)
        ),
    );
    let v = Vane::start(&[&format!("--config.file={}", cfg.display())]);
    let started = Instant::now();
    set(&value, 10.0);

    wait_for(30, "the steady receiver's notification", || {
        !steady_got.lock().unwrap().is_empty()
    });
    wait_for(60, "the flaky receiver's notification", || {
        !flaky_got.lock().unwrap().is_empty()
    });
    let first_steady = steady_got.lock().unwrap()[0].0;
    let first_flaky = flaky_got.lock().unwrap()[0].0;
    assert!(
        first_steady < first_flaky,
        "the failing receiver did not hold up the other one"
    );
    assert!(flaky.hits("/hook") >= 4, "retried after 500s and a timeout");
    // A 4xx is not retried: the group tries again only at its next flush, a group_interval
    // (2s) later, as Alertmanager does (the failed notification was never recorded as sent).
    let times = refused_at.lock().unwrap().clone();
    assert!(!times.is_empty() && refusing.hits("/hook") as usize == times.len());
    for w in times.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(1500),
            "retried after {:?}",
            w[1] - w[0]
        );
    }
    assert!(refusing_got.lock().unwrap().is_empty());

    let body = flaky_got.lock().unwrap()[0].1.clone();
    assert_eq!(body["version"], "4");
    assert_eq!(body["receiver"], "flaky");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["groupLabels"]["alertname"], "DemoHigh");
    assert_eq!(body["commonLabels"]["severity"], "page");
    assert_eq!(body["commonLabels"]["site"], "lab");
    assert!(body["groupKey"].as_str().unwrap().contains("DemoHigh"));
    let alert = &body["alerts"][0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["labels"]["kind"], "a");
    assert_eq!(alert["fingerprint"].as_str().unwrap().len(), 16);

    set(&value, 1.0);
    for (name, got) in [("steady", &steady_got), ("flaky", &flaky_got)] {
        wait_for(30, &format!("{name}'s resolved notification"), || {
            statuses(got).contains(&"resolved".to_string())
        });
    }
    let resolved = flaky_got
        .lock()
        .unwrap()
        .iter()
        .find(|(_, b)| b["status"] == "resolved")
        .unwrap()
        .1
        .clone();
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    assert_ne!(resolved["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert!(started.elapsed() < Duration::from_secs(120));
    drop(v);
}
