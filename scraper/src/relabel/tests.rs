//! Relabeling cases from Prometheus's documented behaviour, each with the expected output.

use model::{Labels, labels};

use super::*;

fn steps(yaml: &str) -> Vec<RelabelConfig> {
    yaml_serde::from_str(yaml).unwrap()
}

fn run(input: Labels, yaml: &str) -> Option<Labels> {
    process_labels(&input, &steps(yaml))
}

#[test]
fn replace_with_groups_and_defaults() {
    let got = run(
        labels! {"a" => "foo", "b" => "bar", "c" => "baz"},
        "- source_labels: [a]\n  regex: f(.*)\n  target_label: d\n  replacement: ch${1}-ch${1}",
    );
    assert_eq!(
        got,
        Some(labels! {"a" => "foo", "b" => "bar", "c" => "baz", "d" => "choo-choo"})
    );
    // Several sources joined by the separator; the default regex and replacement copy.
    let got = run(
        labels! {"a" => "foo", "b" => "bar"},
        "- source_labels: [a, b]\n  separator: '-'\n  target_label: c",
    );
    assert_eq!(
        got,
        Some(labels! {"a" => "foo", "b" => "bar", "c" => "foo-bar"})
    );
    // No match: nothing changes.
    let got = run(
        labels! {"a" => "foo"},
        "- source_labels: [a]\n  regex: nomatch\n  target_label: b",
    );
    assert_eq!(got, Some(labels! {"a" => "foo"}));
    // The regex is anchored: "o" does not match "foo".
    let got = run(
        labels! {"a" => "foo"},
        "- source_labels: [a]\n  regex: o\n  target_label: b",
    );
    assert_eq!(got, Some(labels! {"a" => "foo"}));
    // An empty replacement deletes the target.
    let got = run(
        labels! {"a" => "foo", "b" => "bar"},
        "- source_labels: [a]\n  target_label: b\n  replacement: ''",
    );
    assert_eq!(got, Some(labels! {"a" => "foo"}));
    // A replacement template without the group: a literal.
    let got = run(
        labels! {"a" => "foo"},
        "- target_label: b\n  replacement: static",
    );
    assert_eq!(got, Some(labels! {"a" => "foo", "b" => "static"}));
    // A target label built from the match; an invalid result leaves the set alone.
    let got = run(
        labels! {"a" => "some-name-value"},
        "- source_labels: [a]\n  regex: some-([^-]+)-([^,]+)\n  target_label: ${1}\n  replacement: ${2}",
    );
    assert_eq!(
        got,
        Some(labels! {"a" => "some-name-value", "name" => "value"})
    );
    let got = run(
        labels! {"a" => "some-0-value"},
        "- source_labels: [a]\n  regex: some-([^-]+)-([^,]+)\n  target_label: ${1}\n  replacement: ${2}",
    );
    assert_eq!(got, Some(labels! {"a" => "some-0-value"}));
    // `$1x` names group "1x", which does not exist: empty, so the label is deleted.
    let got = run(
        labels! {"a" => "foo", "b" => "x"},
        "- source_labels: [a]\n  regex: (f)oo\n  target_label: b\n  replacement: $1x",
    );
    assert_eq!(got, Some(labels! {"a" => "foo"}));
}

#[test]
fn keep_and_drop() {
    let input = labels! {"a" => "foo", "b" => "bar"};
    assert_eq!(
        run(
            input.clone(),
            "- source_labels: [a]\n  regex: f.*\n  action: drop"
        ),
        None
    );
    assert_eq!(
        run(
            input.clone(),
            "- source_labels: [a]\n  regex: b.*\n  action: drop"
        ),
        Some(input.clone())
    );
    assert_eq!(
        run(
            input.clone(),
            "- source_labels: [a]\n  regex: f.*\n  action: keep"
        ),
        Some(input.clone())
    );
    assert_eq!(
        run(
            input.clone(),
            "- source_labels: [a]\n  regex: b.*\n  action: keep"
        ),
        None
    );
    // A missing source label is the empty string, which `.*` matches.
    assert_eq!(
        run(
            input.clone(),
            "- source_labels: [missing]\n  regex: '.*'\n  action: keep"
        ),
        Some(input.clone())
    );
    assert_eq!(
        run(
            input,
            "- source_labels: [missing]\n  regex: '.+'\n  action: keep"
        ),
        None
    );
}

#[test]
fn keepequal_and_dropequal() {
    let input = labels! {"a" => "foo", "b" => "foo", "c" => "bar"};
    let k = |src: &str, t: &str, act: &str| {
        run(
            input.clone(),
            &format!("- source_labels: [{src}]\n  target_label: {t}\n  action: {act}"),
        )
    };
    assert_eq!(k("a", "b", "keepequal"), Some(input.clone()));
    assert_eq!(k("a", "c", "keepequal"), None);
    assert_eq!(k("a", "b", "dropequal"), None);
    assert_eq!(k("a", "c", "dropequal"), Some(input.clone()));
}

#[test]
fn hashmod_matches_prometheus() {
    // md5("foo") = acbd18db4cc2f85cedef654fccc4a4d8; the low 8 bytes big-endian are
    // 0xedef654fccc4a4d8, and that modulo 1000 is 696.
    let got = run(
        labels! {"a" => "foo"},
        "- source_labels: [a]\n  target_label: h\n  modulus: 1000\n  action: hashmod",
    );
    assert_eq!(got, Some(labels! {"a" => "foo", "h" => "696"}));
}

#[test]
fn labelmap_labeldrop_labelkeep() {
    let input = labels! {"__meta_my_foo" => "x", "__meta_my_bar" => "y", "job" => "j"};
    let got = run(input.clone(), "- regex: __meta_my_(.+)\n  action: labelmap");
    assert_eq!(
        got,
        Some(
            labels! {"__meta_my_foo" => "x", "__meta_my_bar" => "y", "job" => "j", "foo" => "x", "bar" => "y"}
        )
    );
    let got = run(
        input.clone(),
        "- regex: __meta_my_(.+)\n  replacement: k8s_$1\n  action: labelmap",
    );
    assert_eq!(
        got,
        Some(
            labels! {"__meta_my_foo" => "x", "__meta_my_bar" => "y", "job" => "j", "k8s_foo" => "x", "k8s_bar" => "y"}
        )
    );
    let got = run(input.clone(), "- regex: __meta_.*\n  action: labeldrop");
    assert_eq!(got, Some(labels! {"job" => "j"}));
    let got = run(
        input.clone(),
        "- regex: __meta_my_foo|job\n  action: labelkeep",
    );
    assert_eq!(got, Some(labels! {"__meta_my_foo" => "x", "job" => "j"}));
    // Dropping every label drops the set.
    assert_eq!(run(input, "- regex: .*\n  action: labeldrop"), None);
}

#[test]
fn lowercase_uppercase() {
    let got = run(
        labels! {"a" => "AbC"},
        "- source_labels: [a]\n  target_label: l\n  action: lowercase\n- source_labels: [a]\n  target_label: u\n  action: uppercase",
    );
    assert_eq!(
        got,
        Some(labels! {"a" => "AbC", "l" => "abc", "u" => "ABC"})
    );
}

#[test]
fn steps_run_in_order() {
    let got = run(
        labels! {"__address__" => "h:9100", "__meta_env" => "prod"},
        "- source_labels: [__meta_env]\n  target_label: env\n- source_labels: [env]\n  regex: prod\n  action: keep\n- source_labels: [__address__]\n  regex: '([^:]+):.*'\n  target_label: host",
    );
    assert_eq!(
        got,
        Some(
            labels! {"__address__" => "h:9100", "__meta_env" => "prod", "env" => "prod", "host" => "h"}
        )
    );
}

#[test]
fn invalid_configs_are_refused() {
    let bad = [
        ("- action: hashmod\n  target_label: a", "non-zero modulus"),
        (
            "- action: replace\n  source_labels: [a]",
            "requires 'target_label'",
        ),
        (
            "- action: lowercase\n  source_labels: [a]\n  target_label: 'a-b'",
            "invalid 'target_label'",
        ),
        (
            "- action: labeldrop\n  regex: a\n  source_labels: [b]",
            "requires only 'regex'",
        ),
        (
            "- action: keepequal\n  source_labels: [a]\n  target_label: b\n  regex: x",
            "can not be set for keepequal",
        ),
        ("- action: explode", "unknown relabel action"),
        ("- regex: '(['", "invalid regex"),
        (
            "- source_labels: ['a-b']\n  target_label: c",
            "invalid label name",
        ),
        ("- labels: [a]", "unknown field"),
    ];
    for (yaml, want) in bad {
        let e = yaml_serde::from_str::<Vec<RelabelConfig>>(yaml)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{yaml:?}: {e}");
    }
}
