//! Chunk encodings.
//!
//! One encoding exists: [`Encoding::Xor`], Gorilla compression of float samples with
//! millisecond timestamps (delta-of-delta) and XOR'd values with leading/trailing-zero window
//! reuse. The byte layout is written down in `tsdb/docs/format/chunks.md`. Appenders write
//! into a growable buffer that is a complete chunk after every append; iterators read from any
//! `AsRef<[u8]>` (slices, vectors, memory maps) and can be reset without allocating.

mod bstream;
mod xor;

#[cfg(test)]
mod tests;

pub use xor::{XorAppender, XorIterator, decode_all, decode_range, num_samples};

/// The encoding byte stored beside every chunk.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Xor = 1,
}

impl Encoding {
    pub fn from_u8(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            _ => None,
        }
    }
}
