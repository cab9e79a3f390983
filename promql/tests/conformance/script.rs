//! Parser of the promqltest script language (see the "The promqltest script format" section of
//! `shared/conformance/prometheus/README.md`).
//!
//! The structure follows the upstream runner: the input is split into trimmed lines (whole-line
//! comments become empty lines), commands are recognised by their first token, and `load` /
//! `eval` take the following non-empty lines as their body. Unlike upstream, a malformed command
//! does not abort the file: it is recorded as a [`ScriptError`] and parsing resumes after its
//! body, so one bad line does not hide the rest of the file.
//!
//! Series descriptions and their value sequences are read by [`promql::notation`] (re-exported
//! here), which `vane test rules` shares.

use std::sync::LazyLock;

use model::labels::Labels;
use regex::Regex;

pub use promql::notation::{
    SeqValue, parse_duration, parse_number, parse_quoted, parse_series_desc, parse_series_labels,
};

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
