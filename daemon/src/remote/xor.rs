//! XOR chunks in Prometheus's layout, for streamed remote read.
//!
//! Prometheus's XOR chunk (`prometheus.Chunk` encoding `XOR`) and Vane's store chunk
//! (`tsdb/docs/format/chunks.md`) share the header (sample count, big-endian u16), the
//! timestamp encoding (zig-zag varint, uvarint delta, delta-of-delta buckets of 14, 17, 20 and
//! 64 bits) and the value encoding from the second sample on. They differ in the first
//! value: Prometheus writes its 64 raw bits, Vane XORs it against 0. A reader of one layout
//! misreads the other, so the read path encodes samples here instead of shipping store chunks.

/// The most samples a chunk holds, as Prometheus cuts its own chunks.
pub const MAX_SAMPLES_PER_CHUNK: usize = 120;

/// Appends bits to a byte vector, most significant bit first, leaving the bytes the bit
/// stream of Prometheus 2.42 leaves: it writes groups of 8 bits a byte at a time and appends
/// the next byte right away, so a chunk whose last write was a whole number of bytes starting
/// on a byte boundary ends with one more, empty byte ([`Bits::finish`]). Later releases leave
/// that byte out; decoders of either layout ignore it.
#[derive(Debug, Default)]
struct Bits {
    buf: Vec<u8>,
    /// Unused low bits of the last byte.
    free: u32,
    /// The last write was whole bytes from a byte boundary.
    ends_on_byte_write: bool,
}

impl Bits {
    fn bit(&mut self, one: bool) {
        self.put(one);
        self.ends_on_byte_write = false;
    }

    fn put(&mut self, one: bool) {
        if self.free == 0 {
            self.buf.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if one {
            *self.buf.last_mut().expect("a byte was pushed") |= 1 << self.free;
        }
    }

    /// The low `n` bits of `v` (n ≤ 64).
    fn bits(&mut self, v: u64, n: u32) {
        let aligned = self.free == 0;
        for i in (0..n).rev() {
            self.put((v >> i) & 1 == 1);
        }
        self.ends_on_byte_write = aligned && n >= 8 && n.is_multiple_of(8);
    }

    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.bits(x as u64, 8);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.ends_on_byte_write {
            self.buf.push(0);
        }
        self.buf
    }
}

fn uvarint(mut x: u64, out: &mut Vec<u8>) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Whether `dod` fits a bucket of `n` bits: −(2^(n−1) − 1) ..= 2^(n−1).
fn fits(dod: i64, n: u32) -> bool {
    let lim = 1i64 << (n - 1);
    -(lim - 1) <= dod && dod <= lim
}

/// Encodes `samples` (strictly increasing timestamps, at most 65,535) as one chunk.
pub fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    debug_assert!(samples.len() <= u16::MAX as usize);
    let mut w = Bits {
        buf: Vec::with_capacity(2 + samples.len() * 2),
        ..Bits::default()
    };
    w.buf
        .extend_from_slice(&(samples.len() as u16).to_be_bytes());
    let (mut t_prev, mut delta_prev, mut v_prev) = (0i64, 0u64, 0u64);
    // No window until the second value opens one.
    let (mut leading, mut trailing) = (0xffu8, 0u8);
    let mut var = Vec::with_capacity(10);
    for (i, &(t, v)) in samples.iter().enumerate() {
        let vb = v.to_bits();
        let mut delta = 0u64;
        match i {
            0 => {
                var.clear();
                uvarint(((t << 1) ^ (t >> 63)) as u64, &mut var);
                w.bytes(&var);
                w.bits(vb, 64);
            }
            1 => {
                delta = t.wrapping_sub(t_prev) as u64;
                var.clear();
                uvarint(delta, &mut var);
                w.bytes(&var);
                write_value(&mut w, vb ^ v_prev, &mut leading, &mut trailing);
            }
            _ => {
                delta = t.wrapping_sub(t_prev) as u64;
                let dod = delta.wrapping_sub(delta_prev) as i64;
                if dod == 0 {
                    w.bit(false);
                } else if let Some((prefix, n)) = [(0b10u64, 14u32), (0b110, 17), (0b1110, 20)]
                    .into_iter()
                    .find(|&(_, n)| fits(dod, n))
                {
                    w.bits(prefix, 64 - prefix.leading_zeros());
                    w.bits(dod as u64, n);
                } else {
                    w.bits(0b1111, 4);
                    w.bits(dod as u64, 64);
                }
                write_value(&mut w, vb ^ v_prev, &mut leading, &mut trailing);
            }
        }
        t_prev = t;
        delta_prev = delta;
        v_prev = vb;
    }
    w.finish()
}

fn write_value(w: &mut Bits, x: u64, leading: &mut u8, trailing: &mut u8) {
    if x == 0 {
        w.bit(false);
        return;
    }
    w.bit(true);
    let lead = (x.leading_zeros() as u8).min(31);
    let trail = x.trailing_zeros() as u8;
    if *leading != 0xff && lead >= *leading && trail >= *trailing {
        w.bit(false);
        w.bits(x >> *trailing, 64 - *leading as u32 - *trailing as u32);
        return;
    }
    *leading = lead;
    *trailing = trail;
    let sig = 64 - lead as u32 - trail as u32;
    w.bit(true);
    w.bits(lead as u64, 5);
    // 64 significant bits are written as 0.
    w.bits((sig & 63) as u64, 6);
    w.bits(x >> trail, sig);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reader of Prometheus's layout, written from the format description (not from the
    /// encoder above), so the tests compare two independent readings of it.
    pub(crate) fn decode(chunk: &[u8]) -> Vec<(i64, f64)> {
        struct R<'a> {
            b: &'a [u8],
            pos: usize,
        }
        impl R<'_> {
            fn bit(&mut self) -> u64 {
                let v = (self.b[self.pos / 8] >> (7 - self.pos % 8)) & 1;
                self.pos += 1;
                v as u64
            }
            fn bits(&mut self, n: u32) -> u64 {
                (0..n).fold(0, |acc, _| (acc << 1) | self.bit())
            }
            fn uvarint(&mut self) -> u64 {
                let (mut x, mut s) = (0u64, 0);
                loop {
                    let b = self.bits(8);
                    x |= (b & 0x7f) << s;
                    if b < 0x80 {
                        return x;
                    }
                    s += 7;
                }
            }
        }
        let n = u16::from_be_bytes([chunk[0], chunk[1]]) as usize;
        let mut r = R { b: chunk, pos: 16 };
        let mut out = Vec::with_capacity(n);
        let (mut t, mut delta, mut v) = (0i64, 0i64, 0u64);
        let (mut lead, mut trail) = (0u32, 0u32);
        for i in 0..n {
            if i == 0 {
                let z = r.uvarint();
                t = ((z >> 1) as i64) ^ -((z & 1) as i64);
                v = r.bits(64);
                out.push((t, f64::from_bits(v)));
                continue;
            }
            if i == 1 {
                delta = r.uvarint() as i64;
            } else {
                let mut ones = 0;
                while ones < 4 && r.bit() == 1 {
                    ones += 1;
                }
                let dod = match ones {
                    0 => 0,
                    4 => r.bits(64) as i64,
                    k => {
                        let n = [14, 17, 20][k - 1];
                        let raw = r.bits(n) as i64;
                        if raw > 1 << (n - 1) {
                            raw - (1 << n)
                        } else {
                            raw
                        }
                    }
                };
                delta = delta.wrapping_add(dod);
            }
            t = t.wrapping_add(delta);
            if r.bit() == 1 {
                if r.bit() == 1 {
                    lead = r.bits(5) as u32;
                    let sig = match r.bits(6) as u32 {
                        0 => 64,
                        s => s,
                    };
                    trail = 64 - lead - sig;
                }
                let sig = 64 - lead - trail;
                v ^= r.bits(sig) << trail;
            }
            out.push((t, f64::from_bits(v)));
        }
        out
    }

    fn same(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
    }

    #[test]
    fn first_sample_is_raw_and_the_rest_round_trips() {
        let s = [(1_700_000_000_000, 42.5)];
        let c = encode(&s);
        // count, zig-zag varint of t, then the value's 64 raw bits, and the empty byte
        // Prometheus's bit stream appends after bytes written from a byte boundary.
        let mut want = vec![0, 1];
        uvarint(2 * 1_700_000_000_000u64, &mut want);
        want.extend_from_slice(&42.5f64.to_bits().to_be_bytes());
        want.push(0);
        assert_eq!(c, want);
        assert!(same(&decode(&c), &s));
        // A second sample with the same value: its delta's two varint bytes, then a single
        // `0` bit for the value, which takes the byte after them and nothing more.
        let s2 = [(1_700_000_000_000, 42.5), (1_700_000_015_000, 42.5)];
        let c2 = encode(&s2);
        assert_eq!(c2.len(), want.len() - 1 + 3, "{c2:?}");
        assert!(same(&decode(&c2), &s2));
    }

    #[test]
    fn every_bucket_and_special_value_round_trips() {
        let mut s = vec![
            (-5_000, 0.0),
            (-4_000, -0.0),
            (0, f64::from_bits(model::STALE_NAN_BITS)),
            (1, f64::NAN),
            (2, f64::INFINITY),
            (15_002, 1.0),
            (30_002, 1.0),
            (45_003, 1.5),
            (45_003 + 20_000, 1e300),
            (45_003 + 20_000 + 400_000, f64::MIN_POSITIVE / 4.0),
            (45_003 + 20_000 + 400_000 + 10_000_000_000, -7.25),
            (i64::MAX / 2, 3.0),
        ];
        let mut t = i64::MAX / 2;
        for i in 0..100 {
            t += 15_000 + (i % 7) - 3;
            s.push((t, (i * i) as f64 / 3.0));
        }
        assert!(same(&decode(&encode(&s)), &s));
        assert!(decode(&encode(&[])).is_empty());
    }

    /// From the second sample on, the bits are the store's: the tail of a store chunk after
    /// its first sample equals the tail of ours after the first sample.
    #[test]
    fn later_samples_are_encoded_as_the_store_encodes_them() {
        let s: Vec<(i64, f64)> = (0..120)
            .map(|i| (1_000 + i * 15_000 + (i % 3) * 7, (i as f64).sqrt()))
            .collect();
        let ours = encode(&s);
        let mut store = tsdb::chunkenc::XorAppender::new();
        for &(t, v) in &s {
            store.append(t, v);
        }
        let theirs = store.bytes();
        // First sample: varint t (same in both), then the value: 64 bits here; in the store
        // `11` + 5 + 6 bits + the significant bits of v XOR 0 (or one 0 bit for 0.0).
        let x = s[0].1.to_bits();
        let store_first = if x == 0 {
            1
        } else {
            (13 + 64 - x.leading_zeros().min(31) - x.trailing_zeros()) as usize
        };
        let mut var = Vec::new();
        uvarint(2 * s[0].0 as u64, &mut var);
        let head = 16 + var.len() * 8;
        let bit = |b: &[u8], i: usize| (b[i / 8] >> (7 - i % 8)) & 1;
        let ours_len = ours.len() * 8 - (head + 64);
        for i in 0..ours_len.min(theirs.len() * 8 - (head + store_first)) {
            assert_eq!(
                bit(&ours, head + 64 + i),
                bit(theirs, head + store_first + i),
                "bit {i} after the first sample"
            );
        }
    }
}
