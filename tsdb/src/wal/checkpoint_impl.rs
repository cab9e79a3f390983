//! Checkpoints: the live part of old WAL segments, rewritten so the segments can go.
//!
//! `checkpoint.NNNNNNNN/` holds, in WAL segment format, the series records of the series still
//! in the head and their samples and deleted ranges (tombstones) from `mint` on, taken from the previous checkpoint and
//! segments up to `NNNNNNNN`. Replay reads the newest checkpoint, then the segments after it.
//! A checkpoint is written into `checkpoint.NNNNNNNN.tmp/` and renamed into place when
//! complete, so a crash leaves either the old checkpoint or the new one.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::{
    RecordDecoder, RecordType, RefSample, RefSeries, RefTombstone, SyncPolicy, Wal, WalOptions,
    WalReader, encode_samples, encode_series, encode_tombstones, record_type, segment_range,
    sync_dir,
};
use crate::error::{Error, Result};

/// What a checkpoint kept and dropped.
#[derive(Debug, Default, Clone, Copy)]
pub struct CheckpointStats {
    pub dropped_series: usize,
    pub dropped_samples: usize,
    pub kept_series: usize,
    pub kept_samples: usize,
}

const PREFIX: &str = "checkpoint.";

/// The newest complete checkpoint directory and the segment number it covers.
pub fn last_checkpoint(wal_dir: &Path) -> Result<Option<(PathBuf, u32)>> {
    let rd = match fs::read_dir(wal_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(wal_dir, e)),
    };
    let mut best: Option<(PathBuf, u32)> = None;
    for e in rd {
        let e = e.map_err(|e| Error::io(wal_dir, e))?;
        let name = e.file_name().to_string_lossy().to_string();
        let Some(num) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Ok(n) = num.parse::<u32>() else { continue };
        if num.len() != 8 || !e.path().is_dir() {
            continue;
        }
        if best.as_ref().is_none_or(|(_, b)| n > *b) {
            best = Some((e.path(), n));
        }
    }
    Ok(best)
}

const BATCH: usize = 10_000;

/// Writes `checkpoint.<to>` from the last checkpoint and segments `from..=to`, keeping series
/// for which `keep_series` is true and their samples with `t >= mint` (and tombstones reaching
/// `mint`, cut to start there); then deletes older
/// checkpoints. WAL segments are left for the caller to delete.
pub fn checkpoint(
    wal_dir: &Path,
    from: u32,
    to: u32,
    keep_series: &dyn Fn(u64) -> bool,
    mint: i64,
) -> Result<CheckpointStats> {
    let final_dir = wal_dir.join(format!("{PREFIX}{to:08}"));
    let tmp_dir = wal_dir.join(format!("{PREFIX}{to:08}.tmp"));
    if tmp_dir.exists() {
        fs::remove_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
    }
    let out = Wal::open(
        &tmp_dir,
        WalOptions {
            sync: SyncPolicy::Never,
            ..WalOptions::default()
        },
        None,
    )?;
    let mut stats = CheckpointStats::default();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut dec = RecordDecoder::new();
    let mut series_in: Vec<RefSeries> = Vec::new();
    let mut samples_in: Vec<RefSample> = Vec::new();
    let mut stones_in: Vec<RefTombstone> = Vec::new();
    let mut out_recs = Out::default();
    let mut buf = Vec::new();

    let mut sources: Vec<(PathBuf, u32, u32)> = Vec::new();
    if let Some((cp, _)) = last_checkpoint(wal_dir)?
        && let Some((a, b)) = segment_range(&cp)?
    {
        sources.push((cp, a, b));
    }
    if from <= to {
        sources.push((wal_dir.to_path_buf(), from, to));
    }
    for (dir, a, b) in sources {
        let mut reader = WalReader::open(&dir, a, b)?;
        while let Some(rec) = reader.next_record() {
            let rec = rec?;
            match record_type(rec) {
                Some(RecordType::Series) => {
                    dec.series(rec, &mut series_in)?;
                    for s in series_in.drain(..) {
                        if !keep_series(s.r) {
                            stats.dropped_series += 1;
                        } else if seen.insert(s.r) {
                            stats.kept_series += 1;
                            out_recs.series.push(s);
                        }
                    }
                }
                Some(RecordType::Samples) => {
                    dec.samples(rec, &mut samples_in)?;
                    for s in samples_in.drain(..) {
                        if s.t >= mint && keep_series(s.r) {
                            stats.kept_samples += 1;
                            out_recs.samples.push(s);
                        } else {
                            stats.dropped_samples += 1;
                        }
                    }
                }
                Some(RecordType::Tombstones) => {
                    dec.tombstones(rec, &mut stones_in)?;
                    for t in stones_in.drain(..) {
                        if t.maxt >= mint && keep_series(t.r) {
                            out_recs.tombstones.push(RefTombstone {
                                mint: t.mint.max(mint),
                                ..t
                            });
                        }
                    }
                }
                None => {}
            }
            // Series go out before the samples that follow them.
            if out_recs.len() >= BATCH {
                out_recs.flush(&out, &mut buf)?;
            }
        }
    }
    out_recs.flush(&out, &mut buf)?;
    out.close()?;
    sync_dir(&tmp_dir)?;
    if final_dir.exists() {
        fs::remove_dir_all(&final_dir).map_err(|e| Error::io(&final_dir, e))?;
    }
    fs::rename(&tmp_dir, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
    sync_dir(wal_dir)?;
    // Older checkpoints and leftovers are no longer needed.
    for e in fs::read_dir(wal_dir)
        .map_err(|e| Error::io(wal_dir, e))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(rest) = name.strip_prefix(PREFIX) {
            let n = rest
                .trim_end_matches(".tmp")
                .parse::<u32>()
                .unwrap_or(u32::MAX);
            if n < to || (rest.ends_with(".tmp") && e.path() != tmp_dir) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(stats)
}

/// Records waiting to be written to the checkpoint, in the order they must go out.
#[derive(Default)]
struct Out {
    series: Vec<RefSeries>,
    samples: Vec<RefSample>,
    tombstones: Vec<RefTombstone>,
}

impl Out {
    fn len(&self) -> usize {
        self.series
            .len()
            .max(self.samples.len())
            .max(self.tombstones.len())
    }

    fn flush(&mut self, out: &Wal, buf: &mut Vec<u8>) -> Result<()> {
        if !self.series.is_empty() {
            buf.clear();
            encode_series(&self.series, buf);
            out.log(&[buf])?;
            self.series.clear();
        }
        if !self.samples.is_empty() {
            buf.clear();
            encode_samples(&self.samples, buf);
            out.log(&[buf])?;
            self.samples.clear();
        }
        if !self.tombstones.is_empty() {
            buf.clear();
            encode_tombstones(&self.tombstones, buf);
            out.log(&[buf])?;
            self.tombstones.clear();
        }
        Ok(())
    }
}
