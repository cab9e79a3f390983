//! `vane run`: wiring and lifecycle.
//!
//! Start-up: logging, configuration, self-telemetry, the HTTP listener (so `/-/healthy`
//! answers at once and `/-/ready` says 503 while the store replays), then the store, then the
//! periodic store maintenance. Shutdown on SIGINT or SIGTERM, in order: ingest first (the
//! scraper, when it exists), then rules and autoscalers (to come), then the HTTP server
//! (in-flight requests finish), then maintenance, and the store last, which syncs and closes
//! its files so nothing acknowledged is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use model::metrics::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tsdb::wal::SyncPolicy;
use tsdb::{Db, DbOptions};

use crate::cli::RunArgs;
use crate::config::Config;
use crate::http::{self, HttpState};
use crate::size::parse_bytes;
use crate::telemetry;

/// How often compaction and retention run.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

/// Store options from the flags.
pub fn db_options(args: &RunArgs) -> Result<DbOptions> {
    let retention_ms = model::duration::parse_duration_ms(&args.retention_time)
        .map_err(|e| anyhow!("--storage.tsdb.retention.time: {e}"))?;
    let size = parse_bytes(&args.retention_size)
        .map_err(|e| anyhow!("--storage.tsdb.retention.size: {e}"))?;
    let sync = match args.wal_fsync.as_str() {
        "never" => SyncPolicy::Never,
        "always" => SyncPolicy::Always,
        d => SyncPolicy::Interval(model::duration::parse_duration(d).map_err(|e| {
            anyhow!("--storage.tsdb.wal-fsync: expected never, always or a duration: {e}")
        })?),
    };
    let mut o = DbOptions {
        retention_time_ms: (retention_ms > 0).then_some(retention_ms as i64),
        retention_size_bytes: (size > 0).then_some(size),
        ..DbOptions::default()
    };
    o.head.wal.sync = sync;
    Ok(o)
}

/// Runs the daemon until a signal stops it.
pub fn run(args: RunArgs) -> Result<()> {
    let _ = crate::logging::init(&args.log_level, &args.log_format);
    let config = match &args.config_file {
        Some(p) => Config::load(p)?,
        None => Config::embedded_default(&args.listen_address)?,
    };
    let opts = db_options(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(run_async(args, config, opts))
}

async fn run_async(args: RunArgs, config: Config, opts: DbOptions) -> Result<()> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %args.config_file.as_ref().map_or("embedded default".to_string(), |p| p.display().to_string()),
        scrape_jobs = config.scrape_configs.len(),
        "starting vane"
    );
    let mut signals = Signals::new()?;
    let registry = Arc::new(Registry::new());
    telemetry::register(&registry);
    let listener = TcpListener::bind(&args.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen_address))?;
    tracing::info!(address = %args.listen_address, "listening");
    let ready = Arc::new(AtomicBool::new(false));
    let http_stop = CancellationToken::new();
    let state = HttpState {
        registry: registry.clone(),
        ready: ready.clone(),
    };
    let mut http_task = tokio::spawn(http::serve(listener, state, http_stop.clone()));

    let dir = args.storage_path.clone();
    let reg = registry.clone();
    let db = tokio::task::spawn_blocking(move || Db::open(&dir, opts, &reg))
        .await?
        .with_context(|| format!("cannot open the store in {}", args.storage_path.display()))?;
    ready.store(true, Ordering::Release);
    tracing::info!(dir = %args.storage_path.display(), series = db.head().num_series(), blocks = db.blocks().len(), "store ready");

    let maint_stop = CancellationToken::new();
    let maint_task = tokio::spawn(maintenance(db.clone(), maint_stop.clone()));

    let outcome = tokio::select! {
        s = signals.recv() => {
            tracing::info!(signal = s, "shutting down");
            Ok(())
        }
        r = &mut http_task => Err(anyhow!("HTTP server stopped: {:?}", r.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())))),
    };

    // Ingest, rules and autoscalers stop here once they exist; then the API; the store last.
    http_stop.cancel();
    if !http_task.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(10), http_task).await;
    }
    maint_stop.cancel();
    let _ = maint_task.await;
    tokio::task::spawn_blocking(move || db.close())
        .await?
        .context("closing the store")?;
    tracing::info!("store closed; bye");
    outcome
}

/// Runs compaction and retention every minute, off the async threads.
async fn maintenance(db: Arc<Db>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; skip it
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.maintenance()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "store maintenance failed; will retry"),
            Err(e) => tracing::error!(error = %e, "store maintenance panicked"),
        }
    }
}

/// SIGINT and SIGTERM, installed before the store opens so a signal during replay is not
/// fatal: it is handled once the store is up.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}
