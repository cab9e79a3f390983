//! Variable-length integers for the store's byte formats: unsigned LEB128 (`uvarint`) and
//! zig-zag signed (`varint`), written into a caller's buffer and read by a bounds-checked
//! cursor that never panics on damaged input.

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` zig-zag encoded as a uvarint.
#[inline]
pub(crate) fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed string.
pub(crate) fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_uvarint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// The unsigned LEB128 varints of a buffer the process wrote itself (so never malformed; a
/// value past 32 bits would be a bug), as `u32`s.
pub(crate) struct Uvarints<'a>(pub(crate) &'a [u8]);

impl Iterator for Uvarints<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let mut v = 0u32;
        let mut shift = 0;
        loop {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u32::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
            shift += 7;
        }
    }
}

/// Reads from a byte slice; every read returns `None` instead of going past the end or
/// accepting an overlong varint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decbuf<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Decbuf<'a> {
    pub(crate) fn new(b: &'a [u8], pos: usize) -> Self {
        Decbuf { b, pos }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    #[inline]
    pub(crate) fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let byte = *self.b.get(self.pos)?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return None;
            }
            v |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> Option<i64> {
        let u = self.uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len())?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Some(s)
    }

    /// A length-prefixed UTF-8 string.
    pub(crate) fn str(&mut self) -> Option<&'a str> {
        let n = self.uvarint()? as usize;
        std::str::from_utf8(self.bytes(n)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let mut b = Vec::new();
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            put_uvarint(&mut b, v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            put_varint(&mut b, v);
        }
        put_str(&mut b, "héllo");
        let mut d = Decbuf::new(&b, 0);
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            assert_eq!(d.uvarint(), Some(v));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(d.varint(), Some(v));
        }
        assert_eq!(d.str(), Some("héllo"));
        assert!(d.at_end());
        assert_eq!(d.uvarint(), None);
        assert_eq!(Decbuf::new(&[0xff; 11], 0).uvarint(), None);
        assert_eq!(Decbuf::new(&[0x80], 0).uvarint(), None);
        assert_eq!(Decbuf::new(&[5, b'a'], 0).str(), None);
        assert_eq!(Decbuf::new(&[2, 0xff, 0xfe], 0).str(), None);
    }
}
