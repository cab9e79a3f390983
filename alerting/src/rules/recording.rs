//! Recording rules: a query whose result is stored under a new metric name.

use std::collections::BTreeMap;

use model::Labels;
use parking_lot::Mutex;

use super::RuleStatus;
use crate::QueryEngine;

pub struct RecordingRule {
    pub name: String,
    pub expr: String,
    pub labels: BTreeMap<String, String>,
    pub(super) status: Mutex<RuleStatus>,
}

impl RecordingRule {
    pub fn new(name: String, expr: String, labels: BTreeMap<String, String>) -> Self {
        RecordingRule {
            name,
            expr,
            labels,
            status: Mutex::new(RuleStatus::default()),
        }
    }

    pub(super) fn definition_eq(&self, o: &RecordingRule) -> bool {
        self.name == o.name && self.expr == o.expr && self.labels == o.labels
    }

    /// Queries at `t` and returns the result renamed and relabelled (an empty label value
    /// removes the label). Two results with the same labels afterwards, or more than `limit`
    /// (when not 0), are errors.
    pub fn eval(
        &self,
        t: i64,
        query: &dyn QueryEngine,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let res = query.instant(&self.expr, t)?;
        let mut out = Vec::with_capacity(res.len());
        for s in res {
            let mut b = s.labels.to_builder();
            b.set("__name__", self.name.as_str());
            for (k, v) in &self.labels {
                b.set(k.as_str(), v.as_str());
            }
            out.push((b.build(), s.value));
        }
        let mut seen: Vec<&Labels> = out.iter().map(|(l, _)| l).collect();
        seen.sort();
        if seen.windows(2).any(|w| w[0] == w[1]) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels".into(),
            );
        }
        if limit > 0 && out.len() > limit {
            return Err(format!(
                "exceeded limit of {limit} with {} series",
                out.len()
            ));
        }
        Ok(out)
    }
}
