//! The duplicate-rules lint of `promtool check rules`.

use std::collections::BTreeMap;

use super::RuleGroups;

/// A rule name and label set that more than one rule of a file has.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duplicate {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// Rules of one file, across all its groups, with the same name (alert or record) and the
/// same labels (the group's labels with the rule's own over them), as promtool's lint finds
/// them: expressions are not compared, since two rules writing the same series conflict
/// whatever they compute. Each repeated name and label set is listed once, sorted.
pub fn duplicate_rules(groups: &RuleGroups) -> Vec<Duplicate> {
    let mut all: Vec<Duplicate> = groups
        .groups
        .iter()
        .flat_map(|g| {
            g.rules.iter().map(|r| {
                let mut labels = g.labels.clone();
                labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
                Duplicate {
                    name: r.name().to_string(),
                    labels,
                }
            })
        })
        .collect();
    all.sort();
    let mut out: Vec<Duplicate> = Vec::new();
    for pair in all.windows(2) {
        if pair[0] == pair[1] && out.last() != Some(&pair[0]) {
            out.push(pair[0].clone());
        }
    }
    out
}
