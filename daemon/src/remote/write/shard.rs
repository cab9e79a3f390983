//! Shards: each sends the samples of the series routed to it (by series id), one batch at a
//! time and in the order they were queued, so every series' samples arrive in order. A batch
//! goes out when it holds `max_samples_per_send` samples or when `batch_send_deadline` has
//! passed since the shard last sent. Recoverable failures are retried with exponential
//! backoff (`min_backoff` doubling up to `max_backoff`, or the `Retry-After` asked for) until
//! they succeed or the queue is stopped; other failures drop the batch (counted and logged).
//! Either way the batch's samples are then reported done to the [`Tracker`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::runtime::Handle;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::client::{ClientSlot, SendError};
use super::metrics::Metrics;
use super::position::Tracker;
use super::request::{Item, RequestEncoder};

/// What the shards share with each other and with the scaling calculation.
pub struct ShardCtx {
    pub client: ClientSlot,
    pub tracker: Arc<Tracker>,
    pub metrics: Arc<Metrics>,
    pub stats: Arc<Stats>,
    pub max_samples: usize,
    pub deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// `remote_name`, for logs.
    pub name: String,
}

/// Counters for the scaling calculation (taken and reset every period).
#[derive(Default)]
pub struct Stats {
    /// Samples queued from the WAL.
    pub samples_in: AtomicU64,
    /// Samples whose batch finished (sent or refused).
    pub samples_out: AtomicU64,
    /// Time spent sending those batches.
    pub send_nanos: AtomicU64,
    /// Wall-clock ms of the last successful send.
    pub last_success_ms: AtomicI64,
    /// Newest sample time sent (ms).
    pub highest_sent_ms: AtomicI64,
    /// No resharding before this wall-clock ms (set while retrying).
    pub no_reshard_until_ms: AtomicI64,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct ShardQueue {
    tx: mpsc::UnboundedSender<Vec<Item>>,
    room: Arc<Semaphore>,
}

/// The running shards of a queue.
pub struct ShardSet {
    queues: Vec<ShardQueue>,
    tasks: Vec<JoinHandle<()>>,
    capacity: usize,
}

impl ShardSet {
    /// Starts `n` shards, each buffering up to `capacity` queued samples.
    pub fn start(
        n: usize,
        capacity: usize,
        ctx: &Arc<ShardCtx>,
        hard: &CancellationToken,
        rt: &Handle,
    ) -> ShardSet {
        let mut queues = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        for id in 0..n {
            let (tx, rx) = mpsc::unbounded_channel();
            let room = Arc::new(Semaphore::new(capacity));
            tasks.push(rt.spawn(run_shard(id, rx, room.clone(), ctx.clone(), hard.clone())));
            queues.push(ShardQueue { tx, room });
        }
        ctx.metrics.shards.set(n as f64);
        ShardSet {
            queues,
            tasks,
            capacity,
        }
    }

    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Queues `items` on shard `i`, waiting (blocking the calling thread) while the shard is
    /// full. False when `hard` was cancelled meanwhile.
    pub fn send(
        &self,
        i: usize,
        mut items: Vec<Item>,
        rt: &Handle,
        hard: &CancellationToken,
    ) -> bool {
        let q = &self.queues[i];
        while !items.is_empty() {
            let rest = if items.len() > self.capacity {
                items.split_off(self.capacity)
            } else {
                Vec::new()
            };
            let n = items.len() as u32;
            match q.room.try_acquire_many(n) {
                Ok(p) => p.forget(),
                Err(_) => {
                    let got = rt.block_on(async {
                        tokio::select! {
                            p = q.room.acquire_many(n) => p.ok(),
                            _ = hard.cancelled() => None,
                        }
                    });
                    match got {
                        Some(p) => p.forget(),
                        None => return false,
                    }
                }
            }
            if q.tx.send(items).is_err() {
                return false;
            }
            items = rest;
        }
        true
    }

    /// Closes the queues and waits (blocking) until every shard has sent what it holds, or
    /// stopped because `hard` was cancelled.
    pub fn close(self, rt: &Handle) {
        drop(self.queues);
        for t in self.tasks {
            let _ = rt.block_on(t);
        }
    }
}

async fn run_shard(
    id: usize,
    mut rx: mpsc::UnboundedReceiver<Vec<Item>>,
    room: Arc<Semaphore>,
    ctx: Arc<ShardCtx>,
    hard: CancellationToken,
) {
    let max = ctx.max_samples;
    let mut buf: Vec<Item> = Vec::with_capacity(max);
    let mut enc = RequestEncoder::new();
    let mut runs = Vec::new();
    let mut next_send = tokio::time::Instant::now() + ctx.deadline;
    loop {
        while buf.len() >= max {
            if !send_batch(id, &buf[..max], &ctx, &mut enc, &mut runs, &hard).await {
                return;
            }
            buf.drain(..max);
            next_send = tokio::time::Instant::now() + ctx.deadline;
        }
        tokio::select! {
            biased;
            _ = hard.cancelled() => return,
            m = rx.recv() => match m {
                Some(items) => {
                    room.add_permits(items.len());
                    buf.extend(items);
                }
                None => {
                    // The queue is closing: send everything left.
                    while !buf.is_empty() {
                        let k = buf.len().min(max);
                        if !send_batch(id, &buf[..k], &ctx, &mut enc, &mut runs, &hard).await {
                            return;
                        }
                        buf.drain(..k);
                    }
                    return;
                }
            },
            _ = tokio::time::sleep_until(next_send) => {
                if !buf.is_empty() {
                    if !send_batch(id, &buf, &ctx, &mut enc, &mut runs, &hard).await {
                        return;
                    }
                    buf.clear();
                }
                next_send = tokio::time::Instant::now() + ctx.deadline;
            }
        }
    }
}

/// The wait before the retry after one that waited `slept`: twice as long, within
/// `[min, max]`.
pub fn next_backoff(slept: Duration, min: Duration, max: Duration) -> Duration {
    (slept * 2).min(max).max(min)
}

/// Sends one batch until it succeeds or fails for good. False when cancelled (the batch is
/// then not reported done: it is sent again after a restart).
async fn send_batch(
    shard: usize,
    batch: &[Item],
    ctx: &ShardCtx,
    enc: &mut RequestEncoder,
    runs: &mut Vec<(u64, u64)>,
    hard: &CancellationToken,
) -> bool {
    let n = batch.len() as u64;
    let started = Instant::now();
    let e = enc.encode(batch);
    let (body, highest) = (e.body, e.highest);
    let mut backoff = ctx.min_backoff;
    let mut attempt = 0u32;
    loop {
        let client = ctx.client.get();
        let r = tokio::select! {
            biased;
            _ = hard.cancelled() => return false,
            r = client.store(body, attempt) => r,
        };
        match r {
            Ok(()) => {
                ctx.metrics.samples_total.add(n);
                let sent = ctx
                    .stats
                    .highest_sent_ms
                    .fetch_max(highest, Ordering::Relaxed)
                    .max(highest);
                ctx.metrics.highest_sent.set(sent as f64 / 1000.0);
                ctx.stats.last_success_ms.store(now_ms(), Ordering::Relaxed);
                if attempt > 0 {
                    tracing::info!(remote_name = %ctx.name, shard, attempts = attempt + 1, "remote write batch sent after retries");
                }
                break;
            }
            Err(SendError::Permanent(message)) => {
                ctx.metrics.samples_failed.add(n);
                tracing::error!(remote_name = %ctx.name, shard, samples = n, error = %message, "remote write batch refused; its samples are dropped");
                break;
            }
            Err(SendError::Recoverable {
                message,
                retry_after,
            }) => {
                let sleep = retry_after.unwrap_or(backoff);
                // Resharding would only add load while the destination struggles.
                let until = now_ms() + 2 * sleep.as_millis() as i64;
                ctx.stats
                    .no_reshard_until_ms
                    .fetch_max(until, Ordering::Relaxed);
                if attempt.is_multiple_of(20) {
                    tracing::warn!(remote_name = %ctx.name, shard, samples = n, attempt, retry_in_ms = sleep.as_millis() as u64, error = %message, "remote write failed; retrying");
                }
                tokio::select! {
                    biased;
                    _ = hard.cancelled() => return false,
                    _ = tokio::time::sleep(sleep) => {}
                }
                ctx.metrics.samples_retried.add(n);
                backoff = next_backoff(sleep, ctx.min_backoff, ctx.max_backoff);
                attempt = attempt.saturating_add(1);
            }
        }
    }
    let elapsed = started.elapsed();
    ctx.metrics.bytes_total.add(body.len() as u64);
    ctx.metrics.batch_duration.observe(elapsed.as_secs_f64());
    ctx.metrics.samples_pending.add(-(n as f64));
    ctx.stats.samples_out.fetch_add(n, Ordering::Relaxed);
    ctx.stats
        .send_nanos
        .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    runs.clear();
    for it in batch {
        match runs.last_mut() {
            Some((seq, k)) if *seq == it.seq => *k += 1,
            _ => runs.push((it.seq, 1)),
        }
    }
    ctx.tracker.done(runs);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let (min, max) = (Duration::from_millis(30), Duration::from_secs(5));
        let mut d = min;
        let mut seen = vec![d];
        for _ in 0..10 {
            d = next_backoff(d, min, max);
            seen.push(d);
        }
        let ms: Vec<u128> = seen.iter().map(|d| d.as_millis()).collect();
        assert_eq!(
            ms,
            [30, 60, 120, 240, 480, 960, 1920, 3840, 5000, 5000, 5000]
        );
        // After a long Retry-After the next wait falls back under the maximum.
        assert_eq!(next_backoff(Duration::from_secs(30), min, max), max);
    }
}
