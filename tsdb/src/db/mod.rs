//! The store as a whole: the head, the blocks, and the maintenance that moves data between
//! them (compaction, merging, retention).
//!
//! On disk, a data directory holds:
//!
//! ```text
//! data/
//!   lock              held (flock) while a process has the store open
//!   wal/              WAL segments and checkpoints             (tsdb/docs/format/wal.md)
//!   chunks_head/      full head chunks, memory-mapped          (head_chunks.md)
//!   <ULID>/           one immutable block: meta.json, index, chunks/   (index.md, ...)
//!   quarantine/       blocks that could not be opened, moved aside at start-up
//! ```

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use model::metrics::{Counter, Histogram, Registry};
use model::{Appendable, Appender, Labels, Matcher, Querier, Queryable, SelectHints, Series};
use parking_lot::{Mutex, RwLock};

use crate::block::Block;
use crate::compact;
use crate::error::{Error, Result};
use crate::head::{Head, HeadOptions};
use crate::querier::{
    ChunkData, ChunkSpan, SeriesChunkList, StoredSeries, map_in_parts, merge_series_sets,
};

/// Store options. The defaults match Prometheus's.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Delete blocks whose newest sample is older than this, relative to the newest block.
    pub retention_time_ms: Option<i64>,
    /// Delete the oldest blocks while blocks, WAL and head chunks together exceed this.
    pub retention_size_bytes: Option<u64>,
    /// Head options; `head.chunk_range_ms` is the block range.
    pub head: HeadOptions,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            retention_time_ms: Some(15 * 86_400_000),
            retention_size_bytes: None,
            head: HeadOptions::default(),
        }
    }
}

struct DbMetrics {
    compactions: Arc<Counter>,
    compaction_failures: Arc<Counter>,
    compaction_duration: Arc<Histogram>,
    head_compactions: Arc<Counter>,
    blocks_quarantined: Arc<Counter>,
    retention_time_deletions: Arc<Counter>,
    retention_size_deletions: Arc<Counter>,
    chunk_read_errors: Arc<Counter>,
    deletions: Arc<Counter>,
}

impl DbMetrics {
    fn new(reg: &Registry) -> Self {
        DbMetrics {
            compactions: reg.counter(
                "vane_tsdb_compactions_total",
                "Block merges and head compactions completed.",
            ),
            compaction_failures: reg.counter(
                "vane_tsdb_compactions_failed_total",
                "Compactions that failed.",
            ),
            compaction_duration: reg.histogram(
                "vane_tsdb_compaction_duration_seconds",
                "Duration of compactions.",
                &[0.01, 0.05, 0.25, 1.0, 5.0, 25.0, 120.0, 600.0],
            ),
            head_compactions: reg.counter(
                "vane_tsdb_head_compactions_total",
                "Head ranges written as blocks.",
            ),
            blocks_quarantined: reg.counter(
                "vane_tsdb_blocks_quarantined_total",
                "Blocks that could not be opened and were moved to quarantine/.",
            ),
            retention_time_deletions: reg.counter(
                "vane_tsdb_time_retentions_total",
                "Blocks deleted by time retention.",
            ),
            retention_size_deletions: reg.counter(
                "vane_tsdb_size_retentions_total",
                "Blocks deleted by size retention.",
            ),
            chunk_read_errors: reg.counter(
                "vane_tsdb_chunk_read_errors_total",
                "Block chunks that could not be read by a query (damaged on disk).",
            ),
            deletions: reg.counter(
                "vane_tsdb_deletions_total",
                "Series deletions (delete_series calls) recorded.",
            ),
        }
    }
}

/// An open store.
pub struct Db {
    dir: PathBuf,
    opts: DbOptions,
    head: Arc<Head>,
    blocks: RwLock<Vec<Arc<Block>>>,
    maintenance_lock: Mutex<()>,
    metrics: DbMetrics,
    closed: AtomicBool,
    _lock: File,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn is_ulid(name: &str) -> bool {
    name.len() == 26 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The block directories (named by a ULID) in a data directory, in name order.
/// Creates `dir` if needed and takes its `lock` file for this process (released when the
/// returned file is dropped); [`Error::Locked`] if another process holds it.
pub(crate) fn lock_dir(dir: &Path) -> Result<File> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lock_path = dir.join("lock");
    let lock = File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(&lock_path, e)),
    }
}

pub fn block_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if is_ulid(&entry.file_name().to_string_lossy()) && entry.path().is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The positions in `blocks` of the blocks whose sources are all covered by a higher-level
/// block (a merge finished, its sources not yet deleted), in increasing order.
pub(crate) fn obsolete_blocks(blocks: &[Arc<Block>]) -> Vec<usize> {
    (0..blocks.len())
        .filter(|&i| {
            let b = blocks[i].meta();
            let own = if b.compaction.sources.is_empty() {
                vec![b.ulid.clone()]
            } else {
                b.compaction.sources.clone()
            };
            blocks.iter().enumerate().any(|(j, o)| {
                j != i
                    && o.meta().compaction.level > b.compaction.level
                    && own.iter().all(|s| o.meta().compaction.sources.contains(s))
            })
        })
        .collect()
}

impl Db {
    /// Opens (or creates) the store in `dir`. Damaged blocks are moved to `quarantine/`,
    /// damaged WAL and head-chunk tails are cut; only an unusable directory is an error.
    pub fn open(dir: &Path, opts: DbOptions, registry: &Registry) -> Result<Arc<Db>> {
        let lock = lock_dir(dir)?;
        let metrics = DbMetrics::new(registry);
        let blocks = Self::load_blocks(dir, &metrics)?;
        // The head owns everything after the newest block cut from it. Backfilled blocks do
        // not count: their range says nothing about what the WAL still holds.
        let min_valid = blocks
            .iter()
            .filter(|b| !b.meta().compaction.backfill)
            .map(|b| b.meta().max_time)
            .max()
            .unwrap_or(i64::MIN);
        let head = Head::open(dir, opts.head.clone(), registry, min_valid)?;
        let db = Arc::new(Db {
            dir: dir.to_path_buf(),
            opts,
            head,
            blocks: RwLock::new(blocks),
            maintenance_lock: Mutex::new(()),
            metrics,
            closed: AtomicBool::new(false),
            _lock: lock,
        });
        db.register_gauges(registry);
        Ok(db)
    }

    fn register_gauges(self: &Arc<Self>, reg: &Registry) {
        let w = Arc::downgrade(self);
        reg.gauge_fn(
            "vane_tsdb_blocks_loaded",
            "Blocks currently loaded.",
            move || w.upgrade().map_or(0.0, |d| d.blocks.read().len() as f64),
        );
        let w = Arc::downgrade(self);
        reg.gauge_fn(
            "vane_tsdb_storage_blocks_bytes",
            "Bytes of all loaded blocks on disk.",
            move || w.upgrade().map_or(0.0, |d| d.blocks_size() as f64),
        );
        let w = Arc::downgrade(self);
        reg.gauge_fn(
            "vane_tsdb_lowest_timestamp_seconds",
            "Oldest sample time in the store.",
            move || w.upgrade().map_or(0.0, |d| d.min_time() as f64 / 1000.0),
        );
    }

    /// Opens every block directory; moves the ones that fail aside; deletes blocks already
    /// merged into another (a crash between writing a merged block and deleting its
    /// sources) and leftover temporary directories.
    fn load_blocks(dir: &Path, metrics: &DbMetrics) -> Result<Vec<Arc<Block>>> {
        for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            if path.extension().is_some_and(|x| x == "tmp") && path.is_dir() {
                tracing::info!(dir = %path.display(), "removing an unfinished block");
                let _ = fs::remove_dir_all(&path);
            }
        }
        let mut blocks = Vec::new();
        for path in block_dirs(dir)? {
            match Block::open(&path) {
                Ok(b) => blocks.push(Arc::new(b)),
                Err(e) => {
                    metrics.blocks_quarantined.inc();
                    let q = dir.join("quarantine");
                    let _ = fs::create_dir_all(&q);
                    let to = q.join(path.file_name().unwrap_or_default());
                    tracing::error!(block = %path.display(), error = %e, moved_to = %to.display(), "block cannot be read; moved aside");
                    if let Err(e) = fs::rename(&path, &to) {
                        tracing::error!(error = %e, "could not move the damaged block aside; leaving it unloaded");
                    }
                }
            }
        }
        for &i in obsolete_blocks(&blocks).iter().rev() {
            let b = blocks.remove(i);
            tracing::info!(block = %b.dir().display(), "deleting a block already merged into another");
            let _ = fs::remove_dir_all(b.dir());
        }
        blocks.sort_by_key(|b| b.meta().min_time);
        Ok(blocks)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn head(&self) -> &Arc<Head> {
        &self.head
    }

    pub fn options(&self) -> &DbOptions {
        &self.opts
    }

    /// The loaded blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    /// Writes a consistent copy of the store into `dir` (created; it must not exist): every
    /// block hard-linked (blocks never change, so the copy costs no space), and with
    /// `with_head` the head's samples written as one more block. The copy is a data
    /// directory `vane run` (or `vane tsdb dump`) can open.
    pub fn snapshot(&self, dir: &Path, with_head: bool) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for b in self.blocks() {
            let name = b.dir().file_name().expect("a block directory has a name");
            link_tree(b.dir(), &dir.join(name))?;
        }
        if with_head && !self.head.is_empty() {
            let (mint, maxt) = (self.head.min_time(), self.head.max_time());
            compact::write_head_block(dir, &self.head, mint, maxt.saturating_add(1))?;
        }
        Ok(())
    }

    pub fn blocks_size(&self) -> u64 {
        self.blocks.read().iter().map(|b| b.size_bytes()).sum()
    }

    /// Oldest sample time in blocks or head (`i64::MAX` when empty).
    pub fn min_time(&self) -> i64 {
        let b = self
            .blocks
            .read()
            .first()
            .map_or(i64::MAX, |b| b.meta().min_time);
        b.min(self.head.min_time())
    }

    /// A batch appender into the head.
    pub fn appender(&self) -> Box<dyn Appender> {
        Box::new(self.head.appender())
    }

    /// Picks up block directories written by another process (`vane tsdb import`).
    pub fn reload_blocks(&self) -> Result<usize> {
        let _g = self.maintenance_lock.lock();
        self.reload_blocks_locked()
    }

    fn reload_blocks_locked(&self) -> Result<usize> {
        let known: Vec<String> = self
            .blocks
            .read()
            .iter()
            .map(|b| b.meta().ulid.clone())
            .collect();
        let mut added = 0;
        for path in block_dirs(&self.dir)? {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            if known.contains(&name) {
                continue;
            }
            match Block::open(&path) {
                Ok(b) => {
                    tracing::info!(block = %name, "loaded a new block");
                    self.add_block(Arc::new(b));
                    added += 1;
                }
                Err(e) => {
                    tracing::warn!(block = %name, error = %e, "new block directory cannot be read yet")
                }
            }
        }
        Ok(added)
    }

    fn add_block(&self, b: Arc<Block>) {
        let mut w = self.blocks.write();
        w.push(b);
        w.sort_by_key(|b| b.meta().min_time);
    }

    fn remove_blocks(&self, ulids: &[String]) {
        let removed: Vec<Arc<Block>> = {
            let mut w = self.blocks.write();
            let (gone, keep): (Vec<_>, Vec<_>) =
                w.drain(..).partition(|b| ulids.contains(&b.meta().ulid));
            *w = keep;
            gone
        };
        for b in removed {
            // Renamed first, so a crash half-way through the deletion leaves a `.tmp`
            // directory that the next start removes, never a half-deleted block. Readers that
            // still hold the block keep their memory maps.
            let doomed = b.dir().with_extension("deleted.tmp");
            let path = match fs::rename(b.dir(), &doomed) {
                Ok(()) => doomed,
                Err(_) => b.dir().to_path_buf(),
            };
            if let Err(e) = fs::remove_dir_all(&path) {
                tracing::error!(block = %path.display(), error = %e, "could not delete block");
            }
        }
    }

    /// Runs compaction, then retention. Called periodically by the daemon; safe to call
    /// at any time from any thread.
    pub fn maintenance(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let _g = self.maintenance_lock.lock();
        self.reload_blocks_locked()?;
        let r = self.compact_locked();
        if r.is_err() {
            self.metrics.compaction_failures.inc();
        }
        self.head.pack_chunk_buffers();
        self.apply_retention_locked()?;
        r
    }

    /// Compacts until nothing is left to do.
    pub fn compact(&self) -> Result<()> {
        let _g = self.maintenance_lock.lock();
        self.compact_locked()
    }

    fn compact_locked(&self) -> Result<()> {
        while self.compact_head_once()? {}
        let ranges =
            compact::merge_ranges(self.opts.head.chunk_range_ms, self.opts.retention_time_ms);
        loop {
            let blocks = self.blocks();
            let Some(group) = compact::plan(&blocks, &ranges) else {
                break;
            };
            let start = Instant::now();
            let meta = compact::merge_blocks(&self.dir, &group, self.opts.head.samples_per_chunk)?;
            let b = Block::open(&self.dir.join(&meta.ulid))?;
            self.add_block(Arc::new(b));
            let ulids: Vec<String> = group.iter().map(|b| b.meta().ulid.clone()).collect();
            self.remove_blocks(&ulids);
            self.metrics.compactions.inc();
            self.metrics
                .compaction_duration
                .observe(start.elapsed().as_secs_f64());
            tracing::info!(block = %meta.ulid, sources = group.len(), level = meta.compaction.level, "blocks merged");
        }
        Ok(())
    }

    /// Writes the head's oldest block range as a block when the head spans more than 1.5
    /// block ranges (so the newest half range stays writable), then truncates the head.
    fn compact_head_once(&self) -> Result<bool> {
        let range = self.opts.head.chunk_range_ms;
        let (hmin, hmax) = (self.head.min_time(), self.head.max_time());
        if self.head.is_empty() || hmin == i64::MAX || hmax.saturating_sub(hmin) <= range / 2 * 3 {
            return Ok(false);
        }
        let start = Instant::now();
        let mint = hmin.div_euclid(range) * range;
        let maxt = mint + range;
        let meta = compact::write_head_block(&self.dir, &self.head, mint, maxt)?;
        if let Some(meta) = &meta {
            let b = Block::open(&self.dir.join(&meta.ulid))?;
            self.add_block(Arc::new(b));
            self.metrics.head_compactions.inc();
            self.metrics.compactions.inc();
            tracing::info!(block = %meta.ulid, mint, maxt, series = meta.stats.num_series, samples = meta.stats.num_samples, "head compacted");
        }
        self.head.truncate(maxt)?;
        self.metrics
            .compaction_duration
            .observe(start.elapsed().as_secs_f64());
        Ok(true)
    }

    /// Deletes blocks beyond the retention time or size.
    pub fn apply_retention(&self) -> Result<()> {
        let _g = self.maintenance_lock.lock();
        self.apply_retention_locked()
    }

    fn apply_retention_locked(&self) -> Result<()> {
        let blocks = self.blocks();
        if blocks.is_empty() {
            return Ok(());
        }
        let mut doomed: Vec<String> = Vec::new();
        if let Some(ret) = self.opts.retention_time_ms.filter(|r| *r > 0) {
            let newest = blocks
                .iter()
                .map(|b| b.meta().max_time)
                .max()
                .unwrap_or(i64::MIN);
            for b in &blocks {
                if newest.saturating_sub(b.meta().max_time) >= ret {
                    doomed.push(b.meta().ulid.clone());
                }
            }
            if !doomed.is_empty() {
                self.metrics
                    .retention_time_deletions
                    .add(doomed.len() as u64);
                tracing::info!(
                    blocks = doomed.len(),
                    "deleting blocks beyond the retention time"
                );
            }
        }
        if let Some(limit) = self.opts.retention_size_bytes.filter(|l| *l > 0) {
            let mut total: u64 = self.head.disk_size_bytes()
                + blocks
                    .iter()
                    .filter(|b| !doomed.contains(&b.meta().ulid))
                    .map(|b| b.size_bytes())
                    .sum::<u64>();
            let mut n = 0;
            for b in &blocks {
                if total <= limit {
                    break;
                }
                if doomed.contains(&b.meta().ulid) {
                    continue;
                }
                total = total.saturating_sub(b.size_bytes());
                doomed.push(b.meta().ulid.clone());
                n += 1;
            }
            if n > 0 {
                self.metrics.retention_size_deletions.add(n);
                tracing::info!(blocks = n, "deleting blocks beyond the retention size");
            }
        }
        self.remove_blocks(&doomed);
        Ok(())
    }

    /// Deletes the samples in `[mint, maxt]` of the series matching `matchers`, in every block
    /// and the head. The ranges are recorded as tombstones (a block's `tombstones` file, the
    /// WAL for the head) before reads skip them; the samples leave the disk when the data is
    /// next compacted or [`Db::clean_tombstones`] runs. Returns how many (part, series) pairs
    /// gained a deleted range.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if mint > maxt {
            return Err(Error::InvalidArgument(format!(
                "deletion range ends ({maxt}) before it starts ({mint})"
            )));
        }
        // Held so that no compaction reads a block between its tombstones and its removal.
        let _g = self.maintenance_lock.lock();
        let mut n = 0;
        for b in self.blocks() {
            if b.meta().min_time <= maxt && b.meta().max_time > mint {
                n += b.delete(matchers, mint, maxt)?;
            }
        }
        n += self.head.delete(matchers, mint, maxt)?;
        self.metrics.deletions.inc();
        tracing::info!(mint, maxt, series = n, "series ranges deleted");
        Ok(n)
    }

    /// Rewrites every block with tombstones without the deleted samples (a block left with
    /// no series is removed). Returns how many blocks were rewritten. The head's tombstones
    /// stay until the head is compacted.
    pub fn clean_tombstones(&self) -> Result<usize> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let _g = self.maintenance_lock.lock();
        let mut n = 0;
        for b in self.blocks() {
            if b.num_tombstones() == 0 {
                continue;
            }
            let meta = compact::rewrite_block(&self.dir, &b, self.opts.head.samples_per_chunk)?;
            if meta.stats.num_series > 0 {
                self.add_block(Arc::new(Block::open(&self.dir.join(&meta.ulid))?));
            } else {
                let _ = fs::remove_dir_all(self.dir.join(&meta.ulid));
            }
            self.remove_blocks(std::slice::from_ref(&b.meta().ulid));
            n += 1;
            tracing::info!(old = %b.meta().ulid, new = %meta.ulid, series = meta.stats.num_series, "block rewritten without deleted samples");
        }
        Ok(n)
    }

    /// Syncs and closes. Further appends and maintenance fail.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let _g = self.maintenance_lock.lock();
        self.head.close()
    }

    /// A querier over `[mint, maxt]`.
    pub fn querier(&self, mint: i64, maxt: i64) -> DbQuerier {
        let blocks = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta().min_time <= maxt && b.meta().max_time > mint)
            .cloned()
            .collect();
        DbQuerier::new(
            blocks,
            Some(self.head.clone()),
            mint,
            maxt,
            self.metrics.chunk_read_errors.clone(),
        )
    }
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender> {
        Db::appender(self)
    }
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> std::result::Result<Box<dyn Querier>, model::Error> {
        Ok(Box::new(Db::querier(self, mint, maxt)))
    }
}

/// Reads one time range across blocks and the head (no head for a [`ReadOnlyBlocks`]).
pub struct DbQuerier {
    blocks: Vec<Arc<Block>>,
    head: Option<Arc<Head>>,
    mint: i64,
    maxt: i64,
    chunk_read_errors: Arc<Counter>,
    /// The decompressed block frames this querier's series point into, kept until the
    /// querier is dropped: the threads that evaluate a query drop its series, and freeing
    /// the frames there (memory the selecting threads allocated) made them wait on the
    /// allocator's lock for that memory.
    frames: Mutex<Vec<Arc<Vec<u8>>>>,
}

impl DbQuerier {
    pub(crate) fn new(
        blocks: Vec<Arc<Block>>,
        head: Option<Arc<Head>>,
        mint: i64,
        maxt: i64,
        chunk_read_errors: Arc<Counter>,
    ) -> Self {
        DbQuerier {
            blocks,
            head,
            mint,
            maxt,
            chunk_read_errors,
            frames: Mutex::new(Vec::new()),
        }
    }

    /// The head, if there is one and it holds samples in the range.
    fn head_in_range(&self) -> Option<&Head> {
        self.head
            .as_deref()
            .filter(|h| !h.is_empty() && h.max_time() >= self.mint && h.min_time() <= self.maxt)
    }

    /// Matching series with their chunks, merged across blocks and head, sorted by labels.
    pub fn select_chunks(&self, matchers: &[Matcher]) -> Result<Vec<(Labels, Vec<ChunkSpan>)>> {
        self.select_chunks_in(matchers, true)
    }

    /// [`DbQuerier::select_chunks`], in label order only if `sorted`: a range read from the
    /// head alone then comes in the head's own order (see [`Head::select_any_order`]).
    /// Blocks and the head are merged by label order, so with blocks it is always sorted.
    fn select_chunks_in(
        &self,
        matchers: &[Matcher],
        sorted: bool,
    ) -> Result<Vec<(Labels, Vec<ChunkSpan>)>> {
        if !sorted
            && self.blocks.is_empty()
            && let Some(h) = self.head_in_range()
        {
            return h.select_any_order(matchers, self.mint, self.maxt);
        }
        let mut parts: Vec<SeriesChunkList> = Vec::with_capacity(self.blocks.len() + 1);
        for b in &self.blocks {
            parts.push(self.select_block(b, matchers)?);
        }
        if let Some(h) = self.head_in_range() {
            parts.push(h.select(matchers, self.mint, self.maxt)?);
        }
        Ok(merge_series_sets(parts))
    }

    /// One block's matching series with their chunks' bytes.
    fn select_block(&self, b: &Block, matchers: &[Matcher]) -> Result<SeriesChunkList> {
        let found = b.select(matchers, self.mint, self.maxt)?;
        // Chunks (and the frames they are in) are read in parts on several threads for a
        // large selection; the series stay in index order, which is label order.
        let parts = map_in_parts(&found, |found| {
            let mut part = Vec::with_capacity(found.len());
            let mut frames: Vec<Arc<Vec<u8>>> = Vec::new();
            for (labels, metas, deleted) in found {
                let mut spans = Vec::with_capacity(metas.len());
                for m in metas {
                    // A damaged chunk fails the query that needs it, with the file and
                    // offset; it is logged and counted, and other queries are unaffected.
                    let (enc, data) = b.chunks().chunk(m.r).inspect_err(|e| {
                        self.chunk_read_errors.inc();
                        tracing::error!(block = %b.meta().ulid, series = %labels, error = %e, "unreadable chunk");
                    })?;
                    if let ChunkData::Frame(f) = &data
                        && !frames.last().is_some_and(|l| Arc::ptr_eq(l, f.frame()))
                    {
                        frames.push(f.frame().clone());
                    }
                    spans.push(ChunkSpan {
                        mint: m.mint,
                        maxt: m.maxt,
                        enc,
                        data,
                        deleted: deleted.clone(),
                    });
                }
                part.push((labels.clone(), spans));
            }
            self.frames.lock().extend(frames);
            Ok(part)
        })?;
        Ok(parts.into_iter().flatten().collect())
    }

    fn union(mut lists: Vec<Vec<String>>) -> Vec<String> {
        if lists.len() == 1 {
            return lists.pop().expect("one");
        }
        let mut all: Vec<String> = lists.into_iter().flatten().collect();
        all.sort();
        all.dedup();
        all
    }
}

impl Querier for DbQuerier {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> std::result::Result<Vec<Box<dyn Series>>, model::Error> {
        let mut out: Vec<Box<dyn Series>> = Vec::new();
        for (labels, chunks) in self.select_chunks_in(matchers, !hints.any_order)? {
            if hints.limit > 0 && out.len() >= hints.limit {
                break;
            }
            out.push(Box::new(StoredSeries::new(
                labels, chunks, self.mint, self.maxt,
            )));
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> std::result::Result<Vec<String>, model::Error> {
        let mut lists = Vec::new();
        for b in &self.blocks {
            lists.push(b.label_names(matchers)?);
        }
        if let Some(head) = self.head_in_range() {
            lists.push(head.label_names(matchers)?);
        }
        Ok(Self::union(lists))
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
    ) -> std::result::Result<Vec<String>, model::Error> {
        let mut lists = Vec::new();
        for b in &self.blocks {
            lists.push(b.label_values(name, matchers)?);
        }
        if let Some(head) = self.head_in_range() {
            lists.push(head.label_values(name, matchers)?);
        }
        Ok(Self::union(lists))
    }
}

/// Hard-links every file under `from` into the same place under `to`.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(|e| Error::io(&src, e))?.is_dir() {
            link_tree(&src, &dst)?;
        } else {
            std::fs::hard_link(&src, &dst).map_err(|e| Error::io(&src, e))?;
        }
    }
    Ok(())
}

mod read_only;

pub use read_only::ReadOnlyBlocks;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod crash_tests;
