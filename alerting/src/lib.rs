//! Recording and alerting rules, alert state and notification delivery.
//!
//! Not implemented yet. Query capability will be injected as a trait so the same rules can run
//! against the local store or a remote Prometheus API.
