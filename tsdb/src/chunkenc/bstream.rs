//! Bit streams: a writer that appends bits to a chunk buffer (valid bytes after every write)
//! and a reader over any byte slice that never reads past its end.

use crate::arena::ChunkBuf;

/// Appends bits, most significant first, to a chunk buffer. The writer borrows the buffer
/// and the count of unused bits in its last byte, so an encoder keeps both among its own
/// fields (the count as one byte beside its other small fields, not in a padded struct of its
/// own: a head holds one encoder per series).
pub(crate) struct BitWriter<'a> {
    pub(crate) buf: &'a mut ChunkBuf,
    /// Unused low bits in the last byte (0 when the last byte is full or there is none).
    free: &'a mut u8,
}

impl<'a> BitWriter<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a mut ChunkBuf, free: &'a mut u8) -> Self {
        BitWriter { buf, free }
    }

    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        if *self.free == 0 {
            self.buf.push(0);
            *self.free = 8;
        }
        *self.free -= 1;
        if bit {
            *self.buf.last_mut().expect("pushed") |= 1 << *self.free;
        }
    }

    /// Writes the low `n` bits of `v` (n ≤ 64): first whatever fits in the partly filled last
    /// byte, then the rest as whole bytes in one copy.
    #[inline]
    pub(crate) fn write_bits(&mut self, v: u64, mut n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let low = |x: u64, k: u32| if k >= 64 { x } else { x & ((1u64 << k) - 1) };
        let free = u32::from(*self.free);
        if free > 0 {
            let take = free.min(n);
            let bits = low(v >> (n - take), take);
            *self.buf.last_mut().expect("a partly filled byte") |= (bits as u8) << (free - take);
            *self.free = (free - take) as u8;
            n -= take;
            if n == 0 {
                return;
            }
        }
        // Byte aligned: the remaining `n` bits, left-aligned in a word, most significant first.
        let word = low(v, n) << (64 - n);
        let bytes = n.div_ceil(8);
        self.buf
            .extend_from_slice(&word.to_be_bytes()[..bytes as usize]);
        *self.free = (bytes * 8 - n) as u8;
    }

    #[inline]
    pub(crate) fn write_byte(&mut self, b: u8) {
        self.write_bits(b as u64, 8);
    }
}

/// Reads bits, most significant first, from a byte slice.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BitReader {
    /// Position in bits from the start of the slice.
    pub(crate) pos: usize,
}

impl BitReader {
    pub(crate) fn at(pos_bits: usize) -> Self {
        BitReader { pos: pos_bits }
    }

    /// Reads `n` bits (1 ≤ n ≤ 56); `None` past the end.
    #[inline(always)]
    pub(crate) fn read_bits(&mut self, buf: &[u8], n: u32) -> Option<u64> {
        debug_assert!((1..=56).contains(&n));
        let end = self.pos + n as usize;
        if end > buf.len() * 8 {
            return None;
        }
        let byte = self.pos >> 3;
        let off = (self.pos & 7) as u32;
        let w = if byte + 8 <= buf.len() {
            u64::from_be_bytes(buf[byte..byte + 8].try_into().expect("8 bytes"))
        } else {
            let mut tmp = [0u8; 8];
            let avail = buf.len() - byte;
            tmp[..avail].copy_from_slice(&buf[byte..]);
            u64::from_be_bytes(tmp)
        };
        self.pos = end;
        Some((w << off) >> (64 - n))
    }

    #[inline(always)]
    pub(crate) fn read_bit(&mut self, buf: &[u8]) -> Option<bool> {
        let byte = self.pos >> 3;
        let b = *buf.get(byte)?;
        let bit = (b >> (7 - (self.pos & 7))) & 1;
        self.pos += 1;
        Some(bit == 1)
    }

    /// Reads 64 bits.
    #[inline]
    pub(crate) fn read_u64(&mut self, buf: &[u8]) -> Option<u64> {
        let hi = self.read_bits(buf, 32)?;
        let lo = self.read_bits(buf, 32)?;
        Some((hi << 32) | lo)
    }

    /// Counts leading one bits up to `max` (for the delta-of-delta prefix).
    #[inline(always)]
    pub(crate) fn read_prefix(&mut self, buf: &[u8], max: u32) -> Option<u32> {
        let mut n = 0;
        while n < max {
            if !self.read_bit(buf)? {
                break;
            }
            n += 1;
        }
        Some(n)
    }
}

/// Writes an unsigned LEB128 varint into a bit stream.
pub(crate) fn write_uvarint(w: &mut BitWriter<'_>, mut v: u64) {
    while v >= 0x80 {
        w.write_byte((v as u8) | 0x80);
        v >>= 7;
    }
    w.write_byte(v as u8);
}

/// Reads an unsigned LEB128 varint from a bit stream.
pub(crate) fn read_uvarint(r: &mut BitReader, buf: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let b = r.read_bits(buf, 8)?;
        if shift == 63 && b > 1 {
            return None; // overflow
        }
        v |= (b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let (mut chunk, mut free) = (ChunkBuf::with_capacity(0), 0u8);
        let mut w = BitWriter::new(&mut chunk, &mut free);
        let items: Vec<(u64, u32)> = (1..=64u32)
            .map(|n| (0xdead_beef_cafe_f00d_u64 & (u64::MAX >> (64 - n)), n))
            .collect();
        for &(v, n) in &items {
            w.write_bits(v, n);
            w.write_bit(n % 2 == 0);
        }
        write_uvarint(&mut w, u64::MAX);
        write_uvarint(&mut w, 300);
        let buf = chunk.to_vec();
        let mut r = BitReader::default();
        for &(v, n) in &items {
            let got = if n > 56 {
                let hi = r.read_bits(&buf, n - 32).unwrap();
                (hi << 32) | r.read_bits(&buf, 32).unwrap()
            } else {
                r.read_bits(&buf, n).unwrap()
            };
            assert_eq!(got, v, "{n} bits");
            assert_eq!(r.read_bit(&buf).unwrap(), n % 2 == 0);
        }
        assert_eq!(read_uvarint(&mut r, &buf), Some(u64::MAX));
        assert_eq!(read_uvarint(&mut r, &buf), Some(300));
        // Past the end.
        let mut r2 = BitReader::at(buf.len() * 8 - 3);
        assert!(r2.read_bits(&buf, 4).is_none());
    }
}
