use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::server::{Reply, Server, refused_addr};
use super::*;
use crate::notify::RelabelFn;

#[tokio::test]
async fn alerts_reach_every_alertmanager_as_api_v2_json() {
    let mut a = Server::ok().await;
    let mut b = Server::ok().await;
    let (n, reg) = notifier(NotifierOptions::default());
    let external = BTreeMap::from([
        ("region".to_string(), "eu".to_string()),
        ("job".to_string(), "from-external".to_string()),
    ]);
    // Marks every alert and drops those labelled drop="yes", as alert_relabel_configs can.
    let relabel: RelabelFn = Arc::new(|l: &Labels| {
        if l.get("drop") == "yes" {
            return None;
        }
        let mut b = l.to_builder();
        b.set("relabelled", "yes");
        Some(b.build())
    });
    let (url_a, url_b) = (a.url("/am/api/v2/alerts"), b.url("/api/v2/alerts"));
    n.apply(
        vec![
            endpoint(url_a.clone(), Duration::from_secs(5)),
            endpoint(url_b.clone(), Duration::from_secs(5)),
        ],
        vec![],
        external,
        Some(relabel),
    )
    .unwrap();

    let mut firing = alert("HighLatency", &[("job", "api"), ("severity", "page")]);
    firing.annotations = BTreeMap::from([("summary".to_string(), "p99 > 1s".to_string())]);
    firing.generator_url = "http://vane:9090/graph?g0.expr=up".to_string();
    let mut resolved = alert("Down", &[]);
    resolved.ends_at = Some(T0 + 60_000 - 123);
    let noise = alert("Noise", &[("drop", "yes")]);
    n.send(vec![firing, resolved, noise]);

    for (server, path) in [(&mut a, "/am/api/v2/alerts"), (&mut b, "/api/v2/alerts")] {
        let req = server.next(SOON).await;
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, path);
        assert_eq!(req.header("content-type"), Some("application/json"));
        let body = req.json();
        assert_eq!(body.as_array().unwrap().len(), 2, "{body}");
        // The alert's own job wins over the external label; the rest is added.
        assert_eq!(
            body[0],
            json!({
                "labels": {"alertname": "HighLatency", "job": "api", "region": "eu",
                           "relabelled": "yes", "severity": "page"},
                "annotations": {"summary": "p99 > 1s"},
                "startsAt": "2023-11-14T22:13:20.123Z",
                "endsAt": "2023-11-14T22:17:20.123Z",
                "generatorURL": "http://vane:9090/graph?g0.expr=up",
            })
        );
        // Empty annotations and generator URL are left out, as Go's encoder does.
        assert_eq!(
            body[1],
            json!({
                "labels": {"alertname": "Down", "job": "from-external", "region": "eu",
                           "relabelled": "yes"},
                "startsAt": "2023-11-14T22:13:20.123Z",
                "endsAt": "2023-11-14T22:14:20.000Z",
            })
        );
    }
    for url in [&url_a, &url_b] {
        let sent = format!("vane_notifications_sent_total{{alertmanager=\"{url}\"}}");
        eventually("alerts counted as sent", || {
            metric(&reg, &sent) == Some(2.0)
        })
        .await;
        let errors = format!("vane_notifications_errors_total{{alertmanager=\"{url}\"}}");
        assert_eq!(metric(&reg, &errors), Some(0.0));
    }
    assert_eq!(metric(&reg, "vane_notifications_dropped_total"), Some(0.0));
    assert_eq!(
        metric(&reg, "vane_notifications_queue_capacity"),
        Some(10000.0)
    );
    assert_eq!(metric(&reg, "vane_notifications_queue_length"), Some(0.0));
    assert_eq!(
        metric(&reg, "vane_notifications_alertmanagers_discovered"),
        Some(2.0)
    );
    let count = format!("vane_notifications_latency_seconds_count{{alertmanager=\"{url_a}\"}}");
    assert_eq!(metric(&reg, &count), Some(1.0));
}

#[tokio::test]
async fn a_down_or_hanging_alertmanager_does_not_hold_back_the_others() {
    let refused = format!("http://{}/api/v2/alerts", refused_addr().await);
    let hanging = Server::start(|_| Reply::Hang).await;
    let mut good = Server::ok().await;
    let (n, reg) = notifier(NotifierOptions::default());
    n.apply(
        vec![
            endpoint(refused.clone(), Duration::from_secs(5)),
            // Longer than the bounds below: the good one must not wait for it.
            endpoint(hanging.url("/api/v2/alerts"), Duration::from_secs(10)),
            endpoint(good.url("/api/v2/alerts"), Duration::from_secs(5)),
        ],
        vec![],
        BTreeMap::new(),
        None,
    )
    .unwrap();

    n.send(vec![alert("First", &[])]);
    assert_eq!(names(&good.next(SOON).await.json()), ["First"]);
    n.send(vec![alert("Second", &[])]);
    assert_eq!(names(&good.next(SOON).await.json()), ["Second"]);

    let errors = format!("vane_notifications_errors_total{{alertmanager=\"{refused}\"}}");
    eventually("both batches failed on the refused one", || {
        metric(&reg, &errors) == Some(2.0)
    })
    .await;
    assert!(metric(&reg, "vane_notifications_dropped_total").unwrap() >= 2.0);
    // The hanging one is still busy with its first request; the second batch waits in its
    // own queue.
    assert_eq!(hanging.count(), 1);
    assert_eq!(metric(&reg, "vane_notifications_queue_length"), Some(1.0));
}

#[tokio::test]
async fn a_full_queue_drops_its_oldest_alerts() {
    // The first and third requests hang until the client's timeout, keeping alerts queued.
    let mut s = Server::start(|i| {
        if i == 0 || i == 2 {
            Reply::Hang
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let (n, reg) = notifier(NotifierOptions {
        queue_capacity: 10,
        ..NotifierOptions::default()
    });
    n.apply(
        vec![endpoint(
            s.url("/api/v2/alerts"),
            Duration::from_millis(300),
        )],
        vec![],
        BTreeMap::new(),
        None,
    )
    .unwrap();
    let many = |prefix: &str, k: usize| -> Vec<Alert> {
        (1..=k)
            .map(|i| alert(&format!("{prefix}{i:02}"), &[]))
            .collect()
    };

    n.send(vec![alert("a00", &[])]);
    assert_eq!(names(&s.next(SOON).await.json()), ["a00"]);
    // 15 more while the first is in flight: the 5 oldest do not fit.
    n.send(many("a", 15));
    let got = names(&s.next(SOON).await.json());
    let want: Vec<String> = (6..=15).map(|i| format!("a{i:02}")).collect();
    assert_eq!(got, want);

    n.send(vec![alert("b00", &[])]);
    assert_eq!(names(&s.next(SOON).await.json()), ["b00"]);
    // One call with more than the capacity keeps its newest alerts.
    n.send(many("c", 25));
    let got = names(&s.next(SOON).await.json());
    let want: Vec<String> = (16..=25).map(|i| format!("c{i:02}")).collect();
    assert_eq!(got, want);

    // Dropped: 5 and 15 by overflow, and the two alerts of the requests that timed out.
    eventually("drops counted", || {
        metric(&reg, "vane_notifications_dropped_total") == Some(22.0)
    })
    .await;
    let url = s.url("/api/v2/alerts");
    let errors = format!("vane_notifications_errors_total{{alertmanager=\"{url}\"}}");
    assert_eq!(metric(&reg, &errors), Some(2.0));
    let sent = format!("vane_notifications_sent_total{{alertmanager=\"{url}\"}}");
    eventually("sent counted", || metric(&reg, &sent) == Some(20.0)).await;
}

#[tokio::test]
async fn batches_hold_at_most_256_alerts() {
    let mut s = Server::ok().await;
    let (n, _reg) = notifier(NotifierOptions::default());
    n.apply(
        vec![endpoint(s.url("/api/v2/alerts"), Duration::from_secs(5))],
        vec![],
        BTreeMap::new(),
        None,
    )
    .unwrap();
    let alerts: Vec<Alert> = (0..600).map(|i| alert(&format!("x{i:03}"), &[])).collect();
    n.send(alerts);
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    while seen.len() < 600 {
        let got = names(&s.next(SOON).await.json());
        sizes.push(got.len());
        seen.extend(got);
    }
    assert_eq!(sizes, [256, 256, 88]);
    let want: Vec<String> = (0..600).map(|i| format!("x{i:03}")).collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn stopping_sends_what_is_queued_within_the_grace_period() {
    let mut s = Server::start(|i| {
        if i == 0 {
            Reply::Hang
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let (n, reg) = notifier(NotifierOptions::default());
    n.apply(
        vec![endpoint(
            s.url("/api/v2/alerts"),
            Duration::from_millis(300),
        )],
        vec![],
        BTreeMap::new(),
        None,
    )
    .unwrap();
    n.send(vec![alert("inflight", &[])]);
    s.next(SOON).await;
    n.send((0..300).map(|i| alert(&format!("q{i:03}"), &[])).collect());

    let begin = Instant::now();
    n.stop(Duration::from_secs(5)).await;
    assert!(begin.elapsed() < Duration::from_secs(5));
    let mut sizes = Vec::new();
    while let Some(r) = s.try_next(Duration::from_millis(100)).await {
        sizes.push(names(&r.json()).len());
    }
    assert_eq!(sizes, [256, 44]);
    // Only the request that timed out lost its alert.
    assert_eq!(metric(&reg, "vane_notifications_dropped_total"), Some(1.0));

    // Nothing is accepted after stopping.
    n.send(vec![alert("late", &[])]);
    assert!(s.try_next(Duration::from_millis(200)).await.is_none());
}

#[tokio::test]
async fn stopping_waits_no_longer_than_the_grace_period() {
    let mut s = Server::start(|_| Reply::Hang).await;
    let (n, reg) = notifier(NotifierOptions::default());
    n.apply(
        vec![endpoint(s.url("/api/v2/alerts"), Duration::from_secs(30))],
        vec![],
        BTreeMap::new(),
        None,
    )
    .unwrap();
    n.send(vec![alert("a", &[])]);
    s.next(SOON).await;
    n.send(vec![alert("b", &[])]);
    let begin = Instant::now();
    n.stop(Duration::from_millis(200)).await;
    assert!(begin.elapsed() < SOON, "{:?}", begin.elapsed());
    // "a" was abandoned in flight, "b" never left its queue.
    eventually("both alerts counted as dropped", || {
        metric(&reg, "vane_notifications_dropped_total") == Some(2.0)
    })
    .await;
}

#[tokio::test]
async fn a_reload_keeps_known_alertmanagers_and_stops_removed_ones() {
    let mut a = Server::ok().await;
    let mut b = Server::ok().await;
    let (n, reg) = notifier(NotifierOptions::default());
    let eps = |list: &[&Server]| -> Vec<Endpoint> {
        list.iter()
            .map(|s| endpoint(s.url("/api/v2/alerts"), Duration::from_secs(5)))
            .collect()
    };
    // The same Alertmanager twice gets each alert once.
    let mut both = eps(&[&a, &b]);
    both.extend(eps(&[&a]));
    n.apply(both, vec![], BTreeMap::new(), None).unwrap();
    assert_eq!(n.alertmanager_urls().len(), 2);

    n.apply(eps(&[&a]), vec![], BTreeMap::new(), None).unwrap();
    assert_eq!(n.alertmanager_urls(), [a.url("/api/v2/alerts")]);
    assert_eq!(
        metric(&reg, "vane_notifications_alertmanagers_discovered"),
        Some(1.0)
    );
    n.send(vec![alert("after", &[])]);
    assert_eq!(names(&a.next(SOON).await.json()), ["after"]);
    assert!(a.try_next(Duration::from_millis(200)).await.is_none());
    assert!(b.try_next(Duration::from_millis(200)).await.is_none());
}
