//! Rebuilding the head at start-up.
//!
//! Order: the head-chunk files are scanned first, so every series knows its full chunks; then
//! the newest WAL checkpoint and the WAL segments after it are replayed. A series record
//! creates the series (with its old id) and attaches its full chunks; a sample at or before
//! the end of those chunks is already in them and is skipped. Damage stops replay at the
//! damaged record: the WAL is cut there (logged and counted) and everything before it is kept.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use model::SampleIterator;

use super::Head;
use super::series::{MmappedChunk, SharedSeries};
use crate::chunkenc::XorIterator;
use crate::error::Result;
use crate::wal::{self, RecordDecoder, RecordType, RefSample, RefSeries, RefTombstone, WalReader};

#[derive(Default)]
struct ReplayState {
    mapped: HashMap<u64, Vec<MmappedChunk>>,
    refs: HashMap<u64, SharedSeries>,
    decoder: RecordDecoder,
    series_buf: Vec<RefSeries>,
    samples_buf: Vec<RefSample>,
    tombstones_buf: Vec<RefTombstone>,
    max_id: u32,
    samples: u64,
    skipped: u64,
}

impl Head {
    pub(super) fn replay(&mut self, wal_dir: &Path, min_valid_time: i64) -> Result<()> {
        let start = Instant::now();
        self.min_valid_time.store(min_valid_time, Ordering::Release);
        let mut st = ReplayState::default();
        self.chunks
            .iterate_all_chunks(&mut |sref, r, mint, maxt, _n| {
                if maxt >= min_valid_time {
                    st.mapped
                        .entry(sref)
                        .or_default()
                        .push(MmappedChunk::new(r, mint, maxt));
                }
                Ok(())
            })?;
        for v in st.mapped.values_mut() {
            v.sort_by_key(|c| c.mint);
        }

        let mut first_segment = 0u32;
        if let Some((cp_dir, idx)) = wal::last_checkpoint(wal_dir)? {
            if let Some((a, b)) = wal::segment_range(&cp_dir)? {
                self.replay_dir(&cp_dir, a, b, &mut st)?;
            }
            first_segment = idx.saturating_add(1);
        }
        if let Some((a, b)) = wal::segment_range(wal_dir)? {
            if a > first_segment && first_segment > 0 {
                tracing::warn!(
                    expected = first_segment,
                    found = a,
                    "WAL segments missing after the checkpoint"
                );
            }
            self.replay_dir(wal_dir, a.max(first_segment), b, &mut st)?;
        }

        let orphans: usize = st.mapped.values().map(|v| v.len()).sum();
        if orphans > 0 {
            self.metrics.wal_replay_unknown_refs.add(orphans as u64);
            tracing::warn!(
                chunks = orphans,
                "head chunks of series unknown to the WAL were skipped"
            );
        }
        self.next_id
            .store(st.max_id.saturating_add(1), Ordering::Release);
        tracing::info!(
            series = self.num_series(),
            samples = st.samples,
            skipped_unknown = st.skipped,
            elapsed_ms = start.elapsed().as_millis() as u64,
            "head replayed"
        );
        Ok(())
    }

    fn replay_dir(&self, dir: &Path, first: u32, last: u32, st: &mut ReplayState) -> Result<()> {
        if first > last {
            return Ok(());
        }
        let mut reader = WalReader::open(dir, first, last)?;
        loop {
            let rec = match reader.next_record() {
                None => return Ok(()),
                Some(Ok(rec)) => rec,
                Some(Err(e)) if e.is_corruption() => {
                    self.metrics.wal_corruptions.inc();
                    tracing::warn!(error = %e, "damaged WAL: replayed everything before the damage and cutting the rest");
                    drop(reader);
                    let dropped = wal::repair(dir, &e)?;
                    tracing::warn!(bytes = dropped, dir = %dir.display(), "WAL repaired");
                    return Ok(());
                }
                Some(Err(e)) => return Err(e),
            };
            match wal::record_type(rec) {
                Some(RecordType::Series) => {
                    if let Err(e) = st.decoder.series(rec, &mut st.series_buf) {
                        tracing::warn!(error = %e, "skipping an undecodable WAL series record");
                        continue;
                    }
                    let batch = std::mem::take(&mut st.series_buf);
                    for rs in &batch {
                        self.replay_series(rs, st);
                    }
                    st.series_buf = batch;
                }
                Some(RecordType::Samples) => {
                    if let Err(e) = st.decoder.samples(rec, &mut st.samples_buf) {
                        tracing::warn!(error = %e, "skipping an undecodable WAL samples record");
                        continue;
                    }
                    self.replay_samples(st);
                }
                Some(RecordType::Tombstones) => {
                    if let Err(e) = st.decoder.tombstones(rec, &mut st.tombstones_buf) {
                        tracing::warn!(error = %e, "skipping an undecodable WAL tombstones record");
                        continue;
                    }
                    st.tombstones_buf.retain(|t| st.refs.contains_key(&t.r));
                    self.add_tombstones(&st.tombstones_buf);
                }
                None => {}
            }
        }
    }

    fn replay_series(&self, rs: &RefSeries, st: &mut ReplayState) {
        let Ok(id) = u32::try_from(rs.r) else {
            tracing::warn!(r = rs.r, "WAL series reference out of range");
            return;
        };
        if rs.labels.is_empty() {
            return;
        }
        let (s, created) = self.create_series(rs.labels.stable_hash(), &rs.labels, id);
        s.wal_logged.store(true, Ordering::Release);
        st.max_id = st.max_id.max(id).max(s.id);
        if created && let Some(chunks) = st.mapped.remove(&rs.r) {
            let mut d = s.lock();
            if let Some(last) = chunks.last() {
                s.newest_t.store(last.maxt, Ordering::Release);
                s.newest_v
                    .store(self.last_value(last).unwrap_or(0), Ordering::Release);
                self.update_time_bounds(chunks[0].mint, last.maxt);
            }
            d.mmapped = chunks.into();
        }
        st.refs.insert(rs.r, s);
    }

    /// The value bits of a chunk's last sample (for duplicate detection after restart).
    fn last_value(&self, c: &MmappedChunk) -> Option<u64> {
        let (_, bytes) = self.chunks.chunk(c.r()).ok()?;
        let mut it = XorIterator::new(bytes);
        let mut last = None;
        while it.next() {
            last = Some(it.at().1.to_bits());
        }
        last
    }

    fn replay_samples(&self, st: &mut ReplayState) {
        let min_valid = self.min_valid_time.load(Ordering::Acquire);
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let mut cached: Option<(u64, SharedSeries)> = None;
        for rs in &st.samples_buf {
            if rs.t < min_valid {
                continue;
            }
            let s = match &cached {
                Some((r, s)) if *r == rs.r => s.clone(),
                _ => match st.refs.get(&rs.r) {
                    Some(s) => {
                        cached = Some((rs.r, s.clone()));
                        s.clone()
                    }
                    None => {
                        st.skipped += 1;
                        self.metrics.wal_replay_unknown_refs.inc();
                        continue;
                    }
                },
            };
            let mut d = s.lock();
            if rs.t <= s.newest_t.load(Ordering::Relaxed)
                && d.mmapped.last().is_some_and(|c| rs.t <= c.maxt)
            {
                continue; // already in a head-chunk file
            }
            if let Ok(true) = self.append_locked(&s, &mut d, rs.t, rs.v) {
                st.samples += 1;
                mint = mint.min(rs.t);
                maxt = maxt.max(rs.t);
            }
        }
        if maxt != i64::MIN {
            self.update_time_bounds(mint, maxt);
        }
    }
}
