//! Head-chunk files: full head chunks written to append-only files under `chunks_head/` and
//! read back through memory maps (layout in `tsdb/docs/format/head_chunks.md`).
//!
//! Writes are buffered (256 KiB) and go to the newest file; a chunk is readable as soon as
//! `write_chunk` returns (from the buffer until it is flushed, then from the map). A process
//! kill can lose buffered chunks; that loses no data because the WAL holds every sample since
//! the last checkpoint and replay rebuilds the chunks. Start-up scans every file, checks each
//! record's CRC32C, and cuts a file at the first damaged record (later files are dropped too,
//! their chunks being newer than the damage and still in the WAL); damage never stops start-up.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::metrics::{Counter, Gauge, Registry};
use parking_lot::Mutex;

use crate::chunkenc::{Encoding, num_samples};
use crate::error::{Error, Result};
use crate::mmap::{MmapFile, MmapSlice};

#[cfg(test)]
mod tests;

const MAGIC: [u8; 4] = *b"VHCK";
const VERSION: u8 = 1;
/// Magic, version, three reserved zero bytes.
const FILE_HEADER: usize = 8;
/// series ref (8) + mint (8) + maxt (8) + encoding (1) + data length (4).
const RECORD_HEADER: usize = 29;
const CRC_LEN: usize = 4;
const MAX_FILE_SIZE: u64 = 128 << 20;
const WRITE_BUFFER: usize = 256 << 10;

/// Where a chunk is: upper 32 bits the file's sequence number, lower 32 bits the byte offset
/// of its record in that file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkDiskRef(pub u64);

impl ChunkDiskRef {
    pub fn new(seq: u32, offset: u32) -> Self {
        ChunkDiskRef(((seq as u64) << 32) | offset as u64)
    }
    pub fn seq(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

/// The head-chunk file a reader used last, with its map: see [`ChunkDiskMapper::chunk_memo`].
#[derive(Default)]
pub struct FileMapMemo {
    seq: u32,
    map: Option<Arc<MmapFile>>,
}

/// A chunk's bytes: a view of a mapped file, or a copy of bytes still in the write buffer.
#[derive(Debug, Clone)]
pub enum ChunkBytes {
    Mapped(MmapSlice),
    Owned(Arc<[u8]>),
}

impl AsRef<[u8]> for ChunkBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            ChunkBytes::Mapped(m) => m.as_ref(),
            ChunkBytes::Owned(b) => b,
        }
    }
}

struct FileState {
    path: PathBuf,
    /// Bytes on disk that are known good (flushed).
    len: u64,
    /// A map of the first `map.len()` bytes, refreshed when a read needs more.
    map: Option<Arc<MmapFile>>,
    max_time: i64,
}

struct Active {
    seq: u32,
    file: File,
    /// Bytes of the file, including the unflushed buffer.
    size: u64,
    buf: Vec<u8>,
}

struct Inner {
    files: BTreeMap<u32, FileState>,
    active: Option<Active>,
    closed: bool,
}

struct Metrics {
    files: Arc<Gauge>,
    size: Arc<Gauge>,
    corruptions: Arc<Counter>,
    written: Arc<Counter>,
}

/// Writes full chunks to files and reads them back through memory maps.
pub struct ChunkDiskMapper {
    dir: PathBuf,
    inner: Mutex<Inner>,
    metrics: Metrics,
}

impl std::fmt::Debug for ChunkDiskMapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkDiskMapper")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn file_name(seq: u32) -> String {
    format!("{seq:06}")
}

/// One record parsed from a file.
struct Record {
    series_ref: u64,
    mint: i64,
    maxt: i64,
    data: std::ops::Range<usize>,
    end: usize,
}

/// Parses the record at `off`; `Err(reason)` if it is damaged or cut short.
fn parse_record(b: &[u8], off: usize) -> std::result::Result<Record, String> {
    let hdr_end = off + RECORD_HEADER;
    if hdr_end > b.len() {
        return Err("record header cut short".into());
    }
    let u64_at = |p: usize| u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes"));
    let series_ref = u64_at(off);
    let mint = u64_at(off + 8) as i64;
    let maxt = u64_at(off + 16) as i64;
    let len = u32::from_le_bytes(b[off + 25..off + 29].try_into().expect("4 bytes")) as usize;
    let data_end = hdr_end.checked_add(len).ok_or("record length overflows")?;
    let end = data_end + CRC_LEN;
    if end > b.len() {
        return Err(format!("record of {len} bytes cut short"));
    }
    let want = u32::from_le_bytes(b[data_end..end].try_into().expect("4 bytes"));
    if crc32c::crc32c(&b[off..data_end]) != want {
        return Err("record checksum mismatch".into());
    }
    if mint > maxt {
        return Err("record time range inverted".into());
    }
    Ok(Record {
        series_ref,
        mint,
        maxt,
        data: hdr_end..data_end,
        end,
    })
}

/// The encoding byte and a view of the chunk whose record starts at `off` in `map`; the
/// reason if the record there is damaged or cut short.
fn mapped_chunk(map: &Arc<MmapFile>, off: usize) -> std::result::Result<(u8, ChunkBytes), String> {
    let rec = parse_record(map.bytes(), off)?;
    let enc = map.bytes()[off + 24];
    let slice = MmapSlice::new(map.clone(), rec.data).expect("parsed range lies in the map");
    Ok((enc, ChunkBytes::Mapped(slice)))
}

impl ChunkDiskMapper {
    /// Opens the directory (creating it), validating every file; damage is cut off, logged
    /// and counted. New chunks go to a new file.
    pub fn open(dir: &Path, registry: Option<&Registry>) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let reg_local;
        let reg = match registry {
            Some(r) => r,
            None => {
                reg_local = Registry::new();
                &reg_local
            }
        };
        let metrics = Metrics {
            files: reg.gauge("vane_tsdb_head_chunks_files", "Head-chunk files on disk."),
            size: reg.gauge(
                "vane_tsdb_head_chunks_size_bytes",
                "Bytes of head-chunk files on disk.",
            ),
            corruptions: reg.counter(
                "vane_tsdb_head_chunks_corruptions_total",
                "Damaged head-chunk files cut at start-up.",
            ),
            written: reg.counter(
                "vane_tsdb_head_chunks_written_total",
                "Full chunks written to head-chunk files.",
            ),
        };
        let mut seqs: Vec<u32> = Vec::new();
        for e in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let e = e.map_err(|e| Error::io(dir, e))?;
            let name = e.file_name().to_string_lossy().to_string();
            if let Ok(seq) = name.parse::<u32>()
                && name.len() == 6
            {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        let mut files = BTreeMap::new();
        let mut damaged_at: Option<u32> = None;
        for &seq in &seqs {
            let path = dir.join(file_name(seq));
            if damaged_at.is_some() {
                tracing::warn!(file = %path.display(), "dropping a head-chunk file that follows a damaged one");
                fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                continue;
            }
            let (good, max_time, problem) = Self::scan(&path)?;
            if let Some(reason) = problem {
                metrics.corruptions.inc();
                tracing::warn!(file = %path.display(), offset = good, %reason, "damaged head-chunk file cut; the WAL still holds its samples");
                damaged_at = Some(seq);
                if good < FILE_HEADER as u64 {
                    fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                    continue;
                }
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                f.set_len(good).map_err(|e| Error::io(&path, e))?;
                f.sync_all().map_err(|e| Error::io(&path, e))?;
            }
            let map = if good > 0 {
                let f = File::open(&path).map_err(|e| Error::io(&path, e))?;
                Some(Arc::new(MmapFile::map(&f, &path, good)?))
            } else {
                None
            };
            files.insert(
                seq,
                FileState {
                    path,
                    len: good,
                    map,
                    max_time,
                },
            );
        }
        let m = ChunkDiskMapper {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                files,
                active: None,
                closed: false,
            }),
            metrics,
        };
        m.update_gauges(&m.inner.lock());
        Ok(m)
    }

    /// Returns (good length, newest maxt, damage description).
    fn scan(path: &Path) -> Result<(u64, i64, Option<String>)> {
        let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.len() < FILE_HEADER || bytes[..4] != MAGIC {
            return Ok((0, i64::MIN, Some("missing or bad file header".into())));
        }
        if bytes[4] != VERSION {
            return Ok((
                0,
                i64::MIN,
                Some(format!("unsupported version {}", bytes[4])),
            ));
        }
        let mut off = FILE_HEADER;
        let mut max_time = i64::MIN;
        while off < bytes.len() {
            match parse_record(&bytes, off) {
                Ok(r) => {
                    max_time = max_time.max(r.maxt);
                    off = r.end;
                }
                Err(reason) => return Ok((off as u64, max_time, Some(reason))),
            }
        }
        Ok((off as u64, max_time, None))
    }

    fn update_gauges(&self, inner: &Inner) {
        let n = inner.files.len()
            + usize::from(
                inner
                    .active
                    .as_ref()
                    .is_some_and(|a| !inner.files.contains_key(&a.seq)),
            );
        self.metrics.files.set(n as f64);
        let size: u64 = inner
            .files
            .iter()
            .map(|(seq, f)| match &inner.active {
                Some(a) if a.seq == *seq => a.size,
                _ => f.len,
            })
            .sum();
        self.metrics.size.set(size as f64);
    }

    fn new_file(&self, inner: &mut Inner) -> Result<()> {
        self.flush(inner)?;
        if let Some(a) = inner.active.take() {
            a.file.sync_all().map_err(|e| Error::io(&self.dir, e))?;
        }
        let seq = inner.files.keys().next_back().map_or(1, |s| s + 1);
        let path = self.dir.join(file_name(seq));
        let mut file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut header = [0u8; FILE_HEADER];
        header[..4].copy_from_slice(&MAGIC);
        header[4] = VERSION;
        file.write_all(&header).map_err(|e| Error::io(&path, e))?;
        inner.files.insert(
            seq,
            FileState {
                path,
                len: FILE_HEADER as u64,
                map: None,
                max_time: i64::MIN,
            },
        );
        inner.active = Some(Active {
            seq,
            file,
            size: FILE_HEADER as u64,
            buf: Vec::with_capacity(WRITE_BUFFER),
        });
        Ok(())
    }

    fn flush(&self, inner: &mut Inner) -> Result<()> {
        let Some(a) = inner.active.as_mut() else {
            return Ok(());
        };
        if a.buf.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(file_name(a.seq));
        a.file.write_all(&a.buf).map_err(|e| Error::io(&path, e))?;
        a.buf.clear();
        if let Some(f) = inner.files.get_mut(&a.seq) {
            f.len = a.size;
        }
        Ok(())
    }

    /// Writes a full chunk and returns its reference.
    pub fn write_chunk(
        &self,
        series_ref: u64,
        mint: i64,
        maxt: i64,
        encoding: u8,
        chunk: &[u8],
    ) -> Result<ChunkDiskRef> {
        let mut inner = self.inner.lock();
        if inner.closed {
            return Err(Error::Closed);
        }
        let rec_len = (RECORD_HEADER + chunk.len() + CRC_LEN) as u64;
        let needs_file = match &inner.active {
            None => true,
            Some(a) => a.size + rec_len > MAX_FILE_SIZE,
        };
        if needs_file {
            self.new_file(&mut inner)?;
        }
        let a = inner.active.as_mut().expect("active file");
        let off = a.size as u32;
        let start = a.buf.len();
        a.buf.extend_from_slice(&series_ref.to_le_bytes());
        a.buf.extend_from_slice(&mint.to_le_bytes());
        a.buf.extend_from_slice(&maxt.to_le_bytes());
        a.buf.push(encoding);
        a.buf.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        a.buf.extend_from_slice(chunk);
        let crc = crc32c::crc32c(&a.buf[start..]);
        a.buf.extend_from_slice(&crc.to_le_bytes());
        a.size += rec_len;
        let seq = a.seq;
        let flush = a.buf.len() >= WRITE_BUFFER;
        if let Some(f) = inner.files.get_mut(&seq) {
            f.max_time = f.max_time.max(maxt);
        }
        if flush {
            self.flush(&mut inner)?;
        }
        self.metrics.written.inc();
        Ok(ChunkDiskRef::new(seq, off))
    }

    /// [`ChunkDiskMapper::chunk`] for a reader going through many chunks (a query's
    /// selection): a chunk in the file `memo` last saw mapped is read from that map without
    /// the mapper's lock, which writers and the other readers share. The mapped part of a
    /// file never changes (records are appended whole and files are only ever cut at
    /// start-up), so the memo stays valid; anything it does not cover takes the locked path,
    /// which then remembers that chunk's file.
    pub fn chunk_memo(&self, r: ChunkDiskRef, memo: &mut FileMapMemo) -> Result<(u8, ChunkBytes)> {
        if let Some(map) = memo.map.as_ref().filter(|_| memo.seq == r.seq())
            && let Ok(chunk) = mapped_chunk(map, r.offset() as usize)
        {
            return Ok(chunk);
        }
        let (enc, bytes) = self.chunk(r)?;
        if let ChunkBytes::Mapped(m) = &bytes {
            memo.seq = r.seq();
            memo.map = Some(m.map().clone());
        }
        Ok((enc, bytes))
    }

    /// The encoding byte and bytes of a chunk.
    pub fn chunk(&self, r: ChunkDiskRef) -> Result<(u8, ChunkBytes)> {
        let mut inner = self.inner.lock();
        let (seq, off) = (r.seq(), r.offset() as u64);
        // Still in the write buffer?
        if let Some(a) = &inner.active
            && a.seq == seq
        {
            let flushed = a.size - a.buf.len() as u64;
            if off >= flushed {
                let start = (off - flushed) as usize;
                let rec = parse_record(&a.buf, start).map_err(|reason| {
                    Error::corruption(self.dir.join(file_name(seq)), off, reason)
                })?;
                let enc = a.buf[start + 24];
                return Ok((enc, ChunkBytes::Owned(Arc::from(&a.buf[rec.data]))));
            }
        }
        let Some(f) = inner.files.get_mut(&seq) else {
            return Err(Error::InvalidArgument(format!(
                "no head-chunk file {} for chunk reference {:#x}",
                file_name(seq),
                r.0
            )));
        };
        if off >= f.len {
            return Err(Error::InvalidArgument(format!(
                "chunk reference {:#x} beyond the end of file {}",
                r.0,
                f.path.display()
            )));
        }
        let mapped = f.map.as_ref().map_or(0, |m| m.len() as u64);
        if mapped < f.len {
            let file = File::open(&f.path).map_err(|e| Error::io(&f.path, e))?;
            f.map = Some(Arc::new(MmapFile::map(&file, &f.path, f.len)?));
        }
        let map = f.map.as_ref().expect("mapped");
        mapped_chunk(map, off as usize).map_err(|reason| Error::corruption(&f.path, off, reason))
    }

    /// Calls `f(series_ref, ref, mint, maxt, samples)` for every chunk in the files, oldest
    /// first. Buffered chunks are flushed first.
    pub fn iterate_all_chunks(
        &self,
        f: &mut dyn FnMut(u64, ChunkDiskRef, i64, i64, u16) -> Result<()>,
    ) -> Result<()> {
        let maps: Vec<(u32, Arc<MmapFile>)> = {
            let mut inner = self.inner.lock();
            self.flush(&mut inner)?;
            let mut out = Vec::new();
            for (seq, fs_) in inner.files.iter_mut() {
                if fs_.len == 0 {
                    continue;
                }
                if fs_.map.as_ref().map_or(0, |m| m.len() as u64) < fs_.len {
                    let file = File::open(&fs_.path).map_err(|e| Error::io(&fs_.path, e))?;
                    fs_.map = Some(Arc::new(MmapFile::map(&file, &fs_.path, fs_.len)?));
                }
                out.push((*seq, fs_.map.clone().expect("mapped")));
            }
            out
        };
        for (seq, map) in maps {
            let b = map.bytes();
            let mut off = FILE_HEADER;
            while off < b.len() {
                let rec = parse_record(b, off)
                    .map_err(|reason| Error::corruption(map.path(), off as u64, reason))?;
                let n = num_samples(Encoding::Xor, &b[rec.data.clone()]) as u16;
                f(
                    rec.series_ref,
                    ChunkDiskRef::new(seq, off as u32),
                    rec.mint,
                    rec.maxt,
                    n,
                )?;
                off = rec.end;
            }
        }
        Ok(())
    }

    /// Deletes files, other than the one being written, whose chunks all end before `mint`.
    pub fn truncate_before(&self, mint: i64) -> Result<usize> {
        let mut inner = self.inner.lock();
        let active = inner.active.as_ref().map(|a| a.seq);
        let doomed: Vec<u32> = inner
            .files
            .iter()
            .filter(|(seq, f)| Some(**seq) != active && f.max_time < mint)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in &doomed {
            if let Some(f) = inner.files.remove(seq) {
                // Readers holding the map keep it valid after the unlink.
                fs::remove_file(&f.path).map_err(|e| Error::io(&f.path, e))?;
            }
        }
        self.update_gauges(&inner);
        Ok(doomed.len())
    }

    /// Closes the current file and starts a new one at the next write.
    pub fn cut_file(&self) -> Result<()> {
        let mut inner = self.inner.lock();
        self.flush(&mut inner)?;
        if let Some(a) = inner.active.take() {
            a.file.sync_all().map_err(|e| Error::io(&self.dir, e))?;
        }
        Ok(())
    }

    /// Flushes buffered chunks and fsyncs the current file.
    pub fn sync(&self) -> Result<()> {
        let mut inner = self.inner.lock();
        self.flush(&mut inner)?;
        if let Some(a) = &inner.active {
            a.file.sync_data().map_err(|e| Error::io(&self.dir, e))?;
        }
        self.update_gauges(&inner);
        Ok(())
    }

    pub fn size_bytes(&self) -> u64 {
        let inner = self.inner.lock();
        inner
            .files
            .iter()
            .map(|(seq, f)| match &inner.active {
                Some(a) if a.seq == *seq => a.size,
                _ => f.len,
            })
            .sum()
    }

    pub fn num_files(&self) -> usize {
        self.inner.lock().files.len()
    }

    /// Syncs; later writes fail.
    pub fn close(&self) -> Result<()> {
        self.sync()?;
        let mut inner = self.inner.lock();
        inner.active = None;
        inner.closed = true;
        Ok(())
    }
}
