//! Parsing rule templates as rule files are checked: `check_named` gives Prometheus's text,
//! `check` the same without a template name. Expected texts are Go's.

use crate::template::{TemplateData, check, check_named, expand};

const NAME: &str = "__alert_Test";

fn parse_error(text: &str) -> String {
    match check_named(NAME, text) {
        Ok(()) => panic!("{text:?} parsed"),
        Err(e) => e,
    }
}

#[test]
fn valid_templates_pass() {
    for text in [
        "",
        "plain",
        "{{ $labels.instance }} is down ({{ $value | humanize }})",
        "{{ with query \"up\" }}{{ . | first | value }}{{ end }}",
        "{{ define \"x\" }}{{ . }}{{ end }}{{ template \"x\" $externalURL }}",
        "{{/* a comment */}}{{- $externalLabels.cluster -}}",
        "{{ printf \"%d\" (\n1\n) }}",
    ] {
        assert_eq!(check_named(NAME, text), Ok(()), "{text:?}");
        assert_eq!(check(text), Ok(()), "{text:?}");
    }
}

#[test]
fn errors_say_what_and_where() {
    let cases = [
        (
            "{{ foo }}",
            "template: __alert_Test:1: function \"foo\" not defined",
        ),
        (
            "line\n{{ if }}",
            "template: __alert_Test:2: missing value for if",
        ),
        (
            "{{ print\n \"abc\n }}",
            "template: __alert_Test:2: unterminated quoted string in action started at __alert_Test:1",
        ),
        (
            "{{ print\n 1 2\n (3 }}",
            "template: __alert_Test:3: unclosed left paren in action started at __alert_Test:1",
        ),
        (
            "a\n{{ /* x */ }}",
            "template: __alert_Test:2: unexpected \"/\" in command",
        ),
        (
            "{{/*\n*/}}{{ foo }}",
            "template: __alert_Test:2: function \"foo\" not defined",
        ),
        (
            "x\n\n{{ end }}",
            "template: __alert_Test:3: unexpected {{end}}",
        ),
        (
            "{{ if 1 }}\n{{ else }}\n{{ else }}{{ end }}",
            "template: __alert_Test:3: expected end; found {{else}}",
        ),
        (
            "{{ define \"a\" }}\nb\n{{ end }}{{ define \"a\" }}c{{ end }}",
            "template: __alert_Test:3: template: multiple definition of template \"a\"",
        ),
        (
            "{{ 'ab' }}",
            "template: __alert_Test:1: malformed character constant: 'ab'",
        ),
        ("{{ \"\\z\" }}", "template: __alert_Test:1: invalid syntax"),
        (
            "{{ $x := 1 }}\n{{ template \"t\" }}\n{{ define \"t\" }}\n{{ $x }}{{ end }}",
            "template: __alert_Test:4: undefined variable \"$x\"",
        ),
        (
            "{{ range .Labels }}\n{{ break 1 }}{{ end }}",
            "template: __alert_Test:2: unexpected \"1\" in {{break}}",
        ),
        (
            "{{ (1\n }}",
            "template: __alert_Test:2: unclosed left paren in action started at __alert_Test:1",
        ),
        (
            "{{ $undefined }}",
            "template: __alert_Test:1: undefined variable \"$undefined\"",
        ),
        (
            "{{ .Labels.job | 1 }}",
            "template: __alert_Test:1: non executable command in pipeline stage 2",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_error(text), want, "{text:?}");
    }
    // Without a name, as Go reports a template named "".
    assert_eq!(
        check("{{ foo }}"),
        Err("template: :1: function \"foo\" not defined".into())
    );
}

#[test]
fn else_with_sees_the_outer_variables() {
    let out = expand(
        NAME,
        "{{ with $x := 1 }}{{ else with $y := 2 }}{{ $x }}{{ end }}|{{ with $x := 0 }}{{ else with $y := 2 }}{{ $x }}{{ $y }}{{ end }}",
        &TemplateData::default(),
        0,
        None,
    );
    assert_eq!(out, Ok("|02".to_string()));
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(parse_error(&parens).ends_with("max expression depth exceeded"));
    let ifs = format!(
        "{}x{}",
        "{{ if 1 }}".repeat(100_000),
        "{{ end }}".repeat(100_000)
    );
    assert!(parse_error(&ifs).ends_with("max expression depth exceeded"));
    // Nesting within the bound parses and runs.
    let ok = format!("{}x{}", "{{ if 1 }}".repeat(50), "{{ end }}".repeat(50));
    assert_eq!(
        expand(NAME, &ok, &TemplateData::default(), 0, None),
        Ok("x".into())
    );
}
