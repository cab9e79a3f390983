//! Pushing decisions to a target: one task per autoscaler, so a slow or failing target delays
//! nothing else.
//!
//! The task watches the newest decision. When the decision knows the current count, it is
//! pushed if the count differs (unless that count was read before the push of the same
//! decision); when it does not, it is pushed if it differs from the last count the target
//! accepted. A `Retryable` error is retried with exponential backoff (100 ms doubling to
//! 5 s); a newer decision arriving meanwhile replaces the one being retried, so the latest
//! decision wins. A `Permanent` error is logged and counted, and not retried until the count
//! changes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Metrics;
use crate::runtime::{DecisionEvent, ScaleTarget, TargetError};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(super) async fn run(
    name: String,
    target: Arc<dyn ScaleTarget>,
    mut rx: watch::Receiver<Option<DecisionEvent>>,
    metrics: Metrics,
) {
    // The count the target last accepted (or refused for good), and when (ms since the
    // epoch): a decision made before then saw the count from before the push.
    let mut settled: Option<u32> = None;
    let mut settled_at: i64 = 0;
    let mut backoff = FIRST_BACKOFF;
    let mut retrying = false;
    loop {
        if !retrying && rx.changed().await.is_err() {
            return;
        }
        let Some(d) = rx.borrow_and_update().clone() else {
            continue;
        };
        let needed = retrying
            || match d.current {
                // The platform already runs the count; or it was pushed, and the count was
                // read before the push.
                Some(c) => c != d.desired && (settled != Some(d.desired) || d.time_ms > settled_at),
                None => settled != Some(d.desired),
            };
        if !needed {
            continue;
        }
        match target.set_replicas(&d).await {
            Ok(()) => {
                metrics.pushed(&name, "ok");
                tracing::info!(autoscaler = %name, target = %target.describe(), replicas = d.desired, reason = %d.reason, id = d.id, "scaled");
                settled = Some(d.desired);
                settled_at = super::now_ms() as i64;
                retrying = false;
                backoff = FIRST_BACKOFF;
            }
            Err(TargetError::Permanent(e)) => {
                metrics.pushed(&name, "error");
                tracing::error!(autoscaler = %name, target = %target.describe(), replicas = d.desired, error = %e, "the target refused the decision");
                settled = Some(d.desired);
                settled_at = super::now_ms() as i64;
                retrying = false;
                backoff = FIRST_BACKOFF;
            }
            Err(TargetError::Retryable(e)) => {
                metrics.pushed(&name, "retry");
                tracing::warn!(autoscaler = %name, target = %target.describe(), replicas = d.desired, error = %e, backoff_ms = backoff.as_millis() as u64, "cannot reach the target; will retry");
                settled = None;
                retrying = true;
                // Wait out the backoff, or less if a newer decision comes: it is pushed
                // instead (the `borrow_and_update` above takes the newest).
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    r = rx.changed() => if r.is_err() { return },
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
