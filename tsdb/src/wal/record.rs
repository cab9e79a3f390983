//! Typed WAL records.
//!
//! ```text
//! series record:  type=1 (1 byte), then per series:
//!                 ref (uvarint) | label count (uvarint) | per label: name, value
//!                 (each uvarint length + UTF-8 bytes)
//! samples record: type=2 (1 byte), base ref (uvarint), base time (zig-zag varint), then per
//!                 sample: ref - base ref (zig-zag varint) | t - base time (zig-zag varint)
//!                 | value bits (8 bytes, little-endian)
//! tombstones:     type=3 (1 byte), then per deleted range:
//!                 ref (uvarint) | mint (zig-zag varint) | maxt (zig-zag varint), inclusive
//! ```
//! The number of entries is implied by the record length. Values are stored as raw bits, so
//! NaN payloads and the staleness marker survive exactly.

use std::collections::HashSet;

use model::{Label, LabelStr, Labels};

use crate::encoding::{Decbuf, put_str, put_uvarint, put_varint};
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
    Tombstones = 3,
}

pub fn record_type(rec: &[u8]) -> Option<RecordType> {
    match rec.first() {
        Some(1) => Some(RecordType::Series),
        Some(2) => Some(RecordType::Samples),
        Some(3) => Some(RecordType::Tombstones),
        _ => None,
    }
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

/// One deleted range `[mint, maxt]` of a series known by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefTombstone {
    pub r: u64,
    pub mint: i64,
    pub maxt: i64,
}

pub fn encode_tombstones(stones: &[RefTombstone], buf: &mut Vec<u8>) {
    buf.push(RecordType::Tombstones as u8);
    for t in stones {
        put_uvarint(buf, t.r);
        put_varint(buf, t.mint);
        put_varint(buf, t.maxt);
    }
}

fn bad(pos: usize, what: &str) -> Error {
    Error::corruption("", pos as u64, format!("WAL record: {what}"))
}

/// Decodes records, interning label strings so repeated names and values share memory.
#[derive(Debug, Default)]
pub struct RecordDecoder {
    strings: HashSet<LabelStr>,
}

impl RecordDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn intern(&mut self, s: &str) -> LabelStr {
        if let Some(x) = self.strings.get(s) {
            return x.clone();
        }
        let a = LabelStr::from(s);
        self.strings.insert(a.clone());
        a
    }

    /// Decodes a series record into `out` (cleared first).
    pub fn series(&mut self, rec: &[u8], out: &mut Vec<RefSeries>) -> Result<()> {
        out.clear();
        if record_type(rec) != Some(RecordType::Series) {
            return Err(Error::corruption("", 0, "not a series record"));
        }
        let mut c = Decbuf::new(rec, 1);
        while !c.at_end() {
            let at = c.pos;
            let r = c.uvarint().ok_or_else(|| bad(at, "series ref"))?;
            let n = c
                .uvarint()
                .filter(|n| (*n as usize) <= rec.len())
                .ok_or_else(|| bad(at, "label count"))? as usize;
            let mut labels: Vec<Label> = Vec::with_capacity(n);
            for _ in 0..n {
                let at = c.pos;
                let name = c
                    .str()
                    .ok_or_else(|| bad(at, "label name cut short or not UTF-8"))?;
                let name = self.intern(name);
                let at = c.pos;
                let value = c
                    .str()
                    .ok_or_else(|| bad(at, "label value cut short or not UTF-8"))?;
                let value = self.intern(value);
                if value.is_empty() || labels.last().is_some_and(|l| l.name >= name) {
                    return Err(bad(at, "labels not sorted, repeated or empty"));
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

    /// Decodes a tombstones record into `out` (cleared first).
    pub fn tombstones(&self, rec: &[u8], out: &mut Vec<RefTombstone>) -> Result<()> {
        out.clear();
        if record_type(rec) != Some(RecordType::Tombstones) {
            return Err(Error::corruption("", 0, "not a tombstones record"));
        }
        let mut c = Decbuf::new(rec, 1);
        while !c.at_end() {
            let at = c.pos;
            let (Some(r), Some(mint), Some(maxt)) = (c.uvarint(), c.varint(), c.varint()) else {
                return Err(bad(at, "tombstone cut short"));
            };
            out.push(RefTombstone { r, mint, maxt });
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
        let mut c = Decbuf::new(rec, 1);
        let base_r = c.uvarint().ok_or_else(|| bad(1, "base ref"))?;
        let base_t = c.varint().ok_or_else(|| bad(c.pos, "base time"))?;
        out.reserve((rec.len() - c.pos) / 10);
        while !c.at_end() {
            let at = c.pos;
            let (Some(dr), Some(dt), Some(v)) = (c.varint(), c.varint(), c.bytes(8)) else {
                return Err(bad(at, "sample cut short"));
            };
            out.push(RefSample {
                r: base_r.wrapping_add(dr as u64),
                t: base_t.wrapping_add(dt),
                v: f64::from_bits(u64::from_le_bytes(v.try_into().expect("8 bytes"))),
            });
        }
        Ok(())
    }
}
