//! Autoscaler benchmarks against a running `vane` (a release build): see BENCHMARKS.md.
//!
//! * `reaction`: the time from a load step at a simulated function platform to the decision
//!   arriving there. The platform (funcsim's, in this process) serves `/metrics` and
//!   OpenFaaS's gateway calls on 127.0.0.1; each of `--steps` functions steps from 5 to 300
//!   requests per second at its own moment (`--warmup` + i × `--spacing` seconds), spread over
//!   the scrape interval's phase. Vane scrapes it every `--scrape-interval`, and one autoscaler
//!   per function (in flight + queued, 10 per replica, `http_openfaas` target) decides. The
//!   reaction is from the step to the first change of the function's desired count, read at
//!   every 10 ms tick of the simulation (so to within 10 ms). `--tick-only` selects the
//!   metrics by a regex name, which scrapes do not wake: only the autoscaler's interval
//!   evaluates, as before evaluation on scrape arrival.
//! * `throughput`: `--autoscalers` autoscalers evaluated every `--interval`, each on its own
//!   series of one scraped target (1 s scrapes), through the `http_openfaas` target to
//!   functions of the same simulated platform. After `--warmup`, it counts each autoscaler's
//!   evaluations over `--window` seconds (the `vane_autoscaler_desired_replicas` samples it
//!   wrote, with `count_over_time`) against the ticks due, and Vane's CPU time (from
//!   /proc). Signals are selected by a regex name, so scrapes wake nothing and every
//!   evaluation is a tick (`--wake` selects them by name, so each scrape also wakes all).
//!
//! Usage:
//!   cargo build --release -p daemon -p vane-benches
//!   target/release/autoscale-bench reaction [--steps 20]
//!   target/release/autoscale-bench throughput [--autoscalers 1000]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use vane_benches::funcsim::{FunctionSpec, Platform, Profile, http};

#[derive(Debug, Parser)]
#[command(
    name = "autoscale-bench",
    about = "Autoscaler benchmarks against a running vane"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    Reaction(ReactionArgs),
    Throughput(ThroughputArgs),
}

#[derive(Debug, Args)]
struct Common {
    /// The vane binary.
    #[arg(long, default_value = "target/release/vane")]
    vane: PathBuf,
    /// Write the results as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ReactionArgs {
    #[command(flatten)]
    common: Common,
    /// Load steps (one function each).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Seconds before the first step.
    #[arg(long, default_value_t = 15.0)]
    warmup: f64,
    /// Seconds between steps (not a multiple of the scrape interval, so the steps fall at
    /// different points of it).
    #[arg(long, default_value_t = 5.37)]
    spacing: f64,
    /// The autoscalers' `interval`.
    #[arg(long, default_value = "1s")]
    interval: String,
    #[arg(long, default_value = "1s")]
    scrape_interval: String,
    /// Select the signal's metrics by a regex name: scrapes do not wake the autoscalers.
    #[arg(long)]
    tick_only: bool,
}

#[derive(Debug, Args)]
struct ThroughputArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 1000)]
    autoscalers: usize,
    /// The autoscalers' `interval`, seconds.
    #[arg(long, default_value_t = 1.0)]
    interval: f64,
    /// Seconds before measuring.
    #[arg(long, default_value_t = 20.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 60.0)]
    window: f64,
    /// Select the signal by name, so every scrape also wakes every autoscaler.
    #[arg(long)]
    wake: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().cmd {
        Cmd::Reaction(a) => reaction(a),
        Cmd::Throughput(a) => throughput(a),
    }
}

/// A platform with `specs`, served on 127.0.0.1 with simulated time following real time in
/// 10 ms ticks; `on_tick` sees it after every tick, with the wall-clock time of the tick.
struct Sim {
    addr: SocketAddr,
    start: Instant,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const TICK: f64 = 0.01;

impl Sim {
    fn start(
        specs: Vec<FunctionSpec>,
        extra_metrics: Option<Arc<dyn Fn() -> String + Send + Sync>>,
        mut on_tick: impl FnMut(&Platform, Instant) + Send + 'static,
    ) -> Sim {
        let shared = Arc::new(Mutex::new(Platform::new(specs, 1.0, 1)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let start = Instant::now();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let mut app = http::router(s.clone());
                if let Some(f) = extra_metrics {
                    app = app.route(
                        "/load",
                        axum::routing::get(move || {
                            let f = f.clone();
                            async move { f() }
                        }),
                    );
                }
                tokio::spawn(axum::serve(listener, app).into_future());
                let mut iv = tokio::time::interval(Duration::from_secs_f64(TICK));
                iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                while !st.load(std::sync::atomic::Ordering::Relaxed) {
                    iv.tick().await;
                    let now = Instant::now();
                    let to = ((now - start).as_secs_f64() / TICK).floor() * TICK;
                    let mut p = s.lock().unwrap();
                    p.advance_to(to);
                    on_tick(&p, now);
                }
            });
        });
        Sim {
            addr,
            start,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A `vane run` with `config`, on a free port, its data in `dir`; killed when dropped.
struct Vane {
    child: Child,
    addr: String,
}

impl Vane {
    fn start(bin: &Path, dir: &Path, config: &str) -> Vane {
        let cfg = dir.join("vane.yml");
        std::fs::write(&cfg, config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(bin)
            .arg("run")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("vane.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let v = Vane { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(&v.addr, "/-/ready").map(|(s, _)| s) != Some(200) {
            assert!(Instant::now() < deadline, "vane did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        v
    }

    /// User and system CPU seconds so far.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name (which is in parentheses): utime is the 12th, stime
        // the 13th, in clock ticks (100 per second on Linux).
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
    }

    /// The values of an instant query's vector result.
    fn query(&self, q: &str) -> Vec<f64> {
        let mut path = String::from("/api/v1/query?query=");
        for b in q.bytes() {
            if b.is_ascii_alphanumeric() || b"_-.".contains(&b) {
                path.push(b as char);
            } else {
                path.push_str(&format!("%{b:02X}"));
            }
        }
        let (status, body) = get(&self.addr, &path).expect("query");
        assert_eq!(status, 200, "{q}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["value"][1].as_str().unwrap().parse().unwrap())
            .collect()
    }
}

impl Drop for Vane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET over HTTP/1.0: the status and the body.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Some((status, body))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn reaction(a: ReactionArgs) -> Result<(), Box<dyn std::error::Error>> {
    let steps: Vec<f64> = (0..a.steps)
        .map(|i| a.warmup + i as f64 * a.spacing)
        .collect();
    let specs: Vec<FunctionSpec> = steps
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let mut s = FunctionSpec::new(
                &format!("s{i}"),
                Profile::Step {
                    base: 5.0,
                    high: 300.0,
                    at,
                },
            );
            s.queue = 1000;
            s
        })
        .collect();
    // When each function's desired count first changed (wall clock).
    let changed: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; a.steps]));
    let c = changed.clone();
    let sim = Sim::start(specs, None, move |p, now| {
        let mut c = c.lock().unwrap();
        for (i, f) in p.functions().iter().enumerate() {
            if c[i].is_none() && f.replica_counts().desired != 1 {
                c[i] = Some(now);
            }
        }
    });
    let metric = |name: &str, f: &str| {
        if a.tick_only {
            format!("sum({{__name__=~\"{name}\",function=\"{f}\"}})")
        } else {
            format!("sum({name}{{function=\"{f}\"}})")
        }
    };
    let mut cfg = format!(
        "global:\n  scrape_interval: {}\nscrape_configs:\n  - job_name: funcsim\n    static_configs: [{{targets: ['{}']}}]\nautoscalers:\n",
        a.scrape_interval, sim.addr
    );
    for i in 0..a.steps {
        let f = format!("s{i}");
        cfg.push_str(&format!(
            "  - name: {f}\n    query: '{} + {}'\n    interval: {}\n    max_replicas: 50\n    policy: {{per_replica: {{target: 10}}}}\n    target: {{http_openfaas: {{gateway: 'http://{}', function: {f}}}}}\n",
            metric("funcsim_requests_in_flight", &f),
            metric("funcsim_requests_queued", &f),
            a.interval,
            sim.addr
        ));
    }
    let dir = tempfile::tempdir()?;
    let vane = Vane::start(&a.common.vane, dir.path(), &cfg);
    let started = sim.start;
    eprintln!(
        "vane on {}, platform on {}; {} steps, the last at {:.1}s",
        vane.addr,
        sim.addr,
        a.steps,
        steps.last().copied().unwrap_or(0.0)
    );
    let end = started + Duration::from_secs_f64(steps.last().copied().unwrap_or(0.0) + 10.0);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
    let changed = changed.lock().unwrap().clone();
    drop(vane);
    drop(sim);
    let mut early = 0;
    let mut reactions: Vec<f64> = Vec::new();
    let mut missing = 0;
    for (i, at) in steps.iter().enumerate() {
        match changed[i] {
            Some(t) => {
                let r = (t - started).as_secs_f64() - at;
                if r < 0.0 {
                    early += 1;
                } else {
                    reactions.push(r);
                }
            }
            None => missing += 1,
        }
    }
    let mut sorted = reactions.clone();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return Err(format!("no step was followed by a decision ({missing} missing)").into());
    }
    let (median, p90, max) = (
        quantile(&sorted, 0.5),
        quantile(&sorted, 0.9),
        *sorted.last().unwrap(),
    );
    println!(
        "reaction ({}; interval {}, scrape {}): {} steps, median {:.3}s, p90 {:.3}s, max {:.3}s (min {:.3}s; {missing} without a decision, {early} decided before the step)",
        if a.tick_only {
            "evaluation on the interval only"
        } else {
            "evaluation on scrape arrival"
        },
        a.interval,
        a.scrape_interval,
        sorted.len(),
        median,
        p90,
        max,
        sorted[0]
    );
    if let Some(p) = &a.common.json {
        let j = serde_json::json!({
            "tick_only": a.tick_only, "interval": a.interval, "scrape_interval": a.scrape_interval,
            "reactions_s": reactions, "median_s": median, "p90_s": p90, "max_s": max,
            "missing": missing, "early": early,
        });
        std::fs::write(p, serde_json::to_vec_pretty(&j)?)?;
    }
    Ok(())
}

fn throughput(a: ThroughputArgs) -> Result<(), Box<dyn std::error::Error>> {
    let n = a.autoscalers;
    let specs: Vec<FunctionSpec> = (0..n)
        .map(|i| FunctionSpec::new(&format!("a{i}"), Profile::Constant { rate: 0.0 }))
        .collect();
    // Each autoscaler's own load series: it moves every 10 s, so some decisions change the
    // count and are pushed.
    let t0 = Instant::now();
    let load: Arc<dyn Fn() -> String + Send + Sync> = Arc::new(move || {
        let phase = (t0.elapsed().as_secs() / 10) as usize;
        let mut out = String::with_capacity(n * 40);
        out.push_str("# TYPE bench_load gauge\n");
        for i in 0..n {
            let v = 10 * (1 + (i + phase) % 4);
            out.push_str(&format!("bench_load{{autoscaler=\"a{i}\"}} {v}\n"));
        }
        out
    });
    let sim = Sim::start(specs, Some(load), |_, _| {});
    let mut cfg = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: load\n    metrics_path: /load\n    static_configs: [{{targets: ['{}']}}]\nautoscalers:\n",
        sim.addr
    );
    for i in 0..n {
        let sel = if a.wake {
            format!("bench_load{{autoscaler=\"a{i}\"}}")
        } else {
            format!("{{__name__=~\"bench_load\",autoscaler=\"a{i}\"}}")
        };
        cfg.push_str(&format!(
            "  - name: a{i}\n    query: 'sum({sel})'\n    interval: {}ms\n    max_replicas: 50\n    policy: {{per_replica: {{target: 10}}}}\n    target: {{http_openfaas: {{gateway: 'http://{}', function: a{i}}}}}\n",
            (a.interval * 1000.0).round() as u64,
            sim.addr
        ));
    }
    let dir = tempfile::tempdir()?;
    let vane = Vane::start(&a.common.vane, dir.path(), &cfg);
    eprintln!(
        "vane on {} with {n} autoscalers; warming up {}s, then measuring {}s",
        vane.addr, a.warmup, a.window
    );
    std::thread::sleep(Duration::from_secs_f64(a.warmup));
    let (cpu0, w0) = (vane.cpu_seconds(), Instant::now());
    std::thread::sleep(Duration::from_secs_f64(a.window));
    let (cpu1, w1) = (vane.cpu_seconds(), Instant::now());
    let elapsed = (w1 - w0).as_secs_f64();
    // Evaluations of each autoscaler within the window (one desired-replicas sample each).
    let counts = vane.query(&format!(
        "count_over_time(vane_autoscaler_desired_replicas[{}ms])",
        (elapsed * 1000.0).floor() as u64
    ));
    drop(vane);
    drop(sim);
    let due = (elapsed / a.interval).floor();
    let total: f64 = counts.iter().sum();
    // A window of `elapsed` seconds holds `due` or `due + 1` ticks of a 1 s schedule; fewer is
    // a missed (or late enough to fall out) tick.
    let missed: f64 = counts.iter().map(|c| (due - c).max(0.0)).sum();
    let reporting = counts.len();
    let min = counts.iter().copied().fold(f64::INFINITY, f64::min);
    let cpu = (cpu1 - cpu0) / elapsed;
    println!(
        "throughput ({}): {n} autoscalers every {}s, {reporting} reporting; {:.0} evaluations in {:.1}s ({:.0}/s); {} of {} ticks missed (fewest per autoscaler {min}, {due} due); vane CPU {:.2} cores ({:.1} us per evaluation)",
        if a.wake {
            "scrapes also wake"
        } else {
            "ticks only"
        },
        a.interval,
        total,
        elapsed,
        total / elapsed,
        missed,
        due * n as f64,
        cpu,
        (cpu1 - cpu0) / total * 1e6
    );
    if let Some(p) = &a.common.json {
        let j = serde_json::json!({
            "autoscalers": n, "interval_s": a.interval, "wake": a.wake, "window_s": elapsed,
            "reporting": reporting, "evaluations": total, "due_per_autoscaler": due,
            "missed": missed, "fewest": min, "vane_cpu_cores": cpu,
        });
        std::fs::write(p, serde_json::to_vec_pretty(&j)?)?;
    }
    Ok(())
}
