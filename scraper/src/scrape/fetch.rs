//! The HTTP side of a scrape: request, status, content type, size limit.

use std::time::Duration;

use super::{FailReason, ScrapeError};
use crate::config::HttpClientConfig;
use crate::http_client;
use crate::textparse::Format;

/// The `Accept` header Prometheus sends: OpenMetrics preferred, text 0.0.4 accepted.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn http_err(e: reqwest::Error) -> ScrapeError {
    if e.is_timeout() {
        return ScrapeError {
            reason: FailReason::Timeout,
            msg: "context deadline exceeded: the scrape timed out".into(),
        };
    }
    // The full chain says what went wrong (refused, reset, DNS, TLS).
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ScrapeError {
        reason: FailReason::Http,
        msg,
    }
}

/// Fetches `url` into `buf` (cleared first) and says which format the body is in. The whole
/// exchange, body included, must end within `timeout`; a body (after gzip decoding) longer than
/// `limit` bytes fails the scrape.
pub async fn fetch(
    client: &reqwest::Client,
    http: &HttpClientConfig,
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
    let req = http_client::authorize(req, http).map_err(|msg| ScrapeError {
        reason: FailReason::Http,
        msg,
    })?;
    let mut resp = req.send().await.map_err(http_err)?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(ScrapeError {
            reason: FailReason::Http,
            msg: format!("server returned HTTP status {}", resp.status()),
        });
    }
    let format = match resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(ct) if ct.trim_start().starts_with("application/openmetrics-text") => {
            Format::OpenMetrics
        }
        _ => Format::Text,
    };
    while let Some(chunk) = resp.chunk().await.map_err(http_err)? {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(ScrapeError {
                reason: FailReason::BodyTooLarge,
                msg: format!("body size limit exceeded: the body is larger than {limit} bytes"),
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(format)
}
