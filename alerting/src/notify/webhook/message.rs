//! The body of a webhook notification: Alertmanager's webhook `Message` (version "4"), which
//! embeds its template `Data`. Fields come in Go's order; maps with sorted keys as Go writes
//! them.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use model::Labels;
use serde::Serialize;

use crate::notify::Alert;
use crate::notify::encode::{GO_ZERO_TIME, LabelsJson, json_time, quote_meta};

#[derive(Serialize)]
struct Message<'a> {
    receiver: String,
    status: &'static str,
    alerts: Vec<MessageAlert<'a>>,
    #[serde(rename = "groupLabels")]
    group_labels: LabelsJson<'a>,
    #[serde(rename = "commonLabels")]
    common_labels: BTreeMap<&'a str, &'a str>,
    #[serde(rename = "commonAnnotations")]
    common_annotations: BTreeMap<&'a str, &'a str>,
    #[serde(rename = "externalURL")]
    external_url: &'a str,
    version: &'static str,
    #[serde(rename = "groupKey")]
    group_key: &'a str,
    #[serde(rename = "truncatedAlerts")]
    truncated_alerts: u64,
}

/// One alert of a notification (Alertmanager's template `Alert`).
#[derive(Serialize)]
pub(super) struct MessageAlert<'a> {
    status: &'static str,
    labels: LabelsJson<'a>,
    annotations: &'a BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
    fingerprint: String,
    #[serde(skip)]
    alert: &'a Alert,
}

impl<'a> MessageAlert<'a> {
    /// `alert` as of `now_ms`: a firing alert has no end yet (Go's zero time), as in
    /// Alertmanager's flush.
    pub fn new(alert: &'a Alert, fingerprint: u64, now_ms: i64) -> Self {
        let resolved = alert.resolved_at(now_ms);
        MessageAlert {
            status: if resolved { "resolved" } else { "firing" },
            labels: LabelsJson(&alert.labels),
            annotations: &alert.annotations,
            starts_at: json_time(alert.starts_at),
            ends_at: match alert.ends_at {
                Some(e) if resolved => json_time(e),
                _ => GO_ZERO_TIME.to_string(),
            },
            generator_url: &alert.generator_url,
            fingerprint: format!("{fingerprint:016x}"),
            alert,
        }
    }
}

/// The JSON body for `alerts` (already in notification order), keeping at most `max_alerts`
/// of them (0 = all).
pub(super) fn encode(
    receiver: &str,
    group_labels: &Labels,
    group_key: &str,
    external_url: &str,
    max_alerts: u64,
    mut alerts: Vec<MessageAlert<'_>>,
) -> Vec<u8> {
    let mut truncated = 0;
    if max_alerts != 0 && alerts.len() as u64 > max_alerts {
        truncated = alerts.len() as u64 - max_alerts;
        alerts.truncate(max_alerts as usize);
    }
    let status = if alerts.iter().any(|a| a.status == "firing") {
        "firing"
    } else {
        "resolved"
    };
    let (common_labels, common_annotations) = common(&alerts);
    let msg = Message {
        receiver: quote_meta(receiver),
        status,
        group_labels: LabelsJson(group_labels),
        common_labels,
        common_annotations,
        external_url,
        version: "4",
        group_key,
        truncated_alerts: truncated,
        alerts,
    };
    serde_json::to_vec(&msg).expect("notification serializes")
}

type Common<'a> = BTreeMap<&'a str, &'a str>;

/// The labels and annotations every alert has with the same value.
fn common<'a>(alerts: &[MessageAlert<'a>]) -> (Common<'a>, Common<'a>) {
    let Some((first, rest)) = alerts.split_first() else {
        return (BTreeMap::new(), BTreeMap::new());
    };
    let mut labels: Common<'a> = first
        .alert
        .labels
        .iter()
        .map(|l| (&*l.name, &*l.value))
        .collect();
    let mut annotations: Common<'a> = first
        .alert
        .annotations
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for a in rest {
        if labels.is_empty() && annotations.is_empty() {
            break;
        }
        labels.retain(|k, v| a.alert.labels.get(k) == *v);
        annotations.retain(|k, v| a.alert.annotations.get(*k).map(String::as_str) == Some(*v));
    }
    (labels, annotations)
}

/// The order of alerts in a notification (Alertmanager's `AlertSlice`): by `job`, then by
/// `instance` (an alert without the label after those with it), then by label set.
pub(super) fn alert_order(a: &Labels, b: &Labels) -> Ordering {
    for key in ["job", "instance"] {
        match (a.has(key), b.has(key)) {
            (false, false) => continue,
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            (true, true) => match a.get(key).cmp(b.get(key)) {
                Ordering::Equal => continue,
                o => return o,
            },
        }
    }
    label_set_order(a, b)
}

/// `model.LabelSet.Before`: fewer labels first; then, over the sorted union of the names, the
/// first difference decides (a missing label sorts first, else the values compare).
fn label_set_order(a: &Labels, b: &Labels) -> Ordering {
    match a.len().cmp(&b.len()) {
        Ordering::Equal => {}
        o => return o,
    }
    let mut names: Vec<&str> = a.iter().chain(b.iter()).map(|l| &*l.name).collect();
    names.sort_unstable();
    names.dedup();
    for n in names {
        match (a.has(n), b.has(n)) {
            (false, _) => return Ordering::Less,
            (_, false) => return Ordering::Greater,
            _ => match a.get(n).cmp(b.get(n)) {
                Ordering::Equal => {}
                o => return o,
            },
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labels;

    #[test]
    fn order_is_alertmanagers() {
        let mut v = [
            labels! {"alertname" => "A", "instance" => "b"},
            labels! {"alertname" => "A", "job" => "y"},
            labels! {"alertname" => "A", "job" => "x", "instance" => "b"},
            labels! {"alertname" => "A", "job" => "x", "instance" => "a"},
            labels! {"alertname" => "A", "instance" => "a"},
            labels! {"alertname" => "B"},
            labels! {"alertname" => "A"},
        ];
        v.sort_by(alert_order);
        let names: Vec<String> = v.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            names,
            [
                r#"{alertname="A", instance="a", job="x"}"#,
                r#"{alertname="A", instance="b", job="x"}"#,
                r#"{alertname="A", job="y"}"#,
                r#"{alertname="A", instance="a"}"#,
                r#"{alertname="A", instance="b"}"#,
                r#"{alertname="A"}"#,
                r#"{alertname="B"}"#,
            ]
        );
    }

    #[test]
    fn common_labels_and_annotations() {
        let mk = |l: Labels, ann: &[(&str, &str)]| Alert {
            labels: l,
            annotations: ann
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            starts_at: 0,
            ends_at: None,
            generator_url: String::new(),
        };
        let a = mk(
            labels! {"alertname" => "A", "job" => "x", "sev" => "page"},
            &[("summary", "s"), ("runbook", "r1")],
        );
        let b = mk(
            labels! {"alertname" => "A", "job" => "y", "sev" => "page"},
            &[("summary", "s"), ("runbook", "r2")],
        );
        let alerts = vec![MessageAlert::new(&a, 1, 0), MessageAlert::new(&b, 2, 0)];
        let (l, an) = common(&alerts);
        assert_eq!(l, BTreeMap::from([("alertname", "A"), ("sev", "page")]));
        assert_eq!(an, BTreeMap::from([("summary", "s")]));
    }
}
