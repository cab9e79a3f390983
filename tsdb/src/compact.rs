//! Compaction: writing the head's oldest range as a block, and merging blocks.
//!
//! Level-1 blocks hold one block range (2h by default) cut from the head. Blocks are merged
//! into larger ones over time: ranges grow by a factor of 3 (6h, 18h, 54h, ...), capped at a
//! tenth of the retention time and at 31 days. Blocks whose time ranges overlap (after a
//! backfill) are merged first, whatever their size ("vertical" compaction). The newest block
//! is never merged, as Prometheus does, so that it can still be copied away as it is.
//!
//! Every write leaves deleted samples (tombstones) out: head ranges, merges, and the rewrite
//! of a single block by `clean_tombstones`.

use std::path::Path;
use std::sync::Arc;

use crate::block::{Block, BlockMeta, BlockSeries, Compaction, SeriesChunks, write_block};
use crate::chunkenc::{Encoding, encode_columns, num_samples};
use crate::error::{Error, Result};
use crate::head::Head;
use crate::querier::{ChunkSpan, merge_chunk_samples};

/// One chunk ready to be written: (mint, maxt, encoding, bytes, samples).
type OutChunk = (i64, i64, u8, Vec<u8>, u32);

/// Encodes time-ordered samples into column chunks of `per_chunk` samples (block files
/// store that encoding).
pub(crate) fn encode_chunks(samples: &[(i64, f64)], per_chunk: usize) -> Vec<OutChunk> {
    let mut out = Vec::with_capacity(samples.len().div_ceil(per_chunk.max(1)));
    for part in samples.chunks(per_chunk.max(1)) {
        let mut bytes = Vec::new();
        encode_columns(part, &mut bytes);
        let (mint, maxt) = (part[0].0, part[part.len() - 1].0);
        out.push((
            mint,
            maxt,
            Encoding::Columns as u8,
            bytes,
            part.len() as u32,
        ));
    }
    out
}

/// Copies chunks that do not overlap, lie within `[mint, maxt]` and hold no deleted samples;
/// otherwise decodes, merges (leaving deleted samples out) and re-encodes.
fn combine(
    mut chunks: Vec<ChunkSpan>,
    mint: i64,
    maxt: i64,
    per_chunk: usize,
) -> Result<Vec<OutChunk>> {
    chunks.sort_by_key(|c| c.mint);
    let clean = chunks.windows(2).all(|w| w[1].mint > w[0].maxt)
        && chunks
            .iter()
            .all(|c| c.mint >= mint && c.maxt <= maxt && !c.has_deleted());
    if clean {
        return Ok(chunks
            .iter()
            .map(|c| {
                let bytes = c.data.as_ref();
                (
                    c.mint,
                    c.maxt,
                    c.enc as u8,
                    bytes.to_vec(),
                    num_samples(c.enc, bytes) as u32,
                )
            })
            .collect());
    }
    let samples = merge_chunk_samples(chunks.iter().map(ChunkSpan::parts), mint, maxt)
        .map_err(|e| Error::InvalidArgument(format!("unreadable chunk during compaction: {e}")))?;
    Ok(encode_chunks(&samples, per_chunk))
}

/// Writes head data in `[mint, maxt)` as a level-1 block. `None` if there was none.
pub(crate) fn write_head_block(
    dir: &Path,
    head: &Head,
    mint: i64,
    maxt: i64,
) -> Result<Option<BlockMeta>> {
    let series = head.series_in_range(mint, maxt - 1);
    if series.is_empty() {
        return Ok(None);
    }
    let per_chunk = head.options().samples_per_chunk;
    let iter = series.into_iter().map(|h| {
        let spans: Vec<ChunkSpan> = head.chunks_of(&h, mint, maxt - 1)?;
        let chunks = combine(spans, mint, maxt - 1, per_chunk)?;
        Ok(SeriesChunks {
            labels: h.labels(),
            chunks,
        })
    });
    write_block(
        dir,
        mint,
        maxt,
        Compaction {
            level: 1,
            sources: Vec::new(),
            backfill: false,
        },
        iter,
    )
    .map(Some)
}

/// A position in one block's series list (series ids are dense, in label order).
struct Cursor<'a> {
    block: &'a Block,
    next: u32,
    cur: Option<BlockSeries>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<()> {
        self.cur = None;
        if self.next < self.block.index().num_series() {
            let mut metas = Vec::new();
            let labels = self.block.index().series(self.next, &mut metas)?;
            let deleted = self.block.deleted(self.next);
            self.next += 1;
            self.cur = Some((labels, metas, deleted));
        }
        Ok(())
    }
}

/// Merges `blocks` into one new block in `dir`, leaving out deleted samples; the sources are
/// left for the caller to delete.
pub(crate) fn merge_blocks(
    dir: &Path,
    blocks: &[Arc<Block>],
    per_chunk: usize,
) -> Result<BlockMeta> {
    let level = blocks
        .iter()
        .map(|b| b.meta().compaction.level)
        .max()
        .unwrap_or(1)
        + 1;
    let mut sources: Vec<String> = blocks
        .iter()
        .flat_map(|b| {
            let s = &b.meta().compaction.sources;
            if s.is_empty() {
                vec![b.meta().ulid.clone()]
            } else {
                s.clone()
            }
        })
        .collect();
    sources.sort();
    sources.dedup();
    // Only a merge of backfilled blocks alone is still a backfill.
    let backfill = blocks.iter().all(|b| b.meta().compaction.backfill);
    let compaction = Compaction {
        level,
        sources,
        backfill,
    };
    write_merged(dir, blocks, per_chunk, compaction)
}

/// Writes `block` again without its deleted samples, as the same level and sources under a
/// new name (`clean_tombstones`); the old block is left for the caller to delete.
pub(crate) fn rewrite_block(dir: &Path, block: &Arc<Block>, per_chunk: usize) -> Result<BlockMeta> {
    let mut compaction = block.meta().compaction.clone();
    if compaction.sources.is_empty() {
        compaction.sources = vec![block.meta().ulid.clone()];
    }
    write_merged(dir, std::slice::from_ref(block), per_chunk, compaction)
}

/// Writes the series of `blocks`, merged by label set, as one block covering their ranges.
fn write_merged(
    dir: &Path,
    blocks: &[Arc<Block>],
    per_chunk: usize,
    compaction: Compaction,
) -> Result<BlockMeta> {
    let mint = blocks.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let maxt = blocks.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let mut cursors: Vec<Cursor<'_>> = blocks
        .iter()
        .map(|b| Cursor {
            block: b,
            next: 0,
            cur: None,
        })
        .collect();
    for c in cursors.iter_mut() {
        c.advance()?;
    }
    let mut failed = false;
    let iter = std::iter::from_fn(|| {
        if failed {
            return None;
        }
        let min = cursors
            .iter()
            .filter_map(|c| c.cur.as_ref().map(|x| &x.0))
            .min()?
            .clone();
        let mut spans: Vec<ChunkSpan> = Vec::new();
        for c in cursors.iter_mut() {
            if c.cur.as_ref().is_some_and(|x| x.0 == min) {
                let (_, metas, deleted) = c.cur.take().expect("checked");
                for m in metas {
                    if deleted.as_ref().is_some_and(|d| d.covers(m.mint, m.maxt)) {
                        continue;
                    }
                    match c.block.chunks().chunk(m.r) {
                        Ok((enc, data)) => spans.push(ChunkSpan {
                            mint: m.mint,
                            maxt: m.maxt,
                            enc,
                            data,
                            deleted: deleted.clone(),
                        }),
                        Err(e) => {
                            failed = true;
                            return Some(Err(e));
                        }
                    }
                }
                if let Err(e) = c.advance() {
                    failed = true;
                    return Some(Err(e));
                }
            }
        }
        Some(
            combine(spans, mint, maxt - 1, per_chunk).map(|chunks| SeriesChunks {
                labels: min,
                chunks,
            }),
        )
    });
    write_block(dir, mint, maxt, compaction, iter)
}

/// The merge ranges for a block range and an optional retention: 3×, 9×, 27×, ... the block
/// range, up to a tenth of the retention and at most 31 days.
pub(crate) fn merge_ranges(block_range: i64, retention_ms: Option<i64>) -> Vec<i64> {
    let cap = retention_ms
        .filter(|r| *r > 0)
        .map_or(31 * 86_400_000, |r| (r / 10).min(31 * 86_400_000));
    let mut out = Vec::new();
    let mut r = block_range.saturating_mul(3);
    while r <= cap && block_range > 0 {
        out.push(r);
        r = r.saturating_mul(3);
    }
    out
}

/// Picks the next set of blocks to merge (sorted by min time on input), or `None`.
pub(crate) fn plan(blocks: &[Arc<Block>], ranges: &[i64]) -> Option<Vec<Arc<Block>>> {
    // 1. Overlapping blocks: merge each overlapping run.
    let mut i = 0;
    while i < blocks.len() {
        let mut j = i + 1;
        let mut end = blocks[i].meta().max_time;
        while j < blocks.len() && blocks[j].meta().min_time < end {
            end = end.max(blocks[j].meta().max_time);
            j += 1;
        }
        if j - i > 1 {
            return Some(blocks[i..j].to_vec());
        }
        i = j;
    }
    // 2. Leveled: blocks inside one aligned window of a larger range, leaving the newest out.
    if blocks.len() < 2 {
        return None;
    }
    let newest_end = blocks.iter().map(|b| b.meta().max_time).max()?;
    let candidates = &blocks[..blocks.len() - 1];
    for &r in ranges {
        let mut k = 0;
        while k < candidates.len() {
            let w = candidates[k].meta().min_time.div_euclid(r) * r;
            let mut group = Vec::new();
            while k < candidates.len()
                && candidates[k].meta().min_time >= w
                && candidates[k].meta().max_time <= w + r
            {
                group.push(candidates[k].clone());
                k += 1;
            }
            if group.is_empty() {
                k += 1;
                continue;
            }
            let spans_window = group.len() > 1 && (w + r <= newest_end);
            if spans_window {
                return Some(group);
            }
        }
    }
    None
}
