//! Rebuilding agent storage at start-up: the newest checkpoint's series, then every segment
//! after it (series records, and samples for each series' last sample and each segment's
//! newest sample time). Damage stops replay at the damaged record: the WAL is cut there
//! (logged and counted) and everything before it is kept.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use model::Labels;
use model::metrics::Counter;

use crate::error::Result;
use crate::wal::{self, RecordDecoder, RecordType, RefSample, RefSeries, WalReader};

pub(super) struct ReplayedSeries {
    pub r: u64,
    pub labels: Labels,
    pub last_t: i64,
    pub last_v: u64,
    pub last_seg: u32,
}

pub(super) struct Replayed {
    pub series: Vec<ReplayedSeries>,
    pub max_ref: Option<u64>,
    pub segment_max: BTreeMap<u32, i64>,
    pub max_time: i64,
    pub samples: u64,
}

#[derive(Default)]
struct State {
    series: HashMap<u64, ReplayedSeries>,
    /// Label set → reference, so a label set logged again under a new reference (after
    /// truncation dropped the old one) keeps only the newest.
    refs: HashMap<Labels, u64>,
    max_ref: Option<u64>,
    segment_max: BTreeMap<u32, i64>,
    max_time: i64,
    samples: u64,
    decoder: RecordDecoder,
    series_buf: Vec<RefSeries>,
    samples_buf: Vec<RefSample>,
}

pub(super) fn replay(wal_dir: &Path, corruptions: &Counter) -> Result<Replayed> {
    let mut st = State {
        max_time: i64::MIN,
        ..State::default()
    };
    let mut first = 0u32;
    if let Some((cp, idx)) = wal::last_checkpoint(wal_dir)? {
        if let Some((a, b)) = wal::segment_range(&cp)? {
            for seg in a..=b {
                // Checkpoint records count as belonging to the checkpoint's last segment.
                if !replay_segment(&cp, seg, idx, &mut st, corruptions)? {
                    break;
                }
            }
        }
        first = idx.saturating_add(1);
    }
    if let Some((a, b)) = wal::segment_range(wal_dir)? {
        for seg in a.max(first)..=b {
            if !replay_segment(wal_dir, seg, seg, &mut st, corruptions)? {
                break;
            }
        }
    }
    Ok(Replayed {
        series: st.series.into_values().collect(),
        max_ref: st.max_ref,
        segment_max: st.segment_max,
        max_time: st.max_time,
        samples: st.samples,
    })
}

/// Replays one segment file; false when it was damaged (and repaired: nothing after it may
/// be read, as the segments after a cut are deleted).
fn replay_segment(
    dir: &Path,
    seg: u32,
    as_seg: u32,
    st: &mut State,
    corruptions: &Counter,
) -> Result<bool> {
    if !dir.join(format!("{seg:08}")).exists() {
        // A gap in the numbering (an interrupted truncation): nothing to read there.
        return Ok(true);
    }
    let mut reader = WalReader::open(dir, seg, seg)?;
    loop {
        let rec = match reader.next_record() {
            None => return Ok(true),
            Some(Ok(rec)) => rec,
            Some(Err(e)) if e.is_corruption() => {
                corruptions.inc();
                tracing::warn!(error = %e, "damaged agent WAL: replayed everything before the damage and cutting the rest");
                drop(reader);
                let dropped = wal::repair(dir, &e)?;
                tracing::warn!(bytes = dropped, dir = %dir.display(), "agent WAL repaired");
                return Ok(false);
            }
            Some(Err(e)) => return Err(e),
        };
        match wal::record_type(rec) {
            Some(RecordType::Series) => {
                if let Err(e) = st.decoder.series(rec, &mut st.series_buf) {
                    tracing::warn!(error = %e, "skipping an undecodable WAL series record");
                    continue;
                }
                for rs in st.series_buf.drain(..) {
                    if rs.labels.is_empty() {
                        continue;
                    }
                    st.max_ref = Some(st.max_ref.map_or(rs.r, |m| m.max(rs.r)));
                    if let Some(old) = st.refs.insert(rs.labels.clone(), rs.r)
                        && old != rs.r
                    {
                        st.series.remove(&old);
                    }
                    let e = st.series.entry(rs.r).or_insert(ReplayedSeries {
                        r: rs.r,
                        labels: rs.labels.clone(),
                        last_t: i64::MIN,
                        last_v: 0,
                        last_seg: as_seg,
                    });
                    e.last_seg = e.last_seg.max(as_seg);
                }
            }
            Some(RecordType::Samples) => {
                if let Err(e) = st.decoder.samples(rec, &mut st.samples_buf) {
                    tracing::warn!(error = %e, "skipping an undecodable WAL samples record");
                    continue;
                }
                let mut newest = i64::MIN;
                for s in st.samples_buf.drain(..) {
                    let Some(e) = st.series.get_mut(&s.r) else {
                        continue;
                    };
                    if s.t >= e.last_t {
                        e.last_t = s.t;
                        e.last_v = s.v.to_bits();
                    }
                    e.last_seg = e.last_seg.max(as_seg);
                    newest = newest.max(s.t);
                    st.samples += 1;
                }
                if newest != i64::MIN {
                    let m = st.segment_max.entry(as_seg).or_insert(i64::MIN);
                    *m = (*m).max(newest);
                    st.max_time = st.max_time.max(newest);
                }
            }
            // Agent storage never deletes; nothing else is meaningful here.
            Some(RecordType::Tombstones) | None => {}
        }
    }
}
