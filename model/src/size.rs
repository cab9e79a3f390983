//! Byte sizes with units, as Prometheus reads `--storage.tsdb.retention.size` and a scrape
//! job's `body_size_limit`.
//!
//! A size is one or more `<number><unit>` parts (`512MB`, `1.5GB`, `1GB512MB`) or a bare `0`.
//! Units are powers of two and case-sensitive: `B`, `KB`, `MB`, `GB`, `TB`, `PB`, `EB`, or the
//! IEC spellings `KiB` ... `EiB` (the two spellings cannot be mixed in one size). A number
//! without a unit is rejected, so `1024` is an error rather than a guess.

const UNITS: [&str; 7] = ["B", "K", "M", "G", "T", "P", "E"];

/// Parses a byte size such as `512MB`, `1.5GiB` or `0` into bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty size; use a number with a unit such as 512MB".to_string());
    }
    // Both spellings are tried in turn, like Prometheus; within one size the spelling is fixed.
    parse_with(s, "B").or_else(|first| parse_with(s, "iB").map_err(|_| first))
}

/// Parses with the multiple-unit suffix `suffix` (`B` for `KB`, `iB` for `KiB`).
fn parse_with(s: &str, suffix: &str) -> Result<u64, String> {
    let bad =
        || format!("invalid size {s:?}: use a number with a unit (B, KB, MB, GB, TB, PB, EB)");
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total = 0f64;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let number = &s[start..i];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(bad());
        }
        // A leading or trailing dot (`.5`, `5.`) is accepted, as Prometheus does.
        let value: f64 = if number.starts_with('.') {
            format!("0{number}").parse().map_err(|_| bad())?
        } else {
            number.trim_end_matches('.').parse().map_err(|_| bad())?
        };
        let ustart = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let unit = &s[ustart..i];
        let Some(power) = unit_power(unit, suffix) else {
            return Err(if unit.is_empty() {
                format!("invalid size {s:?}: a unit is required (B, KB, MB, GB, TB, PB, EB)")
            } else {
                format!("invalid size {s:?}: unknown unit {unit:?}")
            });
        };
        total += value * 1024f64.powi(power);
    }
    // 2^64 itself is representable as an f64 but not as a u64.
    if total >= 18_446_744_073_709_551_616.0 {
        return Err(format!("size {s:?} is too large"));
    }
    Ok(total as u64)
}

/// The power of 1024 that `unit` stands for: `B` is 0, `K<suffix>` is 1, and so on.
fn unit_power(unit: &str, suffix: &str) -> Option<i32> {
    if unit == "B" {
        return Some(0);
    }
    let (prefix, rest) = unit.split_at_checked(1)?;
    if rest != suffix {
        return None;
    }
    UNITS[1..]
        .iter()
        .position(|p| *p == prefix)
        .map(|i| i as i32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_two_units() {
        assert_eq!(parse_bytes("0"), Ok(0));
        assert_eq!(parse_bytes("0B"), Ok(0));
        assert_eq!(parse_bytes("1B"), Ok(1));
        assert_eq!(parse_bytes("1KB"), Ok(1024));
        assert_eq!(parse_bytes("1KiB"), Ok(1024));
        assert_eq!(parse_bytes("512MB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1.5GB"), Ok(3 << 29));
        assert_eq!(parse_bytes("1GB512MB"), Ok((1 << 30) + (512 << 20)));
        assert_eq!(parse_bytes("2TiB"), Ok(2 << 40));
        assert_eq!(parse_bytes("1PB"), Ok(1 << 50));
        assert_eq!(parse_bytes("1EB"), Ok(1 << 60));
        assert_eq!(parse_bytes(".5KB"), Ok(512));
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in [
            "",
            "1024",
            "1kB",
            "1kb",
            "1K",
            "1GiB512MB",
            "-1GB",
            "1.2.3GB",
            "GB",
            "1ZB",
            "16EB",
            "1 GB",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(
            parse_bytes("1024")
                .unwrap_err()
                .contains("a unit is required")
        );
        assert!(
            parse_bytes("1XB")
                .unwrap_err()
                .contains("unknown unit \"XB\"")
        );
        assert!(parse_bytes("16EB").unwrap_err().contains("too large"));
    }
}
