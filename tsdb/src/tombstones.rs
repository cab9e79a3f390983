//! Tombstones: time ranges of series that were deleted (`delete_series`) but whose samples are
//! still in chunks. Reads skip the samples inside them; compaction and `clean_tombstones`
//! rewrite the data without them.
//!
//! A block keeps its tombstones in a `tombstones` file next to its index (layout in
//! `tsdb/docs/format/tombstones.md`), keyed by the block's series ids; the head keeps them in
//! memory, keyed by head series ids, and logs them to the WAL.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use crate::encoding::{Decbuf, put_uvarint, put_varint};
use crate::error::{Error, Result};

/// The file name inside a block directory.
pub const TOMBSTONES_FILE: &str = "tombstones";

const MAGIC: &[u8; 4] = b"VTMB";
const VERSION: u8 = 1;

/// Deleted time ranges of one series: sorted, inclusive `(mint, maxt)` pairs that neither
/// overlap nor touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intervals(Vec<(i64, i64)>);

impl Intervals {
    pub fn new() -> Self {
        Intervals(Vec::new())
    }

    pub fn as_slice(&self) -> &[(i64, i64)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `[mint, maxt]`, merging it with the ranges it overlaps or touches.
    pub fn add(&mut self, mint: i64, maxt: i64) {
        if mint > maxt {
            return;
        }
        let (mut lo, mut hi) = (mint, maxt);
        // Ranges entirely before: end before lo-1. Entirely after: start after hi+1.
        let first = self.0.partition_point(|r| r.1 < lo.saturating_sub(1));
        let mut last = first;
        while last < self.0.len() && self.0[last].0 <= hi.saturating_add(1) {
            lo = lo.min(self.0[last].0);
            hi = hi.max(self.0[last].1);
            last += 1;
        }
        self.0.splice(first..last, [(lo, hi)]);
    }

    /// Whether `t` is deleted.
    pub fn contains(&self, t: i64) -> bool {
        let i = self.0.partition_point(|r| r.1 < t);
        i < self.0.len() && self.0[i].0 <= t
    }

    /// Whether every time in `[mint, maxt]` is deleted.
    pub fn covers(&self, mint: i64, maxt: i64) -> bool {
        let i = self.0.partition_point(|r| r.1 < mint);
        i < self.0.len() && self.0[i].0 <= mint && self.0[i].1 >= maxt
    }

    /// Whether any time in `[mint, maxt]` is deleted.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        let i = self.0.partition_point(|r| r.1 < mint);
        i < self.0.len() && self.0[i].0 <= maxt
    }

    /// Drops the parts before `mint`.
    pub fn truncate_before(&mut self, mint: i64) {
        self.0.retain(|r| r.1 >= mint);
        if let Some(first) = self.0.first_mut() {
            first.0 = first.0.max(mint);
        }
    }
}

/// Deleted ranges per series id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tombstones {
    map: HashMap<u64, Arc<Intervals>>,
}

impl Tombstones {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Series with deleted ranges.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Deleted ranges of series `r` (shared, so readers can hold them without a lock).
    pub fn get(&self, r: u64) -> Option<&Arc<Intervals>> {
        self.map.get(&r)
    }

    pub fn add(&mut self, r: u64, mint: i64, maxt: i64) {
        if mint <= maxt {
            Arc::make_mut(self.map.entry(r).or_default()).add(mint, maxt);
        }
    }

    /// Keeps the series for which `keep` is true and, of them, the ranges from `mint` on.
    pub fn retain(&mut self, mint: i64, keep: impl Fn(u64) -> bool) {
        self.map.retain(|r, iv| {
            if !keep(*r) {
                return false;
            }
            if iv.as_slice().first().is_some_and(|f| f.0 < mint) {
                Arc::make_mut(iv).truncate_before(mint);
            }
            !iv.is_empty()
        });
    }

    /// Every `(series, mint, maxt)`, ordered by series.
    pub fn entries(&self) -> Vec<(u64, i64, i64)> {
        let mut refs: Vec<u64> = self.map.keys().copied().collect();
        refs.sort_unstable();
        refs.iter()
            .flat_map(|r| self.map[r].as_slice().iter().map(move |&(a, b)| (*r, a, b)))
            .collect()
    }

    /// The file's bytes: magic, version, entries, CRC32C of everything before it.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(16 + self.map.len() * 8);
        buf.extend_from_slice(MAGIC);
        buf.push(VERSION);
        for (r, mint, maxt) in self.entries() {
            put_uvarint(&mut buf, r);
            put_varint(&mut buf, mint);
            put_varint(&mut buf, maxt);
        }
        let crc = crc32c::crc32c(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        buf
    }

    pub fn decode(b: &[u8], path: &Path) -> Result<Tombstones> {
        if b.len() < MAGIC.len() + 1 + 4 || &b[..4] != MAGIC {
            return Err(Error::corruption(path, 0, "not a tombstones file"));
        }
        if b[4] != VERSION {
            return Err(Error::format(
                path,
                format!("tombstones file version {}", b[4]),
            ));
        }
        let (body, tail) = b.split_at(b.len() - 4);
        let want = u32::from_le_bytes(tail.try_into().expect("4 bytes"));
        if crc32c::crc32c(body) != want {
            return Err(Error::corruption(
                path,
                body.len() as u64,
                "tombstones checksum mismatch",
            ));
        }
        let mut out = Tombstones::default();
        let mut d = Decbuf::new(body, 5);
        while !d.at_end() {
            let at = d.pos;
            let (Some(r), Some(mint), Some(maxt)) = (d.uvarint(), d.varint(), d.varint()) else {
                return Err(Error::corruption(path, at as u64, "tombstone cut short"));
            };
            if mint > maxt {
                return Err(Error::corruption(
                    path,
                    at as u64,
                    "tombstone range inverted",
                ));
            }
            out.add(r, mint, maxt);
        }
        Ok(out)
    }

    /// Reads `dir/tombstones`; none when the file does not exist.
    pub fn read(dir: &Path) -> Result<Tombstones> {
        let path = dir.join(TOMBSTONES_FILE);
        match fs::read(&path) {
            Ok(b) => Tombstones::decode(&b, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Tombstones::default()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Replaces `dir/tombstones` atomically (written aside, synced, renamed); an empty set
    /// removes the file.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(TOMBSTONES_FILE);
        if self.is_empty() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&path, e)),
                _ => Ok(()),
            };
        }
        let tmp = dir.join(format!("{TOMBSTONES_FILE}.tmp"));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&self.encode())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| Error::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_merge_overlapping_and_touching_ranges() {
        let mut iv = Intervals::new();
        iv.add(10, 20);
        iv.add(30, 40);
        assert_eq!(iv.as_slice(), &[(10, 20), (30, 40)]);
        iv.add(21, 22); // touches the first
        assert_eq!(iv.as_slice(), &[(10, 22), (30, 40)]);
        iv.add(15, 35); // bridges both
        assert_eq!(iv.as_slice(), &[(10, 40)]);
        iv.add(50, 45); // inverted: ignored
        iv.add(i64::MIN, -5);
        iv.add(100, i64::MAX);
        assert_eq!(iv.as_slice(), &[(i64::MIN, -5), (10, 40), (100, i64::MAX)]);
        assert!(iv.contains(10) && iv.contains(40) && !iv.contains(41) && !iv.contains(9));
        assert!(iv.covers(12, 40) && !iv.covers(12, 41) && !iv.covers(-5, 10));
        assert!(iv.overlaps(41, 100) && !iv.overlaps(41, 99) && iv.overlaps(-100, 0));
        iv.truncate_before(20);
        assert_eq!(iv.as_slice(), &[(20, 40), (100, i64::MAX)]);
    }

    #[test]
    fn file_round_trips_and_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Tombstones::default();
        t.add(7, -100, 50);
        t.add(3, 1000, 2000);
        t.add(3, 5000, 6000);
        t.write(dir.path()).unwrap();
        let back = Tombstones::read(dir.path()).unwrap();
        assert_eq!(back, t);
        assert_eq!(
            back.entries(),
            vec![(3, 1000, 2000), (3, 5000, 6000), (7, -100, 50)]
        );

        let path = dir.path().join(TOMBSTONES_FILE);
        let mut bytes = fs::read(&path).unwrap();
        bytes[6] ^= 0xff;
        let err = Tombstones::decode(&bytes, &path).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
        let err = Tombstones::decode(&bytes[..3], &path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a tombstones file"), "{err}");

        // An empty set removes the file; a missing file reads as no tombstones.
        Tombstones::default().write(dir.path()).unwrap();
        assert!(!path.exists());
        assert!(Tombstones::read(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn retain_drops_old_ranges_and_dead_series() {
        let mut t = Tombstones::default();
        t.add(1, 0, 10);
        t.add(1, 20, 30);
        t.add(2, 0, 5);
        t.add(3, 0, 100);
        t.retain(25, |r| r != 3);
        assert_eq!(t.entries(), vec![(1, 25, 30)]);
    }
}
