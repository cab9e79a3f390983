//! Series descriptions in Prometheus test notation, as `promqltest` scripts and `promtool test
//! rules` files write them.
//!
//! * A series: `name`, `name{label="value", …}`, `{__name__="name", …}` or with quoted UTF-8
//!   names `{"my.metric", "my.label"="v"}`; label values are PromQL string literals.
//! * Its values in expanding notation: `1 2 3`, `_` (no sample), `stale` (a staleness marker),
//!   `axN` (`a` N+1 times), `a+bxN` / `a-bxN` (`a`, then N more, each `b` further: repeated
//!   addition, as upstream), `_xN` (N empty slots), and native histograms `{{schema:0 sum:5 …}}`
//!   with the same forms (kept as text: checked, not interpreted).
//!
//! Item *k* of an expanded sequence belongs at `start + k * step`; an omitted item still
//! takes its slot.

use model::labels::Labels;

/// One slot of an expanded value sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqValue {
    /// `_`: no sample at this slot.
    Omitted,
    /// A float sample (`stale` is the staleness NaN).
    Float(f64),
    /// A native-histogram sample, kept as the text of its `{{…}}` item (not interpreted).
    Histogram(String),
}

impl SeqValue {
    pub fn is_histogram(&self) -> bool {
        matches!(self, SeqValue::Histogram(_))
    }
}

/// A Prometheus duration (`5m`, `1h30m`, `0`) in ms.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    model::duration::parse_duration_ms(s).and_then(|v| i64::try_from(v).map_err(|e| e.to_string()))
}

/// A number as upstream's `parseNumber` reads a scalar result line: a Go integer literal
/// (decimal, `0x`, `0o`, `0b`, leading-0 octal) or a Go float (`1e-6`, `+Inf`, `NaN`).
pub fn parse_number(s: &str) -> Result<f64, String> {
    if let Some(v) = parse_go_int(s) {
        return Ok(v as f64);
    }
    parse_go_float(s).ok_or_else(|| format!("error parsing number: {s:?}"))
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let body = body.replace('_', "");
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r.to_string())
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r.to_string())
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r.to_string())
        } else if body.len() > 1 && body.starts_with('0') {
            (8, body[1..].to_string())
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok();
    }
    // Plain decimal syntax only (Rust would also accept nothing else of interest here).
    if body.is_empty()
        || !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

// ---------------------------------------------------------------------------------------------
// Series descriptions: `name{l="v", …} <values>`.

/// Parses `<series> <values>` as in load bodies and result lines.
pub fn parse_series_desc(line: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let (labels, rest) = parse_series_labels(line)?;
    if labels.is_empty() && !line.trim_start().starts_with('{') {
        return Err(format!("missing series in {line:?}"));
    }
    let values = parse_values(rest)?;
    Ok((labels, values))
}

/// Parses a series on its own, without values, as Prometheus's `ParseMetric` reads the
/// expected labels of a test: the whole input is one series; empty input is the empty label
/// set (an unlabelled result, such as a scalar's).
pub fn parse_metric(s: &str) -> Result<Labels, String> {
    if s.trim().is_empty() {
        return Ok(Labels::empty());
    }
    let (labels, rest) = parse_series_labels(s)?;
    if !rest.trim().is_empty() {
        return Err(format!("unexpected {:?} after the series", rest.trim()));
    }
    Ok(labels)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Parses the series part (`name`, `name{…}`, `{…}`, `{"quoted.name", …}`); returns the
/// labels and the rest of the input.
pub fn parse_series_labels(s: &str) -> Result<(Labels, &str), String> {
    let s = s.trim_start();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut rest = s;
    let name_len = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
    if name_len > 0 {
        if !s.starts_with(is_name_start) {
            return Err(format!("invalid metric name in {s:?}"));
        }
        pairs.push(("__name__".into(), s[..name_len].to_string()));
        rest = &s[name_len..];
    }
    if let Some(body) = rest.strip_prefix('{') {
        let mut r = body;
        loop {
            r = r.trim_start();
            if let Some(after) = r.strip_prefix('}') {
                rest = after;
                break;
            }
            // A label name (identifier or quoted), or a quoted metric name on its own.
            let (name, after, quoted) = if r.starts_with(['"', '\'', '`']) {
                let (n, a) = parse_quoted(r)?;
                (n, a, true)
            } else {
                let n = r
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(r.len());
                if n == 0 || r.starts_with(|c: char| c.is_ascii_digit()) {
                    return Err(format!("invalid label name at {r:?}"));
                }
                (r[..n].to_string(), &r[n..], false)
            };
            r = after.trim_start();
            if let Some(after_eq) = r.strip_prefix('=') {
                if after_eq.starts_with('~') {
                    return Err(format!("unexpected matcher in series description at {r:?}"));
                }
                let (v, a) = parse_quoted(after_eq.trim_start())?;
                pairs.push((name, v));
                r = a;
            } else if quoted {
                pairs.push(("__name__".into(), name));
            } else {
                return Err(format!("expected '=' after label name {name:?}"));
            }
            r = r.trim_start();
            if let Some(a) = r.strip_prefix(',') {
                r = a;
            } else if !r.starts_with('}') {
                return Err(format!("expected ',' or '}}' at {r:?}"));
            }
        }
    } else if name_len == 0 {
        return Err(format!("invalid series description {s:?}"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (n, _) in &pairs {
        if !seen.insert(n.as_str()) {
            return Err(format!("label {n:?} given twice"));
        }
    }
    Ok((Labels::from_pairs(pairs), rest))
}

/// A PromQL string literal at the start of `s` (double or single quotes with Go escapes, or
/// back quotes, raw); returns its value and the rest.
pub fn parse_quoted(s: &str) -> Result<(String, &str), String> {
    let q = s.chars().next().ok_or("expected a quoted string")?;
    if !matches!(q, '"' | '\'' | '`') {
        return Err(format!("expected a quoted string at {s:?}"));
    }
    let body = &s[1..];
    if q == '`' {
        let end = body.find('`').ok_or("unterminated raw string")?;
        return Ok((body[..end].to_string(), &body[end + 1..]));
    }
    let mut out: Vec<u8> = Vec::new();
    let mut it = body.char_indices();
    while let Some((i, c)) = it.next() {
        if c == q {
            return Ok((String::from_utf8_lossy(&out).into_owned(), &body[i + 1..]));
        }
        if c == '\n' {
            break;
        }
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let (_, e) = it.next().ok_or("unterminated string")?;
        let mut take = |n: usize, radix: u32| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let (_, d) = it.next().ok_or("unterminated escape")?;
                v = v * radix
                    + d.to_digit(radix)
                        .ok_or_else(|| format!("invalid escape digit {d:?}"))?;
            }
            Ok(v)
        };
        match e {
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(11),
            '\\' => out.push(b'\\'),
            '"' | '\'' => out.push(e as u8),
            'x' => out.push(take(2, 16)? as u8),
            '0'..='7' => {
                let v = e.to_digit(8).unwrap() * 64 + take(2, 8)?;
                out.push(u8::try_from(v).map_err(|_| "octal escape out of range")?);
            }
            'u' | 'U' => {
                let v = take(if e == 'u' { 4 } else { 8 }, 16)?;
                let ch = char::from_u32(v).ok_or("invalid unicode escape")?;
                let mut buf = [0; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(format!("unknown escape sequence \\{e}")),
        }
    }
    Err("unterminated quoted string".into())
}

// ---------------------------------------------------------------------------------------------
// Value sequences.

/// Expands a value sequence (`1 _ 3+2x4 _x3 stale {{…}}x2 …`).
pub fn parse_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        if s[i..].starts_with("{{") {
            let (h1, ni) = read_histogram(s, i)?;
            i = ni;
            if let Some((n, ni)) = read_times(s, i) {
                out.extend(std::iter::repeat_n(SeqValue::Histogram(h1), n + 1));
                i = ni;
            } else if i < b.len() && (b[i] == b'+' || b[i] == b'-') && s[i + 1..].starts_with("{{")
            {
                let op = b[i] as char;
                let (h2, ni) = read_histogram(s, i + 1)?;
                let (n, ni) = read_times(s, ni)
                    .ok_or_else(|| format!("expected 'x<count>' after {:?}", &s[start..ni]))?;
                i = ni;
                out.push(SeqValue::Histogram(h1.clone()));
                for k in 1..=n {
                    out.push(SeqValue::Histogram(format!("{h1}{op}{k}*{h2}")));
                }
            } else {
                out.push(SeqValue::Histogram(h1));
            }
        } else if b[i] == b'_' {
            i += 1;
            if let Some((n, ni)) = read_times(s, i) {
                out.extend(std::iter::repeat_n(SeqValue::Omitted, n));
                i = ni;
            } else {
                out.push(SeqValue::Omitted);
            }
        } else if s[i..].starts_with("stale")
            && !s[i + 5..].starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            out.push(SeqValue::Float(model::stale_nan()));
            i += 5;
        } else {
            let (a, ni) = read_number(s, i)?;
            i = ni;
            if let Some((n, ni)) = read_times(s, i) {
                out.extend(std::iter::repeat_n(SeqValue::Float(a), n + 1));
                i = ni;
            } else if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                let (d, ni) = read_number(s, i)?;
                let (n, ni) = read_times(s, ni)
                    .ok_or_else(|| format!("expected 'x<count>' after {:?}", &s[start..ni]))?;
                i = ni;
                // Repeated addition, as upstream (not a + k*d).
                let mut v = a;
                out.push(SeqValue::Float(v));
                for _ in 0..n {
                    v += d;
                    out.push(SeqValue::Float(v));
                }
            } else {
                out.push(SeqValue::Float(a));
            }
        }
        if i < b.len() && !b[i].is_ascii_whitespace() {
            let end = s[start..]
                .find(char::is_whitespace)
                .map_or(s.len(), |e| start + e);
            return Err(format!("invalid value item {:?}", &s[start..end]));
        }
    }
    Ok(out)
}

/// `x<N>` at `i`.
fn read_times(s: &str, i: usize) -> Option<(usize, usize)> {
    let rest = s[i..].strip_prefix('x')?;
    let n = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if n == 0 {
        return None;
    }
    Some((rest[..n].parse().ok()?, i + 1 + n))
}

/// A signed float (`-2`, `.5`, `1e3`, `Inf`, `-NaN`) at `i`.
fn read_number(s: &str, i: usize) -> Result<(f64, usize), String> {
    let b = s.as_bytes();
    let mut j = i;
    if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
        j += 1;
    }
    let body = &s[j..];
    for word in ["inf", "nan"] {
        if body.len() >= 3
            && body[..3].eq_ignore_ascii_case(word)
            && !body[3..].starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            let end = j + 3;
            return Ok((s[i..end].parse::<f64>().map_err(|e| e.to_string())?, end));
        }
    }
    let digits_start = j;
    while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
        j += 1;
    }
    if j == digits_start || !s[digits_start..j].bytes().any(|c| c.is_ascii_digit()) {
        let end = s[i..].find(char::is_whitespace).map_or(s.len(), |e| i + e);
        return Err(format!("invalid value {:?}", &s[i..end]));
    }
    if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
        let mut k = j + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        let ds = k;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > ds {
            j = k;
        }
    }
    let v = s[i..j]
        .parse::<f64>()
        .map_err(|e| format!("invalid number {:?}: {e}", &s[i..j]))?;
    Ok((v, j))
}

const HISTOGRAM_KEYS: [&str; 11] = [
    "schema",
    "sum",
    "count",
    "z_bucket",
    "z_bucket_w",
    "buckets",
    "offset",
    "n_buckets",
    "n_offset",
    "custom_values",
    "counter_reset_hint",
];

/// A `{{…}}` item at `i`, checked for well-formed `key:value` pairs but not interpreted.
fn read_histogram(s: &str, i: usize) -> Result<(String, usize), String> {
    let end = s[i..].find("}}").ok_or("unterminated '{{' histogram")? + i;
    let inner = &s[i + 2..end];
    let mut seen = Vec::new();
    let mut r = inner.trim();
    while !r.is_empty() {
        let colon = r
            .find(':')
            .ok_or_else(|| format!("invalid histogram item at {r:?}"))?;
        let key = r[..colon].trim();
        if !HISTOGRAM_KEYS.contains(&key) {
            return Err(format!("unknown histogram key {key:?}"));
        }
        if seen.contains(&key) {
            return Err(format!("histogram key {key:?} given twice"));
        }
        seen.push(key);
        r = r[colon + 1..].trim_start();
        let vend = if r.starts_with('[') {
            let close = r.find(']').ok_or("unterminated '[' in histogram")?;
            for v in r[1..close].split_whitespace() {
                read_number(v, 0).map_err(|e| format!("histogram {key}: {e}"))?;
            }
            close + 1
        } else {
            let e = r.find(char::is_whitespace).unwrap_or(r.len());
            let v = &r[..e];
            let ok = if key == "counter_reset_hint" {
                matches!(v, "unknown" | "reset" | "not_reset" | "gauge")
            } else {
                read_number(v, 0).is_ok_and(|(_, n)| n == v.len())
            };
            if !ok {
                return Err(format!("invalid value {v:?} for histogram key {key}"));
            }
            e
        };
        r = r[vend..].trim_start();
    }
    Ok((s[i..end + 2].to_string(), end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(s: &str) -> Vec<Option<f64>> {
        parse_values(s)
            .unwrap()
            .into_iter()
            .map(|v| match v {
                SeqValue::Float(f) => Some(f),
                SeqValue::Omitted => None,
                SeqValue::Histogram(h) => panic!("unexpected histogram {h}"),
            })
            .collect()
    }

    #[test]
    fn value_expansion() {
        assert_eq!(floats("-2+4x3"), [-2.0, 2.0, 6.0, 10.0].map(Some));
        assert_eq!(floats("1-2x4"), [1.0, -1.0, -3.0, -5.0, -7.0].map(Some));
        assert_eq!(floats("1x4"), [Some(1.0); 5]);
        assert_eq!(floats("0+60x14").len(), 15);
        assert_eq!(floats("1 _x3 3").len(), 5);
        assert_eq!(floats("_ _x2"), [None, None, None]);
        assert_eq!(floats("0x5"), [Some(0.0); 6], "no hex in series values");
        assert_eq!(
            floats(".5 1e3 12.34e-6 -Inf +Inf"),
            [0.5, 1e3, 12.34e-6, f64::NEG_INFINITY, f64::INFINITY].map(Some)
        );
        assert!(floats("NaN nan")[1].unwrap().is_nan());
        // Repeated float addition, not a + k*b.
        let mut v = 0.0;
        for _ in 0..10 {
            v += 0.1;
        }
        assert_eq!(floats("0+0.1x10")[10], Some(v));
        assert!(parse_values("1 x").is_err());
        assert!(parse_values("stalex3").is_err());
        assert!(parse_values("1+2").is_err());
    }

    #[test]
    fn stale_and_histograms() {
        let v = parse_values("1 stale 3").unwrap();
        let SeqValue::Float(s) = v[1] else { panic!() };
        assert!(model::is_stale_nan(s));
        let v = parse_values("1 {{schema:0 sum:5 count:4 buckets:[1 2 1]}} {{count:1}}x2 {{count:0}}+{{count:1 counter_reset_hint:gauge}}x3 2").unwrap();
        assert_eq!(v.len(), 1 + 1 + 3 + 4 + 1);
        assert!(v[1].is_histogram() && v[8].is_histogram());
        assert_eq!(v[9], SeqValue::Float(2.0));
        assert!(parse_values("{{bogus:1}}").is_err());
        assert!(parse_values("{{count:1").is_err());
    }

    #[test]
    fn series_descriptions() {
        let (l, v) =
            parse_series_desc(r#"http_requests{job="api-server", instance='0'}  0+10x2"#).unwrap();
        assert_eq!(
            l,
            Labels::from_pairs([
                ("__name__", "http_requests"),
                ("job", "api-server"),
                ("instance", "0")
            ])
        );
        assert_eq!(v.len(), 3);
        let (l, _) = parse_series_desc(r#"{"my.metric", "my.label"="v", b=`x\y`,} 1"#).unwrap();
        assert_eq!(
            l,
            Labels::from_pairs([("__name__", "my.metric"), ("my.label", "v"), ("b", r"x\y")])
        );
        let (l, _) = parse_series_desc(r#"{__name__="m", a="x\"y\n\x41\u00e9"} 1"#).unwrap();
        assert_eq!(l.get("a"), "x\"y\nAé");
        assert_eq!(l.metric_name(), "m");
        let (l, v) = parse_series_desc("{} 52").unwrap();
        assert!(l.is_empty());
        assert_eq!(v, [SeqValue::Float(52.0)]);
        let (l, _) = parse_series_desc("some_metric_with_stale_marker{} 1 _ 3").unwrap();
        assert_eq!(l.metric_name(), "some_metric_with_stale_marker");
        assert!(parse_series_desc(r#"m{a="b" 1"#).is_err());
        assert!(parse_series_desc(r#"m{a=~"b"} 1"#).is_err());
    }

    #[test]
    fn durations_and_numbers() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("5m1ms"), Ok(300_001));
        assert_eq!(parse_duration("10s53ms"), Ok(10_053));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("1.5m").is_err());
        assert!(parse_duration("-1m").is_err());
        assert_eq!(parse_number("1"), Ok(1.0));
        assert_eq!(parse_number("-0.2"), Ok(-0.2));
        assert_eq!(parse_number("1e-6"), Ok(1e-6));
        assert_eq!(parse_number("+Inf"), Ok(f64::INFINITY));
        assert!(parse_number("NaN").unwrap().is_nan());
        assert_eq!(parse_number("0x10"), Ok(16.0));
        assert!(parse_number("{} 1").is_err());
        assert!(parse_number("metric").is_err());
    }

    #[test]
    fn metrics_without_values() {
        assert_eq!(parse_metric("").unwrap(), Labels::empty());
        assert_eq!(parse_metric("  ").unwrap(), Labels::empty());
        assert_eq!(
            parse_metric(r#"{alertname="A",alertstate="firing"}"#).unwrap(),
            Labels::from_pairs([("alertname", "A"), ("alertstate", "firing")])
        );
        assert_eq!(
            parse_metric("test").unwrap(),
            Labels::from_pairs([("__name__", "test")])
        );
        assert!(parse_metric("test 1").is_err());
        assert!(parse_metric(r#"up{job="x""#).is_err());
    }
}
