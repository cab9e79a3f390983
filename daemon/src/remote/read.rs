//! `POST /api/v1/read`: remote read.
//!
//! The body is a snappy-compressed `prometheus.ReadRequest`. The answer's type is the first
//! of `accepted_response_types` that Vane serves (`SAMPLES` when the list is empty, 400 when
//! none is known):
//!
//! * `SAMPLES`: one `ReadResponse`, snappy-compressed, with a `QueryResult` per query;
//!   `Content-Type: application/x-protobuf`, `Content-Encoding: snappy`. A query returning
//!   more than `--storage.remote.read-sample-limit` samples fails the request with 400
//!   `exceeded sample limit (N)`.
//! * `STREAMED_XOR_CHUNKS`: `Content-Type: application/x-streamed-protobuf;
//!   proto=prometheus.ChunkedReadResponse`, a sequence of frames, each the uvarint length of a
//!   `ChunkedReadResponse`, the big-endian CRC32C (Castagnoli) of it, then the message. A frame
//!   holds chunks of one series (with the `query_index` of its query); a series whose chunks
//!   pass `--storage.remote.read-max-bytes-in-frame` (less its labels' size) continues in
//!   further frames, as Prometheus cuts them (a frame may exceed the limit by one chunk).
//!   Chunks are XOR chunks of at most 120 samples in Prometheus's layout ([`super::xor`]),
//!   encoded here from the samples in the queried range: the store's own chunks differ in the
//!   first value's encoding and may reach past the range, so they are not shipped as they are.
//!   Frames go out as they are built, through a small channel, so memory stays at a few
//!   frames whatever the answer's size.
//!
//! Errors before the first frame are answered with their status (400 for a request that does
//! not decode or names an unknown matcher type or a bad regex, 500 for a store fault, 503
//! before the store is ready). An error after frames went out can only cut the stream, which
//! the client sees as a broken response, as with Prometheus.
//!
//! At most `--storage.remote.read-concurrent-limit` requests run at once; more wait for a
//! slot, as in Prometheus.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::storage::{Error as StoreError, Queryable, SelectHints, Series};
use model::{Labels, MatchType, Matcher};
use prost::Message;
use proto::prompb::{self, ResponseType};
use tokio::sync::mpsc;
use tsdb::Db;

use super::xor::{self, MAX_SAMPLES_PER_CHUNK};
use super::{Remote, read_body, text_error};

type Refusal = (StatusCode, String);

/// The handler.
pub(super) async fn read(State(r): State<Arc<Remote>>, req: Request) -> Response {
    let resp = handle(&r, req).await;
    r.metrics
        .read_requests
        .with(&[resp.status().as_str()])
        .inc();
    resp
}

/// Counts a request in `vane_remote_read_queries` while it waits or runs.
struct InFlight(Arc<Remote>);

impl InFlight {
    fn new(r: &Arc<Remote>) -> Self {
        r.metrics.read_queries.inc();
        InFlight(r.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.read_queries.dec();
    }
}

/// What a request holds while it runs: its place in the gauge and its slot.
struct Running {
    _in_flight: InFlight,
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

async fn handle(r: &Arc<Remote>, req: Request) -> Response {
    let db = match r.ready_store() {
        Ok(s) => match s.full() {
            Some(db) => db.clone(),
            None => {
                return text_error(
                    StatusCode::NOT_IMPLEMENTED,
                    "remote read is unavailable in agent mode",
                );
            }
        },
        Err(resp) => return resp,
    };
    let in_flight = InFlight::new(r);
    let slot = match &r.read_slots {
        Some(s) => match s.clone().acquire_owned().await {
            Ok(p) => Some(p),
            Err(e) => return text_error(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        None => None,
    };
    let running = Running {
        _in_flight: in_flight,
        _slot: slot,
    };
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let ext = r.external_labels();
    let (kind, queries) = match decode(&body, &ext) {
        Ok(x) => x,
        Err((status, msg)) => return text_error(status, msg),
    };
    let ext: Vec<prompb::Label> = ext
        .iter()
        .map(|(n, v)| prompb::Label {
            name: n.clone(),
            value: v.clone(),
        })
        .collect();
    match kind {
        ResponseType::Samples => {
            let limit = r.options.read_sample_limit;
            let answer = tokio::task::spawn_blocking(move || {
                let _running = running;
                samples(&db, &queries, &ext, limit)
            })
            .await;
            match answer {
                Ok(Ok(body)) => (
                    [
                        (header::CONTENT_TYPE, "application/x-protobuf"),
                        (header::CONTENT_ENCODING, "snappy"),
                    ],
                    body,
                )
                    .into_response(),
                Ok(Err((status, msg))) => text_error(status, msg),
                Err(e) => text_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("task failed: {e}"),
                ),
            }
        }
        ResponseType::StreamedXorChunks => {
            let max_frame = r.options.read_max_bytes_in_frame;
            let (tx, mut rx) = mpsc::channel(2);
            tokio::task::spawn_blocking(move || {
                let _running = running;
                if let Err((status, msg)) = stream(&db, &queries, &ext, max_frame, &tx) {
                    tracing::warn!(error = %msg, "remote read failed");
                    let _ = tx.blocking_send(Msg::Fail(status, msg));
                }
            });
            let first = match rx.recv().await {
                Some(Msg::Fail(status, msg)) => return text_error(status, msg),
                Some(Msg::Frame(b)) => Some(b),
                None => None,
            };
            (
                [(
                    header::CONTENT_TYPE,
                    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
                )],
                Body::from_stream(Frames { first, rx }),
            )
                .into_response()
        }
    }
}

/// One decoded query: its range, hints and matchers (external labels filtered).
struct Query {
    start: i64,
    end: i64,
    hints: SelectHints,
    matchers: Vec<Matcher>,
}

/// The request: its answer type and queries.
fn decode(
    body: &[u8],
    ext: &BTreeMap<String, String>,
) -> Result<(ResponseType, Vec<Query>), Refusal> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| bad(format!("snappy: {e}")))?;
    let req =
        prompb::ReadRequest::decode(raw.as_slice()).map_err(|e| bad(format!("protobuf: {e}")))?;
    let kind = negotiate(&req.accepted_response_types).map_err(bad)?;
    let mut queries = Vec::with_capacity(req.queries.len());
    for q in &req.queries {
        let mut hints = SelectHints {
            start: q.start_timestamp_ms,
            end: q.end_timestamp_ms,
            ..SelectHints::default()
        };
        if let Some(h) = &q.hints {
            hints.step = h.step_ms;
            hints.func = (!h.func.is_empty()).then(|| h.func.clone());
        }
        queries.push(Query {
            start: q.start_timestamp_ms,
            end: q.end_timestamp_ms,
            hints,
            matchers: matchers(&q.matchers, ext).map_err(bad)?,
        });
    }
    Ok((kind, queries))
}

/// The first accepted type Vane serves; `SAMPLES` if the client lists none.
fn negotiate(accepted: &[i32]) -> Result<ResponseType, String> {
    if accepted.is_empty() {
        return Ok(ResponseType::Samples);
    }
    accepted
        .iter()
        .find_map(|&t| ResponseType::try_from(t).ok())
        .ok_or_else(|| {
            format!(
                "server does not support any of the requested response types: {accepted:?}; supported: [SAMPLES STREAMED_XOR_CHUNKS]"
            )
        })
}

/// The query's matchers as the store takes them. An equality matcher on an external label
/// with the external value becomes `name=""`: the stored series do not carry the label,
/// which is added on the way out (Prometheus's `filterExtLabelsFromMatchers`).
fn matchers(
    pb: &[prompb::LabelMatcher],
    ext: &BTreeMap<String, String>,
) -> Result<Vec<Matcher>, String> {
    pb.iter()
        .map(|m| {
            let kind = match prompb::MatchType::try_from(m.r#type) {
                Ok(prompb::MatchType::Eq) => MatchType::Equal,
                Ok(prompb::MatchType::Neq) => MatchType::NotEqual,
                Ok(prompb::MatchType::Re) => MatchType::RegexMatch,
                Ok(prompb::MatchType::Nre) => MatchType::RegexNoMatch,
                Err(_) => return Err(format!("invalid matcher type {}", m.r#type)),
            };
            let external = kind == MatchType::Equal && ext.get(&m.name) == Some(&m.value);
            let value = if external { "" } else { m.value.as_str() };
            Matcher::new(kind, m.name.as_str(), value)
        })
        .collect()
}

/// A series' labels with the external labels added; the series' own win on a clash.
fn with_external(labels: &Labels, ext: &[prompb::Label]) -> Vec<prompb::Label> {
    let own = labels.as_slice();
    let mut out = Vec::with_capacity(own.len() + ext.len());
    let (mut i, mut j) = (0, 0);
    while i < own.len() || j < ext.len() {
        let take_own = match (own.get(i), ext.get(j)) {
            (Some(a), Some(b)) => {
                if *a.name == *b.name {
                    j += 1;
                }
                *a.name <= *b.name
            }
            (Some(_), None) => true,
            _ => false,
        };
        if take_own {
            out.push(prompb::Label {
                name: own[i].name.to_string(),
                value: own[i].value.to_string(),
            });
            i += 1;
        } else {
            out.push(ext[j].clone());
            j += 1;
        }
    }
    out
}

fn store_fault(e: StoreError) -> Refusal {
    let status = match e {
        StoreError::Closed => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, e.to_string())
}

/// The series of one query, in label order.
fn select(db: &Db, q: &Query) -> Result<Vec<Box<dyn Series>>, Refusal> {
    let querier = Queryable::querier(db, q.start, q.end).map_err(store_fault)?;
    querier.select(&q.hints, &q.matchers).map_err(store_fault)
}

/// The `SAMPLES` answer, compressed.
fn samples(
    db: &Db,
    queries: &[Query],
    ext: &[prompb::Label],
    limit: u64,
) -> Result<Vec<u8>, Refusal> {
    let mut resp = prompb::ReadResponse {
        results: Vec::with_capacity(queries.len()),
    };
    let mut buf = Vec::new();
    for q in queries {
        let mut result = prompb::QueryResult::default();
        let mut n = 0u64;
        for s in select(db, q)? {
            buf.clear();
            let mut it = s.iter();
            it.read_into(q.start, q.end, &mut buf);
            if let Some(e) = it.err() {
                return Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string()));
            }
            if buf.is_empty() {
                continue;
            }
            n += buf.len() as u64;
            if limit > 0 && n > limit {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("exceeded sample limit ({limit})"),
                ));
            }
            result.timeseries.push(prompb::TimeSeries {
                labels: with_external(s.labels(), ext),
                samples: buf
                    .iter()
                    .map(|&(timestamp, value)| prompb::Sample { value, timestamp })
                    .collect(),
                ..Default::default()
            });
        }
        resp.results.push(result);
    }
    snap::raw::Encoder::new()
        .compress_vec(&resp.encode_to_vec())
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("snappy: {e}")))
}

/// What the producer of a streamed answer sends to the response body.
enum Msg {
    Frame(Bytes),
    Fail(StatusCode, String),
}

/// The streamed body: the first frame (already received), then the channel.
struct Frames {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Msg>,
}

impl futures_core::Stream for Frames {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(b)));
        }
        self.rx.poll_recv(cx).map(|m| {
            m.map(|m| match m {
                Msg::Frame(b) => Ok(b),
                Msg::Fail(_, msg) => Err(std::io::Error::other(msg)),
            })
        })
    }
}

/// One frame: uvarint length, big-endian CRC32C of the message, the message.
pub(crate) fn frame(msg: &prompb::ChunkedReadResponse) -> Vec<u8> {
    let body = msg.encode_to_vec();
    let mut out = Vec::with_capacity(body.len() + 14);
    let mut n = body.len() as u64;
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Produces the streamed answer; stops quietly when the client goes away.
fn stream(
    db: &Db,
    queries: &[Query],
    ext: &[prompb::Label],
    max_frame: usize,
    tx: &mpsc::Sender<Msg>,
) -> Result<(), Refusal> {
    let send = |series: &mut prompb::ChunkedSeries, index: usize| -> bool {
        let msg = prompb::ChunkedReadResponse {
            chunked_series: vec![std::mem::take(series)],
            query_index: index as i64,
        };
        let ok = tx.blocking_send(Msg::Frame(frame(&msg).into())).is_ok();
        // Keep the labels for the series' next frame.
        *series = prompb::ChunkedSeries {
            labels: msg
                .chunked_series
                .into_iter()
                .next()
                .map(|s| s.labels)
                .unwrap_or_default(),
            chunks: Vec::new(),
        };
        ok
    };
    let mut buf: Vec<(i64, f64)> = Vec::with_capacity(MAX_SAMPLES_PER_CHUNK);
    for (index, q) in queries.iter().enumerate() {
        for s in select(db, q)? {
            let mut out = prompb::ChunkedSeries {
                labels: with_external(s.labels(), ext),
                chunks: Vec::new(),
            };
            let budget = max_frame as i64
                - out
                    .labels
                    .iter()
                    .map(|l| l.encoded_len() as i64)
                    .sum::<i64>();
            let mut left = budget;
            let mut it = s.iter();
            let mut more = it.seek(q.start) && it.at().0 <= q.end;
            while more {
                buf.clear();
                while more && buf.len() < MAX_SAMPLES_PER_CHUNK {
                    buf.push(it.at());
                    more = it.next() && it.at().0 <= q.end;
                }
                let chunk = prompb::Chunk {
                    min_time_ms: buf[0].0,
                    max_time_ms: buf[buf.len() - 1].0,
                    r#type: prompb::ChunkEncoding::Xor as i32,
                    data: xor::encode(&buf),
                };
                left -= chunk.encoded_len() as i64;
                out.chunks.push(chunk);
                if (left <= 0 || !more) && !send(&mut out, index) {
                    return Ok(());
                }
                if left <= 0 {
                    left = budget;
                }
            }
            if let Some(e) = it.err() {
                return Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_known_response_type_wins() {
        let (s, c) = (
            ResponseType::Samples as i32,
            ResponseType::StreamedXorChunks as i32,
        );
        assert_eq!(negotiate(&[]).unwrap(), ResponseType::Samples);
        assert_eq!(negotiate(&[c, s]).unwrap(), ResponseType::StreamedXorChunks);
        assert_eq!(negotiate(&[7, s, c]).unwrap(), ResponseType::Samples);
        assert!(negotiate(&[7]).unwrap_err().contains("does not support"));
    }

    #[test]
    fn equality_on_an_external_label_looks_for_its_absence() {
        let ext = BTreeMap::from([("region".to_string(), "eu".to_string())]);
        let m = |t: prompb::MatchType, n: &str, v: &str| prompb::LabelMatcher {
            r#type: t as i32,
            name: n.into(),
            value: v.into(),
        };
        use prompb::MatchType::*;
        let got = matchers(
            &[
                m(Eq, "region", "eu"),
                m(Eq, "region", "us"),
                m(Re, "region", "eu"),
                m(Nre, "job", "a|b"),
                m(Neq, "x", ""),
            ],
            &ext,
        )
        .unwrap();
        let shown: Vec<String> = got.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            shown,
            [
                "region=\"\"",
                "region=\"us\"",
                "region=~\"eu\"",
                "job!~\"a|b\"",
                "x!=\"\""
            ]
        );
        assert!(matchers(&[m(Re, "a", "(")], &ext).is_err());
        let bad = prompb::LabelMatcher {
            r#type: 9,
            ..Default::default()
        };
        assert!(
            matchers(&[bad], &ext)
                .unwrap_err()
                .contains("invalid matcher type")
        );
    }

    #[test]
    fn external_labels_are_merged_and_the_series_own_win() {
        let ls = Labels::from_pairs([("__name__", "up"), ("job", "a"), ("region", "own")]);
        let ext: Vec<prompb::Label> = [("a", "1"), ("region", "eu"), ("zone", "z")]
            .iter()
            .map(|(n, v)| prompb::Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect();
        let got: Vec<(String, String)> = with_external(&ls, &ext)
            .into_iter()
            .map(|l| (l.name, l.value))
            .collect();
        let want: Vec<(String, String)> = [
            ("__name__", "up"),
            ("a", "1"),
            ("job", "a"),
            ("region", "own"),
            ("zone", "z"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn frames_carry_length_then_checksum_then_message() {
        let msg = prompb::ChunkedReadResponse {
            chunked_series: vec![prompb::ChunkedSeries {
                labels: vec![prompb::Label {
                    name: "__name__".into(),
                    value: "up".into(),
                }],
                chunks: vec![prompb::Chunk {
                    min_time_ms: 1,
                    max_time_ms: 1,
                    r#type: 1,
                    data: xor::encode(&[(1, 1.0)]),
                }],
            }],
            query_index: 3,
        };
        let f = frame(&msg);
        let body = msg.encode_to_vec();
        assert!(body.len() < 128);
        assert_eq!(f[0] as usize, body.len());
        assert_eq!(&f[1..5], &crc32c::crc32c(&body).to_be_bytes());
        assert_eq!(&f[5..], &body[..]);
        assert_eq!(prompb::ChunkedReadResponse::decode(&f[5..]).unwrap(), msg);
    }
}
