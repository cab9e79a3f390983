//! The checks Prometheus's `rulefmt` applies to a decoded file, every problem collected.
//!
//! Per group: a non-empty name, unique in the file; valid durations; label names valid and
//! not `__name__`. Per rule: exactly one of `record` and `alert`; an `expr` that parses as
//! PromQL; for recording rules a valid metric name without braces and no `for`,
//! `keep_firing_for` or `annotations`; valid label and annotation names; for alerting rules,
//! label and annotation values that parse as templates. Fields the format does not have are
//! errors unless the options say to ignore them.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::decode::{RawFile, RawGroup, RawRule, UnknownField};
use super::outline::{Item, Outline};
use super::{
    NameValidation, ParseOptions, Rule, RuleError, RuleGroup, RuleGroups, RuleKind, RuleRef,
};

pub(super) fn validate(
    raw: RawFile,
    outline: &Outline,
    source: &str,
    opts: &ParseOptions,
) -> Result<RuleGroups, Vec<RuleError>> {
    let mut errors = Vec::new();
    // Unknown fields by (group, rule), reported where they are.
    let mut unknown: BTreeMap<(Option<usize>, Option<usize>), Vec<String>> = BTreeMap::new();
    for UnknownField { group, rule, field } in raw.unknown {
        unknown.entry((group, rule)).or_default().push(field);
    }
    for field in unknown.remove(&(None, None)).unwrap_or_default() {
        errors.push(RuleError::file(
            source,
            outline.top_key_line(&field),
            format!("unknown field {field:?} (a rule file has only \"groups\")"),
        ));
    }

    // Positions are only trusted where the outline found as many items as were decoded.
    let group_items = (outline.groups.len() == raw.groups.len()).then_some(&outline.groups);
    let groups_line = outline.top_key_line("groups");
    let mut names = HashSet::new();
    let mut groups = Vec::new();
    for (j, g) in raw.groups.into_iter().enumerate() {
        let item = group_items.map(|items| &items[j]);
        let at = Place {
            source,
            group: g.name.clone().unwrap_or_default(),
            item,
            fallback: item.map(|i| i.line).or(groups_line),
        };
        for field in unknown.remove(&(Some(j), None)).unwrap_or_default() {
            errors.push(at.group_error(&field, format!("unknown field {field:?} in a group")));
        }
        let first_use = names.insert(at.group.clone());
        let rule_unknown = |i: usize| unknown.get(&(Some(j), Some(i))).cloned();
        if let Some(g) = group(g, &at, first_use, opts, rule_unknown, &mut errors) {
            groups.push(g);
        }
    }
    if errors.is_empty() {
        Ok(RuleGroups { groups })
    } else {
        Err(errors)
    }
}

/// Where in the file a group is, to build errors about it and its rules.
struct Place<'a> {
    source: &'a str,
    group: String,
    item: Option<&'a Item>,
    /// The line to use where nothing more precise is known.
    fallback: Option<usize>,
}

impl Place<'_> {
    fn group_error(&self, key: &str, message: impl Into<String>) -> RuleError {
        RuleError {
            file: self.source.to_string(),
            group: (!self.group.is_empty()).then(|| self.group.clone()),
            rule: None,
            line: self.item.and_then(|i| i.key_line(key)).or(self.fallback),
            message: message.into(),
        }
    }

    /// The outline of rule `i` of `n`, when the outline agrees on the count.
    fn rule_item(&self, i: usize, n: usize) -> Option<&Item> {
        self.item
            .filter(|g| g.rules.len() == n)
            .map(|g| &g.rules[i])
    }
}

fn group(
    g: RawGroup,
    at: &Place<'_>,
    first_use: bool,
    opts: &ParseOptions,
    rule_unknown: impl Fn(usize) -> Option<Vec<String>>,
    errors: &mut Vec<RuleError>,
) -> Option<RuleGroup> {
    let before = errors.len();
    if at.group.is_empty() {
        errors.push(at.group_error("name", "a group needs a non-empty name"));
    } else if !first_use {
        errors.push(at.group_error(
            "name",
            "the name is already used by an earlier group of this file",
        ));
    }
    let interval = duration(g.interval.as_deref())
        .map_err(|e| errors.push(at.group_error("interval", format!("'interval': {e}"))))
        .ok()
        .flatten()
        .filter(|d| !d.is_zero());
    let query_offset = duration(g.query_offset.as_deref())
        .map_err(|e| errors.push(at.group_error("query_offset", format!("'query_offset': {e}"))))
        .ok()
        .flatten();
    let labels = g.labels.unwrap_or_default();
    for name in labels.keys() {
        if let Some(problem) = label_name_problem(name, opts.name_validation) {
            errors.push(at.group_error("labels", problem));
        }
    }

    let raw_rules = g.rules.unwrap_or_default();
    let n = raw_rules.len();
    let mut rules = Vec::with_capacity(n);
    for (i, r) in raw_rules.into_iter().enumerate() {
        let item = at.rule_item(i, n);
        let mut problems = Vec::new();
        for field in rule_unknown(i).unwrap_or_default() {
            problems.push((
                Some(field.clone()),
                format!("unknown field {field:?} in a rule"),
            ));
        }
        let name = r
            .alert
            .clone()
            .filter(|a| !a.is_empty())
            .or(r.record.clone())
            .unwrap_or_default();
        let rule = rule(r, opts, &mut problems);
        let line_of = |key: Option<&str>| {
            key.and_then(|k| item.and_then(|it| it.key_line(k)))
                .or(item.map(|it| it.line))
                .or(at.fallback)
        };
        for (key, message) in problems {
            errors.push(RuleError {
                file: at.source.to_string(),
                group: Some(at.group.clone()),
                rule: Some(RuleRef {
                    index: i + 1,
                    name: name.clone(),
                }),
                line: line_of(key.as_deref()),
                message,
            });
        }
        if let Some(mut rule) = rule {
            rule.line = line_of(None).unwrap_or(1);
            rules.push(rule);
        }
    }
    (errors.len() == before).then(|| RuleGroup {
        name: at.group.clone(),
        interval,
        query_offset,
        // A negative limit means no limit, as 0 does.
        limit: usize::try_from(g.limit.unwrap_or(0)).unwrap_or(0),
        labels,
        rules,
    })
}

/// Checks one rule; problems go to `problems` with the key they are about.
fn rule(
    r: RawRule,
    opts: &ParseOptions,
    problems: &mut Vec<(Option<String>, String)>,
) -> Option<Rule> {
    let before = problems.len();
    let mut problem = |key: &str, message: String| problems.push((Some(key.to_string()), message));
    let record = r.record.unwrap_or_default();
    let alert = r.alert.unwrap_or_default();
    match (record.is_empty(), alert.is_empty()) {
        (false, false) => problem(
            "alert",
            "both 'record' and 'alert' are set; a rule is one or the other".into(),
        ),
        (true, true) => problem("", "neither 'record' nor 'alert' is set".into()),
        _ => {}
    }
    let expr = r.expr.unwrap_or_default();
    if expr.is_empty() {
        problem("expr", "'expr' is missing or empty".into());
    } else if let Err(e) = promql::Engine::parse(&expr) {
        problem("expr", format!("the expression does not parse: {e}"));
    }
    let mut dur = |key: &str, v: Option<String>| {
        duration(v.as_deref())
            .unwrap_or_else(|e| {
                problem(key, format!("'{key}': {e}"));
                None
            })
            .unwrap_or_default()
    };
    let for_ = dur("for", r.for_);
    let keep_firing_for = dur("keep_firing_for", r.keep_firing_for);
    let labels = r.labels.unwrap_or_default();
    let annotations = r.annotations.unwrap_or_default();

    if !record.is_empty() {
        let not_here = |field: &str| format!("a recording rule cannot have '{field}'");
        if !annotations.is_empty() {
            problem("annotations", not_here("annotations"));
        }
        if !for_.is_zero() {
            problem("for", not_here("for"));
        }
        if !keep_firing_for.is_zero() {
            problem("keep_firing_for", not_here("keep_firing_for"));
        }
        if !valid_metric_name(&record, opts.name_validation) {
            problem(
                "record",
                format!("{record:?} is not a valid metric name for a recording rule"),
            );
        }
        // Valid as a UTF-8 name, but almost always a selector written in the wrong field.
        if record.contains(['{', '}']) {
            problem(
                "record",
                format!("the recorded name {record:?} has braces; should they be in 'expr'?"),
            );
        }
    }
    for name in labels.keys() {
        if let Some(p) = label_name_problem(name, opts.name_validation) {
            problem("labels", p);
        }
    }
    for name in annotations.keys() {
        if !valid_label_name(name, opts.name_validation) {
            problem(
                "annotations",
                format!("{name:?} is not a valid annotation name"),
            );
        }
    }
    if !alert.is_empty() {
        // Label and annotation values of alerts are templates, expanded per alert.
        for (what, key, map) in [
            ("label", "labels", &labels),
            ("annotation", "annotations", &annotations),
        ] {
            for (name, value) in map {
                if let Err(e) = crate::template::check(value) {
                    problem(key, format!("{what} {name:?}: template: {e}"));
                }
            }
        }
    }

    if problems.len() > before {
        return None;
    }
    let kind = if alert.is_empty() {
        RuleKind::Recording { record }
    } else {
        RuleKind::Alerting {
            alert,
            for_,
            keep_firing_for,
            annotations,
        }
    };
    Some(Rule {
        kind,
        expr,
        labels,
        line: 0,
    })
}

/// An optional Prometheus duration; absent (or `null`) is `None`.
fn duration(v: Option<&str>) -> Result<Option<Duration>, String> {
    v.map(model::duration::parse_duration).transpose()
}

fn label_name_problem(name: &str, nv: NameValidation) -> Option<String> {
    if name == "__name__" {
        Some("the label name \"__name__\" is reserved for the metric name".into())
    } else if !valid_label_name(name, nv) {
        Some(format!("{name:?} is not a valid label name"))
    } else {
        None
    }
}

fn valid_label_name(name: &str, nv: NameValidation) -> bool {
    match nv {
        // Any UTF-8 text but the empty string (and a Rust string is always UTF-8).
        NameValidation::Utf8 => !name.is_empty(),
        NameValidation::Legacy => legacy_name(name, false),
    }
}

fn valid_metric_name(name: &str, nv: NameValidation) -> bool {
    match nv {
        NameValidation::Utf8 => !name.is_empty(),
        NameValidation::Legacy => legacy_name(name, true),
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, with `:` allowed too for metric names.
fn legacy_name(name: &str, colons: bool) -> bool {
    let ok = |c: u8, first: bool| {
        c.is_ascii_alphabetic()
            || c == b'_'
            || (colons && c == b':')
            || (!first && c.is_ascii_digit())
    };
    let b = name.as_bytes();
    !b.is_empty() && ok(b[0], true) && b[1..].iter().all(|&c| ok(c, false))
}
