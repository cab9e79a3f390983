//! Sending one request body to a destination and classifying the outcome, as the remote
//! write 1.0 specification asks: retry on 5xx, connection errors and timeouts (and on 429
//! when `retry_on_http_429` is set), never on other 4xx.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use scraper::config::HttpClientConfig;

use super::config::RemoteWriteConfig;

/// The protocol version header value of remote write 1.0.
pub const REMOTE_WRITE_VERSION: &str = "0.1.0";
/// Most bytes of an error response kept for the log.
const MAX_ERROR_BODY: usize = 1024;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Try again after a backoff (or the `Retry-After` the destination asked for).
    Recoverable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The destination refused the samples for good; they are dropped.
    Permanent(String),
}

/// The client a queue sends with, replaced on a reload that leaves the destination's
/// settings unchanged (so TLS files are read again, as Prometheus does).
#[derive(Clone)]
pub struct ClientSlot(Arc<parking_lot::RwLock<Arc<Client>>>);

impl ClientSlot {
    pub fn new(c: Client) -> Self {
        ClientSlot(Arc::new(parking_lot::RwLock::new(Arc::new(c))))
    }

    pub fn get(&self) -> Arc<Client> {
        self.0.read().clone()
    }

    pub fn set(&self, c: Client) {
        *self.0.write() = Arc::new(c);
    }
}

/// A destination's HTTP client with its URL, timeout and headers.
pub struct Client {
    http: reqwest::Client,
    http_config: HttpClientConfig,
    url: reqwest::Url,
    timeout: Duration,
    headers: HeaderMap,
    retry_on_429: bool,
}

impl Client {
    /// Builds the client; reads the TLS files now (credential files on every request).
    pub fn new(c: &RemoteWriteConfig) -> Result<Client, String> {
        let http_config = c.http_client();
        let http = scraper::http_client::build(&http_config)?;
        let url = reqwest::Url::parse(&c.url).map_err(|e| format!("invalid url: {e}"))?;
        let mut headers = HeaderMap::new();
        for (k, v) in &c.headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header {k:?}: {e}"))?;
            let value = HeaderValue::from_str(v).map_err(|e| format!("header {k:?}: {e}"))?;
            headers.insert(name, value);
        }
        Ok(Client {
            http,
            http_config,
            url,
            timeout: c.remote_timeout.0,
            headers,
            retry_on_429: c.queue_config.retry_on_http_429,
        })
    }

    /// POSTs one compressed `WriteRequest`. `attempt` counts earlier tries of the same body.
    pub async fn store(&self, body: &[u8], attempt: u32) -> Result<(), SendError> {
        let mut req = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_ENCODING, "snappy")
            .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
            .header(
                reqwest::header::USER_AGENT,
                scraper::http_client::USER_AGENT,
            )
            .header("X-Prometheus-Remote-Write-Version", REMOTE_WRITE_VERSION)
            .body(body.to_vec());
        if attempt > 0 {
            req = req.header("Retry-Attempt", attempt.to_string());
        }
        // Credentials from files are read per request (rotated tokens are picked up); an
        // unreadable file is worth retrying.
        let req = scraper::http_client::authorize(req, &self.http_config).map_err(|e| {
            SendError::Recoverable {
                message: e,
                retry_after: None,
            }
        })?;
        let resp = req.send().await.map_err(|e| SendError::Recoverable {
            message: error_chain(&e),
            retry_after: None,
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = error_body(resp).await;
        let message = format!("server returned HTTP status {status}: {text}");
        if is_recoverable(status, self.retry_on_429) {
            Err(SendError::Recoverable {
                message,
                retry_after,
            })
        } else {
            Err(SendError::Permanent(message))
        }
    }
}

/// Whether a response status is worth retrying.
pub fn is_recoverable(status: StatusCode, retry_on_429: bool) -> bool {
    status.is_server_error() || (retry_on_429 && status == StatusCode::TOO_MANY_REQUESTS)
}

/// `Retry-After`: delay seconds or an HTTP date; `None` if absent, unparsable or past.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return (secs > 0).then(|| Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

async fn error_body(mut resp: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    String::from_utf8_lossy(&body).trim().to_string()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_specification_says() {
        for (code, plain, with_429) in [
            (500, true, true),
            (502, true, true),
            (503, true, true),
            (429, false, true),
            (400, false, false),
            (401, false, false),
            (404, false, false),
            (413, false, false),
            (409, false, false),
        ] {
            let s = StatusCode::from_u16(code).unwrap();
            assert_eq!(is_recoverable(s, false), plain, "{code}");
            assert_eq!(
                is_recoverable(s, true),
                with_429,
                "{code} with retry_on_http_429"
            );
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
        let later = (now + chrono::TimeDelta::seconds(90)).to_rfc2822();
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(80) && d <= Duration::from_secs(90),
            "{d:?}"
        );
    }
}
