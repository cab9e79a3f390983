//! Prometheus's remote storage endpoints, served by the daemon.
//!
//! * [`receive`]: `POST /api/v1/write`, the remote write 1.0 receiver (on with
//!   `--web.enable-remote-write-receiver`, 404 otherwise): snappy-compressed
//!   `prometheus.WriteRequest`s are decoded, validated and appended to the store in one batch
//!   per request.
//! * [`read`]: `POST /api/v1/read`, remote read (always on): each query of a
//!   `prometheus.ReadRequest` is selected from the store and answered as one
//!   snappy-compressed `ReadResponse` of samples, or as a stream of `ChunkedReadResponse`
//!   frames of XOR chunks, whichever the client lists first in `accepted_response_types`.
//! * [`xor`]: XOR chunks in Prometheus's layout for the streamed answers.
//! * [`write`](mod@write): remote write *out* — samples read from the WAL are sent to the
//!   `remote_write` destinations of the configuration, resuming after outages and restarts
//!   from a persisted position.
//!
//! Both endpoints answer 503 until the store is open and ready (and again once shutdown
//! begins), as Prometheus's do. The external labels of the configuration (`global.external_labels`,
//! updated on reload) are added to every series remote read returns, and equality matchers on
//! them are turned into matchers for the label's absence, as Prometheus does. What differs from
//! Prometheus is listed in `docs/remote.md`.

pub mod read;
pub mod receive;
pub mod write;
pub mod xor;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use model::metrics::{Counter, CounterVec, Gauge, Registry};
use parking_lot::RwLock;

use crate::storage::Storage;

/// Largest snappy-compressed body accepted on either endpoint (Prometheus reads at most as
/// much of a remote read request).
pub const MAX_COMPRESSED_BYTES: usize = 32 << 20;
/// Largest decompressed write request; a body claiming more is refused before decompression.
pub const MAX_DECOMPRESSED_BYTES: usize = 128 << 20;

/// The settings of both endpoints, from the `vane run` flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--web.enable-remote-write-receiver`.
    pub receive: bool,
    /// `--storage.remote.read-sample-limit`: most samples one query of a `SAMPLES` answer may
    /// hold (0: no limit). Streamed answers are not limited by it, as in Prometheus.
    pub read_sample_limit: u64,
    /// `--storage.remote.read-concurrent-limit`: remote reads run at once; more wait (0: no
    /// limit).
    pub read_concurrent_limit: usize,
    /// `--storage.remote.read-max-bytes-in-frame`: target size of a streamed frame.
    pub read_max_bytes_in_frame: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            receive: false,
            read_sample_limit: 50_000_000,
            read_concurrent_limit: 10,
            read_max_bytes_in_frame: 1 << 20,
        }
    }
}

/// What the two handlers share.
pub struct Remote {
    /// The store, once it is open.
    store: Arc<OnceLock<Storage>>,
    /// The daemon's readiness (`/-/ready`): false while the store replays and after shutdown
    /// begins.
    ready: Arc<AtomicBool>,
    options: Options,
    external_labels: RwLock<Arc<BTreeMap<String, String>>>,
    read_slots: Option<Arc<tokio::sync::Semaphore>>,
    metrics: Metrics,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("options", &self.options)
            .field("store_open", &self.store.get().is_some())
            .finish()
    }
}

impl Remote {
    /// The endpoints' state; registers their metrics in `reg`.
    pub fn new(
        store: Arc<OnceLock<Storage>>,
        ready: Arc<AtomicBool>,
        options: Options,
        external_labels: &BTreeMap<String, String>,
        reg: &Registry,
    ) -> Remote {
        let read_slots = (options.read_concurrent_limit > 0)
            .then(|| Arc::new(tokio::sync::Semaphore::new(options.read_concurrent_limit)));
        Remote {
            store,
            ready,
            options,
            external_labels: RwLock::new(Arc::new(external_labels.clone())),
            read_slots,
            metrics: Metrics::new(reg),
        }
    }

    /// Applies the external labels of a (re)loaded configuration.
    pub fn set_external_labels(&self, labels: &BTreeMap<String, String>) {
        *self.external_labels.write() = Arc::new(labels.clone());
    }

    fn external_labels(&self) -> Arc<BTreeMap<String, String>> {
        self.external_labels.read().clone()
    }

    /// The store if the daemon is ready, else the 503 Prometheus answers before it is.
    // The error is the finished answer, returned once per request: boxing it buys nothing.
    #[allow(clippy::result_large_err)]
    fn ready_store(&self) -> Result<Storage, Response> {
        match self.store.get() {
            Some(s) if self.ready.load(Ordering::Acquire) => Ok(s.clone()),
            _ => Err((StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()),
        }
    }
}

/// The routes of both endpoints.
pub fn router(remote: Arc<Remote>) -> Router {
    Router::new()
        .route("/api/v1/write", post(receive::write))
        .route("/api/v1/read", post(read::read))
        .with_state(remote)
}

/// The endpoints' own metrics.
struct Metrics {
    write_requests: CounterVec,
    write_samples: Arc<Counter>,
    write_rejected: CounterVec,
    write_exemplars: Arc<Counter>,
    read_requests: CounterVec,
    read_queries: Arc<Gauge>,
}

impl Metrics {
    fn new(r: &Registry) -> Metrics {
        Metrics {
            write_requests: r.counter_vec(
                "vane_remote_write_received_requests_total",
                "Remote write requests received, by HTTP status code of the answer.",
                &["code"],
            ),
            write_samples: r.counter(
                "vane_remote_write_received_samples_total",
                "Samples (floats and native histograms) in remote write requests that were decoded; those not stored are also counted in vane_remote_write_rejected_samples_total.",
            ),
            write_rejected: r.counter_vec(
                "vane_remote_write_rejected_samples_total",
                "Received remote write samples not stored, by reason (invalid_labels, out_of_order, out_of_bounds, duplicate, native_histogram).",
                &["reason"],
            ),
            write_exemplars: r.counter(
                "vane_remote_write_dropped_exemplars_total",
                "Exemplars received by remote write and dropped (Vane stores no exemplars).",
            ),
            read_requests: r.counter_vec(
                "vane_remote_read_requests_total",
                "Remote read requests answered, by HTTP status code.",
                &["code"],
            ),
            read_queries: r.gauge(
                "vane_remote_read_queries",
                "Remote read requests being executed or waiting for a slot.",
            ),
        }
    }
}

/// A plain-text answer, as Go's `http.Error` writes them (text and a newline).
fn text_error(status: StatusCode, msg: impl std::fmt::Display) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        format!("{msg}\n"),
    )
        .into_response()
}

/// Reads a request body of at most [`MAX_COMPRESSED_BYTES`]; more is answered 413.
async fn read_body(body: axum::body::Body) -> Result<Vec<u8>, Response> {
    use futures_core::Stream;
    let mut s = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut s).poll_next(cx)).await
    {
        let chunk = chunk.map_err(|e| {
            text_error(
                StatusCode::BAD_REQUEST,
                format!("reading the request body: {e}"),
            )
        })?;
        if out.len() + chunk.len() > MAX_COMPRESSED_BYTES {
            return Err(text_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {MAX_COMPRESSED_BYTES} bytes"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
