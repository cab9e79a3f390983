//! The send position of a destination: how far into the WAL every sample has been dealt with
//! (acknowledged by the destination, refused by it for good, or not to be sent), kept in
//! memory by the [`Tracker`] and on disk by the [`PositionFile`].
//!
//! The file, `<data>/remote/<destination key>/position`, is text:
//!
//! ```text
//! vane remote write position 1
//! # <remote name> <url without password>
//! segment 12
//! offset 4194312
//! frame_crc 9f3a0c11        (or "none")
//! ```
//!
//! It is replaced atomically: written to `position.tmp`, fsynced, renamed.

use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use tsdb::wal::WalPosition;

const MAGIC: &str = "vane remote write position 1";

/// Reads and writes a destination's position file.
pub struct PositionFile {
    path: PathBuf,
    tmp: PathBuf,
    comment: String,
    lock: Mutex<Option<WalPosition>>,
}

impl PositionFile {
    /// The file in `dir` (created when first written); `comment` names the destination.
    pub fn new(dir: &Path, comment: String) -> Self {
        PositionFile {
            path: dir.join("position"),
            tmp: dir.join("position.tmp"),
            comment: comment.replace('\n', " "),
            lock: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The position last loaded or saved: what a restart would resume from.
    pub fn saved(&self) -> Option<WalPosition> {
        *self.lock.lock()
    }

    /// The saved position; `Ok(None)` when there is no file yet.
    pub fn load(&self) -> Result<Option<WalPosition>, String> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", self.path.display())),
        };
        let pos = parse(&text).map_err(|e| format!("{}: {e}", self.path.display()))?;
        *self.lock.lock() = Some(pos);
        Ok(Some(pos))
    }

    /// Saves `pos` unless it is what the file already holds. Writers are serialized.
    pub fn store(&self, pos: WalPosition) -> std::io::Result<bool> {
        let mut last = self.lock.lock();
        if *last == Some(pos) {
            return Ok(false);
        }
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut f = fs::File::create(&self.tmp)?;
        f.write_all(format(pos, &self.comment).as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&self.tmp, &self.path)?;
        *last = Some(pos);
        Ok(true)
    }
}

fn format(p: WalPosition, comment: &str) -> String {
    let crc = p
        .frame_crc
        .map_or_else(|| "none".to_string(), |c| format!("{c:08x}"));
    format!(
        "{MAGIC}\n# {comment}\nsegment {}\noffset {}\nframe_crc {crc}\n",
        p.segment, p.offset
    )
}

fn parse(text: &str) -> Result<WalPosition, String> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    if lines.next() != Some(MAGIC) {
        return Err(format!("not a position file (expected {MAGIC:?} first)"));
    }
    let mut field = |name: &str| -> Result<String, String> {
        let l = lines
            .next()
            .ok_or_else(|| format!("{name} is missing (the file is cut short)"))?;
        l.strip_prefix(name)
            .and_then(|v| v.strip_prefix(' '))
            .map(str::to_string)
            .ok_or_else(|| format!("expected {name}, found {l:?}"))
    };
    let segment = field("segment")?
        .parse()
        .map_err(|e| format!("segment: {e}"))?;
    let offset = field("offset")?
        .parse()
        .map_err(|e| format!("offset: {e}"))?;
    let crc = field("frame_crc")?;
    let frame_crc = if crc == "none" {
        None
    } else {
        Some(u32::from_str_radix(&crc, 16).map_err(|e| format!("frame_crc: {e}"))?)
    };
    Ok(WalPosition {
        segment,
        offset,
        frame_crc,
    })
}

/// Tracks which WAL records still have samples in flight. Records are pushed in WAL order
/// with the number of samples queued from them; shards report samples done in any order;
/// the committed position is the end of the last record before which nothing is pending.
pub struct Tracker {
    inner: Mutex<Inner>,
    notify: tokio::sync::Notify,
}

struct Inner {
    /// The sequence number of `entries[0]`.
    base: u64,
    entries: VecDeque<Entry>,
    committed: WalPosition,
}

struct Entry {
    end: WalPosition,
    pending: u64,
}

impl Tracker {
    pub fn new(start: WalPosition) -> Self {
        Tracker {
            inner: Mutex::new(Inner {
                base: 0,
                entries: VecDeque::new(),
                committed: start,
            }),
            notify: tokio::sync::Notify::new(),
        }
    }

    /// The sequence number the next pushed record gets.
    pub fn next_seq(&self) -> u64 {
        let g = self.inner.lock();
        g.base + g.entries.len() as u64
    }

    /// Adds the record ending at `end` with `count` queued samples; returns its sequence
    /// number (the reader tags its samples with it).
    pub fn push(&self, end: WalPosition, count: u64) -> u64 {
        let mut g = self.inner.lock();
        let seq = g.base + g.entries.len() as u64;
        g.entries.push_back(Entry {
            end,
            pending: count,
        });
        if self.advance(&mut g) {
            self.notify.notify_one();
        }
        seq
    }

    /// `n` samples of record `seq` are done.
    pub fn done(&self, runs: &[(u64, u64)]) {
        let mut g = self.inner.lock();
        for &(seq, n) in runs {
            let Some(i) = seq.checked_sub(g.base) else {
                continue;
            };
            if let Some(e) = g.entries.get_mut(i as usize) {
                e.pending = e.pending.saturating_sub(n);
            }
        }
        if self.advance(&mut g) {
            self.notify.notify_one();
        }
    }

    fn advance(&self, g: &mut Inner) -> bool {
        let mut moved = false;
        while g.entries.front().is_some_and(|e| e.pending == 0) {
            let e = g.entries.pop_front().expect("front");
            g.base += 1;
            g.committed = e.end;
            moved = true;
        }
        moved
    }

    /// Moves the committed position back to `to` (reading started over there). Only done
    /// before any record was pushed.
    pub fn rewind(&self, to: WalPosition) {
        let mut g = self.inner.lock();
        debug_assert!(g.entries.is_empty());
        if g.entries.is_empty() {
            g.committed = to;
            self.notify.notify_one();
        }
    }

    pub fn committed(&self) -> WalPosition {
        self.inner.lock().committed
    }

    /// Samples queued and not yet done.
    pub fn pending(&self) -> u64 {
        self.inner.lock().entries.iter().map(|e| e.pending).sum()
    }

    /// Resolves when the committed position may have moved.
    pub async fn changed(&self) {
        self.notify.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(segment: u32, offset: u64) -> WalPosition {
        WalPosition {
            segment,
            offset,
            frame_crc: Some(offset as u32 ^ 0xabcd),
        }
    }

    #[test]
    fn the_committed_position_waits_for_every_earlier_record() {
        let t = Tracker::new(WalPosition::segment_start(3));
        let a = t.push(pos(3, 100), 2);
        let b = t.push(pos(3, 200), 1);
        let c = t.push(pos(3, 300), 0);
        let d = t.push(pos(4, 50), 3);
        assert_eq!((a, b, c, d), (0, 1, 2, 3));
        assert_eq!(t.committed(), WalPosition::segment_start(3));
        // Record b is done first (another shard was faster): nothing moves yet.
        t.done(&[(b, 1)]);
        assert_eq!(t.committed(), WalPosition::segment_start(3));
        t.done(&[(a, 1)]);
        assert_eq!(t.committed(), WalPosition::segment_start(3));
        t.done(&[(a, 1), (d, 2)]);
        // a, b and the empty c are done; d still has one sample out.
        assert_eq!(t.committed(), pos(3, 300));
        assert_eq!(t.pending(), 1);
        t.done(&[(d, 1)]);
        assert_eq!(t.committed(), pos(4, 50));
        // A record without queued samples right away moves the position.
        t.push(pos(4, 90), 0);
        assert_eq!(t.committed(), pos(4, 90));
        // Unknown or repeated acknowledgements are ignored.
        t.done(&[(a, 5), (99, 1)]);
        assert_eq!(t.committed(), pos(4, 90));
    }

    #[test]
    fn position_files_round_trip_and_refuse_damage() {
        let dir = tempfile::tempdir().unwrap();
        let f = PositionFile::new(&dir.path().join("abc"), "name http://x/".into());
        assert_eq!(f.load().unwrap(), None);
        for p in [
            pos(7, 12345),
            WalPosition::segment_start(8),
            WalPosition {
                segment: u32::MAX,
                offset: u64::MAX,
                frame_crc: Some(u32::MAX),
            },
        ] {
            assert!(f.store(p).unwrap());
            assert!(!f.store(p).unwrap(), "unchanged positions are not written");
            assert_eq!(f.load().unwrap(), Some(p));
            assert_eq!(
                PositionFile::new(&dir.path().join("abc"), String::new())
                    .load()
                    .unwrap(),
                Some(p)
            );
        }
        let text = fs::read_to_string(f.path()).unwrap();
        assert!(text.starts_with("vane remote write position 1\n# name http://x/\n"));
        for bad in [
            "",
            "vane remote write position 2\nsegment 1\noffset 8\nframe_crc none\n",
            "vane remote write position 1\nsegment 1\noffset 8\n",
            "vane remote write position 1\nsegment x\noffset 8\nframe_crc none\n",
            "vane remote write position 1\nsegment 1\noffset 8\nframe_crc zz\n",
        ] {
            fs::write(f.path(), bad).unwrap();
            assert!(f.load().is_err(), "{bad:?}");
        }
    }
}
