//! Interning of label strings: every series that shares a label name or value shares one
//! `LabelStr`. Entries no series uses any more are dropped by [`Interner::sweep`].

use std::collections::HashSet;

use model::{Label, LabelStr, Labels};
use parking_lot::Mutex;

#[derive(Default)]
pub(crate) struct Interner {
    strings: Mutex<HashSet<LabelStr>>,
}

impl Interner {
    fn intern_locked(set: &mut HashSet<LabelStr>, s: &LabelStr) -> LabelStr {
        if let Some(existing) = set.get(&**s) {
            return existing.clone();
        }
        set.insert(s.clone());
        s.clone()
    }

    /// A copy of `labels` whose strings are the interned ones.
    pub(crate) fn intern(&self, labels: &Labels) -> Labels {
        let mut set = self.strings.lock();
        let v: Vec<Label> = labels
            .iter()
            .map(|l| Label {
                name: Self::intern_locked(&mut set, &l.name),
                value: Self::intern_locked(&mut set, &l.value),
            })
            .collect();
        Labels::from_sorted(v)
    }

    /// Forgets strings that only the interner still holds.
    pub(crate) fn sweep(&self) -> usize {
        let mut set = self.strings.lock();
        let before = set.len();
        set.retain(|s| LabelStr::strong_count(s).is_some_and(|n| n > 1));
        before - set.len()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.strings.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_sweeps() {
        let i = Interner::default();
        let a = i.intern(&model::labels! {"job" => "node", "x" => "node"});
        let b = i.intern(&model::labels! {"job" => "node"});
        assert!(LabelStr::ptr_eq(
            &a.as_slice()[0].value,
            &b.as_slice()[0].value
        ));
        assert!(LabelStr::ptr_eq(
            &a.as_slice()[0].value,
            &a.as_slice()[1].value
        ));
        assert_eq!(i.len(), 3);
        drop(a);
        assert_eq!(i.sweep(), 1); // "x" is gone, "job" and "node" live on in b
        drop(b);
        assert_eq!(i.sweep(), 2);
    }
}
