//! Protocol buffer messages Vane speaks.
//!
//! * [`prompb`]: Prometheus remote write 1.0 (`prometheus.WriteRequest`) and remote read
//!   (`ReadRequest`, `ReadResponse`, `ChunkedReadResponse`), wire-identical to the published
//!   `prompb/types.proto` and `prompb/remote.proto` (package `prometheus`).
//!
//! The messages are declared with `prost`'s derive macros, field numbers and types as the
//! protocol fixes them; the tests below check encodings byte for byte.

pub mod prompb;

pub use prost::Message;
