//! The column encoding of cold chunks ([`Encoding::Columns`](super::Encoding::Columns)).
//!
//! Blocks store chunks in zstd-compressed frames of many series (`tsdb/docs/format/
//! block_chunks.md`). Gorilla's bit-packed streams give a general-purpose compressor little
//! to work with, so inside frames a chunk is written byte-aligned, in two columns:
//!
//! - timestamps: the first as a zig-zag varint, then delta-of-deltas as zig-zag varints. The
//!   series of one target share their timestamps, so zstd stores those bytes once per frame;
//! - values: when every value is a decimal `m / 10^e` (`e` ≤ 12, |m| ≤ 2^53) that gives back
//!   the exact float64 bits, the differences between successive mantissas `m` as zig-zag
//!   varints (counters and gauges of whole numbers cost a byte or less before compression);
//!   otherwise each value's bits XOR the previous value's, as 8 big-endian bytes (leading
//!   zero bytes compress well).
//!
//! Decoding gives back every bit: NaN payloads (the staleness marker among them), -0.0 and
//! infinities go through the XOR form. A timestamp that does not increase, like any bytes
//! that run out early, makes the chunk corrupt. The layout is in
//! `tsdb/docs/format/chunks.md`.

use crate::encoding::{Decbuf, put_uvarint, put_varint};

const KIND_XOR: u8 = 0;
const KIND_DECIMAL: u8 = 1;
const MAX_EXPONENT: usize = 12;
const POW10: [f64; MAX_EXPONENT + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
];
/// Mantissas are kept within the integers a float64 holds exactly.
const MAX_MANTISSA: f64 = (1u64 << 53) as f64;

/// The smallest exponent `e` for which every value is exactly `m / 10^e` with an integer
/// `m` of at most 2^53, if there is one.
fn decimal_exponent(values: impl Iterator<Item = f64> + Clone) -> Option<usize> {
    'exp: for (e, &p) in POW10.iter().enumerate() {
        for v in values.clone() {
            let x = (v * p).round();
            if x.is_nan()
                || x.abs() > MAX_MANTISSA
                || ((x as i64) as f64 / p).to_bits() != v.to_bits()
            {
                continue 'exp;
            }
        }
        return Some(e);
    }
    None
}

/// Appends the column encoding of `samples` (time-ordered, at least one) to `out`.
pub fn encode_columns(samples: &[(i64, f64)], out: &mut Vec<u8>) {
    if samples.is_empty() {
        return;
    }
    let mut ts = Vec::with_capacity(samples.len() * 2 + 8);
    put_varint(&mut ts, samples[0].0);
    let (mut prev, mut delta) = (samples[0].0, 0i64);
    for &(t, _) in &samples[1..] {
        let d = t.wrapping_sub(prev);
        put_varint(&mut ts, d.wrapping_sub(delta));
        (prev, delta) = (t, d);
    }
    put_uvarint(out, samples.len() as u64);
    put_uvarint(out, ts.len() as u64);
    out.extend_from_slice(&ts);
    match decimal_exponent(samples.iter().map(|s| s.1)) {
        Some(e) => {
            out.extend_from_slice(&[KIND_DECIMAL, e as u8]);
            let mut prev = 0i64;
            for &(_, v) in samples {
                let m = (v * POW10[e]).round() as i64;
                put_varint(out, m.wrapping_sub(prev));
                prev = m;
            }
        }
        None => {
            out.push(KIND_XOR);
            let mut prev = 0u64;
            for &(_, v) in samples {
                out.extend_from_slice(&(v.to_bits() ^ prev).to_be_bytes());
                prev = v.to_bits();
            }
        }
    }
}

/// The sample count a column chunk declares (0 if unreadable).
pub fn num_samples(chunk: &[u8]) -> usize {
    Decbuf::new(chunk, 0).uvarint().map_or(0, |n| n as usize)
}

/// The column decoder's state: two cursors, one per column.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decoder {
    total: u64,
    read: u64,
    ts_pos: usize,
    v_pos: usize,
    decimal: bool,
    scale: f64,
    t: i64,
    delta: i64,
    mantissa: i64,
    bits: u64,
}

impl Decoder {
    /// Reads the header; `Err` carries the byte offset of the damage.
    fn new(b: &[u8]) -> Result<Decoder, usize> {
        if b.is_empty() {
            return Ok(Decoder::default());
        }
        let mut d = Decbuf::new(b, 0);
        let total = d.uvarint().ok_or(d.pos)?;
        let ts_len = d.uvarint().ok_or(d.pos)? as usize;
        let ts_pos = d.pos;
        let kind_at = ts_pos
            .checked_add(ts_len)
            .filter(|&k| k < b.len())
            .ok_or(ts_pos)?;
        let (decimal, scale, v_pos) = match b[kind_at] {
            KIND_XOR => (false, 1.0, kind_at + 1),
            KIND_DECIMAL => {
                let e = *b.get(kind_at + 1).ok_or(kind_at)? as usize;
                (true, *POW10.get(e).ok_or(kind_at + 1)?, kind_at + 2)
            }
            _ => return Err(kind_at),
        };
        if total == 0 || total > b.len() as u64 {
            return Err(0);
        }
        Ok(Decoder {
            total,
            ts_pos,
            v_pos,
            decimal,
            scale,
            ..Decoder::default()
        })
    }

    /// Decodes the next sample: `Ok(false)` after the last, `Err(offset)` on damage.
    #[inline]
    fn step(&mut self, b: &[u8]) -> Result<bool, usize> {
        if self.read >= self.total {
            return Ok(false);
        }
        let mut d = Decbuf::new(b, self.ts_pos);
        let x = d.varint().ok_or(self.ts_pos)?;
        if self.read == 0 {
            self.t = x;
        } else {
            self.delta = self.delta.wrapping_add(x);
            let t = self.t.wrapping_add(self.delta);
            if t <= self.t {
                // Timestamps strictly increase in every chunk written.
                return Err(self.ts_pos);
            }
            self.t = t;
        }
        self.ts_pos = d.pos;
        if self.decimal {
            let mut d = Decbuf::new(b, self.v_pos);
            self.mantissa = self.mantissa.wrapping_add(d.varint().ok_or(self.v_pos)?);
            self.bits = (self.mantissa as f64 / self.scale).to_bits();
            self.v_pos = d.pos;
        } else {
            let x = b.get(self.v_pos..self.v_pos + 8).ok_or(self.v_pos)?;
            self.bits ^= u64::from_be_bytes(x.try_into().expect("8 bytes"));
            self.v_pos += 8;
        }
        self.read += 1;
        Ok(true)
    }
}

fn damage(offset: usize) -> String {
    format!("column chunk truncated or corrupt at byte {offset}")
}

impl super::Decode for Decoder {
    fn start(chunk: &[u8]) -> Result<Self, usize> {
        Decoder::new(chunk)
    }

    #[inline]
    fn step(&mut self, chunk: &[u8]) -> Result<bool, usize> {
        Decoder::step(self, chunk)
    }

    fn damage(at: usize) -> String {
        damage(at)
    }

    #[inline]
    fn at(&self) -> (i64, f64) {
        (self.t, f64::from_bits(self.bits))
    }

    fn read(&self) -> u64 {
        self.read
    }

    fn total(&self) -> usize {
        self.total as usize
    }
}
