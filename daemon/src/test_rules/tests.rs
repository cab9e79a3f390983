use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use model::Labels;

use super::compare::{self, AlertView, SampleView};
use super::file::TestFile;
use super::print;
use super::*;

// ---------------------------------------------------------------------------------------------
// The file format.

#[test]
fn defaults_and_scalars_read_as_promtool_reads_them() {
    let f = TestFile::parse(
        "rule_files: [r.yml]\ntests:\n- input_series:\n  - series: up\n    values: 1\n  alert_rule_test:\n  - eval_time: 0\n    alertname: A\n    exp_alerts:\n    - exp_labels: {code: 500, ok: true, empty: }\n      exp_annotations:\n  promql_expr_test:\n  - expr: up\n    eval_time: 1h30m\n    exp_samples:\n    - value: 2\n    - labels: 'up{a=\"1\"}'\n",
    )
    .unwrap();
    assert_eq!(f.evaluation_interval_ms, 60_000);
    assert!(!f.fuzzy_compare);
    let t = &f.tests[0];
    assert_eq!((t.interval_ms, t.start_ms), (60_000, 0));
    assert_eq!(t.name, "");
    assert_eq!(t.input_series[0].values, "1");
    let a = &t.alert_rule_tests[0];
    assert_eq!(a.eval_time_ms, 0);
    assert_eq!(
        a.exp_alerts[0].labels,
        BTreeMap::from([
            ("code".to_string(), "500".to_string()),
            ("empty".to_string(), String::new()),
            ("ok".to_string(), "true".to_string()),
        ])
    );
    assert!(a.exp_alerts[0].annotations.is_empty());
    let e = &t.promql_expr_tests[0];
    assert_eq!(e.eval_time_ms, 5_400_000);
    assert_eq!(
        (e.exp_samples[0].labels.as_str(), e.exp_samples[0].value),
        ("", 2.0)
    );
    assert_eq!(e.exp_samples[1].value, 0.0, "a missing value is 0");
    assert_eq!(t.max_eval_time_ms(), 5_400_000);

    let f = TestFile::parse("evaluation_interval: 0\ntests:\n- interval: 0\n").unwrap();
    assert_eq!(f.evaluation_interval_ms, 60_000);
    assert_eq!(f.tests[0].interval_ms, 60_000);
    let f =
        TestFile::parse("evaluation_interval: 30s\nfuzzy_compare: true\ntests:\n- {}\n").unwrap();
    assert_eq!(
        f.tests[0].interval_ms, 30_000,
        "the interval defaults to evaluation_interval"
    );
    assert!(f.fuzzy_compare);
    for empty in ["", "# only a comment\n", "---\n", "~\n"] {
        assert_eq!(TestFile::parse(empty).unwrap().tests, vec![], "{empty:?}");
    }
}

#[test]
fn unknown_or_repeated_fields_and_bad_durations_are_errors() {
    let e = TestFile::parse("tests:\n- promql_expr_test:\n  - expr: up\n    exp_samples:\n    - value: 1\n      extra: 2\n").unwrap_err();
    assert!(e.contains("unknown field `extra`"), "{e}");
    let e = TestFile::parse("tests: []\ntests: []\n").unwrap_err();
    assert!(e.contains("duplicate field `tests`"), "{e}");
    let e = TestFile::parse("tests:\n- interval: 1\n").unwrap_err();
    assert!(
        e.contains("tests[0]: interval: not a valid duration"),
        "{e}"
    );
    let e = TestFile::parse("tests:\n- promql_expr_test:\n  - eval_time: 1.5m\n").unwrap_err();
    assert!(e.contains("eval_time"), "{e}");
    assert!(
        TestFile::parse("tests:\n- promql_expr_test:\n  - exp_samples:\n    - value: '1'\n")
            .is_err()
    );
}

#[test]
fn start_timestamps_are_unix_seconds_or_rfc3339() {
    use super::file::parse_time_ms;
    assert_eq!(parse_time_ms("1609459200"), Ok(1_609_459_200_000));
    assert_eq!(parse_time_ms("1609459200.25"), Ok(1_609_459_200_250));
    assert_eq!(parse_time_ms("0"), Ok(0));
    assert_eq!(parse_time_ms("2024-01-01T00:00:00Z"), Ok(1_704_067_200_000));
    assert_eq!(
        parse_time_ms("2024-01-01T02:00:00.5+02:00"),
        Ok(1_704_067_200_500)
    );
    assert!(parse_time_ms("yesterday").is_err());
    let f = TestFile::parse(
        "tests:\n- start_timestamp: 1609459200\n- start_timestamp: \"2024-01-01T00:00:00Z\"\n",
    )
    .unwrap();
    assert_eq!(f.tests[0].start_ms, 1_609_459_200_000);
    assert_eq!(f.tests[1].start_ms, 1_704_067_200_000);
    let e = TestFile::parse("tests:\n- start_timestamp: soon\n").unwrap_err();
    assert!(
        e.contains("cannot parse \"soon\" to a valid timestamp"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Printing and comparing.

#[test]
fn values_print_as_promtool_prints_them() {
    assert_eq!(print::float_e(1.0), "1E+00");
    assert_eq!(print::float_e(0.0), "0E+00");
    assert_eq!(print::float_e(-0.0), "-0E+00");
    assert_eq!(print::float_e(3.0000000000000004), "3.0000000000000004E+00");
    assert_eq!(print::float_e(9_218_880_000.0), "9.21888E+09");
    assert_eq!(print::float_e(1.5e-300), "1.5E-300");
    assert_eq!(print::float_e(0.001), "1E-03");
    assert_eq!(print::float_e(f64::INFINITY), "+Inf");
    assert_eq!(print::float_e(f64::NEG_INFINITY), "-Inf");
    assert_eq!(print::float_e(f64::NAN), "NaN");

    assert_eq!(print::go_duration(0), "0s");
    assert_eq!(print::go_duration(500), "500ms");
    assert_eq!(print::go_duration(60_000), "1m0s");
    assert_eq!(print::go_duration(86_400_000), "24h0m0s");
    assert_eq!(print::go_duration(60_500), "1m0.5s");
    assert_eq!(print::go_duration(1_250), "1.25s");
    assert_eq!(print::prom_duration(0), "0s");
    assert_eq!(print::prom_duration(86_400_000), "1d");
    assert_eq!(print::prom_duration(179_999), "2m59s999ms");

    assert_eq!(print::go_quote("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
    assert_eq!(
        print::go_quote("é\u{1}\u{7f}\u{2028}"),
        r#""é\x01\x7f\u2028""#
    );
    assert_eq!(
        print::labels([("__name__", "up"), ("job", "a\"b"), ("my.label", "x")]),
        r#"{__name__="up", job="a\"b", "my.label"="x"}"#
    );
    assert_eq!(print::labels([]), "{}");
    assert_eq!(print::indent_lines("a\nb\nc", "  "), "a\n  b\n  c");
}

fn sample(labels: &[(&str, &str)], value: f64) -> SampleView {
    SampleView {
        labels: Labels::from_pairs(labels.iter().copied()),
        value,
    }
}

#[test]
fn samples_compare_sorted_exactly_or_one_ulp_apart() {
    let mut exp = vec![sample(&[("a", "2")], 2.0), sample(&[("a", "1")], 1.0)];
    let mut got = vec![sample(&[("a", "1")], 1.0), sample(&[("a", "2")], 2.0)];
    assert!(compare::samples_equal(&mut exp, &mut got, false));
    assert_eq!(
        compare::describe_samples(&exp),
        r#"{a="1"} 1E+00, {a="2"} 2E+00"#
    );
    assert_eq!(compare::describe_samples(&[]), "nil");

    let three = 3.0f64;
    assert!(!compare::floats_equal(three, three.next_up(), false));
    assert!(compare::floats_equal(three, three.next_up(), true));
    assert!(compare::floats_equal(three, three.next_down(), true));
    assert!(!compare::floats_equal(
        three,
        three.next_up().next_up(),
        true
    ));
    assert!(
        !compare::floats_equal(f64::NAN, f64::NAN, true),
        "NaN equals nothing"
    );
    assert!(compare::floats_equal(f64::INFINITY, f64::INFINITY, false));
    assert!(!compare::samples_equal(
        &mut [sample(&[], 1.0)],
        &mut [],
        true
    ));
}

#[test]
fn alerts_compare_as_sorted_lists_and_print_numbered() {
    let m = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let a = AlertView::new(&m(&[("alertname", "A"), ("job", "x")]), &m(&[("s", "")]));
    let b = AlertView::new(&m(&[("alertname", "A"), ("job", "y")]), &m(&[]));
    assert!(compare::alerts_equal(
        &mut [b.clone(), a.clone()],
        &mut [a.clone(), b.clone()]
    ));
    assert!(!compare::alerts_equal(&mut [a.clone()], &mut [b.clone()]));
    let got = AlertView::from_labels(
        &Labels::from_pairs([("alertname", "A"), ("job", "x")]),
        &m(&[]),
    );
    assert!(
        !compare::alerts_equal(&mut [a.clone()], &mut [got]),
        "an annotation with an empty value is still an annotation"
    );
    assert_eq!(compare::describe_alerts(&[]), "[]");
    assert_eq!(
        compare::describe_alerts(&[a, b]),
        "[\n0:\n  Labels:{alertname=\"A\", job=\"x\"}\n  Annotations:{s=\"\"},\n1:\n  Labels:{alertname=\"A\", job=\"y\"}\n  Annotations:{}\n]"
    );
}

// ---------------------------------------------------------------------------------------------
// Running files.

/// Writes `files` into a temporary folder and runs `vane test rules` on the first one.
fn run_files(files: &[(&str, &str)], opts: &Options) -> (u8, String, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let path = dir.path().join(files[0].0);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = test_files(std::slice::from_ref(&path), opts, &mut out, &mut err);
    let strip = |b: Vec<u8>| {
        String::from_utf8(b)
            .unwrap()
            .replace(&format!("{}/", dir.path().display()), "")
    };
    (code, strip(out), strip(err))
}

fn run_one(test: &str, rules: &str) -> (u8, String, String) {
    run_files(
        &[("test.yml", test), ("rules.yml", rules)],
        &Options::default(),
    )
}

const CHAIN_RULES: &str = "groups:
- name: first
  rules:
  - record: step1
    expr: input * 10
- name: second
  rules:
  - record: step2
    expr: step1 + 1
";

#[test]
fn groups_run_in_file_order_or_in_group_eval_order() {
    // In file order, step2 reads step1 written the moment before; in reverse order it reads
    // the step1 of the previous evaluation.
    let test = |order: &str, at_1m: f64| {
        format!(
            "rule_files: [rules.yml]\n{order}tests:\n- input_series:\n  - series: input\n    values: 1 2 3\n  promql_expr_test:\n  - expr: step2\n    eval_time: 1m\n    exp_samples:\n    - labels: step2\n      value: {at_1m}\n"
        )
    };
    assert_eq!(run_one(&test("", 21.0), CHAIN_RULES).0, SUCCESS);
    assert_eq!(
        run_one(
            &test("group_eval_order: [second, first]\n", 11.0),
            CHAIN_RULES
        )
        .0,
        SUCCESS
    );
    let (code, _, err) = run_one(&test("", 11.0), CHAIN_RULES);
    assert_eq!(code, FAILED);
    assert_eq!(
        err,
        "  FAILED:\n    expr: \"step2\", time: 1m,\n        exp: {__name__=\"step2\"} 1.1E+01\n        got: {__name__=\"step2\"} 2.1E+01\n\n"
    );
    let (code, _, err) = run_one(
        "rule_files: [rules.yml]\ngroup_eval_order: [a, b, a]\ntests:\n- {}\n",
        CHAIN_RULES,
    );
    assert_eq!(code, FAILED);
    assert!(
        err.contains("group name repeated in evaluation order: a"),
        "{err}"
    );
}

#[test]
fn unnamed_groups_rank_with_the_first_named_one() {
    let g = |name: &str| {
        alerting::rulefmt::parse(&format!("groups:\n- name: {name}\n  rules: []\n"), "r.yml")
            .unwrap()
            .groups
            .remove(0)
    };
    let groups = ["a", "b", "c", "d"]
        .iter()
        .map(|n| ("r.yml".to_string(), g(n)))
        .collect();
    let order = ["c".to_string(), "b".to_string()];
    let names: Vec<String> = in_eval_order(groups, &order)
        .into_iter()
        .map(|(_, g)| g.name)
        .collect();
    assert_eq!(names, ["a", "c", "d", "b"]);
}

const ALERT_RULES: &str = "groups:
- name: alerts
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    labels:
      severity: page
";

#[test]
fn alerts_are_checked_after_the_evaluation_at_or_before_their_time() {
    // Down from 0: pending at 0 and 1m, firing from 2m. An eval_time between evaluations
    // sees the evaluation before it.
    let test = |at: &str, firing: bool| {
        let exp = if firing {
            "    - exp_labels: {severity: page, job: x}\n"
        } else {
            "      []\n"
        };
        format!(
            "rule_files: [rules.yml]\ntests:\n- name: t\n  input_series:\n  - series: 'up{{job=\"x\"}}'\n    values: 0x5\n  alert_rule_test:\n  - eval_time: {at}\n    alertname: Down\n    exp_alerts:\n{exp}"
        )
    };
    for (at, firing) in [
        ("1m", false),
        ("1m59s", false),
        ("2m", true),
        ("2m30s", true),
    ] {
        let (code, out, err) = run_one(&test(at, firing), ALERT_RULES);
        assert_eq!(code, SUCCESS, "{at}: {out}{err}");
    }
    let (code, out, err) = run_one(&test("1m30s", true), ALERT_RULES);
    assert_eq!(code, FAILED);
    assert!(out.starts_with("Unit Testing:  test.yml\n"), "{out}");
    assert_eq!(
        err,
        "  FAILED:\n    name: t,\n    alertname: Down, time: 1m30s, \n        exp:[\n            0:\n              Labels:{alertname=\"Down\", job=\"x\", severity=\"page\"}\n              Annotations:{}\n            ], \n        got:[]\n\n"
    );
}

#[test]
fn alerts_and_recorded_series_are_queryable_and_rule_errors_stop_the_group() {
    let rules = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n  - record: bad\n    expr: up + on() group_left up\n";
    let test = "rule_files: [rules.yml]\ntests:\n- input_series:\n  - series: 'up{job=\"x\"}'\n    values: 0\n  promql_expr_test:\n  - expr: ALERTS\n    eval_time: 0\n    exp_samples:\n    - labels: 'ALERTS{alertname=\"Down\", alertstate=\"firing\", job=\"x\"}'\n      value: 1\n";
    assert_eq!(
        run_one(test, &rules.replace("up + on() group_left up", "up")).0,
        SUCCESS
    );
    let two = test.replace(
        "values: 0\n",
        "values: 0\n  - series: 'up{job=\"y\"}'\n    values: 1\n",
    );
    let (code, _, err) = run_one(&two, rules);
    assert_eq!(code, FAILED);
    assert!(
        err.starts_with("  FAILED:\n    rule: bad, time: 0s, err: "),
        "{err}"
    );
    assert!(
        !err.contains("expr:"),
        "the expressions are not checked: {err}"
    );
}

#[test]
fn run_selects_test_groups_by_name() {
    let test = "tests:\n- name: good one\n  input_series:\n  - series: x\n    values: 1\n  promql_expr_test:\n  - expr: x\n    exp_samples: [{labels: x, value: 1}]\n- name: bad one\n  promql_expr_test:\n  - expr: x\n    exp_samples: [{labels: x, value: 1}]\n- promql_expr_test:\n  - expr: vector(1)\n    exp_samples: [{value: 2}]\n";
    let with = |run: &str| Options {
        run: Some(regex::Regex::new(run).unwrap()),
        ignore_unknown_fields: false,
    };
    let files = [("test.yml", test)];
    assert_eq!(run_files(&files, &Options::default()).0, FAILED);
    assert_eq!(run_files(&files, &with("good")).0, SUCCESS);
    assert_eq!(run_files(&files, &with("bad")).0, FAILED);
    assert_eq!(run_files(&files, &with("nothing")).0, SUCCESS);
    // An unnamed group has the empty name.
    let (code, _, err) = run_files(&files, &with("^$"));
    assert_eq!(code, FAILED);
    assert!(err.contains("exp: {} 2E+00"), "{err}");
}

#[test]
fn rule_file_problems_are_reported_by_each_test_group_that_runs() {
    let files = [
        (
            "test.yml",
            "rule_files: [rules.yml, missing-*.yml]\ntests:\n- {}\n- {}\n",
        ),
        (
            "rules.yml",
            "groups:\n- name: g\n  owner: me\n  rules: []\n",
        ),
    ];
    let (code, out, err) = run_files(&files, &Options::default());
    assert_eq!(code, FAILED);
    assert_eq!(out, "Unit Testing:  test.yml\n\n");
    assert_eq!(
        err,
        "  WARNING: no file match pattern missing-*.yml\n  FAILED:\nrules.yml:3: group \"g\": unknown field \"owner\" in a group\n\nrules.yml:3: group \"g\": unknown field \"owner\" in a group\n\n"
    );
    let lenient = Options {
        run: None,
        ignore_unknown_fields: true,
    };
    assert_eq!(run_files(&files, &lenient).0, SUCCESS);
    // Without test groups the rule files are not read.
    let files = [("test.yml", "rule_files: [rules.yml]\n"), files[1]];
    assert_eq!(run_files(&files, &Options::default()).0, SUCCESS);
}

#[test]
fn input_series_errors_and_missing_alert_names_fail_their_group() {
    let (code, _, err) = run_one(
        "tests:\n- input_series:\n  - series: 'up{a=\"1\"'\n    values: 1\n",
        "",
    );
    assert_eq!(code, FAILED);
    assert!(err.contains("input series \"up{a=\\\"1\\\" 1\": "), "{err}");
    let (code, _, err) = run_one(
        "tests:\n- name: n\n  alert_rule_test:\n  - eval_time: 5m\n    exp_alerts: []\n",
        "",
    );
    assert_eq!(code, FAILED);
    assert!(
        err.contains("an item under alert_rule_test misses required attribute alertname at eval_time 5m (in TestGroup n)"),
        "{err}"
    );
    let (code, _, err) = run_one(
        "tests:\n- promql_expr_test:\n  - expr: vector(1)\n    exp_samples: [{labels: 'x{', value: 1}]\n",
        "",
    );
    assert_eq!(code, FAILED);
    assert!(
        err.contains("    expr: \"vector(1)\", time: 0s, err: labels \"x{\": "),
        "{err}"
    );
}

/// Values at `start + k * interval`. As with promtool, input is loaded only as far as the
/// last evaluation step (every evaluation_interval up to the latest eval_time): the -2 at
/// 4m30s comes after the step at 4m, so a query at 4m30s still sees -1.
#[test]
fn input_values_use_the_expanding_notation_and_the_start_time() {
    let test = "tests:\n- interval: 30s\n  start_timestamp: 1000\n  input_series:\n  - series: m\n    values: '1+2x2 _ stale 7 _x2 -1-1x1'\n  promql_expr_test:\n  - expr: m\n    eval_time: 1m\n    exp_samples: [{labels: m, value: 5}]\n  - expr: m\n    eval_time: 1m30s\n    exp_samples: [{labels: m, value: 5}]\n  - expr: m\n    eval_time: 2m\n    exp_samples: []\n  - expr: timestamp(m)\n    eval_time: 2m30s\n    exp_samples: [{value: 1150}]\n  - expr: m\n    eval_time: 4m\n    exp_samples: [{labels: m, value: -1}]\n  - expr: m\n    eval_time: 4m30s\n    exp_samples: [{labels: m, value: -1}]\n  - expr: time()\n    eval_time: 0s\n    exp_samples: [{value: 1000}]\n";
    let (code, out, err) = run_one(test, "");
    assert_eq!((code, err.as_str()), (SUCCESS, ""), "{out}");
}

#[test]
fn native_histogram_checks_are_skipped_and_listed() {
    let rules = "groups:\n- name: g\n  rules:\n  - record: h:sum\n    expr: sum(h)\n  - alert: Big\n    expr: h:sum > 0\n  - alert: Up\n    expr: up == 1\n";
    let test = "rule_files: [rules.yml]\ntests:\n- name: nh\n  input_series:\n  - series: h\n    values: '{{count:1 sum:1}}x2'\n  - series: up\n    values: 1x2\n  alert_rule_test:\n  - eval_time: 1m\n    alertname: Big\n    exp_alerts: []\n  - eval_time: 1m\n    alertname: Up\n    exp_alerts: [{}]\n  promql_expr_test:\n  - expr: 'h:sum'\n    eval_time: 1m\n    exp_samples: []\n  - expr: '{__name__=~\"h.*\"}'\n    eval_time: 1m\n    exp_samples: []\n  - expr: up\n    eval_time: 1m\n    exp_samples: [{labels: up, value: 1, histogram: '{{count:1}}'}]\n  - expr: up\n    eval_time: 1m\n    exp_samples: [{labels: up, value: 1}]\n";
    let (code, out, err) = run_one(test, rules);
    assert_eq!((code, err.as_str()), (SUCCESS, ""), "{out}");
    assert_eq!(
        out,
        "Unit Testing:  test.yml\n  SKIPPED: 4 check(s) need native histograms, which Vane does not store yet:\n    name: nh, alertname: Big, time: 1m\n    name: nh, expr: \"h:sum\", time: 1m\n    name: nh, expr: \"{__name__=~\\\"h.*\\\"}\", time: 1m\n    name: nh, expr: \"up\", time: 1m\n  SUCCESS\n\n"
    );
}

#[test]
fn a_file_that_cannot_be_read_fails() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let missing = Path::new("/nonexistent/test.yml");
    let code = test_files(
        &[PathBuf::from(missing)],
        &Options::default(),
        &mut out,
        &mut err,
    );
    assert_eq!(code, FAILED);
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.starts_with("  FAILED:\n/nonexistent/test.yml: "),
        "{err}"
    );
}
