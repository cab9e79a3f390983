//! The head: the newest, still-changing part of the store, in memory.
//!
//! * Series are found by id in a radix table, or by label set in striped maps
//!   ([`series`]); label strings are interned ([`symbols`]); a roaring-bitmap label index
//!   ([`postings`]) answers matchers.
//! * Each series appends into an open XOR chunk. A chunk is cut when it holds
//!   `samples_per_chunk` samples or when a sample crosses the end of the block range the chunk
//!   began in, so a chunk spans two blocks only after a failed write (see `Head::range_tag`);
//!   the full chunk goes to a head-chunk file and is
//!   read back through a memory map, so memory does not grow with full chunks.
//! * Appends are batched ([`append`]): a batch locks its series, is written to the WAL in
//!   one write and applied, then unlocks. No head-wide lock is taken on the append path;
//!   only the WAL write itself is serialized.
//! * Start-up replays head-chunk files and the WAL ([`replay`]); truncation after compaction
//!   drops old chunks and series and checkpoints the WAL ([`gc`]).
//! * Deleted ranges of series ([`delete`]) are kept as tombstones in memory, logged to the
//!   WAL, and applied when the head is read or compacted.

pub mod append;
mod delete;
pub mod gc;
mod grace;
mod postings;
mod read;
mod replay;
mod series;
mod symbols;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use model::metrics::{Counter, CounterVec, Registry};
use model::{Error as SampleError, Labels};
use parking_lot::{Mutex, RwLock};

pub use append::HeadAppender;
pub use gc::TruncateStats;
pub use read::HeadSeriesHandle;

use crate::chunkenc::{Encoding, XorEncoder};
use crate::error::Result;
use crate::head_chunks::ChunkDiskMapper;
use crate::tombstones::Tombstones;
use crate::wal::{Wal, WalOptions};
use postings::MemPostings;
use series::{MemSeries, MmappedChunk, OpenChunk, SeriesData, SeriesMap, SharedSeries};
use symbols::SeriesLabels;

/// Head tuning. The defaults are what a single-node Prometheus uses.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// Block range in ms: chunks never cross a multiple of it (default 2h).
    pub chunk_range_ms: i64,
    /// Samples after which a chunk is full (default 120).
    pub samples_per_chunk: usize,
    /// Lock stripes of the label-set map (rounded to a power of two; default 16384).
    pub stripes: usize,
    pub wal: WalOptions,
    /// Keep no WAL at all (benchmarks and tests of the in-memory path only).
    pub disable_wal: bool,
}

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            chunk_range_ms: 2 * 3600 * 1000,
            samples_per_chunk: 120,
            stripes: 16384,
            wal: WalOptions::default(),
            disable_wal: false,
        }
    }
}

/// The head's own metrics.
pub(crate) struct HeadMetrics {
    pub(crate) samples_appended: Arc<Counter>,
    pub(crate) out_of_order: Arc<Counter>,
    pub(crate) out_of_bounds: Arc<Counter>,
    pub(crate) duplicate: Arc<Counter>,
    pub(crate) series_created: Arc<Counter>,
    pub(crate) series_removed: Arc<Counter>,
    pub(crate) chunks_mmapped: Arc<Counter>,
    pub(crate) chunk_write_errors: Arc<Counter>,
    pub(crate) chunk_buffers_moved: Arc<Counter>,
    pub(crate) truncations: Arc<Counter>,
    pub(crate) wal_replay_unknown_refs: Arc<Counter>,
    pub(crate) wal_corruptions: Arc<Counter>,
}

impl HeadMetrics {
    fn new(reg: &Registry) -> Self {
        let rejected: CounterVec = reg.counter_vec(
            "vane_tsdb_samples_rejected_total",
            "Samples the head refused, by reason.",
            &["reason"],
        );
        HeadMetrics {
            samples_appended: reg.counter(
                "vane_tsdb_head_samples_appended_total",
                "Samples appended to the head.",
            ),
            out_of_order: rejected.with(&["out_of_order"]),
            out_of_bounds: rejected.with(&["out_of_bounds"]),
            duplicate: rejected.with(&["duplicate_timestamp"]),
            series_created: reg.counter(
                "vane_tsdb_head_series_created_total",
                "Series created in the head.",
            ),
            series_removed: reg.counter(
                "vane_tsdb_head_series_removed_total",
                "Series removed from the head by garbage collection.",
            ),
            chunks_mmapped: reg.counter(
                "vane_tsdb_head_chunks_mmapped_total",
                "Full head chunks written to head-chunk files and memory-mapped.",
            ),
            chunk_write_errors: reg.counter(
                "vane_tsdb_head_chunk_write_errors_total",
                "Full chunks that could not be written to a head-chunk file (kept in memory).",
            ),
            chunk_buffers_moved: reg.counter(
                "vane_tsdb_chunk_buffers_moved_total",
                "Open chunks' buffers moved out of sparsely used chunk-buffer slabs.",
            ),
            truncations: reg.counter(
                "vane_tsdb_head_truncations_total",
                "Head truncations after compaction.",
            ),
            wal_corruptions: reg.counter(
                "vane_tsdb_wal_corruptions_total",
                "Damaged WAL records found at replay; the WAL was cut there.",
            ),
            wal_replay_unknown_refs: reg.counter(
                "vane_tsdb_wal_replay_unknown_refs_total",
                "WAL samples or head chunks for series the WAL did not define, skipped at replay.",
            ),
        }
    }
}

/// The in-memory head block.
pub struct Head {
    opts: HeadOptions,
    dir: PathBuf,
    series: SeriesMap,
    postings: MemPostings,
    next_id: AtomicU32,
    min_time: AtomicI64,
    max_time: AtomicI64,
    /// Samples before this time belong to persisted blocks and are refused.
    min_valid_time: AtomicI64,
    num_series: AtomicI64,
    wal: Option<Wal>,
    chunks: ChunkDiskMapper,
    metrics: HeadMetrics,
    /// Serializes truncation against itself.
    truncate_lock: Mutex<()>,
    /// Batches holding series pointers; garbage collection waits for them.
    grace: grace::Grace,
    /// Series taken out of the tables whose grace period has not yet been seen to end.
    retired: Mutex<Vec<SharedSeries>>,
    /// Deleted ranges by series id; `has_tombstones` lets reads skip the lock while none exist.
    tombstones: RwLock<Tombstones>,
    has_tombstones: AtomicBool,
}

impl Head {
    /// Opens the head in data directory `dir` (`dir/wal`, `dir/chunks_head`), replaying
    /// everything that was written before. Damaged files are cut at the damage, logged and
    /// counted; opening only fails when the directory cannot be used at all.
    ///
    /// Samples before `min_valid_time` (the end of the newest persisted block) are already in
    /// blocks and are neither replayed nor accepted.
    pub fn open(
        dir: &Path,
        opts: HeadOptions,
        registry: &Registry,
        min_valid_time: i64,
    ) -> Result<Arc<Head>> {
        let chunks = ChunkDiskMapper::open(&dir.join("chunks_head"), Some(registry))?;
        let mut head = Head {
            series: SeriesMap::new(opts.stripes),
            postings: MemPostings::default(),
            next_id: AtomicU32::new(1),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            num_series: AtomicI64::new(0),
            wal: None,
            chunks,
            metrics: HeadMetrics::new(registry),
            truncate_lock: Mutex::new(()),
            grace: grace::Grace::default(),
            retired: Mutex::new(Vec::new()),
            tombstones: RwLock::new(Tombstones::default()),
            has_tombstones: AtomicBool::new(false),
            dir: dir.to_path_buf(),
            opts,
        };
        let wal_dir = dir.join("wal");
        head.replay(&wal_dir, min_valid_time)?;
        if !head.opts.disable_wal {
            head.wal = Some(Wal::open(&wal_dir, head.opts.wal.clone(), Some(registry))?);
        }
        let head = Arc::new(head);
        head.register_gauges(registry);
        Ok(head)
    }

    fn register_gauges(self: &Arc<Self>, reg: &Registry) {
        let weak = Arc::downgrade(self);
        reg.gauge_fn("vane_tsdb_head_series", "Series in the head.", move || {
            weak.upgrade()
                .map_or(0.0, |h| h.num_series.load(Ordering::Relaxed) as f64)
        });
        let weak = Arc::downgrade(self);
        reg.gauge_fn(
            "vane_tsdb_head_min_time_seconds",
            "Oldest sample time in the head.",
            move || weak.upgrade().map_or(0.0, |h| h.min_time() as f64 / 1000.0),
        );
        let weak = Arc::downgrade(self);
        reg.gauge_fn(
            "vane_tsdb_head_max_time_seconds",
            "Newest sample time in the head.",
            move || weak.upgrade().map_or(0.0, |h| h.max_time() as f64 / 1000.0),
        );
        // The slabs are the process's (every head and encoder shares them), and so is the
        // symbol table.
        slab_gauges(
            reg,
            "vane_tsdb_chunk_buffer",
            "the buffers of chunks being encoded",
            crate::arena::usage,
        );
        slab_gauges(
            reg,
            "vane_tsdb_series_slab",
            "head series and their label sets",
            crate::arena::small_usage,
        );
        reg.gauge_fn(
            "vane_tsdb_head_symbols",
            "Distinct label names and values the head's series use (the symbol table).",
            || symbols::count() as f64,
        );
        reg.gauge_fn(
            "vane_tsdb_head_symbol_bytes",
            "Bytes of the strings in the head's symbol table.",
            || symbols::bytes() as f64,
        );
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &HeadOptions {
        &self.opts
    }

    /// A new append batch.
    pub fn appender(self: &Arc<Self>) -> HeadAppender {
        HeadAppender::new(self.clone())
    }

    pub fn num_series(&self) -> u64 {
        self.num_series.load(Ordering::Relaxed).max(0) as u64
    }

    /// Oldest sample time, or `i64::MAX` when the head is empty.
    pub fn min_time(&self) -> i64 {
        self.min_time.load(Ordering::Acquire)
    }

    /// Newest sample time, or `i64::MIN` when the head is empty.
    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.max_time() == i64::MIN
    }

    /// Samples older than this are refused as out of bounds: they belong to a range that
    /// has been persisted, or are more than half a block range behind the newest sample.
    pub fn appendable_min_valid_time(&self) -> i64 {
        let max = self.max_time();
        let lag = if max == i64::MIN {
            i64::MIN
        } else {
            max.saturating_sub(self.opts.chunk_range_ms / 2)
        };
        self.min_valid_time.load(Ordering::Acquire).max(lag)
    }

    /// Damaged WAL tails found (and cut) at replay since the process started.
    pub fn wal_corruptions(&self) -> u64 {
        self.metrics.wal_corruptions.get()
    }

    /// Total bytes of the WAL and head-chunk files.
    pub fn disk_size_bytes(&self) -> u64 {
        self.wal.as_ref().map_or(0, |w| w.size_bytes()) + self.chunks.size_bytes()
    }

    /// Flushes and fsyncs the WAL and head-chunk files.
    pub fn sync(&self) -> Result<()> {
        if let Some(w) = &self.wal {
            w.sync()?;
        }
        self.chunks.sync()
    }

    /// Syncs and closes the files. Appends after this fail.
    pub fn close(&self) -> Result<()> {
        let r1 = self.wal.as_ref().map_or(Ok(()), |w| w.close());
        let r2 = self.chunks.close();
        r1.and(r2)
    }

    fn update_time_bounds(&self, mint: i64, maxt: i64) {
        self.min_time.fetch_min(mint, Ordering::AcqRel);
        self.max_time.fetch_max(maxt, Ordering::AcqRel);
    }

    /// Finds or creates the series for `labels`. The bool is true when it was created here.
    /// Fails only when every 32-bit series id has been handed out.
    fn get_or_create(&self, labels: &Labels) -> Result<(SharedSeries, bool), SampleError> {
        let hash = labels.stable_hash();
        if let Some(s) = self.series.get_by_labels(hash, labels) {
            return Ok((s, false));
        }
        // Ids are never reused (the WAL and blocks refer to them) and never wrap.
        let id = self
            .next_id
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1))
            .map_err(|_| {
                SampleError::Other("the head has handed out every 32-bit series id".into())
            })?;
        Ok(self.create_series(hash, labels, id))
    }

    /// Creates a series with `id` unless one with these labels exists (then `id` goes unused).
    fn create_series(&self, hash: u64, labels: &Labels, id: u32) -> (SharedSeries, bool) {
        let mut interned = None;
        let (s, created) = self.series.get_or_create(hash, labels, || {
            let (compact, strings) = SeriesLabels::new(labels);
            interned = Some(strings);
            SharedSeries::new(MemSeries::new(id, compact))
        });
        if let Some(interned) = interned {
            // The postings keep the table's copies of the strings.
            self.postings.add(s.id, &interned);
            self.num_series.fetch_add(1, Ordering::Relaxed);
            self.metrics.series_created.inc();
        }
        (s, created)
    }

    /// Moves open chunks' buffers out of sparsely used chunk-buffer slabs into earlier ones
    /// with room, so that the sparse slabs empty and are unmapped (see `arena`); returns how
    /// many moved. A pass locks every series once, so it is skipped while the slabs' free
    /// room is under an eighth of what they map, or no slab would give up a buffer.
    ///
    /// Why: chunks are cut, and churned series end, in waves, each freeing slots all over the
    /// slabs; new chunks' small buffers fill the first slabs, and a later slab is unmapped
    /// only when its last chunk is cut, which for a series that rarely gets samples can take
    /// hours.
    pub fn pack_chunk_buffers(&self) -> u64 {
        let (mapped, used) = crate::arena::usage();
        if (mapped - used) * 8 < mapped || !crate::arena::packable() {
            return 0;
        }
        self.pack_open_chunks()
    }

    /// [`Head::pack_chunk_buffers`] without its check.
    fn pack_open_chunks(&self) -> u64 {
        let mut moved = 0u64;
        self.series.for_each(|s| {
            let mut d = s.lock();
            if let Some(open) = d.open.as_mut()
                && open.app.pack_buffer()
            {
                moved += 1;
            }
        });
        self.metrics.chunk_buffers_moved.add(moved);
        moved
    }

    /// Appends one sample to a locked series. `Ok(false)` for a duplicate of the newest
    /// sample (same time, same value bits), which is accepted and ignored.
    fn append_locked(
        &self,
        s: &MemSeries,
        d: &mut SeriesData,
        t: i64,
        v: f64,
    ) -> Result<bool, SampleError> {
        // Written under this lock only, so relaxed loads see the newest.
        let last_t = s.newest_t.load(Ordering::Relaxed);
        if last_t != i64::MIN {
            if t < last_t {
                return Err(SampleError::OutOfOrderSample);
            }
            if t == last_t {
                return if v.to_bits() == s.newest_v.load(Ordering::Relaxed) {
                    Ok(false)
                } else {
                    Err(SampleError::DuplicateSampleForTimestamp)
                };
            }
        }
        let cut = match &d.open {
            None => true,
            Some(c) => {
                let n = c.app.num_samples();
                n >= self.opts.samples_per_chunk || (n > 0 && c.app.spare != self.range_tag(t))
            }
        };
        if cut {
            self.cut_chunk(s, d, t)?;
        }
        let open = d.open.as_mut().expect("cut_chunk leaves an open chunk");
        // The newest sample is the open chunk's last one (a new chunk ignores it).
        open.app
            .append((last_t, s.newest_v.load(Ordering::Relaxed)), t, v);
        let n = open.app.num_samples();
        s.newest_t.store(t, Ordering::Release);
        s.newest_v.store(v.to_bits(), Ordering::Release);
        if model::is_stale_nan(v) && n >= self.opts.samples_per_chunk / 4 {
            // The series ended (its target is gone, or stopped reporting it): its chunk goes
            // to disk now rather than at the next truncation, and the buffer is freed. Short
            // chunks stay open, so a target that fails every few scrapes does not cut a
            // chunk each time.
            if self.write_open(s, d).is_ok() {
                d.open = None;
            }
        }
        Ok(true)
    }

    /// Writes the open chunk (which has samples) to a head-chunk file and records it among
    /// the series' full chunks. On an error the chunk stays open: the WAL still holds every
    /// sample, and the next cut tries the write again.
    fn write_open(&self, s: &MemSeries, d: &mut SeriesData) -> Result<()> {
        let c = d.open.as_ref().expect("an open chunk");
        let (mint, maxt) = s.open_span(c);
        match self
            .chunks
            .write_chunk(s.id as u64, mint, maxt, Encoding::Xor as u8, c.app.bytes())
        {
            Ok(r) => {
                d.add_full(MmappedChunk::new(r, mint, maxt));
                self.metrics.chunks_mmapped.inc();
                Ok(())
            }
            Err(e) => {
                self.metrics.chunk_write_errors.inc();
                tracing::warn!(error = %e, series = s.id, "could not write a full head chunk; keeping it in memory");
                Err(e)
            }
        }
    }

    /// The low 24 bits of the number of the block range `t` lies in, which an open chunk
    /// keeps in its encoder's spare bytes. Ranges 2^24 apart share a tag (with two-hour
    /// ranges, 3,800 years): a chunk would then not be cut at that one boundary, which
    /// compaction copes with as with any chunk spanning two blocks.
    fn range_tag(&self, t: i64) -> [u8; 3] {
        let n = t.div_euclid(self.opts.chunk_range_ms.max(1));
        let b = n.to_le_bytes();
        [b[0], b[1], b[2]]
    }

    /// Moves the open chunk (if it has samples) to a head-chunk file and starts a new one for
    /// a sample at time `t`. Fails only when a chunk that could not be written to disk has
    /// also reached the most samples a chunk can count; the sample is then refused, never
    /// silently dropped.
    fn cut_chunk(&self, s: &MemSeries, d: &mut SeriesData, t: i64) -> Result<(), SampleError> {
        let mut unwritable = None;
        let open = match d.open.as_ref().map(|c| c.app.num_samples()) {
            Some(n) if n > 0 => {
                let written = self.write_open(s, d);
                let c = d.open.as_mut().expect("still open");
                match written {
                    // A new appender, not a reset one: the next chunk's buffer starts small
                    // and grows with it, instead of keeping this chunk's room.
                    Ok(()) => c.app = XorEncoder::new(),
                    // Kept open, and tried again at the next range (or the next sample, if
                    // it is full).
                    Err(e) => unwritable = (n >= u16::MAX as usize - 1).then_some(e),
                }
                c
            }
            Some(_) => d.open.as_mut().expect("open"),
            None => d.open.insert(OpenChunk {
                app: XorEncoder::new(),
            }),
        };
        open.app.spare = self.range_tag(t);
        match unwritable {
            Some(e) => Err(SampleError::Other(format!(
                "head chunk of series {} is full and cannot be written: {e}",
                s.id
            ))),
            None => Ok(()),
        }
    }
}

/// `<prefix>_mapped_bytes` and `<prefix>_used_bytes` of size-class slabs holding `what`.
fn slab_gauges(reg: &Registry, prefix: &str, what: &str, usage: fn() -> (u64, u64)) {
    reg.gauge_fn(
        &format!("{prefix}_mapped_bytes"),
        &format!("Memory mapped for {what} (size-class slabs)."),
        move || usage().0 as f64,
    );
    reg.gauge_fn(
        &format!("{prefix}_used_bytes"),
        &format!("Bytes of the slabs for {what} handed out."),
        move || usage().1 as f64,
    );
}

#[cfg(test)]
mod tests;
