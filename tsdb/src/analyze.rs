//! Statistics for `vane tsdb analyze`: what the store holds and where its cardinality is.

use std::collections::HashMap;

use crate::block::Block;
use crate::error::Result;
use crate::postings::IndexLookup;

/// Cardinality of one index (a block's or the head's).
#[derive(Debug, Default, Clone)]
pub struct Cardinality {
    pub series: u64,
    /// Metric names with the most series.
    pub metrics_by_series: Vec<(String, u64)>,
    /// Label names with the most distinct values.
    pub labels_by_values: Vec<(String, u64)>,
    /// Label names that occur in the most series.
    pub labels_by_series: Vec<(String, u64)>,
    /// `name=value` pairs that occur in the most series.
    pub pairs_by_series: Vec<(String, u64)>,
    /// Label names whose distinct values take the most bytes.
    pub labels_by_value_bytes: Vec<(String, u64)>,
    /// Distinct `name=value` pairs.
    pub pairs: u64,
}

fn top(mut v: Vec<(String, u64)>, limit: usize) -> Vec<(String, u64)> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v
}

/// Builds a [`Cardinality`] from label names with their values' series counts.
fn summarize(series: u64, names: Vec<(String, Vec<(String, u64)>)>, limit: usize) -> Cardinality {
    let mut metrics = Vec::new();
    let mut by_values = Vec::new();
    let mut by_series = Vec::new();
    let mut pairs = Vec::new();
    let mut by_bytes = Vec::new();
    for (name, values) in names {
        by_values.push((name.clone(), values.len() as u64));
        by_bytes.push((name.clone(), values.iter().map(|v| v.0.len() as u64).sum()));
        by_series.push((name.clone(), values.iter().map(|v| v.1).sum()));
        for (v, n) in values {
            if name == model::METRIC_NAME {
                metrics.push((v.clone(), n));
            }
            pairs.push((format!("{name}={v}"), n));
        }
    }
    let pair_count = pairs.len() as u64;
    Cardinality {
        series,
        pairs: pair_count,
        labels_by_value_bytes: top(by_bytes, limit),
        metrics_by_series: top(metrics, limit),
        labels_by_values: top(by_values, limit),
        labels_by_series: top(by_series, limit),
        pairs_by_series: top(pairs, limit),
    }
}

/// Cardinality of a block's index.
pub fn block_cardinality(b: &Block, limit: usize) -> Result<Cardinality> {
    let ix = b.index();
    let mut names = Vec::new();
    for name in ix.label_names() {
        let mut values = Vec::new();
        for v in ix.label_values(&name) {
            let n = ix.postings(&name, &v)?.len();
            values.push((v, n));
        }
        names.push((name, values));
    }
    Ok(summarize(ix.num_series() as u64, names, limit))
}

/// Cardinality of the head.
pub fn head_cardinality(h: &crate::head::Head, limit: usize) -> Cardinality {
    let pairs = h.pair_counts();
    let mut names: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    for (n, v, c) in pairs {
        names.entry(n).or_default().push((v, c));
    }
    summarize(h.num_series(), names.into_iter().collect(), limit)
}
