//! [`QueryEngine`] over a remote Prometheus-compatible query API (Prometheus, Thanos Query,
//! Mimir, VictoriaMetrics...): rules evaluate against data this process does not hold.

use std::time::Duration;

use model::{Label, Labels};
use serde_json::Value;

use crate::notify::AuthorizeFn;
use crate::{QueryEngine, Sample};

/// Instant queries as `POST <base>/api/v1/query` (form `query`, `time` in seconds).
pub struct RemoteQueryEngine {
    /// The API's base URL, e.g. `http://prometheus:9090` (a path prefix is kept).
    pub base_url: String,
    pub client: reqwest::Client,
    pub authorize: Option<AuthorizeFn>,
    /// Limit on one query, from connecting to reading the answer.
    pub timeout: Duration,
    /// The runtime the requests run on; [`QueryEngine::instant`] must be called off its
    /// worker threads (rule evaluation runs on the blocking pool).
    pub rt: tokio::runtime::Handle,
}

impl RemoteQueryEngine {
    fn url(&self) -> String {
        format!("{}/api/v1/query", self.base_url.trim_end_matches('/'))
    }

    async fn post(&self, query: &str, t_ms: i64) -> Result<Value, String> {
        let time = format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000));
        let mut req = self
            .client
            .post(self.url())
            .form(&[("query", query), ("time", time.as_str())]);
        if !self.timeout.is_zero() {
            req = req.timeout(self.timeout);
        }
        if let Some(a) = &self.authorize {
            req = a(req)?;
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("remote query to {}: {e}", self.url()))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("remote query to {}: {e}", self.url()))?;
        let v: Value = serde_json::from_slice(&body).map_err(|_| {
            format!(
                "remote query to {}: HTTP {status}, not a Prometheus API answer: {}",
                self.url(),
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )
        })?;
        Ok(v)
    }
}

impl QueryEngine for RemoteQueryEngine {
    fn instant(&self, query: &str, t_ms: i64) -> Result<Vec<Sample>, String> {
        let v = self.rt.block_on(self.post(query, t_ms))?;
        parse_answer(&v)
    }
}

fn value_of(pair: &Value) -> Result<f64, String> {
    let s = pair
        .get(1)
        .and_then(Value::as_str)
        .ok_or("a sample without a value")?;
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse().map_err(|_| format!("bad sample value {s:?}")),
    }
}

/// The samples of an instant query's JSON answer (a vector, or a scalar as one sample
/// without labels); an error answer or another result type is an error.
pub(crate) fn parse_answer(v: &Value) -> Result<Vec<Sample>, String> {
    if v["status"] != "success" {
        return Err(format!(
            "remote query failed: {}: {}",
            v["errorType"].as_str().unwrap_or("error"),
            v["error"].as_str().unwrap_or("no message")
        ));
    }
    let data = &v["data"];
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .ok_or("a vector without a result list")?
            .iter()
            .map(|s| {
                let mut labels: Vec<Label> = s["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some(Label::new(k.as_str(), v.as_str()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(Sample {
                    labels: Labels::from_sorted(labels),
                    value: value_of(&s["value"])?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![Sample {
            labels: Labels::empty(),
            value: value_of(&data["result"])?,
        }]),
        other => Err(format!(
            "rule result is not a vector or scalar ({})",
            other.unwrap_or("no result type")
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse_answer;

    #[test]
    fn answers_become_samples_and_errors_say_why() {
        let v = json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "a", "__name__": "up"}, "value": [1.5, "1"]},
            {"metric": {}, "value": [1.5, "NaN"]},
            {"metric": {"x": "y"}, "value": [1.5, "-Inf"]}
        ]}});
        let s = parse_answer(&v).unwrap();
        assert_eq!(s[0].labels.to_string(), r#"up{job="a"}"#);
        assert_eq!(s[0].value, 1.0);
        assert!(s[1].labels.is_empty() && s[1].value.is_nan());
        assert_eq!(s[2].value, f64::NEG_INFINITY);

        let v =
            json!({"status": "success", "data": {"resultType": "scalar", "result": [1.5, "2.5"]}});
        assert_eq!(parse_answer(&v).unwrap()[0].value, 2.5);

        let v = json!({"status": "success", "data": {"resultType": "matrix", "result": []}});
        assert!(parse_answer(&v).unwrap_err().contains("matrix"));
        let v = json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        assert_eq!(
            parse_answer(&v).unwrap_err(),
            "remote query failed: bad_data: parse error"
        );
    }
}
