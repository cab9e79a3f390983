//! The scrapes of a run and the signals read from them, as PromQL would read the same series
//! (`avg_over_time`, `rate`), with an optional delay for a slow metrics pipeline.

use std::collections::VecDeque;

use autoscaler::policy::ServiceStats;

use crate::funcsim::platform::Function;
use crate::funcsim::stats::{BUCKETS, Histogram};

/// How long scrapes are kept, seconds (more than any window plus lag below).
const KEEP: f64 = 300.0;

/// One scrape of the function.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sample {
    /// Simulated seconds.
    pub t: f64,
    /// Requests that arrived so far (a counter).
    pub invocations: u64,
    pub in_flight: u64,
    pub queued: u64,
    /// Replicas taking or finishing requests (ready and draining).
    pub serving: u32,
    /// Service times so far (a histogram's counters).
    pub service: Histogram,
}

impl Sample {
    pub fn of(f: &Function, t: f64) -> Sample {
        let c = f.replica_counts();
        Sample {
            t,
            invocations: f.counters.invocations,
            in_flight: f.in_flight() as u64,
            queued: f.queued() as u64,
            serving: c.ready + c.draining,
            service: f.counters.service,
        }
    }

    /// Busy slots over all slots; 1 when requests wait and nothing serves, 0 when idle.
    pub fn utilization(&self, concurrency: u32) -> f64 {
        let slots = f64::from(self.serving) * f64::from(concurrency);
        if slots > 0.0 {
            (self.in_flight as f64 / slots).min(1.0)
        } else if self.queued > 0 {
            1.0
        } else {
            0.0
        }
    }
}

/// The scrapes, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Samples(VecDeque<Sample>);

impl Samples {
    pub fn push(&mut self, s: Sample) {
        while self.0.front().is_some_and(|o| o.t < s.t - KEEP) {
            self.0.pop_front();
        }
        self.0.push_back(s);
    }

    /// The scrapes in `(from, to]`.
    fn within(&self, from: f64, to: f64) -> impl Iterator<Item = &Sample> {
        self.0.iter().filter(move |s| s.t > from && s.t <= to)
    }

    /// The service time over the last `window` seconds as the controller reads it from a
    /// histogram: the increase of its sum over that of its count, and the increases of its
    /// cumulative buckets; `None` without the scrapes or without a request.
    pub fn service_time(&self, now: f64, window: f64) -> Option<ServiceStats> {
        let (new, old) = (&self.at(now)?.service, &self.at(now - window)?.service);
        let count = new.count.checked_sub(old.count)?;
        let mean = (new.sum - old.sum) / count as f64;
        let les = BUCKETS.iter().copied().chain([f64::INFINITY]);
        let buckets: Vec<(f64, f64)> = les
            .zip(new.cumulative().zip(old.cumulative()))
            .map(|(le, (n, o))| (le, n.saturating_sub(o) as f64))
            .collect();
        ServiceStats::from_histogram(mean, &buckets)
    }

    /// The newest scrape at or before `t`.
    fn at(&self, t: f64) -> Option<&Sample> {
        self.0.iter().rev().find(|s| s.t <= t)
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// What a configuration reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// Requests in flight and queued, averaged over the scrapes of the last `window` seconds
    /// (`avg_over_time`): the demand in concurrent requests.
    Concurrency { window: f64 },
    /// Busy slots over all slots of the serving replicas (what CPU utilization is for a
    /// CPU-bound function), averaged over the `window` seconds that ended `lag` seconds ago.
    Utilization { window: f64, lag: f64 },
    /// Arrivals per second over the last `window` seconds (`rate`).
    Rate { window: f64 },
}

impl Signal {
    /// The signal at `now`; `None` without the scrapes it needs.
    pub fn read(&self, samples: &Samples, now: f64, concurrency: u32) -> Option<f64> {
        match *self {
            Signal::Concurrency { window } => mean(
                samples
                    .within(now - window, now)
                    .map(|s| (s.in_flight + s.queued) as f64),
            ),
            Signal::Utilization { window, lag } => mean(
                samples
                    .within(now - lag - window, now - lag)
                    .map(|s| s.utilization(concurrency)),
            ),
            Signal::Rate { window } => {
                let (new, old) = (samples.at(now)?, samples.at(now - window)?);
                let dt = new.t - old.t;
                (dt > 0.0).then(|| (new.invocations - old.invocations) as f64 / dt)
            }
        }
    }
}
