//! `/api/v1/targets` in Prometheus's JSON shape (the `api` crate serves it through
//! `StatusSource::targets`).

use std::time::{SystemTime, UNIX_EPOCH};

use model::Labels;
use scraper::scrape::{ActiveTarget, DroppedTarget};
use serde_json::{Map, Value, json};

/// Query parameters: `state` (`active`, `dropped`, `any`; default any) and `scrapePool`.
#[derive(Debug, Default)]
pub struct TargetsQuery {
    pub state: Option<String>,
    pub scrape_pool: Option<String>,
}

fn labels_json(l: &Labels) -> Value {
    let mut m = Map::new();
    for x in l.iter() {
        m.insert(x.name.to_string(), Value::String(x.value.to_string()));
    }
    Value::Object(m)
}

/// RFC 3339 with nanoseconds in UTC, trailing zeros of the fraction trimmed (as Go writes
/// times); the zero time when the target was never scraped.
pub fn rfc3339(t: Option<SystemTime>) -> String {
    let Some(d) = t.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) else {
        return "0001-01-01T00:00:00Z".into();
    };
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, dd) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let nanos = d.subsec_nanos();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn duration(d: std::time::Duration) -> String {
    model::duration::format_duration_ms(d.as_millis() as u64)
}

/// The response body.
pub fn render(active: &[ActiveTarget], dropped: &[DroppedTarget], q: &TargetsQuery) -> String {
    let state = q.state.as_deref().unwrap_or("any").to_ascii_lowercase();
    let pool_ok = |job: &str| q.scrape_pool.as_deref().is_none_or(|p| p == job);
    let mut data = Map::new();
    if state == "active" || state == "any" || state.is_empty() {
        let a: Vec<Value> = active
            .iter()
            .filter(|t| pool_ok(&t.job))
            .map(|t| {
                json!({
                    "discoveredLabels": labels_json(&t.discovered),
                    "labels": labels_json(&t.labels),
                    "scrapePool": t.job,
                    "scrapeUrl": t.url,
                    "globalUrl": t.url,
                    "lastError": t.last_error,
                    "lastScrape": rfc3339(t.last_scrape),
                    "lastScrapeDuration": t.last_duration.as_secs_f64(),
                    "health": t.health.as_str(),
                    "scrapeInterval": duration(t.interval),
                    "scrapeTimeout": duration(t.timeout),
                })
            })
            .collect();
        data.insert("activeTargets".into(), Value::Array(a));
    }
    if state == "dropped" || state == "any" || state.is_empty() {
        let d: Vec<Value> = dropped
            .iter()
            .filter(|t| pool_ok(&t.job))
            .map(|t| json!({ "discoveredLabels": labels_json(&t.discovered) }))
            .collect();
        data.insert("droppedTargets".into(), Value::Array(d));
    }
    json!({"status": "success", "data": data}).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_as_go_writes_them() {
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(1_795_335_242, 411_000_000);
        assert_eq!(rfc3339(Some(t)), "2026-11-22T08:14:02.411Z");
        assert_eq!(
            rfc3339(Some(UNIX_EPOCH + Duration::from_secs(951_782_400))),
            "2000-02-29T00:00:00Z"
        );
    }
}
