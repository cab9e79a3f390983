//! The store `vane run` writes to: the full time-series store, or, with `--agent`, agent
//! storage (the WAL alone, for remote write).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::storage::Appendable;
use tsdb::Db;
use tsdb::agent::{AgentAppendable, AgentDb};

#[derive(Clone)]
pub enum Storage {
    Full(Arc<Db>),
    Agent(Arc<AgentDb>),
}

impl Storage {
    /// Where scrapes and remote write in append.
    pub fn appendable(&self) -> Arc<dyn Appendable> {
        match self {
            Storage::Full(db) => db.clone(),
            Storage::Agent(a) => Arc::new(AgentAppendable(a.clone())),
        }
    }

    /// The full store, which queries need; `None` in agent mode.
    pub fn full(&self) -> Option<&Arc<Db>> {
        match self {
            Storage::Full(db) => Some(db),
            Storage::Agent(_) => None,
        }
    }

    pub fn is_agent(&self) -> bool {
        matches!(self, Storage::Agent(_))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        match self {
            Storage::Full(db) => db.dir(),
            Storage::Agent(a) => a.dir(),
        }
    }

    /// The WAL directory remote write follows.
    pub fn wal_dir(&self) -> PathBuf {
        match self {
            Storage::Full(db) => db.head().dir().join("wal"),
            Storage::Agent(a) => a.wal_dir().to_path_buf(),
        }
    }

    /// The newest sample time written so far (ms).
    pub fn newest(&self) -> Arc<dyn Fn() -> i64 + Send + Sync> {
        match self {
            Storage::Full(db) => {
                let head = db.head().clone();
                Arc::new(move || head.max_time())
            }
            Storage::Agent(a) => {
                let a = a.clone();
                Arc::new(move || a.max_time())
            }
        }
    }

    /// Damaged WAL tails cut off at start-up.
    pub fn wal_corruptions(&self) -> u64 {
        match self {
            Storage::Full(db) => db.head().wal_corruptions(),
            Storage::Agent(a) => a.wal_corruptions(),
        }
    }

    /// Syncs and closes.
    pub fn close(&self) -> tsdb::Result<()> {
        match self {
            Storage::Full(db) => db.close(),
            Storage::Agent(a) => a.close(),
        }
    }
}
