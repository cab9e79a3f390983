//! The block index: symbols, series, postings (layout in `tsdb/docs/format/index.md`).
//!
//! Series ids are dense (0, 1, 2, ...) in label order, so a sorted postings list is also a
//! sorted series list. Postings are roaring bitmaps. The reader works straight from a memory
//! map: it decodes the symbol table at open (so label strings are shared `LabelStr`s) and a
//! small per-name range table; series and postings are decoded only when asked for.

mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use reader::IndexReader;
pub use writer::IndexWriter;

pub(crate) const MAGIC: [u8; 4] = *b"VIDX";
pub(crate) const VERSION: u8 = 1;
pub(crate) const HEADER: usize = 8;
/// Sections in file order; the table of contents at the end locates each.
pub(crate) const SECTIONS: usize = 5;
pub(crate) const SYMBOLS: usize = 0;
pub(crate) const SERIES: usize = 1;
pub(crate) const SERIES_OFFSETS: usize = 2;
pub(crate) const POSTINGS: usize = 3;
pub(crate) const POSTINGS_TABLE: usize = 4;
/// Per section: offset (u64), length (u64), CRC32C (u32).
pub(crate) const TOC_ENTRY: usize = 20;
/// Sections, then symbol, series and postings counts (u32 each), then the TOC's own CRC32C.
pub(crate) const TOC_LEN: usize = SECTIONS * TOC_ENTRY + 12 + 4;
/// Postings table entry: name symbol (u32), value symbol (u32), offset (u64), length (u32).
pub(crate) const POSTINGS_ENTRY: usize = 20;

/// Strings known by position, put in string order: the positions in that order, and each
/// position's rank in it (equal strings rank apart, by position).
pub(crate) fn string_order(strs: &[model::LabelStr]) -> (Vec<u32>, Vec<u32>) {
    let mut order: Vec<u32> = (0..strs.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| strs[a as usize].cmp(&strs[b as usize]));
    let mut rank = vec![0u32; order.len()];
    for (r, &id) in order.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    (order, rank)
}
