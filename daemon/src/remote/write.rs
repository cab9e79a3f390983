//! Remote write out: samples stored by Vane are sent to the configuration's `remote_write`
//! destinations as Prometheus sends them (remote write 1.0), read back from the WAL, so a
//! destination that is down, or a Vane that restarts (even killed), loses nothing that is
//! still in the WAL.
//!
//! Per destination, a `queue`: a reader thread follows the WAL ([`tsdb::wal::WalWatcher`]),
//! gives each series its outgoing labels (`series`: external labels, then
//! `write_relabel_configs`) and routes samples to `shard`s by series id; each shard batches
//! (`request`: protobuf, snappy) and sends ([`client`]), retrying recoverable errors. The
//! `position` up to which every sample has been dealt with is saved in
//! `<data>/remote/<destination key>/position` as acknowledgements arrive, and a restart
//! resumes just after it. What is and is not guaranteed is written down in `docs/remote.md`
//! ("Sending: remote_write").
//!
//! [`RemoteWrite::apply`] starts, keeps or restarts queues on every configuration (re)load:
//! an unchanged destination keeps running; a changed one is stopped (sending what it holds)
//! and started again from its saved position.

pub mod client;
pub mod config;
mod metrics;
mod position;
mod queue;
mod request;
mod series;
mod shard;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use model::metrics::Registry;
use tokio::runtime::Handle;
use tokio::task::{JoinHandle, JoinSet};

pub use config::RemoteWriteConfig;
use queue::{Queue, QueueParams};

/// How long applying a configuration waits for a new queue to open the WAL.
const OPEN_LIMIT: Duration = Duration::from_secs(30);

/// One running destination and the settings it was started with.
struct Running {
    config: RemoteWriteConfig,
    external: Vec<(String, String)>,
    client: client::ClientSlot,
    queue: Queue,
}

/// The remote write side of the daemon: one queue per destination.
pub struct RemoteWrite {
    wal_dir: PathBuf,
    /// `<data>/remote`.
    dir: PathBuf,
    registry: Arc<Registry>,
    rt: Handle,
    flush_deadline: Duration,
    newest: Arc<dyn Fn() -> i64 + Send + Sync>,
    running: Arc<tokio::sync::Mutex<Vec<Running>>>,
    /// Configuration changes being applied (stopping and starting queues).
    transitions: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl RemoteWrite {
    /// Remote write over the WAL of `storage` (the full store's or agent storage's).
    /// `flush_deadline` bounds how long a stopping queue may go on sending what it holds.
    pub fn new(
        storage: &crate::storage::Storage,
        registry: Arc<Registry>,
        rt: Handle,
        flush_deadline: Duration,
    ) -> RemoteWrite {
        RemoteWrite {
            wal_dir: storage.wal_dir(),
            dir: storage.dir().join("remote"),
            registry,
            rt,
            flush_deadline,
            newest: storage.newest(),
            running: Arc::new(tokio::sync::Mutex::new(Vec::new())),
            transitions: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Sends to `configs` from now on. Every destination's HTTP client is built first, so a
    /// configuration that cannot be used changes nothing; then queues whose settings (or the
    /// external labels) changed or that were removed are stopped, and new ones started, in
    /// the background.
    pub fn apply(
        &self,
        configs: &[RemoteWriteConfig],
        external_labels: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let mut wanted = Vec::with_capacity(configs.len());
        for (i, c) in configs.iter().enumerate() {
            let client = client::Client::new(c).map_err(|e| format!("remote_write[{i}]: {e}"))?;
            wanted.push((c.clone(), client));
        }
        let external: Vec<(String, String)> = external_labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let running = self.running.clone();
        let (wal_dir, dir, registry, newest, rt, deadline) = (
            self.wal_dir.clone(),
            self.dir.clone(),
            self.registry.clone(),
            self.newest.clone(),
            self.rt.clone(),
            self.flush_deadline,
        );
        let task = self.rt.spawn(async move {
            let mut running = running.lock().await;
            let mut kept = Vec::new();
            let mut stopping = JoinSet::new();
            for r in running.drain(..) {
                if r.external == external && wanted.iter().any(|(c, _)| *c == r.config) {
                    kept.push(r);
                } else {
                    stopping.spawn(r.queue.stop(deadline));
                }
            }
            // A changed destination starts again from the position its old queue saved when
            // it stopped, so it must have stopped first.
            while stopping.join_next().await.is_some() {}
            for (c, client) in wanted {
                if let Some(i) = kept.iter().position(|r| r.config == c) {
                    // Unchanged: it goes on, with the client built now (TLS files read again).
                    let r = kept.swap_remove(i);
                    r.client.set(client);
                    running.push(r);
                    continue;
                }
                let client = client::ClientSlot::new(client);
                let metrics = Arc::new(metrics::Metrics::new(
                    &registry,
                    &c.remote_name(),
                    &c.redacted_url(),
                ));
                let params = QueueParams {
                    dir: dir.join(c.key()),
                    config: c.clone(),
                    external_labels: external.clone(),
                    wal_dir: wal_dir.clone(),
                    client: client.clone(),
                    metrics,
                    newest: newest.clone(),
                };
                running.push(Running {
                    config: c,
                    external: external.clone(),
                    client,
                    queue: Queue::start(params, &rt),
                });
            }
            // New queues fix their start in the WAL before the change counts as applied.
            for r in running.iter_mut() {
                r.queue.opened(OPEN_LIMIT).await;
            }
            tracing::info!(destinations = running.len(), "remote write configured");
        });
        self.track(task);
        Ok(())
    }

    fn track(&self, task: JoinHandle<()>) {
        let mut t = self.transitions.lock().expect("transitions lock");
        t.retain(|h| !h.is_finished());
        t.push(task);
    }

    /// Waits until every configuration change applied so far has taken effect: changed
    /// destinations stopped, new ones started with their start in the WAL fixed. Called at
    /// start-up before ingestion begins, so a new destination misses nothing written after.
    pub async fn settled(&self) {
        let pending = std::mem::take(&mut *self.transitions.lock().expect("transitions lock"));
        for t in pending {
            let _ = t.await;
        }
    }

    /// The first WAL segment some destination still needs (see
    /// [`Queue::needed_segment`]; a destination whose position is not known yet needs them
    /// all), or `None` without destinations. Agent storage truncates the WAL before it.
    pub async fn needed_from(&self) -> Option<u32> {
        self.running
            .lock()
            .await
            .iter()
            .map(|r| r.queue.needed_segment().unwrap_or(0))
            .min()
    }

    /// Stops every queue: each sends what the WAL holds until the flush deadline, then saves
    /// its position.
    pub async fn stop(&self) {
        self.settled().await;
        let mut running = self.running.lock().await;
        let mut set = JoinSet::new();
        for r in running.drain(..) {
            set.spawn(r.queue.stop(self.flush_deadline));
        }
        while set.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests;
