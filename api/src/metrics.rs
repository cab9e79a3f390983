//! The API's own metrics.

use model::metrics::{CounterVec, HistogramVec, Registry};

/// Queries served, by endpoint and outcome, and how long they took.
pub(crate) struct ApiMetrics {
    /// `vane_api_queries_total{endpoint, result}`: result is `success` or an error type.
    pub queries: CounterVec,
    /// `vane_api_query_duration_seconds{endpoint}`: from the request to the encoded answer.
    pub duration: HistogramVec,
}

impl ApiMetrics {
    pub fn new(reg: &Registry) -> ApiMetrics {
        ApiMetrics {
            queries: reg.counter_vec(
                "vane_api_queries_total",
                "PromQL queries answered, by endpoint (query, query_range) and result (success or the error type).",
                &["endpoint", "result"],
            ),
            duration: reg.histogram_vec(
                "vane_api_query_duration_seconds",
                "Time to evaluate and encode a PromQL query, by endpoint.",
                &["endpoint"],
                &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0],
            ),
        }
    }
}
