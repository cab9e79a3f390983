//! Scale to zero and back, with KEDA's semantics.
//!
//! With `min_replicas: 0` the signal also decides whether the workload is *active*: strictly
//! above `activation_threshold` (default 0, so a signal of 0 is inactive). Then, as KEDA's
//! scale executor does:
//!
//! - active at zero replicas: activation, at once — one replica (`activation_replicas: one`,
//!   KEDA's behaviour) or the policy's recommendation for the signal
//!   (`computed`, the default) — without waiting for stabilization windows or rate policies;
//! - inactive with replicas: once `cooldown` (default 300s) has passed since the signal was
//!   last active — or at once if it never was since Vane started — and at least
//!   `initial_cooldown` after the first evaluation, scale to zero; until then the policy keeps
//!   running with a floor of one replica;
//! - inactive at zero: stay at zero;
//! - active with replicas: the policy decides, with a floor of one replica.
//!
//! The activation decision takes precedence over the policy: an inactive signal leads to zero
//! even when the policy would keep replicas.

use crate::config::ActivationReplicas;

/// The validated `scale_to_zero` settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScaleToZero {
    pub activation_threshold: f64,
    pub cooldown_ms: u64,
    pub initial_cooldown_ms: u64,
    pub activation_replicas: ActivationReplicas,
}

impl ScaleToZero {
    pub fn is_active(&self, signal: f64) -> bool {
        signal > self.activation_threshold
    }

    /// Milliseconds left before an inactive workload may go to zero; 0 when it may now.
    pub fn wait_ms(&self, now_ms: u64, last_active_ms: Option<u64>, first_seen_ms: u64) -> u64 {
        // KEDA scales down once lastActiveTime + cooldownPeriod is strictly before now.
        let cooldown = last_active_ms.map_or(0, |t| {
            t.saturating_add(self.cooldown_ms)
                .saturating_add(1)
                .saturating_sub(now_ms)
        });
        let initial = first_seen_ms
            .saturating_add(self.initial_cooldown_ms)
            .saturating_sub(now_ms);
        cooldown.max(initial)
    }
}
