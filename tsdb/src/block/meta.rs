//! `meta.json`: what a block holds (layout in `tsdb/docs/format/meta.md`).

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) const META_FILE: &str = "meta.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    pub num_samples: u64,
    pub num_series: u64,
    pub num_chunks: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    /// 1 for blocks cut from the head or imported; one more than the highest source for merges.
    pub level: u32,
    /// The level-1 blocks whose data this block holds.
    pub sources: Vec<String>,
    /// Written by `vane tsdb import` (or merged only from such blocks): its data did not
    /// come through the head, so its time range says nothing about what the WAL still holds.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfill: bool,
}

/// The contents of `meta.json`. Field names follow Prometheus's block metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    pub ulid: String,
    /// First millisecond covered (inclusive).
    pub min_time: i64,
    /// End of the range (exclusive).
    pub max_time: i64,
    pub stats: BlockStats,
    pub compaction: Compaction,
    pub version: u32,
}

impl BlockMeta {
    pub fn read(dir: &Path) -> Result<BlockMeta> {
        let path = dir.join(META_FILE);
        let text = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let meta: BlockMeta = serde_json::from_slice(&text)
            .map_err(|e| Error::corruption(&path, e.column() as u64, format!("meta.json: {e}")))?;
        if meta.version != 1 {
            return Err(Error::format(
                &path,
                format!("block meta version {}", meta.version),
            ));
        }
        if meta.min_time >= meta.max_time {
            return Err(Error::corruption(
                &path,
                0,
                "block time range is empty or inverted",
            ));
        }
        Ok(meta)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(META_FILE);
        let text =
            serde_json::to_vec_pretty(self).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&path, e))
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new ULID: 48 bits of milliseconds since the epoch and 80 bits of randomness, in
/// Crockford base32 (26 characters), so names sort by creation time.
pub fn new_ulid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ms = now.as_millis() as u64 & ((1 << 48) - 1);
    // Randomness from the std hasher's random keys, the clock and a counter.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now.as_nanos());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let r1 = h.finish();
    h.write_u64(r1);
    let r2 = h.finish();
    let rand: u128 = ((r1 as u128) << 16 | (r2 as u128 & 0xffff)) & ((1u128 << 80) - 1);
    let v: u128 = ((ms as u128) << 80) | rand;
    (0..26)
        .map(|i| CROCKFORD[((v >> (125 - i * 5)) & 31) as usize] as char)
        .collect()
}
