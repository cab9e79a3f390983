//! Runs scripts against an engine over the real store and reports per file.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{LazyLock, Once};

use model::labels::Labels;
use model::storage::Queryable;
use promql::{Expr, Value};
use regex::Regex;

use super::compare::{self, Ctx};
use super::load::{Names, Refusal, Store};
use super::rewrite;
use super::script::{self, Command, EvalCmd, EvalKind, ScriptError};

/// How a file counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Any failure of a non-skipped eval fails the test.
    Required,
    /// Failures are reported only.
    Optional,
    /// Optional, and a query that does not parse is skipped as experimental syntax.
    Experimental,
}

/// One eval that did not pass.
#[derive(Debug, Clone)]
pub struct Failure {
    pub line: usize,
    pub expr: String,
    /// Which run failed: `instant`, `range`, `range mode`, `@ variant …`.
    pub variant: String,
    pub diff: String,
}

#[derive(Debug, Default)]
pub struct FileReport {
    pub name: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub skip_reasons: BTreeMap<String, usize>,
    pub failures: Vec<Failure>,
    /// Failures by variant kind (`instant`, `@ variant`, `range mode`, …).
    pub failures_by_variant: BTreeMap<String, usize>,
    pub panics: usize,
    pub script_errors: Vec<ScriptError>,
    pub refusals: Vec<Refusal>,
    /// Evals whose `msg:`/`regex:` annotation or error text did not match (advisory).
    pub text_mismatches: usize,
    pub text_mismatch_examples: Vec<String>,
    /// `expect fail` evals that passed because the query did not parse.
    pub fail_by_parse_error: usize,
    /// Queries run: [main instant/range, `@` variants, range-mode re-runs].
    pub queries: [usize; 3],
}

/// What happened to one eval.
enum Outcome {
    Pass {
        text_mismatch: Option<String>,
        by_parse_error: bool,
    },
    Fail {
        variant: String,
        diff: String,
        panicked: bool,
    },
    Skip(String),
}

// ---------------------------------------------------------------------------------------------
// Panics: caught per eval; the message is recorded instead of printed.

thread_local! {
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET_PANICS.with(Cell::get) {
                let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                    (*s).to_string()
                } else if let Some(s) = info.payload().downcast_ref::<String>() {
                    s.clone()
                } else {
                    "<non-string panic payload>".to_string()
                };
                let loc = info
                    .location()
                    .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{loc}")));
            } else {
                prev(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `Err(message)`.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET_PANICS.with(|q| q.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(false));
    r.map_err(|_| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panic".into())
    })
}

// ---------------------------------------------------------------------------------------------
// Skips.

static RE_IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[a-zA-Z_:][a-zA-Z0-9_:]*").unwrap());
static RE_NON_UTF8_ESCAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\x[89a-fA-F][0-9a-fA-F]").unwrap());
static RE_NAME_REGEX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"__name__\s*=~\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)"#).unwrap()
});

/// The first of `names` that `expr` names: as an identifier (also inside quotes, e.g.
/// `{__name__="x"}`), or through a `__name__=~"…"` regex.
pub fn names_metric(expr: &str, names: &BTreeSet<String>) -> Option<String> {
    if names.is_empty() {
        return None;
    }
    if let Some(m) = RE_IDENT
        .find_iter(expr)
        .find(|m| names.contains(m.as_str()))
    {
        return Some(m.as_str().to_string());
    }
    for c in RE_NAME_REGEX.captures_iter(expr) {
        let Ok((re, _)) = script::parse_quoted(&c[1]) else {
            continue;
        };
        let Ok(re) = Regex::new(&format!("^(?s:{re})$")) else {
            continue;
        };
        if let Some(n) = names.iter().find(|n| re.is_match(n)) {
            return Some(n.clone());
        }
    }
    None
}

/// True if some vector selector of `expr` matches one of `series` (the README's name
/// heuristic misses selectors without a metric name, such as `{job="api-server"}`).
pub fn selects_any(expr: &str, series: &[Labels]) -> bool {
    if series.is_empty() {
        return false;
    }
    let Ok(e) = promql_parser::parser::parse(expr) else {
        return false;
    };
    let mut found = false;
    visit_selectors(&e, &mut |vs| {
        let sets = std::iter::once(&vs.matchers.matchers)
            .chain(vs.matchers.or_matchers.iter())
            .collect::<Vec<_>>();
        for l in series {
            if vs.name.as_deref().is_some_and(|n| n != l.metric_name()) {
                continue;
            }
            let matches_set = |ms: &Vec<promql_parser::label::Matcher>| {
                ms.iter().all(|m| m.is_match(l.get(&m.name)))
            };
            let ok = if vs.matchers.or_matchers.is_empty() {
                matches_set(sets[0])
            } else {
                sets[1..]
                    .iter()
                    .any(|s| matches_set(sets[0]) && matches_set(s))
            };
            if ok {
                found = true;
            }
        }
    });
    found
}

fn visit_selectors(
    e: &promql_parser::parser::Expr,
    f: &mut dyn FnMut(&promql_parser::parser::VectorSelector),
) {
    use promql_parser::parser::Expr;
    match e {
        Expr::VectorSelector(vs) => f(vs),
        Expr::MatrixSelector(ms) => f(&ms.vs),
        Expr::Subquery(s) => visit_selectors(&s.expr, f),
        Expr::Aggregate(a) => {
            visit_selectors(&a.expr, f);
            if let Some(p) = &a.param {
                visit_selectors(p, f);
            }
        }
        Expr::Binary(b) => {
            visit_selectors(&b.lhs, f);
            visit_selectors(&b.rhs, f);
        }
        Expr::Paren(p) => visit_selectors(&p.expr, f),
        Expr::Unary(u) => visit_selectors(&u.expr, f),
        Expr::Call(c) => c.args.args.iter().for_each(|a| visit_selectors(a, f)),
        _ => {}
    }
}

/// Why an eval is not run, if it is not (the README's native-histogram heuristic and the
/// start-timestamp lines the store cannot hold).
pub fn skip_reason(ev: &EvalCmd, names: &Names) -> Option<String> {
    if ev.expects_histogram() {
        return Some("native histogram: expected result has {{…}}".into());
    }
    if names_metric(&ev.expr, &names.nh).is_some() {
        return Some(
            "native histogram: selects a metric loaded with {{…}} or load_with_nhcb".into(),
        );
    }
    if RE_NON_UTF8_ESCAPE.is_match(&ev.expr) {
        return Some(
            "string literal with a \\x escape above 0x7f: Go keeps the raw byte (invalid UTF-8), \
             Rust strings cannot, so promql-parser decodes it as a character"
                .into(),
        );
    }
    if selects_any(&ev.expr, &names.nh_series) {
        return Some("native histogram: a selector matches a series loaded with {{…}}".into());
    }
    if names_metric(&ev.expr, &names.st).is_some() {
        return Some("start timestamps: selects a metric loaded with @st lines".into());
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Running.

pub struct FileSpec<'a> {
    pub name: &'a str,
    pub tier: Tier,
}

/// Runs one script file.
pub fn run_file(path: &Path, spec: &FileSpec<'_>, eng: &promql::Engine) -> FileReport {
    install_panic_hook();
    let mut rep = FileReport {
        name: spec.name.to_string(),
        ..Default::default()
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            rep.script_errors.push(ScriptError {
                line: 0,
                msg: format!("cannot read {}: {e}", path.display()),
            });
            return rep;
        }
    };
    let parsed = script::parse_script(&text);
    rep.script_errors = parsed.errors;
    let mut store = match Store::new() {
        Ok(s) => s,
        Err(e) => {
            rep.script_errors.push(ScriptError { line: 0, msg: e });
            return rep;
        }
    };
    for cmd in &parsed.commands {
        match cmd {
            Command::Clear { line } => {
                if let Err(e) = store.clear() {
                    rep.refusals.push(Refusal {
                        line: *line,
                        series: String::new(),
                        msg: e,
                    });
                }
            }
            Command::Load(l) => match guarded(|| store.load(l)) {
                Ok(r) => rep.refusals.extend(r),
                Err(p) => rep.refusals.push(Refusal {
                    line: l.line,
                    series: String::new(),
                    msg: format!("store panicked while loading: {p}"),
                }),
            },
            Command::Eval(ev) => {
                let outcome = match skip_reason(ev, &store.names) {
                    Some(r) => Outcome::Skip(r),
                    None => run_eval(ev, spec, &store, eng, &mut rep.queries),
                };
                record(&mut rep, ev, outcome);
            }
        }
    }
    let _ = store.close();
    rep
}

fn record(rep: &mut FileReport, ev: &EvalCmd, o: Outcome) {
    match o {
        Outcome::Pass {
            text_mismatch,
            by_parse_error,
        } => {
            rep.passed += 1;
            if by_parse_error {
                rep.fail_by_parse_error += 1;
            }
            if let Some(t) = text_mismatch {
                rep.text_mismatches += 1;
                if rep.text_mismatch_examples.len() < 3 {
                    rep.text_mismatch_examples
                        .push(format!("{}:{}: {} — {t}", rep.name, ev.line, ev.expr));
                }
            }
        }
        Outcome::Fail {
            variant,
            diff,
            panicked,
        } => {
            rep.failed += 1;
            if panicked {
                rep.panics += 1;
            }
            let kind = variant.split(" (").next().unwrap_or(&variant).to_string();
            *rep.failures_by_variant.entry(kind).or_default() += 1;
            rep.failures.push(Failure {
                line: ev.line,
                expr: ev.expr.clone(),
                variant,
                diff,
            });
        }
        Outcome::Skip(r) => {
            rep.skipped += 1;
            *rep.skip_reasons.entry(r).or_default() += 1;
        }
    }
}

fn fail(variant: impl Into<String>, diff: impl Into<String>) -> Outcome {
    Outcome::Fail {
        variant: variant.into(),
        diff: diff.into(),
        panicked: false,
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A one-line description of a result, for "expected an error, got …".
fn describe(v: &Value) -> String {
    match v {
        Value::Scalar { v, .. } => format!("scalar {}", compare::fmt_f64(*v)),
        Value::String { v, .. } => format!("string {v:?}"),
        Value::Vector(s) => format!("vector of {} sample(s)", s.len()),
        Value::Matrix(m) => format!("matrix of {} series", m.len()),
    }
}

/// One query run of an eval: the main query or an `@` variant.
struct Run<'a> {
    label: String,
    t: i64,
    /// `None`: the original text (through the engine's own parsing); `Some`: a rewritten AST.
    expr: Option<&'a Expr>,
}

fn run_eval(
    ev: &EvalCmd,
    spec: &FileSpec<'_>,
    store: &Store,
    eng: &promql::Engine,
    queries: &mut [usize; 3],
) -> Outcome {
    let q = store.queryable();
    let parsed = match guarded(|| promql::Engine::parse(&ev.expr)) {
        Ok(Ok(e)) => Some(e),
        Ok(Err(e)) => {
            if ev.is_fail() {
                return Outcome::Pass {
                    text_mismatch: compare::check_fail_text(ev, &e.to_string()),
                    by_parse_error: true,
                };
            }
            if spec.tier == Tier::Experimental {
                return Outcome::Skip("experimental syntax: the query does not parse".into());
            }
            return fail("parse", format!("parse error: {}", short(&e.to_string())));
        }
        Err(p) => {
            return Outcome::Fail {
                variant: "parse".into(),
                diff: format!("parser panicked: {}", short(&p)),
                panicked: true,
            };
        }
    };
    let mut text_mismatch = None;
    match ev.kind {
        EvalKind::Range { start, end, step } => {
            queries[0] += 1;
            let res = match guarded(|| eng.range_query(q, &ev.expr, start, end, step)) {
                Err(p) => {
                    return Outcome::Fail {
                        variant: "range".into(),
                        diff: format!("panic: {}", short(&p)),
                        panicked: true,
                    };
                }
                Ok(r) => r,
            };
            match res {
                Err(e) if ev.is_fail() => {
                    text_mismatch = compare::check_fail_text(ev, &e.to_string());
                }
                Err(e) => return fail("range", format!("error: {}", short(&e.to_string()))),
                Ok(r) if ev.is_fail() => {
                    return fail(
                        "range",
                        format!("expected an error, got {}", describe(&r.value)),
                    );
                }
                Ok(r) => {
                    let a = compare::check_annotations(ev, &r.annotations);
                    if let Some(f) = a.failure {
                        return fail("range", f);
                    }
                    text_mismatch = a.text;
                    if let Err(d) =
                        compare::compare_value(ev, &Ctx::range(ev, start, end, step), &r.value)
                    {
                        return fail("range", d);
                    }
                }
            }
        }
        EvalKind::Instant { .. } => {
            let t = ev.eval_time();
            let rewritten = parsed.as_ref().and_then(|e| rewrite::at_rewrite(e, t));
            let mut runs = vec![Run {
                label: "instant".into(),
                t,
                expr: None,
            }];
            if let Some(rw) = &rewritten {
                for vt in rewrite::variant_times(t) {
                    runs.push(Run {
                        label: format!("@ variant (@ {t}ms, evaluated at {vt}ms)"),
                        t: vt,
                        expr: Some(rw),
                    });
                }
            }
            let range_mode =
                !ev.exclude_from_range_query() && !rewrite::uses_query_context_funcs(&ev.expr);
            for run in &runs {
                match run_instant(ev, run, range_mode, q, eng, queries) {
                    Ok(tm) => {
                        text_mismatch = text_mismatch.or(tm);
                    }
                    Err(o) => return o,
                }
            }
        }
    }
    Outcome::Pass {
        text_mismatch,
        by_parse_error: false,
    }
}

/// One instant run (and its range-mode re-run); `Ok(advisory text mismatch)` if it passes.
fn run_instant(
    ev: &EvalCmd,
    run: &Run<'_>,
    range_mode: bool,
    q: &dyn Queryable,
    eng: &promql::Engine,
    queries: &mut [usize; 3],
) -> Result<Option<String>, Outcome> {
    let t = run.t;
    queries[usize::from(run.expr.is_some())] += 1;
    let res = guarded(|| match run.expr {
        None => eng.instant_query(q, &ev.expr, t),
        Some(e) => eng.exec_instant(q, e, t),
    })
    .map_err(|p| Outcome::Fail {
        variant: run.label.clone(),
        diff: format!("panic: {}", short(&p)),
        panicked: true,
    })?;
    let r = match res {
        Err(e) if ev.is_fail() => return Ok(compare::check_fail_text(ev, &e.to_string())),
        Err(e) => {
            return Err(fail(
                run.label.clone(),
                format!("error: {}", short(&e.to_string())),
            ));
        }
        Ok(r) if ev.is_fail() => {
            return Err(fail(
                run.label.clone(),
                format!("expected an error, got {}", describe(&r.value)),
            ));
        }
        Ok(r) => r,
    };
    let a = compare::check_annotations(ev, &r.annotations);
    if let Some(f) = a.failure {
        return Err(fail(run.label.clone(), f));
    }
    compare::compare_value(ev, &Ctx::instant(ev, t), &r.value)
        .map_err(|d| fail(run.label.clone(), d))?;
    if !range_mode || ev.is_ordered() {
        return Ok(a.text);
    }
    let label = format!("range mode of {}", run.label);
    let (s, e, step) = (t - 60_000, t + 60_000, 60_000);
    queries[2] += 1;
    let rr = guarded(|| match run.expr {
        None => eng.range_query(q, &ev.expr, s, e, step),
        Some(x) => eng.exec_range(q, x, s, e, step),
    })
    .map_err(|p| Outcome::Fail {
        variant: label.clone(),
        diff: format!("panic: {}", short(&p)),
        panicked: true,
    })?;
    let rr = rr.map_err(|e| fail(label.clone(), format!("error: {}", short(&e.to_string()))))?;
    let was_scalar = matches!(r.value, Value::Scalar { .. });
    compare::compare_range_mode(ev, was_scalar, &rr.value, t).map_err(|d| fail(label, d))?;
    Ok(a.text)
}

// ---------------------------------------------------------------------------------------------
// Output.

/// Prints a file's summary and up to `max_failures` failures in detail.
pub fn print_report(rep: &FileReport, tier: Tier, max_failures: usize) -> String {
    let mut o = String::new();
    let tier_s = match tier {
        Tier::Required => "required",
        Tier::Optional => "optional",
        Tier::Experimental => "experimental",
    };
    let _ = writeln!(
        o,
        "{:<28} {:<12} passed {:>4}  failed {:>4}  skipped {:>4}{}",
        rep.name,
        tier_s,
        rep.passed,
        rep.failed,
        rep.skipped,
        if rep.panics > 0 {
            format!("  ({} panics)", rep.panics)
        } else {
            String::new()
        }
    );
    for (r, n) in &rep.skip_reasons {
        let _ = writeln!(o, "    skipped {n:>4}: {r}");
    }
    if !rep.failures_by_variant.is_empty() {
        let v: Vec<String> = rep
            .failures_by_variant
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        let _ = writeln!(o, "    failures by run: {}", v.join(", "));
    }
    for e in &rep.script_errors {
        let _ = writeln!(o, "    SCRIPT ERROR {}:{}: {}", rep.name, e.line, e.msg);
    }
    for r in rep.refusals.iter().take(10) {
        let _ = writeln!(
            o,
            "    STORE {}:{} {}: {}",
            rep.name, r.line, r.series, r.msg
        );
    }
    if rep.refusals.len() > 10 {
        let _ = writeln!(o, "    … {} more store refusals", rep.refusals.len() - 10);
    }
    for f in rep.failures.iter().take(max_failures) {
        let _ = writeln!(
            o,
            "    FAIL {}:{} [{}] {}",
            rep.name, f.line, f.variant, f.expr
        );
        let lines: Vec<&str> = f.diff.lines().collect();
        for l in lines.iter().take(6) {
            let _ = writeln!(o, "         {}", short(l));
        }
        if lines.len() > 6 {
            let _ = writeln!(o, "         … {} more lines", lines.len() - 6);
        }
    }
    if rep.failures.len() > max_failures {
        let _ = writeln!(
            o,
            "    … and {} more failures",
            rep.failures.len() - max_failures
        );
    }
    if rep.text_mismatches > 0 {
        let _ = writeln!(
            o,
            "    annotation/error text mismatches (advisory): {}",
            rep.text_mismatches
        );
        for e in &rep.text_mismatch_examples {
            let _ = writeln!(o, "         {}", short(e));
        }
    }
    if rep.fail_by_parse_error > 0 {
        let _ = writeln!(
            o,
            "    note: {} `expect fail` eval(s) passed only because the query does not parse",
            rep.fail_by_parse_error
        );
    }
    o
}
