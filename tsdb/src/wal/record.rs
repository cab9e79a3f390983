//! Typed WAL records.
//!
//! ```text
//! series record:  type=1 (1 byte), then per series:
//!                 ref (uvarint) | label count (uvarint) | per label: name, value
//!                 (each uvarint length + UTF-8 bytes)
//! samples record: type=2 (1 byte), base ref (uvarint), base time (zig-zag varint), then per
//!                 sample: ref - base ref (zig-zag varint) | t - base time (zig-zag varint)
//!                 | value bits (8 bytes, little-endian)
//! ```
//! The number of entries is implied by the record length. Values are stored as raw bits, so
//! NaN payloads and the staleness marker survive exactly.

use std::collections::HashSet;
use std::sync::Arc;

use model::{Label, Labels};

use crate::error::{Error, Result};

/// A series definition: the head's id for it and its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct RefSeries {
    pub r: u64,
    pub labels: Labels,
}

/// One sample of a series known by its id.
#[derive(Debug, Clone, Copy)]
pub struct RefSample {
    pub r: u64,
    pub t: i64,
    pub v: f64,
}

/// The first byte of every record. Readers skip types they do not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    Series = 1,
    Samples = 2,
}

pub fn record_type(rec: &[u8]) -> Option<RecordType> {
    match rec.first() {
        Some(1) => Some(RecordType::Series),
        Some(2) => Some(RecordType::Samples),
        _ => None,
    }
}

fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_uvarint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

pub fn encode_series(series: &[RefSeries], buf: &mut Vec<u8>) {
    buf.push(RecordType::Series as u8);
    for s in series {
        put_uvarint(buf, s.r);
        put_uvarint(buf, s.labels.len() as u64);
        for l in &s.labels {
            put_str(buf, &l.name);
            put_str(buf, &l.value);
        }
    }
}

pub fn encode_samples(samples: &[RefSample], buf: &mut Vec<u8>) {
    buf.push(RecordType::Samples as u8);
    let Some(first) = samples.first() else { return };
    buf.reserve(samples.len() * 12 + 16);
    put_uvarint(buf, first.r);
    put_varint(buf, first.t);
    for s in samples {
        put_varint(buf, s.r.wrapping_sub(first.r) as i64);
        put_varint(buf, s.t.wrapping_sub(first.t));
        buf.extend_from_slice(&s.v.to_bits().to_le_bytes());
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn bad(&self, what: &str) -> Error {
        Error::corruption("", self.pos as u64, format!("WAL record: {what}"))
    }

    #[inline]
    fn uvarint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let Some(&b) = self.b.get(self.pos) else {
                return Err(self.bad("varint cut short"));
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(self.bad("varint overflows"));
            }
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(self.bad("varint too long"));
            }
        }
    }

    #[inline]
    fn varint(&mut self) -> Result<i64> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| self.bad("cut short"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

/// Decodes records, interning label strings so repeated names and values share memory.
#[derive(Debug, Default)]
pub struct RecordDecoder {
    strings: HashSet<Arc<str>>,
}

impl RecordDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(x) = self.strings.get(s) {
            return x.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(a.clone());
        a
    }

    /// Decodes a series record into `out` (cleared first).
    pub fn series(&mut self, rec: &[u8], out: &mut Vec<RefSeries>) -> Result<()> {
        out.clear();
        if record_type(rec) != Some(RecordType::Series) {
            return Err(Error::corruption("", 0, "not a series record"));
        }
        let mut c = Cursor { b: rec, pos: 1 };
        while c.pos < rec.len() {
            let r = c.uvarint()?;
            let n = c.uvarint()? as usize;
            if n > rec.len() {
                return Err(c.bad("label count larger than the record"));
            }
            let mut labels: Vec<Label> = Vec::with_capacity(n);
            for _ in 0..n {
                let at = c.pos;
                let ln = c.uvarint()? as usize;
                let name = std::str::from_utf8(c.bytes(ln)?).map_err(|_| {
                    Error::corruption("", at as u64, "WAL record: label name is not UTF-8")
                })?;
                let name = self.intern(name);
                let at = c.pos;
                let vn = c.uvarint()? as usize;
                let value = std::str::from_utf8(c.bytes(vn)?).map_err(|_| {
                    Error::corruption("", at as u64, "WAL record: label value is not UTF-8")
                })?;
                let value = self.intern(value);
                if value.is_empty() || labels.last().is_some_and(|l| l.name >= name) {
                    return Err(c.bad("labels not sorted, repeated or empty"));
                }
                labels.push(Label { name, value });
            }
            out.push(RefSeries {
                r,
                labels: Labels::from_sorted(labels),
            });
        }
        Ok(())
    }

    /// Decodes a samples record into `out` (cleared first).
    pub fn samples(&self, rec: &[u8], out: &mut Vec<RefSample>) -> Result<()> {
        out.clear();
        if record_type(rec) != Some(RecordType::Samples) {
            return Err(Error::corruption("", 0, "not a samples record"));
        }
        if rec.len() == 1 {
            return Ok(());
        }
        let mut c = Cursor { b: rec, pos: 1 };
        let base_r = c.uvarint()?;
        let base_t = c.varint()?;
        out.reserve((rec.len() - c.pos) / 10);
        while c.pos < rec.len() {
            let dr = c.varint()?;
            let dt = c.varint()?;
            let v = c.bytes(8)?;
            out.push(RefSample {
                r: base_r.wrapping_add(dr as u64),
                t: base_t.wrapping_add(dt),
                v: f64::from_bits(u64::from_le_bytes(v.try_into().expect("8 bytes"))),
            });
        }
        Ok(())
    }
}
