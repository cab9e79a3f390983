use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::server::{Reply, Server};
use super::*;
use crate::notify::WebhookConfig;
use crate::notify::encode::{fingerprint, json_time};
use crate::notify::now_ms;

/// A receiver with short intervals: first notification after 50ms, changes every 200ms, no
/// repeats within a test.
fn hook(name: &str, url: String) -> WebhookConfig {
    let mut c = WebhookConfig::new(name, url);
    c.group_by = vec!["alertname".into()];
    c.group_wait = Duration::from_millis(50);
    c.group_interval = Duration::from_millis(200);
    c.repeat_interval = Duration::from_secs(3600);
    c.timeout = Duration::from_secs(2);
    c
}

/// An alert that started now and fires for an hour unless updated.
fn fresh(name: &str, labels: &[(&str, &str)]) -> Alert {
    let now = now_ms();
    let mut a = alert(name, labels);
    a.starts_at = now;
    a.ends_at = Some(now + 3_600_000);
    a
}

/// `a`, resolved now.
fn resolve(a: &Alert) -> Alert {
    let mut r = a.clone();
    r.ends_at = Some(now_ms());
    r
}

fn apply(n: &Notifier, hooks: Vec<WebhookConfig>) {
    n.apply(vec![], hooks, BTreeMap::new(), None).unwrap();
}

/// `(instance, status)` of each alert of a notification.
fn statuses(body: &Value) -> Vec<(String, String)> {
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["labels"]["instance"].as_str().unwrap_or("").to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn notifications_are_alertmanagers_webhook_json() {
    let mut s = Server::ok().await;
    let (n, reg) = notifier(NotifierOptions {
        external_url: "http://vane.example:9090".into(),
        ..NotifierOptions::default()
    });
    let mut truncating = hook("all-in-one", s.url("/all"));
    truncating.group_by.clear();
    truncating.max_alerts = 1;
    n.apply(
        vec![],
        vec![hook("team.pager", s.url("/hook")), truncating],
        BTreeMap::from([("region".to_string(), "eu".to_string())]),
        None,
    )
    .unwrap();

    let ann = |summary: &str, desc: &str| {
        BTreeMap::from([
            ("summary".to_string(), summary.to_string()),
            ("description".to_string(), desc.to_string()),
        ])
    };
    let mut i2 = alert("A", &[("job", "api"), ("instance", "i2"), ("sev", "page")]);
    i2.annotations = ann("slow", "on i2");
    i2.generator_url = "http://vane.example:9090/graph?g0.expr=x".into();
    let mut i1 = alert("A", &[("job", "api"), ("instance", "i1"), ("sev", "page")]);
    i1.annotations = ann("slow", "on i1");
    let b = alert("B", &[("job", "db")]);
    // These started long ago, so their groups notify without waiting; they fire for an hour.
    let mut alerts = vec![i2.clone(), i1.clone(), b];
    for a in &mut alerts {
        a.ends_at = Some(now_ms() + 3_600_000);
    }
    n.send(alerts);

    let mut by_path = BTreeMap::new();
    for _ in 0..3 {
        let r = s.next(SOON).await;
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body = r.json();
        by_path.insert(
            format!("{} {}", r.path, body["groupKey"].as_str().unwrap()),
            body,
        );
    }
    let labels_of = |a: &Alert| {
        let mut b = a.labels.to_builder();
        b.set("region", "eu");
        b.build()
    };
    let expected_alert = |a: &Alert, description: &str| {
        json!({
            "status": "firing",
            "labels": {"alertname": "A", "job": "api", "instance": a.labels.get("instance"),
                       "sev": "page", "region": "eu"},
            "annotations": {"summary": "slow", "description": description},
            "startsAt": "2023-11-14T22:13:20.123Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": a.generator_url,
            "fingerprint": format!("{:016x}", fingerprint(&labels_of(a))),
        })
    };
    assert_eq!(
        by_path[r#"/hook {}:{alertname="A"}"#],
        json!({
            "receiver": "team\\.pager",
            "status": "firing",
            "alerts": [expected_alert(&i1, "on i1"), expected_alert(&i2, "on i2")],
            "groupLabels": {"alertname": "A"},
            "commonLabels": {"alertname": "A", "job": "api", "sev": "page", "region": "eu"},
            "commonAnnotations": {"summary": "slow"},
            "externalURL": "http://vane.example:9090",
            "version": "4",
            "groupKey": "{}:{alertname=\"A\"}",
            "truncatedAlerts": 0,
        })
    );
    let b_body = &by_path[r#"/hook {}:{alertname="B"}"#];
    assert_eq!(b_body["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(b_body["commonAnnotations"], json!({}));
    assert_eq!(b_body["alerts"][0]["annotations"], json!({}));
    assert_eq!(b_body["alerts"][0]["generatorURL"], "");

    // One group for everything, cut to one alert: by job then instance, "api"/"i1" first.
    let all = &by_path["/all {}:{}"];
    assert_eq!(all["groupLabels"], json!({}));
    assert_eq!(all["truncatedAlerts"], 2);
    assert_eq!(statuses(all), pairs(&[("i1", "firing")]));
    assert_eq!(all["commonLabels"], all["alerts"][0]["labels"]);

    let sent = |r: &str| {
        metric(
            &reg,
            &format!("vane_notifications_webhook_sent_total{{receiver=\"{r}\"}}"),
        )
    };
    eventually("notifications counted", || {
        sent("team.pager") == Some(2.0) && sent("all-in-one") == Some(1.0)
    })
    .await;
}

#[tokio::test]
async fn groups_notify_changes_then_resolve_and_end() {
    let mut s = Server::ok().await;
    let (n, _reg) = notifier(NotifierOptions::default());
    apply(&n, vec![hook("h", s.url("/hook"))]);
    let a1 = fresh("A", &[("instance", "1")]);
    let a2 = fresh("A", &[("instance", "2")]);

    n.send(vec![a1.clone()]);
    let first = s.next(SOON).await.json();
    assert_eq!(statuses(&first), pairs(&[("1", "firing")]));
    assert_eq!(first["alerts"][0]["startsAt"], json_time(a1.starts_at));

    n.send(vec![a2.clone()]);
    let second = s.next(SOON).await.json();
    assert_eq!(
        statuses(&second),
        pairs(&[("1", "firing"), ("2", "firing")])
    );

    let r1 = resolve(&a1);
    n.send(vec![r1.clone()]);
    let third = s.next(SOON).await.json();
    assert_eq!(third["status"], "firing");
    assert_eq!(
        statuses(&third),
        pairs(&[("1", "resolved"), ("2", "firing")])
    );
    assert_eq!(third["alerts"][0]["endsAt"], json_time(r1.ends_at.unwrap()));
    assert_eq!(third["alerts"][1]["endsAt"], "0001-01-01T00:00:00Z");

    // The resolved alert left the group: the last notification holds only the other one.
    n.send(vec![resolve(&a2)]);
    let fourth = s.next(SOON).await.json();
    assert_eq!(fourth["status"], "resolved");
    assert_eq!(statuses(&fourth), pairs(&[("2", "resolved")]));

    let receiver = n.receiver("h").unwrap();
    eventually("the empty group ends", || receiver.group_count() == 0).await;
    assert!(s.try_next(Duration::from_millis(500)).await.is_none());
}

#[tokio::test]
async fn an_unchanged_group_repeats_after_the_repeat_interval() {
    let mut s = Server::ok().await;
    let (n, _reg) = notifier(NotifierOptions::default());
    let mut c = hook("h", s.url("/hook"));
    c.group_interval = Duration::from_millis(100);
    c.repeat_interval = Duration::from_millis(300);
    apply(&n, vec![c]);
    n.send(vec![fresh("A", &[("instance", "1")])]);
    let first = s.next(SOON).await.json();
    let again = s.next(SOON).await.json();
    assert_eq!(first, again);
}

#[tokio::test]
async fn without_send_resolved_only_firing_alerts_are_sent() {
    let mut s = Server::ok().await;
    let (n, _reg) = notifier(NotifierOptions::default());
    let mut c = hook("h", s.url("/hook"));
    c.send_resolved = false;
    apply(&n, vec![c]);
    let a1 = fresh("A", &[("instance", "1")]);
    let a2 = fresh("A", &[("instance", "2")]);
    let a3 = fresh("A", &[("instance", "3")]);
    n.send(vec![a1.clone(), a2.clone()]);
    let first = s.next(SOON).await.json();
    assert_eq!(statuses(&first), pairs(&[("1", "firing"), ("2", "firing")]));

    // A resolution alone is no news without send_resolved.
    n.send(vec![resolve(&a1)]);
    assert!(s.try_next(Duration::from_millis(500)).await.is_none());
    // A new firing alert is; the resolved one is left out.
    n.send(vec![a3.clone()]);
    let second = s.next(SOON).await.json();
    assert_eq!(
        statuses(&second),
        pairs(&[("2", "firing"), ("3", "firing")])
    );

    // Everything resolved: nothing is posted and the group ends.
    n.send(vec![resolve(&a2), resolve(&a3)]);
    let receiver = n.receiver("h").unwrap();
    eventually("the group ends", || receiver.group_count() == 0).await;
    assert!(s.try_next(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_every_notification() {
    let mut s = Server::start(|i| {
        if i < 2 {
            Reply::Status(500)
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let (n, reg) = notifier(NotifierOptions::default());
    let mut c = hook("flaky", s.url("/hook"));
    // Retries start at a tenth of this.
    c.group_interval = Duration::from_secs(1);
    apply(&n, vec![c]);

    let a1 = fresh("A", &[("instance", "1")]);
    n.send(vec![a1.clone()]);
    let tries: Vec<Value> = [s.next(SOON).await, s.next(SOON).await, s.next(SOON).await]
        .iter()
        .map(|r| r.json())
        .collect();
    assert_eq!(tries[0], tries[1]);
    assert_eq!(tries[1], tries[2]);
    assert_eq!(statuses(&tries[2]), pairs(&[("1", "firing")]));

    n.send(vec![fresh("A", &[("instance", "2")])]);
    let next = s.next(SOON).await.json();
    assert_eq!(statuses(&next), pairs(&[("1", "firing"), ("2", "firing")]));

    let m = |what: &str| {
        metric(
            &reg,
            &format!("vane_notifications_webhook_{what}{{receiver=\"flaky\"}}"),
        )
    };
    eventually("both notifications counted", || {
        m("sent_total") == Some(2.0)
    })
    .await;
    assert_eq!(m("retries_total"), Some(2.0));
    assert_eq!(m("failed_total"), Some(0.0));
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let mut s = Server::start(|_| Reply::Status(400)).await;
    let (n, reg) = notifier(NotifierOptions::default());
    let mut c = hook("strict", s.url("/hook"));
    // No second flush within the test.
    c.group_interval = Duration::from_secs(30);
    apply(&n, vec![c]);
    n.send(vec![fresh("A", &[])]);
    s.next(SOON).await;
    assert!(s.try_next(Duration::from_millis(800)).await.is_none());
    let m = |what: &str| {
        metric(
            &reg,
            &format!("vane_notifications_webhook_{what}{{receiver=\"strict\"}}"),
        )
    };
    eventually("the failure counted", || m("failed_total") == Some(1.0)).await;
    assert_eq!(m("retries_total"), Some(0.0));
    assert_eq!(m("sent_total"), Some(0.0));
}

#[tokio::test]
async fn a_hanging_receiver_is_retried_while_another_notifies_on_time() {
    let hanging = Server::start(|_| Reply::Hang).await;
    let mut ok = Server::ok().await;
    let (n, reg) = notifier(NotifierOptions::default());
    let mut h = hook("hanging", hanging.url("/hook"));
    h.timeout = Duration::from_millis(100);
    h.group_interval = Duration::from_secs(1);
    apply(&n, vec![h, hook("ok", ok.url("/hook"))]);

    n.send(vec![fresh("A", &[("instance", "1")])]);
    assert_eq!(
        statuses(&ok.next(SOON).await.json()),
        pairs(&[("1", "firing")])
    );
    n.send(vec![fresh("A", &[("instance", "2")])]);
    assert_eq!(
        statuses(&ok.next(SOON).await.json()),
        pairs(&[("1", "firing"), ("2", "firing")])
    );

    eventually("the hanging receiver is tried again", || {
        hanging.count() >= 2
    })
    .await;
    let retries = "vane_notifications_webhook_retries_total{receiver=\"hanging\"}";
    assert!(metric(&reg, retries).unwrap() >= 1.0);
    let sent = "vane_notifications_webhook_sent_total{receiver=\"hanging\"}";
    assert_eq!(metric(&reg, sent), Some(0.0));
}

#[tokio::test]
async fn a_reload_keeps_groups_unless_the_grouping_changes() {
    let mut s = Server::ok().await;
    let (n, _reg) = notifier(NotifierOptions::default());
    let mut c = hook("h", s.url("/hook"));
    c.group_wait = Duration::from_millis(300);
    apply(&n, vec![c.clone()]);
    n.send(vec![fresh("A", &[("instance", "1")])]);
    let before = n.receiver("h").unwrap();

    // A new timeout keeps the receiver, its group and the pending first notification.
    c.timeout = Duration::from_secs(3);
    apply(&n, vec![c.clone()]);
    let after = n.receiver("h").unwrap();
    assert!(Arc::ptr_eq(&before, &after));
    assert_eq!(after.group_count(), 1);
    assert_eq!(
        statuses(&s.next(SOON).await.json()),
        pairs(&[("1", "firing")])
    );

    // Another grouping starts afresh.
    c.group_by = vec!["instance".into()];
    apply(&n, vec![c]);
    let regrouped = n.receiver("h").unwrap();
    assert!(!Arc::ptr_eq(&before, &regrouped));
    assert_eq!(regrouped.group_count(), 0);

    // An invalid configuration changes nothing.
    let mut bad = hook("h", "not a url".into());
    bad.group_by.clear();
    let err = n
        .apply(vec![], vec![bad], BTreeMap::new(), None)
        .unwrap_err();
    assert!(err.to_string().contains("webhooks[0] (\"h\")"), "{err}");
    assert!(Arc::ptr_eq(&regrouped, &n.receiver("h").unwrap()));
    let dup = n
        .apply(
            vec![],
            vec![hook("x", s.url("/")), hook("x", s.url("/"))],
            BTreeMap::new(),
            None,
        )
        .unwrap_err();
    assert!(dup.to_string().contains("used twice"), "{dup}");
}
