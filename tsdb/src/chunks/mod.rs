//! Block chunk segment files: `chunks/000001`, `000002`, ... (layout in
//! `tsdb/docs/format/block_chunks.md`). Written once by compaction or import, then read
//! through memory maps.
//!
//! Version 2 files (all that are written) hold zstd-compressed frames of about 32 KiB of
//! chunks each, in the column encoding; series are written in label order, so a frame holds
//! neighbouring series, which share timestamps and often values, and compresses across them.
//! Reading a chunk decompresses its frame, and a small cache per block keeps the frames read
//! last (a query reads series in the same label order). Version 1 files (uncompressed Gorilla
//! chunks, one checksum each) are still read.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::chunkenc::{self, Encoding, encode_columns};
use crate::encoding::{Decbuf, put_uvarint};
use crate::error::{Error, Result};
use crate::mmap::{MmapFile, MmapSlice};
use crate::querier::ChunkData;

const MAGIC: [u8; 4] = *b"VBCK";
/// Uncompressed chunks with a checksum each.
const VERSION_PLAIN: u8 = 1;
/// zstd frames of column-encoded chunks.
const VERSION_FRAMED: u8 = 2;
const HEADER: usize = 8;
/// Files are cut before a frame would start past this size.
const MAX_FILE: u64 = 512 << 20;
/// A frame is compressed once its chunks reach this many bytes; so every chunk starts
/// within the first 64 KiB of its frame, as the 16 bits of a reference allow.
const FRAME_TARGET: usize = 32 << 10;
/// The largest frame a reader accepts (a frame holds at most one chunk past the target).
const MAX_FRAME: usize = 64 << 20;
const ZSTD_LEVEL: i32 = 3;
/// Decompressed frames a block keeps.
const CACHED_FRAMES: usize = 16;

/// Where a chunk is. In version 2 files: the file number in the upper 16 bits, the byte
/// offset of the chunk's frame in the next 32, and the chunk's offset within the
/// decompressed frame in the lower 16. In version 1 files: the file number in the upper 32
/// bits, the chunk's offset in the lower 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkRef(pub u64);

impl ChunkRef {
    /// A version 1 reference.
    pub fn new(seq: u32, offset: u32) -> Self {
        ChunkRef(((seq as u64) << 32) | offset as u64)
    }
    pub fn seq(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub fn offset(self) -> u32 {
        self.0 as u32
    }

    /// A version 2 reference.
    pub fn framed(seq: u16, frame: u32, within: u16) -> Self {
        ChunkRef(((seq as u64) << 48) | ((frame as u64) << 16) | within as u64)
    }
    fn frame_parts(self) -> (u16, u32, u16) {
        ((self.0 >> 48) as u16, (self.0 >> 16) as u32, self.0 as u16)
    }
}

/// A chunk's time range and location, as the index stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    pub mint: i64,
    pub maxt: i64,
    pub r: ChunkRef,
}

/// A chunk's bytes inside a shared buffer: a decompressed frame of a block's chunk file, or
/// the buffer holding the copies of open head chunks that one selection made.
#[derive(Clone, Debug)]
pub struct FrameBytes {
    frame: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl FrameBytes {
    /// `range` must lie within `frame` (checked).
    pub(crate) fn new(frame: Arc<Vec<u8>>, range: Range<usize>) -> Option<Self> {
        (range.start <= range.end && range.end <= frame.len())
            .then_some(FrameBytes { frame, range })
    }

    /// The whole decompressed frame.
    pub fn frame(&self) -> &Arc<Vec<u8>> {
        &self.frame
    }
}

impl AsRef<[u8]> for FrameBytes {
    fn as_ref(&self) -> &[u8] {
        &self.frame[self.range.clone()]
    }
}

fn seg_path(dir: &Path, seq: u32) -> PathBuf {
    dir.join(format!("{seq:06}"))
}

/// Writes version 2 chunk segment files.
pub struct ChunkWriter {
    dir: PathBuf,
    seq: u32,
    file: Option<BufWriter<File>>,
    size: u64,
    /// Chunk records of the frame being filled, uncompressed.
    frame: Vec<u8>,
    zstd: zstd::bulk::Compressor<'static>,
    /// Scratch for converting Gorilla chunks.
    samples: Vec<(i64, f64)>,
    columns: Vec<u8>,
}

impl std::fmt::Debug for ChunkWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkWriter")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl ChunkWriter {
    pub fn create(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| Error::io(dir, e))?;
        Ok(ChunkWriter {
            dir: dir.to_path_buf(),
            seq: 0,
            file: None,
            size: 0,
            frame: Vec::with_capacity(FRAME_TARGET * 2),
            zstd,
            samples: Vec::new(),
            columns: Vec::new(),
        })
    }

    fn finish_file(&mut self) -> Result<()> {
        if let Some(f) = self.file.take() {
            let path = seg_path(&self.dir, self.seq);
            let f = f
                .into_inner()
                .map_err(|e| Error::io(&path, e.into_error()))?;
            f.sync_all().map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }

    /// Starts a new file when none is open or the current one is full.
    fn ensure_file(&mut self) -> Result<()> {
        if self.file.is_some() && self.size < MAX_FILE {
            return Ok(());
        }
        self.finish_file()?;
        if self.seq == u16::MAX as u32 {
            return Err(Error::InvalidArgument(format!(
                "block chunks exceed {} files",
                u16::MAX
            )));
        }
        self.seq += 1;
        let path = seg_path(&self.dir, self.seq);
        let mut f = BufWriter::with_capacity(
            1 << 20,
            File::create(&path).map_err(|e| Error::io(&path, e))?,
        );
        let mut h = [0u8; HEADER];
        h[..4].copy_from_slice(&MAGIC);
        h[4] = VERSION_FRAMED;
        f.write_all(&h).map_err(|e| Error::io(&path, e))?;
        self.file = Some(f);
        self.size = HEADER as u64;
        Ok(())
    }

    /// Compresses and writes the frame being filled, if any.
    fn flush_frame(&mut self) -> Result<()> {
        if self.frame.is_empty() {
            return Ok(());
        }
        let path = seg_path(&self.dir, self.seq);
        let z = self
            .zstd
            .compress(&self.frame)
            .map_err(|e| Error::io(&path, e))?;
        let mut head = Vec::with_capacity(10);
        put_uvarint(&mut head, z.len() as u64);
        put_uvarint(&mut head, self.frame.len() as u64);
        let f = self
            .file
            .as_mut()
            .expect("a frame is filled into an open file");
        for part in [&head[..], &z, &crc32c::crc32c(&z).to_le_bytes()] {
            f.write_all(part).map_err(|e| Error::io(&path, e))?;
        }
        self.size += (head.len() + z.len() + 4) as u64;
        self.frame.clear();
        Ok(())
    }

    /// Appends a chunk and returns where it is. Gorilla chunks are converted to the column
    /// encoding; an unreadable one is an error.
    pub fn write(&mut self, encoding: u8, data: &[u8]) -> Result<ChunkRef> {
        if self.frame.is_empty() {
            self.ensure_file()?;
        }
        let data = match Encoding::from_u8(encoding) {
            Some(Encoding::Columns) => data,
            Some(Encoding::Xor) => {
                self.samples.clear();
                chunkenc::decode_range(Encoding::Xor, data, i64::MIN, i64::MAX, &mut self.samples)
                    .map_err(|e| Error::InvalidArgument(format!("chunk to write: {e}")))?;
                self.columns.clear();
                encode_columns(&self.samples, &mut self.columns);
                &self.columns[..]
            }
            None => {
                return Err(Error::InvalidArgument(format!(
                    "chunk to write has unknown encoding {encoding}"
                )));
            }
        };
        let r = ChunkRef::framed(self.seq as u16, self.size as u32, self.frame.len() as u16);
        put_uvarint(&mut self.frame, data.len() as u64);
        self.frame.push(Encoding::Columns as u8);
        self.frame.extend_from_slice(data);
        if self.frame.len() >= FRAME_TARGET {
            self.flush_frame()?;
        }
        Ok(r)
    }

    /// Writes the last frame, flushes and fsyncs.
    pub fn finish(mut self) -> Result<()> {
        self.flush_frame()?;
        self.finish_file()
    }
}

/// A frame's file number and offset.
type FrameKey = (u16, u32);

/// Frames decompressed last, most recent first.
#[derive(Debug, Default)]
struct FrameCache {
    frames: VecDeque<(FrameKey, Arc<Vec<u8>>)>,
}

impl FrameCache {
    fn get(&mut self, key: FrameKey) -> Option<Arc<Vec<u8>>> {
        let i = self.frames.iter().position(|(k, _)| *k == key)?;
        if i > 0 {
            let e = self.frames.remove(i).expect("found");
            self.frames.push_front(e);
        }
        Some(self.frames[0].1.clone())
    }

    fn put(&mut self, key: FrameKey, frame: Arc<Vec<u8>>) {
        if self.frames.len() == CACHED_FRAMES {
            self.frames.pop_back();
        }
        self.frames.push_front((key, frame));
    }
}

thread_local! {
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn decompress(z: &[u8], len: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        d.as_mut().expect("set").decompress(z, len)
    })
}

/// Reads chunks from the segment files of one block.
#[derive(Debug)]
pub struct ChunkReader {
    files: Vec<Arc<MmapFile>>, // index = seq - 1
    size: u64,
    framed: bool,
    cache: Mutex<FrameCache>,
}

impl ChunkReader {
    /// Maps every segment file, checking headers. Files must be numbered 1, 2, ... with no
    /// gap, all of one version.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut seqs = Vec::new();
        for e in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let e = e.map_err(|e| Error::io(dir, e))?;
            if let Ok(n) = e.file_name().to_string_lossy().parse::<u32>() {
                seqs.push(n);
            }
        }
        seqs.sort_unstable();
        let mut files = Vec::with_capacity(seqs.len());
        let mut size = 0;
        let mut version = None;
        for (i, seq) in seqs.iter().enumerate() {
            let path = seg_path(dir, *seq);
            if *seq != i as u32 + 1 {
                return Err(Error::corruption(
                    &path,
                    0,
                    "chunk segment files are not numbered 1, 2, ... without gaps",
                ));
            }
            let m = MmapFile::open(&path)?;
            let b = m.bytes();
            if b.len() < HEADER || b[..4] != MAGIC {
                return Err(Error::corruption(&path, 0, "bad chunk segment header"));
            }
            if ![VERSION_PLAIN, VERSION_FRAMED].contains(&b[4])
                || version.is_some_and(|v| v != b[4])
            {
                return Err(Error::format(
                    &path,
                    format!("chunk segment version {}", b[4]),
                ));
            }
            version = Some(b[4]);
            size += b.len() as u64;
            files.push(Arc::new(m));
        }
        Ok(ChunkReader {
            files,
            size,
            framed: version == Some(VERSION_FRAMED),
            cache: Mutex::new(FrameCache::default()),
        })
    }

    fn file(&self, seq: u32, r: ChunkRef) -> Result<&Arc<MmapFile>> {
        (seq as usize)
            .checked_sub(1)
            .and_then(|i| self.files.get(i))
            .ok_or_else(|| {
                Error::InvalidArgument(format!("chunk reference {:#x} names no segment file", r.0))
            })
    }

    /// The encoding and bytes of a chunk, bounds- and checksum-checked.
    pub fn chunk(&self, r: ChunkRef) -> Result<(Encoding, ChunkData)> {
        if self.framed {
            self.framed_chunk(r)
        } else {
            self.plain_chunk(r)
        }
    }

    fn plain_chunk(&self, r: ChunkRef) -> Result<(Encoding, ChunkData)> {
        let m = self.file(r.seq(), r)?;
        let b = m.bytes();
        let off = r.offset() as usize;
        let bad = |reason: &str| Error::corruption(m.path(), off as u64, reason.to_string());
        if off < HEADER || off >= b.len() {
            return Err(bad("chunk reference out of range"));
        }
        // Length: a uvarint of at most 5 bytes.
        let mut d = Decbuf::new(b, off);
        let len = d
            .uvarint()
            .filter(|_| d.pos - off <= 5)
            .ok_or_else(|| bad("chunk length damaged"))? as usize;
        let enc_at = d.pos;
        let data_start = enc_at + 1;
        let end = data_start
            .checked_add(len)
            .filter(|e| e + 4 <= b.len())
            .ok_or_else(|| bad("chunk cut short"))?;
        let want = u32::from_le_bytes(b[end..end + 4].try_into().expect("4"));
        if crc32c::crc32c(&b[enc_at..end]) != want {
            return Err(bad("chunk checksum mismatch"));
        }
        let enc = Encoding::from_u8(b[enc_at]).ok_or_else(|| bad("unknown chunk encoding"))?;
        let slice = MmapSlice::new(m.clone(), data_start..end).expect("checked range");
        Ok((enc, ChunkData::Block(slice)))
    }

    fn framed_chunk(&self, r: ChunkRef) -> Result<(Encoding, ChunkData)> {
        let (seq, frame_off, within) = r.frame_parts();
        let m = self.file(seq.into(), r)?;
        let cached = self.cache.lock().get((seq, frame_off));
        let frame = match cached {
            Some(f) => f,
            None => {
                let f = self.read_frame(m, frame_off as usize)?;
                self.cache.lock().put((seq, frame_off), f.clone());
                f
            }
        };
        let bad = |reason: &str| {
            Error::corruption(
                m.path(),
                frame_off as u64,
                format!("{reason} (chunk at byte {within} of the decompressed frame)"),
            )
        };
        let mut d = Decbuf::new(&frame, within as usize);
        let len = d.uvarint().ok_or_else(|| bad("chunk length damaged"))? as usize;
        let enc_at = d.pos;
        let end = (enc_at + 1)
            .checked_add(len)
            .filter(|&e| e <= frame.len())
            .ok_or_else(|| bad("chunk cut short"))?;
        let enc = Encoding::from_u8(frame[enc_at]).ok_or_else(|| bad("unknown chunk encoding"))?;
        Ok((
            enc,
            ChunkData::Frame(FrameBytes {
                frame,
                range: enc_at + 1..end,
            }),
        ))
    }

    /// Reads, checks and decompresses the frame at `off`.
    fn read_frame(&self, m: &MmapFile, off: usize) -> Result<Arc<Vec<u8>>> {
        let b = m.bytes();
        let bad = |reason: String| Error::corruption(m.path(), off as u64, reason);
        if off < HEADER || off >= b.len() {
            return Err(bad("chunk frame reference out of range".into()));
        }
        let mut d = Decbuf::new(b, off);
        let (zlen, len) = d
            .uvarint()
            .zip(d.uvarint())
            .ok_or_else(|| bad("chunk frame header damaged".into()))?;
        let (zlen, len) = (zlen as usize, len as usize);
        let start = d.pos;
        let end = start
            .checked_add(zlen)
            .filter(|e| e + 4 <= b.len() && len <= MAX_FRAME)
            .ok_or_else(|| bad("chunk frame cut short".into()))?;
        let want = u32::from_le_bytes(b[end..end + 4].try_into().expect("4"));
        if crc32c::crc32c(&b[start..end]) != want {
            return Err(bad("chunk frame checksum mismatch".into()));
        }
        let out = decompress(&b[start..end], len)
            .map_err(|e| bad(format!("chunk frame does not decompress: {e}")))?;
        if out.len() != len {
            return Err(bad(format!(
                "chunk frame decompresses to {} bytes, its header says {len}",
                out.len()
            )));
        }
        Ok(Arc::new(out))
    }

    pub fn size_bytes(&self) -> u64 {
        self.size
    }
}

/// Writes a version 1 file (uncompressed chunks, a checksum each) as earlier releases did,
/// so that tests can check such blocks are still read.
#[cfg(test)]
pub(crate) fn write_plain_file(path: &Path, chunks: &[(u8, &[u8])]) -> Vec<ChunkRef> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[VERSION_PLAIN, 0, 0, 0]);
    let seq: u32 = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .expect("numbered file");
    let mut refs = Vec::new();
    for (enc, data) in chunks {
        refs.push(ChunkRef::new(seq, out.len() as u32));
        put_uvarint(&mut out, data.len() as u64);
        let rec = out.len();
        out.push(*enc);
        out.extend_from_slice(data);
        let crc = crc32c::crc32c(&out[rec..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    fs::write(path, out).expect("write chunk file");
    refs
}
