//! Delivery tests against real HTTP servers on 127.0.0.1. Timing is only bounded from above,
//! generously; what is checked is what arrives and in which order.

mod alertmanager;
mod server;
mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use model::Labels;
use model::metrics::Registry;

use super::{Alert, Endpoint, Notifier, NotifierOptions};

/// 2023-11-14T22:13:20.123Z.
const T0: i64 = 1_700_000_000_123;

/// Upper bound for anything that should happen promptly.
const SOON: Duration = Duration::from_secs(3);

fn alert(name: &str, labels: &[(&str, &str)]) -> Alert {
    let mut pairs = vec![("alertname", name)];
    pairs.extend_from_slice(labels);
    Alert {
        labels: Labels::from_pairs(pairs),
        annotations: BTreeMap::new(),
        starts_at: T0,
        ends_at: Some(T0 + 240_000),
        generator_url: String::new(),
    }
}

fn endpoint(url: String, timeout: Duration) -> Endpoint {
    Endpoint {
        url,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        authorize: None,
        timeout,
    }
}

fn notifier(opts: NotifierOptions) -> (Arc<Notifier>, Registry) {
    let reg = Registry::new();
    let n = Notifier::new(opts, &reg);
    n.start(&tokio::runtime::Handle::current());
    (n, reg)
}

/// The value of one series in the registry's text output.
fn metric(reg: &Registry, series: &str) -> Option<f64> {
    reg.render().lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(|v| v.parse().unwrap())
    })
}

/// Waits until `cond` holds, failing the test after `SOON`.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + SOON;
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("not within {SOON:?}: {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The `alertname` label of each alert of a JSON array.
fn names(alerts: &serde_json::Value) -> Vec<String> {
    alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
        .collect()
}
