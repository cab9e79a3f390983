//! `/api/v1/query` and `/api/v1/query_range`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use std::io::Write;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use promql::{Engine, EngineOptions, QueryResult, Value};

use crate::Api;
use crate::json::{self, ApiError};
use crate::params::Params;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sets its flag when dropped: when the client goes away, axum drops the request's future
/// and with it this guard, and the query running on the blocking pool stops.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The engine for one request: the `timeout` parameter can only shorten the default.
fn engine_for(api: &Api, p: &Params) -> Result<(Engine, CancelOnDrop), ApiError> {
    let mut opts: EngineOptions = api.engine.options().clone();
    if let Some(ms) = p.duration("timeout")? {
        opts.timeout = opts.timeout.min(Duration::from_millis(ms.max(0) as u64));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    Ok((
        Engine::new(opts).with_cancel(cancel.clone()),
        CancelOnDrop(cancel),
    ))
}

/// Runs a query on the blocking pool (after waiting for one of the `--query.max-concurrency`
/// slots, held until the answer is written) and writes the JSON answer there: whole for
/// answers up to [`STREAM_FROM`] bytes, else streamed in chunks (gzipped there if the client
/// accepts it), so a large result is never a second time in memory as one string, and
/// never occupies the async runtime.
async fn run(
    api: &Arc<Api>,
    endpoint: &'static str,
    p: &Params,
    headers: &HeaderMap,
    f: impl FnOnce(&Engine, &dyn model::storage::Queryable) -> Result<QueryResult, promql::Error>
    + Send
    + 'static,
) -> Result<Response, ApiError> {
    let limit = p.count("limit")?;
    // The guard lives until evaluation ends: a client gone before that cancels it.
    let (engine, _cancel) = engine_for(api, p)?;
    let gzip = crate::gzip::accepts_gzip(headers);
    let slot = api
        .slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("shutting down"))?;
    let store = api
        .store
        .get()
        .cloned()
        .ok_or_else(|| ApiError::unavailable("the store is not open yet"))?;
    let started = std::time::Instant::now();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Result<Option<String>, ApiError>>();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let mut res = match f(&engine, store.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                let _ = done_tx.send(Err(e.into()));
                return;
            }
        };
        apply_limit(&mut res, limit);
        if estimated_json_bytes(&res.value) < STREAM_FROM {
            // Small enough to write in one go (faster, and sent with its length).
            let body = json::encode_query_success(&res.value, &res.annotations);
            let _ = done_tx.send(Ok(Some(body)));
            return;
        }
        let _ = done_tx.send(Ok(None));
        stream_json(&res, gzip, &tx);
    });
    let outcome = done_rx
        .await
        .unwrap_or_else(|_| Err(ApiError::internal("the query task failed")));
    let m = &api.metrics;
    m.duration
        .with(&[endpoint])
        .observe(started.elapsed().as_secs_f64());
    let result = outcome
        .as_ref()
        .map_or_else(|e| e.error_type, |_| "success");
    m.queries.with(&[endpoint, result]).inc();
    if let Some(body) = outcome? {
        return Ok(json::json_response(axum::http::StatusCode::OK, body));
    }
    let mut resp = axum::body::Body::from_stream(Chunks(rx)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    Ok(resp)
}

/// Answers estimated above this many bytes of JSON are streamed; smaller ones are written
/// whole.
const STREAM_FROM: usize = 16 << 20;

/// A rough size of `v` as JSON: about 32 bytes a point, more per series.
fn estimated_json_bytes(v: &Value) -> usize {
    match v {
        Value::Vector(s) => s.len() * 160,
        Value::Matrix(m) => m.iter().map(|s| 160 + s.points.len() * 32).sum(),
        _ => 64,
    }
}

/// The body chunks a query's blocking task sends.
struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut().0.poll_recv(cx).map(|c| c.map(Ok))
    }
}

/// Encodes `res` chunk by chunk into `tx`; stops when the client has gone.
fn stream_json(res: &QueryResult, gzip: bool, tx: &tokio::sync::mpsc::Sender<Bytes>) {
    let send = |b: Vec<u8>| b.is_empty() || tx.blocking_send(Bytes::from(b)).is_ok();
    let mut out = String::with_capacity(json::CHUNK + 4096);
    if gzip {
        let mut enc = crate::gzip::encoder(0);
        let complete = {
            let mut sink = |s: &mut String| {
                let ok = enc.write_all(s.as_bytes()).is_ok();
                s.clear();
                ok && (enc.get_ref().len() < json::CHUNK / 4 || send(std::mem::take(enc.get_mut())))
            };
            json::write_query_success(&res.value, &res.annotations, &mut out, &mut sink)
        };
        if complete
            && enc.write_all(out.as_bytes()).is_ok()
            && let Ok(tail) = enc.finish()
        {
            send(tail);
        }
    } else {
        let mut sink = |s: &mut String| send(std::mem::take(s).into_bytes());
        if json::write_query_success(&res.value, &res.annotations, &mut out, &mut sink) {
            send(out.into_bytes());
        }
    }
}

/// `limit`: at most this many series in a vector or matrix result.
fn apply_limit(res: &mut QueryResult, limit: Option<usize>) {
    let Some(n) = limit.filter(|n| *n > 0) else {
        return;
    };
    let truncated = match &mut res.value {
        Value::Vector(v) if v.len() > n => {
            v.truncate(n);
            true
        }
        Value::Matrix(m) if m.len() > n => {
            m.truncate(n);
            true
        }
        _ => false,
    };
    if truncated {
        res.annotations.warn("results truncated due to limit");
    }
}

/// The `query` parameter, parsed.
fn parse_query(p: &Params) -> Result<promql::Expr, ApiError> {
    let query = p.get("query").ok_or_else(|| {
        ApiError::bad_data("invalid parameter \"query\": query must not be empty")
    })?;
    Engine::parse(query)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))
}

fn respond(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| e.into_response())
}

pub(crate) async fn instant(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            let p = Params::from_request(q, &headers, &body)?;
            let expr = parse_query(&p)?;
            let t = p.time("time", now_ms())?;
            run(&api, "query", &p, &headers, move |engine, s| {
                engine.exec_instant(s, &expr, t)
            })
            .await
        }
        .await,
    )
}

pub(crate) async fn range(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            let p = Params::from_request(q, &headers, &body)?;
            let expr = parse_query(&p)?;
            let start = p.required_time("start")?;
            let end = p.required_time("end")?;
            if end < start {
                return Err(ApiError::bad_data(
                    "invalid parameter \"end\": end timestamp must not be before start time",
                ));
            }
            let step = p.duration("step")?.ok_or_else(|| {
                ApiError::bad_data(
                    "invalid parameter \"step\": cannot parse \"\" to a valid duration",
                )
            })?;
            if step <= 0 {
                return Err(ApiError::bad_data(
                    "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
                ));
            }
            run(&api, "query_range", &p, &headers, move |engine, s| {
                engine.exec_range(s, &expr, start, end, step)
            })
            .await
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labels::Labels;
    use promql::{Annotations, RangeSeries};

    fn big() -> QueryResult {
        QueryResult {
            value: Value::Matrix(
                (0..400)
                    .map(|i| RangeSeries {
                        labels: Labels::from_pairs([("instance", format!("host-{i}"))]),
                        points: (0..500)
                            .map(|k| (k * 15_000, (i * k) as f64 / 3.0))
                            .collect(),
                    })
                    .collect(),
            ),
            annotations: Annotations {
                warnings: vec!["w".into()],
                infos: vec![],
            },
        }
    }

    fn collect(gzip: bool) -> (Vec<u8>, usize) {
        let res = big();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
        stream_json(&res, gzip, &tx);
        drop(tx);
        let mut body = Vec::new();
        let mut chunks = 0;
        while let Ok(c) = rx.try_recv() {
            body.extend_from_slice(&c);
            chunks += 1;
        }
        (body, chunks)
    }

    #[test]
    fn streamed_answers_equal_the_whole_one() {
        let res = big();
        let whole = json::encode_query_success(&res.value, &res.annotations);
        assert!(whole.len() > 4 * json::CHUNK);
        let (plain, chunks) = collect(false);
        assert!(chunks > 4, "{chunks} chunks");
        assert_eq!(String::from_utf8(plain).unwrap(), whole);
        let (zipped, chunks) = collect(true);
        assert!(chunks >= 1);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut text)
            .unwrap();
        assert_eq!(text, whole);
    }

    #[test]
    fn a_departed_client_stops_the_stream() {
        let res = big();
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        drop(rx);
        stream_json(&res, false, &tx); // returns instead of blocking on a closed channel
    }
}
