//! The text-template cases of Prometheus's template/template_test.go: same inputs, same
//! expected outputs and errors. (HTML-mode cases, `missingkey=error` and native histogram
//! values do not apply to rule templates and are left out.)

use super::*;

const NIL: Value = Value::Invalid;

fn check_ok(text: &str, dot: Value, want: &str) {
    assert_eq!(ok(text, dot), want, "{text}");
}

fn check_err(text: &str, dot: Value, want: &str) {
    assert_eq!(err(text, dot), want, "{text}");
}

#[test]
fn plain_values() {
    check_ok("plain text", NIL, "plain text");
    check_ok("{{ 1 }}", NIL, "1");
    // HTML escaping does not apply to text templates.
    check_ok("{{ \"<b>\" }}", NIL, "<b>");
}

#[test]
fn non_ascii_space_is_refused() {
    check_err(
        "{{\u{a0}}}",
        NIL,
        "error parsing template test: template: test:1: unrecognized character in action: U+00A0",
    );
}

#[test]
fn args_pass_several_values_to_a_template() {
    check_ok(
        "{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}",
        NIL,
        "1 2",
    );
}

#[test]
fn query_first_value_and_labels() {
    let metric_a = || vec![sample(&[("__name__", "metric"), ("instance", "a")], 11.0)];
    assert_eq!(
        run_query(
            "{{ query \"1.5\" | first | value }}",
            vec![sample(&[], 1.5)]
        )
        .unwrap(),
        "1.5"
    );
    assert_eq!(
        run_query(
            "{{ query \"metric{instance='a'}\" | first | value }}",
            metric_a()
        )
        .unwrap(),
        "11"
    );
    assert_eq!(
        run_query(
            "{{ query \"metric{instance='a'}\" | first | label \"instance\" }}",
            metric_a()
        )
        .unwrap(),
        "a"
    );
    assert_eq!(
        run_query(
            "{{ query \"metric{__value__='a'}\" | first | strvalue }}",
            vec![sample(&[("__name__", "metric"), ("__value__", "a")], 11.0)]
        )
        .unwrap(),
        "a"
    );
    // A missing label is empty, with or without the label function.
    assert_eq!(
        run_query(
            "{{ query \"metric{instance='a'}\" | first | label \"foo\" }}",
            metric_a()
        )
        .unwrap(),
        ""
    );
    assert_eq!(
        run_query(
            "{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}",
            metric_a()
        )
        .unwrap(),
        ""
    );
}

#[test]
fn range_over_query_sorted_by_label() {
    let samples = vec![
        sample(&[("__name__", "metric"), ("instance", "b")], 21.0),
        sample(&[("__name__", "metric"), ("instance", "a")], 11.0),
    ];
    assert_eq!(
        run_query(
            "{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}",
            samples
        )
        .unwrap(),
        "a:11: b:21: "
    );
}

#[test]
fn strip_port() {
    for (input, want) in [
        ("foo.example.com", "foo.example.com"),
        ("foo.example.com:12345", "foo.example.com"),
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1"),
        ("2001:0DB8::1", "2001:0DB8::1"),
        ("[2001:0DB8::1]:12345", "2001:0DB8::1"),
        ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
    ] {
        check_ok(&format!("{{{{ \"{input}\" | stripPort }}}}"), NIL, want);
    }
}

#[test]
fn strip_domain() {
    for (input, want) in [
        ("foo.example.com", "foo"),
        ("foo.example.com:12345", "foo:12345"),
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1"),
        ("[2001:0DB8::1]:12345", "[2001:0DB8::1]:12345"),
        ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
    ] {
        check_ok(&format!("{{{{ \"{input}\" | stripDomain }}}}"), NIL, want);
    }
}

#[test]
fn missing_value_prints_no_value() {
    check_ok("{{ .Foo }}", NIL, "<no value>");
}

#[test]
fn parse_and_execution_errors() {
    check_err(
        "{{",
        NIL,
        "error parsing template test: template: test:1: unclosed action",
    );
    assert_eq!(
        run_query("{{ query \"missing\" | first }}", vec![]).unwrap_err(),
        "error executing template test: template: test:1:21: executing \"test\" at <first>: error calling first: first() called on vector with no elements"
    );
    assert_eq!(
        run_query("{{ (query \"missing\").banana }}", vec![]).unwrap_err(),
        "error executing template test: template: test:1:10: executing \"test\" at <\"missing\">: can't evaluate field banana in type template.queryResult"
    );
}

#[test]
fn re_replace_all() {
    check_ok("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", NIL, "xa");
}

const RANGE_HUMANIZE: &str = "{{ range . }}{{ humanize . }}:{{ end }}";
const RANGE_HUMANIZE1024: &str = "{{ range . }}{{ humanize1024 . }}:{{ end }}";
const RANGE_DURATION: &str = "{{ range . }}{{ humanizeDuration . }}:{{ end }}";
const RANGE_PERCENT: &str = "{{ range . }}{{ humanizePercentage . }}:{{ end }}";
const RANGE_TIMESTAMP: &str = "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}";

#[test]
fn humanize() {
    check_ok(
        RANGE_HUMANIZE,
        floats(&[0.0, 1.0, 1234567.0, 0.12]),
        "0:1:1.235M:120m:",
    );
    check_ok(
        RANGE_HUMANIZE,
        strings(&["0.0", "1.0", "1234567.0", ".12"]),
        "0:1:1.235M:120m:",
    );
    check_err(
        "{{ humanize \"one\" }}",
        NIL,
        "error executing template test: template: test:1:3: executing \"test\" at <humanize \"one\">: error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax",
    );
    check_ok(
        RANGE_HUMANIZE,
        int64s(&[0, -1, 1, 1234567, i64::MAX]),
        "0:-1:1:1.235M:9.223E:",
    );
    check_ok(
        RANGE_HUMANIZE,
        uint64s(&[0, 1, 1234567, u64::MAX]),
        "0:1:1.235M:18.45E:",
    );
}

#[test]
fn humanize1024() {
    check_ok(
        RANGE_HUMANIZE1024,
        floats(&[0.0, 1.0, 1048576.0, 0.12]),
        "0:1:1Mi:0.12:",
    );
    check_ok(
        RANGE_HUMANIZE1024,
        strings(&["0.0", "1.0", "1048576.0", ".12"]),
        "0:1:1Mi:0.12:",
    );
    check_err(
        "{{ humanize1024 \"one\" }}",
        NIL,
        "error executing template test: template: test:1:3: executing \"test\" at <humanize1024 \"one\">: error calling humanize1024: strconv.ParseFloat: parsing \"one\": invalid syntax",
    );
    check_ok(
        RANGE_HUMANIZE1024,
        int64s(&[0, -1, 1, 1234567, i64::MAX]),
        "0:-1:1:1.177Mi:8Ei:",
    );
    check_ok(
        RANGE_HUMANIZE1024,
        uint64s(&[0, 1, 1234567, u64::MAX]),
        "0:1:1.177Mi:16Ei:",
    );
}

#[test]
fn humanize_duration() {
    check_ok(
        RANGE_DURATION,
        floats(&[
            0.0,
            1.0,
            60.0,
            3600.0,
            86400.0,
            86400.0 + 3600.0,
            -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
            899.99,
        ]),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:",
    );
    check_ok(
        RANGE_DURATION,
        strings(&["0", "1", "60", "3600", "86400"]),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:",
    );
    check_ok(
        RANGE_DURATION,
        floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345]),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:",
    );
    check_ok(
        RANGE_DURATION,
        strings(&[".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"]),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:",
    );
    check_err(
        "{{ humanizeDuration \"one\" }}",
        NIL,
        "error executing template test: template: test:1:3: executing \"test\" at <humanizeDuration \"one\">: error calling humanizeDuration: strconv.ParseFloat: parsing \"one\": invalid syntax",
    );
    check_ok(
        RANGE_DURATION,
        ints(&[0, -1, 1, 1234567]),
        "0s:-1s:1s:14d 6h 56m 7s:",
    );
    check_ok(
        RANGE_DURATION,
        uints(&[0, 1, 1234567]),
        "0s:1s:14d 6h 56m 7s:",
    );
}

#[test]
fn humanize_inf_and_nan() {
    let text = "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}";
    let want = "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:";
    check_ok(
        text,
        floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN]),
        want,
    );
    check_ok(text, strings(&["+Inf", "-Inf", "NaN"]), want);
}

#[test]
fn humanize_percentage() {
    check_ok(
        "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
        NIL,
        "-22.22%:0%:12.35%:123.5%",
    );
    check_ok(
        RANGE_PERCENT,
        int64s(&[0, -1, 1, 1234567, i64::MAX]),
        "0%:-100%:100%:1.235e+08%:9.223e+20%:",
    );
    check_ok(
        RANGE_PERCENT,
        uint64s(&[0, 1, 1234567, u64::MAX]),
        "0%:100%:1.235e+08%:1.845e+21%:",
    );
    check_ok(
        r#"{{ "-0.22222" | humanizePercentage }}:{{ "0.0" | humanizePercentage }}:{{ "0.1234567" | humanizePercentage }}:{{ "1.23456" | humanizePercentage }}"#,
        NIL,
        "-22.22%:0%:12.35%:123.5%",
    );
    check_err(
        r#"{{ "one" | humanizePercentage }}"#,
        NIL,
        "error executing template test: template: test:1:11: executing \"test\" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax",
    );
}

#[test]
fn humanize_timestamp() {
    check_ok(
        RANGE_TIMESTAMP,
        int64s(&[0, -1, 1, 1234567, 9223372036]),
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:",
    );
    check_ok(
        RANGE_TIMESTAMP,
        uint64s(&[0, 1, 1234567, 9223372036]),
        "1970-01-01 00:00:00 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:",
    );
    check_err(
        RANGE_TIMESTAMP,
        int64s(&[i64::MIN, i64::MAX]),
        "error executing template test: template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64",
    );
    check_err(
        RANGE_TIMESTAMP,
        uint64s(&[u64::MAX]),
        "error executing template test: template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error calling humanizeTimestamp: 1.8446744073709552e+19 cannot be represented as a nanoseconds timestamp since it overflows int64",
    );
    check_ok(
        "{{ 1435065584.128 | humanizeTimestamp }}",
        NIL,
        "2015-06-23 13:19:44.128 +0000 UTC",
    );
    check_ok(
        r#"{{ "1435065584.128" | humanizeTimestamp }}"#,
        NIL,
        "2015-06-23 13:19:44.128 +0000 UTC",
    );
}

#[test]
fn to_time_to_duration_now_parse_duration() {
    check_ok(
        r#"{{ (1435065584.128 | toTime).Format "2006" }}"#,
        NIL,
        "2015",
    );
    check_ok(
        r#"{{ ("1435065584.128" | toTime).Format "2006" }}"#,
        NIL,
        "2015",
    );
    check_ok(r#"{{ (1800 | toDuration).String }}"#, NIL, "30m0s");
    check_ok(r#"{{ ("1800" | toDuration).String }}"#, NIL, "30m0s");
    check_ok(r#"{{ now }}"#, NIL, "1.353755652e+09");
    check_ok(
        r#"{{ (now | toTime).Format "Mon Jan 2 15:04:05 2006" }}"#,
        NIL,
        "Sat Nov 24 11:14:12 2012",
    );
    check_ok(
        r#"{{ ("-30m" | parseDuration | toDuration | (now | toTime).Add).UnixMilli }}"#,
        NIL,
        "1353753852000",
    );
    check_ok(
        r#"{{ printf "%0.2f" (parseDuration "1h2m10ms") }}"#,
        NIL,
        "3720.01",
    );
    check_ok(
        r#"{{ printf "%0.2f" (parseDuration "-1h2m10ms") }}"#,
        NIL,
        "-3720.01",
    );
}

#[test]
fn float_to_time() {
    check_ok(
        "{{ 1657155181 | toTime }}",
        NIL,
        "2022-07-07 00:53:01 +0000 UTC",
    );
    check_err(
        "{{ 1.79769313486231570814527423731704356798070e+300 | toTime }}",
        NIL,
        "error executing template test: template: test:1:54: executing \"test\" at <toTime>: error calling toTime: 1.7976931348623156e+300 cannot be represented as a nanoseconds timestamp since it overflows int64",
    );
    check_err(
        "{{ -1.79769313486231570814527423731704356798070e+300 | toTime }}",
        NIL,
        "error executing template test: template: test:1:55: executing \"test\" at <toTime>: error calling toTime: -1.7976931348623156e+300 cannot be represented as a nanoseconds timestamp since it overflows int64",
    );
}

#[test]
fn string_functions_and_links() {
    check_ok("{{ \"aa bb CC\" | title }}", NIL, "Aa Bb CC");
    check_ok("{{ \"aa bb CC\" | toUpper }}", NIL, "AA BB CC");
    check_ok("{{ \"aA bB CC\" | toLower }}", NIL, "aa bb cc");
    check_ok(
        "{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}",
        NIL,
        "true false",
    );
    check_ok("{{ graphLink \"up\" }}", NIL, "/graph?g0.expr=up&g0.tab=0");
    check_ok("{{ tableLink \"up\" }}", NIL, "/graph?g0.expr=up&g0.tab=1");
    check_ok("{{ pathPrefix }}", NIL, "/path/prefix");
    check_ok("{{ externalURL }}", NIL, "http://testhost:9090/path/prefix");
}

#[test]
fn query_runs_the_expression_at_evaluation_time() {
    let q = FixedQuery::new(vec![sample(&[("job", "a")], 2.0)]);
    let data = crate::template::TemplateData::default();
    let out = crate::template::expand(
        "__alert_X",
        "{{ with query \"sum(up)\" }}{{ . | first | value }}{{ end }}",
        &data,
        T_MS,
        Some(&q),
    );
    assert_eq!(out, Ok("2".to_string()));
    assert_eq!(
        *q.asked.lock().unwrap(),
        vec![("sum(up)".to_string(), T_MS)]
    );
    // The engine's error is the function's error.
    let err = crate::template::expand("__alert_X", "{{ query \"bad(\" }}", &data, T_MS, Some(&q))
        .unwrap_err();
    assert!(
        err.ends_with(
            "at <query \"bad(\">: error calling query: 1:5: parse error: unclosed left parenthesis"
        ),
        "{err}"
    );
    // Without an engine, query fails and nothing else does.
    let err = crate::template::expand("__alert_X", "ok{{ query \"up\" }}", &data, T_MS, None)
        .unwrap_err();
    assert!(
        err.ends_with("error calling query: no query engine available"),
        "{err}"
    );
    assert_eq!(
        crate::template::expand("__alert_X", "{{ $value }}", &data, T_MS, None),
        Ok("0".to_string())
    );
}
