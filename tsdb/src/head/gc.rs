//! Truncating the head after its oldest range has been persisted as a block.

use std::sync::atomic::Ordering;
use std::time::Duration;

use model::Labels;

use super::Head;
use super::series::{GONE, LIVE, MARKED, SharedSeries};
use crate::error::Result;
use crate::wal;

/// What one truncation did.
#[derive(Debug, Default, Clone, Copy)]
pub struct TruncateStats {
    pub series_removed: usize,
    pub chunks_removed: usize,
    pub chunk_files_removed: usize,
}

impl Head {
    /// Drops everything before `mint` (now held by a block): chunks that end before it,
    /// series left without samples, head-chunk files holding only older chunks, and WAL
    /// segments (after writing a checkpoint that keeps live series and samples from `mint`
    /// on), and deleted ranges before `mint`. Samples before `mint` are refused from now on.
    ///
    /// Series are removed in two steps around grace periods (see `super::grace`): empty series
    /// are marked, and once every batch that might have seen one of them as live has ended,
    /// those still marked and still empty are taken out of the tables; the memory is freed
    /// after a second grace period. While a batch stays open longer than
    /// [`GRACE_TIMEOUT`], no series is removed (the next truncation tries again).
    pub fn truncate(&self, mint: i64) -> Result<TruncateStats> {
        let _guard = self.truncate_lock.lock();
        self.min_valid_time.fetch_max(mint, Ordering::AcqRel);
        let mut stats = TruncateStats::default();
        let mut marked: Vec<SharedSeries> = Vec::new();
        let mut new_min = i64::MAX;
        self.series.for_each(|s| {
            let mut d = s.lock();
            stats.chunks_removed += d.retain_full(|c| c.maxt >= mint);
            if d.open
                .as_ref()
                .is_some_and(|c| c.app.num_samples() > 0 && s.open_span(c).1 < mint)
            {
                d.open = None;
                stats.chunks_removed += 1;
            }
            if d.is_empty() {
                if s.state
                    .compare_exchange(LIVE, MARKED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    marked.push(s.clone());
                }
            } else if let Some(t) = d.min_time() {
                new_min = new_min.min(t);
            }
        });
        let mut removed: Vec<SharedSeries> = Vec::new();
        if !marked.is_empty() {
            let ended = self.grace.synchronize(GRACE_TIMEOUT);
            if !ended {
                tracing::warn!(
                    marked = marked.len(),
                    "an append batch stayed open; empty series are kept until the next truncation"
                );
            }
            for s in marked {
                let d = s.lock();
                if ended
                    && d.is_empty()
                    && s.state
                        .compare_exchange(MARKED, GONE, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                {
                    drop(d);
                    removed.push(s);
                    continue;
                }
                // Appended to meanwhile, or taken back by a batch (then already LIVE).
                let _ = s
                    .state
                    .compare_exchange(MARKED, LIVE, Ordering::SeqCst, Ordering::SeqCst);
                if let Some(t) = d.min_time() {
                    new_min = new_min.min(t);
                }
            }
        }
        for s in &removed {
            self.series.remove(s);
        }
        let ids: Vec<(u32, Labels)> = removed.iter().map(|s| (s.id, s.labels.labels())).collect();
        self.postings.remove(&ids);
        drop(ids);
        stats.series_removed = removed.len();
        self.num_series
            .fetch_sub(removed.len() as i64, Ordering::Relaxed);
        self.metrics.series_removed.add(removed.len() as u64);
        // Batches may still hold pointers to the removed series: free them only after a
        // grace period (or a later truncation's, if this one does not end in time).
        let mut retired = std::mem::take(&mut *self.retired.lock());
        retired.append(&mut removed);
        if !retired.is_empty() && !self.grace.synchronize(GRACE_TIMEOUT) {
            self.retired.lock().append(&mut retired);
        }
        drop(retired);
        self.truncate_tombstones(mint);

        stats.chunk_files_removed = self.chunks.truncate_before(mint)?;

        if let Some(w) = &self.wal {
            let (first, current) = w.segment_range()?;
            // New appends go to a fresh segment while the checkpoint is written.
            w.cut_segment()?;
            // As in Prometheus, only the oldest two thirds of the segments before the one
            // being written are checkpointed and deleted: they hold mostly samples now in
            // blocks, while the newest third stays for readers that follow the WAL (remote
            // write) and are behind. With the default block range the WAL keeps about the
            // newest hour after a truncation and up to about three hours before the next.
            if let Some(last) = checkpoint_end(first, current) {
                let keep = |r: u64| u32::try_from(r).is_ok_and(|id| self.series.get(id).is_some());
                let cp = wal::checkpoint(&self.dir.join("wal"), first, last, &keep, mint)?;
                w.truncate(last + 1)?;
                tracing::info!(
                    first,
                    last,
                    kept_series = cp.kept_series,
                    kept_samples = cp.kept_samples,
                    "WAL checkpoint written"
                );
            }
        }

        // The head now starts at the oldest remaining sample.
        let cur = self.min_time.load(Ordering::Acquire);
        let next = if new_min == i64::MAX {
            cur.max(mint)
        } else {
            new_min.max(mint)
        };
        self.min_time.store(next, Ordering::Release);
        self.metrics.truncations.inc();
        Ok(stats)
    }
}

/// How long truncation waits for open append batches (each one scrape or rule evaluation).
const GRACE_TIMEOUT: Duration = Duration::from_secs(30);

/// The last segment a truncation checkpoints, given the first segment and the one being
/// written: two thirds of the way from the first to the one before the current segment;
/// `None` when that leaves nothing beyond the first segment.
fn checkpoint_end(first: u32, current: u32) -> Option<u32> {
    let last = current.checked_sub(1)?;
    let last = first + last.checked_sub(first)? * 2 / 3;
    (last > first).then_some(last)
}

#[cfg(test)]
mod tests {
    use super::checkpoint_end;

    #[test]
    fn the_newest_third_of_the_segments_is_kept() {
        assert_eq!(checkpoint_end(0, 0), None);
        assert_eq!(checkpoint_end(0, 1), None);
        assert_eq!(checkpoint_end(0, 2), None);
        assert_eq!(checkpoint_end(0, 3), Some(1));
        assert_eq!(checkpoint_end(5, 15), Some(11));
        assert_eq!(checkpoint_end(7, 7), None);
    }
}
