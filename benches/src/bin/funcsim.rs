//! A function platform simulator for testing Vane's autoscaler: functions with cold
//! starts, per-replica concurrency and bounded queues, a load generator, Prometheus metrics
//! at `/metrics` and a scaling input at `POST /scale`. Prints a summary (cost, time
//! under-provisioned, latency) at exit. See docs/autoscaling.md, "A function platform to
//! test against".

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use vane_benches::funcsim::{Platform, expose, http, spec};

#[derive(Debug, Parser)]
#[command(
    name = "funcsim",
    about = "A function platform to test Vane's autoscaler against"
)]
struct Args {
    /// Address of /metrics, /scale and /replicas.
    #[arg(long, default_value = "127.0.0.1:9400")]
    listen: std::net::SocketAddr,
    /// A function, `NAME[:key=value,...]` (repeat for several); see the docs for the keys.
    #[arg(long = "function", value_parser = spec::parse_function, default_value = "fn")]
    functions: Vec<vane_benches::funcsim::FunctionSpec>,
    /// Simulated time step (the clock follows real time in steps of this).
    #[arg(long, default_value = "10ms", value_parser = spec::parse_duration)]
    tick: f64,
    /// Profile seconds per simulated second (60: a 24 h diurnal period takes 24 min).
    #[arg(long, default_value_t = 1.0)]
    compress: f64,
    /// Seed of the arrivals and service times.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this long (simulated time); without it, run until SIGINT or SIGTERM.
    #[arg(long, value_parser = spec::parse_duration)]
    duration: Option<f64>,
    /// Run as fast as possible without serving HTTP (replicas stay as configured), then
    /// print the summary; needs --duration.
    #[arg(long = "virtual")]
    virtual_time: bool,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    summary_json: Option<std::path::PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(args.tick) || !positive(args.compress) {
        return Err("--tick and --compress must be above 0".into());
    }
    let mut names = std::collections::HashSet::new();
    for f in &args.functions {
        if !names.insert(f.name.clone()) {
            return Err(format!("function {:?} given twice", f.name).into());
        }
    }
    let platform = Platform::new(args.functions.clone(), args.compress, args.seed);
    let platform = if args.virtual_time {
        let Some(duration) = args.duration else {
            return Err("--virtual needs --duration".into());
        };
        run_virtual(platform, args.tick, duration)
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?
            .block_on(run_live(platform, &args))?
    };
    let rows = expose::summary(&platform);
    print!("{}", expose::summary_table(&rows));
    if let Some(path) = &args.summary_json {
        std::fs::write(path, serde_json::to_vec_pretty(&rows)?)?;
    }
    Ok(())
}

fn run_virtual(mut p: Platform, tick: f64, duration: f64) -> Platform {
    let steps = (duration / tick).round() as u64;
    for k in 1..=steps {
        p.advance_to(k as f64 * tick);
    }
    p
}

async fn run_live(p: Platform, args: &Args) -> Result<Platform, Box<dyn std::error::Error>> {
    let shared = Arc::new(Mutex::new(p));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!(
        "funcsim: serving /metrics, POST /scale, GET /replicas on http://{}",
        listener.local_addr()?
    );
    let server = tokio::spawn(axum::serve(listener, http::router(shared.clone())).into_future());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interval = tokio::time::interval(Duration::from_secs_f64(args.tick));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let start = Instant::now();
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
        // The clock moves in whole ticks, so a run's events do not depend on timer jitter.
        let mut to = (start.elapsed().as_secs_f64() / args.tick).floor() * args.tick;
        if let Some(d) = args.duration {
            to = to.min(d);
        }
        shared.lock().unwrap().advance_to(to);
        if args.duration.is_some_and(|d| to >= d) {
            break;
        }
    }
    server.abort();
    let p = shared.lock().unwrap().clone();
    Ok(p)
}
