//! Parsers for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text.
//!
//! [`Parser`] walks a whole payload line by line and yields [`Entry`] values that borrow from
//! the input (label values are copied only when they contain escapes). Errors carry the line
//! number and say what was expected.
//!
//! Differences between the two formats handled here:
//! * timestamps are integer milliseconds in text 0.0.4 and (possibly fractional) seconds in
//!   OpenMetrics; both come out as milliseconds;
//! * OpenMetrics ends with `# EOF` and may carry exemplars (`value # {labels} value [ts]`),
//!   which are parsed and skipped;
//! * `# UNIT` exists only in OpenMetrics.

use std::borrow::Cow;
use std::fmt;

#[cfg(test)]
mod tests;

/// Which exposition format a payload is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`
    Text,
    /// `application/openmetrics-text; version=1.0.0`
    OpenMetrics,
}

/// A metric family type from `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "unknown" | "untyped" => MetricType::Unknown,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// One meaningful line of a payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    Help { name: &'a str, text: Cow<'a, str> },
    Type { name: &'a str, kind: MetricType },
    Unit { name: &'a str, unit: &'a str },
    Sample(Sample<'a>),
}

/// One sample line, its series not yet split into labels: `series` is the text from the start
/// of the name to the closing `}` (or the end of the name), already checked for syntax. A
/// scraper keys its cache on it and calls [`series_labels`] only for series it has not seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSample<'a> {
    pub series: &'a str,
    pub name: &'a str,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// Like [`Entry`], with samples as [`RawSample`].
#[derive(Debug, Clone, PartialEq)]
pub enum RawEntry<'a> {
    Help { name: &'a str, text: Cow<'a, str> },
    Type { name: &'a str, kind: MetricType },
    Unit { name: &'a str, unit: &'a str },
    Sample(RawSample<'a>),
}

/// Splits the `series` of a [`RawSample`] into its labels (without the name), resolving
/// escapes. Fails on a repeated label name.
pub fn series_labels(series: &str) -> Result<Vec<(&str, Cow<'_, str>)>, String> {
    let mut out = Vec::new();
    if let Some(i) = series.find('{') {
        let mut p = Parser::new("", Format::Text);
        p.labels(&series[i + 1..], Some(&mut out))
            .map_err(|e| e.msg)?;
    }
    Ok(out)
}

/// A parse error: the 1-based line and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

/// Iterates the entries of a payload.
pub struct Parser<'a> {
    rest: &'a str,
    line: usize,
    format: Format,
    saw_eof: bool,
    failed: bool,
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a str, format: Format) -> Self {
        Parser {
            rest: input,
            line: 0,
            format,
            saw_eof: false,
            failed: false,
        }
    }

    fn err(&mut self, msg: impl Into<String>) -> ParseError {
        self.failed = true;
        ParseError {
            line: self.line.max(1),
            msg: msg.into(),
        }
    }

    fn next_line(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        self.line += 1;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    fn comment(&mut self, line: &'a str) -> Result<Option<RawEntry<'a>>, ParseError> {
        let body = line[1..].trim_start_matches(is_blank);
        if self.format == Format::OpenMetrics && line == "# EOF" {
            self.saw_eof = true;
            return Ok(None);
        }
        let (keyword, rest) = split_word(body);
        match keyword {
            "HELP" | "TYPE" | "UNIT" => {}
            _ if self.format == Format::Text => return Ok(None), // free-form comment
            _ => {
                return Err(self.err(format!(
                    "unexpected comment {line:?}: expected # HELP, # TYPE, # UNIT or # EOF"
                )));
            }
        }
        let (name, rest) = split_word(rest);
        if !is_metric_name(name) {
            return Err(self.err(format!("invalid metric name {name:?} in # {keyword}")));
        }
        match keyword {
            "HELP" => {
                let text = if self.format == Format::OpenMetrics {
                    unescape(rest, true)
                } else {
                    unescape(rest, false)
                };
                match text {
                    Some(text) => Ok(Some(RawEntry::Help { name, text })),
                    None => Err(self.err("invalid escape in # HELP")),
                }
            }
            "TYPE" => match MetricType::parse(rest.trim()) {
                Some(kind) => Ok(Some(RawEntry::Type { name, kind })),
                None => Err(self.err(format!("invalid metric type {:?}", rest.trim()))),
            },
            _ => {
                if self.format == Format::Text {
                    return Ok(None);
                }
                Ok(Some(RawEntry::Unit {
                    name,
                    unit: rest.trim(),
                }))
            }
        }
    }

    fn sample(&mut self, line: &'a str) -> Result<RawSample<'a>, ParseError> {
        // One pass: the name's characters, then a delimiter.
        let b = line.as_bytes();
        let mut name_end = 0;
        while name_end < b.len() && NAME_BYTE[b[name_end] as usize] {
            name_end += 1;
        }
        let valid_end = b
            .get(name_end)
            .is_none_or(|&c| c == b'{' || c == b' ' || c == b'\t');
        if name_end == 0 || b[0].is_ascii_digit() || !valid_end {
            let shown = line.split(['{', ' ', '\t']).next().unwrap_or(line);
            return Err(self.err(format!("invalid metric name {shown:?}")));
        }
        let name = &line[..name_end];
        let mut rest = &line[name_end..];
        if let Some(r) = rest.strip_prefix('{') {
            rest = self.labels(r, None)?;
        }
        let series = &line[..line.len() - rest.len()];
        let rest = rest.trim_start_matches(is_blank);
        // The value, then an optional timestamp, then (OpenMetrics) an optional exemplar.
        let (value_str, rest) = split_word(rest);
        if value_str.is_empty() {
            return Err(self.err(format!("expected a value for {name:?}")));
        }
        let value = parse_value(value_str)
            .ok_or_else(|| self.err(format!("invalid value {value_str:?}")))?;
        let rest = rest.trim_start_matches(is_blank);
        let mut timestamp_ms = None;
        let rest = if rest.is_empty() || rest.starts_with('#') {
            rest
        } else {
            let (ts, r) = split_word(rest);
            let t = match self.format {
                Format::Text => ts.parse::<i64>().ok(),
                Format::OpenMetrics => parse_seconds_as_ms(ts),
            };
            timestamp_ms = Some(t.ok_or_else(|| self.err(format!("invalid timestamp {ts:?}")))?);
            r.trim_start_matches(is_blank)
        };
        if !rest.is_empty() {
            if self.format == Format::OpenMetrics && rest.starts_with("# {") {
                self.exemplar(&rest[2..])?;
            } else {
                return Err(self.err(format!("unexpected text after the sample: {rest:?}")));
            }
        }
        Ok(RawSample {
            series,
            name,
            value,
            timestamp_ms,
        })
    }

    /// Parses `name="value",...}` and returns what follows the `}`. With `out`, the labels are
    /// collected (escapes resolved, repeated names refused); without, only the syntax is
    /// checked.
    fn labels<'s>(
        &mut self,
        mut s: &'s str,
        mut out: Option<&mut Vec<(&'s str, Cow<'s, str>)>>,
    ) -> Result<&'s str, ParseError> {
        loop {
            s = s.trim_start_matches(is_blank);
            if let Some(r) = s.strip_prefix('}') {
                return Ok(r);
            }
            let b = s.as_bytes();
            let mut n = 0;
            while n < b.len() && LABEL_BYTE[b[n] as usize] {
                n += 1;
            }
            let lname = &s[..n];
            let mut eq = n;
            while eq < b.len() && (b[eq] == b' ' || b[eq] == b'\t') {
                eq += 1;
            }
            if n == 0 || b[0].is_ascii_digit() || b.get(eq) != Some(&b'=') {
                return Err(match s.find('=') {
                    Some(e) => self.err(format!("invalid label name {:?}", s[..e].trim_end())),
                    None => self.err("expected '=' after label name"),
                });
            }
            if let Some(out) = &out
                && out.iter().any(|(n, _)| *n == lname)
            {
                return Err(self.err(format!("duplicate label name {lname:?}")));
            }
            s = s[eq + 1..].trim_start_matches(is_blank);
            let Some(body) = s.strip_prefix('"') else {
                return Err(self.err(format!(
                    "expected '\"' to start the value of label {lname:?}"
                )));
            };
            let (raw, after, escaped) = match quoted(body) {
                Quoted::Ok(raw, after, escaped) => (raw, after, escaped),
                Quoted::Unterminated => {
                    return Err(self.err(format!("unterminated value of label {lname:?}")));
                }
                Quoted::BadEscape => {
                    return Err(self.err(format!("invalid escape in the value of label {lname:?}")));
                }
            };
            if let Some(out) = out.as_deref_mut() {
                let value = if escaped {
                    unescape(raw, true).expect("escapes checked by quoted()")
                } else {
                    Cow::Borrowed(raw)
                };
                out.push((lname, value));
            }
            s = after.trim_start_matches(is_blank);
            if let Some(r) = s.strip_prefix(',') {
                s = r;
            } else if !s.starts_with('}') {
                return Err(self.err("expected ',' or '}' after a label value"));
            }
        }
    }

    /// `{labels} value [timestamp]`, checked and dropped.
    fn exemplar(&mut self, s: &'a str) -> Result<(), ParseError> {
        let rest = self.labels(&s[1..], None)?;
        let rest = rest.trim_start_matches(is_blank);
        let (v, rest) = split_word(rest);
        if parse_value(v).is_none() {
            return Err(self.err(format!("invalid exemplar value {v:?}")));
        }
        let (ts, rest) = split_word(rest.trim_start_matches(is_blank));
        if !ts.is_empty() && parse_value(ts).is_none() {
            return Err(self.err(format!("invalid exemplar timestamp {ts:?}")));
        }
        if !rest.trim().is_empty() {
            return Err(self.err("unexpected text after the exemplar"));
        }
        Ok(())
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.next_raw()? {
            Err(e) => Err(e),
            Ok(RawEntry::Help { name, text }) => Ok(Entry::Help { name, text }),
            Ok(RawEntry::Type { name, kind }) => Ok(Entry::Type { name, kind }),
            Ok(RawEntry::Unit { name, unit }) => Ok(Entry::Unit { name, unit }),
            Ok(RawEntry::Sample(r)) => match series_labels(r.series) {
                Ok(labels) => Ok(Entry::Sample(Sample {
                    name: r.name,
                    labels,
                    value: r.value,
                    timestamp_ms: r.timestamp_ms,
                })),
                Err(msg) => Err(self.err(msg)),
            },
        })
    }
}

impl<'a> Parser<'a> {
    /// The next entry, with the sample's labels left unsplit. After an error, `None`.
    pub fn next_raw(&mut self) -> Option<Result<RawEntry<'a>, ParseError>> {
        if self.failed {
            return None;
        }
        loop {
            if self.saw_eof {
                // Nothing may follow `# EOF` but an optional final newline.
                return match self.next_line() {
                    None => None,
                    Some("") if self.rest.is_empty() => None,
                    Some(_) => Some(Err(self.err("data after # EOF"))),
                };
            }
            let Some(line) = self.next_line() else {
                if self.format == Format::OpenMetrics {
                    return Some(Err(self.err("missing # EOF at the end")));
                }
                return None;
            };
            if line.trim().is_empty() {
                if self.format == Format::OpenMetrics && !self.rest.is_empty() {
                    return Some(Err(self.err("empty line")));
                }
                continue;
            }
            if line.starts_with('#') {
                match self.comment(line) {
                    Ok(Some(e)) => return Some(Ok(e)),
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e)),
                }
            }
            return Some(
                self.sample(line.trim_start_matches(is_blank))
                    .map(RawEntry::Sample),
            );
        }
    }
}

/// Space or tab: the separators of both formats.
#[inline]
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn split_word(s: &str) -> (&str, &str) {
    match s.bytes().position(|b| b == b' ' || b == b'\t') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && !b[0].is_ascii_digit() && b.iter().all(|&c| NAME_BYTE[c as usize])
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && !b[0].is_ascii_digit() && b.iter().all(|&c| LABEL_BYTE[c as usize])
}

/// A quoted label value split off its rest.
enum Quoted<'s> {
    /// The content, what follows the closing quote, and whether the content has escapes.
    Ok(&'s str, &'s str, bool),
    Unterminated,
    BadEscape,
}

/// Splits `...content"rest` at the closing quote, checking that every escape is `\\`, `\n`
/// or `\"`.
fn quoted(s: &str) -> Quoted<'_> {
    let bytes = s.as_bytes();
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                if !matches!(bytes.get(i + 1), Some(b'\\' | b'n' | b'"')) {
                    return if i + 1 >= bytes.len() {
                        Quoted::Unterminated
                    } else {
                        Quoted::BadEscape
                    };
                }
                escaped = true;
                i += 2;
            }
            b'"' => return Quoted::Ok(&s[..i], &s[i + 1..], escaped),
            _ => i += 1,
        }
    }
    Quoted::Unterminated
}

/// Bytes allowed in metric names after the first (`[a-zA-Z0-9_:]`).
static NAME_BYTE: [bool; 256] = byte_class(true);
/// Bytes allowed in label names after the first (`[a-zA-Z0-9_]`).
static LABEL_BYTE: [bool; 256] = byte_class(false);

const fn byte_class(colon: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'_' || (colon && c == b':');
        i += 1;
    }
    t
}

/// Resolves `\\`, `\n` and (when `quotes`) `\"`. Any other escape is kept as written in text
/// 0.0.4 HELP lines, as Prometheus does, and is an error elsewhere.
fn unescape(s: &str, quotes: bool) -> Option<Cow<'_, str>> {
    if !s.contains('\\') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            Some(other) if !quotes => {
                out.push('\\');
                out.push(other);
            }
            _ => return None,
        }
    }
    Some(Cow::Owned(out))
}

/// A sample value: decimal or exponent notation, `NaN`, `+Inf`, `-Inf` (case-insensitive).
pub fn parse_value(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    // Rust accepts "infinity" and "nan" spellings that the formats do not; those are rare and
    // harmless, but reject obviously foreign forms such as hex or underscores.
    let b = s.as_bytes();
    // Fast path: a plain integer of up to 15 digits is exact as an f64.
    if b.len() <= 15 && b.iter().all(u8::is_ascii_digit) {
        let mut n = 0u64;
        for &d in b {
            n = n * 10 + u64::from(d - b'0');
        }
        return Some(n as f64);
    }
    if b.iter().any(|&c| c == b'_' || c == b'x' || c == b'X') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// OpenMetrics timestamps are seconds, possibly fractional; converted to milliseconds by exact
/// decimal arithmetic (digits after the third decimal are truncated), so `1795335242.411`
/// becomes exactly `1795335242411`.
pub fn parse_seconds_as_ms(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if !digits.contains(['e', 'E']) {
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let secs: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut ms_part = 0i64;
        for (i, b) in frac.bytes().take(3).enumerate() {
            ms_part += (b - b'0') as i64 * 10i64.pow(2 - i as u32);
        }
        let ms = secs.checked_mul(1000)?.checked_add(ms_part)?;
        return Some(if neg { -ms } else { ms });
    }
    let f: f64 = s.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    Some((f * 1000.0) as i64)
}
