//! Reading a block index from a memory map.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use model::{Label, LabelStr, Labels};
use roaring::RoaringBitmap;

use super::*;
use crate::chunks::{ChunkMeta, ChunkRef};
use crate::encoding::Decbuf;
use crate::error::{Error, Result};
use crate::mmap::MmapFile;
use crate::postings::IndexLookup;

/// A block index, validated at open (header, table of contents, every section's checksum).
#[derive(Debug)]
pub struct IndexReader {
    map: Arc<MmapFile>,
    symbols: Vec<LabelStr>,
    sections: [Range<usize>; SECTIONS],
    num_series: u32,
    /// Per label name (by symbol): its entries in the postings table.
    names: Vec<(u32, Range<usize>)>,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl IndexReader {
    pub fn open(path: &Path) -> Result<Self> {
        let map = Arc::new(MmapFile::open(path)?);
        let b = map.bytes();
        let bad =
            |off: usize, reason: &str| Error::corruption(path, off as u64, reason.to_string());
        if b.len() < HEADER + TOC_LEN || b[..4] != MAGIC {
            return Err(bad(0, "not an index file (bad header or too short)"));
        }
        if b[4] != VERSION {
            return Err(Error::format(path, format!("index version {}", b[4])));
        }
        let toc_at = b.len() - TOC_LEN;
        let toc = &b[toc_at..];
        if crc32c::crc32c(&toc[..TOC_LEN - 4]) != le_u32(toc, TOC_LEN - 4) {
            return Err(bad(toc_at, "table of contents checksum mismatch"));
        }
        let mut sections: [Range<usize>; SECTIONS] = Default::default();
        for (i, sec) in sections.iter_mut().enumerate() {
            let e = i * TOC_ENTRY;
            let (off, len, crc) = (
                le_u64(toc, e) as usize,
                le_u64(toc, e + 8) as usize,
                le_u32(toc, e + 16),
            );
            let end = off
                .checked_add(len)
                .filter(|end| off >= HEADER && *end <= toc_at)
                .ok_or_else(|| bad(toc_at + e, "section out of range"))?;
            if crc32c::crc32c(&b[off..end]) != crc {
                return Err(bad(off, &format!("section {i} checksum mismatch")));
            }
            *sec = off..end;
        }
        let counts = SECTIONS * TOC_ENTRY;
        let (n_sym, n_series, n_post) = (
            le_u32(toc, counts),
            le_u32(toc, counts + 4),
            le_u32(toc, counts + 8),
        );
        if sections[SERIES_OFFSETS].len() != n_series as usize * 8
            || sections[POSTINGS_TABLE].len() != n_post as usize * POSTINGS_ENTRY
        {
            return Err(bad(toc_at, "section sizes disagree with counts"));
        }
        // Symbols.
        let mut symbols: Vec<LabelStr> = Vec::with_capacity(n_sym as usize);
        let mut c = Decbuf::new(&b[sections[SYMBOLS].clone()], 0);
        for _ in 0..n_sym {
            let at = sections[SYMBOLS].start + c.pos;
            let len = c.uvarint().ok_or_else(|| bad(at, "symbol length"))? as usize;
            let bytes =
                c.b.get(c.pos..c.pos + len)
                    .ok_or_else(|| bad(at, "symbol cut short"))?;
            let s = std::str::from_utf8(bytes).map_err(|_| bad(at, "symbol is not UTF-8"))?;
            if symbols.last().is_some_and(|p| **p >= *s) {
                return Err(bad(at, "symbols not sorted"));
            }
            symbols.push(LabelStr::from(s));
            c.pos += len;
        }
        // Name ranges of the postings table.
        let table = &b[sections[POSTINGS_TABLE].clone()];
        let mut names: Vec<(u32, Range<usize>)> = Vec::new();
        let mut prev: Option<(u32, u32)> = None;
        for i in 0..n_post as usize {
            let (n, v) = (
                le_u32(table, i * POSTINGS_ENTRY),
                le_u32(table, i * POSTINGS_ENTRY + 4),
            );
            if n >= n_sym || v >= n_sym || prev.is_some_and(|p| p >= (n, v)) {
                return Err(bad(
                    sections[POSTINGS_TABLE].start + i * POSTINGS_ENTRY,
                    "postings table entry invalid or out of order",
                ));
            }
            let (po, pl) = (
                le_u64(table, i * POSTINGS_ENTRY + 8) as usize,
                le_u32(table, i * POSTINGS_ENTRY + 16) as usize,
            );
            if po
                .checked_add(pl)
                .is_none_or(|e| e > sections[POSTINGS].len())
            {
                return Err(bad(
                    sections[POSTINGS_TABLE].start + i * POSTINGS_ENTRY,
                    "postings list out of range",
                ));
            }
            match names.last_mut() {
                Some((name, r)) if *name == n => r.end = i + 1,
                _ => names.push((n, i..i + 1)),
            }
            prev = Some((n, v));
        }
        Ok(IndexReader {
            map,
            symbols,
            sections,
            num_series: n_series,
            names,
        })
    }

    fn bytes(&self, s: usize) -> &[u8] {
        &self.map.bytes()[self.sections[s].clone()]
    }

    fn corrupt(&self, section: usize, off: usize, reason: &str) -> Error {
        Error::corruption(
            self.map.path(),
            (self.sections[section].start + off) as u64,
            reason.to_string(),
        )
    }

    pub fn num_series(&self) -> u32 {
        self.num_series
    }

    pub fn size_bytes(&self) -> u64 {
        self.map.len() as u64
    }

    fn symbol(&self, id: u64) -> Option<&LabelStr> {
        self.symbols.get(id as usize)
    }

    fn symbol_id(&self, s: &str) -> Option<u32> {
        self.symbols
            .binary_search_by(|x| (**x).cmp(s))
            .ok()
            .map(|i| i as u32)
    }

    /// The labels of series `id`; its chunk metas replace the contents of `chunks`.
    pub fn series(&self, id: u32, chunks: &mut Vec<ChunkMeta>) -> Result<Labels> {
        chunks.clear();
        if id >= self.num_series {
            return Err(Error::InvalidArgument(format!(
                "series {id} not in index of {} series",
                self.num_series
            )));
        }
        let off = le_u64(self.bytes(SERIES_OFFSETS), id as usize * 8) as usize;
        let b = self.bytes(SERIES);
        let mut c = Decbuf::new(b, off);
        let bad = |c: &Decbuf<'_>| self.corrupt(SERIES, c.pos, "series entry damaged");
        let n = c.uvarint().ok_or_else(|| bad(&c))? as usize;
        if n > b.len() {
            return Err(bad(&c));
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let name = c
                .uvarint()
                .and_then(|s| self.symbol(s))
                .ok_or_else(|| bad(&c))?;
            let value = c
                .uvarint()
                .and_then(|s| self.symbol(s))
                .ok_or_else(|| bad(&c))?;
            if value.is_empty() || labels.last().is_some_and(|l: &Label| l.name >= *name) {
                return Err(bad(&c));
            }
            labels.push(Label {
                name: name.clone(),
                value: value.clone(),
            });
        }
        let nc = c.uvarint().ok_or_else(|| bad(&c))? as usize;
        if nc > b.len() {
            return Err(bad(&c));
        }
        chunks.reserve(nc);
        let (mut prev_max, mut prev_ref) = (0i64, 0u64);
        for i in 0..nc {
            let (mint, r) = if i == 0 {
                (
                    c.varint().ok_or_else(|| bad(&c))?,
                    c.uvarint().ok_or_else(|| bad(&c))?,
                )
            } else {
                let d = c.varint().ok_or_else(|| bad(&c))?;
                let dr = c.varint().ok_or_else(|| bad(&c))?;
                (prev_max.wrapping_add(d), prev_ref.wrapping_add(dr as u64))
            };
            let span = c.uvarint().ok_or_else(|| bad(&c))?;
            let maxt = mint.wrapping_add(span as i64);
            chunks.push(ChunkMeta {
                mint,
                maxt,
                r: ChunkRef(r),
            });
            prev_max = maxt;
            prev_ref = r;
        }
        Ok(Labels::from_sorted(labels))
    }

    fn name_range(&self, name: &str) -> Option<Range<usize>> {
        let id = self.symbol_id(name)?;
        let i = self.names.binary_search_by_key(&id, |(n, _)| *n).ok()?;
        Some(self.names[i].1.clone())
    }

    fn entry(&self, i: usize) -> (u32, u32, usize, usize) {
        let t = self.bytes(POSTINGS_TABLE);
        let e = i * POSTINGS_ENTRY;
        (
            le_u32(t, e),
            le_u32(t, e + 4),
            le_u64(t, e + 8) as usize,
            le_u32(t, e + 16) as usize,
        )
    }

    fn read_postings(&self, i: usize) -> Result<RoaringBitmap> {
        let (_, _, off, len) = self.entry(i);
        let b = &self.bytes(POSTINGS)[off..off + len];
        let bm = RoaringBitmap::deserialize_from(b)
            .map_err(|_| self.corrupt(POSTINGS, off, "postings list damaged"))?;
        if bm.max().is_some_and(|m| m >= self.num_series) {
            return Err(self.corrupt(
                POSTINGS,
                off,
                "postings list names a series beyond the index",
            ));
        }
        Ok(bm)
    }

    /// Label names, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.names
            .iter()
            .filter_map(|(n, _)| self.symbol(*n as u64))
            .map(|s| s.to_string())
            .collect()
    }

    /// Values of label `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        let Some(r) = self.name_range(name) else {
            return Vec::new();
        };
        r.filter_map(|i| self.symbol(self.entry(i).1 as u64))
            .map(|s| s.to_string())
            .collect()
    }
}

impl IndexLookup for IndexReader {
    fn all_postings(&self) -> Result<RoaringBitmap> {
        let mut bm = RoaringBitmap::new();
        bm.insert_range(0..self.num_series);
        Ok(bm)
    }

    fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap> {
        let (Some(r), Some(v)) = (self.name_range(name), self.symbol_id(value)) else {
            return Ok(RoaringBitmap::new());
        };
        // Binary search of the name's entries, which are sorted by value symbol.
        let (mut lo, mut hi) = (r.start, r.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid).1.cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.read_postings(mid),
            }
        }
        Ok(RoaringBitmap::new())
    }

    fn postings_matching(
        &self,
        name: &str,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap> {
        let mut out = RoaringBitmap::new();
        let Some(r) = self.name_range(name) else {
            return Ok(out);
        };
        for i in r {
            let v = self.entry(i).1;
            if let Some(s) = self.symbol(v as u64)
                && pred(s)
            {
                out |= self.read_postings(i)?;
            }
        }
        Ok(out)
    }
}
