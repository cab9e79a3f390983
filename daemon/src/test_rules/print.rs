//! Values printed as promtool prints them in its failure messages, so that output reads the
//! same: Go's quoted strings (`%q`), label sets (`{__name__="up", job="x"}`), floats in `%E`
//! form (`1E+00`), Prometheus durations (`5m`) and Go durations (`1m0s`).

use std::fmt::Write as _;

/// A string quoted as Go's `strconv.Quote` does: printable characters as they are, the usual
/// backslash escapes, `\x..` for other ASCII control bytes and `\u....` / `\U........` for
/// other unprintable characters.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Close to Go's `unicode.IsPrint`: graphic characters and the ASCII space, not other
/// spaces, controls or format characters.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
        || ('\u{e000}'..='\u{f8ff}').contains(&c))
}

/// Whether Prometheus prints a label name bare (`[a-zA-Z_][a-zA-Z0-9_]*`) rather than quoted.
fn is_legacy_name(n: &str) -> bool {
    let mut cs = n.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A label set as Prometheus's `Labels.String` prints it: `{a="1", b="2"}`, names that are not
/// legacy identifiers quoted, the metric name as the `__name__` label.
pub fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (n, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if is_legacy_name(n) {
            out.push_str(n);
        } else {
            out.push_str(&go_quote(n));
        }
        out.push('=');
        out.push_str(&go_quote(v));
    }
    out.push('}');
    out
}

/// A float as Go's `strconv.FormatFloat(v, 'E', -1, 64)`: the shortest digits that read
/// back exactly, an exponent with sign and at least two digits (`3.0000000000000004E+00`);
/// `+Inf`, `-Inf`, `NaN`.
pub fn float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:E}");
    let (mantissa, exp) = s.split_once('E').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mantissa}E{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// A duration as Prometheus prints one (`model.Duration`): `5m`, `1d`, `2m59s999ms`, `0s`.
pub fn prom_duration(ms: i64) -> String {
    let s = model::duration::format_duration_ms(ms.unsigned_abs());
    if ms < 0 { format!("-{s}") } else { s }
}

/// A duration as Go's `time.Duration.String` prints one of whole milliseconds: `0s`,
/// `500ms`, `1m0s`, `24h0m0s`, `1m0.5s`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let mut secs = s.to_string();
    if frac > 0 {
        let f = format!("{frac:03}");
        secs.push('.');
        secs.push_str(f.trim_end_matches('0'));
    }
    if h > 0 {
        format!("{sign}{h}h{m}m{secs}s")
    } else if m > 0 {
        format!("{sign}{m}m{secs}s")
    } else {
        format!("{sign}{secs}s")
    }
}

/// Prefixes every line but the first with `indent` (promtool's `indentLines`).
pub fn indent_lines(text: &str, indent: &str) -> String {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
