//! The background tasks of a notifier: spawned on the runtime given to `Notifier::start`
//! (kept until then when configured earlier), tracked so shutdown can wait for them.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

pub(super) struct Tasks {
    handle: OnceLock<Handle>,
    /// Tasks created before `start`.
    pending: Mutex<Vec<Task>>,
    tracker: TaskTracker,
    /// Cancelled when the notifier stops; every task's token descends from it.
    shutdown: CancellationToken,
    /// Set just before `shutdown` is cancelled: until when queues may still be sent.
    drain_until: OnceLock<Instant>,
}

impl Tasks {
    pub fn new() -> Self {
        Tasks {
            handle: OnceLock::new(),
            pending: Mutex::new(Vec::new()),
            tracker: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            drain_until: OnceLock::new(),
        }
    }

    /// Runs `fut` in the background (once started).
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        if self.shutdown.is_cancelled() {
            return;
        }
        let fut = self.tracker.track_future(fut);
        if let Some(h) = self.handle.get() {
            h.spawn(fut);
            return;
        }
        let mut pending = self.pending.lock();
        // `start` sets the handle while holding this lock.
        match self.handle.get() {
            Some(h) => {
                h.spawn(fut);
            }
            None => pending.push(Box::pin(fut)),
        }
    }

    /// Starts the tasks created so far, and every later one at once. Only the first call counts.
    pub fn start(&self, h: &Handle) {
        let mut pending = self.pending.lock();
        if self.handle.set(h.clone()).is_ok() {
            for fut in pending.drain(..) {
                h.spawn(fut);
            }
        }
    }

    /// A token cancelled at shutdown, or earlier by its holder.
    pub fn child_token(&self) -> CancellationToken {
        self.shutdown.child_token()
    }

    /// When shutting down: until when what is queued may still be sent.
    pub fn drain_deadline(&self) -> Option<Instant> {
        self.drain_until.get().copied()
    }

    pub fn is_stopped(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Stops every task at once, sending nothing more.
    pub fn cancel(&self) {
        self.shutdown.cancel();
        self.pending.lock().clear();
    }

    /// Stops every task, giving queues `grace` to be sent, and waits for the tasks as long.
    pub async fn stop(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let _ = self.drain_until.set(deadline);
        self.shutdown.cancel();
        self.pending.lock().clear();
        self.tracker.close();
        // The tasks watch the deadline themselves; the margin covers their last bookkeeping.
        let _ = tokio::time::timeout_at(deadline + Duration::from_millis(100), self.tracker.wait())
            .await;
    }
}
