//! `/api/v1/query` and `/api/v1/query_range`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use std::io::Write;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use promql::{Engine, EngineOptions, QueryResult, StatsDetail, Value};

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

/// The engine for one request: the `timeout` parameter can only shorten the default;
/// `stats` asks for statistics.
fn engine_for(defaults: &EngineOptions, p: &Params) -> Result<(Engine, CancelOnDrop), ApiError> {
    let mut opts = defaults.clone();
    if let Some(ms) = p.duration("timeout")? {
        opts.timeout = opts.timeout.min(Duration::from_millis(ms.max(0) as u64));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let mut engine = Engine::new(opts).with_cancel(cancel.clone());
    if let Some(detail) = stats_detail(p) {
        engine = engine.with_stats(detail);
    }
    Ok((engine, CancelOnDrop(cancel)))
}

/// The `stats` parameter: any value adds statistics to the answer (as in Prometheus),
/// `all` with the samples of every step.
fn stats_detail(p: &Params) -> Option<StatsDetail> {
    p.get("stats").map(|v| match v {
        "all" => StatsDetail::PerStep,
        _ => StatsDetail::Totals,
    })
}

/// Prometheus's warning for a `stats` value other than `true` or `all`, which it still
/// accepts but will refuse in its next major release.
fn stats_warning(p: &Params) -> Option<String> {
    p.get("stats")
        .filter(|v| !matches!(*v, "true" | "all"))
        .map(|v| {
            format!(
                "value {v:?} for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
            )
        })
}

/// One of the `--query.max-concurrency` slots, held while a query runs, with how long the
/// query waited for it.
struct Slot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    /// When the query began to wait.
    queued: Instant,
    waited: Duration,
}

impl Slot {
    async fn acquire(slots: &Arc<tokio::sync::Semaphore>) -> Result<Slot, ApiError> {
        let queued = Instant::now();
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::unavailable("shutting down"))?;
        Ok(Slot {
            _permit: permit,
            queued,
            waited: queued.elapsed(),
        })
    }
}

/// What the answer adds to the engine's result: the wait for the slot in the statistics'
/// timings (the engine timed only its evaluation), the `limit`, the `stats` warning.
fn finish(res: &mut QueryResult, slot: &Slot, limit: Option<usize>, warning: Option<String>) {
    if let Some(stats) = &mut res.stats {
        stats.timings.exec_queue = slot.waited;
        stats.timings.exec_total = slot.queued.elapsed();
    }
    apply_limit(res, limit);
    if let Some(w) = warning {
        res.annotations.warn(w);
    }
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
    let stats_warning = stats_warning(p);
    // The guard lives until evaluation ends: a client gone before that cancels it.
    let (engine, _cancel) = engine_for(api.engine.options(), p)?;
    let gzip = crate::gzip::accepts_gzip(headers);
    let slot = Slot::acquire(&api.slots).await?;
    let store = api
        .store
        .get()
        .cloned()
        .ok_or_else(|| ApiError::unavailable("the store is not open yet"))?;
    let started = Instant::now();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Result<Option<String>, ApiError>>();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    tokio::task::spawn_blocking(move || {
        let mut res = match f(&engine, store.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                let _ = done_tx.send(Err(e.into()));
                return;
            }
        };
        finish(&mut res, &slot, limit, stats_warning);
        if estimated_json_bytes(&res.value) < STREAM_FROM {
            // Small enough to write in one go (faster, and sent with its length).
            let body = json::encode_query_result(&res);
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
            json::write_query_success(
                &res.value,
                &res.annotations,
                res.stats.as_ref(),
                &mut out,
                &mut sink,
            )
        };
        if complete
            && enc.write_all(out.as_bytes()).is_ok()
            && let Ok(tail) = enc.finish()
        {
            send(tail);
        }
    } else {
        let mut sink = |s: &mut String| send(std::mem::take(s).into_bytes());
        if json::write_query_success(
            &res.value,
            &res.annotations,
            res.stats.as_ref(),
            &mut out,
            &mut sink,
        ) {
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
            stats: Some(promql::QueryStats::default()),
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
        let whole = json::encode_query_result(&res);
        assert!(whole.len() > 4 * json::CHUNK);
        assert!(whole.contains(r#"}],"stats":{"timings":{"evalTotalTime":0,"#));
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

    /// Three series `three{a}` with the values 1, 2, … every 10 s over 0–1000 s.
    fn store() -> (tempfile::TempDir, Arc<tsdb::Db>) {
        use model::Appendable;
        let dir = tempfile::tempdir().unwrap();
        let reg = model::metrics::Registry::new();
        let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &reg).unwrap();
        let mut app = db.appender();
        for k in 0..=100 {
            for a in ["1", "2", "3"] {
                let l = Labels::from_pairs([("__name__", "three"), ("a", a)]);
                app.append(None, &l, k * 10_000, (k + 1) as f64).unwrap();
            }
        }
        app.commit().unwrap();
        (dir, db)
    }

    /// The JSON answer to `query` (`start`/`end`/`step` make it a range query), as the
    /// handlers build it once they hold `slot`.
    fn answer(db: &tsdb::Db, query: &str, slot: &Slot) -> serde_json::Value {
        let p = Params::new(Some(query), None, &[]).unwrap();
        let (engine, _cancel) = engine_for(&EngineOptions::default(), &p).unwrap();
        let expr = parse_query(&p).unwrap();
        let mut res = match p.get("step") {
            None => engine.exec_instant(db, &expr, p.time("time", 0).unwrap()),
            Some(_) => engine.exec_range(
                db,
                &expr,
                p.required_time("start").unwrap(),
                p.required_time("end").unwrap(),
                p.duration("step").unwrap().unwrap(),
            ),
        }
        .unwrap();
        finish(&mut res, slot, p.count("limit").unwrap(), stats_warning(&p));
        serde_json::from_str(&json::encode_query_result(&res)).unwrap()
    }

    async fn slot() -> Slot {
        Slot::acquire(&Arc::new(tokio::sync::Semaphore::new(1)))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn stats_only_when_asked() {
        let (_d, db) = store();
        let slot = slot().await;
        let j = answer(&db, "query=three&time=21", &slot);
        assert_eq!(j["status"], "success");
        assert!(j["data"].get("stats").is_none(), "{j}");

        let j = answer(&db, "query=three&time=21&stats=true", &slot);
        let stats = &j["data"]["stats"];
        assert_eq!(
            stats["samples"],
            serde_json::json!({"totalQueryableSamples": 3, "samplesRead": 3, "peakSamples": 3})
        );
        let timings = stats["timings"].as_object().unwrap();
        let keys: Vec<&str> = timings.keys().map(String::as_str).collect();
        let mut want = [
            "evalTotalTime",
            "resultSortTime",
            "queryPreparationTime",
            "innerEvalTime",
            "execQueueTime",
            "execTotalTime",
        ];
        want.sort();
        assert_eq!(keys, want);
        assert!(
            timings
                .values()
                .all(|v| v.as_f64().is_some_and(|s| s >= 0.0))
        );
        assert!(j.get("warnings").is_none(), "{j}");

        // Any other value still asks, with Prometheus's deprecation warning (after the
        // limit's).
        let j = answer(&db, "query=three&time=21&stats=1&limit=2", &slot);
        assert_eq!(j["data"]["stats"]["samples"]["totalQueryableSamples"], 3);
        assert_eq!(
            j["warnings"],
            serde_json::json!([
                "results truncated due to limit",
                "value \"1\" for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
            ])
        );
    }

    #[tokio::test]
    async fn stats_all_counts_every_step() {
        let (_d, db) = store();
        let slot = slot().await;
        let q = "query=max_over_time(three%5B60s%5D)&start=201&end=220&step=5&stats=all";
        let j = answer(&db, q, &slot);
        let s = &j["data"]["stats"]["samples"];
        // Windows of 6 samples for each of 3 series at every step; each sample is read once.
        assert_eq!(
            *s,
            serde_json::json!({
                "totalQueryableSamplesPerStep": [[201, 18], [206, 18], [211, 18], [216, 18]],
                "totalQueryableSamples": 72,
                "samplesReadPerStep": [[201, 18], [206, 0], [211, 3], [216, 0]],
                "samplesRead": 21,
                "peakSamples": s["peakSamples"].clone(),
            })
        );
        assert!(s["peakSamples"].as_u64().unwrap() >= 12, "{s}");
        // `true` leaves the per-step lists out.
        let j = answer(&db, &q.replace("stats=all", "stats=true"), &slot);
        let s = j["data"]["stats"]["samples"].as_object().unwrap();
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(s["samplesRead"], 21);
    }

    #[tokio::test]
    async fn queue_time_is_the_wait_for_a_slot() {
        let (_d, db) = store();
        let slots = Arc::new(tokio::sync::Semaphore::new(1));
        // Hold the only slot for a while: the query waits at least that long.
        let held = slots.clone().acquire_owned().await.unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(held);
        });
        let slot = Slot::acquire(&slots).await.unwrap();
        release.await.unwrap();
        let j = answer(&db, "query=three&time=21&stats=true", &slot);
        let t = &j["data"]["stats"]["timings"];
        let (queue, total, eval) = (
            t["execQueueTime"].as_f64().unwrap(),
            t["execTotalTime"].as_f64().unwrap(),
            t["evalTotalTime"].as_f64().unwrap(),
        );
        assert!(queue >= 0.1, "{t}");
        assert!(total >= queue + eval, "{t}");
    }

    #[test]
    fn a_departed_client_stops_the_stream() {
        let res = big();
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        drop(rx);
        stream_json(&res, false, &tx); // returns instead of blocking on a closed channel
    }
}
