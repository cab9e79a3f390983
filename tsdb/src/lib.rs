//! Vane's time-series store.
//!
//! Data flows: appends land in the [`head`] (in memory, logged to the [`wal`]); a head chunk
//! that fills up (about 120 samples) is written to a [`head_chunks`] file and read back
//! through a memory map; head data older than the block range is compacted into immutable
//! blocks ([`index`] + [`chunks`] + `meta.json`), which are merged over time and removed by
//! retention. Samples are encoded by [`chunkenc`] (Gorilla XOR).
//!
//! The byte layout of every file is written down in `tsdb/docs/format/`.

pub mod agent;
pub mod analyze;
pub mod arena;
pub mod block;
pub mod chunkenc;
pub mod chunks;
pub mod compact;
pub mod db;
mod encoding;
pub mod error;
pub mod head;
pub mod head_chunks;
pub mod import;
pub mod index;
pub mod mmap;
pub mod postings;
pub mod querier;
pub mod tombstones;
pub mod wal;

pub use db::{Db, DbOptions, DbQuerier};
pub use error::{Error, Result};
pub use head::{Head, HeadOptions};
