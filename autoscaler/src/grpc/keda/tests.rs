use std::collections::HashMap;

use super::Subject;

fn meta(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn metadata_names_an_autoscaler_or_a_query() {
    assert_eq!(
        Subject::from_metadata(&meta(&[("autoscaler", "checkout")])),
        Ok(Subject::Autoscaler("checkout".into()))
    );
    assert_eq!(
        Subject::from_metadata(&meta(&[
            ("query", "sum(rate(x[1m]))"),
            ("targetValue", "2.5"),
            ("activationThreshold", "0.5"),
        ])),
        Ok(Subject::Query {
            query: "sum(rate(x[1m]))".into(),
            target: 2.5,
            activation: 0.5,
            metric_name: "vane-query".into(),
        })
    );
}

#[test]
fn bad_metadata_says_which_key() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "needs `autoscaler`"),
        (&[("autoscaler", " ")], "autoscaler is empty"),
        (&[("query", "up")], "targetValue is required"),
        (
            &[("query", "up"), ("targetValue", "x")],
            "targetValue: \"x\"",
        ),
        (&[("query", "up"), ("targetValue", "0")], "greater than 0"),
        (
            &[
                ("query", "up"),
                ("targetValue", "1"),
                ("activationThreshold", "NaN"),
            ],
            "activationThreshold",
        ),
    ];
    for (m, want) in cases {
        let err = Subject::from_metadata(&meta(m)).unwrap_err();
        assert!(err.contains(want), "{m:?}: {err}");
    }
}
