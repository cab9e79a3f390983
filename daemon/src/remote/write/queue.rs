//! One destination's queue: a reader thread follows the WAL with a [`WalWatcher`], resolves
//! each sample's series to the labels it is sent with, and routes it to a shard by series id;
//! the shards ([`super::shard`]) batch and send; a [`Tracker`] turns their acknowledgements
//! into the send position, which a persister task writes to the position file; a scaling
//! task picks the number of shards.
//!
//! Start: the watcher resumes just after the saved position (reading the series before it
//! from the checkpoint and older segments), or, for a destination without one, at the end of
//! the WAL. Stop: reading goes on until everything in the WAL has been queued, then the shards
//! send what they hold; when the deadline passes first, everything still unsent is abandoned
//! (it stays after the saved position and is sent after the next start).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tsdb::wal::{SkipReason, WalPosition, WalWatcher, WatchEvent, WatchStart};

use super::client::ClientSlot;
use super::config::{QueueConfig, RemoteWriteConfig};
use super::metrics::{DropReason, Metrics};
use super::position::{PositionFile, Tracker};
use super::request::Item;
use super::series::{Lookup, SeriesCache};
use super::shard::{ShardCtx, ShardSet, Stats, now_ms};

/// How long the reader waits before looking at the WAL again once it has read everything.
const POLL: Duration = Duration::from_millis(50);
/// Least time between two writes of the position file.
const PERSIST_INTERVAL: Duration = Duration::from_millis(100);
/// How often the number of shards is reconsidered (as Prometheus).
const SHARD_UPDATE: Duration = Duration::from_secs(10);

/// Everything a queue needs.
pub struct QueueParams {
    pub config: RemoteWriteConfig,
    pub external_labels: Vec<(String, String)>,
    pub wal_dir: PathBuf,
    /// `<data>/remote/<destination key>`.
    pub dir: PathBuf,
    pub client: ClientSlot,
    pub metrics: Arc<Metrics>,
    /// The newest sample time in the store (ms), for the backlog estimate.
    pub newest: Arc<dyn Fn() -> i64 + Send + Sync>,
}

/// A running queue.
pub struct Queue {
    name: String,
    soft: CancellationToken,
    hard: CancellationToken,
    done: oneshot::Receiver<()>,
    /// Fires once the WAL is open and the start position fixed.
    opened: Option<oneshot::Receiver<()>>,
    file: Arc<PositionFile>,
}

impl Queue {
    pub fn start(p: QueueParams, rt: &Handle) -> Queue {
        let name = p.config.remote_name();
        let (soft, hard) = (CancellationToken::new(), CancellationToken::new());
        let (tx, done) = oneshot::channel();
        let (opened_tx, opened) = oneshot::channel();
        let file = Arc::new(PositionFile::new(
            &p.dir,
            format!("{name} {}", p.config.redacted_url()),
        ));
        let (s, h, rt, f) = (soft.clone(), hard.clone(), rt.clone(), file.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("remote-write-{name}"))
            .spawn(move || {
                run_reader(p, f, &rt, &s, &h, opened_tx);
                let _ = tx.send(());
            });
        if let Err(e) = spawned {
            tracing::error!(remote_name = %name, error = %e, "cannot start the remote write reader thread");
        }
        Queue {
            name,
            soft,
            hard,
            done,
            opened: Some(opened),
            file,
        }
    }

    /// The first WAL segment this destination still needs: the one its saved position is
    /// in (a restart resumes there). `None` until a position is known.
    pub fn needed_segment(&self) -> Option<u32> {
        self.file.saved().map(|p| p.segment)
    }

    /// Waits (up to `limit`) until the queue has fixed where in the WAL it starts: samples
    /// written after this are sent (for a destination without a saved position, the ones
    /// written before are not).
    pub async fn opened(&mut self, limit: Duration) {
        if let Some(o) = self.opened.take() {
            let _ = tokio::time::timeout(limit, o).await;
        }
    }

    /// Stops reading once the WAL has been read to its end, lets the shards send what they
    /// hold, and gives up on the rest after `deadline`. The position is saved last.
    pub async fn stop(mut self, deadline: Duration) {
        self.soft.cancel();
        if tokio::time::timeout(deadline, &mut self.done)
            .await
            .is_err()
        {
            tracing::warn!(remote_name = %self.name, deadline = ?deadline, "remote write could not send everything before the flush deadline; the rest is sent after the next start");
            self.hard.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(10), self.done).await;
        }
    }
}

/// Waits up to `d`; true if the queue is being stopped (now, or `soft` for a clean stop).
fn idle(rt: &Handle, d: Duration, soft: &CancellationToken, hard: &CancellationToken) -> bool {
    rt.block_on(async {
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = soft.cancelled() => true,
            _ = hard.cancelled() => true,
        }
    })
}

fn run_reader(
    p: QueueParams,
    file: Arc<PositionFile>,
    rt: &Handle,
    soft: &CancellationToken,
    hard: &CancellationToken,
    opened: oneshot::Sender<()>,
) {
    let c = &p.config;
    let q = &c.queue_config;
    let name = c.remote_name();
    let m = &p.metrics;
    let start = match file.load() {
        Ok(Some(pos)) => WatchStart::After(pos),
        Ok(None) => WatchStart::End,
        Err(e) => {
            tracing::error!(remote_name = %name, error = %e, "unreadable remote write position; sending everything still in the WAL");
            WatchStart::Oldest
        }
    };
    let mut watcher = loop {
        match WalWatcher::open(&p.wal_dir, start) {
            Ok(w) => break w,
            Err(e) => {
                m.wal_read_errors.inc();
                tracing::error!(remote_name = %name, error = %e, "cannot open the WAL for remote write; retrying");
                if idle(rt, Duration::from_secs(5), soft, hard) {
                    return;
                }
            }
        }
    };
    let tracker = Arc::new(Tracker::new(watcher.start_position()));
    tracing::info!(remote_name = %name, url = %c.redacted_url(), start = ?watcher.start_position(), "remote write started");
    store_position(&file, tracker.committed(), m, &name);
    let _ = opened.send(());

    let stats = Arc::new(Stats::default());
    let ctx = Arc::new(ShardCtx {
        client: p.client.clone(),
        tracker: tracker.clone(),
        metrics: m.clone(),
        stats: stats.clone(),
        max_samples: q.max_samples_per_send,
        deadline: q.batch_send_deadline.0,
        min_backoff: q.min_backoff.0,
        max_backoff: q.max_backoff.0,
        name: name.clone(),
    });
    m.shards_min.set(q.min_shards as f64);
    m.shards_max.set(q.max_shards as f64);
    m.shard_capacity.set(q.capacity as f64);
    let background = CancellationToken::new();
    let persister = rt.spawn(persist(
        tracker.clone(),
        file.clone(),
        m.clone(),
        name.clone(),
        background.clone(),
    ));
    let desired = Arc::new(AtomicUsize::new(q.min_shards));
    let scaler = rt.spawn(scale(
        stats,
        m.clone(),
        q.clone(),
        desired.clone(),
        p.newest.clone(),
        name.clone(),
        background.clone(),
    ));

    let mut reader = Reader {
        cache: SeriesCache::new(p.external_labels.clone(), c.write_relabel_configs.clone()),
        tracker: tracker.clone(),
        metrics: m.clone(),
        name: name.clone(),
        age_limit_ms: q.sample_age_limit.0.as_millis() as i64,
        routed: Vec::new(),
    };
    let mut shards = Some(ShardSet::start(q.min_shards, q.capacity, &ctx, hard, rt));
    let mut failures = 0u64;
    while !hard.is_cancelled() {
        let want = desired.load(Ordering::Relaxed);
        let have = shards.as_ref().map_or(0, ShardSet::len);
        if want != have && !soft.is_cancelled() {
            // Samples of a series must leave in order: the old shards finish before the
            // series are spread over the new ones.
            tracing::info!(remote_name = %name, from = have, to = want, "remote write resharding");
            if let Some(s) = shards.take() {
                s.close(rt);
            }
            if hard.is_cancelled() {
                break;
            }
            shards = Some(ShardSet::start(want, q.capacity, &ctx, hard, rt));
        }
        let s = shards.as_ref().expect("shards are running");
        match watcher.next_event() {
            Ok(Some(ev)) => {
                if !reader.handle(ev, s, rt, hard) {
                    break;
                }
            }
            Ok(None) => {
                // Everything written so far has been queued. On a stop, that is all:
                // ingestion stopped before, so nothing more is coming.
                if soft.is_cancelled() {
                    break;
                }
                // Woken early by a stop, the loop reads once more before it ends.
                idle(rt, POLL, soft, hard);
            }
            Err(e) => {
                m.wal_read_errors.inc();
                // Once a minute while the error lasts.
                if failures.is_multiple_of(60) {
                    tracing::error!(remote_name = %name, error = %e, failures, "reading the WAL for remote write failed; retrying every second");
                }
                failures += 1;
                if idle(rt, Duration::from_secs(1), soft, hard) {
                    break;
                }
                continue;
            }
        }
        failures = 0;
    }
    if let Some(s) = shards.take() {
        s.close(rt);
    }
    background.cancel();
    let _ = rt.block_on(persister);
    scaler.abort();
    let pos = tracker.committed();
    store_position(&file, pos, m, &name);
    // Samples abandoned at a hard stop are sent again by the next queue, from the position.
    let unsent = tracker.pending();
    m.samples_pending.add(-(unsent as f64));
    m.shards.set(0.0);
    tracing::info!(remote_name = %name, position = ?pos, unsent, "remote write stopped");
}

/// The reader thread's state between events.
struct Reader {
    cache: SeriesCache,
    tracker: Arc<Tracker>,
    metrics: Arc<Metrics>,
    name: String,
    age_limit_ms: i64,
    routed: Vec<Vec<Item>>,
}

impl Reader {
    /// Handles one watcher event. False when the queue was stopped while waiting for room.
    fn handle(
        &mut self,
        ev: WatchEvent<'_>,
        shards: &ShardSet,
        rt: &Handle,
        hard: &CancellationToken,
    ) -> bool {
        match ev {
            WatchEvent::Series { series, segment } => self.cache.store(series, segment),
            WatchEvent::CheckpointRead { checkpoint, reset } => {
                if reset {
                    self.cache.reset(checkpoint);
                }
                tracing::debug!(remote_name = %self.name, checkpoint, reset, series = self.cache.len(), "remote write read a WAL checkpoint");
            }
            WatchEvent::Samples { samples, end } => {
                return self.samples(samples, end, shards, rt, hard);
            }
            WatchEvent::Tombstones { tombstones, end } => {
                // Remote write 1.0 cannot delete: samples already sent stay at the destination.
                tracing::debug!(remote_name = %self.name, ranges = tombstones.len(), "deleted series ranges are not sent to remote write destinations");
                self.tracker.push(end, 0);
            }
            WatchEvent::Skipped { from, to, reason } => {
                self.metrics.wal_gaps.inc();
                if let SkipReason::Deleted { segments } = reason {
                    self.metrics.wal_segments_skipped.add(segments as u64);
                }
                tracing::error!(remote_name = %self.name, from = ?from, to = ?to, reason = ?reason, "samples in the WAL could not be read for remote write and are not sent");
                self.tracker.push(to, 0);
            }
            WatchEvent::Rewound { from, to } => {
                tracing::warn!(remote_name = %self.name, saved = ?from, restart = ?to, "the saved remote write position is not in the WAL as it is now (rewritten after a crash); sending that segment again from its start");
                self.tracker.rewind(to);
            }
        }
        true
    }

    fn samples(
        &mut self,
        samples: &[tsdb::wal::RefSample],
        end: WalPosition,
        shards: &ShardSet,
        rt: &Handle,
        hard: &CancellationToken,
    ) -> bool {
        let n = shards.len();
        self.routed.resize_with(n, Vec::new);
        let seq = self.tracker.next_seq();
        let now = now_ms();
        let (mut count, mut highest) = (0u64, i64::MIN);
        let mut dropped = [0u64; 4];
        for s in samples {
            match self.cache.lookup(s.r) {
                Lookup::Unknown => dropped[DropReason::UnknownSeries as usize] += 1,
                Lookup::Dropped => dropped[DropReason::DroppedSeries as usize] += 1,
                Lookup::Send { series, last_t } => {
                    if s.t <= *last_t {
                        dropped[DropReason::OutOfOrder as usize] += 1;
                        continue;
                    }
                    *last_t = s.t;
                    if self.age_limit_ms > 0 && now.saturating_sub(s.t) > self.age_limit_ms {
                        dropped[DropReason::TooOld as usize] += 1;
                        continue;
                    }
                    self.routed[(s.r % n as u64) as usize].push(Item {
                        seq,
                        series: series.clone(),
                        t: s.t,
                        v: s.v,
                    });
                    count += 1;
                    highest = highest.max(s.t);
                }
            }
        }
        for why in [
            DropReason::DroppedSeries,
            DropReason::UnknownSeries,
            DropReason::TooOld,
            DropReason::OutOfOrder,
        ] {
            self.metrics.dropped(why, dropped[why as usize]);
        }
        let pushed = self.tracker.push(end, count);
        debug_assert_eq!(pushed, seq);
        if count == 0 {
            return true;
        }
        self.metrics.samples_pending.add(count as f64);
        let read = self.metrics.highest_read.get();
        if highest as f64 / 1000.0 > read {
            self.metrics.highest_read.set(highest as f64 / 1000.0);
        }
        for i in 0..n {
            if self.routed[i].is_empty() {
                continue;
            }
            let items = std::mem::take(&mut self.routed[i]);
            if !shards.send(i, items, rt, hard) {
                return false;
            }
        }
        true
    }
}

fn store_position(file: &PositionFile, pos: WalPosition, m: &Metrics, name: &str) {
    match file.store(pos) {
        Ok(_) => m.position_segment.set(pos.segment as f64),
        Err(e) => {
            m.position_write_failures.inc();
            tracing::warn!(remote_name = %name, file = %file.path().display(), error = %e, "cannot save the remote write position");
        }
    }
}

/// Writes the committed position whenever it moves, at most every [`PERSIST_INTERVAL`].
async fn persist(
    tracker: Arc<Tracker>,
    file: Arc<PositionFile>,
    m: Arc<Metrics>,
    name: String,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tracker.changed() => {}
            _ = stop.cancelled() => return,
        }
        let (t, f, mm, n) = (tracker.clone(), file.clone(), m.clone(), name.clone());
        let _ =
            tokio::task::spawn_blocking(move || store_position(&f, t.committed(), &mm, &n)).await;
        tokio::select! {
            _ = tokio::time::sleep(PERSIST_INTERVAL) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// An exponentially weighted rate, updated once per period (as Prometheus's `ewmaRate`).
#[derive(Default)]
struct Ewma {
    rate: f64,
    init: bool,
}

impl Ewma {
    fn update(&mut self, count: f64, period: Duration) -> f64 {
        let instant = count / period.as_secs_f64();
        if self.init {
            self.rate += 0.2 * (instant - self.rate);
        } else {
            self.rate = instant;
            self.init = true;
        }
        self.rate
    }
}

/// What the shard calculation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Samples queued per second.
    pub in_rate: f64,
    /// Samples sent (or refused) per second.
    pub out_rate: f64,
    /// Seconds spent sending per second (summed over shards).
    pub send_rate: f64,
    /// How far the newest sample sent is behind the newest sample stored, in seconds.
    pub delay: f64,
}

/// The shard count for `load`, following Prometheus's calculation: the time one sample
/// takes to send, times the samples to send per second (what comes in, plus 5% of the
/// backlog estimated from the delay); no change within ±30% of the current count, no fewer
/// shards while more than 10 s behind, and always within `[min, max]`.
pub fn desired_shards(current: usize, min: usize, max: usize, load: Load) -> (usize, f64) {
    if load.out_rate <= 0.0 {
        return (current, current as f64);
    }
    let time_per_sample = load.send_rate / load.out_rate;
    let backlog = load.delay.max(0.0) * load.in_rate;
    let want = time_per_sample * (load.in_rate + 0.05 * backlog);
    let (lo, hi) = (current as f64 * 0.7, current as f64 * 1.3);
    let rounded = want.ceil();
    if lo <= rounded && rounded <= hi {
        return (current, want);
    }
    let mut n = rounded as usize;
    if n < current && load.delay > 10.0 {
        return (current, want);
    }
    n = n.clamp(min, max);
    (n, want)
}

async fn scale(
    stats: Arc<Stats>,
    m: Arc<Metrics>,
    q: QueueConfig,
    desired: Arc<AtomicUsize>,
    newest: Arc<dyn Fn() -> i64 + Send + Sync>,
    name: String,
    stop: CancellationToken,
) {
    let (mut in_rate, mut out_rate, mut send_rate) =
        (Ewma::default(), Ewma::default(), Ewma::default());
    let mut tick = tokio::time::interval(SHARD_UPDATE);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let load = Load {
            in_rate: in_rate.update(
                stats.samples_in.swap(0, Ordering::Relaxed) as f64,
                SHARD_UPDATE,
            ),
            out_rate: out_rate.update(
                stats.samples_out.swap(0, Ordering::Relaxed) as f64,
                SHARD_UPDATE,
            ),
            send_rate: send_rate.update(
                stats.send_nanos.swap(0, Ordering::Relaxed) as f64 / 1e9,
                SHARD_UPDATE,
            ),
            delay: {
                let sent = stats.highest_sent_ms.load(Ordering::Relaxed);
                let newest = newest();
                if sent > 0 && newest > sent {
                    (newest - sent) as f64 / 1000.0
                } else {
                    0.0
                }
            },
        };
        let current = desired.load(Ordering::Relaxed);
        let (n, want) = desired_shards(current, q.min_shards, q.max_shards, load);
        m.shards_desired.set(want);
        if n == current {
            continue;
        }
        let now = now_ms();
        if now - stats.last_success_ms.load(Ordering::Relaxed) > SHARD_UPDATE.as_millis() as i64 {
            tracing::warn!(remote_name = %name, "not resharding: nothing was sent successfully recently");
            continue;
        }
        if now < stats.no_reshard_until_ms.load(Ordering::Relaxed) {
            tracing::warn!(remote_name = %name, "not resharding while retrying recoverable errors");
            continue;
        }
        desired.store(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(in_rate: f64, out_rate: f64, send_rate: f64, delay: f64) -> Load {
        Load {
            in_rate,
            out_rate,
            send_rate,
            delay,
        }
    }

    #[test]
    fn shards_follow_the_time_sending_takes_and_the_backlog() {
        // 10k samples/s come in; sending takes 1 ms per 100 samples: one shard is 10% busy.
        assert_eq!(
            desired_shards(1, 1, 50, load(10_000.0, 10_000.0, 0.1, 0.0)).0,
            1
        );
        // Sending got slow: 1 s of sending per second per shard is needed four times over.
        assert_eq!(
            desired_shards(1, 1, 50, load(10_000.0, 10_000.0, 4.0, 0.0)).0,
            4
        );
        // Within 30% of the current count: no change.
        assert_eq!(
            desired_shards(4, 1, 50, load(10_000.0, 10_000.0, 4.5, 0.0)).0,
            4
        );
        // A backlog of 100 s adds 5% of it per second.
        let (n, want) = desired_shards(1, 1, 50, load(1000.0, 1000.0, 1.0, 100.0));
        assert_eq!((n, want), (6, 6.0));
        // Limits.
        assert_eq!(desired_shards(10, 1, 12, load(1e6, 1e3, 1.0, 0.0)).0, 12);
        assert_eq!(desired_shards(10, 2, 12, load(1.0, 1e3, 0.001, 0.0)).0, 2);
        // Behind by more than 10 s: never fewer shards.
        assert_eq!(desired_shards(10, 1, 50, load(1.0, 1e3, 0.001, 11.0)).0, 10);
        // Nothing sent yet: no opinion.
        assert_eq!(desired_shards(3, 1, 50, load(1e4, 0.0, 0.0, 100.0)).0, 3);
    }
}
