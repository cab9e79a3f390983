//! Reading series out of the store: chunk spans from blocks and the head, merged per series.
//!
//! Each part of the store (a block, the head) yields, per matching series, a list of chunks
//! overlapping the queried range. [`merge_series_sets`] merges those lists by label set, and
//! [`StoredSeries`] iterates the chunks in time order, clipped to the range. Chunks of one
//! series normally do not overlap (each sample lives in exactly one part), and then the
//! iterator simply walks them one after another. Overlap happens after a backfill (`tsdb
//! import`) into a range that already has data; then the samples are merged and samples with
//! the same timestamp are de-duplicated (the first part, in the order given, wins). A chunk
//! may carry deleted ranges (tombstones); a series with any such chunk is read the same
//! merging way, leaving the deleted samples out.

use std::sync::Arc;

use model::storage::SliceIterator;
use model::{Error as SampleError, Labels, SampleIterator, Series};

use crate::chunkenc::{ChunkIterator, Encoding, decode_range};
use crate::chunks::FrameBytes;
use crate::head_chunks::ChunkBytes;
use crate::mmap::MmapSlice;
use crate::tombstones::Intervals;

/// Where a chunk's bytes are.
#[derive(Debug, Clone)]
pub enum ChunkData {
    /// In a block's uncompressed (version 1) chunk file.
    Block(MmapSlice),
    /// In a decompressed frame of a block's chunk file.
    Frame(FrameBytes),
    /// In a head-chunk file (or its write buffer).
    HeadFile(ChunkBytes),
    /// A copy of a head chunk still being appended to, in a buffer shared with the other
    /// copies one selection made.
    Copied(FrameBytes),
}

impl AsRef<[u8]> for ChunkData {
    fn as_ref(&self) -> &[u8] {
        match self {
            ChunkData::Block(b) => b.as_ref(),
            ChunkData::Frame(b) => b.as_ref(),
            ChunkData::HeadFile(b) => b.as_ref(),
            ChunkData::Copied(b) => b.as_ref(),
        }
    }
}

/// One chunk of one series with its time range, and the deleted ranges of its series in
/// the part of the store it came from.
#[derive(Debug, Clone)]
pub struct ChunkSpan {
    pub mint: i64,
    pub maxt: i64,
    pub enc: Encoding,
    pub data: ChunkData,
    pub deleted: Option<Arc<Intervals>>,
}

impl ChunkSpan {
    /// Whether some of this chunk's samples are deleted.
    pub fn has_deleted(&self) -> bool {
        self.deleted
            .as_ref()
            .is_some_and(|d| d.overlaps(self.mint, self.maxt))
    }

    /// The chunk's bytes with its deleted ranges, as [`merge_chunk_samples`] takes them.
    pub fn parts(&self) -> (Encoding, &[u8], Option<&Intervals>) {
        (self.enc, self.data.as_ref(), self.deleted.as_deref())
    }
}

/// A series read from the store: its labels and the chunks that hold its samples in
/// `[mint, maxt]`.
#[derive(Debug)]
pub struct StoredSeries {
    labels: Labels,
    chunks: Vec<ChunkSpan>,
    mint: i64,
    maxt: i64,
    /// Chunks overlap or hold deleted samples: read by merging.
    merge: bool,
}

impl StoredSeries {
    /// `chunks` in any order; they are sorted by start time (stably, so among chunks that
    /// start together the earlier-given one wins duplicates).
    pub fn new(labels: Labels, mut chunks: Vec<ChunkSpan>, mint: i64, maxt: i64) -> Self {
        chunks.sort_by_key(|c| c.mint);
        let mut merge = chunks.iter().any(ChunkSpan::has_deleted);
        let mut prev_max = i64::MIN;
        for (i, c) in chunks.iter().enumerate() {
            if i > 0 && c.mint <= prev_max {
                merge = true;
                break;
            }
            prev_max = prev_max.max(c.maxt);
        }
        StoredSeries {
            labels,
            chunks,
            mint,
            maxt,
            merge,
        }
    }

    /// Reads the chunks one after another (they neither overlap nor hold deleted samples).
    fn chunk_seq(&self) -> ChunkSeqIterator<'_> {
        ChunkSeqIterator {
            chunks: &self.chunks,
            next_chunk: 0,
            cur: None,
            mint: self.mint,
            maxt: self.maxt,
            done: false,
            err: None,
        }
    }

    /// Every sample in range, merged, de-duplicated and without deleted ones.
    fn merged_samples(&self) -> Result<Vec<(i64, f64)>, String> {
        let in_range = self
            .chunks
            .iter()
            .filter(|c| c.maxt >= self.mint && c.mint <= self.maxt);
        merge_chunk_samples(in_range.map(ChunkSpan::parts), self.mint, self.maxt)
    }
}

/// Decodes chunks (given in priority order, each with its deleted ranges) and returns their
/// samples in `[mint, maxt]` that are not deleted, sorted, with samples of equal timestamps
/// de-duplicated in favour of the earlier chunk. Shared by queries over overlapping or
/// partly deleted data and by compaction.
pub(crate) fn merge_chunk_samples<'a>(
    chunks: impl IntoIterator<Item = (Encoding, &'a [u8], Option<&'a Intervals>)>,
    mint: i64,
    maxt: i64,
) -> Result<Vec<(i64, f64)>, String> {
    let mut all: Vec<(i64, f64)> = Vec::new();
    for (enc, c, deleted) in chunks {
        let mut it = ChunkIterator::new(enc, c);
        while it.next() {
            let (t, v) = it.at();
            if t >= mint && t <= maxt && !deleted.is_some_and(|d| d.contains(t)) {
                all.push((t, v));
            }
        }
        if let Some(e) = it.err() {
            return Err(e.to_string());
        }
    }
    // A stable sort keeps the earlier chunk's sample first among equal timestamps.
    all.sort_by_key(|s| s.0);
    all.dedup_by_key(|s| s.0);
    Ok(all)
}

impl Series for StoredSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        if self.merge {
            return Box::new(match self.merged_samples() {
                Ok(v) => SliceIterator::new(v),
                Err(e) => SliceIterator::failed(SampleError::Other(e)),
            });
        }
        Box::new(self.chunk_seq())
    }

    /// Decodes the chunks straight into `out` (no iterator to allocate).
    fn read_into(
        &self,
        mint: i64,
        maxt: i64,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<(), SampleError> {
        if self.merge {
            let (mint, maxt) = (mint.max(self.mint), maxt.min(self.maxt));
            let samples = self.merged_samples().map_err(SampleError::Other)?;
            out.extend(samples.into_iter().filter(|s| s.0 >= mint && s.0 <= maxt));
            return Ok(());
        }
        let mut it = self.chunk_seq();
        it.read_into(mint, maxt, out);
        match it.err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Walks non-overlapping chunks in order, clipped to `[mint, maxt]`.
struct ChunkSeqIterator<'a> {
    chunks: &'a [ChunkSpan],
    next_chunk: usize,
    cur: Option<ChunkIterator<&'a [u8]>>,
    mint: i64,
    maxt: i64,
    done: bool,
    err: Option<SampleError>,
}

impl ChunkSeqIterator<'_> {
    /// Opens the next chunk that can hold samples at or after `from`.
    fn open_next(&mut self, from: i64) -> bool {
        while self.next_chunk < self.chunks.len() {
            let c = &self.chunks[self.next_chunk];
            self.next_chunk += 1;
            if c.mint > self.maxt {
                break;
            }
            if c.maxt < from {
                continue;
            }
            match &mut self.cur {
                Some(it) => it.reset(c.enc, c.data.as_ref()),
                None => self.cur = Some(ChunkIterator::new(c.enc, c.data.as_ref())),
            }
            return true;
        }
        self.done = true;
        false
    }

    fn check_err(&mut self) -> bool {
        if let Some(e) = self.cur.as_ref().and_then(|c| c.err()) {
            self.err = Some(SampleError::Other(e.to_string()));
            self.done = true;
            return true;
        }
        false
    }
}

impl SampleIterator for ChunkSeqIterator<'_> {
    fn next(&mut self) -> bool {
        if self.done {
            return false;
        }
        if self.cur.is_none() {
            return self.seek(self.mint);
        }
        loop {
            let it = self.cur.as_mut().expect("open chunk");
            if it.next() {
                let t = it.at().0;
                if t > self.maxt {
                    self.done = true;
                    return false;
                }
                if t >= self.mint {
                    return true;
                }
                continue;
            }
            if self.check_err() || !self.open_next(self.mint) {
                return false;
            }
        }
    }

    fn seek(&mut self, t: i64) -> bool {
        if self.done {
            return false;
        }
        let t = t.max(self.mint);
        // The open chunk can still hold `t` if it ends at or after it.
        let in_current =
            self.cur.is_some() && self.next_chunk > 0 && self.chunks[self.next_chunk - 1].maxt >= t;
        if !in_current && !self.open_next(t) {
            return false;
        }
        loop {
            let it = self.cur.as_mut().expect("open chunk");
            if it.seek(t) {
                if it.at().0 > self.maxt {
                    self.done = true;
                    return false;
                }
                return true;
            }
            if self.check_err() || !self.open_next(t) {
                return false;
            }
        }
    }

    fn at(&self) -> (i64, f64) {
        self.cur.as_ref().map_or((0, 0.0), |c| c.at())
    }

    fn err(&self) -> Option<&SampleError> {
        self.err.as_ref()
    }

    /// Decodes chunk by chunk in one loop per chunk: no iterator call per sample.
    fn read_into(&mut self, mint: i64, maxt: i64, out: &mut Vec<(i64, f64)>) {
        let (mint, maxt) = (mint.max(self.mint), maxt.min(self.maxt));
        if self.done || mint > maxt {
            return;
        }
        if self.cur.is_some() {
            // Already positioned by next/seek: continue through the iterator protocol.
            return model::storage::read_by_seeking(self, mint, maxt, out);
        }
        for c in &self.chunks[self.next_chunk..] {
            self.next_chunk += 1;
            if c.maxt < mint {
                continue;
            }
            if c.mint > maxt {
                break;
            }
            if let Err(e) = decode_range(c.enc, c.data.as_ref(), mint, maxt, out) {
                self.err = Some(SampleError::Other(e));
                break;
            }
        }
        self.done = true;
    }
}

/// Below this many series, a selection is read on the calling thread.
const PARALLEL_MIN_SERIES: usize = 4096;

/// Runs `f` over contiguous parts of `items` on up to `available_parallelism` threads (one
/// part for few items) and returns each part's result in order. Reading a large selection's
/// series and chunks is most of a query's work before evaluation starts.
pub(crate) fn map_in_parts<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&[T]) -> Result<R, crate::Error> + Sync,
) -> Result<Vec<R>, crate::Error> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || items.len() < PARALLEL_MIN_SERIES {
        return Ok(vec![f(items)?]);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}

/// Series with their chunks, sorted by labels: what each part of the store returns.
pub type SeriesChunkList = Vec<(Labels, Vec<ChunkSpan>)>;

/// Merges per-part series lists (each sorted by labels) into one sorted list; chunks of
/// series with equal labels are concatenated in part order.
pub fn merge_series_sets(
    parts: Vec<Vec<(Labels, Vec<ChunkSpan>)>>,
) -> Vec<(Labels, Vec<ChunkSpan>)> {
    let mut parts: Vec<Vec<(Labels, Vec<ChunkSpan>)>> =
        parts.into_iter().filter(|p| !p.is_empty()).collect();
    match parts.len() {
        0 => return Vec::new(),
        1 => return parts.pop().expect("one part"),
        _ => {}
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut out: SeriesChunkList = Vec::with_capacity(total);
    let mut iters: Vec<_> = parts.into_iter().map(|p| p.into_iter()).collect();
    // Parts whose next series has the smallest label set, in part order: one comparison
    // per part and output series.
    let mut smallest: Vec<usize> = Vec::with_capacity(iters.len());
    loop {
        smallest.clear();
        for i in 0..iters.len() {
            let Some((l, _)) = iters[i].as_slice().first() else {
                continue;
            };
            let order = match smallest.first() {
                None => std::cmp::Ordering::Less,
                Some(&m) => l.cmp(&iters[m].as_slice()[0].0),
            };
            match order {
                std::cmp::Ordering::Less => {
                    smallest.clear();
                    smallest.push(i);
                }
                std::cmp::Ordering::Equal => smallest.push(i),
                std::cmp::Ordering::Greater => {}
            }
        }
        let Some((&first, rest)) = smallest.split_first() else {
            break;
        };
        let (labels, mut chunks) = iters[first].next().expect("peeked");
        for &i in rest {
            chunks.extend(iters[i].next().expect("peeked").1);
        }
        out.push((labels, chunks));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkenc::XorAppender;

    fn span(samples: &[(i64, f64)], deleted: Option<Arc<Intervals>>) -> ChunkSpan {
        let mut a = XorAppender::new();
        for &(t, v) in samples {
            a.append(t, v);
        }
        let bytes = Arc::new(a.into_bytes());
        let len = bytes.len();
        ChunkSpan {
            mint: samples[0].0,
            maxt: samples[samples.len() - 1].0,
            enc: Encoding::Xor,
            data: ChunkData::Copied(FrameBytes::new(bytes, 0..len).unwrap()),
            deleted,
        }
    }

    /// What the iterator protocol reads for `[mint, maxt]`.
    fn by_iterator(s: &StoredSeries, mint: i64, maxt: i64) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        let mut it = s.iter();
        if it.seek(mint) {
            loop {
                let (t, v) = it.at();
                if t > maxt {
                    break;
                }
                out.push((t, v));
                if !it.next() {
                    break;
                }
            }
        }
        assert!(it.err().is_none());
        out
    }

    #[test]
    fn reading_a_series_at_once_gives_what_its_iterator_gives() {
        let a: Vec<(i64, f64)> = (0..50).map(|i| (i * 10, i as f64)).collect();
        let b: Vec<(i64, f64)> = (50..90).map(|i| (i * 10, -(i as f64))).collect();
        // Overlapping the first two (a backfill) and a deleted range: read by merging.
        let c: Vec<(i64, f64)> = (0..30).map(|i| (i * 15 + 5, 0.5)).collect();
        let mut gone = Intervals::new();
        gone.add(200, 260);
        let sets = [
            vec![span(&a, None), span(&b, None)],
            vec![span(&b, None), span(&a, None), span(&c, None)],
            vec![span(&a, Some(Arc::new(gone))), span(&b, None)],
        ];
        for chunks in sets {
            let s = StoredSeries::new(Labels::empty(), chunks, 30, 850);
            for (mint, maxt) in [
                (i64::MIN, i64::MAX),
                (0, 0),
                (95, 505),
                (500, 500),
                (860, 900),
            ] {
                let mut got = Vec::new();
                s.read_into(mint, maxt, &mut got).unwrap();
                assert_eq!(got, by_iterator(&s, mint, maxt), "[{mint}, {maxt}]");
            }
        }
    }
}
