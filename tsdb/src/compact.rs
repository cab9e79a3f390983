//! Compaction: writing the head's oldest range as a block, and merging blocks.
//!
//! Level-1 blocks hold one block range (2h by default) cut from the head. Blocks are merged
//! into larger ones over time: ranges grow by a factor of 3 (6h, 18h, 54h, ...), capped at a
//! tenth of the retention time and at 31 days. Blocks whose time ranges overlap (after a
//! backfill) are merged first, whatever their size ("vertical" compaction). The newest block
//! is never merged, as Prometheus does, so that it can still be copied away as it is.

use std::path::Path;
use std::sync::Arc;

use model::Labels;

use crate::block::{Block, BlockMeta, Compaction, SeriesChunks, write_block};
use crate::chunkenc::{Encoding, XorAppender, num_samples};
use crate::chunks::ChunkMeta;
use crate::error::{Error, Result};
use crate::head::Head;
use crate::querier::{ChunkSpan, merge_chunk_samples};

/// One chunk ready to be written: (mint, maxt, encoding, bytes, samples).
type OutChunk = (i64, i64, u8, Vec<u8>, u32);

/// Encodes time-ordered samples into chunks of `per_chunk` samples.
pub(crate) fn encode_chunks(samples: &[(i64, f64)], per_chunk: usize) -> Vec<OutChunk> {
    let mut out = Vec::with_capacity(samples.len().div_ceil(per_chunk.max(1)));
    for part in samples.chunks(per_chunk.max(1)) {
        let mut app = XorAppender::new();
        for &(t, v) in part {
            app.append(t, v);
        }
        let (mint, maxt) = (part[0].0, part[part.len() - 1].0);
        out.push((
            mint,
            maxt,
            Encoding::Xor as u8,
            app.into_bytes(),
            part.len() as u32,
        ));
    }
    out
}

/// Copies chunks that do not overlap and lie within `[mint, maxt]`; otherwise decodes, merges
/// and re-encodes.
fn combine(
    chunks: Vec<(i64, i64, &[u8])>,
    mint: i64,
    maxt: i64,
    per_chunk: usize,
) -> Result<Vec<OutChunk>> {
    let mut sorted = chunks;
    sorted.sort_by_key(|c| c.0);
    let clean = sorted.windows(2).all(|w| w[1].0 > w[0].1)
        && sorted.iter().all(|c| c.0 >= mint && c.1 <= maxt);
    if clean {
        return Ok(sorted
            .into_iter()
            .map(|(a, b, bytes)| {
                (
                    a,
                    b,
                    Encoding::Xor as u8,
                    bytes.to_vec(),
                    num_samples(bytes) as u32,
                )
            })
            .collect());
    }
    let samples = merge_chunk_samples(sorted.iter().map(|c| c.2), mint, maxt)
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
    let iter = series.into_iter().map(|(labels, h)| {
        let spans: Vec<ChunkSpan> = head.chunks_of(&h, mint, maxt - 1)?;
        let parts: Vec<(i64, i64, &[u8])> = spans
            .iter()
            .map(|c| (c.mint, c.maxt, c.data.as_ref()))
            .collect();
        let chunks = combine(parts, mint, maxt - 1, per_chunk)?;
        Ok(SeriesChunks { labels, chunks })
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
    cur: Option<(Labels, Vec<ChunkMeta>)>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<()> {
        self.cur = None;
        if self.next < self.block.index().num_series() {
            let mut metas = Vec::new();
            let labels = self.block.index().series(self.next, &mut metas)?;
            self.next += 1;
            self.cur = Some((labels, metas));
        }
        Ok(())
    }
}

/// Merges `blocks` into one new block in `dir`; the sources are left for the caller to delete.
pub(crate) fn merge_blocks(
    dir: &Path,
    blocks: &[Arc<Block>],
    per_chunk: usize,
) -> Result<BlockMeta> {
    let mint = blocks.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let maxt = blocks.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
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
        let mut owned: Vec<(i64, i64, crate::mmap::MmapSlice)> = Vec::new();
        for c in cursors.iter_mut() {
            if c.cur.as_ref().is_some_and(|x| x.0 == min) {
                let (_, metas) = c.cur.take().expect("checked");
                for m in metas {
                    match c.block.chunks().chunk(m.r) {
                        Ok((_, bytes)) => owned.push((m.mint, m.maxt, bytes)),
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
        let parts: Vec<(i64, i64, &[u8])> =
            owned.iter().map(|(a, b, s)| (*a, *b, s.as_ref())).collect();
        Some(
            combine(parts, mint, maxt - 1, per_chunk).map(|chunks| SeriesChunks {
                labels: min,
                chunks,
            }),
        )
    });
    write_block(
        dir,
        mint,
        maxt,
        Compaction {
            level,
            sources,
            backfill,
        },
        iter,
    )
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
