//! The HPA's scaling behaviour: stabilization windows and rate policies.
//!
//! **Stabilization.** Every recommendation is remembered with its time. The count moves from
//! the current one no further up than the lowest recommendation of the scale-up window, and no
//! further down than the highest of the scale-down window (both windows include the new
//! recommendation). With the defaults (0s up, 300s down) the count rises at once and falls only
//! to the highest recommendation of the last five minutes.
//!
//! **Rate policies.** Every change is remembered as a scale event. For each policy the count at
//! the start of its period is the count the first event of the last `period` started from (the
//! current count when there was none); with a platform that reports each decision at once this
//! is the HPA's "current count minus the replicas added and plus those removed", and with one
//! whose report lags the decision (a push in flight, running rather than requested replicas) it
//! does not fall below what the period really started from. A `Pods` policy allows that
//! start ± value, a `Percent` policy start × (1 ± value/100), rounded up on the way up (so a
//! small count still grows) and down on the way down. `select_policy: Max` takes the policy allowing the largest
//! change, `Min` the smallest, `Disabled` forbids the direction.
//!
//! Then the count is brought within `[min_replicas, max_replicas]`.

use std::collections::VecDeque;

use crate::config::{RatePolicyType, SelectPolicy};

/// The validated behaviour.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Behavior {
    pub scale_up: Rules,
    pub scale_down: Rules,
}

/// One direction's rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rules {
    pub stabilization_window_ms: u64,
    pub select_policy: SelectPolicy,
    /// Empty: no rate limit (the policies whose default behaviour is none).
    pub policies: Vec<RatePolicy>,
}

/// One rate policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RatePolicy {
    pub kind: RatePolicyType,
    pub value: u32,
    pub period_ms: u64,
}

/// Recent recommendations and scale events.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BehaviorState {
    recommendations: VecDeque<(u64, u32)>,
    events: VecDeque<ScaleEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ScaleEvent {
    at_ms: u64,
    /// The count before the change.
    from: u32,
    /// The count decided.
    to: u32,
}

/// Whether `t` lies in the window of `len` ending at `now`: (now - len, now].
fn in_window(t: u64, now: u64, len: u64) -> bool {
    now.checked_sub(len).is_none_or(|cutoff| t > cutoff)
}

impl Rules {
    /// The HPA's defaults for scale-up: no window; 4 pods or 100% per 15s, whichever is more.
    pub fn hpa_scale_up() -> Rules {
        Rules {
            stabilization_window_ms: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                RatePolicy {
                    kind: RatePolicyType::Pods,
                    value: 4,
                    period_ms: 15_000,
                },
                RatePolicy {
                    kind: RatePolicyType::Percent,
                    value: 100,
                    period_ms: 15_000,
                },
            ],
        }
    }

    /// The HPA's defaults for scale-down: a 300s window; 100% per 15s.
    pub fn hpa_scale_down() -> Rules {
        Rules {
            stabilization_window_ms: 300_000,
            select_policy: SelectPolicy::Max,
            policies: vec![RatePolicy {
                kind: RatePolicyType::Percent,
                value: 100,
                period_ms: 15_000,
            }],
        }
    }

    /// No window, no rate limit.
    pub fn none() -> Rules {
        Rules {
            stabilization_window_ms: 0,
            select_policy: SelectPolicy::Max,
            policies: Vec::new(),
        }
    }
}

impl Behavior {
    pub fn hpa() -> Behavior {
        Behavior {
            scale_up: Rules::hpa_scale_up(),
            scale_down: Rules::hpa_scale_down(),
        }
    }

    pub fn none() -> Behavior {
        Behavior {
            scale_up: Rules::none(),
            scale_down: Rules::none(),
        }
    }

    /// Records `recommendation` and returns the stabilized count.
    pub fn stabilize(
        &self,
        state: &mut BehaviorState,
        now_ms: u64,
        current: u32,
        recommendation: u32,
    ) -> u32 {
        let up_window = self.scale_up.stabilization_window_ms;
        let down_window = self.scale_down.stabilization_window_ms;
        let mut up = recommendation;
        let mut down = recommendation;
        for &(t, r) in &state.recommendations {
            if in_window(t, now_ms, up_window) {
                up = up.min(r);
            }
            if in_window(t, now_ms, down_window) {
                down = down.max(r);
            }
        }
        let longest = up_window.max(down_window);
        while state
            .recommendations
            .front()
            .is_some_and(|&(t, _)| !in_window(t, now_ms, longest))
        {
            state.recommendations.pop_front();
        }
        if longest > 0 {
            state.recommendations.push_back((now_ms, recommendation));
        }
        current.max(up).min(down)
    }

    /// The largest count a scale-up may reach now, never below `current`; `None` when
    /// unlimited.
    pub fn scale_up_limit(&self, state: &BehaviorState, now_ms: u64, current: u32) -> Option<u32> {
        let rules = &self.scale_up;
        if rules.select_policy == SelectPolicy::Disabled {
            return Some(current);
        }
        if rules.policies.is_empty() {
            return None;
        }
        let proposals = rules.policies.iter().map(|p| {
            let start = period_start(state, now_ms, current, p.period_ms);
            match p.kind {
                RatePolicyType::Pods => start + i64::from(p.value),
                RatePolicyType::Percent => {
                    (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
                }
            }
        });
        let limit = match rules.select_policy {
            SelectPolicy::Min => proposals.min(),
            _ => proposals.max(),
        }?;
        Some(limit.clamp(i64::from(current), i64::from(u32::MAX)) as u32)
    }

    /// The smallest count a scale-down may reach now, never above `current`; `None` when
    /// unlimited.
    pub fn scale_down_limit(
        &self,
        state: &BehaviorState,
        now_ms: u64,
        current: u32,
    ) -> Option<u32> {
        let rules = &self.scale_down;
        if rules.select_policy == SelectPolicy::Disabled {
            return Some(current);
        }
        if rules.policies.is_empty() {
            return None;
        }
        let proposals = rules.policies.iter().map(|p| {
            let start = period_start(state, now_ms, current, p.period_ms);
            match p.kind {
                RatePolicyType::Pods => start - i64::from(p.value),
                // Go's int32 conversion truncates towards zero.
                RatePolicyType::Percent => {
                    (start as f64 * (1.0 - f64::from(p.value) / 100.0)).trunc() as i64
                }
            }
        });
        let limit = match rules.select_policy {
            SelectPolicy::Min => proposals.max(),
            _ => proposals.min(),
        }?;
        Some(limit.clamp(0, i64::from(current)) as u32)
    }

    /// Records a change of the count as a scale event.
    pub fn record_change(&self, state: &mut BehaviorState, now_ms: u64, from: u32, to: u32) {
        let longest = self
            .scale_up
            .policies
            .iter()
            .chain(&self.scale_down.policies)
            .map(|p| p.period_ms)
            .max()
            .unwrap_or(0);
        while state
            .events
            .front()
            .is_some_and(|e| !in_window(e.at_ms, now_ms, longest))
        {
            state.events.pop_front();
        }
        // The same decision again (the platform still reports the count before it) is not a
        // new change: recording it would keep the period open for as long as the report lags.
        let again = state
            .events
            .back()
            .is_some_and(|e| e.from == from && e.to == to);
        if from != to && longest > 0 && !again {
            state.events.push_back(ScaleEvent {
                at_ms: now_ms,
                from,
                to,
            });
        }
    }
}

/// The count at the start of the period ending now: the one its first scale event started
/// from, or the current count.
fn period_start(state: &BehaviorState, now_ms: u64, current: u32, period_ms: u64) -> i64 {
    let first = state
        .events
        .iter()
        .find(|e| in_window(e.at_ms, now_ms, period_ms));
    i64::from(first.map_or(current, |e| e.from))
}
