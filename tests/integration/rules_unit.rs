//! `vane test rules` end to end: every rule unit-test file of promtool's testdata with the
//! verdict upstream's own tests assert (the "promtool rule unit tests" table of
//! `shared/conformance/prometheus/README.md`), and the same verdicts, and failure texts, from
//! Debian's promtool (2.42) where it is installed, on the files it can read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::vane;

fn testdata() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/conformance/prometheus/cmd/promtool/testdata"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("promtool's testdata not found above {}", here.display()))
}

fn file(name: &str) -> String {
    testdata().join(name).display().to_string()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn test_rules(flags: &[&str], path: &str) -> Run {
    let mut args = vec!["test", "rules"];
    args.extend(flags);
    args.push(path);
    run(vane(&args))
}

/// The README's table (file, flags, expected exit status). `unittest.yml` is in
/// [`unittest_yml_passes`].
const CASES: &[(&str, &[&str], i32)] = &[
    ("long-period.yml", &[], 0),
    ("no-test-group-interval.yml", &[], 0),
    // `@` and negative offsets are always on, as in Prometheus 3.
    ("at-modifier-test.yml", &[], 0),
    ("negative-offset-test.yml", &[], 0),
    ("start-time-test.yml", &[], 0),
    ("rules_run.yml", &[], 1),
    ("rules_run.yml", &["--run", "correct"], 0),
    ("rules_run.yml", &["--run", "wrong"], 1),
    ("rules_run.yml", &["--run", "correct", "--run", "wrong"], 1),
    ("rules_run_fuzzy.yml", &["--run", "correct"], 0),
    ("rules_run_fuzzy.yml", &["--run", "wrong"], 1),
    ("rules_run_fuzzy.yml", &[], 1),
    ("rules_run_no_fuzzy.yml", &[], 1),
    ("rules_run_extrafields.yml", &[], 1),
    ("rules_run_extrafields.yml", &["--ignore-unknown-fields"], 0),
    ("failing.yml", &[], 1),
    ("bad-input-series.yml", &[], 1),
    ("bad-promql.yml", &[], 1),
    ("bad-rules-syntax-test.yml", &[], 1),
    ("bad-rules-error-test.yml", &[], 1),
];

#[test]
fn rules_unit_verdicts_on_promtool_testdata() {
    let mut wrong = Vec::new();
    for &(name, flags, code) in CASES {
        let path = file(name);
        let r = test_rules(flags, &path);
        let verdict = if code == 0 {
            "  SUCCESS\n"
        } else {
            "  FAILED:\n"
        };
        let printed = if code == 0 { &r.stdout } else { &r.stderr };
        if r.code != code
            || !r.stdout.starts_with(&format!("Unit Testing:  {path}\n"))
            || !printed.contains(verdict)
        {
            wrong.push(format!(
                "{name} {flags:?}: status {} (want {code})\nstdout:\n{}stderr:\n{}",
                r.code, r.stdout, r.stderr
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn rules_unit_failures_read_as_promtool_prints_them() {
    let path = file("rules_run.yml");
    let r = test_rules(&[], &path);
    assert_eq!(
        r.stdout,
        format!("Unit Testing:  {path}\n\n"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr,
        "  FAILED:\n    expr: \"test\", time: 0s,\n        exp: {__name__=\"test\"} 1E+00\n        got: {__name__=\"test\"} 0E+00\n\n"
    );
    let r = test_rules(&[], &file("bad-rules-error-test.yml"));
    assert!(
        r.stderr.starts_with(
            "  FAILED:\n    rule: joined, time: 0s, err: found duplicate series for the match group {a=\"1\"} on the right hand-side of the operation"
        ),
        "{}",
        r.stderr
    );
    let r = test_rules(&[], &file("failing.yml"));
    for part in [
        "    name: Failing test,\n    alertname: Test, time: 0s, \n        exp:[\n            0:\n              Labels:{alertname=\"Test\"}\n              Annotations:{}\n            ], \n        got:[]\n",
        "    expr: \"test\", time: 0s,\n        exp: {__name__=\"test\"} 1E+00\n        got: {__name__=\"test\"} 0E+00\n",
        "    name: Failing alert test,\n    alertname: AlwaysFiring, time: 5m, \n        exp:[], \n        got:[\n            0:\n              Labels:{alertname=\"AlwaysFiring\"}\n              Annotations:{}\n            ]\n",
    ] {
        assert!(r.stderr.contains(part), "{}", r.stderr);
    }
    // Several files: each reported; one failure fails the run.
    let (good, bad) = (file("long-period.yml"), file("bad-promql.yml"));
    let r = run(vane(&["test", "rules", &good, &bad]));
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        format!("Unit Testing:  {good}\n  SUCCESS\n\nUnit Testing:  {bad}\n\n")
    );
    let r = run(vane(&["test", "rules", "/nonexistent/test.yml"]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/nonexistent/test.yml: "), "{}", r.stderr);
    assert_eq!(run(vane(&["test", "rules"])).code, 2, "a file is required");
}

/// Prometheus's own unit-test file passes whole: alerts with templated annotations, recording
/// rules, `promql_expr_test`s; its three native-histogram expressions are skipped and listed.
#[test]
fn unittest_yml_passes() {
    let r = test_rules(&[], &file("unittest.yml"));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.ends_with("  SUCCESS\n\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("  SKIPPED: 3 check(s) need native histograms"),
        "{}",
        r.stdout
    );
}

fn promtool_installed() -> bool {
    Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn promtool(path: &str) -> Run {
    run(Command::new("promtool")
        .args(["test", "rules", path])
        .output()
        .expect("promtool runs"))
}

/// promtool prints the empty line after each failure on stdout, and 2.42 repeats its rule
/// file warnings per test group: compare the failure lines only.
fn failure_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("  WARNING:"))
        .collect()
}

/// The same exit status as promtool 2.42 on every testdata file it can read. Left out, with
/// why: `unittest.yml` (`histogram:` expectations), `start-time-test.yml`
/// (`start_timestamp`), `rules_run_fuzzy.yml` and `rules_run_no_fuzzy.yml`
/// (`fuzzy_compare`) use fields 2.42 refuses; in `no-test-group-interval.yml` a test without
/// `interval` gets Prometheus 3's default (the evaluation interval), which 2.42 lacks; `--run`
/// and `--ignore-unknown-fields` are Prometheus 3 flags.
#[test]
fn rules_unit_agrees_with_promtool() {
    if !promtool_installed() {
        eprintln!("promtool is not installed (Debian package prometheus): comparison skipped");
        return;
    }
    let files = [
        "long-period.yml",
        "at-modifier-test.yml",
        "negative-offset-test.yml",
        "rules_run.yml",
        "rules_run_extrafields.yml",
        "failing.yml",
        "bad-input-series.yml",
        "bad-promql.yml",
        "bad-rules-syntax-test.yml",
        "bad-rules-error-test.yml",
    ];
    let mut wrong = Vec::new();
    for name in files {
        let path = file(name);
        let (ours, theirs) = (test_rules(&[], &path), promtool(&path));
        if ours.code != theirs.code {
            wrong.push(format!(
                "{name}: vane {} promtool {}\nvane:\n{}{}promtool:\n{}{}",
                ours.code, theirs.code, ours.stdout, ours.stderr, theirs.stdout, theirs.stderr
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let path = file("rules_run.yml");
    assert_eq!(
        failure_lines(&test_rules(&[], &path).stderr),
        failure_lines(&promtool(&path).stderr)
    );
}

/// Rule files and tests that exercise what 2.42 and 3.x agree on (group order, alerts from
/// two groups under one name, `for`, `keep_firing_for`, staleness, an `eval_time` between
/// evaluations, `ALERTS`, recording chains, a store refusing a rule's sample, `limit`): the
/// failure messages of both, line for line.
#[test]
fn rules_unit_failures_match_promtool_line_for_line() {
    if !promtool_installed() {
        eprintln!("promtool is not installed (Debian package prometheus): comparison skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "rules.yml", RULES);
    write(dir.path(), "test.yml", TEST);
    write(dir.path(), "rules3.yml", RULES3);
    write(dir.path(), "test3.yml", TEST3);
    for name in ["test.yml", "test3.yml"] {
        let path = dir.path().join(name).display().to_string();
        let (ours, theirs) = (test_rules(&[], &path), promtool(&path));
        assert_eq!((ours.code, theirs.code), (1, 1), "{name}");
        assert_eq!(
            failure_lines(&ours.stderr),
            failure_lines(&theirs.stderr),
            "{name}"
        );
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const RULES: &str = r#"groups:
  - name: first
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: JobDown
        expr: job:up:sum == 0
        for: 2m
        labels:
          severity: page
          team: "7"
  - name: second
    rules:
      - record: job:up:doubled
        expr: job:up:sum * 2
      - alert: JobDown
        expr: up{job="b"} == 0
        labels:
          severity: warn
      - alert: Flappy
        expr: flap > 0
        keep_firing_for: 3m
"#;

const TEST: &str = r#"rule_files: [rules.yml]
evaluation_interval: 1m
group_eval_order: [second, first]
tests:
  - name: chain
    interval: 1m
    input_series:
      - series: 'up{job="a", instance="1"}'
        values: '1 1 0 0 0 0 0 0 0 0'
      - series: 'up{job="a", instance="2"}'
        values: '0x9'
      - series: 'up{job="b", instance="1"}'
        values: '0 0 _ stale 0x5'
      - series: 'flap'
        values: '1 0 0 0 0 0 1 0'
    alert_rule_test:
      - eval_time: 90s
        alertname: JobDown
        exp_alerts:
          - exp_labels: {severity: warn, job: b, instance: "1"}
      - eval_time: 4m
        alertname: JobDown
        exp_alerts:
          - exp_labels: {severity: page, job: a, team: 7}
          - exp_labels: {severity: page, job: b, team: 7}
      - eval_time: 5m
        alertname: JobDown
        exp_alerts:
          - exp_labels: {severity: page, job: a, team: 7}
          - exp_labels: {severity: page, job: b, team: 7}
          - exp_labels: {severity: warn, job: b, instance: "1"}
      - eval_time: 3m
        alertname: Flappy
        exp_alerts: [{}]
      - eval_time: 4m
        alertname: Flappy
        exp_alerts: []
      - eval_time: 6m30s
        alertname: Flappy
        exp_alerts: [{}]
    promql_expr_test:
      - expr: job:up:doubled
        eval_time: 2m
        exp_samples:
          - labels: 'job:up:doubled{job="a"}'
            value: 0
      - expr: ALERTS{alertname="JobDown"}
        eval_time: 5m
        exp_samples:
          - labels: 'ALERTS{alertname="JobDown",alertstate="firing",job="a",severity="page",team="7"}'
            value: 1
          - labels: 'ALERTS{alertname="JobDown",alertstate="firing",job="b",severity="page",team="7"}'
            value: 1
      - expr: up{job="b"}
        eval_time: 3m
        exp_samples: []
      - expr: vector(0) / 0
        eval_time: 1m
        exp_samples:
          - value: .nan
"#;

const RULES3: &str = r#"groups:
  - name: g
    limit: 1
    rules:
      - record: x
        expr: y * 2
"#;

const TEST3: &str = r#"rule_files: [rules3.yml, nothing-*.yml]
tests:
  - name: a rule writing over an input series
    input_series:
      - series: x
        values: '1 1 1'
      - series: y
        values: '5 5 5'
    promql_expr_test:
      - expr: x
        eval_time: 2m
        exp_samples: [{labels: x, value: 1}]
  - name: over the limit
    input_series:
      - series: 'y{a="1"}'
        values: '5'
      - series: 'y{a="2"}'
        values: '5'
"#;
