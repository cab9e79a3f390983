//! Query statistics, as Prometheus reports them for the API's `stats` parameter: where a
//! query's time went and how many samples it touched.
//!
//! Samples are counted the way Prometheus counts them, so the numbers compare:
//! - **total queryable samples**: every sample a step's selectors covered. An instant
//!   selector counts one per series and step with a value; a function over `x[5m]` counts
//!   the whole window at every step (a sample in four overlapping windows counts four
//!   times); a subquery's inner work does not count where a function reads it, only the
//!   points in each window; a part pinned with `@`, evaluated once, counts at every step.
//! - **samples read**: the samples taken from storage, each once: for a function over a
//!   range only the points that were not already in the previous step's window, for a
//!   pinned part once.
//! - **peak samples**: the most samples held in memory at once, as counted for
//!   `--query.max-samples` (Vane holds every step of a node at once, so its peak is higher
//!   than Prometheus's step-by-step evaluation would reach).
//!
//! Nothing is counted unless the query asks ([`crate::Engine::with_stats`]), and per-step
//! counts are kept only for [`StatsDetail::PerStep`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How much a query reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsDetail {
    /// Timings and sample totals (`stats=true`).
    Totals,
    /// Also the samples of every step (`stats=all`).
    PerStep,
}

/// Where a query's time went. The engine fills the evaluation times; `exec_queue` (waiting
/// for a concurrency slot) belongs to the caller, which also widens `exec_total` by it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryTimings {
    /// Preparation, evaluation and result assembly.
    pub eval_total: Duration,
    /// Sorting a matrix result by labels.
    pub result_sort: Duration,
    /// Working out the time range and opening the store's querier.
    pub query_preparation: Duration,
    /// Evaluating the expression.
    pub inner_eval: Duration,
    /// Waiting for a slot of `--query.max-concurrency`.
    pub exec_queue: Duration,
    /// Everything: queue and evaluation.
    pub exec_total: Duration,
}

/// How many samples a query touched (see the module documentation for how each is counted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuerySamples {
    pub total_queryable_samples: u64,
    pub samples_read: u64,
    pub peak_samples: usize,
    /// `(step time in ms, samples)` for every step, with [`StatsDetail::PerStep`].
    pub total_queryable_samples_per_step: Option<Vec<(i64, u64)>>,
    /// `(step time in ms, samples)` for every step, with [`StatsDetail::PerStep`].
    pub samples_read_per_step: Option<Vec<(i64, u64)>>,
}

/// A query's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    pub timings: QueryTimings,
    pub samples: QuerySamples,
}

/// Sample counts of one evaluation scope: the query, a subquery's inner grid or a part
/// evaluated once. Counted from several threads at once, hence atomics.
#[derive(Debug, Default)]
pub(crate) struct Counter {
    total: AtomicU64,
    read: AtomicU64,
    /// One slot per step of the scope's grid, or empty when not kept.
    total_per_step: Box<[AtomicU64]>,
    read_per_step: Box<[AtomicU64]>,
}

fn slots(n: usize) -> Box<[AtomicU64]> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl Counter {
    /// A counter keeping per-step counts of both kinds over `steps` steps (0: totals only).
    pub fn per_step(steps: usize) -> Counter {
        Counter {
            total_per_step: slots(steps),
            read_per_step: slots(steps),
            ..Counter::default()
        }
    }

    /// A counter for a subquery's inner grid: samples read are kept per step, so they can
    /// be attributed to the outer steps that use them.
    pub fn for_subquery(steps: usize) -> Counter {
        Counter {
            read_per_step: slots(steps),
            ..Counter::default()
        }
    }

    /// `n` samples covered at `step`.
    pub fn add_total(&self, step: usize, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
        if let Some(c) = self.total_per_step.get(step) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// `n` samples read from storage at `step`.
    pub fn add_read(&self, step: usize, n: u64) {
        self.read.fetch_add(n, Ordering::Relaxed);
        if let Some(c) = self.read_per_step.get(step) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// `n` samples covered and read at `step` (instant selectors, bare range selectors).
    pub fn add(&self, step: usize, n: u64) {
        self.add_total(step, n);
        self.add_read(step, n);
    }

    /// Whether per-step counts are kept (then every step's samples must go to its slot).
    pub fn keeps_steps(&self) -> bool {
        !self.total_per_step.is_empty() || !self.read_per_step.is_empty()
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Adds a subquery's samples read to this (outer) scope, each inner step's at the first
    /// outer step at or after it (`inner` is the subquery's grid as `(start, step)`,
    /// `outer` this scope's as `(start, step, len)`). Inner steps are shifted by the
    /// subquery's `offset`; with a `range` (the subquery is a function's argument), those
    /// that no outer window reaches (the outer step is longer than the range) are left out,
    /// as they feed no result. An outer scope of one step takes everything.
    pub fn merge_read(
        &self,
        sub: &Counter,
        inner: (i64, i64),
        outer: (i64, i64, usize),
        offset: i64,
        range: i64,
    ) {
        let (out_start, out_step, out_len) = outer;
        if out_len <= 1 {
            self.add_read(0, sub.read());
            return;
        }
        for (k, c) in sub.read_per_step.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let t = inner.0 + k as i64 * inner.1 + offset;
            let step = if t > out_start {
                (((t - out_start) as u64).div_ceil(out_step as u64) as usize).min(out_len - 1)
            } else {
                0
            };
            if range > 0 && t <= out_start + step as i64 * out_step - range {
                continue;
            }
            self.add_read(step, n);
        }
    }

    /// The query's counts, with per-step lists (step `i` at `t(i)`) when they were kept.
    pub fn finish(&self, peak: usize, t: impl Fn(usize) -> i64) -> QuerySamples {
        let list = |slots: &[AtomicU64]| {
            (!slots.is_empty()).then(|| {
                slots
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (t(i), c.load(Ordering::Relaxed)))
                    .collect()
            })
        };
        QuerySamples {
            total_queryable_samples: self.total(),
            samples_read: self.read(),
            peak_samples: peak,
            total_queryable_samples_per_step: list(&self.total_per_step),
            samples_read_per_step: list(&self.read_per_step),
        }
    }
}

#[cfg(test)]
mod tests;
