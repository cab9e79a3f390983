//! The write-ahead log. (Filled by the WAL work.)
