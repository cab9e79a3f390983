//! Hands memory the allocator holds but no longer uses back to the system.
//!
//! glibc's malloc gives freed memory back only from the top of each heap; pages freed in the
//! middle stay resident until malloc reuses them. The store frees in waves: every series cuts
//! its open chunk at about the same time (the new chunk's buffer starts small), garbage
//! collection drops churned series, and a query frees its results at once. Those holes are
//! most of what separates resident memory from memory in use. `malloc_trim(0)` releases every
//! whole free page of every arena (`madvise(MADV_DONTNEED)`; the pages stay mapped and come
//! back zeroed on reuse); the daemon calls it once a minute, off the async threads.
//!
//! Elsewhere than Linux with glibc there is nothing to call and [`release`] does nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use model::metrics::{Counter, Histogram, Registry};

use crate::telemetry::resident_bytes;

/// How often free memory is handed back.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Asks the allocator to give every whole free page back; returns the resident bytes that
/// went (0 when none did, or when other threads grew meanwhile by as much).
pub fn release() -> u64 {
    let before = resident_bytes();
    trim();
    match (before, resident_bytes()) {
        (Some(b), Some(a)) => b.saturating_sub(a),
        _ => 0,
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists, under its locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// `vane_memory_released_bytes_total` and the time each release took.
pub struct ReleaseMetrics {
    released: Arc<Counter>,
    duration: Arc<Histogram>,
}

impl ReleaseMetrics {
    pub fn new(r: &Registry) -> Self {
        ReleaseMetrics {
            released: r.counter(
                "vane_memory_released_bytes_total",
                "Resident bytes of freed memory handed back to the system.",
            ),
            duration: r.histogram(
                "vane_memory_release_duration_seconds",
                "Time spent handing freed memory back to the system.",
                &[0.001, 0.005, 0.025, 0.1, 0.5, 2.5],
            ),
        }
    }

    /// One release, counted.
    pub fn release(&self) {
        let start = Instant::now();
        let bytes = release();
        self.duration.observe(start.elapsed().as_secs_f64());
        self.released.add(bytes);
        tracing::debug!(bytes, "freed memory handed back to the system");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_pages_in_the_middle_of_the_heap_are_handed_back() {
        // 96 MiB in 256-byte blocks, then every block freed but one in 64 (one per 16 KiB),
        // so the free memory sits between live blocks and never at the top of the heap:
        // glibc keeps it resident until it is trimmed.
        let blocks: Vec<Box<[u8; 256]>> = (0..(96usize << 20) / 256)
            .map(|i| Box::new([i as u8; 256]))
            .collect();
        let kept: Vec<Box<[u8; 256]>> = blocks.into_iter().step_by(64).collect();
        let released = release();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            // Some 90 MiB are free in whole pages; other tests of this binary allocate
            // meanwhile, so ask for a third of it.
            assert!(released >= 32 << 20, "only {released} bytes handed back");
        }
        assert_eq!(kept.len(), (96usize << 20) / 256 / 64);
        assert!(kept.iter().enumerate().all(|(i, b)| b[0] == (i * 64) as u8));
    }
}
