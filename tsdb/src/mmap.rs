//! Read-only memory maps and a cache prefetch hint: with `arena` (chunk buffers, head series
//! and their label sets), the series lock in `head::series`, `head::grace` and the series
//! lookup in `head::append`, the only `unsafe` code of the store.
//!
//! Every file mapped here is one the store itself wrote and never modifies in place while it is
//! mapped: block files are immutable, and head-chunk and WAL files only grow by appending past
//! the mapped length. Files are only truncated (repair of a torn tail) before they are mapped,
//! and deleted (which keeps existing mappings valid on Unix) after being unmapped logically.

#![allow(unsafe_code)]

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A read-only mapping of a whole file (or of its first `len` bytes).
#[derive(Debug)]
pub struct MmapFile {
    // `None` for an empty file: zero-length mappings are not portable.
    map: Option<memmap2::Mmap>,
    path: PathBuf,
}

impl MmapFile {
    /// Maps the whole file as it is now.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Self::map(&file, path, len)
    }

    /// Maps the first `len` bytes of an open file, which must be at least that long.
    pub fn map(file: &File, path: &Path, len: u64) -> Result<Self> {
        if len == 0 {
            return Ok(MmapFile {
                map: None,
                path: path.to_path_buf(),
            });
        }
        let actual = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if actual < len {
            return Err(Error::corruption(
                path,
                actual,
                format!("file shorter than the {len} bytes to map"),
            ));
        }
        // SAFETY: the store never truncates or rewrites a file in place while a mapping of it
        // exists (see the module documentation), and we checked the file covers `len` bytes,
        // so every mapped page is backed by file data for the mapping's life.
        let map = unsafe { memmap2::MmapOptions::new().len(len as usize).map(file) }
            .map_err(|e| Error::io(path, e))?;
        Ok(MmapFile {
            map: Some(map),
            path: path.to_path_buf(),
        })
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.map {
            Some(m) => m,
            None => &[],
        }
    }

    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A byte range of a shared mapping that owns its mapping: usable as `AsRef<[u8]>` by chunk
/// iterators that must outlive the reader that made them.
#[derive(Debug, Clone)]
pub struct MmapSlice {
    map: Arc<MmapFile>,
    range: Range<usize>,
}

impl MmapSlice {
    /// `range` must lie within the mapping (checked).
    pub fn new(map: Arc<MmapFile>, range: Range<usize>) -> Option<Self> {
        if range.start <= range.end && range.end <= map.len() {
            Some(MmapSlice { map, range })
        } else {
            None
        }
    }

    /// The mapping this slice lies in.
    pub fn map(&self) -> &Arc<MmapFile> {
        &self.map
    }
}

impl AsRef<[u8]> for MmapSlice {
    fn as_ref(&self) -> &[u8] {
        &self.map.bytes()[self.range.clone()]
    }
}

/// Asks the CPU to bring the cache line holding `p` closer, so a read a little later does not
/// wait for memory. Only a hint: nothing is read, and any address is allowed.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the prefetch instruction never faults, whatever the address, and SSE (which
    // provides it) is part of every x86-64 CPU.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_files_and_slices() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::File::create(&p)
            .unwrap()
            .write_all(b"hello world")
            .unwrap();
        let m = Arc::new(MmapFile::open(&p).unwrap());
        assert_eq!(m.bytes(), b"hello world");
        let s = MmapSlice::new(m.clone(), 6..11).unwrap();
        assert_eq!(s.as_ref(), b"world");
        assert!(MmapSlice::new(m, 6..12).is_none());
        let e = dir.path().join("empty");
        std::fs::File::create(&e).unwrap();
        assert!(MmapFile::open(&e).unwrap().is_empty());
    }
}
