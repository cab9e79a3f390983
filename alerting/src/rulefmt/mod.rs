//! Prometheus rule files: YAML `groups:` of recording and alerting rules, read unchanged.
//!
//! Reading a file goes in three steps, one module each:
//! * [`decode`]: the first YAML document into raw, all-optional records (merge keys `<<`
//!   applied, unknown fields noted rather than fatal so that all of them are reported);
//! * [`outline`]: where each group, rule and field starts, from the indentation of the text
//!   (serde does not give positions), so that errors can name a line;
//! * [`validate`]: the checks of Prometheus's `rulefmt` package, all problems of a file
//!   collected, into the types below, which only hold valid rules.
//!
//! [`expand_globs`] resolves `rule_files` patterns, and [`duplicate_rules`] is the lint of
//! `promtool check rules`.

mod decode;
mod glob;
mod lint;
mod outline;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

pub use glob::expand_globs;
pub use lint::{Duplicate, duplicate_rules};

/// The rule groups of one file, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleGroups {
    pub groups: Vec<RuleGroup>,
}

/// A list of rules evaluated one after the other on a common interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    pub name: String,
    /// How often the group runs; `None` (absent or `0`) means the global
    /// `evaluation_interval`.
    pub interval: Option<Duration>,
    /// How far in the past queries are evaluated; `None` means the global `query_offset`.
    /// An explicit `0` is kept: it overrides a global offset.
    pub query_offset: Option<Duration>,
    /// Most series an alerting rule may produce (alerts) or a recording rule may write per
    /// evaluation; 0 (also for negative values, as in Prometheus) is no limit.
    pub limit: usize,
    /// Labels added to every rule of the group (a rule's own labels win).
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<Rule>,
}

/// What a rule does with its expression's result.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// Writes the result as series named `record`.
    Recording { record: String },
    /// Fires an alert per result series once it has been present for `for_`, and keeps it
    /// firing for `keep_firing_for` after it is gone.
    Alerting {
        alert: String,
        for_: Duration,
        keep_firing_for: Duration,
        annotations: BTreeMap<String, String>,
    },
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub kind: RuleKind,
    /// The PromQL expression, as written (it parses).
    pub expr: String,
    pub labels: BTreeMap<String, String>,
    /// 1-based line where the rule starts in its file. Where the text cannot be mapped to
    /// rules (flow-style YAML, rules that come from a `<<` merge of a group), the line of
    /// the nearest enclosing item that can be placed.
    pub line: usize,
}

impl Rule {
    /// The rule's name: the alert name or the recorded metric name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { alert, .. } => alert,
        }
    }
}

/// Which label and metric names are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// Prometheus 3's default: any non-empty UTF-8 name.
    #[default]
    Utf8,
    /// Names before Prometheus 3: `[a-zA-Z_][a-zA-Z0-9_]*` for labels and annotations,
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` for recorded metrics.
    Legacy,
}

/// How strictly a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    /// Accept fields the format does not know (promtool's `--ignore-unknown-fields`). Off by
    /// default: Prometheus refuses such files.
    pub ignore_unknown_fields: bool,
    pub name_validation: NameValidation,
}

/// Which rule an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// 1-based position in its group.
    pub index: usize,
    /// The alert or record name (empty if the rule has neither).
    pub name: String,
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The file (or the source name given to [`parse`]).
    pub file: String,
    /// The group, for problems inside one.
    pub group: Option<String>,
    /// The rule, for problems inside one.
    pub rule: Option<RuleRef>,
    /// 1-based line the problem is at, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl RuleError {
    fn file(file: &str, line: Option<usize>, message: impl Into<String>) -> RuleError {
        RuleError {
            file: file.to_string(),
            group: None,
            rule: None,
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(group) = &self.group {
            write!(f, "group {group:?}")?;
            if let Some(rule) = &self.rule {
                write!(f, ", rule {}, {:?}", rule.index, rule.name)?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

/// Parses and validates rule-file text with the default [`ParseOptions`] (unknown fields are
/// errors, UTF-8 names); `source` names the text in errors.
pub fn parse(text: &str, source: &str) -> Result<RuleGroups, Vec<RuleError>> {
    parse_with(text, source, &ParseOptions::default())
}

/// [`parse`] with explicit options.
///
/// Only the first YAML document is read, as Prometheus does; more are logged as a warning.
/// An empty file has no groups.
pub fn parse_with(
    text: &str,
    source: &str,
    opts: &ParseOptions,
) -> Result<RuleGroups, Vec<RuleError>> {
    let decoded = decode::decode(text, opts.ignore_unknown_fields)
        .map_err(|e| vec![RuleError::file(source, e.line, e.message)])?;
    if decoded.more_documents {
        tracing::warn!(
            file = source,
            "the rule file has more than one YAML document; only the first is read"
        );
    }
    let outline = outline::Outline::of(text);
    validate::validate(decoded.file, &outline, source, opts)
}

/// Reads and validates a rule file with the default [`ParseOptions`].
pub fn parse_file(path: &Path) -> Result<RuleGroups, Vec<RuleError>> {
    parse_file_with(path, &ParseOptions::default())
}

/// [`parse_file`] with explicit options.
pub fn parse_file_with(path: &Path, opts: &ParseOptions) -> Result<RuleGroups, Vec<RuleError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![RuleError::file(&name, None, format!("cannot read: {e}"))])?;
    parse_with(&text, &name, opts)
}
