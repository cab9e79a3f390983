//! Agent storage: the WAL alone, for `vane run --agent`.
//!
//! An agent scrapes and forwards by remote write; it never answers queries, so it keeps no
//! samples in memory, no head chunks and no blocks. What it keeps is what appending and the
//! WAL need: every live series' labels and reference, and its last sample (to refuse
//! out-of-order and conflicting duplicate samples as the full store does). Samples go to the
//! WAL in the same record format as the store's (`tsdb/docs/format/wal.md`), so the same
//! [`crate::wal::WalWatcher`] reads them for remote write.
//!
//! Memory and disk stay bounded by [`AgentDb::truncate`], which the daemon calls periodically:
//! it deletes the oldest complete WAL segments once every remote write destination has passed
//! them and their samples are older than the minimum WAL time (or, whatever the destinations,
//! older than the maximum WAL time), drops the series whose last sample was in them, and writes
//! a checkpoint holding the series records of the series still alive.

mod replay;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use model::metrics::{Counter, Gauge, Registry};
use model::{Appender, Error as SampleError, Labels, SeriesRef};
use parking_lot::{Mutex, RwLock};

use crate::error::Result;
use crate::wal::{self, RefSample, RefSeries, Wal, WalOptions, encode_samples, encode_series};

/// Stripes of the series maps, so appends from many scrape loops rarely meet on one lock.
const STRIPES: usize = 64;

/// Series maps split into [`STRIPES`] locks.
type Stripes<K> = Box<[RwLock<HashMap<K, Arc<AgentSeries>>>]>;

/// Agent storage options.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub wal: WalOptions,
    /// Samples younger than this stay in the WAL at truncation (default 5 minutes).
    pub min_wal_time_ms: i64,
    /// Samples older than this are deleted at truncation even if a destination has not sent
    /// them yet (default 4 hours).
    pub max_wal_time_ms: i64,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            wal: WalOptions::default(),
            min_wal_time_ms: 5 * 60 * 1000,
            max_wal_time_ms: 4 * 3600 * 1000,
        }
    }
}

/// One series: labels, reference and the last sample written.
struct AgentSeries {
    r: u64,
    labels: Labels,
    state: Mutex<SeriesState>,
    /// Its series record is in the WAL.
    logged: AtomicBool,
    /// Truncation dropped it; a batch still holding it looks the labels up again.
    removed: AtomicBool,
}

#[derive(Clone, Copy)]
struct SeriesState {
    last_t: i64,
    last_v: u64,
    /// The WAL segment of its newest record (series or sample).
    last_seg: u32,
}

/// What one truncation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TruncateStats {
    /// Segments deleted (`first..=last`), if any.
    pub segments: Option<(u32, u32)>,
    /// Of those, segments a destination had not passed yet (older than the maximum WAL time).
    pub unsent_segments: u32,
    pub series_removed: usize,
    pub series_kept: usize,
}

struct Metrics {
    series_created: Arc<Counter>,
    series_removed: Arc<Counter>,
    samples_appended: Arc<Counter>,
    out_of_order: Arc<Counter>,
    duplicates: Arc<Counter>,
    truncations: Arc<Counter>,
    unsent_segments: Arc<Counter>,
    truncate_seconds: Arc<Gauge>,
    corruptions: Arc<Counter>,
}

impl Metrics {
    fn new(r: &Registry) -> Self {
        Metrics {
            series_created: r.counter(
                "vane_agent_series_created_total",
                "Series created in agent storage.",
            ),
            series_removed: r.counter(
                "vane_agent_series_removed_total",
                "Series dropped from agent storage by WAL truncation.",
            ),
            samples_appended: r.counter(
                "vane_agent_samples_appended_total",
                "Samples written to the agent WAL.",
            ),
            out_of_order: r.counter(
                "vane_agent_out_of_order_samples_total",
                "Samples refused for being older than their series' last sample.",
            ),
            duplicates: r.counter(
                "vane_agent_duplicate_samples_total",
                "Samples refused for a different value at their series' last timestamp.",
            ),
            truncations: r.counter(
                "vane_agent_truncations_total",
                "WAL truncations in agent storage.",
            ),
            unsent_segments: r.counter(
                "vane_agent_unsent_segments_deleted_total",
                "WAL segments deleted before every remote write destination had sent them, for being older than --storage.agent.retention.max-time.",
            ),
            truncate_seconds: r.gauge(
                "vane_agent_last_truncation_duration_seconds",
                "How long the last WAL truncation took.",
            ),
            corruptions: r.counter(
                "vane_agent_wal_corruptions_total",
                "Damaged WAL tails cut off at start-up.",
            ),
        }
    }
}

/// Agent storage: series and the WAL. Appends through [`AgentDb::appender`], or
/// [`AgentAppendable`] where a [`model::storage::Appendable`] is wanted.
pub struct AgentDb {
    dir: PathBuf,
    opts: AgentOptions,
    wal: Wal,
    /// By label set, striped by the labels' hash.
    by_labels: Stripes<Labels>,
    /// By reference, striped by the reference.
    by_ref: Stripes<u64>,
    next_ref: AtomicU64,
    num_series: AtomicI64,
    /// The newest sample time written to each segment still on disk.
    segment_max: Mutex<BTreeMap<u32, i64>>,
    /// Commits hold it shared; truncation holds it alone while it drops series.
    gc: RwLock<()>,
    truncating: Mutex<()>,
    max_time: AtomicI64,
    closed: AtomicBool,
    metrics: Metrics,
    _lock: File,
}

impl std::fmt::Debug for AgentDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentDb")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn stripe(h: u64) -> usize {
    (h as usize) % STRIPES
}

impl AgentDb {
    /// Opens (or creates) agent storage in `dir`: locks it, replays `dir/wal` (a damaged
    /// tail is cut off, logged and counted) and starts a new WAL segment.
    pub fn open(dir: &Path, opts: AgentOptions, registry: &Registry) -> Result<Arc<AgentDb>> {
        let lock = crate::db::lock_dir(dir)?;
        let metrics = Metrics::new(registry);
        let wal_dir = dir.join("wal");
        let replayed = replay::replay(&wal_dir, &metrics.corruptions)?;
        let wal = Wal::open(&wal_dir, opts.wal.clone(), Some(registry))?;
        let db = Arc::new(AgentDb {
            dir: dir.to_path_buf(),
            opts,
            wal,
            by_labels: (0..STRIPES).map(|_| RwLock::new(HashMap::new())).collect(),
            by_ref: (0..STRIPES).map(|_| RwLock::new(HashMap::new())).collect(),
            next_ref: AtomicU64::new(replayed.max_ref.map_or(1, |r| r + 1)),
            num_series: AtomicI64::new(0),
            segment_max: Mutex::new(replayed.segment_max),
            gc: RwLock::new(()),
            truncating: Mutex::new(()),
            max_time: AtomicI64::new(replayed.max_time),
            closed: AtomicBool::new(false),
            metrics,
            _lock: lock,
        });
        for s in replayed.series {
            let series = Arc::new(AgentSeries {
                r: s.r,
                labels: s.labels,
                state: Mutex::new(SeriesState {
                    last_t: s.last_t,
                    last_v: s.last_v,
                    last_seg: s.last_seg,
                }),
                logged: AtomicBool::new(true),
                removed: AtomicBool::new(false),
            });
            db.insert(series);
        }
        db.register_gauges(registry);
        tracing::info!(
            dir = %dir.display(),
            series = db.num_series(),
            samples = replayed.samples,
            "agent WAL replayed"
        );
        Ok(db)
    }

    fn register_gauges(self: &Arc<Self>, reg: &Registry) {
        let w = Arc::downgrade(self);
        reg.gauge_fn(
            "vane_agent_active_series",
            "Series held by agent storage.",
            move || w.upgrade().map_or(0.0, |d| d.num_series() as f64),
        );
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The WAL directory (`<dir>/wal`), which remote write follows.
    pub fn wal_dir(&self) -> &Path {
        self.wal.dir()
    }

    pub fn num_series(&self) -> usize {
        self.num_series.load(Ordering::Relaxed).max(0) as usize
    }

    /// The newest sample time written, `i64::MIN` before any.
    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Acquire)
    }

    /// Damaged WAL tails cut off when it was opened.
    pub fn wal_corruptions(&self) -> u64 {
        self.metrics.corruptions.get()
    }

    /// Bytes of WAL segments on disk.
    pub fn wal_size_bytes(&self) -> u64 {
        self.wal.size_bytes()
    }

    pub fn appender(self: &Arc<Self>) -> Box<dyn Appender> {
        Box::new(AgentAppender {
            db: self.clone(),
            pending: Vec::new(),
            batch_last: HashMap::new(),
            defined: HashSet::new(),
            series_buf: Vec::new(),
            samples_buf: Vec::new(),
            ref_series: Vec::new(),
            ref_samples: Vec::new(),
        })
    }

    fn insert(&self, s: Arc<AgentSeries>) {
        self.by_ref[stripe(s.r)].write().insert(s.r, s.clone());
        self.by_labels[stripe(s.labels.stable_hash())]
            .write()
            .insert(s.labels.clone(), s);
        self.num_series.fetch_add(1, Ordering::Relaxed);
    }

    fn get_ref(&self, r: u64) -> Option<Arc<AgentSeries>> {
        self.by_ref[stripe(r)].read().get(&r).cloned()
    }

    fn get_or_create(&self, labels: &Labels) -> Result<Arc<AgentSeries>, SampleError> {
        if labels.is_empty() {
            return Err(SampleError::InvalidLabels("empty label set".into()));
        }
        let st = &self.by_labels[stripe(labels.stable_hash())];
        if let Some(s) = st.read().get(labels) {
            return Ok(s.clone());
        }
        let mut map = st.write();
        if let Some(s) = map.get(labels) {
            return Ok(s.clone());
        }
        let r = self.next_ref.fetch_add(1, Ordering::Relaxed);
        let s = Arc::new(AgentSeries {
            r,
            labels: labels.clone(),
            state: Mutex::new(SeriesState {
                last_t: i64::MIN,
                last_v: 0,
                last_seg: 0,
            }),
            logged: AtomicBool::new(false),
            removed: AtomicBool::new(false),
        });
        map.insert(labels.clone(), s.clone());
        drop(map);
        self.by_ref[stripe(r)].write().insert(r, s.clone());
        self.num_series.fetch_add(1, Ordering::Relaxed);
        self.metrics.series_created.inc();
        Ok(s)
    }

    /// Deletes what the WAL no longer needs, as of `now_ms`. `needed_from` is the first
    /// segment some remote write destination has not completely dealt with (`None` when
    /// there are no destinations). Segments go as a prefix of the complete ones: each must
    /// hold only samples older than the minimum WAL time and lie before `needed_from`, or
    /// hold only samples older than the maximum WAL time. Series whose newest record is in a
    /// deleted segment are dropped; `checkpoint.N` keeps the series records of the others.
    pub fn truncate(&self, now_ms: i64, needed_from: Option<u32>) -> Result<TruncateStats> {
        let _one = self.truncating.lock();
        let start = Instant::now();
        let mut stats = TruncateStats::default();
        // Everything written so far is in complete segments from here on.
        let current = self.wal.cut_segment()?;
        let (first, _) = self.wal.segment_range()?;
        let keep_after = now_ms.saturating_sub(self.opts.min_wal_time_ms);
        let force_before = now_ms.saturating_sub(self.opts.max_wal_time_ms);
        let mut last = None;
        {
            let seg_max = self.segment_max.lock();
            for seg in first..current {
                let newest = seg_max.get(&seg).copied().unwrap_or(i64::MIN);
                let sent = needed_from.is_none_or(|n| seg < n);
                if newest < force_before || (sent && newest < keep_after) {
                    if !sent {
                        stats.unsent_segments += 1;
                    }
                    last = Some(seg);
                } else {
                    break;
                }
            }
        }
        let Some(last) = last else {
            self.metrics.truncations.inc();
            return Ok(stats);
        };
        {
            let _excl = self.gc.write();
            let mut dropped: Vec<Arc<AgentSeries>> = Vec::new();
            for st in self.by_ref.iter() {
                st.write().retain(|_, s| {
                    let gone = s.state.lock().last_seg <= last;
                    if gone {
                        s.removed.store(true, Ordering::Release);
                        dropped.push(s.clone());
                    }
                    !gone
                });
            }
            for s in &dropped {
                self.by_labels[stripe(s.labels.stable_hash())]
                    .write()
                    .remove(&s.labels);
            }
            stats.series_removed = dropped.len();
            self.num_series
                .fetch_sub(dropped.len() as i64, Ordering::Relaxed);
            self.metrics.series_removed.add(dropped.len() as u64);
        }
        let keep = |r: u64| self.get_ref(r).is_some();
        // Samples are not kept: everything in these segments has been sent or is too old.
        let cp = wal::checkpoint(self.wal.dir(), first, last, &keep, i64::MAX)?;
        stats.series_kept = cp.kept_series;
        self.wal.truncate(last + 1)?;
        self.segment_max.lock().retain(|s, _| *s > last);
        stats.segments = Some((first, last));
        if stats.unsent_segments > 0 {
            self.metrics
                .unsent_segments
                .add(stats.unsent_segments as u64);
            tracing::warn!(
                segments = stats.unsent_segments,
                "deleted WAL segments a remote write destination had not sent yet: they were older than --storage.agent.retention.max-time"
            );
        }
        self.metrics.truncations.inc();
        self.metrics
            .truncate_seconds
            .set(start.elapsed().as_secs_f64());
        tracing::info!(
            first,
            last,
            series_removed = stats.series_removed,
            series_kept = stats.series_kept,
            "agent WAL truncated"
        );
        Ok(stats)
    }

    /// Fsyncs and closes the WAL; later appends fail.
    pub fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        let _excl = self.gc.write();
        self.wal.close()
    }
}

/// [`model::storage::Appendable`] for a shared [`AgentDb`].
#[derive(Clone)]
pub struct AgentAppendable(pub Arc<AgentDb>);

impl model::storage::Appendable for AgentAppendable {
    fn appender(&self) -> Box<dyn Appender> {
        self.0.appender()
    }
}

struct AgentAppender {
    db: Arc<AgentDb>,
    pending: Vec<(Arc<AgentSeries>, i64, f64)>,
    /// The last sample this batch holds per series (by reference), to refuse out-of-order
    /// samples within the batch too.
    batch_last: HashMap<u64, (i64, u64)>,
    /// References whose series record this commit writes (each once).
    defined: HashSet<u64>,
    series_buf: Vec<u8>,
    samples_buf: Vec<u8>,
    ref_series: Vec<RefSeries>,
    ref_samples: Vec<RefSample>,
}

impl AgentAppender {
    fn lookup(
        &self,
        r: Option<SeriesRef>,
        labels: &Labels,
    ) -> Result<Arc<AgentSeries>, SampleError> {
        if let Some(r) = r {
            if let Some(s) = self.db.get_ref(r.0) {
                return Ok(s);
            }
            if labels.is_empty() {
                return Err(SampleError::UnknownSeriesRef(r));
            }
        }
        self.db.get_or_create(labels)
    }
}

impl Appender for AgentAppender {
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, SampleError> {
        if self.db.closed.load(Ordering::Acquire) {
            return Err(SampleError::Closed);
        }
        let s = self.lookup(r, labels)?;
        let (last_t, last_v) = match self.batch_last.get(&s.r) {
            Some(&b) => b,
            None => {
                let st = s.state.lock();
                (st.last_t, st.last_v)
            }
        };
        if t < last_t {
            self.db.metrics.out_of_order.inc();
            return Err(SampleError::OutOfOrderSample);
        }
        if t == last_t {
            if v.to_bits() == last_v {
                return Ok(SeriesRef(s.r));
            }
            self.db.metrics.duplicates.inc();
            return Err(SampleError::DuplicateSampleForTimestamp);
        }
        self.batch_last.insert(s.r, (t, v.to_bits()));
        let r = SeriesRef(s.r);
        self.pending.push((s, t, v));
        Ok(r)
    }

    fn commit(&mut self) -> Result<(), SampleError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let db = self.db.clone();
        let _shared = db.gc.read();
        if db.closed.load(Ordering::Acquire) {
            self.rollback()?;
            return Err(SampleError::Closed);
        }
        // A series truncation dropped after this batch found it is looked up again.
        for p in &mut self.pending {
            if p.0.removed.load(Ordering::Acquire) {
                p.0 = db.get_or_create(&p.0.labels)?;
            }
        }
        self.ref_series.clear();
        self.defined.clear();
        self.ref_samples.clear();
        let mut newest = i64::MIN;
        for (s, t, v) in &self.pending {
            if !s.logged.load(Ordering::Acquire) && self.defined.insert(s.r) {
                self.ref_series.push(RefSeries {
                    r: s.r,
                    labels: s.labels.clone(),
                });
            }
            self.ref_samples.push(RefSample {
                r: s.r,
                t: *t,
                v: *v,
            });
            newest = newest.max(*t);
        }
        let mut recs: Vec<&[u8]> = Vec::with_capacity(2);
        if !self.ref_series.is_empty() {
            self.series_buf.clear();
            encode_series(&self.ref_series, &mut self.series_buf);
            recs.push(&self.series_buf);
        }
        self.samples_buf.clear();
        encode_samples(&self.ref_samples, &mut self.samples_buf);
        recs.push(&self.samples_buf);
        let pos = db.wal.write(&recs).map_err(SampleError::from)?;
        let seg = pos.0;
        for (s, t, v) in self.pending.drain(..) {
            s.logged.store(true, Ordering::Release);
            let mut st = s.state.lock();
            if t > st.last_t {
                st.last_t = t;
                st.last_v = v.to_bits();
            }
            st.last_seg = st.last_seg.max(seg);
        }
        self.batch_last.clear();
        {
            let mut m = db.segment_max.lock();
            let e = m.entry(seg).or_insert(i64::MIN);
            *e = (*e).max(newest);
        }
        db.max_time.fetch_max(newest, Ordering::AcqRel);
        db.metrics
            .samples_appended
            .add(self.ref_samples.len() as u64);
        drop(_shared);
        db.wal.sync_as_configured(pos).map_err(SampleError::from)
    }

    fn rollback(&mut self) -> Result<(), SampleError> {
        self.pending.clear();
        self.batch_last.clear();
        Ok(())
    }

    fn stored_labels(&self, r: SeriesRef) -> Option<Labels> {
        self.db.get_ref(r.0).map(|s| s.labels.clone())
    }
}
