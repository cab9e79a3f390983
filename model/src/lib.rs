//! Vane's data model, shared by every other crate.
//!
//! * [`Labels`]: a sorted, immutable, cheaply cloned label set. Label strings are
//!   [`LabelStr`]s (shared, one word wide), so a store that interns its strings hands them
//!   out without copying.
//! * [`Matcher`]: the four PromQL label matchers with fully anchored regexes.
//! * Samples and time: timestamps are `i64` milliseconds since the Unix epoch, values are
//!   `f64`; [`STALE_NAN_BITS`] is the staleness marker.
//! * [`storage`]: the `Appendable`/`Appender` and `Queryable`/`Querier` traits through which
//!   the scraper writes and PromQL reads, so neither names the concrete store.
//! * [`metrics`]: lock-free counters, gauges and histograms for the daemon's own `/metrics`.
//! * [`duration`]: Prometheus duration strings (`1h30m`, `15d`).
//! * [`size`]: byte sizes with units (`512MB`, `1.5GiB`), as Prometheus reads them.

pub mod duration;
pub mod labels;
pub mod matcher;
pub mod metrics;
pub mod sample;
pub mod size;
pub mod storage;

pub use labels::{Label, LabelStr, Labels, LabelsBuilder, METRIC_NAME, stable_hash_of};
pub use matcher::{MatchType, Matcher};
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
pub use storage::{
    Appendable, Appender, Error, Querier, Queryable, SampleIterator, SelectHints, Series, SeriesRef,
};
