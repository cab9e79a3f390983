#![allow(clippy::approx_constant)] // Values as Go's tests and annotations write them.
//! Rule templates run through [`expand`](crate::template::expand), with the expected output or
//! error of each taken from Go's text/template running Prometheus's function map on the same
//! data (`Go:` notes mark the few expectations adjusted for newer Go than the one that
//! produced them, whose messages changed).

use super::*;
use crate::template::{TemplateData, expand};

const NAME: &str = "__alert_Test";

fn data(value: f64) -> TemplateData {
    TemplateData {
        labels: [
            ("instance", "host-1.example.com:9100"),
            ("job", "node"),
            ("severity", "page"),
            ("__name__", "up"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        external_labels: [("cluster".to_string(), "eu1".to_string())].into(),
        external_url: "http://prom.example.com:9090/prefix".to_string(),
        value,
    }
}

fn engine() -> FixedQuery {
    FixedQuery::new(vec![
        sample(
            &[("__name__", "up"), ("instance", "b:9100"), ("job", "node")],
            1.0,
        ),
        sample(
            &[("__name__", "up"), ("instance", "a:9100"), ("job", "node")],
            0.5,
        ),
    ])
}

type Case = (&'static str, f64, Result<&'static str, &'static str>);

fn run_cases(cases: &[Case]) {
    let q = engine();
    let mut failures = Vec::new();
    for (text, value, want) in cases {
        let got = expand(NAME, text, &data(*value), T_MS, Some(&q));
        let want = want.map(str::to_string).map_err(str::to_string);
        if got != want {
            failures.push(format!(
                "{text:?} (value {value}):\n  got  {got:?}\n  want {want:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn rule_templates_match_go() {
    run_cases(CASES);
}

const CASES: &[Case] = &[
    ("{{ $value }}", 0.0, Ok("0")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        0.0,
        Ok("0|0|0s|0%"),
    ),
    ("{{ $value }}", 1.0, Ok("1")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1.0,
        Ok("1|1|1s|100%"),
    ),
    ("{{ $value }}", -1.0, Ok("-1")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        -1.0,
        Ok("-1|-1|-1s|-100%"),
    ),
    ("{{ $value }}", 0.5, Ok("0.5")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        0.5,
        Ok("500m|0.5|500ms|50%"),
    ),
    ("{{ $value }}", 1000000.0, Ok("1e+06")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1000000.0,
        Ok("1M|976.6ki|11d 13h 46m 40s|1e+08%"),
    ),
    ("{{ $value }}", 123456.0, Ok("123456")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        123456.0,
        Ok("123.5k|120.6ki|1d 10h 17m 36s|1.235e+07%"),
    ),
    ("{{ $value }}", 1234567.0, Ok("1.234567e+06")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1234567.0,
        Ok("1.235M|1.177Mi|14d 6h 56m 7s|1.235e+08%"),
    ),
    ("{{ $value }}", 1e+20, Ok("1e+20")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1e+20,
        Ok("100E|86.74Ei|-106751991167300d -15h -30m -8s|1e+22%"),
    ),
    ("{{ $value }}", 1e+21, Ok("1e+21")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1e+21,
        Ok("1Z|867.4Ei|-106751991167300d -15h -30m -8s|1e+23%"),
    ),
    ("{{ $value }}", 1e-05, Ok("1e-05")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1e-05,
        Ok("10u|1e-05|10us|0.001%"),
    ),
    ("{{ $value }}", 0.0001, Ok("0.0001")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        0.0001,
        Ok("100u|0.0001|100us|0.01%"),
    ),
    ("{{ $value }}", 3.14159, Ok("3.14159")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        3.14159,
        Ok("3.142|3.142|3.142s|314.2%"),
    ),
    ("{{ $value }}", f64::NAN, Ok("NaN")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        f64::NAN,
        Ok("NaN|NaN|NaN|NaN%"),
    ),
    ("{{ $value }}", f64::INFINITY, Ok("+Inf")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        f64::INFINITY,
        Ok("+Inf|+Inf|+Inf|+Inf%"),
    ),
    ("{{ $value }}", f64::NEG_INFINITY, Ok("-Inf")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        f64::NEG_INFINITY,
        Ok("-Inf|-Inf|-Inf|-Inf%"),
    ),
    ("{{ $value }}", 1e+100, Ok("1e+100")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1e+100,
        Ok("1e+76Y|8.272e+75Yi|-106751991167300d -15h -30m -8s|1e+102%"),
    ),
    ("{{ $value }}", 100.0, Ok("100")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        100.0,
        Ok("100|100|1m 40s|1e+04%"),
    ),
    ("{{ $value }}", 99.99999999, Ok("99.99999999")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        99.99999999,
        Ok("100|100|1m 39s|1e+04%"),
    ),
    (
        "{{ $value }}",
        0.30000000000000004,
        Ok("0.30000000000000004"),
    ),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        0.30000000000000004,
        Ok("300m|0.3|300ms|30%"),
    ),
    ("{{ $value }}", -0.0, Ok("-0")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        -0.0,
        Ok("-0|-0|-0s|-0%"),
    ),
    ("{{ $value }}", 5e-324, Ok("5e-324")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        5e-324,
        Ok("4.941e-300y|4.941e-324|4.941e-300ys|4.941e-322%"),
    ),
    (
        "{{ $value }}",
        1.7976931348623157e+308,
        Ok("1.7976931348623157e+308"),
    ),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1.7976931348623157e+308,
        Ok("1.798e+284Y|1.487e+284Yi|-106751991167300d -15h -30m -8s|+Inf%"),
    ),
    ("{{ $value }}", 2.5, Ok("2.5")),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        2.5,
        Ok("2.5|2.5|2.5s|250%"),
    ),
    (
        "{{ $value }}",
        1000000000000000.2,
        Ok("1.0000000000000002e+15"),
    ),
    (
        "{{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
        1000000000000000.2,
        Ok("1P|909.5Ti|11574074074d 1h 46m 40s|1e+17%"),
    ),
    (
        "{{ humanizeTimestamp $value }}",
        0.0,
        Ok("1970-01-01 00:00:00 +0000 UTC"),
    ),
    (
        "{{ humanizeTimestamp $value }}",
        1435065584.128,
        Ok("2015-06-23 13:19:44.128 +0000 UTC"),
    ),
    (
        "{{ humanizeTimestamp $value }}",
        -1.0,
        Ok("1969-12-31 23:59:59 +0000 UTC"),
    ),
    (
        "{{ humanizeTimestamp $value }}",
        10000000000.0,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanizeTimestamp $value>: error calling humanizeTimestamp: 1e+10 cannot be represented as a nanoseconds timestamp since it overflows int64",
        ),
    ),
    (
        "{{ humanizeTimestamp $value }}",
        0.001,
        Ok("1970-01-01 00:00:00.001 +0000 UTC"),
    ),
    (
        "{{ humanize $value }}|{{ humanizeDuration $value }}",
        1e-10,
        Ok("100p|100ps"),
    ),
    (
        "{{ humanize $value }}|{{ humanizeDuration $value }}",
        0.000123,
        Ok("123u|123us"),
    ),
    (
        "{{ humanize $value }}|{{ humanizeDuration $value }}",
        5e-07,
        Ok("500n|500ns"),
    ),
    (
        "{{ humanize $value }}|{{ humanizeDuration $value }}",
        59.999,
        Ok("60|60s"),
    ),
    (
        "{{ humanize $value }}|{{ humanizeDuration $value }}",
        3599.5,
        Ok("3.599k|59m 59s"),
    ),
    (
        "{{ humanize $value }}|{{ humanizeDuration $value }}",
        86399.9,
        Ok("86.4k|23h 59m 59s"),
    ),
    (
        "{{ humanize $value }}|{{ humanizeDuration $value }}",
        1000000000.0,
        Ok("1G|11574d 1h 46m 40s"),
    ),
    (
        "{{ $labels.instance }} of job {{ $labels.job }} is down",
        0.75,
        Ok("host-1.example.com:9100 of job node is down"),
    ),
    (
        "{{ .Labels.missing }}|{{ $labels.missing }}|",
        0.75,
        Ok("||"),
    ),
    (
        "{{ $externalLabels.cluster }} {{ $externalURL }} {{ .ExternalURL }}",
        0.75,
        Ok("eu1 http://prom.example.com:9090/prefix http://prom.example.com:9090/prefix"),
    ),
    (
        "{{ $labels }}",
        0.75,
        Ok("map[__name__:up instance:host-1.example.com:9100 job:node severity:page]"),
    ),
    ("{{ $externalLabels }}", 0.75, Ok("map[cluster:eu1]")),
    (
        "{{ . }}",
        0.75,
        Ok(
            "{map[__name__:up instance:host-1.example.com:9100 job:node severity:page] map[cluster:eu1] http://prom.example.com:9090/prefix 0.75}",
        ),
    ),
    (
        "{{ $ }}",
        0.75,
        Ok(
            "{map[__name__:up instance:host-1.example.com:9100 job:node severity:page] map[cluster:eu1] http://prom.example.com:9090/prefix 0.75}",
        ),
    ),
    ("{{ $.Labels.job }}", 0.75, Ok("node")),
    ("{{ printf \"%.2f\" $value }}", 1234.5678, Ok("1234.57")),
    ("{{ printf \"%.2f\" $value }}", -0.000123, Ok("-0.00")),
    (
        "{{ printf \"%d\" $value }}",
        1234.5678,
        Ok("%!d(float64=1234.5678)"),
    ),
    (
        "{{ printf \"%d\" $value }}",
        -0.000123,
        Ok("%!d(float64=-0.000123)"),
    ),
    ("{{ printf \"%5.1f%%\" $value }}", 1234.5678, Ok("1234.6%")),
    ("{{ printf \"%5.1f%%\" $value }}", -0.000123, Ok(" -0.0%")),
    (
        "{{ printf \"%s\" $value }}",
        1234.5678,
        Ok("%!s(float64=1234.5678)"),
    ),
    (
        "{{ printf \"%s\" $value }}",
        -0.000123,
        Ok("%!s(float64=-0.000123)"),
    ),
    ("{{ printf \"%v\" $value }}", 1234.5678, Ok("1234.5678")),
    ("{{ printf \"%v\" $value }}", -0.000123, Ok("-0.000123")),
    ("{{ printf \"%g\" $value }}", 1234.5678, Ok("1234.5678")),
    ("{{ printf \"%g\" $value }}", -0.000123, Ok("-0.000123")),
    ("{{ printf \"%e\" $value }}", 1234.5678, Ok("1.234568e+03")),
    ("{{ printf \"%e\" $value }}", -0.000123, Ok("-1.230000e-04")),
    ("{{ printf \"%E\" $value }}", 1234.5678, Ok("1.234568E+03")),
    ("{{ printf \"%E\" $value }}", -0.000123, Ok("-1.230000E-04")),
    ("{{ printf \"%08.3f\" $value }}", 1234.5678, Ok("1234.568")),
    ("{{ printf \"%08.3f\" $value }}", -0.000123, Ok("-000.000")),
    (
        "{{ printf \"%-8.2f|\" $value }}",
        1234.5678,
        Ok("1234.57 |"),
    ),
    (
        "{{ printf \"%-8.2f|\" $value }}",
        -0.000123,
        Ok("-0.00   |"),
    ),
    ("{{ printf \"%+.1f\" $value }}", 1234.5678, Ok("+1234.6")),
    ("{{ printf \"%+.1f\" $value }}", -0.000123, Ok("-0.0")),
    ("{{ printf \"% .2f\" $value }}", 1234.5678, Ok(" 1234.57")),
    ("{{ printf \"% .2f\" $value }}", -0.000123, Ok("-0.00")),
    (
        "{{ printf \"%x\" $value }}",
        1234.5678,
        Ok("0x1.34a456d5cfaadp+10"),
    ),
    (
        "{{ printf \"%x\" $value }}",
        -0.000123,
        Ok("-0x1.01f31f46ed246p-13"),
    ),
    (
        "{{ printf \"%X\" $value }}",
        1234.5678,
        Ok("0X1.34A456D5CFAADP+10"),
    ),
    (
        "{{ printf \"%X\" $value }}",
        -0.000123,
        Ok("-0X1.01F31F46ED246P-13"),
    ),
    ("{{ printf \"%6.2v\" $value }}", 1234.5678, Ok("1.2e+03")),
    ("{{ printf \"%6.2v\" $value }}", -0.000123, Ok("-0.00012")),
    ("{{ printf \"%.0f\" $value }}", 1234.5678, Ok("1235")),
    ("{{ printf \"%.0f\" $value }}", -0.000123, Ok("-0")),
    (
        "{{ printf \"%10.4g|\" $value }}",
        1234.5678,
        Ok("      1235|"),
    ),
    (
        "{{ printf \"%10.4g|\" $value }}",
        -0.000123,
        Ok(" -0.000123|"),
    ),
    ("{{ printf \"%G\" $value }}", 1234.5678, Ok("1234.5678")),
    ("{{ printf \"%G\" $value }}", -0.000123, Ok("-0.000123")),
    ("{{ printf \"%T\" $value }}", 1234.5678, Ok("float64")),
    ("{{ printf \"%T\" $value }}", -0.000123, Ok("float64")),
    (
        "{{ printf \"%q\" $value }}",
        1234.5678,
        Ok("%!q(float64=1234.5678)"),
    ),
    (
        "{{ printf \"%q\" $value }}",
        -0.000123,
        Ok("%!q(float64=-0.000123)"),
    ),
    (
        "{{ printf \"%t\" $value }}",
        1234.5678,
        Ok("%!t(float64=1234.5678)"),
    ),
    (
        "{{ printf \"%t\" $value }}",
        -0.000123,
        Ok("%!t(float64=-0.000123)"),
    ),
    (
        "{{ printf \"%c\" $value }}",
        1234.5678,
        Ok("%!c(float64=1234.5678)"),
    ),
    (
        "{{ printf \"%c\" $value }}",
        -0.000123,
        Ok("%!c(float64=-0.000123)"),
    ),
    ("{{ printf \"%#v\" $value }}", 1234.5678, Ok("1234.5678")),
    ("{{ printf \"%#v\" $value }}", -0.000123, Ok("-0.000123")),
    ("{{ printf \"%+v\" $value }}", 1234.5678, Ok("1234.5678")),
    ("{{ printf \"%+v\" $value }}", -0.000123, Ok("-0.000123")),
    (
        "{{ printf \"%b\" $value }}",
        1234.5678,
        Ok("5429686605511341p-42"),
    ),
    (
        "{{ printf \"%b\" $value }}",
        -0.000123,
        Ok("-4537899042132550p-65"),
    ),
    ("{{ printf \"%.3e\" $value }}", 1234.5678, Ok("1.235e+03")),
    ("{{ printf \"%.3e\" $value }}", -0.000123, Ok("-1.230e-04")),
    ("{{ printf \"%F\" $value }}", 1234.5678, Ok("1234.567800")),
    ("{{ printf \"%F\" $value }}", -0.000123, Ok("-0.000123")),
    ("{{ printf \"%#g\" $value }}", 1234.5678, Ok("1234.5678")),
    ("{{ printf \"%#g\" $value }}", -0.000123, Ok("-0.000123000")),
    ("{{ printf \"%#.3g\" $value }}", 1234.5678, Ok("1.23e+03")),
    ("{{ printf \"%#.3g\" $value }}", -0.000123, Ok("-0.000123")),
    (
        "{{ printf \"%#x\" $value }}",
        1234.5678,
        Ok("0x1.34a456d5cfaadp+10"),
    ),
    (
        "{{ printf \"%#x\" $value }}",
        -0.000123,
        Ok("-0x1.01f31f46ed246p-13"),
    ),
    (
        "{{ printf \"%+q\" $value }}",
        1234.5678,
        Ok("%!q(float64=+1234.5678)"),
    ),
    (
        "{{ printf \"%+q\" $value }}",
        -0.000123,
        Ok("%!q(float64=-0.000123)"),
    ),
    (
        "{{ printf \"%#q\" $value }}",
        1234.5678,
        Ok("%!q(float64=1234.5678)"),
    ),
    (
        "{{ printf \"%#q\" $value }}",
        -0.000123,
        Ok("%!q(float64=-0.000123000)"),
    ),
    ("{{ printf \"%q\" $labels.job }}", 0.75, Ok("\"node\"")),
    ("{{ printf \"%t\" true }}", 0.75, Ok("true")),
    ("{{ printf \"%T\" $labels }}", 0.75, Ok("map[string]string")),
    (
        "{{ printf \"%10s|%-10s|\" \"ab\" \"cd\" }}",
        0.75,
        Ok("        ab|cd        |"),
    ),
    ("{{ printf \"%.3s\" \"abcdef\" }}", 0.75, Ok("abc")),
    ("{{ printf \"%05d\" 42 }}", 0.75, Ok("00042")),
    ("{{ printf \"%x\" 255 }}", 0.75, Ok("ff")),
    ("{{ printf \"%X\" \"hi\" }}", 0.75, Ok("6869")),
    ("{{ printf \"%o\" 8 }}", 0.75, Ok("10")),
    ("{{ printf \"%b\" 5 }}", 0.75, Ok("101")),
    ("{{ printf \"%c\" 65 }}", 0.75, Ok("A")),
    ("{{ printf \"%U\" 128512 }}", 0.75, Ok("U+1F600")),
    ("{{ printf \"%#U\" 65 }}", 0.75, Ok("U+0041 'A'")),
    ("{{ printf \"%#x\" 255 }}", 0.75, Ok("0xff")),
    ("{{ printf \"%#o\" 8 }}", 0.75, Ok("010")),
    ("{{ printf \"%+d\" 5 }}", 0.75, Ok("+5")),
    ("{{ printf \"%d %d\" 1 }}", 0.75, Ok("1 %!d(MISSING)")),
    ("{{ printf \"%d\" 1 2 }}", 0.75, Ok("1%!(EXTRA int=2)")),
    ("{{ printf \"%!\" 1 }}", 0.75, Ok("%!!(int=1)")),
    (
        "{{ printf \"%\" 1 }}",
        0.75,
        Ok("%!(NOVERB)%!(EXTRA int=1)"),
    ),
    ("{{ printf \"%[2]d %[1]d\" 1 2 }}", 0.75, Ok("2 1")),
    ("{{ printf \"%*d\" 5 42 }}", 0.75, Ok("   42")),
    ("{{ printf \"%-*d|\" 5 42 }}", 0.75, Ok("42   |")),
    ("{{ printf \"%.*f\" 2 3.14159 }}", 0.75, Ok("3.14")),
    ("{{ printf \"%[3]d\" 1 }}", 0.75, Ok("%!d(BADINDEX)")),
    (
        "{{ printf \"%v\" $labels }}",
        0.75,
        Ok("map[__name__:up instance:host-1.example.com:9100 job:node severity:page]"),
    ),
    (
        "{{ printf \"%+v\" . }}",
        0.75,
        Ok(
            "{Labels:map[__name__:up instance:host-1.example.com:9100 job:node severity:page] ExternalLabels:map[cluster:eu1] ExternalURL:http://prom.example.com:9090/prefix Value:0.75}",
        ),
    ),
    (
        "{{ printf \"%#v\" $labels }}",
        0.75,
        Ok(
            "map[string]string{\"__name__\":\"up\", \"instance\":\"host-1.example.com:9100\", \"job\":\"node\", \"severity\":\"page\"}",
        ),
    ),
    (
        "{{ printf \"%s\" $labels }}",
        0.75,
        Ok("map[__name__:up instance:host-1.example.com:9100 job:node severity:page]"),
    ),
    (
        "{{ printf \"%d\" $labels }}",
        0.75,
        Ok(
            "map[%!d(string=__name__):%!d(string=up) %!d(string=instance):%!d(string=host-1.example.com:9100) %!d(string=job):%!d(string=node) %!d(string=severity):%!d(string=page)]",
        ),
    ),
    ("{{ printf \"%s\" nil }}", 0.75, Ok("%!s(<nil>)")),
    ("{{ printf \"%d\" nil }}", 0.75, Ok("%!d(<nil>)")),
    ("{{ printf \"%v\" nil }}", 0.75, Ok("<nil>")),
    ("{{ printf \"%x\" \"héllo\" }}", 0.75, Ok("68c3a96c6c6f")),
    ("{{ printf \"% x\" \"abc\" }}", 0.75, Ok("61 62 63")),
    ("{{ printf \"%# x\" \"abc\" }}", 0.75, Ok("0x61 0x62 0x63")),
    (
        "{{ printf \"%q\" \"tab\\there\" }}",
        0.75,
        Ok("\"tab\\there\""),
    ),
    ("{{ printf \"%q\" \"é\\u0001\" }}", 0.75, Ok("\"é\\x01\"")),
    ("{{ printf \"%+q\" \"é\" }}", 0.75, Ok("\"\\u00e9\"")),
    (
        "{{ printf \"%#q\" \"back`tick\" }}",
        0.75,
        Ok("\"back`tick\""),
    ),
    ("{{ printf \"%q\" 65 }}", 0.75, Ok("'A'")),
    ("{{ printf \"%08.3d\" -42 }}", 0.75, Ok("    -042")),
    ("{{ printf \"%-05d|\" 42 }}", 0.75, Ok("42   |")),
    ("{{ printf \"%+.2e\" 0.0 }}", 0.75, Ok("+0.00e+00")),
    ("{{ printf \"%.2f\" 1 }}", 0.75, Ok("%!f(int=01)")),
    ("{{ printf \"%d\" 1.5 }}", 0.75, Ok("%!d(float64=1.5)")),
    ("{{ printf \"%s\" 1 }}", 0.75, Ok("%!s(int=1)")),
    ("{{ printf \"%s\" true }}", 0.75, Ok("%!s(bool=true)")),
    ("{{ printf \"%v %v\" true false }}", 0.75, Ok("true false")),
    ("{{ printf \"%5t|\" true }}", 0.75, Ok(" true|")),
    ("{{ printf \"%.1f\" 0.05 }}", 0.75, Ok("0.1")),
    ("{{ printf \"%.1f\" 0.15 }}", 0.75, Ok("0.1")),
    ("{{ printf \"%.1f\" 0.25 }}", 0.75, Ok("0.2")),
    ("{{ printf \"%.0f\" 0.5 }}", 0.75, Ok("0")),
    ("{{ printf \"%.0f\" 1.5 }}", 0.75, Ok("2")),
    ("{{ printf \"%.0f\" 2.5 }}", 0.75, Ok("2")),
    ("{{ printf \"%.2f\" 1.005 }}", 0.75, Ok("1.00")),
    ("{{ printf \"%.3g\" 0.0001234 }}", 0.75, Ok("0.000123")),
    ("{{ printf \"%.3g\" 1234567.0 }}", 0.75, Ok("1.23e+06")),
    ("{{ printf \"%g\" 100000.0 }}", 0.75, Ok("100000")),
    ("{{ printf \"%g\" 1000000.0 }}", 0.75, Ok("1e+06")),
    ("{{ printf \"%g\" 0.00001 }}", 0.75, Ok("1e-05")),
    (
        "{{ printf \"%v\" (query \"up\" | first) }}",
        0.75,
        Ok("&{map[__name__:up instance:b:9100 job:node] 1}"),
    ),
    (
        "{{ printf \"%v\" (toTime 0) }}",
        0.75,
        Ok("1970-01-01 00:00:00 +0000 UTC"),
    ),
    ("{{ printf \"%s\" (toDuration 90) }}", 0.75, Ok("1m30s")),
    (
        "{{ printf \"%v\" (args 1 \"a\") }}",
        0.75,
        Ok("map[arg0:1 arg1:a]"),
    ),
    ("{{ printf \"%x\" -255 }}", 0.75, Ok("-ff")),
    ("{{ printf \"%08.2f\" -3.14159 }}", 0.75, Ok("-0003.14")),
    ("{{ printf \"%+08.2f\" 3.14159 }}", 0.75, Ok("+0003.14")),
    ("{{ printf \"%-8.2f|\" 3.14159 }}", 0.75, Ok("3.14    |")),
    ("{{ printf \"%8.2e|\" 314.159 }}", 0.75, Ok("3.14e+02|")),
    ("{{ printf \"%.2s\" \"héllo\" }}", 0.75, Ok("hé")),
    ("{{ printf \"%5.2s|\" \"héllo\" }}", 0.75, Ok("   hé|")),
    ("{{ printf \"%-5c|\" 97 }}", 0.75, Ok("a    |")),
    ("{{ printf \"%3c|\" 233 }}", 0.75, Ok("  é|")),
    ("{{ printf \"%d\" \"x\" }}", 0.75, Ok("%!d(string=x)")),
    ("{{ printf \"%z\" 1 }}", 0.75, Ok("%!z(int=1)")),
    ("{{ printf \"%!z\" 1 }}", 0.75, Ok("%!!(int=1)z")),
    ("{{ printf \"%.2q\" \"abc\" }}", 0.75, Ok("\"ab\"")),
    ("{{ printf \"%10q|\" \"a\" }}", 0.75, Ok("       \"a\"|")),
    ("{{ printf \"%x\" 3.5 }}", 0.75, Ok("0x1.cp+01")),
    ("{{ printf \"%X\" -3.5 }}", 0.75, Ok("-0X1.CP+01")),
    ("{{ printf \"%.3x\" 3.5 }}", 0.75, Ok("0x1.c00p+01")),
    ("{{ printf \"%b\" 1.0 }}", 0.75, Ok("4503599627370496p-52")),
    ("{{ printf \"%v\" 1i }}", 0.75, Ok("(0+1i)")),
    ("{{ printf \"%.2f\" (1+2i) }}", 0.75, Ok("(1.00+2.00i)")),
    ("{{ printf \"%d\" true }}", 0.75, Ok("%!d(bool=true)")),
    (
        "{{ printf \"%s %s\" (safeHtml \"<b>\") \"x\" }}",
        0.75,
        Ok("<b> x"),
    ),
    ("{{ print 1 2 \"a\" \"b\" 3 }}", 0.75, Ok("1 2ab3")),
    ("{{ println 1 \"a\" }}", 0.75, Ok("1 a\n")),
    ("{{ print nil }}", 0.75, Ok("<nil>")),
    ("{{ print $value $value }}", 0.75, Ok("0.75 0.75")),
    ("{{ print \"a\" 1 \"b\" }}", 0.75, Ok("a1b")),
    ("{{ print $labels.job 1 2 }}", 0.75, Ok("node1 2")),
    (
        "{{ print (query \"up\" | first) }}",
        0.75,
        Ok("&{map[__name__:up instance:b:9100 job:node] 1}"),
    ),
    (
        "{{ print (toTime 0) }}",
        0.75,
        Ok("1970-01-01 00:00:00 +0000 UTC"),
    ),
    ("{{ print (safeHtml \"x\") 1 }}", 0.75, Ok("x1")),
    ("{{ print }}", 0.75, Ok("")),
    ("{{ println }}", 0.75, Ok("\n")),
    ("{{ print 1.0 2.5 }}", 0.75, Ok("1 2.5")),
    ("{{ print true false }}", 0.75, Ok("true false")),
    ("{{ print (args) }}", 0.75, Ok("map[]")),
    (
        "{{ html \"<a href='x'>&</a>\" }}",
        0.75,
        Ok("&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"),
    ),
    (
        "{{ js \"it's <ok> = \\\"x\\\"\\n\" }}",
        0.75,
        Ok("it\\'s \\u003Cok\\u003E \\u003D \\\"x\\\"\\u000A"),
    ),
    (
        "{{ urlquery \"a b&c=d/é\" }}",
        0.75,
        Ok("a+b%26c%3Dd%2F%C3%A9"),
    ),
    ("{{ html 1 2 }}", 0.75, Ok("1 2")),
    ("{{ \"a b\" | urlquery }}", 0.75, Ok("a+b")),
    ("{{ js \"é\\u2028\" }}", 0.75, Ok("é\\u2028")),
    ("{{ html nil }}", 0.75, Ok("&lt;no value&gt;")),
    (
        "{{ urlquery $labels.instance }}",
        0.75,
        Ok("host-1.example.com%3A9100"),
    ),
    (
        "{{ html (query \"up\" | first) }}",
        0.75,
        Ok("{map[__name__:up instance:b:9100 job:node] 1}"),
    ),
    ("{{ html .Labels.missing }}", 0.75, Ok("")),
    (
        "{{ if gt $value 0.5 }}hi{{ else }}lo{{ end }}",
        0.75,
        Ok("hi"),
    ),
    (
        "{{ gt $value 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <gt $value 1>: error calling gt: incompatible types for comparison: float64 and int",
        ),
    ), // Go: newer Go names the types.
    ("{{ eq $labels.job \"node\" }}", 0.75, Ok("true")),
    ("{{ eq 1 1 2 }}", 0.75, Ok("true")),
    ("{{ eq 1 3 2 }}", 0.75, Ok("false")),
    ("{{ ne 1 2 }}", 0.75, Ok("true")),
    ("{{ lt \"a\" \"b\" }}", 0.75, Ok("true")),
    ("{{ le 1.5 1.5 }}", 0.75, Ok("true")),
    ("{{ ge 2 1 }}", 0.75, Ok("true")),
    ("{{ eq true true }}", 0.75, Ok("true")),
    (
        "{{ lt true false }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <lt true false>: error calling lt: invalid type for comparison",
        ),
    ),
    (
        "{{ eq .Labels .Labels }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <eq .Labels .Labels>: error calling eq: non-comparable type map[__name__:up instance:host-1.example.com:9100 job:node severity:page]: map[string]string",
        ),
    ),
    ("{{ eq $labels.missing \"\" }}", 0.75, Ok("true")),
    ("{{ eq nil nil }}", 0.75, Ok("true")),
    (
        "{{ eq 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <eq 1>: error calling eq: missing argument for comparison",
        ),
    ),
    (
        "{{ eq \"a\" 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <eq \"a\" 1>: error calling eq: incompatible types for comparison: string and int",
        ),
    ), // Go: newer Go names the types.
    (
        "{{ lt 1 2.0 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <lt 1 2.0>: error calling lt: incompatible types for comparison: int and float64",
        ),
    ), // Go: newer Go names the types.
    (
        "{{ lt nil 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <lt nil 1>: error calling lt: invalid type for comparison",
        ),
    ),
    (
        "{{ eq (query \"up\" | first) (query \"up\" | first) }}",
        0.75,
        Ok("false"),
    ),
    ("{{ eq (safeHtml \"a\") \"a\" }}", 0.75, Ok("true")),
    ("{{ lt $value 1.0 }}", 0.75, Ok("true")),
    ("{{ ge $value 0.75 }}", 0.75, Ok("true")),
    ("{{ ne $labels.job \"x\" }}", 0.75, Ok("true")),
    ("{{ eq (toDuration 1) (toDuration 1) }}", 0.75, Ok("false")),
    ("{{ lt 1 (len \"ab\") }}", 0.75, Ok("true")),
    ("{{ eq (index \"a\" 0) 97 }}", 0.75, Ok("true")),
    (
        "{{ eq .Labels 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <eq .Labels 1>: error calling eq: incompatible types for comparison: map[string]string and int",
        ),
    ), // Go: newer Go names the types.
    ("{{ lt \"b\" \"a\" }}", 0.75, Ok("false")),
    ("{{ gt 2 1 }}", 0.75, Ok("true")),
    ("{{ le 3 2 }}", 0.75, Ok("false")),
    ("{{ eq 1.5 1.5 }}", 0.75, Ok("true")),
    ("{{ ne nil 1 }}", 0.75, Ok("true")),
    ("{{ and 1 0 }}", 0.75, Ok("0")),
    ("{{ or 0 \"\" \"x\" }}", 0.75, Ok("x")),
    ("{{ not $value }}", 0.75, Ok("false")),
    (
        "{{ and $labels.job $labels.instance }}",
        0.75,
        Ok("host-1.example.com:9100"),
    ),
    ("{{ or $labels.missing \"default\" }}", 0.75, Ok("default")),
    (
        "{{ and }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <and>: wrong number of args for and: want at least 1 got 0",
        ),
    ),
    ("{{ or 0 }}", 0.75, Ok("0")),
    ("{{ not 0 }}", 0.75, Ok("true")),
    ("{{ not \"\" }}", 0.75, Ok("true")),
    ("{{ not $labels }}", 0.75, Ok("false")),
    (
        "{{ if and (gt $value 0.5) (eq $labels.job \"node\") }}both{{ end }}",
        0.75,
        Ok("both"),
    ),
    ("{{ or 0 1 (query \"bad(\") }}", 0.75, Ok("1")),
    ("{{ and 0 (query \"bad(\") }}", 0.75, Ok("0")),
    ("{{ 1 | and 2 }}", 0.75, Ok("1")),
    ("{{ 0 | or \"z\" }}", 0.75, Ok("z")),
    ("{{ not nil }}", 0.75, Ok("true")),
    ("{{ and 1 nil }}", 0.75, Ok("<no value>")),
    ("{{ len $labels }}", 0.75, Ok("4")),
    ("{{ index $labels \"job\" }}", 0.75, Ok("node")),
    ("{{ index $labels \"nope\" }}", 0.75, Ok("")),
    (
        "{{ index $labels 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index $labels 1>: error calling index: value has type int; should be string",
        ),
    ),
    ("{{ len \"héllo\" }}", 0.75, Ok("6")),
    ("{{ slice \"abcdef\" 1 3 }}", 0.75, Ok("bc")),
    ("{{ index \"abc\" 1 }}", 0.75, Ok("98")),
    (
        "{{ slice \"abc\" 2 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <slice \"abc\" 2 1>: error calling slice: invalid slice index: 2 > 1",
        ),
    ),
    (
        "{{ len 3 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <len 3>: error calling len: len of type int",
        ),
    ),
    (
        "{{ (index (query \"up\") 1).Labels.instance }}",
        0.75,
        Ok("a:9100"),
    ),
    ("{{ len (query \"up\") }}", 0.75, Ok("2")),
    ("{{ slice (query \"up\") 1 | len }}", 0.75, Ok("1")),
    (
        "{{ index nil 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index nil 1>: error calling index: index of untyped nil",
        ),
    ),
    (
        "{{ len nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <len nil>: error calling len: reflect: call of reflect.Value.Type on zero Value",
        ),
    ),
    (
        "{{ index (query \"up\") 5 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index (query \"up\") 5>: error calling index: index out of range: 5",
        ),
    ),
    (
        "{{ index (query \"up\") 2 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index (query \"up\") 2>: error calling index: reflect: slice index out of range",
        ),
    ),
    (
        "{{ index (query \"up\") -1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index (query \"up\") -1>: error calling index: index out of range: -1",
        ),
    ),
    (
        "{{ index (query \"up\") \"a\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index (query \"up\") \"a\">: error calling index: cannot index slice/array with type string",
        ),
    ),
    ("{{ slice \"abc\" }}", 0.75, Ok("abc")),
    ("{{ slice \"abc\" 1 }}", 0.75, Ok("bc")),
    (
        "{{ slice \"abc\" 0 1 2 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <slice \"abc\" 0 1 2>: error calling slice: cannot 3-index slice a string",
        ),
    ),
    (
        "{{ slice \"abc\" 4 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <slice \"abc\" 4>: error calling slice: index out of range: 4",
        ),
    ),
    (
        "{{ slice $labels 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <slice $labels 1>: error calling slice: can't slice item of type map[string]string",
        ),
    ),
    (
        "{{ index $value 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index $value 1>: error calling index: can't index item of type float64",
        ),
    ),
    ("{{ index (args 1 2) \"arg1\" }}", 0.75, Ok("2")),
    ("{{ index (args 1 2) \"arg9\" }}", 0.75, Ok("<no value>")),
    ("{{ len (args 1 2) }}", 0.75, Ok("2")),
    (
        "{{ index $labels nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index $labels nil>: error calling index: value is nil; should be of type string",
        ),
    ),
    (
        "{{ index (query \"up\") nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index (query \"up\") nil>: error calling index: cannot index slice/array with nil",
        ),
    ),
    (
        "{{ slice (query \"up\") 0 1 2 3 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <slice (query \"up\") 0 1 2 3>: error calling slice: too many slice indexes: 4",
        ),
    ),
    ("{{ index \"héllo\" 1 }}", 0.75, Ok("195")),
    ("{{ index $labels \"job\" 0 }}", 0.75, Ok("110")),
    ("{{ len .Labels.missing }}", 0.75, Ok("0")),
    (
        "{{ index }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index>: wrong number of args for index: want at least 1 got 0",
        ),
    ),
    (
        "{{ len (index (args nil) \"arg0\") }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <len (index (args nil) \"arg0\")>: error calling len: reflect: call of reflect.Value.Type on zero Value",
        ),
    ),
    (
        "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
        0.75,
        Ok("2"),
    ),
    (
        "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ end }}{{ $x }}",
        0.75,
        Ok("1"),
    ),
    ("{{ with $labels.job }}{{ . }}{{ end }}", 0.75, Ok("node")),
    (
        "{{ with $labels.missing }}x{{ else }}none{{ end }}",
        0.75,
        Ok("none"),
    ),
    (
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}",
        0.75,
        Ok("__name__=up,instance=host-1.example.com:9100,job=node,severity=page,"),
    ),
    (
        "{{ range $labels }}{{ . }};{{ end }}",
        0.75,
        Ok("up;host-1.example.com:9100;node;page;"),
    ),
    (
        "{{ range $i, $s := query \"up\" }}{{ $i }}:{{ $s.Labels.instance }} {{ end }}",
        0.75,
        Ok("0:b:9100 1:a:9100 "),
    ),
    (
        "{{ range query \"up\" }}{{ if eq .Labels.instance \"b:9100\" }}{{ continue }}{{ end }}{{ .Labels.instance }}{{ end }}",
        0.75,
        Ok("a:9100"),
    ),
    (
        "{{ range query \"up\" }}{{ .Labels.instance }}{{ break }}{{ end }}",
        0.75,
        Ok("b:9100"),
    ),
    (
        "{{ range $externalLabels }}{{ . }}{{ else }}empty{{ end }}",
        0.75,
        Ok("eu1"),
    ),
    (
        "{{ range .Labels.missing }}x{{ else }}none{{ end }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:128: executing \"__alert_Test\" at <.Labels.missing>: range can't iterate over ",
        ),
    ),
    (
        "{{ range $value }}x{{ end }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <$value>: range can't iterate over 0.75",
        ),
    ),
    (
        "{{ range \"abc\" }}x{{ end }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <\"abc\">: range can't iterate over abc",
        ),
    ),
    (
        "{{ $x := 0 }}{{ range $i, $e := query \"up\" }}{{ $x = $i }}{{ end }}{{ $x }}",
        0.75,
        Ok("1"),
    ),
    (
        "{{ range $e := query \"up\" }}{{ $e.Value }} {{ end }}",
        0.75,
        Ok("1 0.5 "),
    ),
    (
        "{{ $i := 5 }}{{ range $i, $e := query \"up\" }}{{ end }}{{ $i }}",
        0.75,
        Ok("5"),
    ),
    (
        "{{ with $x := $labels.job }}{{ $x }}{{ end }}",
        0.75,
        Ok("node"),
    ),
    ("{{ if $labels.job }}yes{{ end }}", 0.75, Ok("yes")),
    (
        "{{ if .Value }}nonzero{{ else }}zero{{ end }}",
        0.75,
        Ok("nonzero"),
    ),
    (
        "{{ if eq 1 2 }}a{{ else if eq 1 1 }}b{{ else }}c{{ end }}",
        0.75,
        Ok("b"),
    ),
    (
        "{{ if false }}a{{ else if false }}b{{ else }}c{{ end }}",
        0.75,
        Ok("c"),
    ),
    (
        "{{ with $labels.a }}a{{ else }}{{ with $labels.job }}{{ . }}{{ end }}{{ end }}",
        0.75,
        Ok("node"),
    ),
    (
        "{{ range $i, $e := $labels }}{{ if eq $i \"job\" }}{{ break }}{{ end }}{{ $i }} {{ end }}",
        0.75,
        Ok("__name__ instance "),
    ),
    (
        "{{ range query \"up\" }}{{ range $.Labels }}{{ . }} {{ end }}{{ end }}",
        0.75,
        Ok("up host-1.example.com:9100 node page up host-1.example.com:9100 node page "),
    ),
    (
        "{{ $x := query \"up\" }}{{ range $x }}{{ .Value }}{{ end }}|{{ len $x }}",
        0.75,
        Ok("10.5|2"),
    ),
    (
        "{{ range $k, $v := (args \"a\" \"b\") }}{{ $k }}={{ $v }} {{ end }}",
        0.75,
        Ok("arg0=a arg1=b "),
    ),
    (
        "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" $labels.job }}",
        0.75,
        Ok("[node]"),
    ),
    (
        "{{ template \"nope\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:124: executing \"__alert_Test\" at <{{template \"nope\"}}>: template \"nope\" not defined",
        ),
    ),
    (
        "{{ block \"b\" $value }}<{{ . }}>{{ end }}",
        0.75,
        Ok("<0.75>"),
    ),
    (
        "{{ define \"t\" }}{{ $ }}{{ end }}{{ template \"t\" }}",
        0.75,
        Ok("<no value>"),
    ),
    (
        "{{ define \"t\" }}{{ .arg0 }}-{{ .arg1 }}{{ end }}{{ template \"t\" args 1 2 }}",
        0.75,
        Ok("1-2"),
    ),
    (
        "{{ define \"t\" }}{{ $x }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: undefined variable \"$x\"",
        ),
    ),
    (
        "{{ define \"t\" }}{{ .Labels.job }}{{ end }}{{ template \"t\" . }}",
        0.75,
        Ok("node"),
    ),
    (
        "{{ define \"a\" }}{{ end }}{{ define \"a\" }}x{{ end }}{{ template \"a\" }}",
        0.75,
        Ok("x"),
    ),
    (
        "{{ define \"a\" }}y{{ end }}{{ define \"a\" }}x{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: template: multiple definition of template \"a\"",
        ),
    ),
    (
        "{{ define \"t\" }}{{ humanize . }}{{ end }}{{ template \"t\" \"x\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:131: executing \"t\" at <humanize .>: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax",
        ),
    ),
    ("a  {{- $labels.job -}}  b", 0.75, Ok("anodeb")),
    ("{{- /* comment */ -}} x", 0.75, Ok("x")),
    ("a {{/* c */}} b", 0.75, Ok("a  b")),
    ("x\n{{- 1 }}\ny", 0.75, Ok("x1\ny")),
    ("x {{- 1 -}}\n\n y", 0.75, Ok("x1y")),
    ("{{ 1 -}} \n", 0.75, Ok("1")),
    (
        "{{/* unclosed",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: unclosed comment"),
    ),
    (
        "{{/* a */ 1 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: comment ends before closing delimiter",
        ),
    ),
    ("{{- 3}}", 0.75, Ok("3")),
    ("{{-3}}", 0.75, Ok("-3")),
    ("{{ -3 }}", 0.75, Ok("-3")),
    ("{{ 3 -}}{{- 4 }}", 0.75, Ok("34")),
    ("{{ \"a\\tb\\u00e9\\x41\" }}", 0.75, Ok("a\tbéA")),
    ("{{ `raw\\n` }}", 0.75, Ok("raw\\n")),
    ("{{ 'a' }}", 0.75, Ok("97")),
    ("{{ '\\n' }}", 0.75, Ok("10")),
    (
        "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 1.5e3 }} {{ .5 }} {{ 017 }}",
        0.75,
        Ok("31 15 5 1000 1500 0.5 15"),
    ),
    ("{{ 1e100 }}", 0.75, Ok("1e+100")),
    ("{{ -0 }}", 0.75, Ok("0")),
    ("{{ 1i }}", 0.75, Ok("(0+1i)")),
    (
        "{{ 9223372036854775808 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <9223372036854775808>: 9223372036854775808 overflows int",
        ),
    ),
    (
        "{{ 99999999999999999999 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: integer overflow: \"99999999999999999999\"",
        ),
    ),
    ("{{ 0x1p-2 }}", 0.75, Ok("0.25")),
    (
        "{{ 1e400 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: illegal number syntax: \"1e400\"",
        ),
    ),
    (
        "{{ 1_ }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: illegal number syntax: \"1_\"",
        ),
    ),
    (
        "{{ 0x }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: illegal number syntax: \"0x\"",
        ),
    ),
    (
        "{{ \"\\q\" }}",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: invalid syntax"),
    ),
    ("{{ +5 }}", 0.75, Ok("5")),
    ("{{ 1+2i }}", 0.75, Ok("(1+2i)")),
    (
        "{{ 1.5.3 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected \".3\" in operand",
        ),
    ),
    (
        "{{ 08 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: integer overflow: \"08\"",
        ),
    ),
    ("{{ 1e+3 }}", 0.75, Ok("1000")),
    ("{{ true }} {{ false }}", 0.75, Ok("true false")),
    (
        "{{ nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <nil>: nil is not a command",
        ),
    ),
    ("{{ '\\x41' }}", 0.75, Ok("65")),
    (
        "{{ 'ab' }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: malformed character constant: 'ab'",
        ),
    ),
    (
        "{{ printf \"%T %T %T %T\" 1 1.0 \"a\" true }}",
        0.75,
        Ok("int float64 string bool"),
    ),
    ("{{ printf \"%T\" 0x10 }}", 0.75, Ok("int")),
    ("{{ printf \"%T\" 1e3 }}", 0.75, Ok("float64")),
    ("{{ printf \"%T\" 'a' }}", 0.75, Ok("int")),
    ("{{ printf \"%T\" 1i }}", 0.75, Ok("complex128")),
    (
        "{{ end }}",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: unexpected {{end}}"),
    ),
    (
        "{{ if 1 }}",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: unexpected EOF"),
    ),
    (
        "{{ else }}",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: unexpected {{else}}"),
    ),
    (
        "{{ foo }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: function \"foo\" not defined",
        ),
    ),
    (
        "{{ $x }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: undefined variable \"$x\"",
        ),
    ),
    (
        "{{ $labels.job | 1 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: non executable command in pipeline stage 2",
        ),
    ),
    (
        "{{ 1 2 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <1>: can't give argument to non-function 1",
        ),
    ),
    (
        "{{ range $a, $b, $c := . }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: too many declarations in range",
        ),
    ),
    (
        "{{ break }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: {{break}} outside {{range}}",
        ),
    ),
    (
        "{{ (1 }}",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: unclosed left paren"),
    ),
    (
        "{{ 1) }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected right paren",
        ),
    ), // Go: newer Go reports the paren this way.
    (
        "{{ \"abc }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unterminated quoted string",
        ),
    ),
    (
        "{{ .Foo+1 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: bad character U+002B '+'",
        ),
    ),
    (
        "{{ $x := }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: missing value for command",
        ),
    ),
    (
        "{{ | }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected \"|\" in command",
        ),
    ),
    (
        "{{ if }}{{ end }}",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: missing value for if"),
    ),
    (
        "{{ with $x := 1 }}{{ end }}{{ $x }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: undefined variable \"$x\"",
        ),
    ),
    ("{{ if\n true }}x{{ end }}", 0.75, Ok("x")),
    (
        "line1\n{{ foo }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:2: function \"foo\" not defined",
        ),
    ),
    (
        "{{ $x = 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:120: executing \"__alert_Test\" at <1>: undefined variable: $x",
        ),
    ),
    (
        "{{ range $x, := . }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: range can only initialize variables",
        ),
    ),
    (
        "{{ with $a, $b := 1 }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: too many declarations in with",
        ),
    ),
    (
        "{{ if 1 }}{{ else }}{{ else }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: expected end; found {{else}}",
        ),
    ),
    (
        "{{ define \"x\" }}{{ else }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected {{else}} in define clause",
        ),
    ),
    (
        "{{ template }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected \"}}\" in template clause",
        ),
    ),
    (
        "{{ template 1 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected \"1\" in template clause",
        ),
    ),
    (
        "{{ define x }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected \"x\" in define clause",
        ),
    ),
    (
        "{{ block \"b\" }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: missing value for block clause",
        ),
    ),
    ("{{ 1 | }}", 0.75, Ok("1")),
    ("{{ printf \"%d\" | }}", 0.75, Ok("%!d(MISSING)")),
    (
        "{{ .Labels.(x) }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected <.> in operand",
        ),
    ),
    (
        "{{ (1).x }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:116: executing \"__alert_Test\" at <1>: can't evaluate field x in type int",
        ),
    ),
    (
        "{{ $x.y := 1 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: undefined variable \"$x\"",
        ),
    ),
    (
        "{{ \"a\" \"b\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <\"a\">: can't give argument to non-function \"a\"",
        ),
    ),
    (
        "{{ 1.foo }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: bad number syntax: \"1.f\"",
        ),
    ),
    (
        "{{ if 1 }}\n\n{{ end",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:3: unclosed action"),
    ),
    (
        "{{ if 1 }}x",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: unexpected EOF"),
    ),
    (
        "{{ range . }}{{ else if 1 }}{{ end }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected <if> in input",
        ),
    ),
    (
        "{{ `abc }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unterminated raw quoted string",
        ),
    ),
    (
        "{{ 'a }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unterminated character constant",
        ),
    ),
    (
        "a\n\n{{ 1\n2 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:3:3: executing \"__alert_Test\" at <1>: can't give argument to non-function 1",
        ),
    ),
    (
        "{{ continue }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: {{continue}} outside {{range}}",
        ),
    ),
    (
        "{{ define \"x\" }}",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: unexpected EOF"),
    ),
    ("{{ $ := 1 }}", 0.75, Ok("")),
    ("{{ $x := 1 }}{{ $x := 2 }}{{ $x }}", 0.75, Ok("2")),
    (
        "{{ .Labels..job }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected <.> in operand",
        ),
    ),
    (
        "{{ 3 $ }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <3>: can't give argument to non-function 3",
        ),
    ),
    (
        "{{ ( ) }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: missing value for parenthesized pipeline",
        ),
    ),
    (
        "{{ $x, $y := 1 }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: too many declarations in command",
        ),
    ),
    (
        "{{ nil | print }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <nil>: nil is not a command",
        ),
    ),
    (
        "{{ print | nil }}",
        0.75,
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: non executable command in pipeline stage 2",
        ),
    ),
    (
        "{{ if 1 }}{{ end }}{{ end }}",
        0.75,
        Err("error parsing template __alert_Test: template: __alert_Test:1: unexpected {{end}}"),
    ),
    ("{{ with 1 }}{{ else with 2 }}{{ end }}", 0.75, Ok("")), // Go: else with is newer than the Go that produced these.
    ("{{ range 3 }}{{ . }}{{ end }}", 0.75, Ok("012")),       // Go: range over an integer is newer.
    (
        "{{ $labels.job.foo }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:122: executing \"__alert_Test\" at <$labels.job.foo>: can't evaluate field foo in type string",
        ),
    ),
    (
        "{{ .Value.X }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <.Value.X>: can't evaluate field X in type interface {}",
        ),
    ),
    (
        "{{ humanize true }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize true>: error calling humanize: can't convert bool to float",
        ),
    ),
    (
        "{{ humanize }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize>: wrong number of args for humanize: want 1 got 0",
        ),
    ),
    (
        "{{ query }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <query>: wrong number of args for query: want 1 got 0",
        ),
    ),
    (
        "{{ label 1 (query \"up\" | first) }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <1>: expected string; found 1",
        ),
    ),
    (
        "{{ label $value (query \"up\" | first) }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <$value>: wrong type for value; expected string; got float64",
        ),
    ),
    (
        "{{ first \"x\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <\"x\">: can't handle \"x\" for arg of type template.queryResult",
        ),
    ),
    (
        "{{ value nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <value nil>: error calling value: runtime error: invalid memory address or nil pointer dereference",
        ),
    ),
    (
        "{{ query \"bad(\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <query \"bad(\">: error calling query: 1:5: parse error: unclosed left parenthesis",
        ),
    ),
    (
        "{{ parseDuration \"abc\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <parseDuration \"abc\">: error calling parseDuration: not a valid duration string: \"abc\"",
        ),
    ),
    (
        "{{ parseDuration \"1x\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <parseDuration \"1x\">: error calling parseDuration: unknown unit \"x\" in duration \"1x\"",
        ),
    ),
    (
        "{{ parseDuration \"5m1h\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <parseDuration \"5m1h\">: error calling parseDuration: not a valid duration string: \"5m1h\"",
        ),
    ),
    (
        "{{ parseDuration \"\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <parseDuration \"\">: error calling parseDuration: empty duration string",
        ),
    ),
    (
        "{{ parseDuration \"-\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <parseDuration \"-\">: error calling parseDuration: empty duration string",
        ),
    ),
    ("{{ parseDuration \"1h30m\" }}", 0.75, Ok("5400")),
    ("{{ parseDuration \"-0\" }}", 0.75, Ok("0")),
    ("{{ parseDuration \"2w3d\" }}", 0.75, Ok("1.4688e+06")),
    ("{{ parseDuration \"1y\" }}", 0.75, Ok("3.1536e+07")),
    (
        "{{ parseDuration \"100000000y\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <parseDuration \"100000000y\">: error calling parseDuration: duration out of range",
        ),
    ),
    (
        "{{ toTime \"x\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <toTime \"x\">: error calling toTime: strconv.ParseFloat: parsing \"x\": invalid syntax",
        ),
    ),
    (
        "{{ (toTime 0).Foo }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:123: executing \"__alert_Test\" at <0>: can't evaluate field Foo in type *time.Time",
        ),
    ),
    (
        "{{ (toTime 0).Format 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:133: executing \"__alert_Test\" at <1>: expected string; found 1",
        ),
    ),
    (
        "{{ $value 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <$value>: can't give argument to non-function $value",
        ),
    ),
    (
        "{{ .Labels 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <.Labels>: Labels has arguments but cannot be invoked as function",
        ),
    ),
    (
        "{{ $labels.job 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:122: executing \"__alert_Test\" at <$labels.job>: job is not a method but has arguments",
        ),
    ),
    (
        "{{ printf }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <printf>: wrong number of args for printf: want at least 1 got 0",
        ),
    ),
    (
        "{{ printf 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:122: executing \"__alert_Test\" at <1>: expected string; found 1",
        ),
    ),
    (
        "{{ not 1 2 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <not>: wrong number of args for not: want 1 got 2",
        ),
    ),
    ("{{ 1 | printf \"%d\" }}", 0.75, Ok("1")),
    ("{{ \"x\" | len }}", 0.75, Ok("1")),
    ("{{ $value | printf \"%.1f\" }}", 0.75, Ok("0.8")),
    (
        "{{ .Nope }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <.Nope>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }",
        ),
    ),
    (
        "{{ $.Nope.x }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:116: executing \"__alert_Test\" at <$.Nope.x>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }",
        ),
    ),
    (
        "{{ humanize (query \"up\") }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize (query \"up\")>: error calling humanize: can't convert template.queryResult to float",
        ),
    ),
    (
        "{{ humanize (query \"up\" | first) }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize (query \"up\" | first)>: error calling humanize: can't convert *template.sample to float",
        ),
    ),
    (
        "{{ humanize nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize nil>: error calling humanize: can't convert <nil> to float",
        ),
    ),
    (
        "{{ humanize (safeHtml \"1\") }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize (safeHtml \"1\")>: error calling humanize: can't convert template.HTML to float",
        ),
    ),
    (
        "{{ humanize (index \"a\" 0) }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize (index \"a\" 0)>: error calling humanize: can't convert uint8 to float",
        ),
    ),
    (
        "{{ humanize (toDuration 5) }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize (toDuration 5)>: error calling humanize: can't convert *time.Duration to float",
        ),
    ),
    (
        "{{ humanizeDuration (toDuration 5) }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanizeDuration (toDuration 5)>: error calling humanizeDuration: can't convert *time.Duration to float",
        ),
    ),
    (
        "{{ toUpper (safeHtml \"x\") }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:133: executing \"__alert_Test\" at <\"x\">: wrong type for value; expected string; got template.HTML",
        ),
    ),
    (
        "{{ toUpper 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:123: executing \"__alert_Test\" at <1>: expected string; found 1",
        ),
    ),
    (
        "{{ toUpper nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:123: executing \"__alert_Test\" at <nil>: cannot assign nil to string",
        ),
    ),
    ("{{ toUpper $labels.missing }}", 0.75, Ok("")),
    (
        "{{ first nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <first nil>: error calling first: first() called on vector with no elements",
        ),
    ),
    (
        "{{ label \"x\" nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <label \"x\" nil>: error calling label: runtime error: invalid memory address or nil pointer dereference",
        ),
    ),
    ("{{ sortByLabel \"x\" nil }}", 0.75, Ok("[]")),
    (
        "{{ first (query \"up\") 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <first>: wrong number of args for first: want 1 got 2",
        ),
    ),
    (
        "{{ (query \"up\" | first).Labels.instance.x }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:129: executing \"__alert_Test\" at <first>: can't evaluate field x in type string",
        ),
    ),
    (
        "{{ (query \"up\" | first).Value.x }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:129: executing \"__alert_Test\" at <first>: can't evaluate field x in type interface {}",
        ),
    ),
    (
        "{{ (query \"up\" | first).labels }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:129: executing \"__alert_Test\" at <first>: can't evaluate field labels in type *template.sample",
        ),
    ),
    (
        "{{ (args 1).arg0.x }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <1>: can't evaluate field x in type interface {}",
        ),
    ),
    (
        "{{ (args nil).arg0.x }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <nil>: nil pointer evaluating interface {}.x",
        ),
    ),
    (
        "{{ (args 1).arg9.x }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <1>: nil pointer evaluating interface {}.x",
        ),
    ),
    (
        "{{ $x := (args nil).arg0 }}{{ $x.y }}",
        0.75,
        Ok("<no value>"),
    ),
    (
        "{{ humanize \"1e400\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize \"1e400\">: error calling humanize: strconv.ParseFloat: parsing \"1e400\": value out of range",
        ),
    ),
    (
        "{{ humanize \"0x10\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize \"0x10\">: error calling humanize: strconv.ParseFloat: parsing \"0x10\": invalid syntax",
        ),
    ),
    (
        "{{ humanize \" 1\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize \" 1\">: error calling humanize: strconv.ParseFloat: parsing \" 1\": invalid syntax",
        ),
    ),
    ("{{ humanize \"1_000\" }}", 0.75, Ok("1k")),
    ("{{ humanize \"inf\" }}", 0.75, Ok("+Inf")),
    ("{{ humanize \"-Infinity\" }}", 0.75, Ok("-Inf")),
    ("{{ humanize \"1e-400\" }}", 0.75, Ok("0")),
    ("{{ humanize \".5e1\" }}", 0.75, Ok("5")),
    ("{{ humanize \"1.\" }}", 0.75, Ok("1")),
    ("{{ humanize \"+1\" }}", 0.75, Ok("1")),
    (
        "{{ humanize \"e5\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize \"e5\">: error calling humanize: strconv.ParseFloat: parsing \"e5\": invalid syntax",
        ),
    ),
    ("{{ humanize \"0x1p-2\" }}", 0.75, Ok("250m")),
    ("{{ humanize \"1_0.5\" }}", 0.75, Ok("10.5")),
    (
        "{{ humanize \"\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanize \"\">: error calling humanize: strconv.ParseFloat: parsing \"\": invalid syntax",
        ),
    ),
    (
        "{{ (toTime 1).Add 1.5 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:130: executing \"__alert_Test\" at <1.5>: expected integer; found 1.5",
        ),
    ),
    (
        "{{ (toTime 1).Add \"x\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:130: executing \"__alert_Test\" at <\"x\">: expected integer; found \"x\"",
        ),
    ),
    (
        "{{ (toTime 1).Add $value }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:130: executing \"__alert_Test\" at <$value>: wrong type for value; expected time.Duration; got float64",
        ),
    ),
    (
        "{{ (toTime 1).Sub 1 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:130: executing \"__alert_Test\" at <1>: can't handle 1 for arg of type time.Time",
        ),
    ),
    (
        "{{ .Labels.job }}{{ .Foo }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:132: executing \"__alert_Test\" at <.Foo>: can't evaluate field Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }",
        ),
    ),
    (
        "{{ template \"t\" }}{{ define \"t\" }}{{ .X }}{{ end }}",
        0.75,
        Ok("<no value>"),
    ),
    (
        "{{ define \"t\" }}{{ humanize \"z\" }}{{ end }}{{ template \"t\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:131: executing \"t\" at <humanize \"z\">: error calling humanize: strconv.ParseFloat: parsing \"z\": invalid syntax",
        ),
    ),
    (
        "{{ range $labels }}{{ humanize . }}{{ end }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:134: executing \"__alert_Test\" at <humanize .>: error calling humanize: strconv.ParseFloat: parsing \"up\": invalid syntax",
        ),
    ),
    (
        "{{ with $x := 1 }}{{ $x.y }}{{ end }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:135: executing \"__alert_Test\" at <$x.y>: can't evaluate field y in type int",
        ),
    ),
    ("{{ 1 | print | humanize }}", 0.75, Ok("1")),
    ("{{ print 1 | humanize }}", 0.75, Ok("1")),
    (
        "{{ call $value }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <call $value>: error calling call: non-function $value of type float64",
        ),
    ), // Go: newer Go names the callee.
    (
        "{{ call nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <call nil>: error calling call: call of nil",
        ),
    ),
    ("{{ index 1 }}", 0.75, Ok("1")),
    (
        "{{ index \"abc\" 3 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index \"abc\" 3>: error calling index: reflect: string index out of range",
        ),
    ),
    (
        "{{ index \"abc\" 4 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <index \"abc\" 4>: error calling index: index out of range: 4",
        ),
    ),
    (
        "{{ slice \"abc\" 1 2 3 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <slice \"abc\" 1 2 3>: error calling slice: cannot 3-index slice a string",
        ),
    ),
    (
        "{{ printf \"%d\" (index (query \"up\") 0) }}",
        0.75,
        Ok(
            "&{map[%!d(string=__name__):%!d(string=up) %!d(string=instance):%!d(string=b:9100) %!d(string=job):%!d(string=node)] %!d(float64=1)}",
        ),
    ),
    (
        "{{ humanizePercentage \"x\" | printf \"%s\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <humanizePercentage \"x\">: error calling humanizePercentage: strconv.ParseFloat: parsing \"x\": invalid syntax",
        ),
    ),
    (
        "{{ toDuration \"x\" }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <toDuration \"x\">: error calling toDuration: strconv.ParseFloat: parsing \"x\": invalid syntax",
        ),
    ),
    (
        "{{ toTime 1e300 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <toTime 1e300>: error calling toTime: 1e+300 cannot be represented as a nanoseconds timestamp since it overflows int64",
        ),
    ),
    (
        "{{ toTime $labels.job }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <toTime $labels.job>: error calling toTime: strconv.ParseFloat: parsing \"node\": invalid syntax",
        ),
    ),
    (
        "{{ (1).Foo }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:116: executing \"__alert_Test\" at <1>: can't evaluate field Foo in type int",
        ),
    ),
    (
        "{{ (nil).Foo }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:116: executing \"__alert_Test\" at <nil>: nil is not a command",
        ),
    ),
    (
        "{{ $x := nil }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:121: executing \"__alert_Test\" at <nil>: nil is not a command",
        ),
    ),
    (
        "{{ (toTime 1435065584.128).Format \"2006-01-02T15:04:05.000Z07:00\" }}",
        0.75,
        Ok("2015-06-23T13:19:44.128Z"),
    ),
    (
        "{{ (toTime 1435065584.128).Format \"Jan _2 3:04:05.999 PM MST -0700 Monday January 06 __2 002 pm -07:00 -07 Z0700\" }}",
        0.75,
        Ok("Jun 23 1:19:44.128 PM UTC +0000 Tuesday June 15 174 174 pm +00:00 +00 Z"),
    ),
    ("{{ (toTime 0).Unix }}", 0.75, Ok("0")),
    (
        "{{ (toTime 1435065584.128).UnixMilli }}",
        0.75,
        Ok("1435065584128"),
    ),
    (
        "{{ (toTime 1435065584.128).Year }} {{ (toTime 1435065584.128).Month }} {{ (toTime 1435065584.128).Day }} {{ (toTime 1435065584.128).Weekday }} {{ (toTime 1435065584.128).YearDay }} {{ (toTime 1435065584.128).Hour }} {{ (toTime 1435065584.128).Minute }} {{ (toTime 1435065584.128).Second }} {{ (toTime 1435065584.128).Nanosecond }}",
        0.75,
        Ok("2015 June 23 Tuesday 174 13 19 44 128000000"),
    ),
    (
        "{{ (toTime 1435065584).Add 1000000000 }}",
        0.75,
        Ok("2015-06-23 13:19:45 +0000 UTC"),
    ),
    (
        "{{ ((toTime 100).Sub (toTime 40)).String }}",
        0.75,
        Ok("1m0s"),
    ),
    ("{{ (toDuration 1.5).Seconds }}", 0.75, Ok("1.5")),
    ("{{ (toDuration 90).Minutes }}", 0.75, Ok("1.5")),
    ("{{ (toDuration 5400).Hours }}", 0.75, Ok("1.5")),
    ("{{ toDuration 0.0015 }}", 0.75, Ok("1.5ms")),
    ("{{ toDuration 3725.5 }}", 0.75, Ok("1h2m5.5s")),
    ("{{ toDuration -1 }}", 0.75, Ok("-1s")),
    ("{{ toDuration 0.000000001 }}", 0.75, Ok("1ns")),
    ("{{ toDuration 0.0000015 }}", 0.75, Ok("1.5µs")),
    ("{{ toDuration 0 }}", 0.75, Ok("0s")),
    (
        "{{ (toTime 1435065584.128).Truncate 3600000000000 }}",
        0.75,
        Ok("2015-06-23 13:00:00 +0000 UTC"),
    ),
    (
        "{{ (toTime 1435065584.128).Round 60000000000 }}",
        0.75,
        Ok("2015-06-23 13:20:00 +0000 UTC"),
    ),
    ("{{ (toDuration 5.6).Round 1000000000 }}", 0.75, Ok("6s")),
    ("{{ (toDuration 5.6).Truncate 1000000000 }}", 0.75, Ok("5s")),
    (
        "{{ toTime $value }}",
        0.75,
        Ok("1970-01-01 00:00:00.75 +0000 UTC"),
    ),
    (
        "{{ (toTime 0).UTC }}",
        0.75,
        Ok("1970-01-01 00:00:00 +0000 UTC"),
    ),
    ("{{ (toTime 0).IsZero }}", 0.75, Ok("false")),
    ("{{ (toTime 1).After (toTime 0) }}", 0.75, Ok("true")),
    ("{{ (toTime 1).Before (toTime 0) }}", 0.75, Ok("false")),
    ("{{ (toTime 1).Equal (toTime 1) }}", 0.75, Ok("true")),
    ("{{ (toDuration 90).Milliseconds }}", 0.75, Ok("90000")),
    ("{{ (toDuration -90.5).Abs }}", 0.75, Ok("1m30.5s")),
    (
        "{{ (toTime 1435065584.128).AddDate 0 1 10 }}",
        0.75,
        Ok("2015-08-02 13:19:44.128 +0000 UTC"),
    ),
    (
        "{{ (toTime 1435065584.128).AddDate 1 -7 -40 }}",
        0.75,
        Ok("2015-10-14 13:19:44.128 +0000 UTC"),
    ),
    ("{{ ((toTime 1).Month).String }}", 0.75, Ok("January")),
    ("{{ printf \"%d\" (toTime 1).Month }}", 0.75, Ok("1")),
    (
        "{{ range (toTime 1).Month }}{{ . }} {{ end }}",
        0.75,
        Ok("%!Month(0) "),
    ), // Go: range over an integer is newer.
    (
        "{{ toTime -0.0005 }}",
        0.75,
        Ok("1970-01-01 00:00:00 +0000 UTC"),
    ),
    (
        "{{ toTime -1.5 }}",
        0.75,
        Ok("1969-12-31 23:59:58.5 +0000 UTC"),
    ),
    (
        "{{ (toTime -62135596800).IsZero }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:116: executing \"__alert_Test\" at <toTime -62135596800>: error calling toTime: -6.21355968e+10 cannot be represented as a nanoseconds timestamp since it overflows int64",
        ),
    ),
    (
        "{{ (toTime 1435065584.128).Format \"15:04:05,000 .999999 .9 .0 05.00\" }}",
        0.75,
        Ok("13:19:44,128 .128 .1 .1 44.12"),
    ),
    (
        "{{ (toTime 1e9).Format \"Mon, 02 Jan 2006 15:04:05 MST\" }}",
        0.75,
        Ok("Sun, 09 Sep 2001 01:46:40 UTC"),
    ),
    (
        "{{ toTime 253402300800 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <toTime 253402300800>: error calling toTime: 2.534023008e+11 cannot be represented as a nanoseconds timestamp since it overflows int64",
        ),
    ),
    (
        "{{ toTime -62135596801 }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <toTime -62135596801>: error calling toTime: -6.2135596801e+10 cannot be represented as a nanoseconds timestamp since it overflows int64",
        ),
    ),
    (
        "{{ (toTime 1435065584.128).Format \"2006.000\" }}",
        0.75,
        Ok("2015.128"),
    ),
    ("{{ (toDuration 1e-10) }}", 0.75, Ok("0s")),
    (
        "{{ toDuration 1e12 }}",
        0.75,
        Ok("-2562047h47m16.854775808s"),
    ),
    (
        "{{ toDuration 1e10 }}",
        0.75,
        Ok("-2562047h47m16.854775808s"),
    ),
    (
        "{{ humanizeDuration 1e20 }}",
        0.75,
        Ok("-106751991167300d -15h -30m -8s"),
    ),
    ("{{ (toTime 1).Compare (toTime 0) }}", 0.75, Ok("1")), // Go: Time.Compare is newer.
    (
        "{{ stripPort $labels.instance }}",
        0.75,
        Ok("host-1.example.com"),
    ),
    (
        "{{ stripDomain $labels.instance }}",
        0.75,
        Ok("host-1:9100"),
    ),
    (
        "{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}",
        0.75,
        Ok("host-1.example.com"),
    ),
    (
        "{{ reReplaceAll \"\\\\d+\" \"N\" \"a1b22\" }}",
        0.75,
        Ok("aNbN"),
    ),
    (
        "{{ reReplaceAll \"a\" \"$$\" \"banana\" }}",
        0.75,
        Ok("b$n$n$"),
    ),
    (
        "{{ reReplaceAll \"(?P<x>a)\" \"${x}!\" \"banana\" }}",
        0.75,
        Ok("ba!na!na!"),
    ),
    (
        "{{ reReplaceAll \"a(n)\" \"$1x\" \"banana\" }}",
        0.75,
        Ok("ba"),
    ),
    (
        "{{ reReplaceAll \"\\\\w\" \".\" \"aé_\" }}",
        0.75,
        Ok(".é."),
    ),
    ("{{ match \"^node$\" $labels.job }}", 0.75, Ok("true")),
    ("{{ match \"\\\\s\" \"\\u00a0\" }}", 0.75, Ok("false")),
    ("{{ safeHtml \"<b>\" }}", 0.75, Ok("<b>")),
    ("{{ safeHtml \"<b>\" | printf \"%s\" }}", 0.75, Ok("<b>")),
    (
        "{{ args 1 \"a\" nil }}",
        0.75,
        Ok("map[arg0:1 arg1:a arg2:<nil>]"),
    ),
    ("{{ (args 1).arg1 }}", 0.75, Ok("<no value>")),
    (
        "{{ sortByLabel \"instance\" (query \"up\") | first | label \"instance\" }}",
        0.75,
        Ok("a:9100"),
    ),
    (
        "{{ graphLink \"rate(x[5m]) > 0\" }}",
        0.75,
        Ok("/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+0&g0.tab=0"),
    ),
    ("{{ urlQueryEscape \"a b/é\" }}", 0.75, Ok("a+b%2F%C3%A9")),
    (
        "{{ externalURL }} {{ pathPrefix }}",
        0.75,
        Ok("http://prom.example.com:9090/prefix /prefix"),
    ),
    (
        "{{ with query \"up\" }}{{ . | len }}{{ end }}",
        0.75,
        Ok("2"),
    ),
    (
        "{{ now | humanizeTimestamp }}",
        0.75,
        Ok("2012-11-24 11:14:12 +0000 UTC"),
    ),
    ("{{ $value | humanizePercentage }}", 0.75, Ok("75%")),
    (
        "{{ query \"up\" | first }}",
        0.75,
        Ok("{map[__name__:up instance:b:9100 job:node] 1}"),
    ),
    ("{{ (query \"up\" | first).Value }}", 0.75, Ok("1")),
    ("{{ stripDomain \"foo.bar\" }}", 0.75, Ok("foo")),
    ("{{ stripDomain \"[::1]:80\" }}", 0.75, Ok("[::1]:80")),
    ("{{ stripDomain \"[foo.bar]:80\" }}", 0.75, Ok("foo:80")),
    ("{{ stripPort \":80\" }}", 0.75, Ok("")),
    ("{{ stripDomain \"::1\" }}", 0.75, Ok("::1")),
    ("{{ stripDomain \"foo.bar:\" }}", 0.75, Ok("foo")),
    ("{{ stripPort \"a:b:c\" }}", 0.75, Ok("a:b:c")),
    ("{{ stripPort \"[a]b:c\" }}", 0.75, Ok("[a]b:c")),
    ("{{ stripDomain \"[a.b]:c\" }}", 0.75, Ok("a:c")),
    ("{{ stripDomain \"1.2.3.4.5\" }}", 0.75, Ok("1")),
    ("{{ toUpper \"straße\" }}", 0.75, Ok("STRAßE")),
    ("{{ toLower \"ÀÉ\" }}", 0.75, Ok("àé")),
    (
        "{{ query \"up\" | sortByLabel \"instance\" | len }}",
        0.75,
        Ok("2"),
    ),
    (
        "{{ $r := query \"up\" }}{{ sortByLabel \"instance\" $r | first | label \"instance\" }}",
        0.75,
        Ok("a:9100"),
    ),
    ("{{ reReplaceAll \"\" \"-\" \"abc\" }}", 0.75, Ok("-a-b-c-")),
    ("{{ match \"\" \"\" }}", 0.75, Ok("true")),
    ("{{ humanize 1e27 }}", 0.75, Ok("1000Y")),
    ("{{ humanize -1e-27 }}", 0.75, Ok("-0.001y")),
    ("{{ humanize1024 -2048 }}", 0.75, Ok("-2ki")),
    ("{{ humanize1024 1e30 }}", 0.75, Ok("8.272e+05Yi")),
    ("{{ humanizePercentage 1e-7 }}", 0.75, Ok("1e-05%")),
    ("{{ humanizeDuration -0.5 }}", 0.75, Ok("-500ms")),
    ("{{ humanizeDuration 0.0000000001 }}", 0.75, Ok("100ps")),
    ("{{ humanizeDuration 1e-30 }}", 0.75, Ok("1e-06ys")),
    ("{{ strvalue (query \"up\" | first) }}", 0.75, Ok("")),
    (
        "{{ value (query \"up\" | first) | printf \"%T\" }}",
        0.75,
        Ok("float64"),
    ),
    (
        "{{ (query \"up\" | first).Value | printf \"%T\" }}",
        0.75,
        Ok("float64"),
    ),
    ("{{ printf \"%T\" $value }}", 0.75, Ok("float64")),
    ("{{ printf \"%T\" .Labels }}", 0.75, Ok("map[string]string")),
    (
        "{{ printf \"%T\" (query \"up\") }}",
        0.75,
        Ok("template.queryResult"),
    ),
    (
        "{{ printf \"%T\" (query \"up\" | first) }}",
        0.75,
        Ok("*template.sample"),
    ),
    ("{{ printf \"%T\" (toTime 1) }}", 0.75, Ok("*time.Time")),
    (
        "{{ printf \"%T\" (toDuration 1) }}",
        0.75,
        Ok("*time.Duration"),
    ),
    (
        "{{ printf \"%T\" (safeHtml \"\") }}",
        0.75,
        Ok("template.HTML"),
    ),
    (
        "{{ printf \"%T\" (args) }}",
        0.75,
        Ok("map[string]interface {}"),
    ),
    (
        "{{ printf \"%T\" . }}",
        0.75,
        Ok(
            "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }",
        ),
    ),
    ("{{ printf \"%T\" (index \"a\" 0) }}", 0.75, Ok("uint8")),
    (
        "{{ printf \"%T\" (toTime 1).Month }}",
        0.75,
        Ok("time.Month"),
    ),
    ("{{ printf \"%T\" nil }}", 0.75, Ok("<nil>")),
    (
        "{{ printf \"%T\" ((toTime 1).Add 1) }}",
        0.75,
        Ok("time.Time"),
    ),
    ("{{ printf \"%T\" (toTime 1).Unix }}", 0.75, Ok("int64")),
    ("{{ printf \"%T\" (len \"a\") }}", 0.75, Ok("int")),
    ("{{ printf \"%T\" (match \"a\" \"a\") }}", 0.75, Ok("bool")),
    ("{{ index (safeHtml \"<i>\") 1 }}", 0.75, Ok("105")),
    ("{{ slice (safeHtml \"<i>\") 1 }}", 0.75, Ok("i>")),
    (
        "{{ printf \"%T\" (slice (safeHtml \"<i>\") 1) }}",
        0.75,
        Ok("template.HTML"),
    ),
    (
        "{{ printf \"%.2f\" (toTime 1) }}",
        0.75,
        Ok("&{%!f(uint64=00) %!f(int64=62135596801) %!f(*time.Location=<nil>)}"),
    ),
    (
        "{{ printf \"%d\" (toTime 1.5) }}",
        0.75,
        Ok("&{500000000 62135596801 0}"),
    ),
    (
        "{{ printf \"%x\" ((toTime 1).Add 5) }}",
        0.75,
        Ok("313937302d30312d30312030303a30303a30312e303030303030303035202b3030303020555443"),
    ),
    (
        "{{ eq $labels (args 1 \"x\") }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <eq $labels (args 1 \"x\")>: error calling eq: non-comparable type map[arg0:%!s(int=1) arg1:x]: map[string]interface {}",
        ),
    ),
    (
        "{{ eq (args 1 \"x\") $labels }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <eq (args 1 \"x\") $labels>: error calling eq: non-comparable type map[__name__:up instance:host-1.example.com:9100 job:node severity:page]: map[string]string",
        ),
    ),
    (
        "{{ eq (query \"up\") (query \"up\") }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <eq (query \"up\") (query \"up\")>: error calling eq: non-comparable type [%!s(*template.sample=&{map[__name__:up instance:b:9100 job:node] 1}) %!s(*template.sample=&{map[__name__:up instance:a:9100 job:node] 0.5})]: template.queryResult",
        ),
    ),
    (
        "{{ eq . . }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:115: executing \"__alert_Test\" at <eq . .>: error calling eq: non-comparable type {map[__name__:up instance:host-1.example.com:9100 job:node severity:page] map[cluster:eu1] http://prom.example.com:9090/prefix %!s(float64=0.75)}: struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }",
        ),
    ),
    (
        "{{ eq (query \"up\" | first) (toTime 1) }}",
        0.75,
        Ok("false"),
    ),
    (
        "{{ html (query \"up\" | first) $ false }}",
        0.75,
        Ok(
            "{map[__name__:up instance:b:9100 job:node] 1} {map[__name__:up instance:host-1.example.com:9100 job:node severity:page] map[cluster:eu1] http://prom.example.com:9090/prefix 0.75} false",
        ),
    ),
    (
        "{{ range $i, $e := (query \"up\" | first) }}{{ end }}",
        0.75,
        Err(
            "error executing template __alert_Test: template: __alert_Test:1:145: executing \"__alert_Test\" at <first>: range can't iterate over {map[__name__:up instance:b:9100 job:node] 1}",
        ),
    ),
    (
        "{{ printf \"%s\" (query \"up\") }}",
        0.75,
        Ok(
            "[%!s(*template.sample=&{map[__name__:up instance:b:9100 job:node] 1}) %!s(*template.sample=&{map[__name__:up instance:a:9100 job:node] 0.5})]",
        ),
    ),
    (
        "{{ printf \"%q\" (query \"up\") }}",
        0.75,
        Ok(
            "[%!q(*template.sample=&{map[__name__:up instance:b:9100 job:node] 1}) %!q(*template.sample=&{map[__name__:up instance:a:9100 job:node] 0.5})]",
        ),
    ),
    (
        "{{ $s := query \"up\" | first }}{{ eq $s $s }}",
        0.75,
        Ok("true"),
    ),
];
