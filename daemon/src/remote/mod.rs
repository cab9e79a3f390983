//! Scale-out: Prometheus remote write.
//!
//! * [`write`](mod@write): remote write *out* — samples read from the WAL are sent to the `remote_write`
//!   destinations of the configuration, resuming after outages and restarts from a persisted
//!   position.

pub mod write;
