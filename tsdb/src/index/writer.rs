//! Writing a block index.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use model::{LabelStr, Labels};
use roaring::RoaringBitmap;

use super::*;
use crate::chunks::ChunkMeta;
use crate::encoding::{Uvarints, put_uvarint, put_varint};
use crate::error::{Error, Result};

/// Collects series in label order, then writes the whole index in `finish`.
///
/// A series is kept as the ids of its names and values (varints, in the writer's own string
/// table) rather than as a label set, so a block of a million series does not hold a million
/// label sets while it is written (the head builds each one only for this).
pub struct IndexWriter {
    path: PathBuf,
    /// Strings by the writer's id, in the order first seen.
    strings: Vec<LabelStr>,
    ids: HashMap<LabelStr, u32>,
    /// Per series: the label count, then name id and value id per label (uvarints).
    series: Vec<(Box<[u8]>, Vec<ChunkMeta>)>,
    last: Option<Labels>,
}

impl std::fmt::Debug for IndexWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl IndexWriter {
    pub fn create(path: &Path) -> Result<Self> {
        Ok(IndexWriter {
            path: path.to_path_buf(),
            strings: Vec::new(),
            ids: HashMap::new(),
            series: Vec::new(),
            last: None,
        })
    }

    /// Adds the next series; label sets must strictly increase.
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<u32> {
        if let Some(last) = &self.last
            && labels <= last
        {
            return Err(Error::InvalidArgument(format!(
                "series {labels} added out of order after {last}"
            )));
        }
        if self.series.len() >= u32::MAX as usize {
            return Err(Error::InvalidArgument(
                "too many series for one index".into(),
            ));
        }
        if let Some(c) = chunks.iter().find(|c| c.maxt < c.mint) {
            return Err(Error::InvalidArgument(format!(
                "chunk of {labels} ends before it starts ({} > {})",
                c.mint, c.maxt
            )));
        }
        let mut b = Vec::with_capacity(1 + labels.len() * 4);
        put_uvarint(&mut b, labels.len() as u64);
        for l in labels {
            for x in [&l.name, &l.value] {
                let next = self.strings.len() as u32;
                let id = *self.ids.entry(x.clone()).or_insert_with(|| {
                    self.strings.push(x.clone());
                    next
                });
                put_uvarint(&mut b, u64::from(id));
            }
        }
        self.series.push((b.into_boxed_slice(), chunks.to_vec()));
        self.last = Some(labels.clone());
        Ok(self.series.len() as u32 - 1)
    }

    pub fn finish(self) -> Result<()> {
        let path = self.path.clone();
        let io = |e: std::io::Error| Error::io(&path, e);
        // Symbols: every name and value, sorted, so symbol order is string order; `sym` maps
        // the writer's ids to symbol numbers.
        let (order, sym) = string_order(&self.strings);
        let symbols: Vec<&LabelStr> = order.iter().map(|&id| &self.strings[id as usize]).collect();

        let mut sections: Vec<Vec<u8>> = vec![Vec::new(); SECTIONS];
        let s = &mut sections[SYMBOLS];
        for x in &symbols {
            put_uvarint(s, x.len() as u64);
            s.extend_from_slice(x.as_bytes());
        }

        let mut postings: BTreeMap<(u32, u32), RoaringBitmap> = BTreeMap::new();
        let mut series_bytes = Vec::new();
        let mut offsets = Vec::with_capacity(self.series.len() * 8);
        for (id, (labels, chunks)) in self.series.iter().enumerate() {
            offsets.extend_from_slice(&(series_bytes.len() as u64).to_le_bytes());
            let mut ids = Uvarints(labels);
            let n = ids.next().expect("a label count");
            put_uvarint(&mut series_bytes, u64::from(n));
            for _ in 0..n {
                let n = sym[ids.next().expect("a name id") as usize];
                let v = sym[ids.next().expect("a value id") as usize];
                put_uvarint(&mut series_bytes, n as u64);
                put_uvarint(&mut series_bytes, v as u64);
                postings.entry((n, v)).or_default().insert(id as u32);
            }
            put_uvarint(&mut series_bytes, chunks.len() as u64);
            let (mut prev_max, mut prev_ref) = (0i64, 0u64);
            for (i, c) in chunks.iter().enumerate() {
                if i == 0 {
                    put_varint(&mut series_bytes, c.mint);
                    put_uvarint(&mut series_bytes, c.r.0);
                } else {
                    put_varint(&mut series_bytes, c.mint.wrapping_sub(prev_max));
                    put_varint(&mut series_bytes, c.r.0.wrapping_sub(prev_ref) as i64);
                }
                put_uvarint(&mut series_bytes, c.maxt.wrapping_sub(c.mint) as u64);
                prev_max = c.maxt;
                prev_ref = c.r.0;
            }
        }
        sections[SERIES] = series_bytes;
        sections[SERIES_OFFSETS] = offsets;
        let mut post_bytes = Vec::new();
        let mut table = Vec::with_capacity(postings.len() * POSTINGS_ENTRY);
        for ((n, v), bm) in &postings {
            let start = post_bytes.len() as u64;
            bm.serialize_into(&mut post_bytes).map_err(io)?;
            table.extend_from_slice(&n.to_le_bytes());
            table.extend_from_slice(&v.to_le_bytes());
            table.extend_from_slice(&start.to_le_bytes());
            table.extend_from_slice(&((post_bytes.len() as u64 - start) as u32).to_le_bytes());
        }
        sections[POSTINGS] = post_bytes;
        sections[POSTINGS_TABLE] = table;

        let file = File::create(&self.path).map_err(io)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&MAGIC);
        header[4] = VERSION;
        w.write_all(&header).map_err(io)?;
        let mut toc = Vec::with_capacity(TOC_LEN);
        let mut off = HEADER as u64;
        for s in &sections {
            w.write_all(s).map_err(io)?;
            toc.extend_from_slice(&off.to_le_bytes());
            toc.extend_from_slice(&(s.len() as u64).to_le_bytes());
            toc.extend_from_slice(&crc32c::crc32c(s).to_le_bytes());
            off += s.len() as u64;
        }
        toc.extend_from_slice(&(symbols.len() as u32).to_le_bytes());
        toc.extend_from_slice(&(self.series.len() as u32).to_le_bytes());
        toc.extend_from_slice(&(postings.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c(&toc);
        toc.extend_from_slice(&crc.to_le_bytes());
        w.write_all(&toc).map_err(io)?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(())
    }
}
