//! Parser of the promqltest script language (see the "The promqltest script format" section of
//! `shared/conformance/prometheus/README.md`).
//!
//! The structure follows the upstream runner: the input is split into trimmed lines (whole-line
//! comments become empty lines), commands are recognised by their first token, and `load` /
//! `eval` take the following non-empty lines as their body. Unlike upstream, a malformed command
//! does not abort the file: it is recorded as a [`ScriptError`] and parsing resumes after its
//! body, so one bad line does not hide the rest of the file.

use std::sync::LazyLock;

use model::labels::Labels;
use regex::Regex;

static PAT_SPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\t ]+").unwrap());
static PAT_LOAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^load(?:_(with_nhcb))?\s+(.+?)$").unwrap());
static PAT_EVAL_INSTANT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$").unwrap()
});
static PAT_EVAL_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
    )
    .unwrap()
});
static PAT_EXPECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
        .unwrap()
});
static PAT_EXPECT_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$").unwrap()
});

const RANGE_VECTOR_PREFIX: &str = "expect range vector";
const EXPECT_STRING_PREFIX: &str = "expect string";

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

/// One `<series> <values>` line of a `load` body.
#[derive(Debug, Clone)]
pub struct SeriesLine {
    /// 1-based line number in the file.
    pub line: usize,
    pub labels: Labels,
    pub values: Vec<SeqValue>,
    /// Start-timestamp offsets (ms) from a preceding `@st` line (or a standalone default `@st`
    /// line), one per value; `None` where the `@st` item was `_`. Empty without `@st`.
    pub start_offsets: Vec<Option<i64>>,
}

/// `load <step>` / `load_with_nhcb <step>`.
#[derive(Debug, Clone)]
pub struct LoadCmd {
    pub line: usize,
    pub step_ms: i64,
    pub with_nhcb: bool,
    /// In file order. Upstream keeps only the last line of a repeated label set.
    pub series: Vec<SeriesLine>,
}

/// The kind of an `expect` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectKind {
    Ordered,
    Fail,
    Warn,
    NoWarn,
    Info,
    NoInfo,
}

/// The optional text part of an `expect` line.
#[derive(Debug, Clone)]
pub enum TextMatch {
    /// No `msg:`/`regex:` part: anything matches.
    Any,
    /// `msg: <text>`: exact match (trimmed).
    Msg(String),
    /// `regex: <re>`: unanchored search.
    Regex(Regex),
}

impl TextMatch {
    pub fn matches(&self, s: &str) -> bool {
        match self {
            TextMatch::Any => true,
            TextMatch::Msg(m) => m == s,
            TextMatch::Regex(r) => r.is_match(s),
        }
    }

    pub fn is_any(&self) -> bool {
        matches!(self, TextMatch::Any)
    }
}

impl std::fmt::Display for TextMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextMatch::Any => f.write_str("<any>"),
            TextMatch::Msg(m) => write!(f, "msg {m:?}"),
            TextMatch::Regex(r) => write!(f, "regex {:?}", r.as_str()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Expect {
    pub kind: ExpectKind,
    pub text: TextMatch,
}

/// An expected series of an `eval` body.
#[derive(Debug, Clone)]
pub struct ExpectedSeries {
    /// Position among the result lines (0-based), for `expect ordered`.
    pub pos: usize,
    pub labels: Labels,
    pub values: Vec<SeqValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// Instant query at `t` (ms).
    Instant { t: i64 },
    /// Range query.
    Range { start: i64, end: i64, step: i64 },
}

/// `eval instant …` / `eval range …` with its body.
#[derive(Debug, Clone)]
pub struct EvalCmd {
    pub line: usize,
    pub expr: String,
    pub kind: EvalKind,
    /// Legacy `eval_fail` / `eval_warn` / `eval_info` / `eval_ordered` prefixes.
    pub legacy_fail: bool,
    pub legacy_warn: bool,
    pub legacy_info: bool,
    pub legacy_ordered: bool,
    /// Legacy `expected_fail_message` / `expected_fail_regexp` body lines (after `eval_fail`).
    pub legacy_fail_text: Option<TextMatch>,
    pub expects: Vec<Expect>,
    /// `expect range vector from <s> to <e> step <d>`: (s, e, d) in ms. The query is then
    /// evaluated at `e`.
    pub range_vector: Option<(i64, i64, i64)>,
    /// `expect string "…"`.
    pub expected_string: Option<String>,
    /// A bare number line: the result must be this scalar.
    pub expected_scalar: Option<f64>,
    /// Expected series (upstream keeps the last line of a repeated label set).
    pub series: Vec<ExpectedSeries>,
}

impl EvalCmd {
    pub fn is_range(&self) -> bool {
        matches!(self.kind, EvalKind::Range { .. })
    }

    pub fn is_fail(&self) -> bool {
        self.legacy_fail || self.has(ExpectKind::Fail)
    }

    pub fn is_ordered(&self) -> bool {
        self.legacy_ordered || self.has(ExpectKind::Ordered)
    }

    pub fn has(&self, kind: ExpectKind) -> bool {
        self.expects.iter().any(|e| e.kind == kind)
    }

    pub fn expects_of(&self, kind: ExpectKind) -> impl Iterator<Item = &TextMatch> {
        self.expects
            .iter()
            .filter(move |e| e.kind == kind)
            .map(|e| &e.text)
    }

    /// The time an instant eval runs at (the `expect range vector` end replaces `at`).
    pub fn eval_time(&self) -> i64 {
        match self.kind {
            EvalKind::Instant { t } => self.range_vector.map_or(t, |(_, e, _)| e),
            EvalKind::Range { start, .. } => start,
        }
    }

    /// Upstream skips the extra range-mode run for these.
    pub fn exclude_from_range_query(&self) -> bool {
        self.range_vector.is_some() || self.expected_string.is_some()
    }

    /// True if any expected value is a native histogram.
    pub fn expects_histogram(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.values.iter().any(SeqValue::is_histogram))
    }
}

#[derive(Debug, Clone)]
pub enum Command {
    Clear { line: usize },
    Load(LoadCmd),
    Eval(Box<EvalCmd>),
}

/// A line of the script that could not be understood.
#[derive(Debug, Clone)]
pub struct ScriptError {
    pub line: usize,
    pub msg: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

#[derive(Debug, Default)]
pub struct Script {
    pub commands: Vec<Command>,
    pub errors: Vec<ScriptError>,
}

impl Script {
    pub fn evals(&self) -> impl Iterator<Item = &EvalCmd> {
        self.commands.iter().filter_map(|c| match c {
            Command::Eval(e) => Some(&**e),
            _ => None,
        })
    }
}

/// Splits into trimmed lines; whole-line comments become empty lines.
fn get_lines(input: &str) -> Vec<&str> {
    input
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect()
}

/// Parses a whole script. Never fails: problems are collected in [`Script::errors`].
pub fn parse_script(input: &str) -> Script {
    let lines = get_lines(input);
    let mut script = Script::default();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = PAT_SPACE.splitn(l, 2).next().unwrap_or("").to_lowercase();
        let res = if word == "clear" {
            Ok((i, Command::Clear { line: i + 1 }))
        } else if word.starts_with("load") {
            parse_load(&lines, i).map(|(i, c)| (i, Command::Load(c)))
        } else if word.starts_with("eval") {
            parse_eval(&lines, i).map(|(i, c)| (i, Command::Eval(Box::new(c))))
        } else {
            Err(ScriptError {
                line: i + 1,
                msg: format!("invalid command {l:?}"),
            })
        };
        match res {
            Ok((last, cmd)) => {
                script.commands.push(cmd);
                i = last + 1;
            }
            Err(e) => {
                script.errors.push(e);
                // Resume after the body of the broken command.
                while i < lines.len() && !lines[i].is_empty() {
                    i += 1;
                }
            }
        }
    }
    script
}

fn err(line_idx: usize, msg: impl Into<String>) -> ScriptError {
    ScriptError {
        line: line_idx + 1,
        msg: msg.into(),
    }
}

/// A Prometheus duration (`5m`, `1h30m`, `0`) in ms.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    model::duration::parse_duration_ms(s).and_then(|v| i64::try_from(v).map_err(|e| e.to_string()))
}

/// Parses a `load` command at `lines[i]`; returns the index of its last body line.
fn parse_load(lines: &[&str], i: usize) -> Result<(usize, LoadCmd), ScriptError> {
    let caps = PAT_LOAD.captures(lines[i]).ok_or_else(|| {
        err(
            i,
            "invalid load command. (load[_with_nhcb] <step:duration>)",
        )
    })?;
    let with_nhcb = caps.get(1).is_some();
    let step_s = caps.get(2).unwrap().as_str();
    let step_ms = parse_duration(step_s)
        .map_err(|e| err(i, format!("invalid step definition {step_s:?}: {e}")))?;
    let mut cmd = LoadCmd {
        line: i + 1,
        step_ms,
        with_nhcb,
        series: Vec::new(),
    };
    let mut default_st: Option<Vec<Option<i64>>> = None;
    let mut pending_st: Option<(usize, Labels, Vec<Option<i64>>)> = None;
    let mut j = i;
    while j + 1 < lines.len() && !lines[j + 1].is_empty() {
        j += 1;
        let def = lines[j];
        if is_st_line(def) {
            if let Some((l, ..)) = &pending_st {
                return Err(err(*l, "@st line has no following sample line"));
            }
            let (metric, vals) = parse_st_line(def).map_err(|e| err(j, e))?;
            match metric {
                None => default_st = Some(vals),
                Some(m) => pending_st = Some((j, m, vals)),
            }
            continue;
        }
        let (labels, values) = parse_series_desc(def).map_err(|e| err(j, e))?;
        let mut start_offsets = Vec::new();
        if let Some((l, m, st)) = pending_st.take() {
            if m != labels {
                return Err(err(
                    l,
                    "@st metric does not match the following sample line metric",
                ));
            }
            if st.len() != values.len() {
                return Err(err(
                    l,
                    format!(
                        "@st line has {} values but sample line has {}",
                        st.len(),
                        values.len()
                    ),
                ));
            }
            start_offsets = st;
        } else if let Some(def) = &default_st
            && !def.is_empty()
        {
            start_offsets = (0..values.len()).map(|k| def[k % def.len()]).collect();
        }
        let line = SeriesLine {
            line: j + 1,
            labels,
            values,
            start_offsets,
        };
        // As upstream (a map by label set): a repeated series replaces the earlier line.
        if let Some(pos) = cmd.series.iter().position(|s| s.labels == line.labels) {
            cmd.series.remove(pos);
        }
        cmd.series.push(line);
    }
    if let Some((l, ..)) = pending_st {
        return Err(err(l, "@st line has no following sample line"));
    }
    Ok((j, cmd))
}

/// `metric{…}@st <seq>` or a standalone `@st <seq>`.
fn is_st_line(def: &str) -> bool {
    match def.find([' ', '\t']) {
        Some(idx) => def[..idx].ends_with("@st"),
        None => false,
    }
}

fn parse_st_line(def: &str) -> Result<(Option<Labels>, Vec<Option<i64>>), String> {
    let idx = def
        .find([' ', '\t'])
        .ok_or("invalid @st line: missing value sequence")?;
    let metric = def[..idx].strip_suffix("@st").unwrap_or(&def[..idx]);
    let vals = parse_st_sequence(def[idx + 1..].trim())
        .map_err(|e| format!("invalid @st sequence: {e}"))?;
    if metric.is_empty() {
        return Ok((None, vals));
    }
    let (labels, rest) = parse_series_labels(metric)?;
    if !rest.trim().is_empty() {
        return Err(format!("invalid @st line metric {metric:?}"));
    }
    Ok((Some(labels), vals))
}

/// The start-timestamp offset items of an `@st` line.
pub fn parse_st_sequence(input: &str) -> Result<Vec<Option<i64>>, String> {
    let mut out: Vec<Option<i64>> = Vec::new();
    for item in input.split_whitespace() {
        let prev = out.iter().rev().find_map(|v| *v).unwrap_or(0);
        let vals =
            parse_st_item(item, prev).map_err(|e| format!("invalid ST item {item:?}: {e}"))?;
        out.extend(vals);
    }
    Ok(out)
}

fn parse_count(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .map_err(|_| "invalid repeat count".to_string())
}

fn parse_st_item(item: &str, prev: i64) -> Result<Vec<Option<i64>>, String> {
    if item == "_" {
        return Ok(vec![None]);
    }
    if let Some(n) = item.strip_prefix("_x") {
        let n = parse_count(n)?;
        if n == 0 {
            return Err("invalid repeat count".into());
        }
        return Ok(vec![None; n]);
    }
    if item == "*" {
        return Ok(vec![Some(prev)]);
    }
    if let Some(n) = item.strip_prefix("*x") {
        return Ok(vec![Some(prev); parse_count(n)? + 1]);
    }
    let (base, rest) = parse_duration_prefix(item)?;
    if rest.is_empty() {
        return Ok(vec![Some(base)]);
    }
    if let Some(n) = rest.strip_prefix('x') {
        return Ok(vec![Some(base); parse_count(n)? + 1]);
    }
    let negative = match rest.as_bytes()[0] {
        b'+' => false,
        b'-' => true,
        c => {
            return Err(format!(
                "unexpected character {:?} after duration",
                c as char
            ));
        }
    };
    let (mut delta, rest2) = parse_duration_prefix(&rest[1..])?;
    if negative {
        delta = -delta;
    }
    let n = rest2
        .strip_prefix('x')
        .ok_or("expected 'x<count>' after step duration")
        .and_then(|n| parse_count(n).map_err(|_| "invalid repeat count"))?;
    let mut v = base;
    let mut out = Vec::with_capacity(n + 1);
    for _ in 0..=n {
        out.push(Some(v));
        v += delta;
    }
    Ok(out)
}

/// A signed duration at the start of `s` (digits and a unit, stopping at `x`); returns it in
/// ms and the rest.
fn parse_duration_prefix(s: &str) -> Result<(i64, &str), String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut negative = false;
    match b.first() {
        None => return Err("empty duration".into()),
        Some(b'-') => {
            negative = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return Err(format!("expected digits in duration {s:?}"));
    }
    while i < b.len() && b[i].is_ascii_alphabetic() && b[i] != b'x' {
        i += 1;
    }
    let ms = parse_duration(&s[start..i])
        .map_err(|e| format!("invalid duration {:?}: {e}", &s[start..i]))?;
    Ok((if negative { -ms } else { ms }, &s[i..]))
}

/// Parses an `eval` command at `lines[i]`; returns the index of its last body line.
fn parse_eval(lines: &[&str], i: usize) -> Result<(usize, EvalCmd), ScriptError> {
    let line = lines[i];
    let (modifier, expr, kind) = if let Some(c) = PAT_EVAL_INSTANT.captures(line) {
        let at = c.get(2).map_or("", |m| m.as_str());
        let t = parse_duration(at)
            .map_err(|e| err(i, format!("invalid timestamp definition {at:?}: {e}")))?;
        (
            c.get(1),
            c.get(3).unwrap().as_str(),
            EvalKind::Instant { t },
        )
    } else if let Some(c) = PAT_EVAL_RANGE.captures(line) {
        let (start, end, step) = parse_durations(&c[2], &c[3], &c[4]).map_err(|e| err(i, e))?;
        (
            c.get(1),
            c.get(5).unwrap().as_str(),
            EvalKind::Range { start, end, step },
        )
    } else {
        return Err(err(
            i,
            "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn] range from <from> to <to> step <step> <query>'",
        ));
    };
    let modifier = modifier.map_or("", |m| m.as_str());
    let mut cmd = EvalCmd {
        line: i + 1,
        expr: expr.to_string(),
        kind,
        legacy_fail: modifier == "fail",
        legacy_warn: modifier == "warn",
        legacy_info: modifier == "info",
        legacy_ordered: modifier == "ordered",
        legacy_fail_text: None,
        expects: Vec::new(),
        range_vector: None,
        expected_string: None,
        expected_scalar: None,
        series: Vec::new(),
    };
    let is_instant = matches!(kind, EvalKind::Instant { .. });
    let mut j = i;
    let mut pos = 0;
    while j + 1 < lines.len() && !lines[j + 1].is_empty() {
        j += 1;
        let def = lines[j];
        if cmd.legacy_fail
            && let Some(m) = def.strip_prefix("expected_fail_message")
        {
            cmd.legacy_fail_text = Some(TextMatch::Msg(m.trim().to_string()));
            break;
        }
        if cmd.legacy_fail
            && let Some(p) = def.strip_prefix("expected_fail_regexp")
        {
            let re = Regex::new(p.trim()).map_err(|e| {
                err(
                    j,
                    format!(
                        "invalid regexp {:?} for expected_fail_regexp: {e}",
                        p.trim()
                    ),
                )
            })?;
            cmd.legacy_fail_text = Some(TextMatch::Regex(re));
            break;
        }
        if def.starts_with(RANGE_VECTOR_PREFIX) {
            let c = PAT_EXPECT_RANGE
                .captures(def)
                .ok_or_else(|| err(j, format!("invalid range vector definition {def:?}")))?;
            let rv = parse_durations(&c[1], &c[2], &c[3]).map_err(|e| err(j, e))?;
            cmd.range_vector = Some(rv);
            continue;
        }
        if def.starts_with(EXPECT_STRING_PREFIX) {
            cmd.expected_string = Some(parse_expect_string(def).map_err(|e| err(j, e))?);
            continue;
        }
        if def.split(' ').next() == Some("expect") {
            let e = parse_expect(def).map_err(|e| err(j, e))?;
            cmd.expects.push(e);
            validate_expects(&cmd).map_err(|e| err(j, e))?;
            continue;
        }
        if let Ok(f) = parse_number(def) {
            cmd.expected_scalar = Some(f);
            cmd.series.clear();
            break;
        }
        let (labels, values) = parse_series_desc(def).map_err(|e| err(j, e))?;
        if values.len() > 1 && is_instant && cmd.range_vector.is_none() {
            return Err(err(
                j,
                "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query",
            ));
        }
        cmd.series.retain(|s| s.labels != labels);
        cmd.series.push(ExpectedSeries {
            pos,
            labels,
            values,
        });
        pos += 1;
    }
    Ok((j, cmd))
}

fn parse_durations(from: &str, to: &str, step: &str) -> Result<(i64, i64, i64), String> {
    let f = parse_duration(from)
        .map_err(|e| format!("invalid start timestamp definition {from:?}: {e}"))?;
    let t =
        parse_duration(to).map_err(|e| format!("invalid end timestamp definition {to:?}: {e}"))?;
    if t < f {
        return Err(format!(
            "invalid test definition, end timestamp ({to}) is before start timestamp ({from})"
        ));
    }
    let s = parse_duration(step).map_err(|e| format!("invalid step definition {step:?}: {e}"))?;
    Ok((f, t, s))
}

fn parse_expect(def: &str) -> Result<Expect, String> {
    let c = PAT_EXPECT.captures(def.trim()).ok_or(
        "invalid expect statement, must match `expect <type> <match_type>: <string>` format",
    )?;
    let kind = match &c[1] {
        "ordered" => ExpectKind::Ordered,
        "fail" => ExpectKind::Fail,
        "warn" => ExpectKind::Warn,
        "no_warn" => ExpectKind::NoWarn,
        "info" => ExpectKind::Info,
        "no_info" => ExpectKind::NoInfo,
        m => return Err(format!("invalid expected error/annotation type {m}")),
    };
    let text = match c.get(2).map(|m| m.as_str()) {
        None => TextMatch::Any,
        Some("msg") => TextMatch::Msg(c[3].trim().to_string()),
        Some(_) => {
            let p = c[3].trim();
            TextMatch::Regex(Regex::new(p).map_err(|_| format!("invalid regex {p} for {}", &c[1]))?)
        }
    };
    Ok(Expect { kind, text })
}

fn validate_expects(cmd: &EvalCmd) -> Result<(), String> {
    if cmd.has(ExpectKind::Info) && cmd.has(ExpectKind::NoInfo) {
        return Err("invalid expect lines, info and no_info cannot be used together".into());
    }
    if cmd.has(ExpectKind::Warn) && cmd.has(ExpectKind::NoWarn) {
        return Err("invalid expect lines, warn and no_warn cannot be used together".into());
    }
    if cmd.expects_of(ExpectKind::Fail).count() > 1 {
        return Err("invalid expect lines, multiple expect fail lines are not allowed".into());
    }
    Ok(())
}

fn parse_expect_string(line: &str) -> Result<String, String> {
    let bad = "expected string literal not valid - a quoted string literal is required";
    if line == EXPECT_STRING_PREFIX {
        return Err(bad.into());
    }
    let s = line.strip_prefix("expect string ").unwrap_or("");
    if s.is_empty() {
        return Err(bad.into());
    }
    let (v, rest) = parse_quoted(s).map_err(
        |_| "expected string literal not valid - check that the string is correctly quoted",
    )?;
    if !rest.is_empty() {
        return Err(
            "expected string literal not valid - check that the string is correctly quoted".into(),
        );
    }
    Ok(v)
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
