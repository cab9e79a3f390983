//! `vane test rules`: rule unit tests in the format of `promtool test rules`, with the
//! verdicts promtool gives.
//!
//! * [`file`]: the test file, read strictly and checked;
//! * [`run`]: one test group — input series loaded into a fresh store as evaluation reaches
//!   them, the rule groups evaluated step by step with the alerting crate's rule engine, then
//!   alerts and expressions checked;
//! * [`compare`]: expected against got (sorting, exact or fuzzy floats);
//! * [`print`]: values printed as promtool prints them;
//! * [`skip`]: checks that depend on native histograms, which the store does not hold yet,
//!   are skipped and listed.
//!
//! Output per file, as promtool's: `Unit Testing:  FILE` on stdout, then `  SUCCESS`, or
//! `  FAILED:` and each failure (followed by an empty line) on stderr. Exit status 0 when
//! every file passed, 1 otherwise.

pub mod compare;
pub mod file;
pub mod print;
pub mod run;
pub mod skip;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::{Path, PathBuf};

use alerting::rulefmt::{self, ParseOptions, RuleGroup};
use regex::Regex;

use crate::cli::TestRulesArgs;
use file::TestFile;

/// Exit status when every test passed.
pub const SUCCESS: u8 = 0;
/// Exit status when any test failed or a file could not be read.
pub const FAILED: u8 = 1;

/// How to run the tests.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only test groups whose name this matches (anywhere in the name).
    pub run: Option<Regex>,
    /// Accept fields the rule format does not have in the rule files.
    pub ignore_unknown_fields: bool,
}

impl Options {
    /// From the command line: the `--run` patterns are alternatives of one expression, as
    /// promtool joins them.
    pub fn from_args(args: &TestRulesArgs) -> Result<Options, regex::Error> {
        let run = if args.run.is_empty() {
            None
        } else {
            Some(Regex::new(&args.run.join("|"))?)
        };
        Ok(Options {
            run,
            ignore_unknown_fields: args.ignore_unknown_fields,
        })
    }
}

/// `vane test rules` on the terminal; returns the exit status.
pub fn rules(args: &TestRulesArgs) -> u8 {
    let opts = match Options::from_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vane: error: --run: {e}");
            return FAILED;
        }
    };
    test_files(
        &args.files,
        &opts,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

/// Tests each file, writing progress to `out` and failures to `err`; returns [`SUCCESS`] or
/// [`FAILED`].
pub fn test_files(
    files: &[PathBuf],
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut failed = false;
    for f in files {
        // Output errors (a closed pipe) are ignored: the exit status still tells the result.
        let _ = writeln!(out, "Unit Testing:  {}", f.display());
        let _ = out.flush();
        let result = test_file(f, opts, err);
        if !result.skipped.is_empty() {
            let _ = writeln!(
                out,
                "  SKIPPED: {} check(s) need native histograms, which Vane does not store yet:",
                result.skipped.len()
            );
            for s in &result.skipped {
                let _ = writeln!(out, "    {s}");
            }
        }
        if result.errors.is_empty() {
            let _ = writeln!(out, "  SUCCESS");
        } else {
            failed = true;
            let _ = out.flush();
            let _ = writeln!(err, "  FAILED:");
            for e in &result.errors {
                let _ = writeln!(err, "{e}\n");
            }
            let _ = err.flush();
        }
        let _ = writeln!(out);
    }
    if failed { FAILED } else { SUCCESS }
}

/// Runs the selected test groups of one file (`warn` takes warnings about rule file patterns
/// that match nothing).
pub fn test_file(path: &Path, opts: &Options, warn: &mut dyn Write) -> run::Outcome {
    let fail = |e: String| run::Outcome {
        errors: vec![e],
        skipped: Vec::new(),
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let tf = match TestFile::parse(&text) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let base = path.parent().unwrap_or(Path::new(""));
    let mut rule_files = Vec::new();
    for pattern in &tf.rule_files {
        match rulefmt::expand_globs(std::slice::from_ref(pattern), base) {
            Ok(found) if found.is_empty() => {
                let _ = writeln!(
                    warn,
                    "  WARNING: no file match pattern {}",
                    base.join(pattern).display()
                );
            }
            Ok(found) => rule_files.extend(found),
            Err(e) => return fail(e),
        }
    }
    if let Some(name) = repeated(&tf.group_eval_order) {
        return fail(format!("group name repeated in evaluation order: {name}"));
    }

    let mut rules = None;
    let mut outcome = run::Outcome::default();
    for tg in &tf.tests {
        if opts.run.as_ref().is_some_and(|re| !re.is_match(&tg.name)) {
            continue;
        }
        // Rule files are read once, when a test group first needs them.
        let rules = rules.get_or_insert_with(|| {
            load_rules(&rule_files, opts.ignore_unknown_fields)
                .map(|groups| in_eval_order(groups, &tf.group_eval_order))
        });
        let ctx = run::Context {
            evaluation_interval_ms: tf.evaluation_interval_ms,
            fuzzy_compare: tf.fuzzy_compare,
            rules,
        };
        let r = run::run(tg, &ctx);
        outcome.errors.extend(r.errors);
        outcome.skipped.extend(r.skipped);
    }
    outcome
}

fn repeated(names: &[String]) -> Option<&str> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .iter()
        .find(|n| !seen.insert(n.as_str()))
        .map(String::as_str)
}

/// The groups of every rule file, in file order; the errors of the first file that has any.
fn load_rules(
    files: &[PathBuf],
    ignore_unknown_fields: bool,
) -> Result<Vec<(String, RuleGroup)>, Vec<String>> {
    let opts = ParseOptions {
        ignore_unknown_fields,
        ..ParseOptions::default()
    };
    let mut out = Vec::new();
    for f in files {
        let groups = rulefmt::parse_file_with(f, &opts)
            .map_err(|errs| errs.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        let name = f.display().to_string();
        out.extend(groups.groups.into_iter().map(|g| (name.clone(), g)));
    }
    Ok(out)
}

/// Groups named in `group_eval_order` in that order; the others keep their file order and
/// rank with the first one named, as promtool's sort gives them rank 0 (where promtool's
/// order among equals is random, file order is used).
fn in_eval_order(
    mut groups: Vec<(String, RuleGroup)>,
    order: &[String],
) -> Vec<(String, RuleGroup)> {
    let rank = |g: &RuleGroup| order.iter().position(|n| *n == g.name).unwrap_or(0);
    groups.sort_by_key(|(_, g)| rank(g));
    groups
}
