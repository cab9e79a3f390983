//! The head's label index: label name → value → roaring bitmap of series ids.
//!
//! Written only when a series is created or garbage-collected; read by every query. Values are
//! kept in a `BTreeMap` so label values come out sorted and regex scans visit them in order.

use std::collections::{BTreeMap, HashMap};

use model::{LabelStr, Labels};
use parking_lot::RwLock;
use roaring::RoaringBitmap;

use crate::error::Result;
use crate::postings::IndexLookup;

#[derive(Default)]
pub(crate) struct MemPostings {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    all: RoaringBitmap,
    by_name: HashMap<LabelStr, BTreeMap<LabelStr, RoaringBitmap>>,
}

impl MemPostings {
    pub(crate) fn add(&self, id: u32, labels: &Labels) {
        let mut w = self.inner.write();
        w.all.insert(id);
        for l in labels {
            let values = w.by_name.entry(l.name.clone()).or_default();
            match values.get_mut(&*l.value) {
                Some(p) => {
                    p.insert(id);
                }
                None => {
                    values.insert(l.value.clone(), singleton(id));
                }
            }
        }
    }

    /// Removes many series at once (garbage collection).
    pub(crate) fn remove(&self, removed: &[(u32, Labels)]) {
        if removed.is_empty() {
            return;
        }
        let mut w = self.inner.write();
        for (id, labels) in removed {
            w.all.remove(*id);
            for l in labels {
                let Some(values) = w.by_name.get_mut(&*l.name) else {
                    continue;
                };
                if let Some(p) = values.get_mut(&*l.value) {
                    p.remove(*id);
                    if p.is_empty() {
                        values.remove(&*l.value);
                    }
                }
                if values.is_empty() {
                    w.by_name.remove(&*l.name);
                }
            }
        }
    }

    pub(crate) fn label_names(&self) -> Vec<String> {
        let r = self.inner.read();
        let mut v: Vec<String> = r.by_name.keys().map(|k| k.to_string()).collect();
        v.sort();
        v
    }

    pub(crate) fn label_values(&self, name: &str) -> Vec<String> {
        let r = self.inner.read();
        r.by_name
            .get(name)
            .map(|vals| vals.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default()
    }

    /// Every `name=value` pair with its series count: the raw material of cardinality
    /// statistics.
    pub(crate) fn pair_counts(&self) -> Vec<(String, String, u64)> {
        let r = self.inner.read();
        let mut pairs = Vec::new();
        for (n, vals) in &r.by_name {
            for (v, p) in vals {
                pairs.push((n.to_string(), v.to_string(), p.len()));
            }
        }
        pairs
    }
}

/// A bitmap of one id, holding exactly one container. `insert` into an empty bitmap reserves
/// room for four (160 bytes where one takes 40), and most `name=value` pairs of a head never
/// span a second 65,536 ids: over the tens of thousands of pairs a large head has (a pod's
/// name or uid, an instance), that room was about 16 bytes per series. A clone holds exactly
/// what it has.
fn singleton(id: u32) -> RoaringBitmap {
    let mut b = RoaringBitmap::new();
    b.insert(id);
    b.clone()
}

impl IndexLookup for MemPostings {
    fn all_postings(&self) -> Result<RoaringBitmap> {
        Ok(self.inner.read().all.clone())
    }

    fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap> {
        let r = self.inner.read();
        Ok(r.by_name
            .get(name)
            .and_then(|vals| vals.get(value))
            .cloned()
            .unwrap_or_default())
    }

    fn postings_matching(
        &self,
        name: &str,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap> {
        let r = self.inner.read();
        let mut out = RoaringBitmap::new();
        if let Some(vals) = r.by_name.get(name) {
            for (v, p) in vals {
                if pred(v) {
                    out |= p;
                }
            }
        }
        Ok(out)
    }
}
