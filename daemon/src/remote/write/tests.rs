//! A queue over a real store, sending to a receiver served in the test: order per series,
//! batch limits, retries and drops, and resuming from the saved position.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use model::Labels;
use model::metrics::Registry;
use proto::Message;
use proto::prompb::WriteRequest;
use tsdb::{Db, DbOptions};

use super::client::{Client, ClientSlot};
use super::config::RemoteWriteConfig;
use super::metrics::Metrics;
use super::queue::{Queue, QueueParams};

/// What the receiver saw, and the statuses it answers with (200 once they run out).
#[derive(Default)]
struct Seen {
    requests: Vec<WriteRequest>,
    headers: Vec<HeaderMap>,
    statuses: VecDeque<u16>,
}

struct Receiver {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

async fn write(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    let req = WriteRequest::decode(&raw[..]).unwrap();
    let mut s = seen.lock().unwrap();
    let status = s.statuses.pop_front().unwrap_or(200);
    if status == 200 {
        s.requests.push(req);
        s.headers.push(headers);
    }
    StatusCode::from_u16(status).unwrap()
}

async fn receiver() -> Receiver {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = axum::Router::new()
        .route("/write", axum::routing::post(write))
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/write", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    Receiver { url, seen }
}

impl Receiver {
    /// (series name label `i`, timestamp) of every sample received, in arrival order.
    fn samples(&self) -> Vec<(String, i64)> {
        let s = self.seen.lock().unwrap();
        s.requests
            .iter()
            .flat_map(|r| &r.timeseries)
            .flat_map(|ts| {
                let i = ts
                    .labels
                    .iter()
                    .find(|l| l.name == "i")
                    .map(|l| l.value.clone())
                    .unwrap_or_default();
                ts.samples.iter().map(move |s| (i.clone(), s.timestamp))
            })
            .collect()
    }
}

fn config(url: &str, yaml: &str) -> RemoteWriteConfig {
    let c: RemoteWriteConfig =
        yaml_serde::from_str(&format!("url: {url}\nname: test\n{yaml}")).unwrap();
    super::config::validate(std::slice::from_ref(&c)).unwrap();
    c
}

fn start(db: &Db, c: RemoteWriteConfig, reg: &Registry) -> Queue {
    let head = db.head().clone();
    let params = QueueParams {
        dir: db.dir().join("remote").join(c.key()),
        external_labels: vec![("region".into(), "eu".into())],
        wal_dir: head.dir().join("wal"),
        client: ClientSlot::new(Client::new(&c).unwrap()),
        metrics: Arc::new(Metrics::new(reg, &c.remote_name(), &c.redacted_url())),
        newest: Arc::new(move || head.max_time()),
        config: c,
    };
    Queue::start(params, &tokio::runtime::Handle::current())
}

/// One commit per timestamp (as one scrape), `series` series `i="0"..`.
fn append(db: &Db, series: usize, ts: std::ops::Range<i64>) {
    for t in ts {
        let mut app = db.appender();
        for i in 0..series {
            let l = Labels::from_pairs([("__name__", "m".to_string()), ("i", i.to_string())]);
            app.append(None, &l, t * 1000, t as f64).unwrap();
        }
        app.commit().unwrap();
    }
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn metric(reg: &Registry, name: &str) -> f64 {
    let text = reg.render();
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && l.contains("remote_name=\"test\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Every series' timestamps in arrival order, and whether each is strictly increasing.
fn per_series(samples: &[(String, i64)]) -> BTreeMap<String, Vec<i64>> {
    let mut m: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (i, t) in samples {
        m.entry(i.clone()).or_default().push(*t);
    }
    m
}

fn open_db(dir: &Path) -> Arc<Db> {
    Db::open(dir, DbOptions::default(), &Registry::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_arrive_in_order_per_series_in_bounded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir.path().join("data"));
    let rx = receiver().await;
    let reg = Registry::new();
    let c = config(
        &rx.url,
        "queue_config:\n  min_shards: 4\n  max_shards: 4\n  max_samples_per_send: 7\n  batch_send_deadline: 50ms\n",
    );
    let key = c.key();
    let q = start(&db, c, &reg);
    let pos = db.dir().join("remote").join(&key).join("position");
    wait_for("the queue to start", || pos.exists()).await;
    append(&db, 40, 1..31);
    wait_for("every sample", || rx.samples().len() >= 1200).await;
    assert_eq!(metric(&reg, "vane_remote_storage_shards"), 4.0);
    q.stop(Duration::from_secs(5)).await;
    let got = per_series(&rx.samples());
    assert_eq!(got.len(), 40);
    for ts in got.values() {
        assert_eq!(ts, &(1..31).map(|t| t * 1000).collect::<Vec<_>>());
    }
    let seen = rx.seen.lock().unwrap();
    for r in &seen.requests {
        assert!(r.timeseries.iter().map(|t| t.samples.len()).sum::<usize>() <= 7);
        for ts in &r.timeseries {
            let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(
                names,
                ["__name__", "i", "region"],
                "sorted, external label added"
            );
        }
    }
    let h = &seen.headers[0];
    assert_eq!(h["content-encoding"], "snappy");
    assert_eq!(h["content-type"], "application/x-protobuf");
    assert_eq!(h["x-prometheus-remote-write-version"], "0.1.0");
    assert!(h["user-agent"].to_str().unwrap().starts_with("Vane/"));
    drop(seen);
    assert_eq!(metric(&reg, "vane_remote_storage_samples_total"), 1200.0);
    assert_eq!(metric(&reg, "vane_remote_storage_samples_pending"), 0.0);
    assert_eq!(metric(&reg, "vane_remote_storage_shards"), 0.0, "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recoverable_errors_are_retried_and_others_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir.path().join("data"));
    let rx = receiver().await;
    rx.seen.lock().unwrap().statuses = [503, 500, 429].into_iter().collect();
    let reg = Registry::new();
    let c = config(
        &rx.url,
        "queue_config:\n  max_samples_per_send: 10\n  batch_send_deadline: 20ms\n  min_backoff: 10ms\n  max_backoff: 40ms\n  retry_on_http_429: true\n",
    );
    let key = c.key();
    let q = start(&db, c, &reg);
    let pos = db.dir().join("remote").join(&key).join("position");
    wait_for("the queue to start", || pos.exists()).await;
    append(&db, 10, 1..2);
    wait_for("the retried batch", || rx.samples().len() == 10).await;
    assert_eq!(
        metric(&reg, "vane_remote_storage_samples_retried_total"),
        30.0
    );
    // A 400 drops the batch for good; later samples still go out.
    rx.seen.lock().unwrap().statuses = [400].into_iter().collect();
    append(&db, 10, 2..3);
    wait_for("the failure", || {
        metric(&reg, "vane_remote_storage_samples_failed_total") == 10.0
    })
    .await;
    append(&db, 10, 3..4);
    wait_for("the next batch", || rx.samples().len() == 20).await;
    q.stop(Duration::from_secs(5)).await;
    let got = per_series(&rx.samples());
    assert!(got.values().all(|ts| ts == &[1000, 3000]), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_queue_resumes_after_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rx = receiver().await;
    let reg = Registry::new();
    let c = config(
        &rx.url,
        "queue_config:\n  max_samples_per_send: 50\n  batch_send_deadline: 20ms\n",
    );
    let pos = data.join("remote").join(c.key()).join("position");
    {
        let db = open_db(&data);
        let q = start(&db, c.clone(), &reg);
        wait_for("the queue to start", || pos.exists()).await;
        append(&db, 5, 1..41);
        wait_for("the first samples", || rx.samples().len() == 200).await;
        q.stop(Duration::from_secs(5)).await;
        // Written while no queue runs (the destination was being reconfigured, or Vane
        // was down after this).
        append(&db, 5, 41..61);
        db.close().unwrap();
    }
    // A new process: the WAL is replayed and a new segment started.
    let db = open_db(&data);
    append(&db, 5, 61..71);
    let q = start(&db, c, &reg);
    wait_for("the rest", || rx.samples().len() >= 350).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    q.stop(Duration::from_secs(5)).await;
    let got = per_series(&rx.samples());
    for ts in got.values() {
        assert_eq!(
            ts,
            &(1..71).map(|t| t * 1000).collect::<Vec<_>>(),
            "no gaps, no repeats"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_in_deleted_segments_resumes_at_the_oldest_data_and_counts_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut opts = DbOptions::default();
    opts.head.wal.segment_size = 4 << 10;
    let db = Db::open(&data, opts, &Registry::new()).unwrap();
    let rx = receiver().await;
    let reg = Registry::new();
    let c = config(
        &rx.url,
        "queue_config:\n  max_samples_per_send: 50\n  batch_send_deadline: 20ms\n",
    );
    let pos = data.join("remote").join(c.key()).join("position");
    let q = start(&db, c.clone(), &reg);
    wait_for("the queue to start", || pos.exists()).await;
    append(&db, 5, 1..11);
    wait_for("the first samples", || rx.samples().len() == 50).await;
    q.stop(Duration::from_secs(5)).await;
    // While the destination is not configured, many segments are written and the head is
    // truncated: the oldest two thirds of the segments go.
    append(&db, 5, 11..400);
    db.head().truncate(0).unwrap();
    let q = start(&db, c, &reg);
    wait_for("the rest of the WAL", || {
        rx.samples().last().is_some_and(|s| s.1 == 399_000)
    })
    .await;
    q.stop(Duration::from_secs(5)).await;
    assert_eq!(metric(&reg, "vane_remote_storage_wal_gaps_total"), 1.0);
    assert!(metric(&reg, "vane_remote_storage_wal_segments_skipped_total") > 1.0);
    let got = per_series(&rx.samples());
    for ts in got.values() {
        // The start, then a gap, then everything from the oldest segment left, in order.
        assert_eq!(
            &ts[..10],
            &(1..11).map(|t| t * 1000).collect::<Vec<_>>()[..]
        );
        assert!(ts[10] > 11_000, "{ts:?}");
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(*ts.last().unwrap(), 399_000);
    }
}
