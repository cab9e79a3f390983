//! The HTTP side of a scrape: request, status, content type, size limit.

use std::time::Duration;

use super::conn::{Fetched, TargetConn};
use super::{FailReason, ScrapeError};
use crate::config::HttpClientConfig;
use crate::http_client;
use crate::textparse::Format;

/// The `Accept` header Prometheus sends: OpenMetrics preferred, text 0.0.4 accepted.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn timed_out() -> ScrapeError {
    ScrapeError {
        reason: FailReason::Timeout,
        msg: "context deadline exceeded: the scrape timed out".into(),
    }
}

fn http_err(e: reqwest::Error) -> ScrapeError {
    if e.is_timeout() {
        return timed_out();
    }
    // The full chain says what went wrong (refused, reset, DNS, TLS).
    http_error(chain(&e))
}

pub(super) fn http_error(msg: String) -> ScrapeError {
    ScrapeError {
        reason: FailReason::Http,
        msg,
    }
}

pub(super) fn bad_status(status: impl std::fmt::Display) -> ScrapeError {
    http_error(format!("server returned HTTP status {status}"))
}

pub(super) fn too_large(limit: u64) -> ScrapeError {
    ScrapeError {
        reason: FailReason::BodyTooLarge,
        msg: format!("body size limit exceeded: the body is larger than {limit} bytes"),
    }
}

/// The body's format by its `Content-Type`: OpenMetrics if it says so, else text 0.0.4.
pub(super) fn format_of(content_type: Option<&str>) -> Format {
    match content_type {
        Some(ct) if ct.trim_start().starts_with("application/openmetrics-text") => {
            Format::OpenMetrics
        }
        _ => Format::Text,
    }
}

/// The error and its causes, as one line.
pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Fetches `url` into `buf` (cleared first) and says which format the body is in. The whole
/// exchange, body included, must end within `timeout`; a body (after gzip decoding) longer than
/// `limit` bytes fails the scrape. Plain-HTTP targets are fetched over the loop's own
/// connection `conn`; HTTPS, proxies and redirects through the job's client.
pub(super) async fn fetch(
    client: &reqwest::Client,
    http: &HttpClientConfig,
    conn: &mut TargetConn,
    url: &str,
    timeout: Duration,
    limit: u64,
    buf: &mut Vec<u8>,
) -> Result<Format, ScrapeError> {
    buf.clear();
    let req = client
        .get(url)
        .header(reqwest::header::ACCEPT, ACCEPT_HEADER)
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", timeout.as_secs_f64()),
        )
        .timeout(timeout);
    let req = http_client::authorize(req, http)
        .map_err(http_error)?
        .build()
        .map_err(http_err)?;
    if TargetConn::applies(&req, http.proxy_url.is_some()) {
        let follow = http.follow_redirects.unwrap_or(true);
        match tokio::time::timeout(timeout, conn.fetch(&req, follow, limit, buf)).await {
            Err(_) => {
                // The exchange was cut off midway: the connection cannot be reused.
                *conn = TargetConn::default();
                return Err(timed_out());
            }
            Ok(Ok(Fetched::Body(format))) => return Ok(format),
            Ok(Ok(Fetched::Redirect)) => buf.clear(),
            Ok(Err(e)) => return Err(e),
        }
    }
    let mut resp = client.execute(req).await.map_err(http_err)?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(bad_status(resp.status()));
    }
    let format = format_of(
        resp.headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    while let Some(chunk) = resp.chunk().await.map_err(http_err)? {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(format)
}
