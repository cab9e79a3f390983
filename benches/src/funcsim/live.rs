//! Running the platform live: simulated time follows real time in whole ticks while the
//! HTTP front (and, when given a listener, the gRPC front) serve it.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use super::http::{self, Shared};

/// Where the fronts listen and how time moves.
#[derive(Debug)]
pub struct Live {
    pub http: TcpListener,
    pub grpc: Option<TcpListener>,
    /// The simulated time step, in seconds.
    pub tick: f64,
    /// Stop at this simulated time (seconds).
    pub duration: Option<f64>,
}

impl Live {
    /// Serves and advances the platform until `stop` completes or `duration` is reached; the
    /// fronts stop with it (requests in flight are dropped).
    pub async fn run(self, platform: Shared, stop: impl Future<Output = ()>) {
        let server = axum::serve(self.http, http::router(platform.clone())).into_future();
        let mut fronts = vec![tokio::spawn(async move {
            let _ = server.await;
        })];
        if let Some(l) = self.grpc {
            let p = platform.clone();
            fronts.push(tokio::spawn(async move {
                let _ = super::grpc::serve(l, p, std::future::pending()).await;
            }));
        }
        let mut interval = tokio::time::interval(Duration::from_secs_f64(self.tick));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let start = Instant::now();
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = &mut stop => break,
            }
            // The clock moves in whole ticks, so a run's events do not depend on timer jitter.
            let mut to = (start.elapsed().as_secs_f64() / self.tick).floor() * self.tick;
            if let Some(d) = self.duration {
                to = to.min(d);
            }
            platform.lock().unwrap().advance_to(to);
            if self.duration.is_some_and(|d| to >= d) {
                break;
            }
        }
        for f in fronts {
            f.abort();
        }
    }
}
