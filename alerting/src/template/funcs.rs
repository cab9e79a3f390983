//! The function table: Go's builtins and Prometheus's template functions, each with the Go
//! parameter types that decide what it accepts, and the methods of the Go values templates
//! reach (`time.Time`, `time.Duration`, `time.Month`, `time.Weekday`).

use std::collections::BTreeMap;
use std::rc::Rc;

use super::builtins;
use super::exec::Env;
use super::gofmt;
use super::gotime::{self, GoTime};
use super::strconv;
use super::value::{IntKind, SampleValue, Value};

/// A Go parameter type, as far as argument checking needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// `interface{}`.
    Any,
    /// `reflect.Value` (Go's builtins): anything, including "no value".
    Reflect,
    String,
    Int,
    /// `template.queryResult`.
    QueryResult,
    /// `*template.sample`.
    SamplePtr,
    /// `time.Duration`.
    Duration,
    /// `time.Time`.
    Time,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Reflect => "reflect.Value",
            Ty::String => "string",
            Ty::Int => "int",
            Ty::QueryResult => "template.queryResult",
            Ty::SamplePtr => "*template.sample",
            Ty::Duration => "time.Duration",
            Ty::Time => "time.Time",
        }
    }

    /// The value `nil` (or "no value") becomes for this type, if it can be nil.
    pub fn zero(self) -> Option<Value> {
        match self {
            Ty::Any | Ty::SamplePtr => Some(Value::Nil),
            Ty::Reflect => Some(Value::Invalid),
            Ty::QueryResult => Some(Value::Samples(Rc::new(Vec::new()))),
            _ => None,
        }
    }

    /// `v` as this type (a pointer followed once), or `v` back when it does not fit.
    pub fn accept(self, v: Value) -> Result<Value, Value> {
        let ok = matches!(
            (self, &v),
            (Ty::Any | Ty::Reflect, _)
                | (Ty::String, Value::Str(_))
                | (Ty::Int, Value::Int(_, IntKind::Int))
                | (Ty::QueryResult, Value::Samples(_))
                | (Ty::SamplePtr, Value::Sample(_))
                | (Ty::Duration, Value::Duration(..))
                | (Ty::Time, Value::Time(..))
        );
        if ok { Ok(v.indirect_for(self)) } else { Err(v) }
    }
}

impl Value {
    /// Pointers to durations and times are followed when a value of the pointee type is
    /// wanted.
    fn indirect_for(self, ty: Ty) -> Value {
        match (ty, self) {
            (Ty::Duration, Value::Duration(d, _)) => Value::Duration(d, false),
            (Ty::Time, Value::Time(t, _)) => Value::Time(t, false),
            (_, v) => v,
        }
    }
}

pub(crate) type Imp = fn(&Env<'_>, Vec<Value>) -> Result<Value, String>;

/// A template function: Go's builtins and Prometheus's, in one table.
pub(crate) struct FuncDef {
    pub name: &'static str,
    pub params: &'static [Ty],
    /// The element type of a trailing `...` parameter.
    pub variadic: Option<Ty>,
    /// Go's builtins (`and`, `or` and `call` are evaluated specially).
    pub builtin: bool,
    pub imp: Imp,
}

const fn f(name: &'static str, params: &'static [Ty], imp: Imp) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic: None,
        builtin: false,
        imp,
    }
}

const fn fv(name: &'static str, params: &'static [Ty], variadic: Ty, imp: Imp) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic: Some(variadic),
        builtin: false,
        imp,
    }
}

const fn b(name: &'static str, params: &'static [Ty], variadic: Option<Ty>, imp: Imp) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic,
        builtin: true,
        imp,
    }
}

use Ty::{Any, QueryResult, Reflect, SamplePtr, String as Str};

/// Every function a template can call.
pub(crate) static FUNCTIONS: &[FuncDef] = &[
    // Go's builtins.
    b("and", &[Reflect], Some(Reflect), builtins::unreachable),
    b("or", &[Reflect], Some(Reflect), builtins::unreachable),
    b("call", &[Reflect], Some(Reflect), builtins::unreachable),
    b("not", &[Reflect], None, builtins::not),
    b("len", &[Reflect], None, builtins::len),
    b("index", &[Reflect], Some(Reflect), builtins::index),
    b("slice", &[Reflect], Some(Reflect), builtins::slice),
    b("print", &[], Some(Any), builtins::print),
    b("printf", &[Str], Some(Any), builtins::printf),
    b("println", &[], Some(Any), builtins::println),
    b("html", &[], Some(Any), builtins::html),
    b("js", &[], Some(Any), builtins::js),
    b("urlquery", &[], Some(Any), builtins::urlquery),
    b("eq", &[Reflect], Some(Reflect), builtins::eq),
    b("ne", &[Reflect, Reflect], None, builtins::ne),
    b("lt", &[Reflect, Reflect], None, builtins::lt),
    b("le", &[Reflect, Reflect], None, builtins::le),
    b("gt", &[Reflect, Reflect], None, builtins::gt),
    b("ge", &[Reflect, Reflect], None, builtins::ge),
    // Prometheus's functions.
    f("query", &[Str], query),
    f("first", &[QueryResult], first),
    f("label", &[Str, SamplePtr], label),
    f("value", &[SamplePtr], value),
    f("strvalue", &[SamplePtr], strvalue),
    fv("args", &[], Any, args),
    f("reReplaceAll", &[Str, Str, Str], re_replace_all),
    f("safeHtml", &[Str], safe_html),
    f("match", &[Str, Str], match_),
    f("title", &[Str], title),
    f("toUpper", &[Str], |_, a| {
        Ok(Value::str(map_case(text(&a[0]), true)))
    }),
    f("toLower", &[Str], |_, a| {
        Ok(Value::str(map_case(text(&a[0]), false)))
    }),
    f("graphLink", &[Str], |_, a| {
        Ok(Value::str(graph_link(text(&a[0]), 0)))
    }),
    f("tableLink", &[Str], |_, a| {
        Ok(Value::str(graph_link(text(&a[0]), 1)))
    }),
    f("sortByLabel", &[Str, QueryResult], sort_by_label),
    f("stripPort", &[Str], |_, a| {
        Ok(Value::str(strip_port(text(&a[0]))))
    }),
    f("stripDomain", &[Str], |_, a| {
        Ok(Value::str(strip_domain(text(&a[0]))))
    }),
    f("humanize", &[Any], humanize),
    f("humanize1024", &[Any], humanize1024),
    f("humanizeDuration", &[Any], humanize_duration),
    f("humanizePercentage", &[Any], humanize_percentage),
    f("humanizeTimestamp", &[Any], humanize_timestamp),
    f("toTime", &[Any], to_time),
    f("toDuration", &[Any], to_duration),
    f("now", &[], |env, _| {
        Ok(Value::Float(env.t_ms as f64 / 1000.0))
    }),
    f("pathPrefix", &[], |env, _| {
        Ok(Value::str(url_path(env.external_url)))
    }),
    f("externalURL", &[], |env, _| {
        Ok(Value::str(env.external_url))
    }),
    f("parseDuration", &[Str], parse_duration),
    f("urlQueryEscape", &[Str], |_, a| {
        Ok(Value::str(query_escape(text(&a[0]))))
    }),
];

pub(crate) fn lookup(name: &str) -> Option<&'static FuncDef> {
    FUNCTIONS.iter().find(|d| d.name == name)
}

/// Whether `name` is a function, for the parser's check.
pub(crate) fn has_function(name: &str) -> bool {
    lookup(name).is_some()
}

/// A method bound to its receiver's type.
pub(crate) struct MethodDef {
    pub params: &'static [Ty],
    pub imp: fn(&Value, Vec<Value>) -> Result<Value, String>,
}

/// What `eval_call` invokes.
pub(crate) enum Callee {
    Func(&'static FuncDef),
    Method(MethodDef, Value),
}

impl Callee {
    pub fn signature(&self) -> (&'static [Ty], Option<Ty>) {
        match self {
            Callee::Func(d) => (d.params, d.variadic),
            Callee::Method(m, _) => (m.params, None),
        }
    }

    pub fn call(&self, env: &Env<'_>, args: Vec<Value>) -> Result<Value, String> {
        match self {
            Callee::Func(d) => (d.imp)(env, args),
            Callee::Method(m, recv) => (m.imp)(recv, args),
        }
    }
}

/// Go's `strings.ToUpper`/`ToLower`: one character for one (ß stays ß), where Rust's own
/// mapping may give several.
fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            match m.len() {
                1 => m.remove(0),
                _ if c == '\u{130}' && !upper => 'i',
                _ => c,
            }
        })
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

fn sample(v: &Value) -> Result<&Rc<SampleValue>, String> {
    match v {
        Value::Sample(s) => Ok(s),
        _ => Err(NIL_DEREF.to_string()),
    }
}

fn samples(v: &Value) -> &[Rc<SampleValue>] {
    match v {
        Value::Samples(s) => s,
        _ => &[],
    }
}

fn query(env: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let Some(engine) = env.query else {
        return Err("no query engine available".to_string());
    };
    let result = engine.instant(text(&a[0]), env.t_ms)?;
    let samples = result
        .into_iter()
        .map(|s| {
            let labels: BTreeMap<String, String> = s
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect();
            Rc::new(SampleValue {
                labels: Rc::new(labels),
                value: s.value,
            })
        })
        .collect();
    Ok(Value::Samples(Rc::new(samples)))
}

fn first(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    match samples(&a[0]).first() {
        Some(s) => Ok(Value::Sample(s.clone())),
        None => Err("first() called on vector with no elements".to_string()),
    }
}

fn label(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let s = sample(&a[1])?;
    Ok(Value::str(
        s.labels.get(text(&a[0])).map_or("", String::as_str),
    ))
}

fn value(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Float(sample(&a[0])?.value))
}

fn strvalue(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let s = sample(&a[0])?;
    Ok(Value::str(
        s.labels.get("__value__").map_or("", String::as_str),
    ))
}

fn args(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let m = a
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("arg{i}"), v))
        .collect();
    Ok(Value::AnyMap(Rc::new(m)))
}

/// Go's regexp syntax on Rust's engine: both are RE2, but Go's `\d \w \s \b` are ASCII.
fn go_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                match n {
                    'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'b' | 'B' if !in_class => {
                        out.push_str("(?-u:\\");
                        out.push(n);
                        out.push(')');
                    }
                    'd' if in_class => out.push_str("0-9"),
                    'w' if in_class => out.push_str("0-9A-Za-z_"),
                    's' if in_class => out.push_str("\\t\\n\\x0C\\r "),
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A ']' right after '[' or '[^' is literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if in_class => {
                // A POSIX class such as [:alpha:] stays as it is.
                out.push(c);
                if chars.peek() == Some(&':') {
                    for d in chars.by_ref() {
                        out.push(d);
                        if d == ']' {
                            break;
                        }
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn compile(env: &Env<'_>, pattern: &str) -> Result<Rc<regex::Regex>, String> {
    if let Some(r) = env.regexes.borrow().get(pattern) {
        return Ok(r.clone());
    }
    let re = regex::RegexBuilder::new(&go_regex(pattern))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let detail = match &e {
                regex::Error::Syntax(s) => s
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("error: "))
                    .unwrap_or("invalid syntax")
                    .to_string(),
                regex::Error::CompiledTooBig(_) => "expression too large".to_string(),
                _ => e.to_string(),
            };
            let quoted = if strconv::can_backquote(pattern) {
                format!("`{pattern}`")
            } else {
                strconv::quote(pattern)
            };
            format!("error parsing regexp: {detail}: {quoted}")
        })?;
    let re = Rc::new(re);
    let mut cache = env.regexes.borrow_mut();
    if cache.len() < 64 {
        cache.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

fn re_replace_all(env: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let pattern = text(&a[0]);
    // Go's MustCompile panics with the pattern quoted; the panic becomes the error.
    let re = compile(env, pattern).map_err(|e| {
        let quoted = if strconv::can_backquote(pattern) {
            format!("`{pattern}`")
        } else {
            strconv::quote(pattern)
        };
        format!("regexp: Compile({quoted}): {e}")
    })?;
    Ok(Value::str(
        re.replace_all(text(&a[2]), text(&a[1])).into_owned(),
    ))
}

fn match_(env: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let re = compile(env, text(&a[0]))?;
    Ok(Value::Bool(re.is_match(text(&a[1]))))
}

fn safe_html(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Html(text(&a[0]).into()))
}

/// Title case as `cases.Title(language.AmericanEnglish, cases.NoLower)`: the first letter of
/// each word upper-cased, the rest left alone. Words run over letters, digits, marks and
/// underscores, and across an apostrophe, period or colon between letters.
fn title(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let s = text(&a[0]);
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for (i, &c) in chars.iter().enumerate() {
        let wordy = c.is_alphanumeric() || c == '_';
        let joiner = matches!(c, '\'' | '.' | ':' | '\u{2019}')
            && in_word
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic())
            && i > 0
            && chars[i - 1].is_alphabetic();
        if wordy && !in_word {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        in_word = wordy || joiner;
    }
    Ok(Value::str(out))
}

/// `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn graph_link(expr: &str, tab: u8) -> String {
    format!("/graph?g0.expr={}&g0.tab={tab}", query_escape(expr))
}

fn sort_by_label(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let key = text(&a[0]);
    let mut v: Vec<Rc<SampleValue>> = samples(&a[1]).to_vec();
    v.sort_by(|x, y| {
        let lx = x.labels.get(key).map_or("", String::as_str);
        let ly = y.labels.get(key).map_or("", String::as_str);
        lx.cmp(ly)
    });
    Ok(Value::Samples(Rc::new(v)))
}

/// `net.SplitHostPort`.
fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let i = hp.rfind(':')?;
    let (host, j, k) = if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 == hp.len() || end + 1 != i {
            return None;
        }
        (&hp[1..end], 1, end + 1)
    } else {
        let host = &hp[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hp[j..].contains('[') || hp[k..].contains(']') {
        return None;
    }
    Some((host, &hp[i + 1..]))
}

fn strip_port(hp: &str) -> String {
    match split_host_port(hp) {
        Some((host, _)) => host.to_string(),
        None => hp.to_string(),
    }
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let host = host.split('.').next().unwrap_or("");
    if port.is_empty() {
        return host.to_string();
    }
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The path of a URL (percent-escapes decoded), as Go's `url.URL.Path`.
fn url_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            match after.find(['/', '?', '#']) {
                Some(j) => &after[j..],
                None => "",
            }
        }
        None => url,
    };
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `common_templates.ConvertToFloat`: numbers, numeric strings and durations.
fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Str(s) => strconv::parse_float(s),
        Value::Int(i, _) => Ok(*i as f64),
        Value::Uint(u, k) if *k != super::value::UintKind::Uint8 => Ok(*u as f64),
        Value::Duration(d, false) => Ok(duration_seconds(*d)),
        Value::Nil | Value::Invalid => Err("can't convert <nil> to float".to_string()),
        v => Err(format!("can't convert {} to float", v.type_name())),
    }
}

fn g4(v: f64) -> String {
    gofmt::sprintf("%.4g", &[Value::Float(v)])
}

fn humanize(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let mut v = to_float(&a[0])?;
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return Ok(Value::str(g4(v)));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    Ok(Value::str(format!("{}{prefix}", g4(v))))
}

fn humanize1024(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let mut v = to_float(&a[0])?;
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return Ok(Value::str(g4(v)));
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    Ok(Value::str(format!("{}{prefix}", g4(v))))
}

/// Go's float64 to int64 conversion on amd64: out of range and NaN give the minimum.
fn go_f64_to_i64(v: f64) -> i64 {
    if v.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

fn humanize_duration(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let mut v = to_float(&a[0])?;
    if v.is_nan() || v.is_infinite() {
        return Ok(Value::str(g4(v)));
    }
    if v == 0.0 {
        return Ok(Value::str(format!("{}s", g4(v))));
    }
    if v.abs() >= 1.0 {
        let mut sign = "";
        if v < 0.0 {
            sign = "-";
            v = -v;
        }
        let d = go_f64_to_i64(v);
        let seconds = d % 60;
        let minutes = (d / 60) % 60;
        let hours = (d / 60 / 60) % 24;
        let days = d / 60 / 60 / 24;
        let s = if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", g4(v))
        };
        return Ok(Value::str(s));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    Ok(Value::str(format!("{}{prefix}s", g4(v))))
}

fn humanize_percentage(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let v = to_float(&a[0])?;
    Ok(Value::str(format!("{}%", g4(v * 100.0))))
}

/// Seconds since the epoch to an instant, truncated to the millisecond as Prometheus's
/// `model.Time` does.
fn float_to_time(v: f64) -> Result<Option<GoTime>, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(None);
    }
    let ts = v * 1e9;
    if !(-9.223_372_036_854_776e18..=9.223_372_036_854_776e18).contains(&ts) {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            gofmt::sprint(&[Value::Float(v)])
        ));
    }
    let ms = go_f64_to_i64(ts) / 1_000_000;
    Ok(Some(GoTime::from_unix_nanos(ms as i128 * 1_000_000)))
}

fn humanize_timestamp(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let v = to_float(&a[0])?;
    match float_to_time(v)? {
        None => Ok(Value::str(g4(v))),
        Some(t) => Ok(Value::str(t.string())),
    }
}

fn to_time(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let v = to_float(&a[0])?;
    match float_to_time(v)? {
        None => Err("value is NaN or Inf".to_string()),
        Some(t) => Ok(Value::Time(t, true)),
    }
}

fn to_duration(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let v = to_float(&a[0])?;
    Ok(Value::Duration(go_f64_to_i64(v * 1e9), true))
}

/// Prometheus duration syntax (`1h30m`, `-5m`, `2w`), in seconds.
fn parse_duration(_: &Env<'_>, a: Vec<Value>) -> Result<Value, String> {
    let s = text(&a[0]);
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) if !s.is_empty() => (true, rest),
        _ => (false, s),
    };
    let ns = prom_duration(body)?;
    let ns = if neg { -ns } else { ns };
    Ok(Value::Float(ns as f64 / 1e9))
}

fn prom_duration(s: &str) -> Result<i64, String> {
    match s {
        "0" => return Ok(0),
        "" => return Err("empty duration string".to_string()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {}", strconv::quote(s));
    let units: [(&str, u32, u64); 7] = [
        ("y", 1, 365 * 24 * 3600 * 1_000_000_000),
        ("w", 2, 7 * 24 * 3600 * 1_000_000_000),
        ("d", 3, 24 * 3600 * 1_000_000_000),
        ("h", 4, 3600 * 1_000_000_000),
        ("m", 5, 60 * 1_000_000_000),
        ("s", 6, 1_000_000_000),
        ("ms", 7, 1_000_000),
    ];
    let mut rest = s;
    let mut dur: u64 = 0;
    let mut last_pos = 0;
    while !rest.is_empty() {
        if !rest.as_bytes()[0].is_ascii_digit() {
            return Err(invalid());
        }
        let i = rest.bytes().take_while(u8::is_ascii_digit).count();
        let v: u64 = rest[..i].parse().map_err(|_| invalid())?;
        rest = &rest[i..];
        let j = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if j == 0 {
            return Err(invalid());
        }
        let u = &rest[..j];
        rest = &rest[j..];
        let Some(&(_, pos, mult)) = units.iter().find(|(n, _, _)| *n == u) else {
            return Err(format!(
                "unknown unit {} in duration {}",
                strconv::quote(u),
                strconv::quote(s)
            ));
        };
        if pos <= last_pos {
            return Err(invalid());
        }
        last_pos = pos;
        if v > (1u64 << 63) / mult {
            return Err("duration out of range".to_string());
        }
        dur += v * mult;
        if dur > i64::MAX as u64 {
            return Err("duration out of range".to_string());
        }
    }
    Ok(dur as i64)
}

fn duration_seconds(d: i64) -> f64 {
    (d / 1_000_000_000) as f64 + (d % 1_000_000_000) as f64 / 1e9
}

fn time_of(v: &Value) -> GoTime {
    match v {
        Value::Time(t, _) => *t,
        _ => GoTime { secs: 0, nsec: 0 },
    }
}

fn dur_of(v: &Value) -> i64 {
    match v {
        Value::Duration(d, _) => *d,
        _ => 0,
    }
}

macro_rules! m {
    ($params:expr, $imp:expr) => {
        Some(MethodDef {
            params: $params,
            imp: $imp,
        })
    };
}

/// The methods of a receiver (through a pointer, as Go's method sets allow).
pub(crate) fn method(recv: &Value, name: &str) -> Option<MethodDef> {
    use Ty::{Duration as D, Int, Time as T};
    match recv {
        Value::Time(..) => match name {
            "Format" => m!(&[Ty::String], |r, a| Ok(Value::str(
                time_of(r).format(text(&a[0]))
            ))),
            "String" => m!(&[], |r, _| Ok(Value::str(time_of(r).string()))),
            "Add" => m!(&[D], |r, a| Ok(Value::Time(
                time_of(r).add(dur_of(&a[0])),
                false
            ))),
            "Sub" => m!(&[T], |r, a| Ok(Value::Duration(
                time_of(r).sub(time_of(&a[0])),
                false
            ))),
            "AddDate" => m!(&[Int, Int, Int], |r, a| {
                let t = time_of(r);
                let c = t.civil();
                let months = c.year * 12 + (c.month as i64 - 1) + a[1].int_value();
                let (y, mo) = (months.div_euclid(12), months.rem_euclid(12) as u32 + 1);
                let y = y + a[0].int_value();
                let first = GoTime {
                    secs: civil_days(y, mo) * 86_400,
                    nsec: 0,
                };
                let day_off = c.day as i64 - 1 + a[2].int_value();
                let tod = (c.hour * 3600 + c.min * 60 + c.sec) as i64;
                Ok(Value::Time(
                    GoTime {
                        secs: first.secs + day_off * 86_400 + tod,
                        nsec: t.nsec,
                    },
                    false,
                ))
            }),
            "Unix" => m!(&[], |r, _| Ok(Value::Int(time_of(r).secs, IntKind::Int64))),
            "UnixMilli" => m!(&[], |r, _| Ok(Value::Int(
                time_of(r).unix_nanos().div_euclid(1_000_000) as i64,
                IntKind::Int64
            ))),
            "UnixMicro" => m!(&[], |r, _| Ok(Value::Int(
                time_of(r).unix_nanos().div_euclid(1_000) as i64,
                IntKind::Int64
            ))),
            "UnixNano" => m!(&[], |r, _| Ok(Value::Int(
                time_of(r).unix_nanos() as i64,
                IntKind::Int64
            ))),
            "Year" => m!(&[], |r, _| Ok(Value::int(time_of(r).civil().year))),
            "Month" => m!(&[], |r, _| Ok(Value::Month(
                time_of(r).civil().month as i64
            ))),
            "Day" => m!(&[], |r, _| Ok(Value::int(time_of(r).civil().day as i64))),
            "Hour" => m!(&[], |r, _| Ok(Value::int(time_of(r).civil().hour as i64))),
            "Minute" => m!(&[], |r, _| Ok(Value::int(time_of(r).civil().min as i64))),
            "Second" => m!(&[], |r, _| Ok(Value::int(time_of(r).civil().sec as i64))),
            "Nanosecond" => m!(&[], |r, _| Ok(Value::int(time_of(r).nsec as i64))),
            "YearDay" => m!(&[], |r, _| Ok(Value::int(time_of(r).civil().yday as i64))),
            "Weekday" => m!(&[], |r, _| Ok(Value::Weekday(
                time_of(r).civil().weekday as i64
            ))),
            "UTC" | "Local" => m!(&[], |r, _| Ok(Value::Time(time_of(r), false))),
            "IsZero" => m!(&[], |r, _| Ok(Value::Bool(
                time_of(r)
                    == GoTime {
                        secs: -62_135_596_800,
                        nsec: 0
                    }
            ))),
            "Before" => m!(&[T], |r, a| Ok(Value::Bool(time_of(r) < time_of(&a[0])))),
            "After" => m!(&[T], |r, a| Ok(Value::Bool(time_of(r) > time_of(&a[0])))),
            "Equal" => m!(&[T], |r, a| Ok(Value::Bool(time_of(r) == time_of(&a[0])))),
            "Compare" => m!(&[T], |r, a| Ok(Value::int(
                time_of(r).cmp(&time_of(&a[0])) as i64
            ))),
            "Truncate" => m!(&[D], |r, a| Ok(Value::Time(
                time_of(r).round_to(dur_of(&a[0]), false),
                false
            ))),
            "Round" => m!(&[D], |r, a| Ok(Value::Time(
                time_of(r).round_to(dur_of(&a[0]), true),
                false
            ))),
            _ => None,
        },
        Value::Duration(..) => match name {
            "String" => m!(&[], |r, _| Ok(Value::str(gotime::duration_string(dur_of(
                r
            ))))),
            "Seconds" => m!(&[], |r, _| Ok(Value::Float(duration_seconds(dur_of(r))))),
            "Minutes" => m!(&[], |r, _| {
                let d = dur_of(r);
                const MIN: i64 = 60_000_000_000;
                Ok(Value::Float((d / MIN) as f64 + (d % MIN) as f64 / 6e10))
            }),
            "Hours" => m!(&[], |r, _| {
                let d = dur_of(r);
                const H: i64 = 3_600_000_000_000;
                Ok(Value::Float((d / H) as f64 + (d % H) as f64 / 3.6e12))
            }),
            "Milliseconds" => m!(&[], |r, _| Ok(Value::Int(
                dur_of(r) / 1_000_000,
                IntKind::Int64
            ))),
            "Microseconds" => m!(&[], |r, _| Ok(Value::Int(
                dur_of(r) / 1_000,
                IntKind::Int64
            ))),
            "Nanoseconds" => m!(&[], |r, _| Ok(Value::Int(dur_of(r), IntKind::Int64))),
            "Abs" => m!(&[], |r, _| {
                let d = dur_of(r);
                Ok(Value::Duration(
                    if d == i64::MIN { i64::MAX } else { d.abs() },
                    false,
                ))
            }),
            "Round" => m!(&[D], |r, a| Ok(Value::Duration(
                gotime::duration_round(dur_of(r), dur_of(&a[0]), true),
                false
            ))),
            "Truncate" => m!(&[D], |r, a| Ok(Value::Duration(
                gotime::duration_round(dur_of(r), dur_of(&a[0]), false),
                false
            ))),
            _ => None,
        },
        Value::Month(_) => match name {
            "String" => m!(&[], |r, _| Ok(Value::str(gofmt::month_string(
                r.int_value()
            )))),
            _ => None,
        },
        Value::Weekday(_) => match name {
            "String" => m!(&[], |r, _| Ok(Value::str(gofmt::weekday_string(
                r.int_value()
            )))),
            _ => None,
        },
        _ => None,
    }
}

fn civil_days(y: i64, m: u32) -> i64 {
    gotime::days_from_civil(y, m, 1)
}
