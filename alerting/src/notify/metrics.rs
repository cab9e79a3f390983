//! The notifier's own metrics: Prometheus's `prometheus_notifications_*` under Vane names, and
//! per-receiver counters for webhooks.

use std::sync::Arc;

use model::metrics::{Counter, CounterVec, Gauge, HistogramVec, Registry};

pub(super) struct NotifyMetrics {
    /// Alerts an Alertmanager accepted.
    pub sent: CounterVec,
    /// Alerts in requests that failed.
    pub errors: CounterVec,
    /// Alerts dropped: queue overflow, failed requests, queues left at shutdown.
    pub dropped: Arc<Counter>,
    pub latency: HistogramVec,
    pub queue_capacity: Arc<Gauge>,
    /// Notifications a webhook accepted.
    pub webhook_sent: CounterVec,
    /// Notifications given up: a status that is not retried, or no success before the group's
    /// next notification was due.
    pub webhook_failed: CounterVec,
    /// Requests repeated after a failure.
    pub webhook_retries: CounterVec,
}

impl NotifyMetrics {
    /// Registers the metrics; `queue_length` and `discovered` are read when `/metrics` is
    /// rendered.
    pub fn new(
        r: &Registry,
        queue_length: impl Fn() -> f64 + Send + Sync + 'static,
        discovered: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Self {
        const AM: &[&str] = &["alertmanager"];
        const RECEIVER: &[&str] = &["receiver"];
        r.gauge_fn(
            "vane_notifications_queue_length",
            "The number of alert notifications in the queue (the longest of the per-Alertmanager queues).",
            queue_length,
        );
        r.gauge_fn(
            "vane_notifications_alertmanagers_discovered",
            "The number of alertmanagers discovered and active.",
            discovered,
        );
        NotifyMetrics {
            sent: r.counter_vec(
                "vane_notifications_sent_total",
                "Total number of alerts sent.",
                AM,
            ),
            errors: r.counter_vec(
                "vane_notifications_errors_total",
                "Total number of sent alerts affected by errors.",
                AM,
            ),
            dropped: r.counter(
                "vane_notifications_dropped_total",
                "Total number of alerts dropped due to errors when sending to Alertmanager.",
            ),
            latency: r.histogram_vec(
                "vane_notifications_latency_seconds",
                "Latency of sending alert notifications to Alertmanager.",
                AM,
                &[0.01, 0.1, 1.0, 10.0],
            ),
            queue_capacity: r.gauge(
                "vane_notifications_queue_capacity",
                "The capacity of the alert notifications queue.",
            ),
            webhook_sent: r.counter_vec(
                "vane_notifications_webhook_sent_total",
                "Total number of notifications a webhook receiver accepted.",
                RECEIVER,
            ),
            webhook_failed: r.counter_vec(
                "vane_notifications_webhook_failed_total",
                "Total number of webhook notifications given up.",
                RECEIVER,
            ),
            webhook_retries: r.counter_vec(
                "vane_notifications_webhook_retries_total",
                "Total number of webhook requests repeated after a failure.",
                RECEIVER,
            ),
        }
    }
}
