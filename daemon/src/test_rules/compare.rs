//! Expected against got, as promtool compares them: both sides sorted by labels, then equal
//! element by element; floats exactly (`NaN` never equals anything, as Go's `==`) or, with
//! `fuzzy_compare`, also one ulp apart.

use std::collections::BTreeMap;

use model::Labels;

use super::print;

/// An alert as compared: its labels and annotations, sorted by name (empty values kept, as
/// a Go label set built from a map keeps them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlertView {
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
}

impl AlertView {
    pub fn new(labels: &BTreeMap<String, String>, annotations: &BTreeMap<String, String>) -> Self {
        AlertView {
            labels: pairs(labels),
            annotations: pairs(annotations),
        }
    }

    pub fn from_labels(labels: &Labels, annotations: &BTreeMap<String, String>) -> Self {
        AlertView {
            labels: labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect(),
            annotations: pairs(annotations),
        }
    }

    fn describe(&self) -> String {
        let l = print::labels(self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let a = print::labels(
            self.annotations
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        format!("Labels:{l}\nAnnotations:{a}")
    }
}

fn pairs(m: &BTreeMap<String, String>) -> Vec<(String, String)> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Sorts both lists (labels first, then annotations) and compares them.
pub fn alerts_equal(exp: &mut [AlertView], got: &mut [AlertView]) -> bool {
    exp.sort();
    got.sort();
    exp == got
}

/// A list of alerts as promtool prints one: `[]`, or numbered entries with their labels and
/// annotations.
pub fn describe_alerts(alerts: &[AlertView]) -> String {
    if alerts.is_empty() {
        return "[]".into();
    }
    let mut s = String::from("[");
    for (i, a) in alerts.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "\n{i}:{}",
            print::indent_lines(&format!("\n{}", a.describe()), "  ")
        ));
    }
    s.push_str("\n]");
    s
}

/// A sample of a query result or of the expected ones.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleView {
    pub labels: Labels,
    pub value: f64,
}

impl SampleView {
    fn describe(&self) -> String {
        let l = print::labels(self.labels.iter().map(|l| (&*l.name, &*l.value)));
        format!("{l} {}", print::float_e(self.value))
    }
}

/// Sorts both lists by labels and compares them, floats as [`floats_equal`] does.
pub fn samples_equal(exp: &mut [SampleView], got: &mut [SampleView], fuzzy: bool) -> bool {
    exp.sort_by(|a, b| a.labels.cmp(&b.labels));
    got.sort_by(|a, b| a.labels.cmp(&b.labels));
    exp.len() == got.len()
        && exp
            .iter()
            .zip(got.iter())
            .all(|(e, g)| e.labels == g.labels && floats_equal(e.value, g.value, fuzzy))
}

/// Exactly equal (so `NaN` equals nothing); with `fuzzy`, also when one is the other's
/// neighbour, as promtool's `fuzzy_compare` allows.
pub fn floats_equal(x: f64, y: f64, fuzzy: bool) -> bool {
    x == y || (fuzzy && (x.next_down() == y || x.next_up() == y))
}

/// A list of samples as promtool prints one: `nil`, or `{labels} value` joined by `, `.
pub fn describe_samples(samples: &[SampleView]) -> String {
    if samples.is_empty() {
        return "nil".into();
    }
    samples
        .iter()
        .map(SampleView::describe)
        .collect::<Vec<_>>()
        .join(", ")
}
