//! The loop that scrapes one target.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::Labels;
use model::storage::{Appendable, Appender, SeriesRef};
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::append::{
    AppendStats, Cache, SampleRules, append_body, mark_all_stale, merge_target_labels,
};
use super::conn::TargetConn;
use super::fetch::fetch;
use super::{FailReason, Health, ScrapeError, ScrapeMetrics};
use crate::config::HttpClientConfig;
use crate::target::Target;

/// Scrape timestamps this close to the expected tick are moved onto it, so the
/// delta-of-delta of timestamps is zero and encodes in one bit (as Prometheus does).
const ALIGN_TOLERANCE_MS: i64 = 2;

/// Where a loop's batches go: the store, and who hears that a scrape was committed.
#[derive(Clone)]
pub(super) struct Sink {
    pub store: Arc<dyn Appendable>,
    pub interest: Arc<super::notify::InterestSlot>,
}

/// Settings shared by every loop of a job.
pub(super) struct JobSettings {
    pub client: reqwest::Client,
    pub http: HttpClientConfig,
    pub rules: SampleRules,
    pub body_limit: u64,
}

/// What one loop runs with; replaced (through a `watch`) when the job changes.
pub(super) struct LoopConfig {
    pub target: Target,
    pub job: Arc<JobSettings>,
    /// Set when the pool refuses to scrape (target_limit exceeded).
    pub forced_error: Option<String>,
}

/// The state the targets API reads.
#[derive(Debug, Clone)]
pub(super) struct Status {
    pub health: Health,
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_duration: Duration,
    /// The metadata of the last successful scrape.
    pub metadata: Arc<Vec<super::append::MetricMetadata>>,
}

/// A running loop.
pub(super) struct LoopHandle {
    pub cfg: watch::Sender<Arc<LoopConfig>>,
    pub status: Arc<Mutex<Status>>,
    stop: CancellationToken,
    stale_on_stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl LoopHandle {
    pub fn start(
        cfg: Arc<LoopConfig>,
        sink: Sink,
        metrics: Arc<ScrapeMetrics>,
        parent: &CancellationToken,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, rx) = watch::channel(cfg);
        let status = Arc::new(Mutex::new(Status {
            health: Health::Unknown,
            last_error: String::new(),
            last_scrape: None,
            last_duration: Duration::ZERO,
            metadata: Arc::default(),
        }));
        let stop = parent.child_token();
        let stale_on_stop = Arc::new(AtomicBool::new(true));
        // A loop's target labels never change (they are part of its key).
        let report = Arc::new(report_labels(&rx.borrow().target.labels));
        let l = ScrapeLoop {
            cfg: rx,
            report,
            sink,
            metrics,
            status: status.clone(),
            cache: Box::default(),
            buf: Vec::new(),
            body_size: 0,
            conn: TargetConn::default(),
            last_ts: None,
            report_refs: [None; 5],
        };
        let task = tokio::spawn(l.run(stop.clone(), stale_on_stop.clone(), shutdown));
        LoopHandle {
            cfg: tx,
            status,
            stop,
            stale_on_stop,
            task,
        }
    }

    /// Asks the loop to stop; with `stale`, its series are marked stale first.
    pub fn stop(&self, stale: bool) {
        self.stale_on_stop.store(stale, Ordering::Release);
        self.stop.cancel();
    }

    pub async fn join(self) {
        let _ = self.task.await;
    }
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The first scrape time: the point in the interval given by the target's hash, so a job's
/// targets spread evenly and a restart keeps the same phase.
fn first_tick(key: u64, interval: Duration) -> Instant {
    let iv = interval.as_nanos().max(1) as u64;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let offset = key % iv;
    let base = now - now % iv;
    let mut next = base + offset;
    if next < now {
        next += iv;
    }
    Instant::now() + Duration::from_nanos(next - now)
}

const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Labels of the synthetic series: their name and the target's labels.
fn report_labels(target: &Labels) -> [Labels; 5] {
    REPORT_NAMES.map(|name| {
        let mut lb = model::LabelsBuilder::with_capacity(target.len() + 1);
        lb.set("__name__", name);
        merge_target_labels(&mut lb, target, false);
        lb.build()
    })
}

struct ScrapeLoop {
    cfg: watch::Receiver<Arc<LoopConfig>>,
    sink: Sink,
    metrics: Arc<ScrapeMetrics>,
    status: Arc<Mutex<Status>>,
    cache: Box<Cache>,
    /// The body being fetched. Not kept between scrapes (with many targets the bodies would
    /// stay in memory all the time); its last size sizes the next one.
    buf: Vec<u8>,
    body_size: usize,
    /// The connection to a plain-HTTP target, kept across scrapes.
    conn: TargetConn,
    last_ts: Option<i64>,
    report_refs: [Option<SeriesRef>; 5],
    /// Labels of the synthetic series.
    report: Arc<[Labels; 5]>,
}

/// The outcome of the blocking part of a scrape.
struct Appended {
    cache: Box<Cache>,
    buf: Vec<u8>,
    refs: [Option<SeriesRef>; 5],
    result: Result<AppendStats, ScrapeError>,
    append_time: Duration,
}

impl ScrapeLoop {
    async fn run(
        mut self,
        stop: CancellationToken,
        stale_on_stop: Arc<AtomicBool>,
        shutdown: CancellationToken,
    ) {
        let mut cfg = self.cfg.borrow_and_update().clone();
        let mut next = first_tick(cfg.target.key(), cfg.target.interval);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                changed = self.cfg.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let new = self.cfg.borrow_and_update().clone();
                    if new.target.interval != cfg.target.interval {
                        next = first_tick(new.target.key(), new.target.interval);
                    }
                    let (a, b) = (&new.job.rules, &cfg.job.rules);
                    if a.honor_labels != b.honor_labels
                        || a.metric_relabel_configs != b.metric_relabel_configs
                    {
                        self.cache.rules_changed();
                    }
                    cfg = new;
                    continue;
                }
                _ = tokio::time::sleep_until(next) => {}
            }
            self.scrape_once(&cfg, &stop).await;
            let interval = cfg.target.interval;
            next += interval;
            let now = Instant::now();
            if next < now {
                // Missed ticks (a slow store, a suspended machine): skip, keep the phase.
                let behind = (now - next).as_nanos() / interval.as_nanos().max(1) + 1;
                next += interval * behind as u32;
            }
        }
        if stale_on_stop.load(Ordering::Acquire) && !shutdown.is_cancelled() {
            self.end_of_run(&cfg, next, &shutdown).await;
        }
    }

    async fn scrape_once(&mut self, cfg: &Arc<LoopConfig>, stop: &CancellationToken) {
        let start = std::time::Instant::now();
        let start_sys = SystemTime::now();
        let interval_ms = cfg.target.interval.as_millis() as i64;
        let mut ts = unix_ms(start_sys);
        if let Some(last) = self.last_ts {
            let expected = last + interval_ms;
            if interval_ms > 100 * ALIGN_TOLERANCE_MS && (ts - expected).abs() <= ALIGN_TOLERANCE_MS
            {
                ts = expected;
            }
        }
        self.last_ts = Some(ts);
        self.metrics.scrapes.inc();
        let fetched = match &cfg.forced_error {
            Some(e) => Err(ScrapeError {
                reason: FailReason::TargetLimit,
                msg: e.clone(),
            }),
            None => {
                let job = &cfg.job;
                self.buf.reserve(self.body_size);
                tokio::select! {
                    r = fetch(&job.client, &job.http, &mut self.conn, &cfg.target.url, cfg.target.timeout, job.body_limit, &mut self.buf) => r,
                    _ = stop.cancelled() => return,
                }
            }
        };
        let mut cache = std::mem::take(&mut self.cache);
        let interest = self.sink.interest.get();
        let buf = std::mem::take(&mut self.buf);
        let refs = self.report_refs;
        let report = self.report.clone();
        let store = self.sink.store.clone();
        let cfg2 = cfg.clone();
        let done = tokio::task::spawn_blocking(move || {
            let t0 = std::time::Instant::now();
            let mut app = store.appender();
            cache.follow(interest, &*app);
            let mut stats = AppendStats::default();
            let result = fetched.and_then(|format| {
                let body = std::str::from_utf8(&buf).map_err(|e| ScrapeError {
                    reason: FailReason::Encoding,
                    msg: format!("the body is not valid UTF-8: {e}"),
                })?;
                let (s, r) = append_body(
                    &mut *app,
                    &mut cache,
                    body,
                    format,
                    ts,
                    &cfg2.target.labels,
                    &cfg2.job.rules,
                );
                stats = s;
                r.map(|()| s)
            });
            if result.is_err() {
                // Nothing of a failed scrape is kept; what was live goes stale.
                let _ = app.rollback();
                app = store.appender();
                mark_all_stale(&mut *app, &mut cache, ts);
            }
            let mut refs = refs;
            let values = [
                if result.is_ok() { 1.0 } else { 0.0 },
                start.elapsed().as_secs_f64(),
                stats.scraped as f64,
                stats.post_relabel as f64,
                stats.series_added as f64,
            ];
            append_report(&mut *app, &report, &mut refs, ts, values);
            let result = match app.commit() {
                Ok(()) if result.is_ok() => {
                    // The samples are visible now: whoever reads them may look.
                    cache.committed();
                    result
                }
                Ok(()) => result,
                Err(e) => Err(ScrapeError {
                    reason: FailReason::Storage,
                    msg: format!("committing to the store: {e}"),
                }),
            };
            Appended {
                cache,
                buf,
                refs,
                result,
                append_time: t0.elapsed(),
            }
        })
        .await;
        let Ok(done) = done else {
            tracing::error!(target = %cfg.target.url, "scrape append panicked");
            return;
        };
        self.cache = done.cache;
        self.body_size = done.buf.len();
        drop(done.buf);
        let metadata = self.cache.metadata.clone();
        self.report_refs = done.refs;
        self.metrics
            .append_seconds
            .observe(done.append_time.as_secs_f64());
        let mut st = self.status.lock();
        st.last_scrape = Some(start_sys);
        st.last_duration = start.elapsed();
        match done.result {
            Ok(stats) => {
                self.metrics.samples.add(stats.post_relabel);
                for (n, reason) in [
                    (stats.rejected_out_of_order, "out_of_order"),
                    (stats.rejected_out_of_bounds, "out_of_bounds"),
                    (stats.rejected_duplicate, "duplicate_timestamp"),
                ] {
                    if n > 0 {
                        self.metrics.rejected.with(&[reason]).add(n);
                    }
                }
                st.health = Health::Up;
                st.last_error.clear();
                st.metadata = metadata;
            }
            Err(e) => {
                self.metrics.failures.with(&[e.reason.as_str()]).inc();
                tracing::debug!(target = %cfg.target.url, error = %e, "scrape failed");
                st.health = Health::Down;
                st.last_error = e.msg;
            }
        }
    }

    /// The target went away: its series and its synthetic series go stale, as Prometheus does
    /// it: the markers carry the time of the next tick and are written one tick after that, so
    /// a target that comes straight back (same labels, same phase) has newer samples by then
    /// and the markers are refused as out of order. Nothing is written if Vane shuts down
    /// meanwhile.
    async fn end_of_run(
        &mut self,
        cfg: &Arc<LoopConfig>,
        next: Instant,
        shutdown: &CancellationToken,
    ) {
        if self.last_ts.is_none() {
            return;
        }
        let now = Instant::now();
        let stale_ts =
            unix_ms(SystemTime::now()) + next.saturating_duration_since(now).as_millis() as i64;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next.max(now) + cfg.target.interval) => {}
        }
        let mut cache = std::mem::take(&mut self.cache);
        let store = self.sink.store.clone();
        let mut refs = self.report_refs;
        let report = self.report.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let mut app = store.appender();
            mark_all_stale(&mut *app, &mut cache, stale_ts);
            append_report(
                &mut *app,
                &report,
                &mut refs,
                stale_ts,
                [model::sample::stale_nan(); 5],
            );
            if let Err(e) = app.commit() {
                tracing::warn!(error = %e, "cannot write staleness markers for a removed target");
            }
        })
        .await;
    }
}

fn append_report(
    app: &mut dyn Appender,
    labels: &[Labels; 5],
    refs: &mut [Option<SeriesRef>; 5],
    ts: i64,
    values: [f64; 5],
) {
    for i in 0..5 {
        // Rejections (a clock step backwards) leave the report out; nothing else to do.
        if let Ok(r) = app.append(refs[i], &labels[i], ts, values[i]) {
            refs[i] = Some(r);
        }
    }
}
