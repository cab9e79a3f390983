//! Metadata endpoints: label names and values, series, the exemplar probe, query
//! formatting and build information.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use model::labels::Labels;
use model::matcher::Matcher;
use model::storage::{Queryable, SelectHints};

use crate::Api;
use crate::json::{self, ApiError};
use crate::params::{MAX_TIME, MIN_TIME, Params};

/// Most `match[]` selectors one request may carry.
const MAX_SELECTORS: usize = 1_000;

/// The `match[]` selectors: each a list of matcher sets (one per `or` branch).
pub(crate) fn matchers(p: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut out = Vec::new();
    let given = p.all("match[]");
    if given.len() > MAX_SELECTORS {
        return Err(ApiError::bad_data(format!(
            "too many match[] selectors: {} (at most {MAX_SELECTORS})",
            given.len()
        )));
    }
    for m in given {
        let sets = promql::parse_selector(m)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"match[]\": {e}")))?;
        out.extend(sets);
    }
    Ok(out)
}

/// What the metadata requests share: the time range, selectors and limit.
struct Scope {
    start: i64,
    end: i64,
    sets: Vec<Vec<Matcher>>,
    limit: usize,
}

impl Scope {
    fn from(p: &Params) -> Result<Scope, ApiError> {
        Ok(Scope {
            start: p.time("start", MIN_TIME)?,
            end: p.time("end", MAX_TIME)?,
            sets: matchers(p)?,
            limit: p.count("limit")?.unwrap_or(0),
        })
    }

    /// Truncates to the limit; the warning Prometheus gives when it did.
    fn truncate<T>(&self, v: &mut Vec<T>) -> Vec<String> {
        if self.limit > 0 && v.len() > self.limit {
            v.truncate(self.limit);
            vec!["results truncated due to limit".to_string()]
        } else {
            Vec::new()
        }
    }
}

/// Sorted union of `f` over every matcher set (or over all series without `match[]`).
fn union_over(
    sets: &[Vec<Matcher>],
    mut f: impl FnMut(&[Matcher]) -> Result<Vec<String>, model::storage::Error>,
) -> Result<Vec<String>, ApiError> {
    let internal = |e: model::storage::Error| ApiError::internal(e.to_string());
    if sets.is_empty() {
        return f(&[]).map_err(internal);
    }
    let mut all = BTreeSet::new();
    for set in sets {
        all.extend(f(set).map_err(internal)?);
    }
    Ok(all.into_iter().collect())
}

fn string_array(items: &[String]) -> String {
    let mut out = String::new();
    json::push_array(&mut out, items, |out, s| json::push_str(out, s));
    out
}

fn respond(r: Result<(String, Vec<String>), ApiError>) -> Response {
    match r {
        Ok((data, warnings)) => json::success(&data, &warnings),
        Err(e) => e.into_response(),
    }
}

fn querier(q: &dyn Queryable, s: &Scope) -> Result<Box<dyn model::storage::Querier>, ApiError> {
    q.querier(s.start, s.end)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// Label names (`label` None) or the values of `label`, as a JSON array, with warnings.
async fn names_or_values(
    api: &Api,
    scope: Scope,
    label: Option<String>,
) -> Result<(String, Vec<String>), ApiError> {
    crate::with_store(api, move |store| {
        let querier = querier(store, &scope)?;
        let mut list = union_over(&scope.sets, |m| match &label {
            None => querier.label_names(m),
            Some(name) => querier.label_values(name, m),
        })?;
        let warnings = scope.truncate(&mut list);
        Ok((string_array(&list), warnings))
    })
    .await
}

/// `/api/v1/labels`: label names, of the series matching `match[]` if given.
pub(crate) async fn labels(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            let scope = Scope::from(&Params::from_request(q, &headers, &body)?)?;
            names_or_values(&api, scope, None).await
        }
        .await,
    )
}

/// `/api/v1/label/<name>/values`.
pub(crate) async fn label_values(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            if name.is_empty() {
                return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
            }
            let scope = Scope::from(&Params::from_request(q, &headers, &[])?)?;
            names_or_values(&api, scope, Some(name)).await
        }
        .await,
    )
}

/// `/api/v1/series`: the label sets of the series matching `match[]` (required).
pub(crate) async fn series(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            let scope = Scope::from(&Params::from_request(q, &headers, &body)?)?;
            if scope.sets.is_empty() {
                return Err(ApiError::bad_data("no match[] parameter provided"));
            }
            crate::with_store(&api, move |store| {
                let querier = querier(store, &scope)?;
                let hints = SelectHints {
                    start: scope.start,
                    end: scope.end,
                    labels_only: true,
                    func: Some("series".into()),
                    ..SelectHints::default()
                };
                let mut all: BTreeSet<Labels> = BTreeSet::new();
                for set in &scope.sets {
                    for s in querier
                        .select(&hints, set)
                        .map_err(|e| ApiError::internal(e.to_string()))?
                    {
                        all.insert(s.labels().clone());
                    }
                }
                let mut list: Vec<Labels> = all.into_iter().collect();
                let warnings = scope.truncate(&mut list);
                let mut out = String::new();
                json::push_array(&mut out, &list, json::push_labels);
                Ok((out, warnings))
            })
            .await
        }
        .await,
    )
}

/// `/api/v1/query_exemplars`: Vane stores no exemplars; the query and times are checked
/// as Prometheus checks them and the answer is an empty list (Grafana probes this).
pub(crate) async fn exemplars(RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    respond((|| {
        let p = Params::from_request(q, &headers, &body)?;
        let query = p.get("query").unwrap_or_default();
        promql::Engine::parse(query)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))?;
        p.time("start", MIN_TIME)?;
        p.time("end", MAX_TIME)?;
        Ok(("[]".to_string(), Vec::new()))
    })())
}

/// `/api/v1/format_query`: the query, pretty-printed.
pub(crate) async fn format_query(
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        let p = Params::from_request(q, &headers, &body)?;
        let expr = promql::Engine::parse(p.get("query").unwrap_or_default())
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))?;
        let mut out = String::new();
        json::push_str(&mut out, &expr.prettify());
        Ok((out, Vec::new()))
    })())
}

/// `/api/v1/status/buildinfo`.
pub(crate) async fn buildinfo() -> Response {
    let data = format!(
        r#"{{"version":"{}","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":""}}"#,
        env!("CARGO_PKG_VERSION")
    );
    json::success(&data, &[])
}
