//! From the configuration as read to a [`Scaler`]: defaults applied, every value checked, every
//! error naming its field.

use super::*;
use crate::Error;
use crate::policy::{
    Behavior, Concurrency, Fallback, PerReplica, Policy, Predictive, RatePolicy, Ratio, Rules,
    ScaleToZero, Scaler, ServiceQueries, Step, StepAdjustment, Tolerances,
};

/// The HPA controller's default tolerance (`--horizontal-pod-autoscaler-tolerance`).
const DEFAULT_TOLERANCE: f64 = 0.1;
/// The HPA's limits on behaviour fields.
const MAX_STABILIZATION_WINDOW_MS: u64 = 3_600_000;
const MAX_PERIOD_MS: u64 = 1_800_000;

type Result<T> = std::result::Result<T, Error>;

fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T> {
    Err(Error::config(field, message))
}

fn positive(field: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        err(field, format!("must be a positive number, got {v}"))
    }
}

fn non_negative(field: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        err(field, format!("must be a number ≥ 0, got {v}"))
    }
}

fn in_range(field: &str, v: f64, lo: f64, hi: f64) -> Result<f64> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(v)
    } else {
        err(field, format!("must be between {lo} and {hi}, got {v}"))
    }
}

/// The one policy a [`PolicyConfig`] names.
#[derive(Clone, Copy)]
enum Chosen<'a> {
    PerReplica(&'a PerReplicaConfig),
    Ratio(&'a RatioConfig),
    Concurrency(&'a ConcurrencyConfig),
    Step(&'a StepConfig),
    Predictive(&'a PredictiveConfig),
}

impl PolicyConfig {
    fn chosen(&self) -> Result<Chosen<'_>> {
        let given = [
            self.per_replica.as_ref().map(Chosen::PerReplica),
            self.ratio.as_ref().map(Chosen::Ratio),
            self.concurrency.as_ref().map(Chosen::Concurrency),
            self.step.as_ref().map(Chosen::Step),
            self.predictive.as_ref().map(Chosen::Predictive),
        ];
        let mut given = given.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(one), None) => Ok(one),
            _ => err(
                "policy",
                "must name exactly one of per_replica, ratio, concurrency, step, predictive",
            ),
        }
    }
}

impl ScalerConfig {
    /// Checks the configuration and applies the defaults.
    pub fn validate(&self) -> Result<Scaler> {
        let min_replicas = self.min_replicas.unwrap_or(1);
        if self.max_replicas == 0 {
            return err("max_replicas", "must be at least 1");
        }
        if min_replicas > self.max_replicas {
            return err(
                "min_replicas",
                format!("{min_replicas} exceeds max_replicas {}", self.max_replicas),
            );
        }
        let chosen = self.policy.chosen()?;
        let hpa_like = matches!(
            chosen,
            Chosen::PerReplica(_) | Chosen::Ratio(_) | Chosen::Predictive(_)
        );
        let behavior = self.behavior(chosen, hpa_like)?;
        let policy = self.policy(chosen)?;
        let scale_to_zero = match (&self.scale_to_zero, min_replicas) {
            (Some(_), m) if m > 0 => {
                return err(
                    "scale_to_zero",
                    format!("needs min_replicas: 0 (min_replicas is {m})"),
                );
            }
            (_, 0) => Some(scale_to_zero(
                self.scale_to_zero.as_ref().unwrap_or(&Default::default()),
            )?),
            _ => None,
        };
        let fallback = self.fallback.as_ref().map(|f| Fallback {
            failure_threshold: f.failure_threshold,
            replicas: f.replicas,
            behavior: f.behavior.unwrap_or(FallbackBehavior::Static),
        });
        Ok(Scaler {
            min_replicas,
            max_replicas: self.max_replicas,
            policy,
            behavior,
            scale_to_zero,
            fallback,
        })
    }

    fn tolerances(&self, field: &str, tolerance: Option<f64>) -> Result<Tolerances> {
        let base = match tolerance {
            Some(t) => non_negative(&format!("{field}.tolerance"), t)?,
            None => DEFAULT_TOLERANCE,
        };
        let direction = |rules: Option<&ScalingRulesConfig>, name: &str| -> Result<f64> {
            match rules.and_then(|r| r.tolerance) {
                Some(t) => non_negative(&format!("behavior.{name}.tolerance"), t),
                None => Ok(base),
            }
        };
        let b = self.behavior.as_ref();
        Ok(Tolerances {
            up: direction(b.and_then(|b| b.scale_up.as_ref()), "scale_up")?,
            down: direction(b.and_then(|b| b.scale_down.as_ref()), "scale_down")?,
        })
    }

    fn policy(&self, chosen: Chosen<'_>) -> Result<Policy> {
        Ok(match chosen {
            Chosen::PerReplica(p) => Policy::PerReplica(PerReplica {
                target: positive("policy.per_replica.target", p.target)?,
                tolerance: self.tolerances("policy.per_replica", p.tolerance)?,
            }),
            Chosen::Ratio(p) => Policy::Ratio(Ratio {
                target: positive("policy.ratio.target", p.target)?,
                tolerance: self.tolerances("policy.ratio", p.tolerance)?,
            }),
            Chosen::Concurrency(p) => Policy::Concurrency(concurrency(p)?),
            Chosen::Step(p) => Policy::Step(step(p)?),
            Chosen::Predictive(p) => Policy::Predictive(predictive(p)?),
        })
    }

    fn behavior(&self, chosen: Chosen<'_>, hpa_like: bool) -> Result<Behavior> {
        let defaults = if hpa_like {
            Behavior::hpa()
        } else {
            Behavior::none()
        };
        let Some(b) = &self.behavior else {
            return Ok(defaults);
        };
        for (name, rules) in [("scale_up", &b.scale_up), ("scale_down", &b.scale_down)] {
            if !matches!(chosen, Chosen::PerReplica(_) | Chosen::Ratio(_))
                && rules.as_ref().is_some_and(|r| r.tolerance.is_some())
            {
                return err(
                    format!("behavior.{name}.tolerance"),
                    "only the per_replica and ratio policies have a tolerance",
                );
            }
        }
        Ok(Behavior {
            scale_up: rules("behavior.scale_up", b.scale_up.as_ref(), defaults.scale_up)?,
            scale_down: rules(
                "behavior.scale_down",
                b.scale_down.as_ref(),
                defaults.scale_down,
            )?,
        })
    }
}

/// One direction's rules: every field left out keeps the default, as the HPA fills a
/// partly given behaviour.
fn rules(field: &str, given: Option<&ScalingRulesConfig>, default: Rules) -> Result<Rules> {
    let Some(given) = given else {
        return Ok(default);
    };
    let mut out = default;
    if let Some(w) = given.stabilization_window {
        if w.0 > MAX_STABILIZATION_WINDOW_MS {
            return err(
                format!("{field}.stabilization_window"),
                format!("{w} is longer than 1h"),
            );
        }
        out.stabilization_window_ms = w.0;
    }
    if let Some(s) = given.select_policy {
        out.select_policy = s;
    }
    if let Some(policies) = &given.policies {
        if policies.is_empty() && out.select_policy != SelectPolicy::Disabled {
            return err(
                format!("{field}.policies"),
                "must list at least one policy (or set select_policy: Disabled)",
            );
        }
        out.policies = policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let f = format!("{field}.policies[{i}]");
                if p.value == 0 {
                    return err(format!("{f}.value"), "must be greater than 0");
                }
                if p.period.0 == 0 || p.period.0 > MAX_PERIOD_MS {
                    return err(
                        format!("{f}.period"),
                        format!("must be more than 0s and at most 30m, got {}", p.period),
                    );
                }
                Ok(RatePolicy {
                    kind: p.kind,
                    value: p.value,
                    period_ms: p.period.0,
                })
            })
            .collect::<Result<_>>()?;
    }
    Ok(out)
}

fn concurrency(p: &ConcurrencyConfig) -> Result<Concurrency> {
    const F: &str = "policy.concurrency";
    let target = positive(&format!("{F}.target"), p.target)?;
    let utilization = match p.target_utilization {
        Some(u) if u.is_finite() && u > 0.0 && u <= 1.0 => u,
        Some(u) => {
            return err(
                format!("{F}.target_utilization"),
                format!("must be in (0, 1], got {u}"),
            );
        }
        None => 0.7,
    };
    let stable = p.stable_window.map_or(60_000, |w| w.0);
    if !(6_000..=3_600_000).contains(&stable) {
        return err(
            format!("{F}.stable_window"),
            format!("must be between 6s and 1h, got {}", DurationMs(stable)),
        );
    }
    let panic_pct = in_range(
        &format!("{F}.panic_window_percentage"),
        p.panic_window_percentage.unwrap_or(10.0),
        1.0,
        100.0,
    )?;
    let threshold = in_range(
        &format!("{F}.panic_threshold_percentage"),
        p.panic_threshold_percentage.unwrap_or(200.0),
        110.0,
        1000.0,
    )?;
    let rate = |name: &str, v: Option<f64>, default: f64| -> Result<f64> {
        let v = v.unwrap_or(default);
        if v.is_finite() && v > 1.0 {
            Ok(v)
        } else {
            err(
                format!("{F}.{name}"),
                format!("must be greater than 1, got {v}"),
            )
        }
    };
    Ok(Concurrency {
        target: target * utilization,
        stable_window_ms: stable,
        // Knative's buckets are one second; the panic window is at least one.
        panic_window_ms: ((stable as f64 * panic_pct / 100.0) as u64).max(1_000),
        panic_threshold: threshold / 100.0,
        max_scale_up_rate: rate("max_scale_up_rate", p.max_scale_up_rate, 1000.0)?,
        max_scale_down_rate: rate("max_scale_down_rate", p.max_scale_down_rate, 2.0)?,
    })
}

fn step(p: &StepConfig) -> Result<Step> {
    const F: &str = "policy.step";
    if !p.threshold.is_finite() {
        return err(format!("{F}.threshold"), "must be a finite number");
    }
    if p.steps.is_empty() {
        return err(format!("{F}.steps"), "must list at least one step");
    }
    let mut steps = Vec::with_capacity(p.steps.len());
    for (i, s) in p.steps.iter().enumerate() {
        let f = format!("{F}.steps[{i}]");
        for (name, b) in [("lower", s.lower), ("upper", s.upper)] {
            if b.is_some_and(|b| !b.is_finite()) {
                return err(format!("{f}.{name}"), "must be a finite number");
            }
        }
        match (s.lower, s.upper) {
            (None, None) => {
                return err(f, "lower and upper cannot both be left out");
            }
            (Some(l), Some(u)) if l >= u => {
                return err(f, format!("lower {l} must be below upper {u}"));
            }
            _ => {}
        }
        match p.adjustment_type {
            AdjustmentType::ExactCapacity if s.adjustment < 0 => {
                return err(format!("{f}.adjustment"), "must be ≥ 0 with ExactCapacity");
            }
            AdjustmentType::PercentChangeInCapacity if s.adjustment < -100 => {
                return err(
                    format!("{f}.adjustment"),
                    "must be ≥ -100 with PercentChangeInCapacity",
                );
            }
            _ => {}
        }
        steps.push(StepAdjustment {
            lower: s.lower,
            upper: s.upper,
            adjustment: s.adjustment,
        });
    }
    steps.sort_by(|a, b| {
        let key = |s: &StepAdjustment| s.lower.unwrap_or(f64::NEG_INFINITY);
        key(a).total_cmp(&key(b))
    });
    for pair in steps.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.upper.is_none() || b.lower.is_none() || a.upper != b.lower {
            return err(
                format!("{F}.steps"),
                format!(
                    "ranges must not overlap or leave a gap: [{}, {}) then [{}, {})",
                    bound(a.lower, "-∞"),
                    bound(a.upper, "∞"),
                    bound(b.lower, "-∞"),
                    bound(b.upper, "∞")
                ),
            );
        }
    }
    let (first, last) = (&steps[0], &steps[steps.len() - 1]);
    if first.lower.is_some_and(|l| l < 0.0) {
        return err(
            format!("{F}.steps"),
            "a negative lower bound needs a step without lower bound",
        );
    }
    if last.upper.is_some_and(|u| u > 0.0) {
        return err(
            format!("{F}.steps"),
            "a positive upper bound needs a step without upper bound",
        );
    }
    let min_adjustment_magnitude = match (p.min_adjustment_magnitude, p.adjustment_type) {
        (Some(_), t) if t != AdjustmentType::PercentChangeInCapacity => {
            return err(
                format!("{F}.min_adjustment_magnitude"),
                "only with adjustment_type: PercentChangeInCapacity",
            );
        }
        (m, _) => m.unwrap_or(0),
    };
    Ok(Step {
        threshold: p.threshold,
        adjustment_type: p.adjustment_type,
        steps,
        min_adjustment_magnitude,
        cooldown_ms: p.cooldown.map_or(300_000, |c| c.0),
    })
}

fn bound(b: Option<f64>, infinity: &str) -> String {
    b.map_or(infinity.to_string(), |b| b.to_string())
}

fn predictive(p: &PredictiveConfig) -> Result<Predictive> {
    const F: &str = "policy.predictive";
    let per_replica_concurrency = positive(
        &format!("{F}.per_replica_concurrency"),
        p.per_replica_concurrency,
    )?;
    let trend_window_ms = p.trend_window.map_or(120_000, |w| w.0);
    if trend_window_ms == 0 {
        return err(format!("{F}.trend_window"), "must be more than 0s");
    }
    if p.service_time.is_some_and(|s| s.0 == 0) {
        return err(format!("{F}.service_time"), "must be more than 0s");
    }
    let service_queries = p
        .service_time_histogram
        .as_ref()
        .map(|h| service_queries(&format!("{F}.service_time_histogram"), h))
        .transpose()?;
    let target_utilization = match p.target_utilization {
        Some(u) if u.is_finite() && u > 0.0 && u < 1.0 => u,
        Some(u) => {
            return err(
                format!("{F}.target_utilization"),
                format!("must be in (0, 1), got {u}"),
            );
        }
        None => 0.8,
    };
    let headroom = p
        .headroom
        .map(|h| non_negative(&format!("{F}.headroom"), h))
        .transpose()?;
    let max_headroom = non_negative(&format!("{F}.max_headroom"), p.max_headroom.unwrap_or(1.0))?;
    Ok(Predictive {
        per_replica_concurrency,
        cold_start_ms: p.cold_start.0,
        trend_window_ms,
        service_time_seconds: p.service_time.map(|s| s.0 as f64 / 1000.0),
        service_queries,
        target_utilization,
        headroom,
        max_headroom,
    })
}

/// The queries of a service-time histogram: the mean (`_sum` rate over `_count` rate) and the
/// bucket rates by `le`.
fn service_queries(field: &str, h: &ServiceTimeHistogramConfig) -> Result<ServiceQueries> {
    let selector = h.selector.trim();
    let split = selector.find('{').unwrap_or(selector.len());
    let (name, matchers) = selector.split_at(split);
    let name = name.trim_end();
    if name.is_empty() {
        return err(
            format!("{field}.selector"),
            format!(
                "must start with a histogram's metric name, got {:?}",
                h.selector
            ),
        );
    }
    if !matchers.is_empty() && !matchers.ends_with('}') {
        return err(
            format!("{field}.selector"),
            format!(
                "must be a metric name with optional {{matchers}}, got {:?}",
                h.selector
            ),
        );
    }
    if let Some(suffix) = ["_bucket", "_sum", "_count"]
        .into_iter()
        .find(|x| name.ends_with(x))
    {
        return err(
            format!("{field}.selector"),
            format!("names the histogram without {suffix}, got {:?}", h.selector),
        );
    }
    // One plain series selector (the name and matchers are spliced into the queries below,
    // which therefore parse too).
    promql::parse_selector(&format!("{name}_count{matchers}")).map_err(|e| {
        Error::config(
            format!("{field}.selector"),
            format!("must be a metric name with optional {{matchers}}: {e}"),
        )
    })?;
    let window = h.window.unwrap_or(DurationMs(60_000));
    if window.0 == 0 {
        return err(format!("{field}.window"), "must be more than 0s");
    }
    let rate = |suffix: &str| format!("rate({name}_{suffix}{matchers}[{window}])");
    Ok(ServiceQueries {
        mean: format!("sum({}) / sum({})", rate("sum"), rate("count")),
        buckets: format!("sum by (le) ({})", rate("bucket")),
    })
}

fn scale_to_zero(z: &ScaleToZeroConfig) -> Result<ScaleToZero> {
    let activation_threshold = z.activation_threshold.unwrap_or(0.0);
    if !activation_threshold.is_finite() {
        return err(
            "scale_to_zero.activation_threshold",
            "must be a finite number",
        );
    }
    Ok(ScaleToZero {
        activation_threshold,
        cooldown_ms: z.cooldown.map_or(300_000, |c| c.0),
        initial_cooldown_ms: z.initial_cooldown.map_or(0, |c| c.0),
        activation_replicas: z
            .activation_replicas
            .unwrap_or(ActivationReplicas::Computed),
    })
}
