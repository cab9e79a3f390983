//! `vane check rules`: rule files checked as `promtool check rules` checks them, with the
//! same layout of output (progress on stdout, problems on stderr) and the same exit statuses.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use alerting::rulefmt::{self, Duplicate, ParseOptions, RuleError, RuleGroups};

use crate::cli::CheckRulesArgs;

/// What to check besides validity.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesCheck {
    pub lint_duplicates: bool,
    pub lint_fatal: bool,
    pub ignore_unknown_fields: bool,
}

impl RulesCheck {
    fn from_args(args: &CheckRulesArgs) -> RulesCheck {
        let on = |c: &str| args.lint.iter().any(|l| l == c);
        RulesCheck {
            lint_duplicates: on("all") || on("duplicate-rules"),
            lint_fatal: args.lint_fatal,
            ignore_unknown_fields: args.ignore_unknown_fields,
        }
    }
}

/// Exit status when every file is valid and no fatal lint check found anything.
pub const SUCCESS: u8 = 0;
/// Exit status when a file could not be read or has errors.
pub const INVALID: u8 = 1;
/// Exit status with `--lint-fatal` when only lint checks found something (promtool's).
pub const LINT_FAILED: u8 = 3;

/// `vane check rules` on the terminal; returns the exit status.
pub fn rules(args: &CheckRulesArgs) -> u8 {
    check_rules(
        &args.files,
        RulesCheck::from_args(args),
        std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

/// Checks each file (standard input when `files` is empty): `Checking NAME` on `out`, then
/// `  SUCCESS: N rules found` on `out`, or `  FAILED:` and the problems on `err`. Returns
/// [`SUCCESS`], [`INVALID`] or [`LINT_FAILED`].
pub fn check_rules(
    files: &[PathBuf],
    opts: RulesCheck,
    mut stdin: impl Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let parse_opts = ParseOptions {
        ignore_unknown_fields: opts.ignore_unknown_fields,
        ..ParseOptions::default()
    };
    let mut invalid = false;
    let mut lint_found = false;
    let mut check = |name: &str, result: Result<RuleGroups, Vec<RuleError>>| {
        // Output errors (a closed pipe) are ignored: the exit status still tells the result.
        let _ = writeln!(out, "Checking {name}");
        let groups = match result {
            Ok(g) => g,
            Err(errors) => {
                invalid = true;
                let _ = writeln!(err, "  FAILED:");
                for e in errors {
                    let _ = writeln!(err, "{e}");
                }
                return;
            }
        };
        let duplicates = if opts.lint_duplicates {
            rulefmt::duplicate_rules(&groups)
        } else {
            Vec::new()
        };
        if duplicates.is_empty() {
            let n: usize = groups.groups.iter().map(|g| g.rules.len()).sum();
            let _ = writeln!(out, "  SUCCESS: {n} rules found");
        } else {
            lint_found = true;
            let _ = writeln!(err, "  FAILED:");
            let _ = write!(err, "{}", duplicates_report(&duplicates));
        }
        let _ = writeln!(out);
    };
    if files.is_empty() {
        let mut text = String::new();
        let name = "standard input";
        let result = match stdin.read_to_string(&mut text) {
            Ok(_) => rulefmt::parse_with(&text, name, &parse_opts),
            Err(e) => Err(vec![RuleError {
                file: name.into(),
                group: None,
                rule: None,
                line: None,
                message: format!("cannot read: {e}"),
            }]),
        };
        check(name, result);
    }
    for f in files {
        check(
            &f.display().to_string(),
            rulefmt::parse_file_with(f, &parse_opts),
        );
    }
    if invalid {
        INVALID
    } else if lint_found && opts.lint_fatal {
        LINT_FAILED
    } else {
        SUCCESS
    }
}

/// The duplicate-rules finding: each name with its labels, one per line.
fn duplicates_report(duplicates: &[Duplicate]) -> String {
    let mut s = format!(
        "lint: {} duplicate rule(s): rules of this file with the same name and labels\n",
        duplicates.len()
    );
    for d in duplicates {
        s.push_str(&format!("  {}{}\n", d.name, labels(&d.labels)));
    }
    s.push_str("They write the same series, so their results overwrite each other.\n");
    s
}

fn labels(l: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[&str], opts: RulesCheck, stdin: &str) -> (u8, String, String) {
        let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = check_rules(&files, opts, stdin.as_bytes(), &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    const LINT: RulesCheck = RulesCheck {
        lint_duplicates: true,
        lint_fatal: false,
        ignore_unknown_fields: false,
    };

    #[test]
    fn good_bad_and_duplicate_files() {
        let tmp = tempfile::tempdir().unwrap();
        let good = tmp.path().join("good.yml");
        let bad = tmp.path().join("bad.yml");
        let dup = tmp.path().join("dup.yml");
        std::fs::write(
            &good,
            "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n  - alert: B\n    expr: up == 0\n",
        )
        .unwrap();
        std::fs::write(&bad, "groups:\n- name: g\n  rules:\n  - record: a\n").unwrap();
        std::fs::write(
            &dup,
            "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n- name: h\n  rules:\n  - record: a\n    expr: down\n",
        )
        .unwrap();
        let (g, b, d) = (
            good.display().to_string(),
            bad.display().to_string(),
            dup.display().to_string(),
        );

        let (code, out, err) = run(&[&g], LINT, "");
        assert_eq!(code, SUCCESS);
        assert_eq!(out, format!("Checking {g}\n  SUCCESS: 2 rules found\n\n"));
        assert_eq!(err, "");

        let (code, out, err) = run(&[&b, &g], LINT, "");
        assert_eq!(code, INVALID);
        assert_eq!(
            out,
            format!("Checking {b}\nChecking {g}\n  SUCCESS: 2 rules found\n\n")
        );
        assert_eq!(
            err,
            format!("  FAILED:\n{b}:4: group \"g\", rule 1, \"a\": 'expr' is missing or empty\n")
        );

        let (code, out, err) = run(&[&d], LINT, "");
        assert_eq!(code, SUCCESS);
        assert_eq!(out, format!("Checking {d}\n\n"));
        assert!(
            err.starts_with("  FAILED:\nlint: 1 duplicate rule(s)"),
            "{err}"
        );
        assert!(err.contains("\n  a{}\n"), "{err}");
        let fatal = RulesCheck {
            lint_fatal: true,
            ..LINT
        };
        assert_eq!(run(&[&d], fatal, "").0, LINT_FAILED);
        assert_eq!(run(&[&d, &b], fatal, "").0, INVALID);
        let (code, out, _) = run(&[&d], RulesCheck::default(), "");
        assert_eq!(
            (code, out.as_str()),
            (
                SUCCESS,
                &*format!("Checking {d}\n  SUCCESS: 2 rules found\n\n")
            )
        );

        let (code, _, err) = run(&["/nonexistent.yml"], LINT, "");
        assert_eq!(code, INVALID);
        assert!(err.contains("/nonexistent.yml: cannot read"), "{err}");
    }

    #[test]
    fn standard_input_when_no_files() {
        let (code, out, _) = run(&[], LINT, "groups:\n- name: g\n  rules: []\n");
        assert_eq!(code, SUCCESS);
        assert_eq!(out, "Checking standard input\n  SUCCESS: 0 rules found\n\n");
        let (code, _, err) = run(&[], LINT, "groups:\n- name: g\n  extra: 1\n");
        assert_eq!(code, INVALID);
        assert!(
            err.contains("standard input:3: group \"g\": unknown field \"extra\""),
            "{err}"
        );
        let lenient = RulesCheck {
            ignore_unknown_fields: true,
            ..LINT
        };
        assert_eq!(
            run(&[], lenient, "groups:\n- name: g\n  extra: 1\n").0,
            SUCCESS
        );
    }
}
