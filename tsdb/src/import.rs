//! Backfilling: turning a stream of timestamped samples into blocks, for any time range.
//!
//! Samples are grouped into aligned block-range windows (2h by default); each window becomes
//! one level-1 block whose time range is that of its samples. Blocks are written into the data
//! directory directly, so they are not subject to the head's out-of-bounds rule: history older
//! than the retention or older than what the head holds can be imported. A running store
//! picks new blocks up at its next maintenance; blocks that overlap existing data are merged
//! by compaction (samples with the same timestamp are de-duplicated).
//!
//! Input order: the samples of each series in time order (the OpenMetrics backfill format
//! writes each series contiguously). A sample at or before its series' previous one is
//! skipped and counted. Memory grows with the compressed size of the input (about 1–2 bytes a
//! sample), since every window stays open until the input ends.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use model::Labels;

use crate::block::{BlockMeta, Compaction, SeriesChunks, write_block};
use crate::chunkenc::{Encoding, XorAppender};
use crate::error::{Error, Result};

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportStats {
    pub blocks: Vec<BlockMeta>,
    pub samples: u64,
    pub series: u64,
    /// Samples at or before their series' previous timestamp, not imported.
    pub skipped_out_of_order: u64,
}

#[derive(Default)]
struct SeriesBuild {
    chunks: Vec<(i64, i64, u8, Vec<u8>, u32)>,
    open: Option<XorAppender>,
    last_t: Option<i64>,
}

impl SeriesBuild {
    fn push(&mut self, t: i64, v: f64, per_chunk: usize) {
        let app = self.open.get_or_insert_with(XorAppender::new);
        if app.num_samples() >= per_chunk {
            let full = std::mem::take(app);
            self.chunks.push(seal(full));
        }
        let app = self.open.as_mut().expect("open chunk");
        app.append(t, v);
        self.last_t = Some(t);
    }

    fn finish(mut self) -> Vec<(i64, i64, u8, Vec<u8>, u32)> {
        if let Some(app) = self.open.take().filter(|a| a.num_samples() > 0) {
            self.chunks.push(seal(app));
        }
        self.chunks
    }
}

fn seal(app: XorAppender) -> (i64, i64, u8, Vec<u8>, u32) {
    let (mint, maxt, n) = (app.first_time(), app.last_time(), app.num_samples() as u32);
    (mint, maxt, Encoding::Xor as u8, app.into_bytes(), n)
}

/// Imports `samples` as blocks into `dir`, one block per aligned `block_range_ms` window.
pub fn import<E: std::fmt::Display>(
    dir: &Path,
    block_range_ms: i64,
    samples: impl Iterator<Item = std::result::Result<(Labels, i64, f64), E>>,
) -> Result<ImportStats> {
    if block_range_ms <= 0 {
        return Err(Error::InvalidArgument(
            "block range must be positive".into(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut windows: BTreeMap<i64, HashMap<Labels, SeriesBuild>> = BTreeMap::new();
    let mut stats = ImportStats::default();
    let mut all_series: HashMap<Labels, Option<i64>> = HashMap::new();
    for item in samples {
        let (labels, t, v) = item.map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let last = all_series.entry(labels.clone()).or_insert(None);
        if last.is_some_and(|l| t <= l) {
            stats.skipped_out_of_order += 1;
            continue;
        }
        *last = Some(t);
        let w = t.div_euclid(block_range_ms) * block_range_ms;
        windows
            .entry(w)
            .or_default()
            .entry(labels)
            .or_default()
            .push(t, v, 120);
        stats.samples += 1;
    }
    stats.series = all_series.len() as u64;
    for (_, series) in windows {
        let mut list: Vec<(Labels, SeriesBuild)> = series.into_iter().collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        let mint = list
            .iter()
            .filter_map(|(_, s)| {
                s.chunks
                    .first()
                    .map(|c| c.0)
                    .or_else(|| s.open.as_ref().map(|a| a.first_time()))
            })
            .min();
        let maxt = list.iter().filter_map(|(_, s)| s.last_t).max();
        let (Some(mint), Some(maxt)) = (mint, maxt) else {
            continue;
        };
        let iter = list.into_iter().map(|(labels, s)| {
            Ok(SeriesChunks {
                labels,
                chunks: s.finish(),
            })
        });
        stats.blocks.push(write_block(
            dir,
            mint,
            maxt + 1,
            Compaction {
                level: 1,
                sources: Vec::new(),
                backfill: true,
            },
            iter,
        )?);
    }
    Ok(stats)
}
