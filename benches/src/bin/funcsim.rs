//! A function platform simulator for testing Vane's autoscaler: functions with cold
//! starts, per-replica concurrency and bounded queues, a load generator, Prometheus metrics
//! at `/metrics` and a scaling input at `POST /scale` and, with `--grpc-listen`, through Vane's
//! gRPC `ScalingTarget` service. Prints a summary (cost, time
//! under-provisioned, latency) at exit. See docs/autoscaling.md, "A function platform to
//! test against".

use std::sync::{Arc, Mutex};

use clap::Parser;
use vane_benches::funcsim::live::Live;
use vane_benches::funcsim::{Platform, expose, spec};

#[derive(Debug, Parser)]
#[command(
    name = "funcsim",
    about = "A function platform to test Vane's autoscaler against"
)]
struct Args {
    /// Address of /metrics, /scale and /replicas.
    #[arg(long, default_value = "127.0.0.1:9400")]
    listen: std::net::SocketAddr,
    /// Also serve Vane's gRPC `ScalingTarget` (`vane.autoscaler.v1`) here; the autoscaler's
    /// name is the function's name. Off by default.
    #[arg(long = "grpc-listen", value_name = "ADDR")]
    grpc_listen: Option<std::net::SocketAddr>,
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
    let http = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!(
        "funcsim: serving /metrics, POST /scale, GET /replicas on http://{}",
        http.local_addr()?
    );
    let grpc = match args.grpc_listen {
        Some(a) => {
            let l = tokio::net::TcpListener::bind(a).await?;
            eprintln!(
                "funcsim: serving vane.autoscaler.v1.ScalingTarget on {}",
                l.local_addr()?
            );
            Some(l)
        }
        None => None,
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    let live = Live {
        http,
        grpc,
        tick: args.tick,
        duration: args.duration,
    };
    live.run(shared.clone(), stop).await;
    let p = shared.lock().unwrap().clone();
    Ok(p)
}
