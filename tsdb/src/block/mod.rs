//! Blocks: immutable directories `<ULID>/` with `meta.json`, `index` and `chunks/`, written by
//! compaction and import and read through memory maps (layouts in `tsdb/docs/format/`).

mod meta;

#[cfg(test)]
mod tests;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use model::{Labels, Matcher};

pub use meta::{BlockMeta, BlockStats, Compaction, new_ulid};

use crate::chunks::{ChunkMeta, ChunkReader, ChunkWriter};
use crate::error::{Error, Result};
use crate::index::{IndexReader, IndexWriter};
use crate::postings::{label_names_of, label_values_of, postings_for_matchers};

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
}

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
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
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

    /// Bytes on disk (index, chunks, meta).
    pub fn size_bytes(&self) -> u64 {
        self.index.size_bytes()
            + self.chunks.size_bytes()
            + fs::metadata(self.dir.join(meta::META_FILE)).map_or(0, |m| m.len())
    }

    /// Series matching `matchers` with the chunks that overlap `[mint, maxt]`, sorted by labels.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<(Labels, Vec<ChunkMeta>)>> {
        let ids = postings_for_matchers(&self.index, matchers)?;
        let mut out = Vec::with_capacity(ids.len() as usize);
        let mut metas = Vec::new();
        for id in ids.iter() {
            let labels = self.index.series(id, &mut metas)?;
            let keep: Vec<ChunkMeta> = metas
                .iter()
                .filter(|c| c.maxt >= mint && c.mint <= maxt)
                .cloned()
                .collect();
            if !keep.is_empty() {
                out.push((labels, keep));
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
