//! Grace periods: how a batch keeps plain pointers to head series without counting them.
//!
//! At a million series every append touches a series whose memory is not in the cache, and a
//! locked read-modify-write on such a line (a reference count, a "pending samples" counter)
//! stalls the core until the line arrives, so the misses of consecutive samples cannot
//! overlap. So a batch holds no count on its series at all. Instead it *enters* one of two
//! phase counters before its first lookup and *leaves* when it ends, and garbage collection,
//! the only code that takes series out of the head's tables, waits for a grace period (every
//! batch that entered before it started has left) twice:
//!
//! 1. after marking the series it means to remove, so that every batch that saw one of them
//!    as live has applied its samples before collection looks at the series again;
//! 2. after taking them out of the tables and before dropping its references, so that no
//!    batch still holds a pointer to freed memory.
//!
//! A batch that is not left (an appender kept open indefinitely) makes the wait time out;
//! collection then keeps everything, which is always safe.
//!
//! Besides `crate::mmap`, `crate::arena` and the series lock in `super::series`, the only
//! `unsafe` code is here (the pointer a batch keeps, [`SeriesPtr`]) and where `super::append`
//! creates such pointers.

#![allow(unsafe_code)]

use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::series::MemSeries;

/// Keeps the two counters on separate cache lines: appenders on different cores enter the
/// same one, but collection polls the other.
#[repr(align(128))]
struct Padded(AtomicUsize);

pub(crate) struct Grace {
    /// The counter batches enter now (0 or 1).
    phase: AtomicUsize,
    active: [Padded; 2],
    /// One grace period at a time.
    sync: Mutex<()>,
}

impl Default for Grace {
    fn default() -> Self {
        Grace {
            phase: AtomicUsize::new(0),
            active: [Padded(AtomicUsize::new(0)), Padded(AtomicUsize::new(0))],
            sync: Mutex::new(()),
        }
    }
}

impl Grace {
    /// Registers a batch; returns the counter to pass to [`Grace::leave`].
    pub(crate) fn enter(&self) -> usize {
        loop {
            let p = self.phase.load(SeqCst);
            self.active[p].0.fetch_add(1, SeqCst);
            // If the phase moved meanwhile, a grace period may already have read this
            // counter without seeing us: enter the new one instead.
            if self.phase.load(SeqCst) == p {
                return p;
            }
            self.active[p].0.fetch_sub(1, SeqCst);
        }
    }

    /// Ends a batch. Everything it did with its series happens before a grace period that
    /// waits for it ends.
    pub(crate) fn leave(&self, phase: usize) {
        self.active[phase].0.fetch_sub(1, SeqCst);
    }

    /// Waits until every batch that entered before this call has left. False if that takes
    /// longer than `timeout`; the caller must then assume batches still hold its series.
    pub(crate) fn synchronize(&self, timeout: Duration) -> bool {
        let _one = self.sync.lock();
        let deadline = Instant::now() + timeout;
        let p = self.phase.load(SeqCst);
        // Batches from now on enter the other counter, which must hold nobody from an earlier
        // grace period that timed out.
        if !wait_empty(&self.active[1 - p].0, deadline) {
            return false;
        }
        self.phase.store(1 - p, SeqCst);
        wait_empty(&self.active[p].0, deadline)
    }
}

fn wait_empty(n: &AtomicUsize, deadline: Instant) -> bool {
    let mut pause = Duration::from_micros(50);
    loop {
        if n.load(SeqCst) == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// A head series held by a batch: a plain pointer, valid while the batch stays entered.
#[derive(Clone, Copy)]
pub(crate) struct SeriesPtr(NonNull<MemSeries>);

// SAFETY: `MemSeries` is `Sync` (atomics, a mutex and fields that never change); a
// `SeriesPtr` is a shared reference whose lifetime the grace period guarantees instead of
// the borrow checker, so it may move to and be used from another thread with its batch.
unsafe impl Send for SeriesPtr {}
// SAFETY: as above.
unsafe impl Sync for SeriesPtr {}

impl SeriesPtr {
    /// # Safety
    /// `s` must be reachable from the head's tables (or held by an `Arc` that was) at a time
    /// after the batch that keeps the pointer entered, and the pointer must not be used after
    /// that batch leaves. Garbage collection then frees the series only after the batch has
    /// left (see the module documentation).
    pub(crate) unsafe fn new(s: &MemSeries) -> Self {
        SeriesPtr(NonNull::from(s))
    }

    #[inline]
    pub(crate) fn get(&self) -> &MemSeries {
        // SAFETY: the contract of `new`: the batch holding this pointer has not left, so the
        // series has not been freed.
        unsafe { self.0.as_ref() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_grace_period_waits_for_batches_that_entered_before_it() {
        let g = Arc::new(Grace::default());
        let p = g.enter();
        assert!(
            !g.synchronize(Duration::from_millis(20)),
            "a batch is still open"
        );
        // A batch entering after the (failed) period is not waited for by the next one only
        // once the old batch has left.
        let q = g.enter();
        let g2 = g.clone();
        let waiter = std::thread::spawn(move || g2.synchronize(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(30));
        g.leave(p);
        g.leave(q);
        assert!(waiter.join().unwrap());
        assert!(
            g.synchronize(Duration::from_millis(20)),
            "nobody left inside"
        );
    }

    #[test]
    fn batches_entering_during_a_period_are_not_waited_for() {
        let g = Arc::new(Grace::default());
        let old = g.enter();
        let g2 = g.clone();
        let waiter = std::thread::spawn(move || g2.synchronize(Duration::from_secs(10)));
        // Wait until the period has switched the phase, then enter a new batch that stays.
        while g.phase.load(SeqCst) == old {
            std::thread::yield_now();
        }
        let new = g.enter();
        assert_ne!(new, old);
        g.leave(old);
        assert!(waiter.join().unwrap(), "only the old batch was waited for");
        g.leave(new);
    }
}
