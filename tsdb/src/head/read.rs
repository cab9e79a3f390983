//! Reading the head: series selection, label names and values.

use std::ops::Range;
use std::sync::Arc;

use model::{Labels, Matcher};

use super::Head;
use super::series::{MemSeries, SharedSeries};
use super::symbols::Ranks;
use crate::chunkenc::Encoding;
use crate::chunks::FrameBytes;
use crate::error::Result;
use crate::head_chunks::FileMapMemo;
use crate::postings::{label_names_of, label_values_of, postings_for_matchers};
use crate::querier::{ChunkData, ChunkSpan, map_in_parts, merge_series_sets};
use crate::tombstones::Intervals;

impl Head {
    /// Series matching `matchers` that have samples in `[mint, maxt]`, sorted by labels, each
    /// with its chunks overlapping the range. Open chunks are copied (they keep changing),
    /// into one buffer per part of the selection; full chunks are handed out as views of
    /// their memory-mapped files.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<(Labels, Vec<ChunkSpan>)>> {
        self.select_in(matchers, mint, maxt, true)
    }

    /// [`Head::select`] in the order the series were created instead of label order: no
    /// sort, and the series and their chunks are read and then decoded in about the order
    /// they lie in memory and in the head-chunk files.
    pub fn select_any_order(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<(Labels, Vec<ChunkSpan>)>> {
        self.select_in(matchers, mint, maxt, false)
    }

    fn select_in(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        sorted: bool,
    ) -> Result<Vec<(Labels, Vec<ChunkSpan>)>> {
        let ids: Vec<u32> = postings_for_matchers(&self.postings, matchers)?
            .iter()
            .collect();
        // Large selections are read (and sorted) in parts on several threads, then merged.
        let parts = map_in_parts(&ids, |part| {
            let mut reading = ChunkReading::default();
            let mut found = Vec::with_capacity(part.len());
            self.series.for_ids(part, |s| {
                let (chunks, open) = self.read_chunks(s, mint, maxt, &mut reading)?;
                if !chunks.is_empty() || open.is_some() {
                    found.push((s.labels.labels(), chunks, open));
                }
                Ok::<(), crate::Error>(())
            })?;
            let copies = Arc::new(reading.copies);
            let mut out: Vec<(Labels, Vec<ChunkSpan>)> = found
                .into_iter()
                .map(|(labels, mut chunks, open)| {
                    chunks.extend(open.map(|o| o.span(&copies)));
                    (labels, chunks)
                })
                .collect();
            if sorted {
                // Label sets are unique in the head: no order among equals to keep.
                out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            }
            Ok(out)
        })?;
        Ok(if sorted {
            merge_series_sets(parts)
        } else {
            parts.into_iter().flatten().collect()
        })
    }

    /// The chunks of one series overlapping `[mint, maxt]`, in time order, with the series'
    /// deleted ranges; chunks whose samples are all deleted are left out.
    pub(crate) fn series_chunks(
        &self,
        s: &MemSeries,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkSpan>> {
        let mut reading = ChunkReading::default();
        let (mut chunks, open) = self.read_chunks(s, mint, maxt, &mut reading)?;
        if let Some(o) = open {
            chunks.push(o.span(&Arc::new(reading.copies)));
        }
        Ok(chunks)
    }

    /// [`Head::series_chunks`] without the open chunk's span: its bytes are appended to
    /// `reading.copies` and where they are comes back separately, to be turned into a span
    /// once the buffer is complete and shared.
    fn read_chunks(
        &self,
        s: &MemSeries,
        mint: i64,
        maxt: i64,
        reading: &mut ChunkReading,
    ) -> Result<(Vec<ChunkSpan>, Option<OpenCopy>)> {
        let deleted = self.deleted(s.id);
        let gone = |a: i64, b: i64| deleted.as_ref().is_some_and(|d| d.covers(a, b));
        let d = s.lock();
        let mut out = Vec::new();
        for c in d.mmapped.iter() {
            if c.maxt < mint || c.mint > maxt || gone(c.mint, c.maxt) {
                continue;
            }
            let (_, bytes) = self.chunks.chunk_memo(c.r(), &mut reading.files)?;
            out.push(ChunkSpan {
                mint: c.mint,
                maxt: c.maxt,
                enc: Encoding::Xor,
                data: ChunkData::HeadFile(bytes),
                deleted: deleted.clone(),
            });
        }
        let mut copy = None;
        if let Some(open) = &d.open
            && open.app.num_samples() > 0
        {
            let (cmin, cmax) = s.open_span(open);
            if cmax >= mint && cmin <= maxt && !gone(cmin, cmax) {
                let at = reading.copies.len();
                reading.copies.extend_from_slice(open.app.bytes());
                copy = Some(OpenCopy {
                    mint: cmin,
                    maxt: cmax,
                    range: at..reading.copies.len(),
                    deleted,
                });
            }
        }
        Ok((out, copy))
    }

    /// Label names of series matching `matchers` (all series when empty), sorted.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.postings.label_names());
        }
        let ids = postings_for_matchers(&self.postings, matchers)?;
        label_names_of(&ids, |id| {
            Ok(self.series.get(id).map(|s| s.labels.labels()))
        })
    }

    /// Values of label `name` across series matching `matchers`, sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.postings.label_values(name));
        }
        let ids = postings_for_matchers(&self.postings, matchers)?;
        label_values_of(&ids, name, |id| {
            Ok(self.series.get(id).map(|s| s.labels.labels()))
        })
    }

    /// Series per `name=value` pair.
    pub fn pair_counts(&self) -> Vec<(String, String, u64)> {
        self.postings.pair_counts()
    }

    /// Every series with samples in `[mint, maxt]`, in label order, without reading any chunk
    /// or building any label set: compaction then takes one series at a time
    /// ([`HeadSeriesHandle::labels`], [`Head::chunks_of`]).
    pub fn series_in_range(&self, mint: i64, maxt: i64) -> Vec<HeadSeriesHandle> {
        let mut out = Vec::new();
        self.series.for_each(|s| {
            let d = s.lock();
            let has = d.mmapped.iter().any(|c| c.maxt >= mint && c.mint <= maxt)
                || d.open.as_ref().is_some_and(|c| {
                    let (cmin, cmax) = s.open_span(c);
                    c.app.num_samples() > 0 && cmax >= mint && cmin <= maxt
                });
            if has {
                out.push(HeadSeriesHandle(s.clone()));
            }
        });
        let ranks = Ranks::now();
        out.sort_unstable_by(|a, b| ranks.cmp(&a.0.labels, &b.0.labels));
        out
    }

    /// Chunks the head holds: every memory-mapped chunk and every open chunk with samples
    /// (one pass over the series; for status pages, not for hot paths).
    pub fn num_chunks(&self) -> u64 {
        let mut n = 0u64;
        self.series.for_each(|s| {
            let d = s.lock();
            n += d.mmapped.len() as u64
                + u64::from(d.open.as_ref().is_some_and(|c| c.app.num_samples() > 0));
        });
        n
    }

    /// The chunks of a series found by [`Head::series_in_range`].
    pub fn chunks_of(&self, h: &HeadSeriesHandle, mint: i64, maxt: i64) -> Result<Vec<ChunkSpan>> {
        self.series_chunks(&h.0, mint, maxt)
    }
}

/// What one reader of many series' chunks keeps between them: the head-chunk file it read
/// last, and the copies of the open chunks so far, all in one buffer.
#[derive(Default)]
struct ChunkReading {
    files: FileMapMemo,
    copies: Vec<u8>,
}

/// Where [`Head::read_chunks`] put a copy of an open chunk, with its span's other fields.
struct OpenCopy {
    mint: i64,
    maxt: i64,
    range: Range<usize>,
    deleted: Option<Arc<Intervals>>,
}

impl OpenCopy {
    fn span(self, copies: &Arc<Vec<u8>>) -> ChunkSpan {
        ChunkSpan {
            mint: self.mint,
            maxt: self.maxt,
            enc: Encoding::Xor,
            data: ChunkData::Copied(
                FrameBytes::new(copies.clone(), self.range).expect("the copy lies in the buffer"),
            ),
            deleted: self.deleted,
        }
    }
}

/// A reference to a head series that stays valid while held.
pub struct HeadSeriesHandle(SharedSeries);

impl HeadSeriesHandle {
    /// The series' labels.
    pub fn labels(&self) -> Labels {
        self.0.labels.labels()
    }
}

impl std::fmt::Debug for HeadSeriesHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeadSeriesHandle({})", self.0.id)
    }
}
