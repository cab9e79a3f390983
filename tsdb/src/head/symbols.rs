//! The label sets of head series, kept as symbol ids.
//!
//! Every label name and value a head series uses is a *symbol*: one interned [`LabelStr`] in a
//! process-wide table, known by a small integer id. A series keeps its label set as the ids of
//! its names and values, varint-encoded in one slot of the chunk arena's small classes
//! ([`SeriesLabels`]): a label of a typical series takes 3–4 bytes there instead of 16 in a
//! [`Labels`], and there is no label set shared with anyone. A query, the WAL or compaction
//! gets a [`Labels`] back (whose strings are the table's, so building one copies no text).
//!
//! A symbol counts the label sets that use it; when the last one goes (its series is dropped)
//! the string is forgotten and the id is handed out again. The table is process-wide rather
//! than per head so that dropping a series needs no pointer back to its head.
//!
//! A symbol that [`LASTING_USES`] label sets use at once is kept for the life of the process
//! instead, and its string no longer carries a reference count (`ArcStr::leak`): every label
//! set built for a query clones and drops its strings, and counting a string that most series
//! share (a label name, a job, `code="200"`) would have the cores of a query take that cache
//! line from each other for every series. Each string kept that way took that many series to
//! create, so what is kept is bounded by the series ever created ÷ 1,024 (bytes: a few
//! hundredths of one per series created, for names and values of usual lengths).

use std::collections::HashMap;
use std::sync::LazyLock;

use model::{Label, LabelStr, Labels};
use parking_lot::RwLock;

use crate::arena::SmallBytes;
use crate::encoding::{Uvarints, put_uvarint};

/// A series' label set: each label's name id and value id, unsigned LEB128 varints, in a
/// [`SmallBytes`] (one pointer; the slot holds the length, then the ids, with no allocator
/// header and no reference count).
pub(crate) struct SeriesLabels(SmallBytes);

const _: () = assert!(std::mem::size_of::<SeriesLabels>() == 8);

#[derive(Default)]
struct Table {
    /// By id; an empty string marks a free id (names and values are never empty).
    strs: Vec<LabelStr>,
    /// By id: how many times label sets use the symbol (a set using it as a name and as a
    /// value counts twice).
    uses: Vec<u32>,
    ids: HashMap<LabelStr, u32>,
    /// Ids no symbol has now, reused first.
    free: Vec<u32>,
}

static TABLE: LazyLock<RwLock<Table>> = LazyLock::new(Default::default);

/// Uses at which a symbol is kept for good and its string is no longer counted.
const LASTING_USES: u32 = 1024;

impl Table {
    /// The id of `s`, counting one more use, and the interned string.
    fn acquire(&mut self, s: &LabelStr) -> (u32, LabelStr) {
        if let Some(&id) = self.ids.get(&**s) {
            let n = &mut self.uses[id as usize];
            *n = n.saturating_add(1);
            let s = &self.strs[id as usize];
            if *n == LASTING_USES {
                s.leak();
            }
            return (id, s.clone());
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.strs[id as usize] = s.clone();
                self.uses[id as usize] = 1;
                id
            }
            None => {
                let id = u32::try_from(self.strs.len()).expect("fewer than 2^32 symbols");
                self.strs.push(s.clone());
                self.uses.push(1);
                id
            }
        };
        self.ids.insert(s.clone(), id);
        (id, s.clone())
    }

    fn release(&mut self, id: u32) {
        let n = &mut self.uses[id as usize];
        *n = n.saturating_sub(1);
        if *n == 0 && !LabelStr::is_static(&self.strs[id as usize]) {
            let s = std::mem::take(&mut self.strs[id as usize]);
            self.ids.remove(&*s);
            self.free.push(id);
        }
    }

    fn str(&self, id: u32) -> &LabelStr {
        &self.strs[id as usize]
    }
}

/// The labels of a [`SeriesLabels`] as (name, value) strings of the table.
struct Pairs<'a> {
    ids: Uvarints<'a>,
    left: usize,
    table: &'a Table,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a LabelStr, &'a LabelStr);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let name = self.ids.next().expect("a name id");
        let value = self.ids.next().expect("a value id");
        Some((self.table.str(name), self.table.str(value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Pairs<'_> {}

impl SeriesLabels {
    /// Interns `labels`. Also returns them with the table's strings, for indexes that keep
    /// strings of their own and can share them.
    pub(crate) fn new(labels: &Labels) -> (SeriesLabels, Labels) {
        let mut buf = Vec::with_capacity(labels.len() * 4);
        let mut table = TABLE.write();
        let interned = Labels::from_sorted_iter(labels.iter().map(|l| {
            let (n, name) = table.acquire(&l.name);
            let (v, value) = table.acquire(&l.value);
            put_uvarint(&mut buf, u64::from(n));
            put_uvarint(&mut buf, u64::from(v));
            Label { name, value }
        }));
        drop(table);
        (SeriesLabels(SmallBytes::new(&buf)), interned)
    }

    fn pairs<'a>(&'a self, table: &'a Table) -> Pairs<'a> {
        let bytes = self.0.as_slice();
        // Each varint ends with the one byte below 0x80; two varints a label.
        let left = bytes.iter().filter(|&&b| b < 0x80).count() / 2;
        Pairs {
            ids: Uvarints(bytes),
            left,
            table,
        }
    }

    /// The label set.
    pub(crate) fn labels(&self) -> Labels {
        let table = TABLE.read();
        Labels::from_sorted_iter(self.pairs(&table).map(|(n, v)| Label {
            name: n.clone(),
            value: v.clone(),
        }))
    }

    /// Whether the label set is `labels` (no copy made).
    pub(crate) fn matches(&self, labels: &Labels) -> bool {
        let table = TABLE.read();
        let pairs = self.pairs(&table);
        pairs.len() == labels.len()
            && pairs
                .zip(labels.iter())
                .all(|((n, v), l)| **n == *l.name && **v == *l.value)
    }

    /// [`Labels::stable_hash`] of the label set (no copy made).
    pub(crate) fn stable_hash(&self) -> u64 {
        let table = TABLE.read();
        model::stable_hash_of(self.pairs(&table).map(|(n, v)| (&**n, &**v)))
    }

    /// Bytes of the encoding (without the allocation's header).
    #[cfg(test)]
    fn encoded_len(&self) -> usize {
        self.0.as_slice().len()
    }
}

/// Orders label sets as [`Labels`] orders them (pairwise by name, then value; a prefix first)
/// without building them: each symbol's rank among the table's strings, taken once. Valid for
/// label sets that existed when it was taken (their ids cannot be reused while they live).
pub(crate) struct Ranks(Vec<u32>);

impl Ranks {
    pub(crate) fn now() -> Ranks {
        // Free ids hold the empty string: they sort first and are never looked at.
        Ranks(crate::index::string_order(&TABLE.read().strs).1)
    }

    pub(crate) fn cmp(&self, a: &SeriesLabels, b: &SeriesLabels) -> std::cmp::Ordering {
        let (a, b) = (a.0.as_slice(), b.0.as_slice());
        // Interned strings are equal exactly when their ids are; distinct ones rank apart in
        // string order. Names and values alternate, so comparing the id sequences pairwise
        // compares name, then value, label by label.
        for (x, y) in Uvarints(a).zip(Uvarints(b)) {
            if x != y {
                return self.0[x as usize].cmp(&self.0[y as usize]);
            }
        }
        // One is a prefix of the other (equal ids are equal bytes): the shorter comes first.
        a.len().cmp(&b.len())
    }
}

impl Drop for SeriesLabels {
    fn drop(&mut self) {
        let mut table = TABLE.write();
        for id in Uvarints(self.0.as_slice()) {
            table.release(id);
        }
    }
}

impl std::fmt::Debug for SeriesLabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.labels().fmt(f)
    }
}

/// Symbols in the table now (a gauge).
pub(crate) fn count() -> usize {
    TABLE.read().ids.len()
}

/// Bytes of the table's strings (a gauge).
pub(crate) fn bytes() -> usize {
    TABLE.read().ids.keys().map(|s| s.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `s` is a symbol now (the table is shared by every test in the process, so tests
    /// use strings of their own and look only at those).
    fn known(s: &str) -> bool {
        TABLE.read().ids.contains_key(s)
    }

    #[test]
    fn round_trips_shares_strings_and_forgets_unused_symbols() {
        let l = model::labels! {"__name__" => "sym_test_a", "job" => "sym_test_node", "x" => "sym_test_node"};
        let (a, interned) = SeriesLabels::new(&l);
        assert_eq!(a.labels(), l);
        assert_eq!(interned, l);
        assert!(a.matches(&l));
        assert!(!a.matches(&model::labels! {"__name__" => "sym_test_a", "job" => "sym_test_node"}));
        assert!(!a.matches(
            &model::labels! {"__name__" => "sym_test_a", "job" => "sym_test_node", "x" => "y"}
        ));
        assert_eq!(a.stable_hash(), l.stable_hash());
        // One copy of each string: the value used twice is one symbol.
        let back = a.labels();
        assert!(LabelStr::ptr_eq(
            &back.as_slice()[1].value,
            &back.as_slice()[2].value
        ));
        assert!(LabelStr::ptr_eq(
            &back.as_slice()[1].value,
            &interned.as_slice()[2].value
        ));

        let (b, _) = SeriesLabels::new(
            &model::labels! {"__name__" => "sym_test_b", "job" => "sym_test_node"},
        );
        drop(a);
        assert!(!known("sym_test_a") && known("sym_test_node"));
        drop(b);
        assert!(!known("sym_test_b") && !known("sym_test_node"));
        assert!(!back.iter().any(|l| LabelStr::is_static(&l.value)));
        // `interned` and `back` still hold their strings; the table does not.
        assert_eq!(back, l);
    }

    #[test]
    fn a_symbol_that_many_series_use_lasts() {
        let one = |i: u32| {
            SeriesLabels::new(&model::labels! {"sym_test_many" => "sym_test_shared", "i" => format!("sym_test_i{i}")}).0
        };
        let mut sets: Vec<SeriesLabels> = (0..LASTING_USES - 1).map(one).collect();
        assert!(!LabelStr::is_static(&sets[0].labels().as_slice()[1].value));
        sets.push(one(LASTING_USES));
        let l = sets[0].labels();
        assert!(LabelStr::is_static(&l.as_slice()[1].value));
        assert!(LabelStr::is_static(&l.as_slice()[1].name));
        drop(sets);
        assert!(known("sym_test_shared") && known("sym_test_many"));
        assert!(
            !known("sym_test_i1"),
            "values of few series are still forgotten"
        );
        let again = one(7);
        assert_eq!(
            again.labels(),
            model::labels! {"sym_test_many" => "sym_test_shared", "i" => "sym_test_i7"}
        );
    }

    #[test]
    fn ids_are_reused_and_long_varints_decode() {
        // Enough distinct values that ids need two and three varint bytes.
        let sets: Vec<SeriesLabels> = (0..20_000)
            .map(|i| SeriesLabels::new(&model::labels! {"sym_test_id" => format!("v{i}")}).0)
            .collect();
        for (i, s) in sets.iter().enumerate().step_by(997) {
            assert_eq!(
                s.labels(),
                model::labels! {"sym_test_id" => format!("v{i}")}
            );
        }
        let before = TABLE.read().strs.len();
        drop(sets);
        let (again, _) = SeriesLabels::new(&model::labels! {"sym_test_id" => "fresh"});
        assert!(TABLE.read().strs.len() <= before, "freed ids are reused");
        assert_eq!(again.labels(), model::labels! {"sym_test_id" => "fresh"});
        assert!(again.encoded_len() <= 6);
    }

    #[test]
    fn ranks_order_label_sets_as_labels_do() {
        let sets = [
            model::labels! {"__name__" => "sym_test_r", "a" => "sym_test_b"},
            model::labels! {"__name__" => "sym_test_r", "a" => "sym_test_a"},
            model::labels! {"__name__" => "sym_test_r"},
            model::labels! {"__name__" => "sym_test_q", "z" => "1"},
            model::labels! {"__name__" => "sym_test_r", "a" => "sym_test_a", "b" => "x"},
            model::labels! {"__name__" => "sym_test_r", "b" => "sym_test_a"},
            Labels::empty(),
        ];
        let compact: Vec<SeriesLabels> = sets.iter().map(|l| SeriesLabels::new(l).0).collect();
        let ranks = Ranks::now();
        for (i, a) in sets.iter().enumerate() {
            for (j, b) in sets.iter().enumerate() {
                assert_eq!(
                    ranks.cmp(&compact[i], &compact[j]),
                    a.cmp(b),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn empty_label_set() {
        let (e, _) = SeriesLabels::new(&Labels::empty());
        assert_eq!(e.labels(), Labels::empty());
        assert!(e.matches(&Labels::empty()));
    }
}
