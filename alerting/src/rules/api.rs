//! The `/api/v1/rules` and `/api/v1/alerts` answers, in Prometheus's JSON shape.

use std::collections::{BTreeMap, HashSet};

use model::Labels;
use serde_json::{Map, Value, json};

use super::{ActiveAlert, AlertState, Group, Manager, Rule, rfc3339};

/// Which rules `/api/v1/rules` lists (its query parameters).
#[derive(Debug, Default, Clone)]
pub struct RuleFilter {
    /// `type`: `alert` or `record` (empty: both).
    pub kind: Option<String>,
    pub rule_names: HashSet<String>,
    pub group_names: HashSet<String>,
    pub files: HashSet<String>,
    pub exclude_alerts: bool,
}

/// Go's zero `time.Time` in JSON: what Prometheus reports for "never".
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time_or_zero(ms: Option<i64>) -> String {
    ms.map_or_else(|| GO_ZERO_TIME.to_string(), rfc3339)
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect(),
    )
}

fn map_json(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// A float as Go's `strconv.FormatFloat(v, 'e', -1, 64)` (`1e+00`, `2.5e-07`).
pub(crate) fn go_exp(v: f64) -> String {
    crate::template::strconv::format_float(v, 'e', -1)
}

/// An alert as the API lists it.
fn alert_json(a: &ActiveAlert) -> Value {
    let mut o = Map::new();
    o.insert("labels".into(), labels_json(&a.labels));
    o.insert("annotations".into(), map_json(&a.annotations));
    o.insert("state".into(), a.state.as_str().into());
    o.insert("activeAt".into(), rfc3339(a.active_at).into());
    if let Some(k) = a.keep_firing_since {
        o.insert("keepFiringSince".into(), rfc3339(k).into());
    }
    o.insert("value".into(), go_exp(a.value).into());
    Value::Object(o)
}

/// Alerts that have not resolved (pending or firing), as `ActiveAlerts` in Prometheus.
fn unresolved(alerts: Vec<ActiveAlert>) -> impl Iterator<Item = ActiveAlert> {
    alerts.into_iter().filter(|a| a.resolved_at.is_none())
}

/// The query as Prometheus prints it (its canonical one-line form).
fn query_text(expr: &str) -> String {
    promql::Engine::parse(expr).map_or_else(|_| expr.to_string(), |e| e.to_string())
}

fn rule_json(r: &Rule, f: &RuleFilter) -> Option<Value> {
    let st = r.status();
    let mut o = Map::new();
    match r {
        Rule::Alerting(a) => {
            if f.kind.as_deref() == Some("record") {
                return None;
            }
            o.insert("state".into(), a.state().as_str().into());
            o.insert("name".into(), a.name.clone().into());
            o.insert("query".into(), query_text(&a.expr).into());
            o.insert("duration".into(), json!(a.hold_ms as f64 / 1000.0));
            o.insert(
                "keepFiringFor".into(),
                json!(a.keep_firing_for_ms as f64 / 1000.0),
            );
            o.insert("labels".into(), map_json(&a.labels));
            o.insert("annotations".into(), map_json(&a.annotations));
            let alerts: Vec<Value> = if f.exclude_alerts {
                Vec::new()
            } else {
                unresolved(a.alerts()).map(|x| alert_json(&x)).collect()
            };
            o.insert("alerts".into(), Value::Array(alerts));
        }
        Rule::Recording(rec) => {
            if f.kind.as_deref() == Some("alert") {
                return None;
            }
            o.insert("name".into(), rec.name.clone().into());
            o.insert("query".into(), query_text(&rec.expr).into());
            o.insert("labels".into(), map_json(&rec.labels));
        }
    }
    o.insert("health".into(), st.health.as_str().into());
    if let Some(e) = st.last_error {
        o.insert("lastError".into(), e.into());
    }
    o.insert(
        "evaluationTime".into(),
        json!(st.evaluation_time.as_secs_f64()),
    );
    o.insert(
        "lastEvaluation".into(),
        time_or_zero(st.last_evaluation).into(),
    );
    o.insert(
        "type".into(),
        match r {
            Rule::Alerting(_) => "alerting",
            Rule::Recording(_) => "recording",
        }
        .into(),
    );
    Some(Value::Object(o))
}

fn group_json(g: &Group, f: &RuleFilter) -> Option<Value> {
    if !f.group_names.is_empty() && !f.group_names.contains(&g.name) {
        return None;
    }
    if !f.files.is_empty() && !f.files.contains(&g.file) {
        return None;
    }
    let rules: Vec<Value> = g
        .rules
        .iter()
        .filter(|r| f.rule_names.is_empty() || f.rule_names.contains(r.name()))
        .filter_map(|r| rule_json(r, f))
        .collect();
    if rules.is_empty() {
        return None;
    }
    let (last, took) = g.last_evaluation();
    Some(json!({
        "name": g.name,
        "file": g.file,
        "rules": rules,
        "interval": g.interval.as_secs_f64(),
        "limit": g.limit,
        "evaluationTime": took.as_secs_f64(),
        "lastEvaluation": time_or_zero(last),
    }))
}

impl Manager {
    /// The `data` of `/api/v1/rules`.
    pub fn rules_json(&self, f: &RuleFilter) -> Value {
        let groups: Vec<Value> = self
            .groups()
            .iter()
            .filter_map(|g| group_json(g, f))
            .collect();
        json!({ "groups": groups })
    }

    /// The `data` of `/api/v1/alerts`: every pending and firing alert.
    pub fn alerts_json(&self) -> Value {
        let mut out = Vec::new();
        for g in self.groups() {
            for r in &g.rules {
                if let Rule::Alerting(a) = r {
                    out.extend(unresolved(a.alerts()).map(|x| alert_json(&x)));
                }
            }
        }
        json!({ "alerts": out })
    }

    /// Alerts in each state, for `/metrics`-style summaries and tests.
    pub fn count_alerts(&self, state: AlertState) -> usize {
        self.groups()
            .iter()
            .flat_map(|g| g.rules.iter())
            .map(|r| match r {
                Rule::Alerting(a) => a.alerts().iter().filter(|x| x.state == state).count(),
                Rule::Recording(_) => 0,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::go_exp;

    #[test]
    fn floats_print_as_go_exponent_form() {
        assert_eq!(go_exp(1.0), "1e+00");
        assert_eq!(go_exp(0.0), "0e+00");
        assert_eq!(go_exp(1234.5), "1.2345e+03");
        assert_eq!(go_exp(-2.5e-7), "-2.5e-07");
        assert_eq!(go_exp(1e300), "1e+300");
        assert_eq!(go_exp(f64::NAN), "NaN");
        assert_eq!(go_exp(f64::NEG_INFINITY), "-Inf");
    }
}
