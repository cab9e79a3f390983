//! Label sets.
//!
//! A [`Labels`] value is sorted by label name, holds no duplicate names and no empty values
//! (an empty value means "label absent", as in Prometheus). It is immutable and an `Arc`
//! underneath, so clones are cheap; each string is a [`LabelStr`] (shared, one word wide) so
//! that a store which interns its strings can build label sets without copying bytes, and a
//! label costs 16 bytes in a set.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use triomphe::ThinArc;

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// Separator used when hashing label sets (never valid inside UTF-8 text).
const HASH_SEP: u8 = 0xff;

/// A label name or value: an immutable, reference-counted string behind a one-word pointer
/// (the length lives in the allocation with the bytes). An `Arc<str>` is a two-word pointer;
/// with a million series of seven labels the difference is over 100 MB.
pub type LabelStr = arcstr::ArcStr;

/// [`Labels::stable_hash`] of the label set whose (name, value) pairs, in order, are `pairs`:
/// for a store that keeps label sets in another form.
pub fn stable_hash_of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    for (name, value) in pairs {
        h.update(name.as_bytes());
        h.update(&[HASH_SEP]);
        h.update(value.as_bytes());
        h.update(&[HASH_SEP]);
    }
    h.digest()
}

/// One label: a name and a value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub name: LabelStr,
    pub value: LabelStr,
}

const _: () = assert!(std::mem::size_of::<Label>() == 16);

impl Label {
    pub fn new(name: impl Into<LabelStr>, value: impl Into<LabelStr>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.value)
    }
}

/// A sorted, immutable label set: one word, a pointer to a shared, counted allocation of the
/// labels with their count in front (a store keeps one per series, so the pointer is thin).
#[derive(Clone)]
pub struct Labels {
    inner: ThinArc<(), Label>,
}

fn shared(labels: Vec<Label>) -> ThinArc<(), Label> {
    ThinArc::from_header_and_iter((), labels.into_iter())
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl Default for Labels {
    fn default() -> Self {
        Labels::empty()
    }
}

impl Labels {
    /// Whether both are the same copy in memory (not merely equal).
    pub fn ptr_eq(a: &Labels, b: &Labels) -> bool {
        std::ptr::eq(a.inner.as_ptr(), b.inner.as_ptr())
    }

    /// The empty label set.
    pub fn empty() -> Self {
        Labels {
            inner: shared(Vec::new()),
        }
    }

    /// Builds a label set from pairs in any order. Empty values are dropped; for a repeated
    /// name the last pair wins.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<LabelStr>,
        V: Into<LabelStr>,
    {
        let mut b = LabelsBuilder::new();
        for (n, v) in pairs {
            b.set(n, v);
        }
        b.build()
    }

    /// Builds from labels that the caller guarantees are sorted by name, unique and non-empty
    /// (a store reading its own index). Checked in debug builds.
    pub fn from_sorted(labels: Vec<Label>) -> Self {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        debug_assert!(labels.iter().all(|l| !l.value.is_empty()));
        Labels {
            inner: shared(labels),
        }
    }

    /// [`Labels::from_sorted`] from an iterator that knows its length (one allocation, no
    /// intermediate vector).
    pub fn from_sorted_iter(labels: impl ExactSizeIterator<Item = Label>) -> Self {
        let l = Labels {
            inner: ThinArc::from_header_and_iter((), labels),
        };
        debug_assert!(l.as_slice().windows(2).all(|w| w[0].name < w[1].name));
        debug_assert!(l.iter().all(|l| !l.value.is_empty()));
        l
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.as_slice().iter()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.inner.slice
    }

    /// The value of label `name`, or `""` if absent.
    pub fn get(&self, name: &str) -> &str {
        match self.as_slice().binary_search_by(|l| (*l.name).cmp(name)) {
            Ok(i) => &self.as_slice()[i].value,
            Err(_) => "",
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.as_slice()
            .binary_search_by(|l| (*l.name).cmp(name))
            .is_ok()
    }

    /// The metric name (`__name__`), or `""`.
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME)
    }

    /// A stable 64-bit hash of the label set (xxHash64 over name, 0xff, value, 0xff, ...).
    /// Stable across processes and versions: used for sharding and fingerprints.
    pub fn stable_hash(&self) -> u64 {
        stable_hash_of(self.iter().map(|l| (&*l.name, &*l.value)))
    }

    /// A builder that starts from this set.
    pub fn to_builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.as_slice().to_vec(),
            sorted: true,
        }
    }

    /// A copy without the metric name.
    pub fn without_metric_name(&self) -> Labels {
        if !self.has(METRIC_NAME) {
            return self.clone();
        }
        self.filter(|l| &*l.name != METRIC_NAME)
    }

    /// The labels for which `keep` is true (cloning only those, unlike a builder).
    pub fn filter(&self, mut keep: impl FnMut(&Label) -> bool) -> Labels {
        // Room for all at once: a filter has no size hint, and growing the vector from
        // empty reallocates it two or three times for a usual label set.
        let mut kept = Vec::with_capacity(self.as_slice().len());
        kept.extend(self.as_slice().iter().filter(|l| keep(l)).cloned());
        Labels::from_sorted(kept)
    }

    /// Total bytes of all names and values (for size limits and accounting).
    pub fn byte_len(&self) -> usize {
        self.iter().map(|l| l.name.len() + l.value.len()).sum()
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Prometheus order: compare pairwise by name, then value; a prefix sorts first.
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        // Interned strings (the head's, a block's symbols) are often the same allocation:
        // equal without reading them.
        let cmp = |x: &LabelStr, y: &LabelStr| {
            if LabelStr::ptr_eq(x, y) {
                Ordering::Equal
            } else {
                x.cmp(y)
            }
        };
        for (a, b) in self.as_slice().iter().zip(other.as_slice().iter()) {
            match cmp(&a.name, &b.name) {
                Ordering::Equal => {}
                o => return o,
            }
            match cmp(&a.value, &b.value) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        self.as_slice().len().cmp(&other.as_slice().len())
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// `{__name__="up", job="x"}` is printed as `up{job="x"}`, as Prometheus prints series.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        f.write_str(name)?;
        f.write_str("{")?;
        let mut first = true;
        for l in self.as_slice().iter() {
            if &*l.name == METRIC_NAME {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, &*l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Builds or edits a label set. Setting an empty value deletes the label.
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
    sorted: bool,
}

impl LabelsBuilder {
    pub fn new() -> Self {
        LabelsBuilder {
            labels: Vec::new(),
            sorted: true,
        }
    }

    pub fn with_capacity(n: usize) -> Self {
        LabelsBuilder {
            labels: Vec::with_capacity(n),
            sorted: true,
        }
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub fn set(&mut self, name: impl Into<LabelStr>, value: impl Into<LabelStr>) -> &mut Self {
        let name = name.into();
        let value = value.into();
        if let Some(pos) = self.labels.iter().position(|l| l.name == name) {
            if value.is_empty() {
                self.labels.remove(pos);
            } else {
                self.labels[pos].value = value;
            }
            return self;
        }
        if value.is_empty() {
            return self;
        }
        if let Some(last) = self.labels.last()
            && last.name > name
        {
            self.sorted = false;
        }
        self.labels.push(Label { name, value });
        self
    }

    /// Removes `name` if present.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| &*l.name != name);
        self
    }

    /// The current value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|l| &*l.name == name)
            .map(|l| &*l.value)
            .unwrap_or("")
    }

    /// Keeps only labels for which `f` returns true.
    pub fn retain(&mut self, mut f: impl FnMut(&Label) -> bool) -> &mut Self {
        self.labels.retain(|l| f(l));
        self
    }

    /// The labels set so far, in insertion order (sorted only after `build`).
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    pub fn build(mut self) -> Labels {
        if !self.sorted {
            self.labels.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Labels {
            inner: shared(self.labels),
        }
    }
}

/// `labels!{"__name__" => "up", "job" => "node"}` builds a [`Labels`].
#[macro_export]
macro_rules! labels {
    ($($k:expr => $v:expr),* $(,)?) => {
        $crate::Labels::from_pairs([$((
            $crate::LabelStr::from($k),
            $crate::LabelStr::from($v),
        )),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_deduplicated() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("b", "3")]);
        let names: Vec<&str> = l.iter().map(|l| &*l.name).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(l.get("b"), "3");
        assert_eq!(l.get("c"), "");
        assert!(!l.has("c"));
    }

    #[test]
    fn ordering_matches_prometheus() {
        let a = labels! {"a" => "1"};
        let ab = labels! {"a" => "1", "b" => "1"};
        let a2 = labels! {"a" => "2"};
        assert!(a < ab);
        assert!(ab < a2);
        assert_eq!(a.cmp(&a.clone()), Ordering::Equal);
    }

    #[test]
    fn display_like_prometheus() {
        let l = labels! {"__name__" => "up", "job" => "node", "instance" => "a:1"};
        assert_eq!(l.to_string(), r#"up{instance="a:1", job="node"}"#);
    }

    #[test]
    fn hash_is_stable_and_distinguishes_boundaries() {
        let a = labels! {"ab" => "c"};
        let b = labels! {"a" => "bc"};
        assert_ne!(a.stable_hash(), b.stable_hash());
        assert_eq!(a.stable_hash(), labels! {"ab" => "c"}.stable_hash());
        // A fixed value: the hash must never change between versions.
        assert_eq!(
            Labels::empty().stable_hash(),
            xxhash_rust::xxh64::xxh64(&[], 0)
        );
    }

    #[test]
    fn builder_edits() {
        let l = labels! {"a" => "1", "b" => "2"};
        let mut b = l.to_builder();
        b.set("a", "").set("c", "3").set("0", "x");
        let l2 = b.build();
        assert_eq!(l2, labels! {"0" => "x", "b" => "2", "c" => "3"});
    }
}
