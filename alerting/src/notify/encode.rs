//! Text the Go side produces, reproduced so receivers see what Prometheus and Alertmanager
//! send: time stamps, quoted label sets, fingerprints.

use chrono::{DateTime, Datelike, Timelike, Utc};
use model::Labels;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Go's zero `time.Time` as `encoding/json` writes it: what Alertmanager puts in `endsAt` of
/// a firing alert.
pub(super) const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `2006-01-02T15:04:05` of `t`, to which the fraction and the zone are appended.
fn push_seconds(out: &mut String, t: &DateTime<Utc>) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

/// RFC 3339 with exactly three fraction digits, in UTC (`2006-01-02T15:04:05.000Z`): the
/// `strfmt.DateTime` format of Alertmanager's API v2, which Prometheus posts.
pub(super) fn api_time(ms: i64) -> String {
    let t = utc(ms);
    let mut s = String::with_capacity(24);
    push_seconds(&mut s, &t);
    s.push_str(&format!(".{:03}Z", ms.rem_euclid(1000)));
    s
}

/// RFC 3339 with the fraction's trailing zeros removed, in UTC (Go's `time.RFC3339Nano`, how
/// `encoding/json` writes a `time.Time`): `2006-01-02T15:04:05Z`, `2006-01-02T15:04:05.5Z`.
pub(super) fn json_time(ms: i64) -> String {
    let t = utc(ms);
    let mut s = String::with_capacity(24);
    push_seconds(&mut s, &t);
    let frac = ms.rem_euclid(1000);
    if frac != 0 {
        let digits = format!("{frac:03}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// A label set as `model.LabelSet.String()` prints it: `{a="1", b="2"}`, names sorted.
pub(super) fn label_set_string(labels: &Labels) -> String {
    let mut s = String::with_capacity(2 + labels.byte_len() + labels.len() * 5);
    s.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&l.name);
        s.push('=');
        s.push_str(&promql::functions::math::go_quote(&l.value));
    }
    s.push('}');
    s
}

/// Alertmanager's alert fingerprint (`model.LabelSet.Fingerprint` of prometheus/common):
/// 64-bit FNV-1a over each label's name, a 0xff byte, its value and a 0xff byte, in name
/// order. The empty set hashes to the FNV offset basis.
pub(super) fn fingerprint(labels: &Labels) -> u64 {
    const OFFSET: u64 = 14695981039346656037;
    const PRIME: u64 = 1099511628211;
    const SEP: u8 = 0xff;
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for l in labels {
        add(l.name.as_bytes());
        add(&[SEP]);
        add(l.value.as_bytes());
        add(&[SEP]);
    }
    h
}

/// Go's `regexp.QuoteMeta`: a backslash before each of `\.+*?()|[]{}^$`. Alertmanager passes
/// the receiver name through it before putting it in a notification.
pub(super) fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Serializes a label set as a JSON object (names in order, as Go writes maps).
pub(super) struct LabelsJson<'a>(pub &'a Labels);

impl Serialize for LabelsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for l in self.0 {
            m.serialize_entry(&*l.name, &*l.value)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labels;

    #[test]
    fn times_as_go_writes_them() {
        // 2023-11-14T22:13:20Z is 1_700_000_000 s.
        assert_eq!(api_time(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(api_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(json_time(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(json_time(1_700_000_000_500), "2023-11-14T22:13:20.5Z");
        assert_eq!(json_time(1_700_000_000_120), "2023-11-14T22:13:20.12Z");
        assert_eq!(json_time(1_700_000_000_007), "2023-11-14T22:13:20.007Z");
        assert_eq!(json_time(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn fingerprints_match_prometheus_common() {
        // The vectors of prometheus/common's signature tests.
        assert_eq!(fingerprint(&Labels::empty()), 14695981039346656037);
        let l = labels! {"name" => "garland, briggs", "fear" => "love is not enough"};
        assert_eq!(fingerprint(&l), 5799056148416392346);
        assert_eq!(format!("{:016x}", fingerprint(&l)), "507a62d79ee76c9a");
    }

    #[test]
    fn label_sets_print_as_go() {
        let l = labels! {"job" => "api", "alertname" => "Down", "q" => "a\"b\\c\nd\u{1}é"};
        assert_eq!(
            label_set_string(&l),
            r#"{alertname="Down", job="api", q="a\"b\\c\nd\x01é"}"#
        );
        assert_eq!(label_set_string(&Labels::empty()), "{}");
    }

    #[test]
    fn quote_meta_as_go() {
        assert_eq!(quote_meta("team-a.pager"), r"team-a\.pager");
        assert_eq!(
            quote_meta(r"a+b*(c)|[d]{e}^$\?"),
            r"a\+b\*\(c\)\|\[d\]\{e\}\^\$\\\?"
        );
    }
}
