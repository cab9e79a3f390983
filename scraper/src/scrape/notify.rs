//! Telling someone that a scrape carrying the metrics they read has been committed.
//!
//! An [`Interest`] is a fixed list of metric names and a callback. Each loop's [`Cache`]
//! marks, once per series (when the series is first seen, or when the interest changes), the
//! index of its metric name in the list; appending a sample then costs one comparison to note
//! it. After a successful scrape is committed, the callback gets the indices the scrape
//! appended samples of (sorted, each once), so the samples are visible to queries when it
//! runs. It runs on the scrape's blocking thread and must return quickly (wake a task, no
//! I/O).
//!
//! [`Cache`]: super::Cache

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

/// The index of a metric name in an [`Interest`]; [`NO_HIT`] for a name it does not list.
pub(super) type Hit = u32;
pub(super) const NO_HIT: Hit = u32::MAX;

/// Called with the indices of the metrics a committed scrape carried.
type OnCommit = Box<dyn Fn(&[u32]) + Send + Sync>;

/// Metric names to hear about, and what to call when a committed scrape carried some.
pub struct Interest {
    index: HashMap<String, Hit>,
    on_commit: OnCommit,
}

impl Interest {
    /// `on_commit` receives indices into `names`. A name listed twice keeps its first index.
    pub fn new(names: Vec<String>, on_commit: impl Fn(&[u32]) + Send + Sync + 'static) -> Self {
        let mut index = HashMap::with_capacity(names.len());
        for (i, n) in names.into_iter().enumerate() {
            index.entry(n).or_insert(i as Hit);
        }
        Interest {
            index,
            on_commit: Box::new(on_commit),
        }
    }

    pub(super) fn hit(&self, metric: &str) -> Hit {
        self.index.get(metric).copied().unwrap_or(NO_HIT)
    }

    pub(super) fn committed(&self, hits: &[Hit]) {
        if !hits.is_empty() {
            (self.on_commit)(hits);
        }
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interest")
            .field("names", &self.index.len())
            .finish()
    }
}

/// The current interest, shared by every loop of a manager (read once per scrape).
#[derive(Default)]
pub(super) struct InterestSlot(RwLock<Option<Arc<Interest>>>);

impl InterestSlot {
    pub fn get(&self) -> Option<Arc<Interest>> {
        self.0.read().clone()
    }

    pub fn set(&self, interest: Option<Interest>) {
        *self.0.write() = interest.map(Arc::new);
    }
}
