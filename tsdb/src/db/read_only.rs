//! The blocks of a data directory, read without taking the store: for tools that look at a
//! store a running daemon holds. Nothing is written, moved or deleted; the head (the newest
//! data, in the WAL and head chunks) is not read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::metrics::Counter;
use model::{Querier, Queryable};

use super::{DbQuerier, block_dirs, obsolete_blocks};
use crate::block::Block;
use crate::error::Result;

/// The readable blocks of a data directory, as they were when opened.
pub struct ReadOnlyBlocks {
    blocks: Vec<Arc<Block>>,
    /// Block directories that could not be opened (damaged, or deleted by the daemon's
    /// compaction or retention while being listed), with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    chunk_read_errors: Arc<Counter>,
}

impl ReadOnlyBlocks {
    /// Opens every block directory of `dir`. A block that cannot be opened is skipped and
    /// listed in [`ReadOnlyBlocks::skipped`]; a block already merged into another (a merge
    /// whose sources are not deleted yet) is left out, so no sample is read twice.
    pub fn open(dir: &Path) -> Result<ReadOnlyBlocks> {
        let mut blocks = Vec::new();
        let mut skipped = Vec::new();
        for path in block_dirs(dir)? {
            match Block::open(&path) {
                Ok(b) => blocks.push(Arc::new(b)),
                Err(e) => skipped.push((path, e.to_string())),
            }
        }
        for i in obsolete_blocks(&blocks).into_iter().rev() {
            blocks.remove(i);
        }
        blocks.sort_by_key(|b| b.meta().min_time);
        Ok(ReadOnlyBlocks {
            blocks,
            skipped,
            chunk_read_errors: Arc::new(Counter::default()),
        })
    }

    /// The blocks, oldest first.
    pub fn blocks(&self) -> &[Arc<Block>] {
        &self.blocks
    }
}

impl Queryable for ReadOnlyBlocks {
    fn querier(&self, mint: i64, maxt: i64) -> std::result::Result<Box<dyn Querier>, model::Error> {
        let blocks = self
            .blocks
            .iter()
            .filter(|b| b.meta().min_time <= maxt && b.meta().max_time > mint)
            .cloned()
            .collect();
        Ok(Box::new(DbQuerier::new(
            blocks,
            None,
            mint,
            maxt,
            self.chunk_read_errors.clone(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Db, DbOptions};
    use model::metrics::Registry;
    use model::{Labels, MatchType, Matcher, SelectHints};

    fn values(q: &dyn Queryable, name: &str) -> Vec<(i64, f64)> {
        let m = Matcher::new(MatchType::Equal, "__name__", name).unwrap();
        let querier = q.querier(i64::MIN, i64::MAX).unwrap();
        let mut out = Vec::new();
        for s in querier.select(&SelectHints::default(), &[m]).unwrap() {
            let mut it = s.iter();
            while it.next() {
                out.push(it.at());
            }
        }
        out
    }

    #[test]
    fn reads_the_blocks_of_a_store_another_process_holds_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let labels = Labels::from_pairs([("__name__", "load")]);
        // Two blocks of one hour.
        let samples = (0..8).map(|i| Ok::<_, String>((labels.clone(), i * 900_000, i as f64)));
        crate::import::import(dir.path(), 3_600_000, samples).unwrap();
        let db = Db::open(dir.path(), DbOptions::default(), &Registry::new()).unwrap();
        let mut head = db.appender();
        head.append(None, &labels, 8 * 900_000, 8.0).unwrap();
        head.commit().unwrap();

        let before: Vec<_> = walk(dir.path());
        let ro = ReadOnlyBlocks::open(dir.path()).unwrap();
        assert_eq!(ro.blocks().len(), 2);
        assert!(ro.skipped.is_empty());
        let got = values(&ro, "load");
        let want: Vec<_> = (0..8).map(|i| (i * 900_000, i as f64)).collect();
        assert_eq!(got, want, "the blocks' samples, not the head's");
        assert_eq!(values(db.as_ref(), "load").len(), 9);
        assert_eq!(walk(dir.path()), before);
        db.close().unwrap();
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
        out.sort();
        out
    }
}
