//! Postings: from label matchers to the set of series ids, over any label index.
//!
//! Both the head (in memory) and blocks (on disk) implement [`IndexLookup`]; the matcher
//! algebra lives here once. Series ids are `u32` within one index (head or block), and sets
//! are roaring bitmaps.
//!
//! Semantics are Prometheus's: a label that a series lacks has the value `""`, so a matcher
//! that matches the empty string (`foo=""`, `foo!="bar"`, `foo=~".*"`, `foo!~".+"`) also
//! selects series without the label. Such matchers are applied by subtracting the series whose
//! value does *not* match; all others are intersected. A selection made only of
//! empty-matching matchers starts from every series.

use std::collections::BTreeSet;

use model::{Labels, MatchType, Matcher};
use roaring::RoaringBitmap;

use crate::error::Result;

/// What a label index must answer for matching.
pub trait IndexLookup {
    /// Every series id in the index.
    fn all_postings(&self) -> Result<RoaringBitmap>;

    /// Series with label `name` equal to `value` (empty if none).
    fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap>;

    /// The union of postings of every value of label `name` for which `pred` is true.
    /// Values are visited in sorted order; `""` is never visited (absent labels have no
    /// postings).
    fn postings_matching(
        &self,
        name: &str,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap>;
}

/// The series ids selected by all `matchers` (an empty list selects nothing).
pub fn postings_for_matchers(ix: &dyn IndexLookup, matchers: &[Matcher]) -> Result<RoaringBitmap> {
    if matchers.is_empty() {
        return Ok(RoaringBitmap::new());
    }
    let mut positive: Vec<&Matcher> = Vec::new();
    let mut subtract: Vec<&Matcher> = Vec::new();
    for m in matchers {
        if m.matches_empty() {
            subtract.push(m);
        } else {
            positive.push(m);
        }
    }
    // Cheapest first: equality and literal sets before regex scans.
    positive.sort_by_key(|m| match m.kind {
        MatchType::Equal => 0,
        MatchType::RegexMatch if m.set_matches().is_some() => 1,
        _ => 2,
    });

    let mut result: Option<RoaringBitmap> = None;
    for m in positive {
        let p = postings_for_matcher(ix, m)?;
        result = Some(match result {
            None => p,
            Some(mut r) => {
                r &= p;
                r
            }
        });
        if result.as_ref().is_some_and(|r| r.is_empty()) {
            return Ok(RoaringBitmap::new());
        }
    }
    let mut result = match result {
        Some(r) => r,
        None => ix.all_postings()?,
    };
    for m in subtract {
        // Remove series whose value is set and does not match.
        let inverse = m.inverse();
        let not = postings_for_matcher(ix, &inverse)?;
        result -= not;
        if result.is_empty() {
            break;
        }
    }
    Ok(result)
}

/// Sorted, unique label names of the series `ids`; `labels_of` gives a series' labels (or
/// `None` if it is gone).
pub(crate) fn label_names_of(
    ids: &RoaringBitmap,
    mut labels_of: impl FnMut(u32) -> Result<Option<Labels>>,
) -> Result<Vec<String>> {
    let mut names = BTreeSet::new();
    for id in ids.iter() {
        for l in labels_of(id)?.iter().flatten() {
            if !names.contains(&*l.name) {
                names.insert(l.name.to_string());
            }
        }
    }
    Ok(names.into_iter().collect())
}

/// Sorted, unique values of label `name` across the series `ids`.
pub(crate) fn label_values_of(
    ids: &RoaringBitmap,
    name: &str,
    mut labels_of: impl FnMut(u32) -> Result<Option<Labels>>,
) -> Result<Vec<String>> {
    let mut values = BTreeSet::new();
    for id in ids.iter() {
        if let Some(l) = labels_of(id)? {
            let v = l.get(name);
            if !v.is_empty() && !values.contains(v) {
                values.insert(v.to_string());
            }
        }
    }
    Ok(values.into_iter().collect())
}

/// Series whose (non-empty) value of `m.name` satisfies `m`.
fn postings_for_matcher(ix: &dyn IndexLookup, m: &Matcher) -> Result<RoaringBitmap> {
    if let Some(values) = m.set_matches() {
        let mut out = RoaringBitmap::new();
        for v in values {
            if !v.is_empty() {
                out |= ix.postings(&m.name, v)?;
            }
        }
        return Ok(out);
    }
    ix.postings_matching(&m.name, &mut |v| m.matches(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A brute-force index for checking the algebra.
    struct Toy {
        series: Vec<Vec<(&'static str, &'static str)>>,
    }

    impl Toy {
        fn get(&self, id: usize, name: &str) -> &str {
            self.series[id]
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .unwrap_or("")
        }
    }

    impl IndexLookup for Toy {
        fn all_postings(&self) -> Result<RoaringBitmap> {
            Ok((0..self.series.len() as u32).collect())
        }
        fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap> {
            Ok((0..self.series.len())
                .filter(|&i| self.get(i, name) == value && !value.is_empty())
                .map(|i| i as u32)
                .collect())
        }
        fn postings_matching(
            &self,
            name: &str,
            pred: &mut dyn FnMut(&str) -> bool,
        ) -> Result<RoaringBitmap> {
            let mut values: BTreeMap<&str, RoaringBitmap> = BTreeMap::new();
            for i in 0..self.series.len() {
                let v = self.get(i, name);
                if !v.is_empty() {
                    values.entry(v).or_default().insert(i as u32);
                }
            }
            let mut out = RoaringBitmap::new();
            for (v, p) in values {
                if pred(v) {
                    out |= p;
                }
            }
            Ok(out)
        }
    }

    fn m(name: &str, kind: MatchType, v: &str) -> Matcher {
        Matcher::new(kind, name, v).unwrap()
    }

    #[test]
    fn matches_like_brute_force() {
        let toy = Toy {
            series: vec![
                vec![("__name__", "up"), ("job", "a"), ("i", "1")],
                vec![("__name__", "up"), ("job", "b")],
                vec![("__name__", "up"), ("job", "a"), ("i", "2")],
                vec![("__name__", "down"), ("i", "1")],
            ],
        };
        let cases: Vec<Vec<Matcher>> = vec![
            vec![m("__name__", MatchType::Equal, "up")],
            vec![
                m("__name__", MatchType::Equal, "up"),
                m("i", MatchType::Equal, ""),
            ],
            vec![
                m("__name__", MatchType::Equal, "up"),
                m("i", MatchType::NotEqual, "1"),
            ],
            vec![m("job", MatchType::RegexMatch, "a|b")],
            vec![m("job", MatchType::RegexMatch, ".*")],
            vec![m("job", MatchType::RegexMatch, ".+")],
            vec![m("job", MatchType::RegexNoMatch, "a")],
            vec![m("i", MatchType::RegexNoMatch, ".+")],
            vec![
                m("job", MatchType::RegexMatch, "a|"),
                m("__name__", MatchType::RegexMatch, "u.*|d.*"),
            ],
            vec![m("nope", MatchType::Equal, "x")],
            vec![m("nope", MatchType::Equal, "")],
        ];
        for ms in cases {
            let got: Vec<u32> = postings_for_matchers(&toy, &ms).unwrap().iter().collect();
            let want: Vec<u32> = (0..toy.series.len())
                .filter(|&i| ms.iter().all(|mm| mm.matches(toy.get(i, &mm.name))))
                .map(|i| i as u32)
                .collect();
            assert_eq!(got, want, "{ms:?}");
        }
    }
}
