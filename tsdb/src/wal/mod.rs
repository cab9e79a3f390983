//! The write-ahead log, in two layers (layout in `tsdb/docs/format/wal.md`):
//!
//! * a segmented log of opaque, checksummed records ([`Wal`], [`WalReader`], [`repair`]):
//!   numbered segment files, each starting with a versioned header, holding frames of
//!   `length, CRC32C, payload`;
//! * a typed record codec beside it ([`record`]): series records and sample records;
//! * checkpoints ([`checkpoint()`]): when the head is truncated, the live series and recent
//!   samples of old segments are rewritten into `checkpoint.NNNNNNNN/` so those segments can
//!   be deleted;
//! * a [`watcher`] that follows the segments from their files as they are written (remote
//!   write reads the WAL through it), without locking the writer.
//!
//! Every `log` call hands all of its records to the operating system in one write before it
//! returns, so a killed process never loses an acknowledged batch. Fsync is governed by
//! [`SyncPolicy`].

mod checkpoint_impl;
pub mod record;
pub mod watcher;

#[cfg(test)]
mod tests;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use model::metrics::{Counter, Gauge, Histogram, Registry};
use parking_lot::Mutex;

use crate::error::{Error, Result};

pub use checkpoint_impl::{CheckpointStats, checkpoint, last_checkpoint};
pub use record::{
    RecordDecoder, RecordType, RefSample, RefSeries, RefTombstone, encode_samples, encode_series,
    encode_tombstones, record_type,
};
pub use watcher::{SkipReason, WalPosition, WalWatcher, WatchEvent, WatchStart};

const MAGIC: [u8; 4] = *b"VWAL";
const VERSION: u8 = 1;
/// Magic, version, three reserved zero bytes.
pub(crate) const SEGMENT_HEADER: usize = 8;
/// Length (u32 LE) and CRC32C (u32 LE) before each payload.
const FRAME_HEADER: usize = 8;
/// Largest payload accepted when reading (a sanity bound against garbage lengths).
const MAX_RECORD: usize = 1 << 30;

/// When the WAL fsyncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Fsync only when a segment is completed and on close. A process kill loses nothing
    /// acknowledged; a power loss can lose the current segment's unsynced tail.
    Never,
    /// Also fsync from `log` when this much time has passed since the last fsync.
    Interval(Duration),
    /// Fsync before `log` returns. Callers waiting at the same time share one fsync.
    Always,
}

/// WAL options.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Segment size after which a new segment is started (default 128 MiB).
    pub segment_size: usize,
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: 128 << 20,
            sync: SyncPolicy::Never,
        }
    }
}

pub(crate) fn segment_name(seq: u32) -> String {
    format!("{seq:08}")
}

/// The first and last segment numbers in `dir`, or `None` if there are none.
pub fn segment_range(dir: &Path) -> Result<Option<(u32, u32)>> {
    let seqs = segments(dir)?;
    Ok(seqs.first().map(|f| (*f, *seqs.last().expect("non-empty"))))
}

fn segments(dir: &Path) -> Result<Vec<u32>> {
    let mut seqs = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(seqs),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().to_string();
        if name.len() == 8
            && let Ok(seq) = name.parse::<u32>()
        {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

struct Segment {
    seq: u32,
    file: File,
    size: u64,
}

struct Metrics {
    fsync: Arc<Histogram>,
    truncations: Arc<Counter>,
    bytes: Arc<Counter>,
    current: Arc<Gauge>,
    size: Arc<Gauge>,
}

impl Metrics {
    fn new(reg: &Registry) -> Self {
        Metrics {
            fsync: reg.histogram(
                "vane_tsdb_wal_fsync_duration_seconds",
                "Duration of WAL fsyncs.",
                &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0],
            ),
            truncations: reg.counter(
                "vane_tsdb_wal_truncations_total",
                "WAL truncations after checkpoints.",
            ),
            bytes: reg.counter(
                "vane_tsdb_wal_bytes_written_total",
                "Bytes written to the WAL.",
            ),
            current: reg.gauge(
                "vane_tsdb_wal_segment_current",
                "Number of the WAL segment being written.",
            ),
            size: reg.gauge(
                "vane_tsdb_wal_storage_size_bytes",
                "Bytes of WAL segments on disk.",
            ),
        }
    }
}

/// The WAL writer. Many threads may `log` at once.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    seg: Mutex<Option<Segment>>,
    /// (segment, offset) written so far and fsynced so far.
    written: Mutex<(u32, u64)>,
    synced: Mutex<(u32, u64)>,
    last_sync: Mutex<Instant>,
    /// Bytes of completed segments on disk.
    old_size: AtomicU64,
    metrics: Metrics,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens the WAL in `dir` (created if missing) and starts a new segment after the last
    /// existing one; existing segments are never appended to.
    pub fn open(dir: &Path, opts: WalOptions, registry: Option<&Registry>) -> Result<Wal> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let local;
        let reg = match registry {
            Some(r) => r,
            None => {
                local = Registry::new();
                &local
            }
        };
        let seqs = segments(dir)?;
        let mut old = 0;
        for s in &seqs {
            let p = dir.join(segment_name(*s));
            old += fs::metadata(&p).map_err(|e| Error::io(&p, e))?.len();
        }
        let next = seqs.last().map_or(0, |s| s + 1);
        let wal = Wal {
            dir: dir.to_path_buf(),
            opts,
            seg: Mutex::new(None),
            written: Mutex::new((next, 0)),
            synced: Mutex::new((next, 0)),
            last_sync: Mutex::new(Instant::now()),
            old_size: AtomicU64::new(old),
            metrics: Metrics::new(reg),
        };
        let seg = wal.create_segment(next)?;
        *wal.seg.lock() = Some(seg);
        wal.update_size();
        Ok(wal)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn create_segment(&self, seq: u32) -> Result<Segment> {
        let path = self.dir.join(segment_name(seq));
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut h = [0u8; SEGMENT_HEADER];
        h[..4].copy_from_slice(&MAGIC);
        h[4] = VERSION;
        file.write_all(&h).map_err(|e| Error::io(&path, e))?;
        sync_dir(&self.dir)?;
        self.metrics.current.set(seq as f64);
        Ok(Segment {
            seq,
            file,
            size: SEGMENT_HEADER as u64,
        })
    }

    /// Completes the current segment (fsynced) and starts the next one.
    fn cut_locked(&self, seg: &mut Option<Segment>) -> Result<u32> {
        let next = match seg.take() {
            Some(s) => {
                let start = Instant::now();
                s.file.sync_all().map_err(|e| Error::io(&self.dir, e))?;
                self.metrics.fsync.observe(start.elapsed().as_secs_f64());
                self.old_size.fetch_add(s.size, Ordering::Relaxed);
                let mut synced = self.synced.lock();
                if (s.seq, s.size) > *synced {
                    *synced = (s.seq, s.size);
                }
                s.seq + 1
            }
            None => self.written.lock().0 + 1,
        };
        let s = self.create_segment(next)?;
        *self.written.lock() = (next, s.size);
        *seg = Some(s);
        Ok(next)
    }

    /// Appends `records` (each non-empty) in one write and syncs as the policy says. Empty
    /// records are refused: a zeroed tail must never read back as valid records.
    pub fn log(&self, records: &[&[u8]]) -> Result<()> {
        let pos = self.write(records)?;
        self.sync_as_configured(pos)
    }

    /// The write half of [`Wal::log`]: hands the records to the operating system in one write
    /// and returns the position reached, for [`Wal::sync_as_configured`].
    pub fn write(&self, records: &[&[u8]]) -> Result<(u32, u64)> {
        let mut buf = Vec::with_capacity(records.iter().map(|r| r.len() + FRAME_HEADER).sum());
        for r in records {
            if r.is_empty() || r.len() > MAX_RECORD {
                return Err(Error::InvalidArgument(format!(
                    "WAL record of {} bytes",
                    r.len()
                )));
            }
            buf.extend_from_slice(&(r.len() as u32).to_le_bytes());
            buf.extend_from_slice(&crc32c::crc32c(r).to_le_bytes());
            buf.extend_from_slice(r);
        }
        let pos = {
            let mut seg = self.seg.lock();
            let needs_cut = match seg.as_ref() {
                None => return Err(Error::Closed),
                Some(s) => {
                    s.size > SEGMENT_HEADER as u64
                        && s.size + buf.len() as u64 > self.opts.segment_size as u64
                }
            };
            if needs_cut {
                self.cut_locked(&mut seg)?;
            }
            let s = seg.as_mut().expect("segment");
            if let Err(e) = s.file.write_all(&buf) {
                // A short write leaves a torn frame that replay cuts; later frames would be
                // unreachable behind it, so continue in a fresh segment.
                let err = Error::io(self.dir.join(segment_name(s.seq)), e);
                let _ = self.cut_locked(&mut seg);
                return Err(err);
            }
            s.size += buf.len() as u64;
            let pos = (s.seq, s.size);
            *self.written.lock() = pos;
            pos
        };
        self.metrics.bytes.add(buf.len() as u64);
        Ok(pos)
    }

    /// The sync half of [`Wal::log`]: fsyncs up to `pos` if the policy asks for it now.
    pub fn sync_as_configured(&self, pos: (u32, u64)) -> Result<()> {
        match &self.opts.sync {
            SyncPolicy::Never => Ok(()),
            SyncPolicy::Always => self.sync_to(pos),
            SyncPolicy::Interval(d) => {
                if self.last_sync.lock().elapsed() >= *d {
                    self.sync_to(pos)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Fsyncs unless another caller's fsync already covered `pos` (group commit).
    fn sync_to(&self, pos: (u32, u64)) -> Result<()> {
        let mut synced = self.synced.lock();
        if *synced >= pos {
            return Ok(());
        }
        let (file, target) = {
            let seg = self.seg.lock();
            let Some(s) = seg.as_ref() else {
                return Err(Error::Closed);
            };
            let f = s.file.try_clone().map_err(|e| Error::io(&self.dir, e))?;
            (f, (s.seq, s.size))
        };
        let start = Instant::now();
        file.sync_data().map_err(|e| Error::io(&self.dir, e))?;
        self.metrics.fsync.observe(start.elapsed().as_secs_f64());
        *self.last_sync.lock() = Instant::now();
        if target > *synced {
            *synced = target;
        }
        Ok(())
    }

    /// Fsyncs everything written so far.
    pub fn sync(&self) -> Result<()> {
        let pos = *self.written.lock();
        self.sync_to(pos)
    }

    /// Completes the current segment and starts a new one; returns the new one's number.
    pub fn cut_segment(&self) -> Result<u32> {
        let mut seg = self.seg.lock();
        if seg.is_none() {
            return Err(Error::Closed);
        }
        let n = self.cut_locked(&mut seg)?;
        drop(seg);
        self.update_size();
        Ok(n)
    }

    /// The first and last segment numbers on disk.
    pub fn segment_range(&self) -> Result<(u32, u32)> {
        let current = self.written.lock().0;
        Ok(segment_range(&self.dir)?.map_or((current, current), |(a, b)| (a, b.max(current))))
    }

    /// Deletes segments numbered below `before` (never the current one).
    pub fn truncate(&self, before: u32) -> Result<()> {
        let current = self.written.lock().0;
        for seq in segments(&self.dir)? {
            if seq >= before || seq >= current {
                continue;
            }
            let p = self.dir.join(segment_name(seq));
            let len = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            self.old_size.fetch_sub(
                len.min(self.old_size.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
        }
        self.metrics.truncations.inc();
        self.update_size();
        Ok(())
    }

    fn update_size(&self) {
        self.metrics.size.set(self.size_bytes() as f64);
    }

    /// Bytes of all segments on disk.
    pub fn size_bytes(&self) -> u64 {
        let cur = self.seg.lock().as_ref().map_or(0, |s| s.size);
        self.old_size.load(Ordering::Relaxed) + cur
    }

    /// Fsyncs and closes; later `log` calls fail.
    pub fn close(&self) -> Result<()> {
        let mut seg = self.seg.lock();
        if let Some(s) = seg.take() {
            s.file.sync_all().map_err(|e| Error::io(&self.dir, e))?;
            self.old_size.fetch_add(s.size, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Reads the records of segments `first..=last` of a directory in order.
pub struct WalReader {
    dir: PathBuf,
    seqs: Vec<u32>,
    idx: usize,
    buf: Vec<u8>,
    pos: usize,
    loaded: bool,
    done: bool,
}

impl std::fmt::Debug for WalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalReader")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl WalReader {
    pub fn open(dir: &Path, first: u32, last: u32) -> Result<Self> {
        Ok(WalReader {
            dir: dir.to_path_buf(),
            seqs: (first..=last).collect(),
            idx: 0,
            buf: Vec::new(),
            pos: 0,
            loaded: false,
            done: false,
        })
    }

    fn path(&self) -> PathBuf {
        self.dir.join(segment_name(self.seqs[self.idx]))
    }

    fn fail(&mut self, offset: usize, reason: impl Into<String>) -> Option<Result<&[u8]>> {
        self.done = true;
        Some(Err(Error::corruption(self.path(), offset as u64, reason)))
    }

    /// The next record, `None` at the end; after an error, always `None`.
    pub fn next_record(&mut self) -> Option<Result<&[u8]>> {
        if self.done {
            return None;
        }
        loop {
            if self.idx >= self.seqs.len() {
                self.done = true;
                return None;
            }
            if !self.loaded {
                let path = self.path();
                self.buf = match fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return self.fail(0, "segment missing");
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(Error::io(path, e)));
                    }
                };
                self.loaded = true;
                if self.buf.len() < SEGMENT_HEADER || self.buf[..4] != MAGIC {
                    return self.fail(0, "missing or bad segment header");
                }
                if self.buf[4] != VERSION {
                    let v = self.buf[4];
                    self.done = true;
                    return Some(Err(Error::format(
                        self.path(),
                        format!("WAL segment version {v}"),
                    )));
                }
                self.pos = SEGMENT_HEADER;
            }
            if self.pos >= self.buf.len() {
                self.idx += 1;
                self.loaded = false;
                continue;
            }
            let at = self.pos;
            if at + FRAME_HEADER > self.buf.len() {
                return self.fail(at, "frame header cut short");
            }
            let len = u32::from_le_bytes(self.buf[at..at + 4].try_into().expect("4")) as usize;
            let crc = u32::from_le_bytes(self.buf[at + 4..at + 8].try_into().expect("4"));
            if len == 0 || len > MAX_RECORD {
                return self.fail(at, format!("invalid record length {len}"));
            }
            let end = at + FRAME_HEADER + len;
            if end > self.buf.len() {
                return self.fail(at, format!("record of {len} bytes cut short"));
            }
            if crc32c::crc32c(&self.buf[at + FRAME_HEADER..end]) != crc {
                return self.fail(at, "record checksum mismatch");
            }
            self.pos = end;
            return Some(Ok(&self.buf[at + FRAME_HEADER..end]));
        }
    }
}

/// Makes a WAL directory readable again after `err` (a corruption reported by a reader): the
/// damaged segment is cut at the damaged frame (removed if its header is bad) and every later
/// segment is deleted. Returns the bytes dropped.
pub fn repair(dir: &Path, err: &Error) -> Result<u64> {
    let Error::Corruption { path, offset, .. } = err else {
        return Err(Error::InvalidArgument(format!(
            "not a WAL corruption: {err}"
        )));
    };
    let seq: u32 = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::InvalidArgument(format!("not a WAL segment: {}", path.display())))?;
    let mut dropped = 0;
    if path.exists() {
        let len = fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        if *offset < SEGMENT_HEADER as u64 {
            fs::remove_file(path).map_err(|e| Error::io(path, e))?;
            dropped += len;
        } else {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            f.set_len(*offset).map_err(|e| Error::io(path, e))?;
            f.sync_all().map_err(|e| Error::io(path, e))?;
            dropped += len.saturating_sub(*offset);
        }
    }
    for s in segments(dir)? {
        if s > seq {
            let p = dir.join(segment_name(s));
            dropped += fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    sync_dir(dir)?;
    Ok(dropped)
}
