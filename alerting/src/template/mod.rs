//! Templates in rule labels and annotations: the subset of Go's `text/template` that
//! Prometheus rule files use, with Prometheus's template functions.
//!
//! A rule's label and annotation values are expanded as Prometheus expands them: the text is
//! prefixed with `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}`
//! `{{$externalURL := .ExternalURL}}{{$value := .Value}}`, parsed, and run on the alert's data
//! with `missingkey=zero` (a missing label is the empty string). Output and errors are meant
//! to be byte for byte what Prometheus gives, error positions included
//! (`error executing template __alert_X: template: __alert_X:1:118: executing "__alert_X" at
//! <humanize "one">: error calling humanize: strconv.ParseFloat: parsing "one": invalid
//! syntax`).
//!
//! # Supported
//!
//! * Text and actions, `{{- ` / ` -}}` trimming, `{{/* comments */}}`, actions spanning lines.
//! * Pipelines with `|`, parenthesized pipelines, field and key chains (`.Labels.job`,
//!   `$labels.instance`, `(query "up" | first).Value`), method calls on times and durations.
//! * Variables: `$x := …`, `$x = …`, `$` (the data), Go's scoping (to the enclosing `end`).
//! * `if` / `else if` / `else`, `with` / `else with` / `else`, `range` over lists, query
//!   results, maps (sorted keys) and integers, with `$i, $e :=`, `else`, `break`, `continue`;
//!   `define`, `template`, `block`.
//! * Literals: strings with Go escapes, raw strings, characters, integers (decimal, `0x`,
//!   `0o`, `0b`, `_`), floats (also hex), imaginary and complex numbers, `true`, `false`,
//!   `nil`.
//! * Go's builtins `and or not eq ne lt le gt ge len index slice print printf println html js
//!   urlquery call`, with Go's truth and comparison rules (a float is not comparable with an
//!   int: `gt $value 1` fails as in Prometheus, `gt $value 1.0` works).
//! * Go's `fmt` for `printf` and printing: `%v %s %d %f %e %g %q %x %X %o %b %c %U %t %T %%`,
//!   flags `+ - # 0 space`, width, precision, `*` and `[n]`; floats print as Go prints them
//!   (`{{ $value }}` of 1e6 is `1e+06`, of 123456 is `123456`).
//! * Prometheus's functions: `query first label value strvalue sortByLabel args reReplaceAll
//!   match safeHtml stripPort stripDomain title toUpper toLower humanize humanize1024
//!   humanizeDuration humanizePercentage humanizeTimestamp toTime toDuration parseDuration now
//!   pathPrefix externalURL tableLink graphLink urlQueryEscape`, with Prometheus's argument
//!   types (numbers or numeric strings where it takes them) and error texts.
//!
//! # Bounds
//!
//! Parsing stops at [`MAX_NESTING`] nested parentheses or control structures; execution at
//! [`MAX_TEMPLATE_DEPTH`] nested `{{template}}` calls, [`MAX_EXEC_NESTING`] nested calls,
//! control structures and pipelines across templates, [`MAX_STEPS`] steps or [`MAX_OUTPUT`]
//! bytes of output (or of any one string a function returns). Each ends with an error, so a
//! hostile template cannot hang the evaluator or exhaust its memory or stack. Go's limits
//! are far higher (100,000 template calls, no step or output limit).
//!
//! # Not supported, or not the same as Prometheus
//!
//! * HTML templates (console templates): only text templates, as rule files use.
//! * `missingkey` options other than Prometheus's `zero`.
//! * Native histogram sample values: query results carry floats.
//! * Pointer addresses: Go prints a sample inside a printed query result as its address under
//!   `%v` and `%d`/`%x` (and a `*time.Duration` under `%d`); here `%v` gives `&{labels value}`
//!   and the others the value. `%p` is reported as a bad verb.
//! * Pointer identity: `toTime` and `toDuration` results compare unequal with `eq` even when
//!   they are the same variable (Go: equal to itself).
//! * `sortByLabel` returns a sorted copy; Go also sorts the list it was given in place.
//! * An `interface{}`-typed value (`.Value`, an `args` entry) is named by its dynamic type in
//!   two error texts where Go says `interface {}`: an index given to `slice`, and fields of the
//!   elements of a `range` over `args`.
//! * Times are always in UTC (`.Local` is `.UTC`).
//! * Regular expressions run on Rust's `regex` (RE2 syntax like Go's, with `\d \w \s \b`
//!   kept ASCII as in Go); syntax error texts differ from Go's after `error parsing regexp:`.
//! * `title` approximates Unicode word boundaries; Unicode letter, digit, printable and case
//!   classes are Rust's, which differ from Go's for a few code points.
//! * Strings are UTF-8: bytes that are not (from `\x80` escapes or slicing inside a
//!   character) become U+FFFD.
//! * The limits under "Bounds" are far below Go's, and their error texts are Vane's.

mod builtins;
mod exec;
mod funcs;
mod gofmt;
mod gotime;
mod lex;
mod node;
mod parse;
pub(crate) mod strconv;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::rc::Rc;

pub use exec::{MAX_EXEC_NESTING, MAX_OUTPUT, MAX_STEPS, MAX_TEMPLATE_DEPTH};
pub use parse::MAX_NESTING;

use value::{AlertValue, Value};

/// What `$labels`, `$externalLabels`, `$externalURL`, `$value` (and `.Labels`,
/// `.ExternalLabels`, `.ExternalURL`, `.Value`) refer to.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    pub labels: BTreeMap<String, String>,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
    pub value: f64,
}

/// The variables Prometheus defines before every rule template.
const PRELUDE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Parses `text` as Prometheus parses a rule's label/annotation template (with the `$labels`…
/// variable prelude); the error says what and where, as Go does for a template with an empty
/// name (`template: :1: function "foo" not defined`). Use [`check_named`] for Prometheus's
/// exact text.
pub fn check(text: &str) -> Result<(), String> {
    check_named("", text)
}

/// [`check`] for the template `name`: Prometheus names an alerting rule's templates
/// `__alert_<alertname>`, and reports `template: __alert_X:1: function "foo" not defined`.
pub fn check_named(name: &str, text: &str) -> Result<(), String> {
    let full = format!("{PRELUDE}{text}");
    parse::parse(name, &full, &funcs::has_function).map(|_| ())
}

/// Expands `text` (named `name` in errors, e.g. "__alert_HighLatency") at evaluation time
/// `t_ms` (ms since epoch; `now` refers to it); `query` runs PromQL for the `query` function
/// (None: the function errors).
pub fn expand(
    name: &str,
    text: &str,
    data: &TemplateData,
    t_ms: i64,
    query: Option<&dyn crate::QueryEngine>,
) -> Result<String, String> {
    let dot = Value::Alert(Rc::new(AlertValue {
        labels: Rc::new(data.labels.clone()),
        external_labels: Rc::new(data.external_labels.clone()),
        external_url: data.external_url.as_str().into(),
        value: data.value,
    }));
    let full = format!("{PRELUDE}{text}");
    expand_value(name, &full, dot, &data.external_url, t_ms, query)
}

/// Parses and runs `text` (no prelude) with `dot` as data.
fn expand_value(
    name: &str,
    text: &str,
    dot: Value,
    external_url: &str,
    t_ms: i64,
    query: Option<&dyn crate::QueryEngine>,
) -> Result<String, String> {
    let parsed = parse::parse(name, text, &funcs::has_function)
        .map_err(|e| format!("error parsing template {name}: {e}"))?;
    let env = exec::Env {
        t_ms,
        external_url,
        query,
        regexes: Default::default(),
    };
    exec::execute(&parsed, name, dot, &env)
        .map_err(|e| format!("error executing template {name}: {e}"))
}
