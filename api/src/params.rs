//! Request parameters: the query string and form bodies, times and durations in every format
//! Prometheus accepts.

use crate::json::ApiError;

/// A request's parameters: form-body values first (they win, as in Prometheus), then the
/// query string.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Params, ApiError> {
        let mut pairs = Vec::new();
        // Only form bodies carry parameters (as for Prometheus); other bodies are ignored.
        if !body.is_empty()
            && content_type.is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
        {
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Ok(Params(pairs))
    }

    /// A request's parameters from its query string, headers and body.
    pub fn from_request(
        query: Option<String>,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<Params, ApiError> {
        let ct = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        Params::new(query.as_deref(), ct, body)
    }

    /// The first value of `name`, if given and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name` (repeated parameters such as `match[]`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `name` as a time (ms), or `default` when absent.
    pub fn time(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_time_param(v)
                .map_err(|e| invalid(name, format!("invalid time value for '{name}': {e}"))),
        }
    }

    /// `name` as a required time (ms).
    pub fn required_time(&self, name: &str) -> Result<i64, ApiError> {
        let v = self
            .get(name)
            .ok_or_else(|| invalid(name, "cannot parse \"\" to a valid timestamp".into()))?;
        parse_time_param(v).map_err(|e| invalid(name, e))
    }

    /// `name` as a duration (ms), if given.
    pub fn duration(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| parse_duration_param(v).map_err(|e| invalid(name, e)))
            .transpose()
    }

    /// `name` as a non-negative integer, if given.
    pub fn count(&self, name: &str) -> Result<Option<usize>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    invalid(
                        name,
                        format!("cannot parse {v:?} to a non-negative integer"),
                    )
                })
            })
            .transpose()
    }
}

fn invalid(name: &str, e: String) -> ApiError {
    ApiError::bad_data(format!("invalid parameter {name:?}: {e}"))
}

/// The smallest and largest times Prometheus handles (ms), leaving room for arithmetic; every
/// parsed time is clamped to them.
pub(crate) const MIN_TIME: i64 = -9_223_309_901_257_974_000;
pub(crate) const MAX_TIME: i64 = 9_223_309_901_257_974_999;
/// How Prometheus prints them (clients send them back for "no bound").
const MIN_TIME_TEXT: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT: &str = "292277025-08-18T07:12:54.999999999Z";

/// A timestamp as Prometheus accepts it: Unix seconds as a float (`1435781451.781`), or
/// RFC 3339 (`2015-07-01T20:10:51.781Z`). Milliseconds since the epoch.
pub fn parse_time_param(s: &str) -> Result<i64, String> {
    if let Ok(t) = s.parse::<f64>()
        && t.is_finite()
    {
        // `as` saturates; the clamp keeps Prometheus's bounds.
        return Ok(((t * 1000.0).round() as i64).clamp(MIN_TIME, MAX_TIME));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis().clamp(MIN_TIME, MAX_TIME));
    }
    match s {
        MIN_TIME_TEXT => Ok(MIN_TIME),
        MAX_TIME_TEXT => Ok(MAX_TIME),
        _ => Err(format!("cannot parse {s:?} to a valid timestamp")),
    }
}

/// A duration as Prometheus accepts it: seconds as a float (`15`, `0.5`) or a Prometheus
/// duration (`5m`, `1h30m`). Milliseconds.
pub fn parse_duration_param(s: &str) -> Result<i64, String> {
    if let Ok(d) = s.parse::<f64>() {
        let ms = d * 1000.0;
        if !ms.is_finite() || ms.abs() >= 9.2e18 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ms as i64);
    }
    model::duration::parse_duration_ms(s)
        .map(|ms| ms as i64)
        .map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time_param("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time_param("0"), Ok(0));
        assert_eq!(parse_time_param("-1.5"), Ok(-1500));
        assert_eq!(
            parse_time_param("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time_param("2015-07-01T22:10:51+02:00"),
            Ok(1_435_781_451_000)
        );
        assert_eq!(parse_time_param(MIN_TIME_TEXT), Ok(MIN_TIME));
        assert_eq!(parse_time_param(MAX_TIME_TEXT), Ok(MAX_TIME));
        assert_eq!(parse_time_param("1e300"), Ok(MAX_TIME));
        assert_eq!(
            parse_time_param("yesterday"),
            Err("cannot parse \"yesterday\" to a valid timestamp".into())
        );
        assert!(parse_time_param("NaN").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_param("15"), Ok(15_000));
        assert_eq!(parse_duration_param("0.5"), Ok(500));
        assert_eq!(parse_duration_param("5m"), Ok(300_000));
        assert_eq!(parse_duration_param("1h30m"), Ok(5_400_000));
        assert!(
            parse_duration_param("1e30")
                .unwrap_err()
                .contains("overflows")
        );
        assert_eq!(
            parse_duration_param("soon"),
            Err("cannot parse \"soon\" to a valid duration".into())
        );
    }

    #[test]
    fn body_values_win_over_the_query_string() {
        let p = Params::new(
            Some("query=a&time=1"),
            Some("application/x-www-form-urlencoded"),
            b"query=b",
        )
        .unwrap();
        assert_eq!(p.get("query"), Some("b"));
        assert_eq!(p.get("time"), Some("1"));
        let p = Params::new(Some("query=a"), Some("application/json"), b"{}").unwrap();
        assert_eq!(p.get("query"), Some("a"));
    }
}
