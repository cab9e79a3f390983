//! `vane run`: wiring and lifecycle.
//!
//! Start-up: logging, configuration, self-telemetry, the HTTP listener (so `/-/healthy`
//! answers at once and `/-/ready` says 503 while the store replays) and the gRPC listener
//! (`--grpc.listen-address`; either failing to bind stops the start), then the store, then
//! remote write (it reads the WAL, so it starts before anything new is written), then the
//! scrape manager, the rule manager, the autoscalers with the gRPC services over them, and
//! the periodic store maintenance. SIGHUP and `POST /-/reload` reload the
//! configuration: a file that does not load is refused and the running one stays.
//!
//! Shutdown on SIGINT, SIGTERM or `POST /-/quit`, in order: `/-/ready` turns 503, ingest stops
//! (scrape loops finish their batches), then rules and autoscalers, then alert delivery,
//! then remote write (it sends what the WAL holds, up to `--storage.remote.flush-deadline`, and
//! saves its positions), then the HTTP and gRPC servers (in-flight requests finish, open gRPC
//! streams end with `UNAVAILABLE`), then maintenance,
//! and the store last, which syncs and closes its files so nothing acknowledged is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use model::metrics::{Gauge, Registry};
use model::storage::Queryable;
use scraper::scrape::ScrapeManager;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tsdb::agent::{AgentDb, AgentOptions};
use tsdb::wal::SyncPolicy;
use tsdb::{Db, DbOptions};

use crate::cli::RunArgs;
use crate::config::Config;
use crate::http::{self, HttpState, ReloadRequest};
use crate::memory;
use crate::status::DaemonStatus;
use crate::storage::Storage;
use crate::telemetry;

/// How often compaction and retention run.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

/// Store options from the flags.
pub fn db_options(args: &RunArgs) -> Result<DbOptions> {
    let retention_ms = model::duration::parse_duration_ms(&args.retention_time)
        .map_err(|e| anyhow!("--storage.tsdb.retention.time: {e}"))?;
    let size = model::size::parse_bytes(&args.retention_size)
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

/// Agent storage options and the truncation interval from the `--storage.agent.*` flags.
pub fn agent_options(args: &RunArgs) -> Result<(AgentOptions, Duration)> {
    let ms = |flag: &str, v: &str| {
        model::duration::parse_duration_ms(v)
            .map(|d| d as i64)
            .map_err(|e| anyhow!("--{flag}: {e}"))
    };
    let min = ms("storage.agent.retention.min-time", &args.agent_min_time)?;
    let max = ms("storage.agent.retention.max-time", &args.agent_max_time)?;
    if max < min {
        return Err(anyhow!(
            "--storage.agent.retention.max-time must not be less than --storage.agent.retention.min-time"
        ));
    }
    let every = model::duration::parse_duration(&args.agent_truncate_frequency)
        .map_err(|e| anyhow!("--storage.agent.wal-truncate-frequency: {e}"))?;
    if every.is_zero() {
        return Err(anyhow!(
            "--storage.agent.wal-truncate-frequency: must be greater than zero"
        ));
    }
    let mut o = AgentOptions {
        min_wal_time_ms: min,
        max_wal_time_ms: max,
        ..AgentOptions::default()
    };
    o.wal.sync = db_options(args)?.head.wal.sync;
    Ok((o, every))
}

/// `--storage.remote.flush-deadline`.
pub fn remote_flush_deadline(args: &RunArgs) -> Result<Duration> {
    model::duration::parse_duration(&args.remote_flush_deadline)
        .map_err(|e| anyhow!("--storage.remote.flush-deadline: {e}"))
}

/// The PromQL engine's options from the `--query.*` flags.
pub fn engine_options(args: &RunArgs) -> Result<promql::EngineOptions> {
    let timeout = model::duration::parse_duration(&args.query_timeout)
        .map_err(|e| anyhow!("--query.timeout: {e}"))?;
    let lookback = model::duration::parse_duration_ms(&args.query_lookback_delta)
        .map_err(|e| anyhow!("--query.lookback-delta: {e}"))?;
    if lookback == 0 {
        return Err(anyhow!("--query.lookback-delta: must be positive"));
    }
    Ok(promql::EngineOptions {
        timeout,
        max_samples: args.query_max_samples,
        lookback_delta_ms: lookback as i64,
        ..promql::EngineOptions::default()
    })
}

/// The remote write and read endpoints' settings from the flags.
pub fn remote_options(args: &RunArgs) -> crate::remote::Options {
    crate::remote::Options {
        receive: args.enable_remote_write_receiver,
        read_sample_limit: args.remote_read_sample_limit,
        read_concurrent_limit: args.remote_read_concurrent_limit,
        read_max_bytes_in_frame: usize::try_from(args.remote_read_max_bytes_in_frame)
            .unwrap_or(usize::MAX),
    }
}

/// Runs the daemon until a signal stops it.
pub fn run(args: RunArgs) -> Result<()> {
    let _ = crate::logging::init(&args.log_level, &args.log_format);
    let config = load_config(&args)?;
    let opts = db_options(&args)?;
    if args.agent {
        agent_options(&args)?;
        if !args.grpc_listen_address.is_empty() {
            return Err(anyhow!(
                "--grpc.listen-address is not allowed in agent mode: an agent runs no autoscalers"
            ));
        }
    }
    engine_options(&args)?;
    remote_flush_deadline(&args)?;
    let grpc_tls = grpc_tls(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Query evaluation recurses over the query's tree (bounded by promql::MAX_DEPTH).
        .thread_stack_size(8 << 20)
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(run_async(args, config, opts, grpc_tls))
}

async fn run_async(
    args: RunArgs,
    config: Config,
    opts: DbOptions,
    grpc_tls: Option<autoscaler::grpc::ServerTls>,
) -> Result<()> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        mode = if args.agent { "agent" } else { "server" },
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
    let grpc_listener = match args.grpc_listen_address.as_str() {
        "" => None,
        a => {
            let l = TcpListener::bind(a)
                .await
                .with_context(|| format!("cannot listen for gRPC on {a}"))?;
            tracing::info!(
                address = a,
                "listening for gRPC (KEDA external scaler, vane.autoscaler.v1)"
            );
            Some(l)
        }
    };
    let ready = Arc::new(AtomicBool::new(false));
    let http_stop = CancellationToken::new();
    let quit = CancellationToken::new();
    let store_slot: Arc<OnceLock<Arc<dyn Queryable>>> = Arc::new(OnceLock::new());
    let storage_slot: Arc<OnceLock<Storage>> = Arc::new(OnceLock::new());
    let remote = Arc::new(crate::remote::Remote::new(
        storage_slot.clone(),
        ready.clone(),
        remote_options(&args),
        &config.global.external_labels,
        &registry,
    ));
    let status = Arc::new(DaemonStatus::new(&args, &config.text));
    let mut api = api::Api::new(
        promql::Engine::new(engine_options(&args)?),
        store_slot.clone(),
        args.query_max_concurrency,
        &registry,
        status.clone(),
    );
    api.admin = args.enable_admin_api;
    api.agent = args.agent;
    let api = Arc::new(api);
    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let state = HttpState {
        registry: registry.clone(),
        ready: ready.clone(),
        reload: reload_tx,
        lifecycle: args.enable_lifecycle,
        quit: quit.clone(),
        api,
        remote: remote.clone(),
    };
    let mut http_task = tokio::spawn(http::serve(listener, state, http_stop.clone()));

    let storage = open_storage(&args, opts, &registry).await?;
    let remote_write = Arc::new(crate::remote::write::RemoteWrite::new(
        &storage,
        registry.clone(),
        tokio::runtime::Handle::current(),
        remote_flush_deadline(&args)?,
    ));
    remote_write
        .apply(&config.remote_write, &config.global.external_labels)
        .map_err(|e| anyhow!("cannot start remote write: {e}"))?;
    // Each destination knows where in the WAL it starts before anything new is written.
    remote_write.settled().await;

    let scrape = Arc::new(ScrapeManager::new(storage.appendable(), &registry));
    let reloads = ReloadMetrics::new(&registry);
    scrape
        .apply(&config.scrape_configs)
        .map_err(|e| anyhow!("cannot start scraping: {e}"))?;
    reloads.record(true);
    let eval = match storage.full() {
        Some(db) => Some(Evaluation::start(&args, &config, db, &registry, &scrape)?),
        None => None,
    };
    if let (Some(db), Some(e)) = (storage.full(), &eval) {
        let _ = store_slot.set(db.clone());
        status.set_rules(e.rules.clone());
        status.set_notifier(e.notifier.clone());
        status.set_autoscalers(e.autoscalers.clone());
    }
    let grpc_stop = CancellationToken::new();
    let grpc = grpc_listener.zip(eval.as_ref().map(|e| e.autoscalers.clone()));
    let mut grpc_task = tokio::spawn(serve_grpc(grpc, grpc_tls, grpc_stop.clone()));
    let _ = storage_slot.set(storage.clone());
    status.set_storage(storage.clone());
    status.set_scrape(scrape.clone());
    ready.store(true, Ordering::Release);

    let maint_stop = CancellationToken::new();
    let maint_task = match &storage {
        Storage::Full(db) => tokio::spawn(maintenance(db.clone(), maint_stop.clone())),
        Storage::Agent(a) => tokio::spawn(truncate_agent(
            a.clone(),
            remote_write.clone(),
            agent_options(&args)?.1,
            maint_stop.clone(),
        )),
    };

    let release_metrics = Arc::new(memory::ReleaseMetrics::new(&registry));
    let release_task = tokio::spawn(periodically(
        memory::INTERVAL,
        maint_stop.clone(),
        "memory release",
        move || {
            let m = release_metrics.clone();
            tokio::task::spawn_blocking(move || {
                m.release();
                Ok(())
            })
        },
    ));

    let outcome = loop {
        tokio::select! {
            s = signals.recv() => match s {
                "SIGHUP" => {
                    if let Err(e) = reload(&args, (&scrape, &remote, &remote_write), eval.as_ref(), &reloads, &status) {
                        tracing::error!(error = %e, "configuration reload failed; the running configuration stays");
                    }
                }
                s => {
                    tracing::info!(signal = s, "shutting down");
                    break Ok(());
                }
            },
            Some(answer) = reload_rx.recv() => {
                let r = reload(&args, (&scrape, &remote, &remote_write), eval.as_ref(), &reloads, &status);
                if let Err(e) = &r {
                    tracing::error!(error = %e, "configuration reload failed; the running configuration stays");
                }
                let _ = answer.send(r);
            }
            _ = quit.cancelled() => {
                tracing::info!("shutting down on request of /-/quit");
                break Ok(());
            }
            r = &mut http_task => break Err(anyhow!("HTTP server stopped: {:?}", r.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())))),
            r = &mut grpc_task => break Err(anyhow!("gRPC server stopped: {:?}", r.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())))),
        }
    };

    // Ingest first (each loop commits or drops its batch), then rules and autoscalers (pending
    // pushes to targets are abandoned), then the HTTP and gRPC APIs; the store last.
    ready.store(false, Ordering::Release);
    scrape.stop().await;
    tracing::info!("scrapers stopped");
    if let Some(e) = &eval {
        e.rules.stop();
        e.autoscalers.stop();
        // Alerts still queued get a few seconds to reach the Alertmanagers.
        e.notifier.stop(Duration::from_secs(5)).await;
    }
    remote_write.stop().await;
    tracing::info!("remote write stopped");
    http_stop.cancel();
    grpc_stop.cancel();
    if !http_task.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(10), http_task).await;
    }
    if !grpc_task.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(10), grpc_task).await;
    }
    maint_stop.cancel();
    let _ = maint_task.await;
    let _ = release_task.await;
    tokio::task::spawn_blocking(move || storage.close())
        .await?
        .context("closing the store")?;
    tracing::info!("store closed; bye");
    outcome
}

/// Serves KEDA's external scaler and Vane's `Autoscaler` service on the listener over the
/// live controller (a reload changes the autoscalers it shows, not the server) until `stop`;
/// without them (no `--grpc.listen-address`), only waits for `stop`.
async fn serve_grpc(
    grpc: Option<(TcpListener, Arc<autoscaler::controller::Controller>)>,
    tls: Option<autoscaler::grpc::ServerTls>,
    stop: CancellationToken,
) -> Result<(), autoscaler::Error> {
    match grpc {
        Some((l, autoscalers)) => {
            autoscaler::grpc::serve_listener(l, autoscalers, tls, stop.cancelled_owned()).await
        }
        None => {
            stop.cancelled().await;
            Ok(())
        }
    }
}

/// The gRPC server's TLS from `--grpc.tls-*`: `None` for plaintext; files that are missing,
/// unreadable or not a usable certificate and key stop the start.
fn grpc_tls(args: &RunArgs) -> Result<Option<autoscaler::grpc::ServerTls>> {
    let (cert, key, ca) = (
        args.grpc_tls_cert_file.as_str(),
        args.grpc_tls_key_file.as_str(),
        args.grpc_tls_client_ca_file.as_str(),
    );
    if cert.is_empty() && key.is_empty() && ca.is_empty() {
        return Ok(None);
    }
    if cert.is_empty() || key.is_empty() {
        return Err(anyhow!(
            "--grpc.tls-cert-file and --grpc.tls-key-file go together (--grpc.tls-client-ca-file needs both)"
        ));
    }
    if args.grpc_listen_address.is_empty() {
        return Err(anyhow!(
            "--grpc.tls-cert-file needs --grpc.listen-address (no gRPC server otherwise)"
        ));
    }
    let read = |flag: &str, path: &str| {
        std::fs::read(path).with_context(|| format!("--grpc.{flag} {path}"))
    };
    let tls = autoscaler::grpc::ServerTls {
        cert_pem: read("tls-cert-file", cert)?,
        key_pem: read("tls-key-file", key)?,
        client_ca_pem: (!ca.is_empty())
            .then(|| read("tls-client-ca-file", ca))
            .transpose()?,
    };
    tls.check().map_err(|e| {
        anyhow!("gRPC TLS (--grpc.tls-cert-file {cert}, --grpc.tls-key-file {key}): {e}")
    })?;
    Ok(Some(tls))
}

/// Runs `work` every `every` (not at once) until `stop`; `what` names it in the log when it
/// fails. `work` is a blocking task's handle.
async fn periodically<F, Fut>(every: Duration, stop: CancellationToken, what: &str, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tsdb::Result<()>, tokio::task::JoinError>>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; skip it
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match work().await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "{what} failed; will retry"),
            Err(e) => tracing::error!(error = %e, "{what} panicked"),
        }
    }
}

/// Runs compaction and retention every minute, off the async threads.
async fn maintenance(db: Arc<Db>, stop: CancellationToken) {
    periodically(MAINTENANCE_INTERVAL, stop, "store maintenance", || {
        let db = db.clone();
        tokio::task::spawn_blocking(move || db.maintenance())
    })
    .await
}

/// Truncates agent storage's WAL every `every`, behind what remote write still needs (the
/// destinations' saved positions, read just before).
async fn truncate_agent(
    agent: Arc<AgentDb>,
    remote_write: Arc<crate::remote::write::RemoteWrite>,
    every: Duration,
    stop: CancellationToken,
) {
    periodically(every, stop, "agent WAL truncation", || {
        let (a, rw) = (agent.clone(), remote_write.clone());
        async move {
            let needed = rw.needed_from().await;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            tokio::task::spawn_blocking(move || a.truncate(now, needed).map(|_| ())).await
        }
    })
    .await
}

/// `vane_config_last_reload_*`, as Prometheus reports its reloads.
struct ReloadMetrics {
    successful: Arc<Gauge>,
    success_time: Arc<Gauge>,
}

impl ReloadMetrics {
    fn new(r: &Registry) -> Self {
        ReloadMetrics {
            successful: r.gauge(
                "vane_config_last_reload_successful",
                "Whether the last configuration reload attempt was successful.",
            ),
            success_time: r.gauge(
                "vane_config_last_reload_success_timestamp_seconds",
                "Timestamp of the last successful configuration reload.",
            ),
        }
    }

    fn record(&self, ok: bool) {
        self.successful.set(if ok { 1.0 } else { 0.0 });
        if ok {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            self.success_time.set(now.as_secs_f64());
        }
    }
}

/// Loads the configuration again and applies it; on any error the running one stays.
fn reload(
    args: &RunArgs,
    (scrape, remote, remote_write): (
        &ScrapeManager,
        &crate::remote::Remote,
        &crate::remote::write::RemoteWrite,
    ),
    eval: Option<&Evaluation>,
    m: &ReloadMetrics,
    status: &DaemonStatus,
) -> Result<(), String> {
    let config = load_config(args).map_err(|e| format!("{e:#}"));
    let r = config.and_then(|c| {
        // Remote write builds every destination's client before it changes anything.
        remote_write.apply(&c.remote_write, &c.global.external_labels)?;
        if let Some(e) = eval {
            e.apply(&c)?;
        }
        scrape.apply(&c.scrape_configs)?;
        remote.set_external_labels(&c.global.external_labels);
        tracing::info!(
            scrape_jobs = c.scrape_configs.len(),
            "configuration reloaded"
        );
        Ok(c.text)
    });
    m.record(r.is_ok());
    status.record_reload(r.as_deref().ok());
    r.map(|_| ())
}

/// The configuration file (or the embedded default), checked for agent mode if it is on.
fn load_config(args: &RunArgs) -> Result<Config> {
    let c = match args.config_file.as_ref() {
        Some(p) => Config::load(p)?,
        None => Config::embedded_default(&args.listen_address)?,
    };
    if args.agent {
        c.check_agent()?;
    }
    Ok(c)
}

/// Opens the full store, or agent storage with `--agent`, off the async threads.
async fn open_storage(
    args: &RunArgs,
    opts: DbOptions,
    registry: &Arc<Registry>,
) -> Result<Storage> {
    let reg = registry.clone();
    let storage = if args.agent {
        let dir = args.agent_path.clone();
        let (o, _) = agent_options(args)?;
        let a = tokio::task::spawn_blocking(move || AgentDb::open(&dir, o, &reg))
            .await?
            .with_context(|| {
                format!("cannot open agent storage in {}", args.agent_path.display())
            })?;
        tracing::info!(dir = %args.agent_path.display(), series = a.num_series(), "agent storage ready");
        Storage::Agent(a)
    } else {
        let dir = args.storage_path.clone();
        let db = tokio::task::spawn_blocking(move || Db::open(&dir, opts, &reg))
            .await?
            .with_context(|| format!("cannot open the store in {}", args.storage_path.display()))?;
        tracing::info!(dir = %args.storage_path.display(), series = db.head().num_series(), blocks = db.blocks().len(), "store ready");
        Storage::Full(db)
    };
    Ok(storage)
}

/// What runs beside the full store only: rules, alert delivery and autoscalers.
struct Evaluation {
    notifier: Arc<alerting::notify::Notifier>,
    rules: Arc<alerting::rules::Manager>,
    autoscalers: Arc<autoscaler::controller::Controller>,
    local_engine: Arc<dyn alerting::QueryEngine>,
    /// Its scrapes wake the autoscalers.
    scrape: Arc<ScrapeManager>,
}

impl Evaluation {
    fn start(
        args: &RunArgs,
        config: &Config,
        db: &Arc<Db>,
        registry: &Arc<Registry>,
        scrape: &Arc<ScrapeManager>,
    ) -> Result<Evaluation> {
        let notifier = crate::rules::notifier(args, config, registry);
        crate::rules::apply_alerting(&notifier, config)
            .map_err(|e| anyhow!("cannot start alert delivery: {e}"))?;
        notifier.start(&tokio::runtime::Handle::current());
        let n = notifier.clone();
        let notify: Arc<dyn Fn(Vec<alerting::notify::Alert>) + Send + Sync> =
            Arc::new(move |alerts| n.send(alerts));
        let local_engine = crate::rules::local_engine(args, db.clone())?;
        let rules = crate::rules::manager(
            args,
            config,
            db.clone(),
            &local_engine,
            notify,
            registry,
            tokio::runtime::Handle::current(),
        )?;
        crate::rules::apply(&rules, config, &local_engine)
            .map_err(|e| anyhow!("cannot start rule evaluation: {e}"))?;
        let autoscalers =
            crate::autoscalers::controller(config, db.clone(), &local_engine, registry)?;
        crate::autoscalers::apply(&autoscalers, config, &local_engine, scrape)
            .map_err(|e| anyhow!("cannot start the autoscalers: {e}"))?;
        Ok(Evaluation {
            notifier,
            rules,
            autoscalers,
            local_engine,
            scrape: scrape.clone(),
        })
    }

    /// Applies a reloaded configuration (rule files are all read and checked before any
    /// rule changes).
    fn apply(&self, c: &Config) -> Result<(), String> {
        crate::rules::apply_alerting(&self.notifier, c)?;
        crate::rules::apply(&self.rules, c, &self.local_engine)?;
        crate::autoscalers::apply(&self.autoscalers, c, &self.local_engine, &self.scrape)
    }
}

/// SIGINT, SIGTERM and SIGHUP, installed before the store opens so a signal during replay is
/// not fatal: it is handled once the store is up.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            hup: signal(SignalKind::hangup()).context("installing the SIGHUP handler")?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}
