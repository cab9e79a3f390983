//! `vane_remote_storage_*`: per destination, labelled `remote_name` and `url` as
//! Prometheus labels its `prometheus_remote_storage_*` metrics.

use std::sync::Arc;

use model::metrics::{Counter, Gauge, Histogram, Registry};

/// Why samples were not sent (the `reason` label of `samples_dropped_total`).
#[derive(Debug, Clone, Copy)]
pub enum DropReason {
    /// `write_relabel_configs` dropped the series.
    DroppedSeries,
    /// No series record defined the sample's series.
    UnknownSeries,
    /// Older than `sample_age_limit`.
    TooOld,
    /// Not newer than the series' previous sample: the head refused it too.
    OutOfOrder,
}

pub struct Metrics {
    pub samples_pending: Arc<Gauge>,
    pub samples_total: Arc<Counter>,
    pub samples_failed: Arc<Counter>,
    pub samples_retried: Arc<Counter>,
    dropped: [Arc<Counter>; 4],
    pub bytes_total: Arc<Counter>,
    pub shards: Arc<Gauge>,
    pub shards_min: Arc<Gauge>,
    pub shards_max: Arc<Gauge>,
    pub shards_desired: Arc<Gauge>,
    pub shard_capacity: Arc<Gauge>,
    pub highest_sent: Arc<Gauge>,
    pub highest_read: Arc<Gauge>,
    pub batch_duration: Arc<Histogram>,
    pub wal_gaps: Arc<Counter>,
    pub wal_segments_skipped: Arc<Counter>,
    pub wal_read_errors: Arc<Counter>,
    pub position_segment: Arc<Gauge>,
    pub position_write_failures: Arc<Counter>,
}

const BATCH_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0, 300.0,
];

impl Metrics {
    pub fn new(r: &Registry, name: &str, url: &str) -> Metrics {
        let l = &["remote_name", "url"];
        let v = &[name, url];
        let counter = |n: &str, h: &str| r.counter_vec(n, h, l).with(v);
        let gauge = |n: &str, h: &str| r.gauge_vec(n, h, l).with(v);
        let dropped = r.counter_vec(
            "vane_remote_storage_samples_dropped_total",
            "Samples read from the WAL and not sent, by reason.",
            &["remote_name", "url", "reason"],
        );
        let reason = |why: &str| dropped.with(&[name, url, why]);
        Metrics {
            samples_pending: gauge(
                "vane_remote_storage_samples_pending",
                "Samples queued in the shards and not yet sent or dropped.",
            ),
            samples_total: counter(
                "vane_remote_storage_samples_total",
                "Samples sent to and acknowledged by the destination.",
            ),
            samples_failed: counter(
                "vane_remote_storage_samples_failed_total",
                "Samples the destination refused with a non-recoverable error (dropped).",
            ),
            samples_retried: counter(
                "vane_remote_storage_samples_retried_total",
                "Samples sent again after a recoverable error.",
            ),
            dropped: [
                reason("dropped_series"),
                reason("unintentionally_dropped_series"),
                reason("too_old"),
                reason("out_of_order"),
            ],
            bytes_total: counter(
                "vane_remote_storage_bytes_total",
                "Compressed bytes of request bodies sent, once per batch.",
            ),
            shards: gauge("vane_remote_storage_shards", "Shards sending in parallel."),
            shards_min: gauge(
                "vane_remote_storage_shards_min",
                "The least number of shards (queue_config.min_shards).",
            ),
            shards_max: gauge(
                "vane_remote_storage_shards_max",
                "The most shards (queue_config.max_shards).",
            ),
            shards_desired: gauge(
                "vane_remote_storage_shards_desired",
                "Shards the last scaling calculation asked for, before rounding and limits.",
            ),
            shard_capacity: gauge(
                "vane_remote_storage_shard_capacity",
                "Samples each shard buffers before reading the WAL pauses.",
            ),
            highest_sent: gauge(
                "vane_remote_storage_queue_highest_sent_timestamp_seconds",
                "Newest sample time successfully sent, in seconds since the epoch (0 before the first).",
            ),
            highest_read: gauge(
                "vane_remote_storage_queue_highest_timestamp_seconds",
                "Newest sample time queued from the WAL, in seconds since the epoch.",
            ),
            batch_duration: r
                .histogram_vec(
                    "vane_remote_storage_sent_batch_duration_seconds",
                    "Duration of sending a batch, retries included.",
                    l,
                    BATCH_BUCKETS,
                )
                .with(v),
            wal_gaps: counter(
                "vane_remote_storage_wal_gaps_total",
                "Times samples could not be read from the WAL (segments deleted by truncation before they were sent, or damaged); each is logged.",
            ),
            wal_segments_skipped: counter(
                "vane_remote_storage_wal_segments_skipped_total",
                "WAL segments deleted before they were read.",
            ),
            wal_read_errors: counter(
                "vane_remote_storage_wal_read_errors_total",
                "Errors reading the WAL (retried).",
            ),
            position_segment: gauge(
                "vane_remote_storage_position_segment",
                "WAL segment of the send position: every sample before it has been dealt with.",
            ),
            position_write_failures: counter(
                "vane_remote_storage_position_write_failures_total",
                "Failed writes of the position file (retried with the next position).",
            ),
        }
    }

    pub fn dropped(&self, why: DropReason, n: u64) {
        if n > 0 {
            self.dropped[why as usize].add(n);
        }
    }
}
