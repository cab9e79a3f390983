//! Prometheus duration strings: one or more `<integer><unit>` parts in descending unit
//! order, units `y w d h m s ms` (`1y` = 365d), or a bare `0`.

use std::time::Duration;

/// Parses a Prometheus duration such as `15s`, `1h30m`, `5m1ms`, `2w` or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let ms = parse_duration_ms(s)?;
    Ok(Duration::from_millis(ms))
}

/// Like [`parse_duration`], in milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty duration string".to_string());
    }
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ];
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    let mut last_unit = usize::MAX; // index into UNITS; must strictly increase
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!("not a valid duration string: {s:?}"));
        }
        let n: u64 = s[start..i]
            .parse()
            .map_err(|_| format!("not a valid duration string: {s:?}"))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!("not a valid duration string: {s:?}"));
        };
        if last_unit != usize::MAX && idx <= last_unit {
            return Err(format!("not a valid duration string: {s:?}"));
        }
        last_unit = idx;
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
    }
    Ok(total)
}

/// Formats milliseconds the way Prometheus prints durations (`1h30m`, `15s`, `0s`). Years and
/// weeks are used only when they divide the whole duration, so `90d` is not printed as `12w6d`.
pub fn format_duration_ms(mut ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size, exact) in [
        ("y", 365 * 24 * 3600 * 1000u64, true),
        ("w", 7 * 24 * 3600 * 1000, true),
        ("d", 24 * 3600 * 1000, false),
        ("h", 3600 * 1000, false),
        ("m", 60 * 1000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ] {
        if exact && !ms.is_multiple_of(size) {
            continue;
        }
        if ms >= size {
            out.push_str(&(ms / size).to_string());
            out.push_str(unit);
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration_ms("0").unwrap(), 0);
        assert_eq!(parse_duration_ms("15s").unwrap(), 15_000);
        assert_eq!(parse_duration_ms("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration_ms("5m1ms").unwrap(), 300_001);
        assert_eq!(parse_duration_ms("15d").unwrap(), 15 * 86_400_000);
        assert_eq!(parse_duration_ms("1y").unwrap(), 365 * 86_400_000);
        assert_eq!(parse_duration_ms("2w").unwrap(), 14 * 86_400_000);
    }

    #[test]
    fn rejects_malformed_durations() {
        for bad in ["", "1", "s", "1m1h", "1.5h", "-1s", "1x", "1s1s", "1hm"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["15s", "1h30m", "5m1ms", "15d", "1y", "2w"] {
            assert_eq!(format_duration_ms(parse_duration_ms(s).unwrap()), s);
        }
        assert_eq!(format_duration_ms(0), "0s");
        assert_eq!(format_duration_ms(90 * 86_400_000), "90d");
    }
}
