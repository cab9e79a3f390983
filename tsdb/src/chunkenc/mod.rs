//! Chunk encodings.
//!
//! - [`Encoding::Xor`]: Gorilla compression of float samples with millisecond timestamps
//!   (delta-of-delta) and XOR'd values with leading/trailing-zero window reuse. The head and
//!   its chunk files write it; appenders write into a growable buffer that is a complete
//!   chunk after every append.
//! - [`Encoding::Columns`]: byte-aligned timestamp and value columns ([`columns`]), written
//!   only into the zstd-compressed frames of block chunk files, where it compresses to a
//!   fraction of the Gorilla form.
//!
//! The byte layouts are written down in `tsdb/docs/format/chunks.md`. Iterators read from any
//! `AsRef<[u8]>` (slices, vectors, memory maps, decompressed frames); [`ChunkIterator`] and
//! the functions here take the encoding and dispatch.

mod bstream;
pub mod columns;
mod xor;

#[cfg(test)]
mod tests;

use model::{Error as SampleError, SampleIterator};

pub use columns::encode_columns;
pub use xor::{XorAppender, XorEncoder, decode_all};

/// Iterates an XOR chunk held in any byte container (a slice, a vector, a memory map).
pub type XorIterator<B> = Decoding<B, xor::Decoder>;
/// Iterates a column chunk held in any byte container.
pub type ColumnIterator<B> = Decoding<B, columns::Decoder>;

/// The encoding byte stored beside every chunk.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Xor = 1,
    Columns = 2,
}

impl Encoding {
    pub fn from_u8(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Columns),
            _ => None,
        }
    }
}

/// The sample count a chunk declares (0 if unreadable).
pub fn num_samples(enc: Encoding, chunk: &[u8]) -> usize {
    match enc {
        Encoding::Xor => xor::num_samples(chunk),
        Encoding::Columns => columns::num_samples(chunk),
    }
}

/// Appends the samples of a chunk with `mint <= t <= maxt` to `out` and stops at the first
/// one after `maxt`: the fast path for reading a series' chunks in time order. On damage the
/// samples before it stay appended and the error names the byte offset.
pub fn decode_range(
    enc: Encoding,
    chunk: &[u8],
    mint: i64,
    maxt: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), String> {
    match enc {
        Encoding::Xor => decode_range_with::<xor::Decoder>(chunk, mint, maxt, out),
        Encoding::Columns => decode_range_with::<columns::Decoder>(chunk, mint, maxt, out),
    }
}

fn decode_range_with<D: Decode>(
    chunk: &[u8],
    mint: i64,
    maxt: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), String> {
    let mut d = D::start(chunk).map_err(D::damage)?;
    out.reserve(d.total());
    loop {
        match d.step(chunk) {
            Ok(true) => {
                let s = d.at();
                if s.0 > maxt {
                    return Ok(());
                }
                if s.0 >= mint {
                    out.push(s);
                }
            }
            Ok(false) => return Ok(()),
            Err(at) => return Err(D::damage(at)),
        }
    }
}

/// A chunk decoder's state, one implementation per encoding: what the iterators and the bulk
/// decoder share.
pub trait Decode: Sized + Default {
    /// Reads the chunk's header; `Err` carries the offset of the damage. An empty chunk
    /// holds no samples.
    fn start(chunk: &[u8]) -> Result<Self, usize>;
    /// Decodes the next sample: `Ok(false)` after the last, `Err(offset)` on damage.
    fn step(&mut self, chunk: &[u8]) -> Result<bool, usize>;
    /// The error message for damage at `at`.
    fn damage(at: usize) -> String;
    /// The sample decoded last.
    fn at(&self) -> (i64, f64);
    /// Samples decoded so far.
    fn read(&self) -> u64;
    /// Samples the chunk declares.
    fn total(&self) -> usize;
}

/// Iterates one chunk held in any byte container with the decoder `D`.
pub struct Decoding<B: AsRef<[u8]>, D: Decode> {
    bytes: B,
    d: D,
    err: Option<SampleError>,
}

impl<B: AsRef<[u8]>, D: Decode> std::fmt::Debug for Decoding<B, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoding")
            .field("read", &self.d.read())
            .field("total", &self.d.total())
            .finish()
    }
}

impl<B: AsRef<[u8]>, D: Decode> Decoding<B, D> {
    pub fn new(bytes: B) -> Self {
        let (d, err) = Self::start(bytes.as_ref());
        Decoding { bytes, d, err }
    }

    /// Starts over on another chunk without allocating.
    pub fn reset(&mut self, bytes: B) {
        (self.d, self.err) = Self::start(bytes.as_ref());
        self.bytes = bytes;
    }

    /// The decoder for `chunk`, or the error its header is.
    fn start(chunk: &[u8]) -> (D, Option<SampleError>) {
        match D::start(chunk) {
            Ok(d) => (d, None),
            Err(at) => (D::default(), Some(SampleError::Other(D::damage(at)))),
        }
    }
}

impl<B: AsRef<[u8]> + Send, D: Decode + Send> SampleIterator for Decoding<B, D> {
    #[inline]
    fn next(&mut self) -> bool {
        if self.err.is_some() {
            return false;
        }
        match self.d.step(self.bytes.as_ref()) {
            Ok(more) => more,
            Err(at) => {
                self.err = Some(SampleError::Other(D::damage(at)));
                false
            }
        }
    }

    fn seek(&mut self, t: i64) -> bool {
        if self.d.read() > 0 && self.d.at().0 >= t && self.err.is_none() {
            return true;
        }
        while self.next() {
            if self.d.at().0 >= t {
                return true;
            }
        }
        false
    }

    #[inline]
    fn at(&self) -> (i64, f64) {
        self.d.at()
    }

    fn err(&self) -> Option<&SampleError> {
        self.err.as_ref()
    }
}

/// Iterates a chunk of either encoding.
#[derive(Debug)]
pub enum ChunkIterator<B: AsRef<[u8]>> {
    Xor(XorIterator<B>),
    Columns(ColumnIterator<B>),
}

impl<B: AsRef<[u8]>> ChunkIterator<B> {
    pub fn new(enc: Encoding, bytes: B) -> Self {
        match enc {
            Encoding::Xor => ChunkIterator::Xor(XorIterator::new(bytes)),
            Encoding::Columns => ChunkIterator::Columns(ColumnIterator::new(bytes)),
        }
    }

    /// Starts over on another chunk, keeping the decoder when the encoding is the same.
    pub fn reset(&mut self, enc: Encoding, bytes: B) {
        match (self, enc) {
            (ChunkIterator::Xor(it), Encoding::Xor) => it.reset(bytes),
            (ChunkIterator::Columns(it), Encoding::Columns) => it.reset(bytes),
            (me, enc) => *me = ChunkIterator::new(enc, bytes),
        }
    }
}

impl<B: AsRef<[u8]> + Send> SampleIterator for ChunkIterator<B> {
    #[inline]
    fn next(&mut self) -> bool {
        match self {
            ChunkIterator::Xor(it) => it.next(),
            ChunkIterator::Columns(it) => it.next(),
        }
    }

    fn seek(&mut self, t: i64) -> bool {
        match self {
            ChunkIterator::Xor(it) => it.seek(t),
            ChunkIterator::Columns(it) => it.seek(t),
        }
    }

    #[inline]
    fn at(&self) -> (i64, f64) {
        match self {
            ChunkIterator::Xor(it) => it.at(),
            ChunkIterator::Columns(it) => it.at(),
        }
    }

    fn err(&self) -> Option<&SampleError> {
        match self {
            ChunkIterator::Xor(it) => it.err(),
            ChunkIterator::Columns(it) => it.err(),
        }
    }
}
