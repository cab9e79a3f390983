//! Knative's KPA: concurrency averaged over a stable window and a short panic window.
//!
//! Each evaluation records the observed total concurrency (or request rate). The stable value
//! is the average of the samples of the last `stable_window`, the panic value the average of
//! those of the last `panic_window` (`panic_window_percentage` of the stable window); while
//! the autoscaler is young, both average over what they have, as Knative's partial windows do.
//! Then, as Knative's `Scale`:
//!
//! - ready = max(1, current); the count may grow to at most ceil(max_scale_up_rate × ready)
//!   and shrink to no less than floor(ready / max_scale_down_rate);
//! - stable count = ceil(stable / target), panic count = ceil(panic / target), both within
//!   those bounds, `target` being the configured target × `target_utilization`;
//! - panic starts (or is extended) when panic count / ready ≥ panic threshold, and ends once
//!   the threshold has not been crossed for a whole stable window;
//! - while panicking the count is the larger of the two, and never goes below the highest
//!   count of this panic.
//!
//! A new autoscaler that finds more than one replica starts in panic mode at that count, as
//! Knative does after a restart, so it does not scale down before it has data.

use std::collections::VecDeque;

use super::{Reason, Recommendation, ceil_count, num};

/// The validated `concurrency` policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Concurrency {
    /// Effective per-replica target: configured target × target utilization.
    pub target: f64,
    pub stable_window_ms: u64,
    pub panic_window_ms: u64,
    /// Panic threshold as a fraction (200% is 2.0).
    pub panic_threshold: f64,
    pub max_scale_up_rate: f64,
    pub max_scale_down_rate: f64,
}

/// The KPA's memory: recent samples and the panic state.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ConcurrencyState {
    samples: VecDeque<(u64, f64)>,
    panic_since_ms: Option<u64>,
    max_panic_pods: u32,
    started: bool,
}

impl ConcurrencyState {
    pub fn panicking(&self) -> bool {
        self.panic_since_ms.is_some()
    }
}

impl Concurrency {
    pub fn recommend(
        &self,
        state: &mut ConcurrencyState,
        now_ms: u64,
        signal: f64,
        current: u32,
    ) -> Recommendation {
        if !state.started {
            state.started = true;
            if current > 1 {
                state.panic_since_ms = Some(now_ms);
                state.max_panic_pods = current;
            }
        }
        state.samples.push_back((now_ms, signal.max(0.0)));
        // Samples older than a window fall out of it: (now - window, now] is kept.
        let stable_cutoff = now_ms.checked_sub(self.stable_window_ms);
        while state
            .samples
            .front()
            .is_some_and(|&(t, _)| stable_cutoff.is_some_and(|c| t <= c))
        {
            state.samples.pop_front();
        }
        let panic_cutoff = now_ms.checked_sub(self.panic_window_ms);
        let (mut stable_sum, mut panic_sum, mut panic_n) = (0.0, 0.0, 0usize);
        for &(t, v) in &state.samples {
            stable_sum += v;
            if panic_cutoff.is_none_or(|c| t > c) {
                panic_sum += v;
                panic_n += 1;
            }
        }
        let stable = stable_sum / state.samples.len() as f64;
        let panic = if panic_n == 0 {
            0.0
        } else {
            panic_sum / panic_n as f64
        };

        let ready = f64::from(current.max(1));
        let max_up = (self.max_scale_up_rate * ready).ceil();
        let max_down = (ready / self.max_scale_down_rate).floor();
        let dspc = ceil_count(stable / self.target);
        let dppc = ceil_count(panic / self.target);
        let bound = |n: u32| -> u32 { (f64::from(n)).max(max_down).min(max_up) as u32 };
        let stable_count = bound(dspc);
        let panic_count = bound(dppc);

        let over = f64::from(dppc) / ready >= self.panic_threshold;
        match state.panic_since_ms {
            _ if over => state.panic_since_ms = Some(now_ms),
            Some(since) if since.saturating_add(self.stable_window_ms) < now_ms => {
                state.panic_since_ms = None;
                state.max_panic_pods = 0;
            }
            _ => {}
        }

        let mut detail = format!(
            "stable {} → {dspc}, panic {} → {dppc} (target {}, ready {})",
            num(stable),
            num(panic),
            num(self.target),
            num(ready)
        );
        if state.panic_since_ms.is_some() {
            let wanted = stable_count.max(panic_count);
            if wanted > state.max_panic_pods {
                state.max_panic_pods = wanted;
            } else if wanted < state.max_panic_pods {
                detail.push_str(&format!(
                    "; panicking: keeping {} instead of {wanted}",
                    state.max_panic_pods
                ));
            }
            Recommendation {
                replicas: state.max_panic_pods,
                reason: Reason::Panic,
                detail,
            }
        } else {
            Recommendation {
                replicas: stable_count,
                reason: Reason::Scaled,
                detail,
            }
        }
    }
}
