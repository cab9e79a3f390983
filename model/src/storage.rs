//! Storage traits: how samples go in and come out.
//!
//! The scraper and the rule engine write through [`Appendable`]/[`Appender`]; PromQL and the
//! HTTP API read through [`Queryable`]/[`Querier`]. Only the daemon knows the concrete store.
//!
//! Values returned from a querier own what they need (they hold `Arc`s of the store's
//! structures), so they may outlive the call that created them and cross threads.

use crate::labels::Labels;
use crate::matcher::Matcher;

/// A store's handle for one series, valid for the life of the process (not across restarts).
/// Callers cache it to skip the label-set lookup on later appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u64);

/// Storage errors. Per-sample rejections (`OutOfOrderSample`, `OutOfBounds`,
/// `DuplicateSampleForTimestamp`) leave the appender usable; the caller counts and goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("out of order sample")]
    OutOfOrderSample,
    #[error("out of bounds")]
    OutOfBounds,
    #[error("duplicate sample for timestamp")]
    DuplicateSampleForTimestamp,
    #[error("unknown series reference {0:?}")]
    UnknownSeriesRef(SeriesRef),
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
    #[error("storage is closed")]
    Closed,
    #[error("query canceled")]
    Canceled,
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage error: {0}")]
    Other(String),
}

impl Error {
    /// True for errors that reject a single sample and leave the batch usable.
    pub fn is_sample_rejection(&self) -> bool {
        matches!(
            self,
            Error::OutOfOrderSample | Error::OutOfBounds | Error::DuplicateSampleForTimestamp
        )
    }
}

/// Something samples can be appended to.
pub trait Appendable: Send + Sync {
    /// A new batch. Nothing it appends is visible or durable until `commit`.
    fn appender(&self) -> Box<dyn Appender>;
}

/// A batch of appends: one scrape, one rule evaluation. Either `commit` or `rollback` ends it;
/// dropping it without either rolls back.
pub trait Appender: Send {
    /// Appends one sample. With `r` from an earlier call for the same series the label lookup is
    /// skipped (`labels` may then be empty); with `None` the series is found or created by
    /// `labels`, which must be sorted, non-empty and carry a metric name. Returns the reference
    /// to use next time.
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, Error>;

    /// Makes the batch durable (as the store's sync policy defines) and visible.
    fn commit(&mut self) -> Result<(), Error>;

    /// Discards the batch.
    fn rollback(&mut self) -> Result<(), Error>;

    /// The labels of series `r`, when the store can give them back for as long as `r` is
    /// valid (it keeps them, in whatever form): a caller that keeps references beside labels,
    /// as a scrape cache does, can then drop its own copy and ask again when it needs them,
    /// appending by reference with empty labels and handling [`Error::UnknownSeriesRef`] (the
    /// store dropped the series) by appending by labels again. `None` (the default) when the
    /// store cannot, or does not know `r`.
    fn stored_labels(&self, _r: SeriesRef) -> Option<Labels> {
        None
    }
}

/// Hints a querier may use to do less work. All fields are optional refinements.
#[derive(Debug, Clone, Default)]
pub struct SelectHints {
    /// Time range actually needed, in ms (inclusive).
    pub start: i64,
    pub end: i64,
    /// Query resolution step in ms, 0 for instant queries.
    pub step: i64,
    /// The function the selection feeds (`rate`, `series` for metadata-only, ...).
    pub func: Option<String>,
    /// Only label sets are needed, not samples.
    pub labels_only: bool,
    /// Return at most this many series (0 = unlimited).
    pub limit: usize,
    /// The caller needs the series in no particular order (it sorts what it returns, or
    /// order does not matter to it): a store may hand them out in its own order, cheaper
    /// to produce and faster to read than label order.
    pub any_order: bool,
}

/// Something that gives queriers over a time range.
pub trait Queryable: Send + Sync {
    /// A querier over samples with `mint <= t <= maxt`.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, Error>;
}

impl<T: Appendable + ?Sized> Appendable for std::sync::Arc<T> {
    fn appender(&self) -> Box<dyn Appender> {
        (**self).appender()
    }
}

impl<T: Queryable + ?Sized> Queryable for std::sync::Arc<T> {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, Error> {
        (**self).querier(mint, maxt)
    }
}

/// Reads one time range of a store.
pub trait Querier: Send + Sync {
    /// Series matching all `matchers`, sorted by label set unless `hints.any_order`, each
    /// spanning every part of the store that holds it (merged and de-duplicated by
    /// timestamp).
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series>>, Error>;

    /// Sorted, unique label names of series that match `matchers` (all series if empty).
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, Error>;

    /// Sorted, unique values of label `name` across series that match `matchers`.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, Error>;
}

/// One series: its labels and a way to read its samples.
pub trait Series: Send + Sync {
    fn labels(&self) -> &Labels;
    /// A new iterator over the samples, in time order.
    fn iter(&self) -> Box<dyn SampleIterator + '_>;

    /// Appends every sample with `mint <= t <= maxt` to `out`, in time order: what
    /// [`SampleIterator::read_into`] gives on a fresh iterator. Stores override it to decode
    /// without making an iterator.
    fn read_into(&self, mint: i64, maxt: i64, out: &mut Vec<(i64, f64)>) -> Result<(), Error> {
        let mut it = self.iter();
        it.read_into(mint, maxt, out);
        match it.err() {
            Some(e) => Err(Error::Other(e.to_string())),
            None => Ok(()),
        }
    }
}

/// Iterates samples in strictly increasing time order.
///
/// Protocol: call `next` or `seek` first; `at` is valid after either returned `true`.
pub trait SampleIterator: Send {
    /// Moves to the next sample; `false` at the end or on error (see `err`).
    fn next(&mut self) -> bool;

    /// Moves to the first sample with timestamp `>= t`. Never moves backwards: if the
    /// current sample is already at or after `t`, stays. `false` if there is none.
    fn seek(&mut self, t: i64) -> bool {
        loop {
            if !self.next() {
                return false;
            }
            if self.at().0 >= t {
                return true;
            }
        }
    }

    /// The current sample.
    fn at(&self) -> (i64, f64);

    /// Appends every sample with `mint <= t <= maxt` to `out`, in time order, on a fresh
    /// iterator. Stores override it to decode in bulk; `err` reports a failure afterwards.
    fn read_into(&mut self, mint: i64, maxt: i64, out: &mut Vec<(i64, f64)>) {
        read_by_seeking(self, mint, maxt, out);
    }

    /// The error that ended iteration early, if any.
    fn err(&self) -> Option<&Error> {
        None
    }
}

/// The generic [`SampleIterator::read_into`]: `seek(mint)`, then `next` until past `maxt`.
/// Works from any position (it never moves backwards).
pub fn read_by_seeking<I: SampleIterator + ?Sized>(
    it: &mut I,
    mint: i64,
    maxt: i64,
    out: &mut Vec<(i64, f64)>,
) {
    if !it.seek(mint) {
        return;
    }
    loop {
        let s = it.at();
        if s.0 > maxt {
            return;
        }
        out.push(s);
        if !it.next() {
            return;
        }
    }
}

/// A series held fully in memory (tests, rule evaluation output, small results).
#[derive(Debug, Clone)]
pub struct VecSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

impl Series for VecSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }
    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(SliceIterator::new(self.samples.as_slice()))
    }
}

/// Iterates `(t, v)` pairs held in a slice or an owned vector.
#[derive(Debug)]
pub struct SliceIterator<S: AsRef<[(i64, f64)]>> {
    samples: S,
    pos: usize,
    started: bool,
    err: Option<Error>,
}

impl<S: AsRef<[(i64, f64)]>> SliceIterator<S> {
    pub fn new(samples: S) -> Self {
        SliceIterator {
            samples,
            pos: 0,
            started: false,
            err: None,
        }
    }
}

impl SliceIterator<Vec<(i64, f64)>> {
    /// An iterator that yields nothing and reports `err`.
    pub fn failed(err: Error) -> Self {
        SliceIterator {
            err: Some(err),
            ..SliceIterator::new(Vec::new())
        }
    }
}

impl<S: AsRef<[(i64, f64)]> + Send> SampleIterator for SliceIterator<S> {
    fn next(&mut self) -> bool {
        if self.started {
            self.pos += 1;
        } else {
            self.started = true;
        }
        self.pos < self.samples.as_ref().len()
    }

    fn seek(&mut self, t: i64) -> bool {
        self.started = true;
        let samples = self.samples.as_ref();
        if self.pos >= samples.len() {
            return false;
        }
        if samples[self.pos].0 >= t {
            return true;
        }
        self.pos += samples[self.pos..].partition_point(|s| s.0 < t);
        self.pos < samples.len()
    }

    fn at(&self) -> (i64, f64) {
        self.samples.as_ref()[self.pos]
    }

    fn err(&self) -> Option<&Error> {
        self.err.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_into_takes_the_closed_range() {
        let s = [(1, 1.0), (5, 5.0), (9, 9.0), (12, 12.0)];
        let mut out = Vec::new();
        SliceIterator::new(&s[..]).read_into(5, 9, &mut out);
        assert_eq!(out, vec![(5, 5.0), (9, 9.0)]);
        out.clear();
        SliceIterator::new(&s[..]).read_into(13, 20, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn slice_iterator_seek_never_goes_back() {
        let s = [(1, 1.0), (5, 5.0), (9, 9.0)];
        let mut it = SliceIterator::new(&s[..]);
        assert!(it.seek(4));
        assert_eq!(it.at().0, 5);
        assert!(it.seek(2));
        assert_eq!(it.at().0, 5);
        assert!(it.next());
        assert_eq!(it.at().0, 9);
        assert!(!it.seek(10));
        let mut it = SliceIterator::new(s.to_vec());
        let mut n = 0;
        while it.next() {
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
