//! The XOR chunk: Gorilla compression for float samples (layout in
//! `tsdb/docs/format/chunks.md`).

use super::bstream::{BitReader, BitWriter, read_uvarint, write_uvarint};
use crate::arena::ChunkBuf;
use crate::error::{Error, Result};

/// Bytes before the bit stream: the sample count, big-endian u16.
const HEADER: usize = 2;

/// The most bytes one append can add: a first sample's varint time (10) and value with its
/// window (10), or a later delta-of-delta of 68 bits and a value of 77.
const MAX_SAMPLE_BYTES: usize = 20;

/// An empty appender's buffer: the header and a first sample (the smallest size class of
/// chunk buffers, see `arena`).
const START_CAPACITY: usize = 40;

/// Delta-of-delta buckets: (prefix length in ones, payload bits). A `0` bit alone means 0.
const DOD_BUCKETS: [(u32, u32); 3] = [(1, 14), (2, 17), (3, 20)];

#[inline]
fn fits(dod: i64, bits: u32) -> bool {
    let lim = 1i64 << (bits - 1);
    -(lim - 1) <= dod && dod <= lim
}

/// Builds one XOR chunk without keeping its newest sample, which every append after the
/// first needs: the caller passes it in. The head keeps each series' newest sample once, next
/// to the series, for its own checks, so its open chunks hold this (16 bytes less than an
/// [`XorAppender`] in every series); anything else uses an `XorAppender`. `bytes()` is a
/// complete, readable chunk after every append.
///
/// `repr(C)` in the order an append reads the fields, so a series' open chunk keeps its hot
/// state in as few cache lines as possible.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct XorEncoder {
    buf: ChunkBuf,
    delta: i64,
    n: u16,
    leading: u8, // 0xff: no window yet
    trailing: u8,
    /// Unused low bits in the last byte of `buf` (see `BitWriter`).
    free: u8,
    /// Three bytes the encoder's owner may keep here, in what would otherwise be padding
    /// (the head keeps which block range its open chunk belongs to). Zero in a new encoder.
    pub(crate) spare: [u8; 3],
}

const _: () = assert!(std::mem::size_of::<XorEncoder>() == 32);

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl XorEncoder {
    pub fn new() -> Self {
        let mut buf = ChunkBuf::with_capacity(START_CAPACITY);
        buf.extend_from_slice(&[0, 0]);
        XorEncoder {
            buf,
            delta: 0,
            n: 0,
            leading: 0xff,
            trailing: 0,
            free: 0,
            spare: [0; 3],
        }
    }

    /// Appends a sample after `prev`, the time and value bits of the sample appended last
    /// (ignored for the first sample). Timestamps must increase strictly and a chunk holds at
    /// most 65,535 samples; callers cut chunks long before that.
    #[inline]
    pub fn append(&mut self, prev: (i64, u64), t: i64, v: f64) {
        debug_assert!(self.n < u16::MAX, "XOR chunk full");
        if self.buf.capacity() - self.buf.len() < MAX_SAMPLE_BYTES {
            self.grow();
        }
        let (prev_t, prev_v) = prev;
        let vb = v.to_bits();
        let mut w = BitWriter::new(&mut self.buf, &mut self.free);
        let window = (&mut self.leading, &mut self.trailing);
        match self.n {
            0 => {
                // Zig-zag varint time, then the value XOR'd against 0 with no window yet,
                // which costs one bit for 0 and little for small round numbers.
                write_uvarint(&mut w, ((t << 1) ^ (t >> 63)) as u64);
                *window.0 = 0xff;
                write_value(&mut w, window, 0, vb);
                // The window of a value against 0 is far wider than those of later changes;
                // reusing it would waste bits, so the second value opens its own.
                self.leading = 0xff;
            }
            1 => {
                let delta = t.wrapping_sub(prev_t);
                write_uvarint(&mut w, delta as u64);
                write_value(&mut w, window, prev_v, vb);
                self.delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(prev_t);
                let dod = delta.wrapping_sub(self.delta);
                if dod == 0 {
                    w.write_bit(false);
                } else if let Some(&(ones, bits)) = DOD_BUCKETS.iter().find(|(_, b)| fits(dod, *b))
                {
                    // `ones` one-bits and a terminating zero, then the payload.
                    w.write_bits(((1u64 << ones) - 1) << 1, ones + 1);
                    w.write_bits(dod as u64 & ((1u64 << bits) - 1), bits);
                } else {
                    w.write_bits(0b1111, 4);
                    w.write_bits(dod as u64, 64);
                }
                write_value(&mut w, window, prev_v, vb);
                self.delta = delta;
            }
        }
        self.n += 1;
        let [hi, lo] = self.n.to_be_bytes();
        let head = self.buf.as_mut_slice();
        head[0] = hi;
        head[1] = lo;
    }

    /// Room for at least one more sample: the next size class of chunk buffers, about a
    /// third larger (`arena`). A head keeps one open chunk per series and starts the chunk
    /// after a cut with a new encoder, so the buffers grow as the chunks do, 5 or 6 steps to
    /// a typical chunk of 150 to 400 bytes, and hold about a sixth more than they use.
    #[cold]
    fn grow(&mut self) {
        self.buf.reserve_exact(MAX_SAMPLE_BYTES);
    }

    pub fn num_samples(&self) -> usize {
        self.n as usize
    }

    /// The chunk: header and bit stream.
    pub fn bytes(&self) -> &[u8] {
        self.buf.as_slice()
    }

    /// Moves the buffer out of a sparsely used slab of the chunk arena (see
    /// `ChunkBuf::pack`); true if it moved.
    pub(crate) fn pack_buffer(&mut self) -> bool {
        self.buf.pack()
    }

    /// The first sample's time (0 for an empty chunk), read back from the stream, where it
    /// is the opening varint: a field for it would be 8 bytes more in every open chunk.
    pub fn first_time(&self) -> i64 {
        if self.n == 0 {
            return 0;
        }
        let mut r = BitReader { pos: HEADER * 8 };
        let z = read_uvarint(&mut r, self.buf.as_slice()).unwrap_or(0);
        (z >> 1) as i64 ^ -((z & 1) as i64)
    }

    /// Empties the encoder for a new chunk, keeping its buffer (an encoder writing chunk
    /// after chunk reallocates only while its chunks grow; the head instead starts each new
    /// open chunk with a new encoder, see `GROWTH_STEP`).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(&[0, 0]);
        self.free = 0;
        self.n = 0;
        self.leading = 0xff;
        self.trailing = 0;
        self.delta = 0;
    }

    /// Bytes the encoder's buffer holds, used or not.
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// The chunk, copied out of the encoder's buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf.to_vec()
    }
}

/// Writes value bits `vb` after `prev`: `0` when equal, else the XOR in the previous
/// leading/trailing-zero `window` (`10`) or in a new one (`11`).
#[inline]
fn write_value(w: &mut BitWriter<'_>, window: (&mut u8, &mut u8), prev: u64, vb: u64) {
    let x = vb ^ prev;
    if x == 0 {
        w.write_bit(false);
        return;
    }
    let (win_leading, win_trailing) = window;
    let leading = (x.leading_zeros() as u8).min(31);
    let trailing = x.trailing_zeros() as u8;
    if *win_leading != 0xff && leading >= *win_leading && trailing >= *win_trailing {
        // `10`: fits the previous window.
        w.write_bits(0b10, 2);
        let sig = 64 - *win_leading as u32 - *win_trailing as u32;
        w.write_bits(x >> *win_trailing, sig);
    } else {
        *win_leading = leading;
        *win_trailing = trailing;
        let sig = 64 - leading as u32 - trailing as u32;
        // `11`, leading zeros (5 bits), significant bits (6 bits; 64 is written as 0),
        // as one 13-bit write.
        let control = (0b11 << 11) | ((leading as u64) << 6) | (sig & 63) as u64;
        w.write_bits(control, 13);
        w.write_bits(x >> trailing, sig);
    }
}

/// Builds one XOR chunk, keeping its newest sample. `bytes()` is a complete, readable chunk
/// after every append.
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub struct XorAppender {
    enc: XorEncoder,
    t: i64,
    v: u64,
}

impl XorAppender {
    pub fn new() -> Self {
        XorAppender {
            enc: XorEncoder::new(),
            t: 0,
            v: 0,
        }
    }

    /// Appends a sample. Timestamps must increase strictly and a chunk holds at most
    /// 65,535 samples; callers cut chunks long before that.
    #[inline]
    pub fn append(&mut self, t: i64, v: f64) {
        self.enc.append((self.t, self.v), t, v);
        self.t = t;
        self.v = v.to_bits();
    }

    pub fn num_samples(&self) -> usize {
        self.enc.num_samples()
    }

    /// The chunk: header and bit stream.
    pub fn bytes(&self) -> &[u8] {
        self.enc.bytes()
    }

    /// The first sample's time (0 for an empty chunk).
    pub fn first_time(&self) -> i64 {
        self.enc.first_time()
    }

    pub fn last_time(&self) -> i64 {
        self.t
    }

    /// Empties the appender for a new chunk, keeping its buffer.
    pub fn reset(&mut self) {
        self.enc.reset();
        self.t = 0;
        self.v = 0;
    }

    /// Bytes the appender's buffer holds, used or not.
    pub fn allocated(&self) -> usize {
        self.enc.allocated()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.enc.into_bytes()
    }
}

/// The sample count in a chunk's header (0 if the chunk is shorter than its header).
pub fn num_samples(chunk: &[u8]) -> usize {
    if chunk.len() < HEADER {
        return 0;
    }
    u16::from_be_bytes([chunk[0], chunk[1]]) as usize
}

/// The XOR decoder's state, shared by the iterator and the bulk decoders.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decoder {
    r: BitReader,
    total: u16,
    read: u16,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    /// Whether a leading/trailing-zero window has been read yet.
    window: bool,
}

impl Decoder {
    fn new(chunk: &[u8]) -> Self {
        Decoder {
            r: BitReader::at(HEADER * 8),
            total: num_samples(chunk) as u16,
            read: 0,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
            window: false,
        }
    }

    /// Decodes the next sample; `Ok(false)` at the end, `Err(bit offset)` on damage.
    #[inline(always)]
    fn step(&mut self, b: &[u8]) -> std::result::Result<bool, usize> {
        if self.read >= self.total {
            return Ok(false);
        }
        let at = self.r.pos;
        let ok = match self.read {
            0 => self.first(b),
            1 => self.second(b),
            _ => self.rest(b),
        };
        if ok.is_none() {
            return Err(at);
        }
        self.read += 1;
        Ok(true)
    }

    fn first(&mut self, b: &[u8]) -> Option<()> {
        let zz = read_uvarint(&mut self.r, b)?;
        self.t = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
        self.v = 0;
        self.window = false;
        self.read_value(b)?;
        self.window = false;
        Some(())
    }

    fn second(&mut self, b: &[u8]) -> Option<()> {
        let d = read_uvarint(&mut self.r, b)? as i64;
        let t = self.t.wrapping_add(d);
        if t <= self.t {
            return None; // timestamps increase strictly
        }
        self.delta = d;
        self.t = t;
        self.read_value(b)
    }

    #[inline(always)]
    fn rest(&mut self, b: &[u8]) -> Option<()> {
        let prefix = self.r.read_prefix(b, 4)?;
        let dod = match prefix {
            0 => 0,
            4 => self.r.read_u64(b)? as i64,
            p => {
                let bits = DOD_BUCKETS[p as usize - 1].1;
                let raw = self.r.read_bits(b, bits)? as i64;
                // Values above 2^(bits-1) are negative.
                if raw > (1i64 << (bits - 1)) {
                    raw - (1i64 << bits)
                } else {
                    raw
                }
            }
        };
        self.delta = self.delta.wrapping_add(dod);
        let t = self.t.wrapping_add(self.delta);
        if t <= self.t {
            return None; // timestamps increase strictly
        }
        self.t = t;
        self.read_value(b)
    }

    #[inline(always)]
    fn read_value(&mut self, b: &[u8]) -> Option<()> {
        if !self.r.read_bit(b)? {
            return Some(()); // same value
        }
        if self.r.read_bit(b)? {
            self.window = true;
            self.leading = self.r.read_bits(b, 5)? as u8;
            let mut sig = self.r.read_bits(b, 6)? as u8;
            if sig == 0 {
                sig = 64;
            }
            if self.leading as u32 + sig as u32 > 64 {
                return None;
            }
            self.trailing = 64 - self.leading - sig;
        }
        if !self.window {
            return None; // a window must exist before it is reused
        }
        let sig = 64 - self.leading as u32 - self.trailing as u32;
        let bits = if sig > 56 {
            let hi = self.r.read_bits(b, sig - 32)?;
            (hi << 32) | self.r.read_bits(b, 32)?
        } else {
            self.r.read_bits(b, sig)?
        };
        self.v ^= bits << self.trailing;
        Some(())
    }
}

fn damage(offset_bits: usize) -> String {
    format!("XOR chunk truncated or corrupt at byte {}", offset_bits / 8)
}

impl super::Decode for Decoder {
    fn start(chunk: &[u8]) -> std::result::Result<Self, usize> {
        if !chunk.is_empty() && chunk.len() < HEADER {
            return Err(0);
        }
        Ok(Decoder::new(chunk))
    }

    #[inline(always)]
    fn step(&mut self, chunk: &[u8]) -> std::result::Result<bool, usize> {
        Decoder::step(self, chunk)
    }

    fn damage(at: usize) -> String {
        damage(at)
    }

    #[inline]
    fn at(&self) -> (i64, f64) {
        (self.t, f64::from_bits(self.v))
    }

    fn read(&self) -> u64 {
        self.read.into()
    }

    fn total(&self) -> usize {
        self.total.into()
    }
}

/// Decodes a whole chunk, appending to `ts` and `vs`. The fast path for bulk reads.
pub fn decode_all(chunk: &[u8], ts: &mut Vec<i64>, vs: &mut Vec<f64>) -> Result<()> {
    if chunk.len() < HEADER {
        if chunk.is_empty() {
            return Ok(());
        }
        return Err(Error::corruption("", 0, damage(0)));
    }
    let mut d = Decoder::new(chunk);
    ts.reserve(d.total as usize);
    vs.reserve(d.total as usize);
    loop {
        match d.step(chunk) {
            Ok(true) => {
                ts.push(d.t);
                vs.push(f64::from_bits(d.v));
            }
            Ok(false) => return Ok(()),
            Err(at) => return Err(Error::corruption("", (at / 8) as u64, damage(at))),
        }
    }
}
