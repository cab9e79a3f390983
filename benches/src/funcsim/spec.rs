//! Parsing a `--function` flag: `NAME[:key=value,...]`.

use super::load::Profile;
use super::platform::FunctionSpec;

/// Parses `500ms`, `2s`, `1.5m`, `24h`, or bare seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    // Milliseconds divide, so `50ms` is exactly the double nearest 0.05.
    let (num, mul, div) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0, 1000.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0, 1.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0, 1.0)
    } else {
        (s, 1.0, 1.0)
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?} (want e.g. 500ms, 2s, 1m, 24h)"))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!(
            "bad duration {s:?}: must be finite and not negative"
        ));
    }
    Ok(v * mul / div)
}

fn parse_num(key: &str, s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{key}: bad number {s:?}")),
    }
}

/// Parses one `--function` value. Keys: `concurrency`, `cold_start`, `service`, `jitter`,
/// `queue`, `replicas`, `max_replicas`, `profile` (`constant`, `step`, `spike`, `ramp`,
/// `diurnal`) and the profile's parameters (rates in requests per second, times as
/// durations in profile time): `rate`; `base`, `high`, `at`; `base`, `peak`, `at`, `width`;
/// `from`, `to`, `start`, `duration`; `min`, `max`, `period`, `phase`.
pub fn parse_function(s: &str) -> Result<FunctionSpec, String> {
    let (name, rest) = s.split_once(':').unwrap_or((s, ""));
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err(format!(
            "function name {name:?}: use letters, digits, '_', '-', '.'"
        ));
    }
    let mut spec = FunctionSpec::new(name, Profile::Constant { rate: 10.0 });
    let mut profile = "constant".to_string();
    let mut p = std::collections::BTreeMap::new();
    for kv in rest.split(',').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("{name}: {kv:?} is not key=value"))?;
        let err = |e: String| format!("{name}: {e}");
        match k {
            "concurrency" => {
                spec.concurrency =
                    v.parse().ok().filter(|&c| c > 0).ok_or_else(|| {
                        err(format!("concurrency: want an integer ≥ 1, got {v:?}"))
                    })?
            }
            "queue" => {
                spec.queue = v
                    .parse()
                    .map_err(|_| err(format!("queue: want an integer, got {v:?}")))?
            }
            "replicas" => {
                spec.replicas = v
                    .parse()
                    .map_err(|_| err(format!("replicas: want an integer, got {v:?}")))?
            }
            "max_replicas" => {
                spec.max_replicas = v
                    .parse()
                    .map_err(|_| err(format!("max_replicas: want an integer, got {v:?}")))?
            }
            "cold_start" => spec.cold_start = parse_duration(v).map_err(err)?,
            "service" => spec.service = parse_duration(v).map_err(err)?,
            "jitter" => {
                spec.jitter = parse_num(k, v).map_err(err)?;
                if spec.jitter > 1.0 {
                    return Err(err(format!("jitter: must be within 0..=1, got {v}")));
                }
            }
            "profile" => profile = v.to_string(),
            "rate" | "base" | "high" | "peak" | "from" | "to" | "min" | "max" => {
                p.insert(k, parse_num(k, v).map_err(err)?);
            }
            "at" | "width" | "start" | "duration" | "period" | "phase" => {
                p.insert(k, parse_duration(v).map_err(err)?);
            }
            _ => return Err(err(format!("unknown key {k:?}"))),
        }
    }
    let get = |k: &str, default: f64| p.get(k).copied().unwrap_or(default);
    spec.profile = match profile.as_str() {
        "constant" => Profile::Constant {
            rate: get("rate", 10.0),
        },
        "step" => Profile::Step {
            base: get("base", 10.0),
            high: get("high", 100.0),
            at: get("at", 60.0),
        },
        "spike" => Profile::Spike {
            base: get("base", 10.0),
            peak: get("peak", 200.0),
            at: get("at", 60.0),
            width: get("width", 10.0),
        },
        "ramp" => Profile::Ramp {
            from: get("from", 0.0),
            to: get("to", 100.0),
            start: get("start", 0.0),
            duration: get("duration", 300.0),
        },
        "diurnal" => {
            let period = get("period", 86_400.0);
            if period <= 0.0 {
                return Err(format!("{name}: period must be above 0"));
            }
            Profile::Diurnal {
                min: get("min", 5.0),
                max: get("max", 100.0),
                period,
                phase: get("phase", 0.0),
            }
        }
        other => {
            return Err(format!(
                "{name}: unknown profile {other:?} (constant, step, spike, ramp, diurnal)"
            ));
        }
    };
    Ok(spec)
}
