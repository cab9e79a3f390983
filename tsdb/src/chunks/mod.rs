//! Block chunk segment files: `chunks/000001`, `000002`, ... (layout in
//! `tsdb/docs/format/block_chunks.md`). Written once by compaction, then read through memory
//! maps.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::encoding::{Decbuf, put_uvarint};
use crate::error::{Error, Result};
use crate::mmap::{MmapFile, MmapSlice};

const MAGIC: [u8; 4] = *b"VBCK";
const VERSION: u8 = 1;
const HEADER: usize = 8;
/// Files are cut before they would exceed this size.
const MAX_FILE: u64 = 512 << 20;

/// Where a chunk is: upper 32 bits the segment file number, lower 32 bits the offset of its
/// record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkRef(pub u64);

impl ChunkRef {
    pub fn new(seq: u32, offset: u32) -> Self {
        ChunkRef(((seq as u64) << 32) | offset as u64)
    }
    pub fn seq(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

/// A chunk's time range and location, as the index stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    pub mint: i64,
    pub maxt: i64,
    pub r: ChunkRef,
}

fn seg_path(dir: &Path, seq: u32) -> PathBuf {
    dir.join(format!("{seq:06}"))
}

/// Writes chunk segment files.
pub struct ChunkWriter {
    dir: PathBuf,
    seq: u32,
    file: Option<BufWriter<File>>,
    size: u64,
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
        Ok(ChunkWriter {
            dir: dir.to_path_buf(),
            seq: 0,
            file: None,
            size: 0,
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

    /// Appends a chunk and returns where it is.
    pub fn write(&mut self, encoding: u8, data: &[u8]) -> Result<ChunkRef> {
        let mut len_buf = Vec::with_capacity(5);
        put_uvarint(&mut len_buf, data.len() as u64);
        let rec = len_buf.len() as u64 + 1 + data.len() as u64 + 4;
        if self.file.is_none() || self.size + rec > MAX_FILE {
            self.finish_file()?;
            self.seq += 1;
            let path = seg_path(&self.dir, self.seq);
            let mut f = BufWriter::with_capacity(
                1 << 20,
                File::create(&path).map_err(|e| Error::io(&path, e))?,
            );
            let mut h = [0u8; HEADER];
            h[..4].copy_from_slice(&MAGIC);
            h[4] = VERSION;
            f.write_all(&h).map_err(|e| Error::io(&path, e))?;
            self.file = Some(f);
            self.size = HEADER as u64;
        }
        let off = self.size as u32;
        let f = self.file.as_mut().expect("open file");
        let mut crc = crc32c::crc32c(&[encoding]);
        crc = crc32c::crc32c_append(crc, data);
        let path = || seg_path(&self.dir, self.seq);
        f.write_all(&len_buf).map_err(|e| Error::io(path(), e))?;
        f.write_all(&[encoding]).map_err(|e| Error::io(path(), e))?;
        f.write_all(data).map_err(|e| Error::io(path(), e))?;
        f.write_all(&crc.to_le_bytes())
            .map_err(|e| Error::io(path(), e))?;
        self.size += rec;
        Ok(ChunkRef::new(self.seq, off))
    }

    /// Flushes and fsyncs.
    pub fn finish(mut self) -> Result<()> {
        self.finish_file()
    }
}

/// Reads chunks from the segment files of one block.
#[derive(Debug)]
pub struct ChunkReader {
    files: Vec<Arc<MmapFile>>, // index = seq - 1
    size: u64,
}

impl ChunkReader {
    /// Maps every segment file, checking headers. Files must be numbered 1, 2, ... with no gap.
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
            if b[4] != VERSION {
                return Err(Error::format(
                    &path,
                    format!("chunk segment version {}", b[4]),
                ));
            }
            size += b.len() as u64;
            files.push(Arc::new(m));
        }
        Ok(ChunkReader { files, size })
    }

    /// The encoding and bytes of a chunk, bounds- and checksum-checked.
    pub fn chunk(&self, r: ChunkRef) -> Result<(u8, MmapSlice)> {
        let Some(m) = (r.seq() as usize)
            .checked_sub(1)
            .and_then(|i| self.files.get(i))
        else {
            return Err(Error::InvalidArgument(format!(
                "chunk reference {:#x} names no segment file",
                r.0
            )));
        };
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
        let p = d.pos;
        let enc_at = p;
        let data_start = enc_at + 1;
        let end = data_start
            .checked_add(len)
            .filter(|e| e + 4 <= b.len())
            .ok_or_else(|| bad("chunk cut short"))?;
        let want = u32::from_le_bytes(b[end..end + 4].try_into().expect("4"));
        if crc32c::crc32c(&b[enc_at..end]) != want {
            return Err(bad("chunk checksum mismatch"));
        }
        let slice = MmapSlice::new(m.clone(), data_start..end).expect("checked range");
        Ok((b[enc_at], slice))
    }

    pub fn size_bytes(&self) -> u64 {
        self.size
    }
}
