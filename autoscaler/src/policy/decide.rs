//! One evaluation: data, policy, scale to zero, behaviour, limits.

use super::{Decision, Input, Policy, PolicyState, Reason, Recommendation, Scaler, State, num};

/// What the behaviour stage did to a count.
struct Limited {
    desired: u32,
    /// `Stabilized`, `RateLimited` or `Clamped` when that stage changed the count.
    by: Option<Reason>,
    detail: String,
}

impl Scaler {
    /// Decides the replica count for one evaluation. Pure: the same input and state give the
    /// same decision and next state.
    pub fn decide(&self, input: &Input, mut state: State) -> (Decision, State) {
        let now = input.now_ms;
        let first_seen = *state.first_seen_ms.get_or_insert(now);
        let (current, assumed) = match input.current {
            Some(c) => (c, ""),
            None => match state.last_desired {
                Some(c) => (c, " (current unknown: last decision assumed)"),
                None => (
                    self.min_replicas,
                    " (current unknown: min_replicas assumed)",
                ),
            },
        };
        // With scale to zero the policy and the behaviour keep at least one replica; only the
        // activation logic goes to zero, as KEDA's HPA has minReplicas ≥ 1.
        let floor = if self.scale_to_zero.is_some() {
            1
        } else {
            self.min_replicas
        };

        let signal = input.signal.filter(|v| v.is_finite());
        let recommendation =
            signal.and_then(|s| self.recommend(&mut state.policy, now, s, current, input));

        let decision = match (signal, recommendation) {
            (Some(signal), Some(rec)) => {
                state.failures = 0;
                self.with_signal(&mut state, now, first_seen, signal, current, floor, rec)
            }
            _ => {
                state.failures = state.failures.saturating_add(1);
                self.without_signal(&mut state, now, current, floor, signal.is_some())
            }
        };
        let mut decision = decision;
        decision.detail.push_str(assumed);
        debug_assert!(
            decision.desired >= self.min_replicas && decision.desired <= self.max_replicas
        );

        if let (Policy::Step(step), PolicyState::Step(s)) = (&self.policy, &mut state.policy) {
            step.decided(s, now, current, decision.desired);
        }
        decision.panic = state.panicking();
        state.last_desired = Some(decision.desired);
        (decision, state)
    }

    /// The policy's recommendation; `None` when it lacks data (the predictive policy without
    /// a service time).
    fn recommend(
        &self,
        state: &mut PolicyState,
        now: u64,
        signal: f64,
        current: u32,
        input: &Input,
    ) -> Option<Recommendation> {
        match &self.policy {
            Policy::PerReplica(p) => Some(p.recommend(signal, current)),
            Policy::Ratio(p) => Some(p.recommend(signal, current)),
            Policy::Concurrency(p) => {
                if !matches!(state, PolicyState::Concurrency(_)) {
                    *state = PolicyState::Concurrency(Default::default());
                }
                let PolicyState::Concurrency(s) = state else {
                    unreachable!()
                };
                Some(p.recommend(s, now, signal, current))
            }
            Policy::Step(p) => {
                if !matches!(state, PolicyState::Step(_)) {
                    *state = PolicyState::Step(Default::default());
                }
                let PolicyState::Step(s) = state else {
                    unreachable!()
                };
                Some(p.recommend(s, now, signal, current))
            }
            Policy::Predictive(p) => {
                if !matches!(state, PolicyState::Predictive(_)) {
                    *state = PolicyState::Predictive(Default::default());
                }
                let PolicyState::Predictive(s) = state else {
                    unreachable!()
                };
                p.recommend(s, now, signal, input.service)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn with_signal(
        &self,
        state: &mut State,
        now: u64,
        first_seen: u64,
        signal: f64,
        current: u32,
        floor: u32,
        rec: Recommendation,
    ) -> Decision {
        let mut decision = Decision {
            desired: current,
            reason: rec.reason,
            detail: rec.detail.clone(),
            recommendation: Some(rec.replicas),
            active: Some(signal > 0.0),
            panic: false,
        };
        let mut cooling = None;
        if let Some(zero) = &self.scale_to_zero {
            let active = zero.is_active(signal);
            decision.active = Some(active);
            if active {
                state.last_active_ms = Some(now);
            }
            if current == 0 {
                if active {
                    let n = match zero.activation_replicas {
                        crate::config::ActivationReplicas::One => 1,
                        crate::config::ActivationReplicas::Computed => rec.replicas.max(1),
                    }
                    .min(self.max_replicas);
                    decision.desired = n;
                    decision.reason = Reason::Activation;
                    decision.detail = format!(
                        "signal {} > activation threshold {}: 0 → {n}; {}",
                        num(signal),
                        num(zero.activation_threshold),
                        rec.detail
                    );
                } else {
                    decision.desired = 0;
                    decision.reason = Reason::Idle;
                    decision.detail = format!(
                        "signal {} ≤ activation threshold {}: staying at zero",
                        num(signal),
                        num(zero.activation_threshold)
                    );
                }
                return decision;
            }
            if !active {
                let wait = zero.wait_ms(now, state.last_active_ms, first_seen);
                if wait == 0 {
                    decision.desired = 0;
                    decision.reason = Reason::ScaleToZero;
                    decision.detail = format!(
                        "signal {} ≤ activation threshold {} for the cooldown: {current} → 0",
                        num(signal),
                        num(zero.activation_threshold)
                    );
                    return decision;
                }
                cooling = Some(wait);
            }
        }

        let limited = self.limit(state, now, current, floor, rec.replicas);
        decision.desired = limited.desired;
        if !limited.detail.is_empty() {
            decision.detail.push_str("; ");
            decision.detail.push_str(&limited.detail);
        }
        decision.reason = match limited.by {
            Some(by) => by,
            None if rec.reason == Reason::Scaled && limited.desired == current => Reason::Unchanged,
            None => rec.reason,
        };
        if let Some(wait) = cooling {
            decision.detail.push_str(&format!(
                "; inactive: scale to zero in {}s",
                num(wait as f64 / 1000.0)
            ));
            // Inactive and holding: what happens next is the scale to zero.
            if decision.desired == current {
                decision.reason = Reason::Cooldown;
            }
        }
        decision
    }

    fn without_signal(
        &self,
        state: &mut State,
        now: u64,
        current: u32,
        floor: u32,
        had_signal: bool,
    ) -> Decision {
        let why = if had_signal {
            "no service time for the predictive policy"
        } else {
            "no signal"
        };
        if let Some(fallback) = self.fallback.as_ref().filter(|f| f.engaged(state.failures)) {
            let wanted = fallback.replicas(current);
            let mut detail = format!(
                "{why} for {} evaluations (> {}): fallback {wanted}",
                state.failures, fallback.failure_threshold
            );
            let desired = if current == 0 {
                wanted.clamp(self.min_replicas, self.max_replicas)
            } else {
                let limited = self.limit(state, now, current, floor, wanted);
                if !limited.detail.is_empty() {
                    detail.push_str("; ");
                    detail.push_str(&limited.detail);
                }
                limited.desired
            };
            return Decision {
                desired,
                reason: Reason::Fallback,
                detail,
                recommendation: None,
                active: None,
                panic: false,
            };
        }
        let desired = current.clamp(self.min_replicas, self.max_replicas);
        let (reason, detail) = if desired == current {
            (Reason::MissingData, format!("{why}: holding {current}"))
        } else {
            (
                Reason::Clamped,
                format!(
                    "{why}: {current} brought within [{}, {}]",
                    self.min_replicas, self.max_replicas
                ),
            )
        };
        Decision {
            desired,
            reason,
            detail,
            recommendation: None,
            active: None,
            panic: false,
        }
    }

    /// The behaviour stage, as the HPA normalizes a recommendation: a count outside
    /// `[floor, max]` is brought back first (nothing recorded); otherwise the recommendation
    /// is stabilized, rate limited and bounded, and a change is recorded as a scale event.
    fn limit(
        &self,
        state: &mut State,
        now: u64,
        current: u32,
        floor: u32,
        recommendation: u32,
    ) -> Limited {
        let (min, max) = (floor, self.max_replicas);
        if current > max || current < min {
            let desired = current.clamp(min, max);
            self.behavior
                .record_change(&mut state.behavior, now, current, desired);
            return Limited {
                desired,
                by: Some(Reason::Clamped),
                detail: format!("current {current} brought within [{min}, {max}]"),
            };
        }
        let stabilized = self
            .behavior
            .stabilize(&mut state.behavior, now, current, recommendation);
        let mut by = None;
        let mut detail = String::new();
        if stabilized != recommendation {
            by = Some(Reason::Stabilized);
            detail = format!("stabilized at {stabilized}");
        }
        let mut desired = stabilized;
        if stabilized > current {
            let limit = self.behavior.scale_up_limit(&state.behavior, now, current);
            let allowed = limit.map_or(max, |l| l.min(max));
            if desired > allowed {
                desired = allowed;
                let rate = limit.is_some_and(|l| l < max);
                by = Some(if rate {
                    Reason::RateLimited
                } else {
                    Reason::Clamped
                });
                detail = if rate {
                    format!("scale-up limited to {allowed}")
                } else {
                    format!("{stabilized} above max_replicas {max}")
                };
            }
        } else if stabilized < current {
            let limit = self
                .behavior
                .scale_down_limit(&state.behavior, now, current);
            let allowed = limit.map_or(min, |l| l.max(min));
            if desired < allowed {
                desired = allowed;
                let rate = limit.is_some_and(|l| l > min);
                by = Some(if rate {
                    Reason::RateLimited
                } else {
                    Reason::Clamped
                });
                detail = if rate {
                    format!("scale-down limited to {allowed}")
                } else {
                    format!("{stabilized} below the minimum {min}")
                };
            }
        }
        self.behavior
            .record_change(&mut state.behavior, now, current, desired);
        Limited {
            desired,
            by,
            detail,
        }
    }
}
