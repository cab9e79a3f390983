//! Posting one notification, with Alertmanager's retry policy: a 2xx status is success; a 5xx
//! status, a connection error or a timeout is retried with capped exponential backoff until the
//! group's next notification is due; any other status fails at once.

use std::hash::BuildHasher;
use std::time::Duration;

use model::metrics::Counter;
use tokio::time::Instant;

use super::Settings;
use crate::notify::error_chain;

/// The first wait between attempts is this, or a tenth of `group_interval` when shorter (so
/// short intervals still get retries); each next wait is 1.5 times longer, up to
/// [`MAX_BACKOFF`]; each is jittered by ±50%. (Alertmanager's backoff starts at 500ms and
/// grows the same way.)
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Posts `body` until it is accepted, a status says not to retry, or waiting for one more
/// attempt would pass `deadline`. Each attempt after the first counts in `retries`.
pub(super) async fn post(
    settings: &Settings,
    body: Vec<u8>,
    deadline: Instant,
    retries: &Counter,
    receiver: &str,
    group: &str,
) -> Result<(), String> {
    let cfg = &settings.cfg;
    let mut backoff = (cfg.group_interval / 10).clamp(MIN_BACKOFF, INITIAL_BACKOFF);
    let mut last_err = String::new();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        if attempt > 1 {
            retries.inc();
        }
        // One attempt may use the configured timeout, but not run past the retry window
        // (the first always gets some time).
        let window = deadline.saturating_duration_since(Instant::now());
        let mut timeout = window.max(MIN_BACKOFF);
        if !cfg.timeout.is_zero() {
            timeout = timeout.min(cfg.timeout);
        }
        let err = match attempt_once(settings, body.clone(), timeout).await {
            Ok(()) => {
                if attempt > 1 {
                    tracing::info!(receiver, group, attempts = attempt, "webhook notified");
                }
                return Ok(());
            }
            Err(Failure::Final(err)) => return Err(err),
            Err(Failure::Retry(err)) => err,
        };
        if err != last_err {
            tracing::warn!(receiver, group, attempts = attempt, %err, "webhook notification failed, will retry");
        }
        let wait = jitter(backoff);
        if Instant::now() + wait >= deadline {
            return Err(format!(
                "{err} (no success after {attempt} attempts before the next notification)"
            ));
        }
        tokio::time::sleep(wait).await;
        backoff = (backoff * 3 / 2).min(MAX_BACKOFF);
        last_err = err;
    }
}

enum Failure {
    Retry(String),
    Final(String),
}

async fn attempt_once(
    settings: &Settings,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), Failure> {
    let resp = settings
        .client
        .post(&settings.cfg.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| Failure::Retry(error_chain(&e)))?;
    let status = resp.status();
    // Read the body so the connection can be reused.
    let _ = resp.bytes().await;
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() {
        Err(Failure::Retry(format!(
            "unexpected status code {}",
            status.as_u16()
        )))
    } else {
        Err(Failure::Final(format!(
            "unexpected status code {}",
            status.as_u16()
        )))
    }
}

/// `d` scaled by a random factor in [0.5, 1.5).
fn jitter(d: Duration) -> Duration {
    // A freshly keyed std hasher is a cheap source of randomness, enough for spreading retries.
    let r = std::collections::hash_map::RandomState::new().hash_one(0u8);
    let factor = 0.5 + (r >> 11) as f64 / (1u64 << 53) as f64;
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half() {
        let d = Duration::from_millis(100);
        for _ in 0..1000 {
            let j = jitter(d);
            assert!(
                j >= Duration::from_millis(50) && j < Duration::from_millis(150),
                "{j:?}"
            );
        }
    }
}
