//! Serves a fleet of synthetic scrape targets (`vane_benches::fleet`) over HTTP, one port
//! per target on 127.0.0.1, each answering `GET /metrics`, for
//! `benches/side_by_side/fleet_compare.py`.
//!
//! Each target's body is rendered once per tick (at the tick's start by a background thread,
//! or by the first scrape that comes earlier) and the same bytes are served to every
//! scraper. When every target listens, one JSON line goes to stdout:
//! `{"targets": ["127.0.0.1:PORT", ...], "series": N, "churning_series": C, ...}`. On SIGINT,
//! SIGTERM or after `--exit-after`, the fleet stops and prints a second JSON line with its
//! own use: `{"cpu_seconds": ..., "wall_seconds": ..., "requests": ..., ...}`.
//!
//! Usage: `fleet --targets 20 --series-per-target 1000 --interval 10s [--churn-share 0.1]
//! [--churn-every 5m] [--reset-every 10m] [--seed 1] [--exit-after 2h]`

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use clap::Parser;
use vane_benches::fleet::{FleetConfig, Target, tick_at};

#[derive(Debug, Parser)]
#[command(
    name = "fleet",
    about = "Synthetic scrape targets for the side-by-side benchmark."
)]
struct Args {
    /// Number of targets (one port each).
    #[arg(long, default_value_t = 20)]
    targets: usize,
    /// Series in each target's body.
    #[arg(long = "series-per-target", default_value_t = 1_000)]
    series_per_target: usize,
    /// The scrape interval the values tick with (the scrapers' `scrape_interval`).
    #[arg(long, default_value = "10s")]
    interval: String,
    /// Share of each target's series replaced every `--churn-every`.
    #[arg(long = "churn-share", default_value_t = 0.1)]
    churn_share: f64,
    #[arg(long = "churn-every", default_value = "5m")]
    churn_every: String,
    /// How often each application counter and histogram restarts from zero (0 for never).
    #[arg(long = "reset-every", default_value = "10m")]
    reset_every: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    listen: String,
    /// First port; target i listens on base + i. 0 lets the system pick free ports.
    #[arg(long = "base-port", default_value_t = 0)]
    base_port: u16,
    /// Stop by itself after this long.
    #[arg(long = "exit-after", default_value = "2h")]
    exit_after: String,
    /// Worker threads serving requests.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

#[derive(Debug, Default)]
struct Stats {
    requests: AtomicU64,
    bytes: AtomicU64,
    renders: AtomicU64,
    render_ns: AtomicU64,
}

/// One target and its body of the current tick.
struct Served {
    state: Mutex<Body>,
    interval_ms: u64,
    stats: Arc<Stats>,
}

struct Body {
    target: Target,
    tick: Option<u64>,
    bytes: Bytes,
}

impl Served {
    /// The body of tick `k`, rendered now if no one has yet.
    fn body(&self, k: u64) -> Bytes {
        let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if b.tick != Some(k) {
            let t0 = Instant::now();
            let mut out = Vec::with_capacity(b.bytes.len() + b.bytes.len() / 8);
            b.target.render(k, &mut out);
            b.bytes = Bytes::from(out);
            b.tick = Some(k);
            self.stats.renders.fetch_add(1, Ordering::Relaxed);
            self.stats
                .render_ns
                .fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        b.bytes.clone()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn metrics(State(s): State<Arc<Served>>) -> impl IntoResponse {
    let body = s.body(tick_at(now_ms(), s.interval_ms));
    s.stats.requests.fetch_add(1, Ordering::Relaxed);
    s.stats
        .bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
}

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat` (in clock
/// ticks of 1/100 s, the fixed `USER_HZ` of Linux's user-space ABI).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn duration_ms(flag: &str, s: &str) -> Result<u64, String> {
    model::duration::parse_duration_ms(s).map_err(|e| format!("--{flag}: {e}"))
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("fleet: {e}");
        std::process::exit(2);
    }
}

fn run(args: Args) -> Result<(), String> {
    let cfg = FleetConfig {
        targets: args.targets,
        series_per_target: args.series_per_target,
        interval_ms: duration_ms("interval", &args.interval)?,
        churn_share: args.churn_share,
        churn_every_ms: duration_ms("churn-every", &args.churn_every)?,
        reset_every_ms: duration_ms("reset-every", &args.reset_every)?,
        seed: args.seed,
    };
    cfg.check()?;
    let exit_after = Duration::from_millis(duration_ms("exit-after", &args.exit_after)?);
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let k = tick_at(now_ms(), cfg.interval_ms);
    let served: Vec<Arc<Served>> = (0..cfg.targets)
        .map(|i| {
            let s = Arc::new(Served {
                state: Mutex::new(Body {
                    target: Target::new(&cfg, i),
                    tick: None,
                    bytes: Bytes::new(),
                }),
                interval_ms: cfg.interval_ms,
                stats: stats.clone(),
            });
            s.body(k);
            s
        })
        .collect();
    let (series, churning) = served.iter().fold((0, 0), |(a, b), s| {
        let st = s.state.lock().unwrap_or_else(|e| e.into_inner());
        (a + st.target.series(), b + st.target.churning_series())
    });

    // Renders every body at the start of each tick, so that scrapes only copy bytes.
    {
        let served = served.clone();
        let interval = cfg.interval_ms;
        std::thread::Builder::new()
            .name("prerender".into())
            .spawn(move || {
                loop {
                    let now = now_ms();
                    let next = (tick_at(now, interval) + 1) * interval;
                    std::thread::sleep(Duration::from_millis(next - now + 1));
                    let k = tick_at(now_ms(), interval);
                    for s in &served {
                        s.body(k);
                    }
                }
            })
            .map_err(|e| format!("start the prerender thread: {e}"))?;
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("start the runtime: {e}"))?;
    rt.block_on(async {
        let mut addrs = Vec::with_capacity(served.len());
        for (i, s) in served.iter().enumerate() {
            let port = if args.base_port == 0 {
                0
            } else {
                args.base_port
                    .checked_add(i as u16)
                    .ok_or("--base-port too high for so many targets")?
            };
            let listener = tokio::net::TcpListener::bind((args.listen.as_str(), port))
                .await
                .map_err(|e| format!("listen on {}:{port}: {e}", args.listen))?;
            let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
            addrs.push(addr.to_string());
            let app = Router::new()
                .route("/metrics", get(metrics))
                .with_state(s.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("fleet: target {addr}: {e}");
                }
            });
        }
        println!(
            "{}",
            serde_json::json!({
                "targets": addrs,
                "series": series,
                "series_per_target": cfg.series_per_target,
                "churning_series": churning,
                "interval_ms": cfg.interval_ms,
                "churn_share": cfg.churn_share,
                "churn_every_ms": cfg.churn_every_ms,
                "reset_every_ms": cfg.reset_every_ms,
                "seed": cfg.seed,
                "pid": std::process::id(),
            })
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| format!("install the SIGTERM handler: {e}"))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = tokio::time::sleep(exit_after) => eprintln!("fleet: stopping after {exit_after:?}"),
        }
        Ok::<(), String>(())
    })?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds();
    println!(
        "{}",
        serde_json::json!({
            "cpu_seconds": cpu,
            "wall_seconds": wall,
            "cpu_share_of_one_core": cpu / wall,
            "requests": stats.requests.load(Ordering::Relaxed),
            "bytes": stats.bytes.load(Ordering::Relaxed),
            "renders": stats.renders.load(Ordering::Relaxed),
            "render_seconds": stats.render_ns.load(Ordering::Relaxed) as f64 / 1e9,
        })
    );
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}
