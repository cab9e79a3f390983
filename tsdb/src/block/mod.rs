//! Blocks: immutable directories `<ULID>/` with `meta.json`, `index` and `chunks/`, written by
//! compaction and import and read through memory maps (layouts in `tsdb/docs/format/`). The
//! one part that changes is the `tombstones` file: ranges deleted since the block was written.

mod meta;

#[cfg(test)]
mod tests;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::{Labels, Matcher};
use parking_lot::RwLock;

pub use meta::{BlockMeta, BlockStats, Compaction, new_ulid};

use crate::chunks::{ChunkMeta, ChunkReader, ChunkWriter};
use crate::error::{Error, Result};
use crate::index::{IndexReader, IndexWriter};
use crate::postings::{label_names_of, label_values_of, postings_for_matchers};
use crate::tombstones::{Intervals, Tombstones};

/// One chunk to write: (mint, maxt, encoding, bytes, samples).
pub type ChunkToWrite = (i64, i64, u8, Vec<u8>, u32);

/// A series and its chunks, as block writers take them.
#[derive(Debug, Clone)]
pub struct SeriesChunks {
    pub labels: Labels,
    pub chunks: Vec<ChunkToWrite>,
}

fn sync_dir(p: &Path) -> Result<()> {
    File::open(p)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(p, e))
}

/// Writes a block into `parent` from series sorted by labels; series without chunks are
/// skipped. The block appears under its final name only when complete and synced. Empty
/// `compaction.sources` (a new level-1 block) become the block's own ULID.
pub fn write_block(
    parent: &Path,
    min_time: i64,
    max_time: i64,
    compaction: Compaction,
    series: impl Iterator<Item = Result<SeriesChunks>>,
) -> Result<BlockMeta> {
    let ulid = new_ulid();
    let tmp = parent.join(format!("{ulid}.tmp"));
    let dir = parent.join(&ulid);
    fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = (|| {
        let mut cw = ChunkWriter::create(&tmp.join("chunks"))?;
        let mut iw = IndexWriter::create(&tmp.join("index"))?;
        let mut stats = BlockStats::default();
        let mut metas = Vec::new();
        for s in series {
            let s = s?;
            if s.chunks.is_empty() {
                continue;
            }
            metas.clear();
            for (mint, maxt, enc, bytes, n) in &s.chunks {
                let r = cw.write(*enc, bytes)?;
                metas.push(ChunkMeta {
                    mint: *mint,
                    maxt: *maxt,
                    r,
                });
                stats.num_samples += *n as u64;
                stats.num_chunks += 1;
            }
            iw.add_series(&s.labels, &metas)?;
            stats.num_series += 1;
        }
        cw.finish()?;
        iw.finish()?;
        let mut compaction = compaction;
        if compaction.sources.is_empty() {
            compaction.sources = vec![ulid.clone()];
        }
        let meta = BlockMeta {
            ulid: ulid.clone(),
            min_time,
            max_time,
            stats,
            compaction,
            version: 1,
        };
        meta.write(&tmp)?;
        sync_dir(&tmp.join("chunks"))?;
        sync_dir(&tmp)?;
        Ok(meta)
    })();
    match result {
        Ok(meta) => {
            fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))?;
            sync_dir(parent)?;
            Ok(meta)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// An open block.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    tombstones: RwLock<Tombstones>,
}

/// A series a block holds: labels, the chunks that are not wholly deleted, deleted ranges.
pub type BlockSeries = (Labels, Vec<ChunkMeta>, Option<Arc<Intervals>>);

impl Block {
    /// Opens and validates a block directory; any damage is an error naming the file.
    pub fn open(dir: &Path) -> Result<Block> {
        let meta = BlockMeta::read(dir)?;
        let index = IndexReader::open(&dir.join("index"))?;
        let chunks = ChunkReader::open(&dir.join("chunks"))?;
        if index.num_series() as u64 != meta.stats.num_series {
            return Err(Error::corruption(
                dir.join("index"),
                0,
                format!(
                    "index has {} series, meta.json says {}",
                    index.num_series(),
                    meta.stats.num_series
                ),
            ));
        }
        let tombstones = RwLock::new(Tombstones::read(dir)?);
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones,
        })
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    pub fn chunks(&self) -> &ChunkReader {
        &self.chunks
    }

    /// The deleted ranges of series `id` (an index series id), if any.
    pub fn deleted(&self, id: u32) -> Option<Arc<Intervals>> {
        let t = self.tombstones.read();
        if t.is_empty() {
            return None;
        }
        t.get(u64::from(id)).cloned()
    }

    /// Series with deleted ranges.
    pub fn num_tombstones(&self) -> usize {
        self.tombstones.read().len()
    }

    /// Deletes `[mint, maxt]` (cut to the block's range) of the series matching `matchers`
    /// that have samples there: the ranges go to the `tombstones` file (replaced atomically)
    /// before reads skip them. Returns how many series gained a deleted range.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize> {
        let (lo, hi) = (
            mint.max(self.meta.min_time),
            maxt.min(self.meta.max_time - 1),
        );
        if lo > hi {
            return Ok(0);
        }
        let ids = postings_for_matchers(&self.index, matchers)?;
        let mut t = self.tombstones.write();
        let mut next = t.clone();
        let mut metas = Vec::new();
        let mut n = 0;
        for id in ids.iter() {
            self.index.series(id, &mut metas)?;
            let Some(first) = metas.iter().map(|c| c.mint).min() else {
                continue;
            };
            let last = metas.iter().map(|c| c.maxt).max().unwrap_or(first);
            let (a, b) = (lo.max(first), hi.min(last));
            if a <= b && !next.get(u64::from(id)).is_some_and(|iv| iv.covers(a, b)) {
                next.add(u64::from(id), a, b);
                n += 1;
            }
        }
        if n > 0 {
            next.write(&self.dir)?;
            *t = next;
        }
        Ok(n)
    }

    /// Bytes on disk (index, chunks, meta).
    pub fn size_bytes(&self) -> u64 {
        self.index.size_bytes()
            + self.chunks.size_bytes()
            + fs::metadata(self.dir.join(meta::META_FILE)).map_or(0, |m| m.len())
    }

    /// Series matching `matchers` with the chunks that overlap `[mint, maxt]` and are not
    /// wholly deleted, and their deleted ranges; sorted by labels.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<BlockSeries>> {
        let ids = postings_for_matchers(&self.index, matchers)?;
        let mut out = Vec::with_capacity(ids.len() as usize);
        let mut metas = Vec::new();
        for id in ids.iter() {
            let labels = self.index.series(id, &mut metas)?;
            let deleted = self.deleted(id);
            let keep: Vec<ChunkMeta> = metas
                .iter()
                .filter(|c| c.maxt >= mint && c.mint <= maxt)
                .filter(|c| !deleted.as_ref().is_some_and(|d| d.covers(c.mint, c.maxt)))
                .cloned()
                .collect();
            if !keep.is_empty() {
                out.push((labels, keep, deleted));
            }
        }
        Ok(out)
    }

    /// Label names of series matching `matchers` (every name when empty), sorted.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.index.label_names());
        }
        let ids = postings_for_matchers(&self.index, matchers)?;
        let mut metas = Vec::new();
        label_names_of(&ids, |id| self.index.series(id, &mut metas).map(Some))
    }

    /// Values of `name` across series matching `matchers`, sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.index.label_values(name));
        }
        let ids = postings_for_matchers(&self.index, matchers)?;
        let mut metas = Vec::new();
        label_values_of(&ids, name, |id| self.index.series(id, &mut metas).map(Some))
    }
}
