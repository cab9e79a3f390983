//! The store's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the store. Corruption always names the file and offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    #[error("corruption in {} at offset {offset}: {reason}", path.display())]
    Corruption {
        path: PathBuf,
        offset: u64,
        reason: String,
    },

    /// A file whose magic number or version this build does not read.
    #[error("{}: unsupported format: {reason}", path.display())]
    Format { path: PathBuf, reason: String },

    /// A rejected sample or bad series reference (out of order, out of bounds, duplicate).
    #[error(transparent)]
    Sample(#[from] model::Error),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("data directory {} is locked by another process", .0.display())]
    Locked(PathBuf),

    #[error("the store is closed")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn corruption(path: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corruption {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }

    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. } | Error::Format { .. })
    }
}

impl From<Error> for model::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Sample(s) => s,
            Error::Closed => model::Error::Closed,
            Error::Io { source, .. } => model::Error::Io(source),
            other => model::Error::Other(other.to_string()),
        }
    }
}
