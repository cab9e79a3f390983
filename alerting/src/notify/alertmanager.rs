//! Sending alerts to one Alertmanager: `POST` of a JSON array to its API v2, as Prometheus's
//! notifier does.
//!
//! Each Alertmanager has its own bounded queue and send loop (Prometheus's current design), so
//! one that is down or slow never holds back the others. The queue drops its oldest alerts
//! when full; the loop takes at most [`MAX_BATCH_SIZE`] alerts per request and does not retry:
//! the rule engine re-sends every active alert on its resend delay anyway.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use model::metrics::{Counter, Histogram};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::encode::{LabelsJson, api_time};
use super::metrics::NotifyMetrics;
use super::tasks::Tasks;
use super::{Alert, Endpoint, error_chain};

/// Most alerts in one request (Prometheus's `DefaultMaxBatchSize`).
pub(super) const MAX_BATCH_SIZE: usize = 256;

/// One Alertmanager: its queue and what its send loop needs.
pub(super) struct Sender {
    url: String,
    endpoint: RwLock<Endpoint>,
    queue: Mutex<VecDeque<Arc<Alert>>>,
    capacity: usize,
    work: Notify,
    stop: CancellationToken,
    sent: Arc<Counter>,
    errors: Arc<Counter>,
    dropped: Arc<Counter>,
    latency: Arc<Histogram>,
}

impl Sender {
    /// A sender whose loop is spawned on `tasks`.
    pub fn start(
        endpoint: Endpoint,
        capacity: usize,
        metrics: &NotifyMetrics,
        tasks: &Arc<Tasks>,
    ) -> Arc<Sender> {
        let url = endpoint.url.clone();
        let s = Arc::new(Sender {
            sent: metrics.sent.with(&[&url]),
            errors: metrics.errors.with(&[&url]),
            latency: metrics.latency.with(&[&url]),
            dropped: metrics.dropped.clone(),
            url,
            endpoint: RwLock::new(endpoint),
            queue: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            work: Notify::new(),
            stop: tasks.child_token(),
        });
        tasks.spawn(s.clone().run(tasks.clone()));
        s
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// New client settings for the same URL (a reload); the queue stays.
    pub fn update(&self, endpoint: Endpoint) {
        *self.endpoint.write() = endpoint;
    }

    /// Stops the loop; what is still queued is dropped (unless the notifier is shutting down,
    /// when it is sent within the grace period).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    pub fn queue_len(&self) -> usize {
        self.queue.lock().len()
    }

    /// Queues alerts, dropping the oldest ones beyond the capacity.
    pub fn add(&self, alerts: &[Arc<Alert>]) {
        if self.stop.is_cancelled() {
            return;
        }
        let mut dropped = 0;
        let alerts = if alerts.len() > self.capacity {
            dropped += alerts.len() - self.capacity;
            &alerts[alerts.len() - self.capacity..]
        } else {
            alerts
        };
        {
            let mut q = self.queue.lock();
            let over = (q.len() + alerts.len()).saturating_sub(self.capacity);
            if over > 0 {
                q.drain(..over);
                dropped += over;
            }
            q.extend(alerts.iter().cloned());
        }
        if dropped > 0 {
            self.dropped.add(dropped as u64);
            tracing::warn!(
                alertmanager = %self.url,
                dropped,
                "alert notification queue full, dropping the oldest alerts"
            );
        }
        self.work.notify_one();
    }

    fn next_batch(&self) -> Vec<Arc<Alert>> {
        let mut q = self.queue.lock();
        let n = q.len().min(MAX_BATCH_SIZE);
        q.drain(..n).collect()
    }

    async fn run(self: Arc<Self>, tasks: Arc<Tasks>) {
        'work: loop {
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => break,
                _ = self.work.notified() => {}
            }
            while !self.stop.is_cancelled() {
                let batch = self.next_batch();
                if batch.is_empty() {
                    break;
                }
                if !self.send_until_abandoned(&batch, &tasks).await {
                    break 'work;
                }
            }
        }
        // At shutdown the queue is sent until the grace period ends; a removed Alertmanager
        // drops it at once.
        if tasks.drain_deadline().is_some() {
            loop {
                let batch = self.next_batch();
                if batch.is_empty() || !self.send_until_abandoned(&batch, &tasks).await {
                    break;
                }
            }
        }
        let left = {
            let mut q = self.queue.lock();
            let n = q.len();
            q.clear();
            n
        };
        if left > 0 {
            self.dropped.add(left as u64);
            tracing::warn!(alertmanager = %self.url, dropped = left, "alert notifications not sent before stopping");
        }
    }

    /// Sends `batch` unless the sender stops first: at once when it was removed, at the end
    /// of the grace period when the notifier shuts down. False when abandoned.
    async fn send_until_abandoned(&self, batch: &[Arc<Alert>], tasks: &Tasks) -> bool {
        let abandon = async {
            self.stop.cancelled().await;
            if let Some(deadline) = tasks.drain_deadline() {
                tokio::time::sleep_until(deadline).await;
            }
        };
        tokio::select! {
            _ = self.send_batch(batch) => true,
            _ = abandon => {
                self.dropped.add(batch.len() as u64);
                false
            }
        }
    }

    /// One request with `batch`; failures are counted and logged, not retried.
    async fn send_batch(&self, batch: &[Arc<Alert>]) {
        let n = batch.len() as u64;
        let endpoint = self.endpoint.read().clone();
        let body = encode(batch);
        let begin = Instant::now();
        match post(&endpoint, body).await {
            Ok(()) => {
                self.latency.observe(begin.elapsed().as_secs_f64());
                self.sent.add(n);
            }
            Err(err) => {
                self.errors.add(n);
                self.dropped.add(n);
                tracing::error!(alertmanager = %self.url, count = n, %err, "error sending alerts");
            }
        }
    }
}

/// One alert of a `POST /api/v2/alerts` body (Alertmanager's `PostableAlert`). As Go's
/// encoder does for this type, empty annotations and an empty generator URL are left out;
/// `endsAt` is left out when unknown (Go would send the zero time, which Alertmanager reads as
/// unset too).
#[derive(Serialize)]
struct PostableAlert<'a> {
    labels: LabelsJson<'a>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt", skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
}

/// The JSON array of a request.
pub(super) fn encode(alerts: &[Arc<Alert>]) -> Vec<u8> {
    let body: Vec<PostableAlert<'_>> = alerts
        .iter()
        .map(|a| PostableAlert {
            labels: LabelsJson(&a.labels),
            annotations: &a.annotations,
            starts_at: api_time(a.starts_at),
            ends_at: a.ends_at.map(api_time),
            generator_url: &a.generator_url,
        })
        .collect();
    serde_json::to_vec(&body).expect("alerts serialize")
}

/// Posts `body`; any 2xx status is success.
async fn post(endpoint: &Endpoint, body: Vec<u8>) -> Result<(), String> {
    let mut req = endpoint
        .client
        .post(&endpoint.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if !endpoint.timeout.is_zero() {
        req = req.timeout(endpoint.timeout);
    }
    if let Some(authorize) = &endpoint.authorize {
        req = authorize(req)?;
    }
    let resp = req.send().await.map_err(|e| error_chain(&e))?;
    let status = resp.status();
    // Read the body so the connection can be reused.
    let _ = resp.bytes().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("bad response status {status}"))
    }
}
