//! Deleting series ranges from the head: tombstones, logged to the WAL before they apply.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use model::Matcher;

use super::Head;
use crate::error::Result;
use crate::postings::postings_for_matchers;
use crate::tombstones::Intervals;
use crate::wal::{RefTombstone, encode_tombstones};

impl Head {
    /// Deletes the samples in `[mint, maxt]` of the series matching `matchers`. Each range is
    /// cut to the samples the series has now, so samples appended later are unaffected. The
    /// ranges are logged to the WAL (and synced) before they apply; returns how many series
    /// had samples deleted.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize> {
        let ids = postings_for_matchers(&self.postings, matchers)?;
        let mut stones = Vec::new();
        for id in ids.iter() {
            let Some(s) = self.series.get(id) else {
                continue;
            };
            let d = s.lock();
            let Some(first) = d.min_time() else { continue };
            let newest = s.newest_t.load(std::sync::atomic::Ordering::Relaxed);
            let (lo, hi) = (mint.max(first), maxt.min(newest));
            if lo <= hi && !self.deleted(id).is_some_and(|iv| iv.covers(lo, hi)) {
                stones.push(RefTombstone {
                    r: u64::from(id),
                    mint: lo,
                    maxt: hi,
                });
            }
        }
        if stones.is_empty() {
            return Ok(0);
        }
        if let Some(wal) = &self.wal {
            let mut buf = Vec::new();
            encode_tombstones(&stones, &mut buf);
            wal.log(&[&buf])?;
            wal.sync()?;
        }
        self.add_tombstones(&stones);
        Ok(stones.len())
    }

    pub(super) fn add_tombstones(&self, stones: &[RefTombstone]) {
        if stones.is_empty() {
            return;
        }
        let mut t = self.tombstones.write();
        for s in stones {
            t.add(s.r, s.mint, s.maxt);
        }
        self.has_tombstones.store(!t.is_empty(), Ordering::Release);
    }

    /// The deleted ranges of series `id`, if any.
    pub(crate) fn deleted(&self, id: u32) -> Option<Arc<Intervals>> {
        if !self.has_tombstones.load(Ordering::Acquire) {
            return None;
        }
        self.tombstones.read().get(u64::from(id)).cloned()
    }

    /// Series of the head with deleted ranges.
    pub fn num_tombstones(&self) -> usize {
        self.tombstones.read().len()
    }

    /// After truncation at `mint`: drops ranges before it and those of removed series.
    pub(super) fn truncate_tombstones(&self, mint: i64) {
        if !self.has_tombstones.load(Ordering::Acquire) {
            return;
        }
        let mut t = self.tombstones.write();
        t.retain(mint, |r| {
            u32::try_from(r).is_ok_and(|id| self.series.get(id).is_some())
        });
        self.has_tombstones.store(!t.is_empty(), Ordering::Release);
    }
}
