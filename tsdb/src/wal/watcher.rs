//! Following the WAL while it is written, from its files alone (for remote write).
//!
//! [`WalWatcher`] reads segment files as they grow; it never takes a lock of the writer, so
//! appends do not wait for it. It relies on what the writer guarantees (described in
//! `tsdb/docs/format/wal.md`, "Reading a live WAL"):
//!
//! * a segment only grows, by whole frames handed to the operating system in one write, and
//!   once a later segment exists it never changes again;
//! * segments are created with consecutive numbers; truncation deletes the oldest ones after
//!   `checkpoint.N/` holds the series (still in the head) of every segment up to `N`.
//!
//! The watcher starts at a [`WatchStart`]. Everything before the start is read for its series
//! records only (from the newest checkpoint, then the segments); from the start on it yields
//! series, samples and tombstones, each record with the [`WalPosition`] just after it. A
//! position comes back as [`WatchStart::After`] to resume there, after a restart too.
//!
//! It is a pull reader: [`WalWatcher::next_event`] returns the next record, or `None` when it has
//! read everything written so far (the caller polls again later). An error leaves the
//! watcher usable: the same call may be repeated.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{
    FRAME_HEADER, MAGIC, MAX_RECORD, RecordDecoder, RecordType, RefSample, RefSeries, RefTombstone,
    SEGMENT_HEADER, VERSION, last_checkpoint, record_type, segment_name, segments,
};
use crate::error::{Error, Result};

/// Bytes read from a segment file at a time (more when a single record is larger).
const READ_CHUNK: usize = 1 << 20;
/// How often the directory is listed to notice segments that appear out of sequence (after
/// truncation deleted the one that should come next).
const LISTING_INTERVAL: Duration = Duration::from_secs(1);
/// How often, while caught up, the watcher looks for a new checkpoint.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);

/// A place in the WAL: the start of the frame after a given frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalPosition {
    pub segment: u32,
    /// Byte offset, in the segment file, of the next frame.
    pub offset: u64,
    /// The checksum (as stored in its header) of the frame that ends at `offset`, so that
    /// resuming can tell the same frame from another one written after a crash. `None` at a
    /// segment's start, or for a position that is not a frame end (then reading resumes with
    /// the first frame that starts at or after `offset`).
    pub frame_crc: Option<u32>,
}

impl WalPosition {
    /// The start of a segment (just after its header).
    pub fn segment_start(segment: u32) -> Self {
        WalPosition {
            segment,
            offset: SEGMENT_HEADER as u64,
            frame_crc: None,
        }
    }

    fn key(&self) -> (u32, u64) {
        (self.segment, self.offset)
    }

    /// Whether `self` lies before `other` in the WAL.
    pub fn is_before(&self, other: &WalPosition) -> bool {
        self.key() < other.key()
    }
}

/// Where a watcher starts yielding samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// With what is written after the watcher opens (the end of the WAL at that moment).
    End,
    /// With the oldest segment still on disk.
    Oldest,
    /// Just after this position (one yielded earlier, perhaps by another process).
    After(WalPosition),
}

/// Why records were not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The segments were deleted (by truncation) before they were read.
    Deleted { segments: u32 },
    /// A damaged frame; the rest of its segment is unreadable.
    Damaged(String),
    /// The start position lies beyond the end of the WAL (the WAL was replaced).
    BeyondEnd,
}

/// One step of the watcher.
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// Series definitions, read from `segment` (a checkpoint's number for a checkpoint).
    Series {
        series: &'a [RefSeries],
        segment: u32,
    },
    /// Samples in WAL order; `end` is the position just after their record.
    Samples {
        samples: &'a [RefSample],
        end: WalPosition,
    },
    /// Deleted ranges; `end` is the position just after their record.
    Tombstones {
        tombstones: &'a [RefTombstone],
        end: WalPosition,
    },
    /// `checkpoint.N` has been read (its series came as `Series` with segment `N`). With
    /// `reset`, every series it does not hold and that was last defined in a segment before
    /// `N` is gone from the head and will have no more samples.
    CheckpointRead { checkpoint: u32, reset: bool },
    /// Records between `from` and `to` were not read; reading goes on at `to`.
    Skipped {
        from: WalPosition,
        to: WalPosition,
        reason: SkipReason,
    },
    /// The start position was not a frame of the WAL as it is now (it was cut after a crash
    /// and written again): reading starts over at `to`, the start of that segment, so records
    /// from there may be yielded a second time.
    Rewound { from: WalPosition, to: WalPosition },
}

/// What `advance` found, without borrowing the decoded records.
enum Ready {
    Series(u32),
    Samples(WalPosition),
    Tombstones(WalPosition),
    CheckpointRead {
        checkpoint: u32,
        reset: bool,
    },
    Skipped {
        from: WalPosition,
        to: WalPosition,
        reason: SkipReason,
    },
    Rewound {
        from: WalPosition,
        to: WalPosition,
    },
}

/// The point from which records are yielded; before it, series only.
#[derive(Debug, Clone, Copy)]
struct LiveFrom {
    pos: WalPosition,
    /// A frame ending exactly at `pos` with the expected checksum has been read.
    verified: bool,
}

/// A checkpoint being read for its series.
struct CheckpointRead {
    n: u32,
    dir: PathBuf,
    files: Vec<u32>,
    idx: usize,
    tail: Option<SegmentTail>,
    reset: bool,
}

/// Follows a WAL directory. See the module documentation.
pub struct WalWatcher {
    dir: PathBuf,
    decoder: RecordDecoder,
    series: Vec<RefSeries>,
    samples: Vec<RefSample>,
    tombstones: Vec<RefTombstone>,
    live_from: Option<LiveFrom>,
    start: WalPosition,
    /// The segment being read.
    cur: u32,
    tail: Option<SegmentTail>,
    /// A segment after `cur` exists, so `cur` will not grow any more.
    complete: bool,
    checkpoint: Option<CheckpointRead>,
    /// The newest checkpoint read with a reset.
    checkpoint_done: Option<u32>,
    queued: VecDeque<Ready>,
    last_listing: Instant,
    last_checkpoint_check: Instant,
    read_pos: WalPosition,
}

impl std::fmt::Debug for WalWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalWatcher")
            .field("dir", &self.dir)
            .field("segment", &self.cur)
            .finish_non_exhaustive()
    }
}

impl WalWatcher {
    /// Opens a watcher on WAL directory `dir`. Nothing is read yet except the directory
    /// listing (and, for [`WatchStart::End`], the size of the last segment).
    pub fn open(dir: &Path, start: WatchStart) -> Result<WalWatcher> {
        let segs = segments(dir)?;
        let cp = last_checkpoint(dir)?.map(|(_, n)| n);
        let (first, last) = (segs.first().copied(), segs.last().copied());
        // Without segments, the first one written is read from its start.
        let empty_start = cp.map_or(0, |n| n.saturating_add(1));
        // The first segment to read for series, given the segment where samples start: the
        // checkpoint holds the series of the segments up to its number.
        let series_from = |target: u32| -> u32 {
            match cp {
                Some(n) if n < target => n.saturating_add(1).max(first.unwrap_or(target)),
                Some(_) => target,
                None => first.unwrap_or(target),
            }
        };
        let mut queued = VecDeque::new();
        let (cur, live_from) = match (start, first, last) {
            (_, None, _) | (_, _, None) => (empty_start, None),
            (WatchStart::Oldest, Some(f), _) => (f, None),
            (WatchStart::End, Some(_), Some(l)) => {
                let path = dir.join(segment_name(l));
                let size = std::fs::metadata(&path)
                    .map_err(|e| Error::io(&path, e))?
                    .len()
                    .max(SEGMENT_HEADER as u64);
                let pos = WalPosition {
                    segment: l,
                    offset: size,
                    frame_crc: None,
                };
                (
                    series_from(l),
                    Some(LiveFrom {
                        pos,
                        verified: false,
                    }),
                )
            }
            (WatchStart::After(p), Some(f), Some(l)) => {
                if p.segment > l {
                    queued.push_back(Ready::Skipped {
                        from: p,
                        to: WalPosition::segment_start(f),
                        reason: SkipReason::BeyondEnd,
                    });
                    (f, None)
                } else if segs.binary_search(&p.segment).is_ok() {
                    let p = WalPosition {
                        offset: p.offset.max(SEGMENT_HEADER as u64),
                        ..p
                    };
                    (
                        series_from(p.segment),
                        Some(LiveFrom {
                            pos: p,
                            verified: false,
                        }),
                    )
                } else {
                    let next = *segs
                        .iter()
                        .find(|s| **s > p.segment)
                        .expect("a segment after a missing one below the last");
                    queued.push_back(Ready::Skipped {
                        from: p,
                        to: WalPosition::segment_start(next),
                        reason: SkipReason::Deleted {
                            segments: next - p.segment,
                        },
                    });
                    (next, None)
                }
            }
        };
        let start_pos = live_from.map_or(WalPosition::segment_start(cur), |l| l.pos);
        let checkpoint = match cp {
            Some(n) => Some(CheckpointRead::new(dir, n, true)?),
            None => None,
        };
        let now = Instant::now();
        Ok(WalWatcher {
            dir: dir.to_path_buf(),
            decoder: RecordDecoder::new(),
            series: Vec::new(),
            samples: Vec::new(),
            tombstones: Vec::new(),
            live_from,
            start: start_pos,
            cur,
            tail: None,
            complete: false,
            checkpoint,
            checkpoint_done: None,
            queued,
            last_listing: now,
            last_checkpoint_check: now,
            read_pos: start_pos,
        })
    }

    /// Where samples start: the position the watcher was opened at, resolved (for
    /// [`WatchStart::End`], the end of the WAL when it opened). Saving it and opening again
    /// with [`WatchStart::After`] starts at the same place.
    pub fn start_position(&self) -> WalPosition {
        self.start
    }

    /// The position just after the last frame read.
    pub fn position(&self) -> WalPosition {
        self.read_pos
    }

    /// The next event, or `None` when everything written so far has been read.
    pub fn next_event(&mut self) -> Result<Option<WatchEvent<'_>>> {
        let Some(r) = self.advance()? else {
            return Ok(None);
        };
        Ok(Some(match r {
            Ready::Series(segment) => WatchEvent::Series {
                series: &self.series,
                segment,
            },
            Ready::Samples(end) => WatchEvent::Samples {
                samples: &self.samples,
                end,
            },
            Ready::Tombstones(end) => WatchEvent::Tombstones {
                tombstones: &self.tombstones,
                end,
            },
            Ready::CheckpointRead { checkpoint, reset } => {
                WatchEvent::CheckpointRead { checkpoint, reset }
            }
            Ready::Skipped { from, to, reason } => WatchEvent::Skipped { from, to, reason },
            Ready::Rewound { from, to } => WatchEvent::Rewound { from, to },
        }))
    }

    fn advance(&mut self) -> Result<Option<Ready>> {
        loop {
            if let Some(r) = self.queued.pop_front() {
                return Ok(Some(r));
            }
            if self.checkpoint.is_some() {
                match self.checkpoint_step()? {
                    Some(r) => return Ok(Some(r)),
                    None => continue,
                }
            }
            if self.tail.is_none() {
                if self.last_checkpoint_check.elapsed() >= CHECKPOINT_INTERVAL {
                    self.check_checkpoint(false)?;
                    if self.checkpoint.is_some() {
                        continue;
                    }
                }
                if !self.open_segment()? {
                    return Ok(None);
                }
                continue;
            }
            let tail = self.tail.as_mut().expect("open segment");
            match tail.next_frame() {
                Frame::Record {
                    start,
                    end,
                    crc,
                    payload,
                } => {
                    if let Some(r) = self.on_record(start, end, crc, payload) {
                        return Ok(Some(r));
                    }
                }
                Frame::NeedMore => {
                    // Whether a later segment existed is known before the read, so a read
                    // that finds nothing new after it means the segment is complete.
                    let complete = self.complete;
                    let n = tail.fill().map_err(|e| Error::io(tail.path.clone(), e))?;
                    if n > 0 {
                        continue;
                    }
                    if complete {
                        if tail.leftover() > 0 {
                            let from = WalPosition {
                                segment: self.cur,
                                offset: tail.offset,
                                frame_crc: None,
                            };
                            let to = WalPosition::segment_start(self.cur.saturating_add(1));
                            self.queued.push_back(Ready::Skipped {
                                from,
                                to,
                                reason: SkipReason::Damaged(format!(
                                    "{} bytes of an incomplete frame at the end of the segment",
                                    tail.leftover()
                                )),
                            });
                        }
                        self.finish_segment();
                        continue;
                    }
                    if self.newer_segment_exists()? {
                        self.complete = true;
                        continue;
                    }
                    if self.last_checkpoint_check.elapsed() >= CHECKPOINT_INTERVAL {
                        self.check_checkpoint(false)?;
                        if self.checkpoint.is_some() {
                            continue;
                        }
                    }
                    return Ok(None);
                }
                Frame::Damaged(reason) => {
                    if !self.complete {
                        // The live segment: a failed write is followed by a new segment, so
                        // wait for one before giving up on this frame.
                        if self.newer_segment_exists()? {
                            self.complete = true;
                            continue;
                        }
                        return Ok(None);
                    }
                    let from = WalPosition {
                        segment: self.cur,
                        offset: tail.offset,
                        frame_crc: None,
                    };
                    let to = WalPosition::segment_start(self.cur.saturating_add(1));
                    self.queued.push_back(Ready::Skipped {
                        from,
                        to,
                        reason: SkipReason::Damaged(reason),
                    });
                    if self.live_from.is_some_and(|l| l.pos.segment == self.cur) {
                        self.live_from = None;
                    }
                    self.finish_segment();
                }
            }
        }
    }

    /// Handles one frame of the current segment.
    fn on_record(
        &mut self,
        start: u64,
        end: u64,
        crc: u32,
        payload: Range<usize>,
    ) -> Option<Ready> {
        let cur = self.cur;
        let end_pos = WalPosition {
            segment: cur,
            offset: end,
            frame_crc: Some(crc),
        };
        let mut live = true;
        if let Some(lf) = self.live_from {
            let target = lf.pos;
            let expect = target.frame_crc;
            let before = cur < target.segment || (cur == target.segment && end <= target.offset);
            if before {
                live = false;
                if cur == target.segment
                    && end == target.offset
                    && let Some(c) = expect
                {
                    if c != crc {
                        return Some(self.rewind());
                    }
                    self.live_from = Some(LiveFrom {
                        verified: true,
                        ..lf
                    });
                }
            } else if cur == target.segment && start < target.offset {
                // The frame straddles the position: not a frame end of this WAL.
                if expect.is_some() {
                    return Some(self.rewind());
                }
                live = false;
            } else if expect.is_some() && !lf.verified {
                return Some(self.rewind());
            } else {
                self.live_from = None;
            }
        }
        self.read_pos = end_pos;
        let tail = self.tail.as_ref().expect("open segment");
        let rec = &tail.buf[payload];
        let decoded = match record_type(rec) {
            Some(RecordType::Series) => self
                .decoder
                .series(rec, &mut self.series)
                .map(|_| Ready::Series(cur)),
            Some(RecordType::Samples) if live => self
                .decoder
                .samples(rec, &mut self.samples)
                .map(|_| Ready::Samples(end_pos)),
            Some(RecordType::Tombstones) if live => self
                .decoder
                .tombstones(rec, &mut self.tombstones)
                .map(|_| Ready::Tombstones(end_pos)),
            _ => return None,
        };
        Some(decoded.unwrap_or_else(|e| Ready::Skipped {
            from: WalPosition {
                segment: cur,
                offset: start,
                frame_crc: None,
            },
            to: end_pos,
            reason: SkipReason::Damaged(e.to_string()),
        }))
    }

    /// The start position is not a frame end of this WAL: read its segment again from the
    /// start, yielding everything.
    fn rewind(&mut self) -> Ready {
        let lf = self.live_from.take().expect("a start position");
        let to = WalPosition::segment_start(lf.pos.segment);
        self.cur = lf.pos.segment;
        self.tail = None;
        self.complete = false;
        self.read_pos = to;
        Ready::Rewound { from: lf.pos, to }
    }

    fn finish_segment(&mut self) {
        if let Some(lf) = self.live_from
            && lf.pos.segment == self.cur
        {
            if lf.pos.frame_crc.is_some() && !lf.verified {
                // The segment ended before the position.
                let r = self.rewind();
                self.queued.push_back(r);
                return;
            }
            self.live_from = None;
        }
        self.tail = None;
        self.complete = false;
        self.cur = self.cur.saturating_add(1);
        // A checkpoint may have appeared while the segment was read.
        self.check_checkpoint_soon();
    }

    fn check_checkpoint_soon(&mut self) {
        self.last_checkpoint_check = Instant::now()
            .checked_sub(CHECKPOINT_INTERVAL)
            .unwrap_or(self.last_checkpoint_check);
    }

    /// Opens segment `cur`. False when it does not exist yet.
    fn open_segment(&mut self) -> Result<bool> {
        let path = self.dir.join(segment_name(self.cur));
        match SegmentTail::open(path.clone()) {
            Ok(t) => {
                self.tail = Some(t);
                self.complete = false;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let segs = segments(&self.dir)?;
                let Some(&next) = segs.iter().find(|s| **s > self.cur) else {
                    return Ok(false);
                };
                // Truncation deleted segments before they were read.
                let from = match self.live_from {
                    None => Some(WalPosition::segment_start(self.cur)),
                    Some(lf) if lf.pos.segment < next => {
                        self.live_from = None;
                        Some(lf.pos)
                    }
                    // Still before the start: nothing to yield was lost.
                    Some(_) => None,
                };
                if let Some(from) = from {
                    self.queued.push_back(Ready::Skipped {
                        from,
                        to: WalPosition::segment_start(next),
                        reason: SkipReason::Deleted {
                            segments: next - self.cur,
                        },
                    });
                }
                self.cur = next;
                // The series defined in the deleted segments are in the checkpoint.
                self.check_checkpoint(true)?;
                Ok(true)
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Starts reading a checkpoint newer than the last one read. Its series only replace
    /// older ones (`reset`) once reading has passed its segments: series it dropped may still
    /// have samples in segments not yet read. After a gap, it is read without a reset so the
    /// series of the deleted segments are known.
    fn check_checkpoint(&mut self, after_gap: bool) -> Result<()> {
        self.last_checkpoint_check = Instant::now();
        if self.checkpoint.is_some() {
            return Ok(());
        }
        let Some((_, n)) = last_checkpoint(&self.dir)? else {
            return Ok(());
        };
        if self.checkpoint_done.is_some_and(|d| d >= n) {
            return Ok(());
        }
        let reset = self.cur > n;
        if reset || after_gap {
            match CheckpointRead::new(&self.dir, n, reset) {
                Ok(c) => self.checkpoint = Some(c),
                // Replaced by a newer one meanwhile: found on the next check.
                Err(e) if is_not_found(&e) => self.check_checkpoint_soon(),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One step of reading a checkpoint's series. `None` when nothing was yielded (the
    /// caller goes on).
    fn checkpoint_step(&mut self) -> Result<Option<Ready>> {
        let Self {
            checkpoint,
            decoder,
            series,
            checkpoint_done,
            last_checkpoint_check,
            ..
        } = self;
        let cp = checkpoint.as_mut().expect("a checkpoint being read");
        loop {
            if cp.tail.is_none() {
                if cp.idx >= cp.files.len() {
                    let r = Ready::CheckpointRead {
                        checkpoint: cp.n,
                        reset: cp.reset,
                    };
                    if cp.reset {
                        *checkpoint_done = Some(cp.n);
                        // Labels of series gone from the head need not stay interned.
                        *decoder = RecordDecoder::new();
                    }
                    *checkpoint = None;
                    return Ok(Some(r));
                }
                let path = cp.dir.join(segment_name(cp.files[cp.idx]));
                match SegmentTail::open(path.clone()) {
                    Ok(t) => cp.tail = Some(t),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        // A newer checkpoint replaced it: read that one instead.
                        *checkpoint = None;
                        *last_checkpoint_check = Instant::now()
                            .checked_sub(CHECKPOINT_INTERVAL)
                            .unwrap_or(*last_checkpoint_check);
                        return Ok(None);
                    }
                    Err(e) => return Err(Error::io(path, e)),
                }
            }
            let tail = cp.tail.as_mut().expect("open checkpoint segment");
            match tail.next_frame() {
                Frame::Record { payload, .. } => {
                    let rec = &tail.buf[payload];
                    if record_type(rec) == Some(RecordType::Series) {
                        match decoder.series(rec, series) {
                            Ok(()) => return Ok(Some(Ready::Series(cp.n))),
                            Err(e) => {
                                tracing::warn!(checkpoint = cp.n, error = %e, "skipping an undecodable series record of a WAL checkpoint");
                            }
                        }
                    }
                }
                Frame::NeedMore => {
                    if tail.fill().map_err(|e| Error::io(tail.path.clone(), e))? == 0 {
                        if tail.leftover() > 0 {
                            tracing::warn!(file = %tail.path.display(), "WAL checkpoint ends in an incomplete frame");
                        }
                        cp.tail = None;
                        cp.idx += 1;
                    }
                }
                Frame::Damaged(reason) => {
                    tracing::warn!(file = %tail.path.display(), offset = tail.offset, reason, "damaged WAL checkpoint; its remaining series are not read");
                    cp.tail = None;
                    cp.idx += 1;
                }
            }
        }
    }

    fn newer_segment_exists(&mut self) -> Result<bool> {
        let Some(next) = self.cur.checked_add(1) else {
            return Ok(false);
        };
        // Truncation deletes segments oldest first and never the one being written, so a
        // deleted current segment is complete too.
        if self.dir.join(segment_name(next)).exists()
            || !self.dir.join(segment_name(self.cur)).exists()
        {
            return Ok(true);
        }
        if self.last_listing.elapsed() >= LISTING_INTERVAL {
            self.last_listing = Instant::now();
            return Ok(segments(&self.dir)?.iter().any(|s| *s > self.cur));
        }
        Ok(false)
    }
}

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
}

impl CheckpointRead {
    fn new(wal_dir: &Path, n: u32, reset: bool) -> Result<Self> {
        let dir = wal_dir.join(format!("checkpoint.{n:08}"));
        if !dir.is_dir() {
            return Err(Error::io(
                &dir,
                io::Error::new(io::ErrorKind::NotFound, "checkpoint directory is gone"),
            ));
        }
        Ok(CheckpointRead {
            n,
            files: segments(&dir)?,
            dir,
            idx: 0,
            tail: None,
            reset,
        })
    }
}

/// One parse step of a segment file.
enum Frame {
    /// A whole, intact frame from file offset `start` to `end`; `payload` indexes the
    /// tail's buffer.
    Record {
        start: u64,
        end: u64,
        crc: u32,
        payload: Range<usize>,
    },
    /// The bytes read so far end inside a frame (or the header).
    NeedMore,
    Damaged(String),
}

/// Reads a segment file incrementally, frame by frame, as it grows.
struct SegmentTail {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// The first unparsed byte of `buf`; it lies at file offset `offset`.
    start: usize,
    offset: u64,
    header_read: bool,
}

impl SegmentTail {
    fn open(path: PathBuf) -> io::Result<SegmentTail> {
        let file = File::open(&path)?;
        Ok(SegmentTail {
            path,
            file,
            buf: Vec::new(),
            start: 0,
            offset: 0,
            header_read: false,
        })
    }

    fn leftover(&self) -> usize {
        self.buf.len() - self.start
    }

    fn next_frame(&mut self) -> Frame {
        if !self.header_read {
            let avail = &self.buf[self.start..];
            if avail.len() < SEGMENT_HEADER {
                return Frame::NeedMore;
            }
            if avail[..4] != MAGIC {
                return Frame::Damaged("missing or bad segment header".into());
            }
            if avail[4] != VERSION {
                return Frame::Damaged(format!("WAL segment version {}", avail[4]));
            }
            self.start += SEGMENT_HEADER;
            self.offset += SEGMENT_HEADER as u64;
            self.header_read = true;
        }
        let avail = &self.buf[self.start..];
        if avail.len() < FRAME_HEADER {
            return Frame::NeedMore;
        }
        let len = u32::from_le_bytes(avail[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(avail[4..8].try_into().expect("4 bytes"));
        if len == 0 || len > MAX_RECORD {
            return Frame::Damaged(format!("invalid record length {len}"));
        }
        if avail.len() < FRAME_HEADER + len {
            return Frame::NeedMore;
        }
        if crc32c::crc32c(&avail[FRAME_HEADER..FRAME_HEADER + len]) != crc {
            return Frame::Damaged("record checksum mismatch".into());
        }
        let payload = self.start + FRAME_HEADER..self.start + FRAME_HEADER + len;
        let start = self.offset;
        self.start += FRAME_HEADER + len;
        self.offset += (FRAME_HEADER + len) as u64;
        Frame::Record {
            start,
            end: self.offset,
            crc,
            payload,
        }
    }

    /// Reads more of the file; 0 at its current end.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        // At least the rest of a frame whose header has been read.
        let mut want = READ_CHUNK;
        if self.header_read && self.buf.len() >= FRAME_HEADER {
            let len = u32::from_le_bytes(self.buf[..4].try_into().expect("4 bytes")) as usize;
            want = want.max((FRAME_HEADER + len.min(MAX_RECORD)).saturating_sub(self.buf.len()));
        }
        // Into the buffer's spare room, without zeroing it first (a poll that finds nothing
        // new costs one read).
        self.buf.reserve(want);
        (&mut self.file)
            .take(want as u64)
            .read_to_end(&mut self.buf)
    }
}

#[cfg(test)]
#[path = "watcher_tests.rs"]
mod tests;
