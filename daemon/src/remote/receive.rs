//! `POST /api/v1/write`: the remote write 1.0 receiver.
//!
//! A request is read (at most [`MAX_COMPRESSED_BYTES`](super::MAX_COMPRESSED_BYTES), else
//! 413), snappy-decompressed (block format; at most
//! [`MAX_DECOMPRESSED_BYTES`](super::MAX_DECOMPRESSED_BYTES)) and decoded as a
//! `prometheus.WriteRequest`; a body that fails any step is answered 400 with the reason.
//! Every series' labels are then checked as the specification requires (names non-empty,
//! sorted, unique, a metric name; UTF-8 is checked by the decoder); one invalid series
//! refuses the whole request with 400 and nothing is stored. Labels with empty values are
//! dropped, as a label with an empty value is the same as no label.
//!
//! The float samples go to the store through one [`model::Appender`] batch, committed once.
//! Staleness markers are stored bit for bit. A sample the store refuses (out of order, too
//! old, a different value at the same timestamp) or one more than ten minutes in the future
//! is dropped and counted, the others are stored, and the answer is 400 naming the first
//! refusal: the sender must not retry data that can never be stored. Native histogram
//! samples are not stored: they are counted and answered in the same way. Exemplars and
//! metadata are dropped silently (exemplars are counted), as a Prometheus without exemplar
//! storage does. A store fault answers 500 (503 while closed), and the batch is rolled
//! back, so a retry cannot store a sample twice.

use std::sync::Arc;

use crate::storage::Storage;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::storage::{Error as StoreError, SeriesRef};
use model::{Label, Labels};
use proto::prompb;

use super::{MAX_DECOMPRESSED_BYTES, Remote, read_body, text_error};

/// How far past the receiver's clock a sample may lie (as Prometheus's receiver allows).
const MAX_AHEAD_MS: i64 = 10 * 60 * 1000;

/// The handler.
pub(super) async fn write(State(r): State<Arc<Remote>>, req: Request) -> Response {
    let resp = handle(&r, req).await;
    r.metrics
        .write_requests
        .with(&[resp.status().as_str()])
        .inc();
    resp
}

async fn handle(r: &Arc<Remote>, req: Request) -> Response {
    if !r.options.receive {
        return text_error(
            StatusCode::NOT_FOUND,
            "remote write receiver needs to be enabled with --web.enable-remote-write-receiver",
        );
    }
    let db = match r.ready_store() {
        Ok(db) => db,
        Err(resp) => return resp,
    };
    if let Err(msg) = check_headers(req.headers()) {
        return text_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, msg);
    }
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let wr = match decode(&body) {
        Ok(wr) => wr,
        Err((status, msg)) => {
            tracing::warn!(error = %msg, "refused a remote write request");
            return text_error(status, msg);
        }
    };
    let r2 = r.clone();
    let now = now_ms();
    match tokio::task::spawn_blocking(move || ingest(&r2, &db, &wr, now + MAX_AHEAD_MS)).await {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err((status, msg))) => text_error(status, msg),
        Err(e) => text_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("task failed: {e}"),
        ),
    }
}

/// Refuses encodings and message types this receiver cannot read (415), so that a sender
/// able to fall back (remote write 2.0 senders do) gets a clear answer. Missing headers are
/// accepted, as Prometheus's 1.0 receiver accepts them.
fn check_headers(h: &HeaderMap) -> Result<(), String> {
    if let Some(enc) = h.get(header::CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("").trim();
        if !enc.eq_ignore_ascii_case("snappy") {
            return Err(format!(
                "unsupported Content-Encoding {enc:?}: only snappy is supported"
            ));
        }
    }
    if let Some(ct) = h.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        let mut parts = ct.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let proto = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("proto"))
            .map(|(_, v)| v.trim());
        if !media.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(format!(
                "unsupported Content-Type {ct:?}: expected application/x-protobuf"
            ));
        }
        if let Some(p) = proto
            && p != "prometheus.WriteRequest"
        {
            return Err(format!(
                "unsupported proto {p:?}: only prometheus.WriteRequest (remote write 1.0) is supported"
            ));
        }
    }
    Ok(())
}

type Refusal = (StatusCode, String);

/// Snappy block format, then the protobuf message.
fn decode(body: &[u8]) -> Result<prompb::WriteRequest, Refusal> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let n = snap::raw::decompress_len(body).map_err(|e| bad(format!("snappy: {e}")))?;
    if n > MAX_DECOMPRESSED_BYTES {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the decompressed request would be {n} bytes, more than the limit of {MAX_DECOMPRESSED_BYTES}"
            ),
        ));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| bad(format!("snappy: {e}")))?;
    prost::Message::decode(raw.as_slice()).map_err(|e| bad(format!("protobuf: {e}")))
}

/// Checks one series' labels and builds the label set to store.
fn series_labels(ls: &[prompb::Label]) -> Result<Labels, String> {
    let mut out = Vec::with_capacity(ls.len());
    for (i, l) in ls.iter().enumerate() {
        if l.name.is_empty() {
            return Err("a label name is empty".into());
        }
        if i > 0 {
            let prev = &ls[i - 1].name;
            if *prev == l.name {
                return Err(format!("label name {:?} is repeated", l.name));
            }
            if *prev > l.name {
                return Err(format!(
                    "labels are not sorted by name ({:?} comes before {:?})",
                    prev, l.name
                ));
            }
        }
        if !l.value.is_empty() {
            out.push(Label::new(l.name.as_str(), l.value.as_str()));
        }
    }
    let labels = Labels::from_sorted(out);
    if labels.metric_name().is_empty() {
        return Err("no metric name (__name__)".into());
    }
    Ok(labels)
}

/// Labels as the request gave them, for error messages.
fn show(ls: &[prompb::Label]) -> String {
    let inner: Vec<String> = ls
        .iter()
        .map(|l| format!("{}={:?}", l.name, l.value))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Why samples of a request were not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    OutOfOrder,
    OutOfBounds,
    Duplicate,
    NativeHistogram,
}

impl Reason {
    const ALL: [Reason; 4] = [
        Reason::OutOfOrder,
        Reason::OutOfBounds,
        Reason::Duplicate,
        Reason::NativeHistogram,
    ];

    fn label(self) -> &'static str {
        match self {
            Reason::OutOfOrder => "out_of_order",
            Reason::OutOfBounds => "out_of_bounds",
            Reason::Duplicate => "duplicate",
            Reason::NativeHistogram => "native_histogram",
        }
    }
}

/// Refused samples of one request: counts by reason and the first refusal's message.
#[derive(Debug, Default)]
struct Refused {
    counts: [u64; 4],
    first: Option<String>,
}

impl Refused {
    fn add(&mut self, reason: Reason, n: u64, msg: impl FnOnce() -> String) {
        self.counts[reason as usize] += n;
        if self.first.is_none() {
            self.first = Some(msg());
        }
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The 400 answer: the first refusal, then the counts.
    fn message(&self) -> String {
        let counts: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| self.counts[**r as usize] > 0)
            .map(|r| format!("{} {}", self.counts[*r as usize], r.label()))
            .collect();
        format!(
            "{}; {} samples of this request were not stored ({}), the others were",
            self.first.as_deref().unwrap_or(""),
            self.total(),
            counts.join(", ")
        )
    }
}

/// Validates the whole request, then appends and commits it.
fn ingest(r: &Remote, db: &Storage, wr: &prompb::WriteRequest, max_t: i64) -> Result<(), Refusal> {
    let m = &r.metrics;
    let (mut floats, mut hists, mut exemplars) = (0u64, 0u64, 0u64);
    for ts in &wr.timeseries {
        floats += ts.samples.len() as u64;
        hists += ts.histograms.len() as u64;
        exemplars += ts.exemplars.len() as u64;
    }
    m.write_samples.add(floats + hists);
    m.write_exemplars.add(exemplars);

    let mut series = Vec::with_capacity(wr.timeseries.len());
    for ts in &wr.timeseries {
        match series_labels(&ts.labels) {
            Ok(l) => series.push(l),
            Err(e) => {
                m.write_rejected
                    .with(&["invalid_labels"])
                    .add(floats + hists);
                let msg = format!("invalid labels for series {}: {e}", show(&ts.labels));
                tracing::warn!(error = %msg, samples = floats + hists, "refused a remote write request");
                return Err((StatusCode::BAD_REQUEST, msg));
            }
        }
    }

    let mut app = db.appendable().appender();
    let mut refused = Refused::default();
    for (ts, labels) in wr.timeseries.iter().zip(&series) {
        let mut sref: Option<SeriesRef> = None;
        for s in &ts.samples {
            if s.timestamp > max_t {
                refused.add(Reason::OutOfBounds, 1, || {
                    format!(
                        "out of bounds: timestamp {} is too far in the future for series {labels}",
                        s.timestamp
                    )
                });
                continue;
            }
            match app.append(sref, labels, s.timestamp, s.value) {
                Ok(x) => sref = Some(x),
                Err(e) if e.is_sample_rejection() => {
                    let reason = match e {
                        StoreError::OutOfOrderSample => Reason::OutOfOrder,
                        StoreError::DuplicateSampleForTimestamp => Reason::Duplicate,
                        _ => Reason::OutOfBounds,
                    };
                    refused.add(reason, 1, || {
                        format!("{e} for series {labels} at timestamp {}", s.timestamp)
                    });
                }
                Err(e) => {
                    let _ = app.rollback();
                    return Err(store_fault(e));
                }
            }
        }
        if !ts.histograms.is_empty() {
            refused.add(Reason::NativeHistogram, ts.histograms.len() as u64, || {
                format!("native histograms are not supported (series {labels})")
            });
        }
    }
    app.commit().map_err(store_fault)?;

    for reason in Reason::ALL {
        let n = refused.counts[reason as usize];
        if n > 0 {
            m.write_rejected.with(&[reason.label()]).add(n);
        }
    }
    if refused.total() > 0 {
        let msg = refused.message();
        tracing::warn!(error = %msg, "remote write samples not stored");
        return Err((StatusCode::BAD_REQUEST, msg));
    }
    Ok(())
}

/// A store error that is not about one sample: retryable, except labels the store refuses.
fn store_fault(e: StoreError) -> Refusal {
    let status = match e {
        StoreError::Closed => StatusCode::SERVICE_UNAVAILABLE,
        StoreError::InvalidLabels(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status.is_server_error() {
        tracing::error!(error = %e, "remote write batch failed; the sender will retry");
    }
    (status, e.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(name: &str, value: &str) -> prompb::Label {
        prompb::Label {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn labels_are_checked_as_the_specification_requires() {
        let ok = series_labels(&[l("__name__", "up"), l("a", ""), l("job", "x")]).unwrap();
        assert_eq!(ok.to_string(), "up{job=\"x\"}");
        let err = |ls: &[prompb::Label]| series_labels(ls).unwrap_err();
        assert!(err(&[l("job", "x"), l("__name__", "up")]).contains("not sorted"));
        assert!(err(&[l("__name__", "up"), l("a", "1"), l("a", "2")]).contains("repeated"));
        assert!(err(&[l("", "v"), l("__name__", "up")]).contains("empty"));
        assert!(err(&[l("job", "x")]).contains("no metric name"));
        assert!(err(&[l("__name__", ""), l("job", "x")]).contains("no metric name"));
        assert!(err(&[]).contains("no metric name"));
    }

    #[test]
    fn bodies_that_do_not_decode_are_bad_requests() {
        let (status, msg) = decode(b"\xff\xff\xff\xff\xff\xff").unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(msg.starts_with("snappy: "), "{msg}");
        let not_proto = snap::raw::Encoder::new()
            .compress_vec(b"\x0a\xff\x01")
            .unwrap();
        let (status, msg) = decode(&not_proto).unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(msg.starts_with("protobuf: "), "{msg}");
        // A label value that is not UTF-8 fails in the decoder: one series with the label
        // {a="\xff"}.
        let bad_utf8 = [0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, 0xff];
        let body = snap::raw::Encoder::new().compress_vec(&bad_utf8).unwrap();
        assert_eq!(decode(&body).unwrap_err().0, StatusCode::BAD_REQUEST);
        // A snappy header claiming a huge size is refused before decompression.
        let mut huge = Vec::new();
        let mut n = (MAX_DECOMPRESSED_BYTES as u64) + 1;
        while n >= 0x80 {
            huge.push(n as u8 | 0x80);
            n >>= 7;
        }
        huge.push(n as u8);
        assert_eq!(decode(&huge).unwrap_err().0, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn headers_of_other_encodings_and_messages_are_refused() {
        let h = |pairs: &[(&str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            check_headers(&m)
        };
        assert!(h(&[]).is_ok());
        assert!(
            h(&[
                ("content-encoding", "snappy"),
                ("content-type", "application/x-protobuf")
            ])
            .is_ok()
        );
        assert!(
            h(&[(
                "content-type",
                "application/x-protobuf;proto=prometheus.WriteRequest"
            )])
            .is_ok()
        );
        assert!(h(&[("content-encoding", "zstd")]).is_err());
        assert!(
            h(&[(
                "content-type",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request"
            )])
            .is_err()
        );
        assert!(h(&[("content-type", "application/json")]).is_err());
    }

    #[test]
    fn refusals_name_the_first_and_count_all() {
        let mut r = Refused::default();
        r.add(Reason::OutOfOrder, 1, || {
            "out of order sample for series up{}".into()
        });
        r.add(Reason::OutOfOrder, 1, || unreachable!());
        r.add(Reason::NativeHistogram, 3, || unreachable!());
        assert_eq!(
            r.message(),
            "out of order sample for series up{}; 5 samples of this request were not stored (2 out_of_order, 3 native_histogram), the others were"
        );
    }
}
