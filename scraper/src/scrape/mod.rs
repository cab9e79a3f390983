//! Scrape loops, scrape pools (one per job) and the manager that runs them.
//!
//! - A **loop** scrapes one target on its interval (first scrape offset by a hash of the
//!   target, so targets spread over the interval), appends the samples and the synthetic
//!   `up`/`scrape_*` series in one batch, and marks as stale what disappeared.
//! - A **pool** holds a job's loops. It turns the job's discovered groups into targets and
//!   starts, updates and stops loops as they change; a loop whose target keeps its labels and
//!   URL keeps running across changes and reloads.
//! - The **manager** holds the pools and applies a new configuration: unchanged jobs are left
//!   alone, changed ones updated in place, removed ones stopped (their series marked stale).

mod append;
mod conn;
mod fetch;
mod notify;
mod pool;
mod target_loop;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use model::Labels;
use model::metrics::{Counter, CounterVec, Gauge, Histogram, Registry};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

pub use append::{
    AppendStats, Cache, MetricMetadata, SampleRules, append_body, mark_all_stale,
    merge_target_labels,
};
pub use fetch::ACCEPT_HEADER;
pub use notify::Interest;

use crate::config::ScrapeConfig;
use notify::InterestSlot;
use pool::Pool;
use target_loop::Sink;

/// Why a scrape failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    Http,
    Timeout,
    BodyTooLarge,
    Encoding,
    Parse,
    DuplicateSeries,
    SampleLimit,
    LabelLimit,
    TargetLimit,
    Storage,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::Http => "http",
            FailReason::Timeout => "timeout",
            FailReason::BodyTooLarge => "body_size_limit",
            FailReason::Encoding => "encoding",
            FailReason::Parse => "parse",
            FailReason::DuplicateSeries => "duplicate_series",
            FailReason::SampleLimit => "sample_limit",
            FailReason::LabelLimit => "label_limit",
            FailReason::TargetLimit => "target_limit",
            FailReason::Storage => "storage",
        }
    }

    const ALL: [FailReason; 10] = [
        FailReason::Http,
        FailReason::Timeout,
        FailReason::BodyTooLarge,
        FailReason::Encoding,
        FailReason::Parse,
        FailReason::DuplicateSeries,
        FailReason::SampleLimit,
        FailReason::LabelLimit,
        FailReason::TargetLimit,
        FailReason::Storage,
    ];
}

/// A failed scrape: why, and the message shown for the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeError {
    pub reason: FailReason,
    pub msg: String,
}

impl fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

/// Health of a target, as the targets API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// What the targets API shows of an active target.
#[derive(Debug, Clone)]
pub struct ActiveTarget {
    pub job: String,
    pub labels: Labels,
    pub discovered: Labels,
    pub url: String,
    pub interval: std::time::Duration,
    pub timeout: std::time::Duration,
    pub health: Health,
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_duration: std::time::Duration,
    /// `# HELP`/`# TYPE`/`# UNIT` of the last successful scrape.
    pub metadata: Arc<Vec<MetricMetadata>>,
}

/// A target relabeling dropped.
#[derive(Debug, Clone)]
pub struct DroppedTarget {
    pub job: String,
    pub discovered: Labels,
}

/// The scraper's own metrics (`vane_scrape_*`).
pub struct ScrapeMetrics {
    pub scrapes: Arc<Counter>,
    pub failures: CounterVec,
    pub append_seconds: Arc<Histogram>,
    pub samples: Arc<Counter>,
    pub rejected: CounterVec,
    pub active_targets: Arc<Gauge>,
    pub dropped_targets: Arc<Gauge>,
}

impl ScrapeMetrics {
    pub fn new(r: &Registry) -> Self {
        let failures = r.counter_vec(
            "vane_scrape_failures_total",
            "Scrapes that failed, by reason.",
            &["reason"],
        );
        for reason in FailReason::ALL {
            failures.with(&[reason.as_str()]);
        }
        ScrapeMetrics {
            scrapes: r.counter("vane_scrape_scrapes_total", "Scrapes attempted."),
            failures,
            append_seconds: r.histogram(
                "vane_scrape_append_seconds",
                "Time to parse, relabel and append one scrape body.",
                &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0],
            ),
            samples: r.counter(
                "vane_scrape_samples_appended_total",
                "Samples appended from scrapes (after metric relabeling).",
            ),
            rejected: r.counter_vec(
                "vane_scrape_samples_rejected_total",
                "Scraped samples the store rejected, by reason.",
                &["reason"],
            ),
            active_targets: r.gauge("vane_scrape_targets_active", "Targets being scraped."),
            dropped_targets: r.gauge(
                "vane_scrape_targets_dropped",
                "Discovered targets dropped by relabeling.",
            ),
        }
    }
}

/// Runs every job's discovery and scrape loops into `store`.
pub struct ScrapeManager {
    sink: Sink,
    metrics: Arc<ScrapeMetrics>,
    pools: Mutex<Vec<Pool>>,
    external: CancellationToken,
}

impl ScrapeManager {
    pub fn new(store: Arc<dyn model::storage::Appendable>, registry: &Registry) -> Self {
        ScrapeManager {
            sink: Sink {
                store,
                interest: Arc::new(InterestSlot::default()),
            },
            metrics: Arc::new(ScrapeMetrics::new(registry)),
            pools: Mutex::new(Vec::new()),
            external: CancellationToken::new(),
        }
    }

    /// Applies a (validated) set of jobs. Must run inside a Tokio runtime. Jobs whose
    /// configuration is unchanged keep running untouched; changed jobs are updated in place
    /// (loops of targets that stay keep running); removed jobs stop and mark their series
    /// stale. Fails (changing nothing) if an HTTP client cannot be built, e.g. an unreadable
    /// CA file.
    pub fn apply(&self, configs: &[ScrapeConfig]) -> Result<(), String> {
        // Build every client first so a bad setting changes nothing.
        let mut clients = Vec::with_capacity(configs.len());
        for c in configs {
            clients.push(
                crate::http_client::build(&c.http_client())
                    .map_err(|e| format!("scrape job {:?}: {e}", c.job_name))?,
            );
        }
        let mut pools = self.pools.lock();
        let mut old: Vec<Pool> = std::mem::take(&mut *pools);
        for (cfg, client) in configs.iter().zip(clients) {
            match old.iter().position(|p| p.job() == cfg.job_name) {
                Some(i) => {
                    let mut p = old.swap_remove(i);
                    p.update(cfg, client);
                    pools.push(p);
                }
                None => pools.push(Pool::start(
                    cfg.clone(),
                    client,
                    self.sink.clone(),
                    self.metrics.clone(),
                    pool::PoolTokens {
                        stop: self.external.child_token(),
                        shutdown: self.external.clone(),
                    },
                )),
            }
        }
        for p in old {
            p.stop(true);
        }
        Ok(())
    }

    /// From the next scrape of each target on, tells `interest` which of its metrics each
    /// committed scrape appended samples of (`None`: nobody listens).
    pub fn set_interest(&self, interest: Option<Interest>) {
        self.sink.interest.set(interest);
    }

    /// Active and dropped targets of every job, in configuration order.
    pub fn targets(&self) -> (Vec<ActiveTarget>, Vec<DroppedTarget>) {
        let mut active = Vec::new();
        let mut dropped = Vec::new();
        for p in self.pools.lock().iter() {
            p.snapshot(&mut active, &mut dropped);
        }
        (active, dropped)
    }

    /// Stops every loop, without staleness markers (the series of a restarted Vane carry on),
    /// and waits until their last batches are committed.
    pub async fn stop(&self) {
        let pools = std::mem::take(&mut *self.pools.lock());
        for p in &pools {
            p.stop(false);
        }
        // Loops of removed targets still waiting to write their markers give up.
        self.external.cancel();
        for p in pools {
            p.join().await;
        }
    }
}
