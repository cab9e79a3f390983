//! Batched appends into the head.
//!
//! A batch (one scrape, one rule evaluation) collects samples, then `commit` writes any new
//! series records and all sample records to the WAL in one write, and only then applies the
//! samples to their series. A series is logged to the WAL by the first batch that commits it
//! (or rolls back after creating it), so no sample record can refer to a series the WAL has
//! never defined.
//!
//! A batch keeps plain pointers to its series, valid because it stays entered in the head's
//! grace period from its first lookup until it ends (`super::grace`); garbage collection
//! waits for it before removing anything. A series that collection has marked for removal
//! is taken back by the batch; one already being removed makes the batch look the labels up
//! again.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use model::{Appender, Error as SampleError, Labels, SeriesRef};

use super::Head;
use super::grace::SeriesPtr;
use super::series::{DataGuard, GONE, LIVE, MARKED, MemSeries};
use crate::wal::{RefSample, RefSeries, encode_samples, encode_series};

/// How many samples ahead a commit asks for the line of an open chunk it will write to.
const PREFETCH_AHEAD: usize = 8;

struct Pending {
    series: SeriesPtr,
    t: i64,
    v: f64,
}

/// One batch of appends. Dropping it without `commit` rolls it back.
pub struct HeadAppender {
    head: Arc<Head>,
    /// The grace-period counter this batch entered, while it holds series pointers.
    entered: Option<usize>,
    samples: Vec<Pending>,
    /// Series this batch must log before its samples (not yet in the WAL).
    unlogged: Vec<SeriesPtr>,
    /// Ids in `unlogged`, so a batch of many new series stays linear.
    unlogged_ids: super::series::IntSet<u32>,
    series_buf: Vec<u8>,
    samples_buf: Vec<u8>,
    ref_series: Vec<RefSeries>,
    ref_samples: Vec<RefSample>,
}

impl HeadAppender {
    pub(super) fn new(head: Arc<Head>) -> Self {
        HeadAppender {
            head,
            entered: None,
            samples: Vec::new(),
            unlogged: Vec::new(),
            unlogged_ids: Default::default(),
            series_buf: Vec::new(),
            samples_buf: Vec::new(),
            ref_series: Vec::new(),
            ref_samples: Vec::new(),
        }
    }

    /// Finds the series by reference, else by labels (creating it). The batch must have
    /// entered the grace period.
    #[allow(unsafe_code)]
    fn lookup(&self, r: Option<SeriesRef>, labels: &Labels) -> Result<SeriesPtr, SampleError> {
        debug_assert!(self.entered.is_some());
        // SAFETY (all three): the series is in the head's tables (or just returned by them)
        // after this batch entered, and `clear` drops every pointer before leaving.
        if let Some(r) = r {
            if let Ok(id) = u32::try_from(r.0)
                && let Some(s) = self
                    .head
                    .series
                    .with_for_append(id, |s| unsafe { SeriesPtr::new(s) })
            {
                return Ok(s);
            }
            if labels.is_empty() {
                return Err(SampleError::UnknownSeriesRef(r));
            }
        }
        if labels.is_empty() {
            return Err(SampleError::InvalidLabels("empty label set".into()));
        }
        let hash = labels.stable_hash();
        if let Some(s) = self
            .head
            .series
            .with_labels(hash, labels, |s| unsafe { SeriesPtr::new(s) })
        {
            return Ok(s);
        }
        let (s, _) = self.head.get_or_create(labels)?;
        Ok(unsafe { SeriesPtr::new(&s) })
    }

    /// Enters the grace period before the batch's first lookup.
    fn enter(&mut self) {
        if self.entered.is_none() {
            self.entered = Some(self.head.grace.enter());
        }
    }

    /// Writes the batch to the WAL (not yet synced) and returns the position for the sync.
    /// Series records go first, so replay always knows a series before its samples.
    fn log(&mut self, samples: &[Pending]) -> Result<Option<(u32, u64)>, SampleError> {
        let Some(wal) = &self.head.wal else {
            return Ok(None);
        };
        self.ref_series.clear();
        for s in self.unlogged.iter().map(SeriesPtr::get) {
            if !s.wal_logged.load(Ordering::Acquire) {
                self.ref_series.push(RefSeries {
                    r: s.id as u64,
                    labels: s.labels.labels(),
                });
            }
        }
        self.ref_samples.clear();
        self.ref_samples.extend(samples.iter().map(|p| RefSample {
            r: p.series.get().id as u64,
            t: p.t,
            v: p.v,
        }));
        let mut recs: Vec<&[u8]> = Vec::with_capacity(2);
        if !self.ref_series.is_empty() {
            self.series_buf.clear();
            encode_series(&self.ref_series, &mut self.series_buf);
            recs.push(&self.series_buf);
        }
        if !self.ref_samples.is_empty() {
            self.samples_buf.clear();
            encode_samples(&self.ref_samples, &mut self.samples_buf);
            recs.push(&self.samples_buf);
        }
        if recs.is_empty() {
            return Ok(None);
        }
        let pos = wal.write(&recs).map_err(SampleError::from)?;
        for s in &self.unlogged {
            s.get().wal_logged.store(true, Ordering::Release);
        }
        Ok(Some(pos))
    }

    fn sync(&self, pos: Option<(u32, u64)>) -> Result<(), SampleError> {
        match (&self.head.wal, pos) {
            (Some(wal), Some(pos)) => wal.sync_as_configured(pos).map_err(SampleError::from),
            _ => Ok(()),
        }
    }

    /// Ends the batch: forgets its samples and series pointers, and leaves the grace period.
    fn clear(&mut self) {
        self.samples.clear();
        self.unlogged.clear();
        self.unlogged_ids.clear();
        if let Some(p) = self.entered.take() {
            self.head.grace.leave(p);
        }
    }
}

impl Appender for HeadAppender {
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, SampleError> {
        if t < self.head.appendable_min_valid_time() {
            self.head.metrics.out_of_bounds.inc();
            return Err(SampleError::OutOfBounds);
        }
        self.enter();
        let mut ptr = self.lookup(r, labels)?;
        // Garbage collection marks a series, waits for the batches that entered before, and
        // removes it only if it is still marked and empty. Reading the state after entering
        // (both sequentially consistent) means: either collection waits for this batch, or
        // this read sees its mark.
        loop {
            let s = ptr.get();
            match s.state.load(Ordering::SeqCst) {
                LIVE => break,
                MARKED => {
                    // Take it back; if collection got there first, the next round sees GONE.
                    let _ =
                        s.state
                            .compare_exchange(MARKED, LIVE, Ordering::SeqCst, Ordering::SeqCst);
                }
                _ => {
                    debug_assert_eq!(s.state.load(Ordering::Relaxed), GONE);
                    // Collection is taking it out of the tables: a new series replaces it.
                    let labels = s.labels.labels();
                    std::thread::yield_now();
                    ptr = self.lookup(None, &labels)?;
                }
            }
        }
        let s = ptr.get();
        // Early checks against the newest committed sample, without the series lock; commit
        // checks again under it.
        let last_t = s.newest_t.load(Ordering::Acquire);
        if last_t != i64::MIN && t <= last_t {
            if t < last_t {
                self.head.metrics.out_of_order.inc();
                return Err(SampleError::OutOfOrderSample);
            }
            if v.to_bits() == s.newest_v.load(Ordering::Acquire) {
                // The same sample again: accepted, nothing to do.
                return Ok(SeriesRef(s.id as u64));
            }
            self.head.metrics.duplicate.inc();
            return Err(SampleError::DuplicateSampleForTimestamp);
        }
        if !s.wal_logged.load(Ordering::Acquire) && self.unlogged_ids.insert(s.id) {
            self.unlogged.push(ptr);
        }
        // `commit` locks the series and reads its open chunk: ask for those lines now, so
        // their misses overlap with the next appends instead of queueing behind the locks.
        let (data, size) = s.data_span();
        crate::mmap::prefetch(data);
        crate::mmap::prefetch(data.wrapping_add(size - 1));
        let id = s.id;
        self.samples.push(Pending { series: ptr, t, v });
        Ok(SeriesRef(id as u64))
    }

    fn commit(&mut self) -> Result<(), SampleError> {
        if self.samples.is_empty() && self.unlogged.is_empty() {
            self.clear();
            return Ok(());
        }
        let head = self.head.clone();
        let samples = std::mem::take(&mut self.samples);
        // The WAL must hold each series' samples in the order they are applied, or replay
        // would refuse samples that were accepted. So the batch locks its series, writes the
        // WAL, applies, and only then unlocks: two batches that share a series are ordered
        // by that series' lock, and batches on different series never wait for each other.
        // Locks are tried in batch order; on any conflict (or a series that occurs twice)
        // they are all released and taken again in id order, which cannot deadlock.
        let mut guards: Vec<DataGuard<'_>> = Vec::with_capacity(samples.len());
        let mut slot: Option<Vec<usize>> = None; // sample -> guard, when not one to one
        for p in &samples {
            match p.series.get().try_lock() {
                Some(g) => guards.push(g),
                None => {
                    guards.clear();
                    break;
                }
            }
        }
        let mut by_id: Vec<&MemSeries> = Vec::new();
        if guards.len() != samples.len() {
            by_id = samples.iter().map(|p| p.series.get()).collect();
            by_id.sort_unstable_by_key(|s| s.id);
            by_id.dedup_by_key(|s| s.id);
            guards = by_id.iter().map(|s| s.lock()).collect();
            slot = Some(
                samples
                    .iter()
                    .map(|p| {
                        by_id
                            .binary_search_by_key(&p.series.get().id, |s| s.id)
                            .expect("series of the batch")
                    })
                    .collect(),
            );
        }
        let pos = match self.log(&samples) {
            Ok(pos) => pos,
            Err(e) => {
                drop(guards);
                drop(by_id);
                self.samples = samples;
                self.clear();
                return Err(e);
            }
        };
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let mut appended = 0u64;
        let guard_of = |i: usize| slot.as_ref().map_or(i, |s| s[i]);
        for (i, p) in samples.iter().enumerate() {
            // Each open chunk is a separate allocation, and with many series its last line
            // is rarely cached: ask for it a few samples ahead so the misses overlap.
            if i + PREFETCH_AHEAD < samples.len() {
                guards[guard_of(i + PREFETCH_AHEAD)].prefetch_open_tail();
            }
            let d = &mut guards[guard_of(i)];
            match head.append_locked(p.series.get(), d, p.t, p.v) {
                Ok(true) => {
                    appended += 1;
                    mint = mint.min(p.t);
                    maxt = maxt.max(p.t);
                }
                Ok(false) => {}
                Err(SampleError::OutOfOrderSample) => head.metrics.out_of_order.inc(),
                Err(SampleError::DuplicateSampleForTimestamp) => head.metrics.duplicate.inc(),
                Err(e) => {
                    tracing::error!(error = %e, series = p.series.get().id, "sample lost at commit")
                }
            }
        }
        drop(guards);
        drop(by_id);
        if appended > 0 {
            head.update_time_bounds(mint, maxt);
            head.metrics.samples_appended.add(appended);
        }
        // Release the series for garbage collection and keep the buffer for the next batch.
        self.samples = samples;
        self.clear();
        self.sync(pos)
    }

    fn stored_labels(&self, r: SeriesRef) -> Option<Labels> {
        let s = self.head.series.get(u32::try_from(r.0).ok()?)?;
        Some(s.labels.labels())
    }

    fn rollback(&mut self) -> Result<(), SampleError> {
        // Series created by this batch exist in memory and other batches may already use
        // them, so they are logged even though the samples are discarded.
        let r = if self.unlogged.is_empty() {
            Ok(None)
        } else {
            self.log(&[])
        };
        self.clear();
        r.and_then(|pos| self.sync(pos))
    }
}

impl Drop for HeadAppender {
    fn drop(&mut self) {
        if !self.samples.is_empty() || !self.unlogged.is_empty() {
            let _ = self.rollback();
        }
        self.clear();
    }
}
