//! A job's scrape pool: its discovery, its targets and their loops.

use std::collections::HashMap;
use std::sync::Arc;

use model::Labels;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::append::SampleRules;
use super::target_loop::{JobSettings, LoopConfig, LoopHandle, Sink};
use super::{ActiveTarget, DroppedTarget, ScrapeMetrics};
use crate::config::{ScrapeConfig, TargetGroup};
use crate::discovery::JobDiscovery;
use crate::target::{Outcome, Target, targets_from_groups};

/// What the sync task works from: the job's settings and the channel of its current
/// discovery (`None` until that discovery has published once).
struct SettingsInner {
    cfg: ScrapeConfig,
    job: Arc<JobSettings>,
    groups: watch::Receiver<Option<Vec<TargetGroup>>>,
}

type Settings = Arc<SettingsInner>;

#[derive(Default)]
struct State {
    loops: HashMap<u64, (Target, LoopHandle)>,
    /// Keys of the active targets, in discovery order.
    order: Vec<u64>,
    dropped: Vec<Labels>,
}

pub(super) struct Pool {
    cfg: ScrapeConfig,
    state: Arc<Mutex<State>>,
    groups: watch::Receiver<Option<Vec<TargetGroup>>>,
    settings: watch::Sender<Settings>,
    discovery_stop: CancellationToken,
    /// Parent of the sync task and of every loop.
    stop: CancellationToken,
    sync_task: JoinHandle<()>,
    metrics: Arc<ScrapeMetrics>,
}

/// Tokens a pool runs under: `stop` ends this pool; `shutdown` ends Vane (no staleness
/// markers are written once it is cancelled).
pub(super) struct PoolTokens {
    pub stop: CancellationToken,
    pub shutdown: CancellationToken,
}

fn settings(
    cfg: &ScrapeConfig,
    client: reqwest::Client,
    groups: watch::Receiver<Option<Vec<TargetGroup>>>,
) -> Settings {
    let job = JobSettings {
        client,
        http: cfg.http_client(),
        rules: SampleRules {
            honor_labels: cfg.honor_labels,
            honor_timestamps: cfg.honor_timestamps,
            metric_relabel_configs: cfg.metric_relabel_configs.clone(),
            sample_limit: cfg.sample_limit,
            label_limit: cfg.label_limit,
            label_name_length_limit: cfg.label_name_length_limit,
            label_value_length_limit: cfg.label_value_length_limit,
        },
        body_limit: cfg
            .body_size_limit_bytes()
            .unwrap_or(crate::config::DEFAULT_BODY_SIZE_LIMIT),
    };
    Arc::new(SettingsInner {
        cfg: cfg.clone(),
        job: Arc::new(job),
        groups,
    })
}

/// Starts a discovery on a channel of its own, so a replaced discovery that is still finishing
/// a refresh can never publish into its successor's place.
fn start_discovery(
    cfg: &ScrapeConfig,
    stop: CancellationToken,
) -> watch::Receiver<Option<Vec<TargetGroup>>> {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(JobDiscovery::new(cfg).run(tx, stop));
    rx
}

fn same_discovery(a: &ScrapeConfig, b: &ScrapeConfig) -> bool {
    a.static_configs == b.static_configs
        && a.file_sd_configs == b.file_sd_configs
        && a.http_sd_configs == b.http_sd_configs
}

impl Pool {
    pub fn start(
        cfg: ScrapeConfig,
        client: reqwest::Client,
        sink: Sink,
        metrics: Arc<ScrapeMetrics>,
        tokens: PoolTokens,
    ) -> Pool {
        let PoolTokens { stop, shutdown } = tokens;
        let discovery_stop = stop.child_token();
        let groups = start_discovery(&cfg, discovery_stop.clone());
        let (settings_tx, settings_rx) = watch::channel(settings(&cfg, client, groups.clone()));
        let state = Arc::new(Mutex::new(State::default()));
        let sync_task = tokio::spawn(sync_loop(
            settings_rx,
            state.clone(),
            sink,
            metrics.clone(),
            stop.clone(),
            shutdown,
        ));
        Pool {
            cfg,
            state,
            groups,
            settings: settings_tx,
            discovery_stop,
            stop,
            sync_task,
            metrics,
        }
    }

    pub fn job(&self) -> &str {
        &self.cfg.job_name
    }

    /// Applies a changed configuration of the same job; an identical one changes nothing.
    pub fn update(&mut self, cfg: &ScrapeConfig, client: reqwest::Client) {
        if *cfg == self.cfg {
            return;
        }
        if !same_discovery(cfg, &self.cfg) {
            self.discovery_stop.cancel();
            self.discovery_stop = self.stop.child_token();
            self.groups = start_discovery(cfg, self.discovery_stop.clone());
        }
        self.settings
            .send_replace(settings(cfg, client, self.groups.clone()));
        self.cfg = cfg.clone();
    }

    /// Stops discovery and every loop; with `stale`, their series are marked stale.
    pub fn stop(&self, stale: bool) {
        // Each loop learns whether to write markers before any token it listens to fires.
        let mut st = self.state.lock();
        for (_, h) in st.loops.values() {
            h.stop(stale);
        }
        self.stop.cancel();
        self.metrics.active_targets.add(-(st.order.len() as f64));
        self.metrics.dropped_targets.add(-(st.dropped.len() as f64));
        st.order.clear();
        st.dropped.clear();
    }

    /// Waits for the loops to finish (after [`Pool::stop`]).
    pub async fn join(self) {
        let _ = self.sync_task.await;
        let loops: Vec<LoopHandle> = {
            let mut st = self.state.lock();
            st.order.clear();
            st.loops.drain().map(|(_, (_, h))| h).collect()
        };
        for h in loops {
            h.join().await;
        }
    }

    pub fn snapshot(&self, active: &mut Vec<ActiveTarget>, dropped: &mut Vec<DroppedTarget>) {
        let st = self.state.lock();
        for k in &st.order {
            let Some((t, h)) = st.loops.get(k) else {
                continue;
            };
            let s = h.status.lock().clone();
            active.push(ActiveTarget {
                job: self.cfg.job_name.clone(),
                labels: t.labels.clone(),
                discovered: t.discovered.clone(),
                url: t.url.clone(),
                interval: t.interval,
                timeout: t.timeout,
                health: s.health,
                last_error: s.last_error,
                last_scrape: s.last_scrape,
                last_duration: s.last_duration,
                metadata: s.metadata,
            });
        }
        dropped.extend(st.dropped.iter().map(|d| DroppedTarget {
            job: self.cfg.job_name.clone(),
            discovered: d.clone(),
        }));
    }
}

async fn sync_loop(
    mut settings: watch::Receiver<Settings>,
    state: Arc<Mutex<State>>,
    sink: Sink,
    metrics: Arc<ScrapeMetrics>,
    stop: CancellationToken,
    shutdown: CancellationToken,
) {
    let mut groups = settings.borrow().groups.clone();
    // The groups last published by a discovery: a new discovery that has not published yet
    // leaves the targets as they are.
    let mut current: Option<Vec<TargetGroup>> = None;
    let mut groups_open = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            r = groups.changed(), if groups_open => {
                if r.is_err() {
                    groups_open = false;
                    continue;
                }
            }
            r = settings.changed() => if r.is_err() { return },
        }
        let s = settings.borrow_and_update().clone();
        if !groups.same_channel(&s.groups) {
            groups = s.groups.clone();
            groups_open = true;
        }
        if let Some(g) = groups.borrow_and_update().clone() {
            current = Some(g);
        }
        let Some(g) = &current else { continue };
        let mut st = state.lock();
        if stop.is_cancelled() {
            return;
        }
        sync(&mut st, &s, g, &sink, &metrics, (&stop, &shutdown));
    }
}

/// Brings the loops in line with the job's settings and groups.
fn sync(
    st: &mut State,
    settings: &Settings,
    groups: &[TargetGroup],
    sink: &Sink,
    metrics: &Arc<ScrapeMetrics>,
    (stop, shutdown): (&CancellationToken, &CancellationToken),
) {
    let (cfg, job) = (&settings.cfg, &settings.job);
    let (outcomes, errors) = targets_from_groups(cfg, groups);
    for e in errors {
        tracing::warn!(job = %cfg.job_name, error = %e, "dropping an invalid target");
    }
    let mut active: Vec<Target> = Vec::new();
    let mut dropped = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for o in outcomes {
        match o {
            Outcome::Active(t) => {
                if seen.insert(t.key()) {
                    active.push(t);
                }
            }
            Outcome::Dropped(l) => dropped.push(l),
        }
    }
    let forced_error =
        (cfg.target_limit > 0 && active.len() as u64 > cfg.target_limit).then(|| {
            format!(
                "target_limit exceeded (number of targets: {}, limit: {})",
                active.len(),
                cfg.target_limit
            )
        });
    let old_active = st.order.len() as f64;
    let old_dropped = st.dropped.len() as f64;
    // Loops of targets that went away stop and mark their series stale.
    st.loops.retain(|k, (_, h)| {
        let keep = seen.contains(k);
        if !keep {
            h.stop(true);
        }
        keep
    });
    st.order.clear();
    for t in active {
        let key = t.key();
        let lc = Arc::new(LoopConfig {
            target: t.clone(),
            job: job.clone(),
            forced_error: forced_error.clone(),
        });
        match st.loops.get_mut(&key) {
            Some((old, h)) => {
                let cur = h.cfg.borrow().clone();
                if *old != t || !Arc::ptr_eq(&cur.job, job) || cur.forced_error != forced_error {
                    h.cfg.send_replace(lc);
                    *old = t;
                }
            }
            None => {
                let h =
                    LoopHandle::start(lc, sink.clone(), metrics.clone(), stop, shutdown.clone());
                st.loops.insert(key, (t, h));
            }
        }
        st.order.push(key);
    }
    st.dropped = dropped;
    metrics
        .active_targets
        .add(st.order.len() as f64 - old_active);
    metrics
        .dropped_targets
        .add(st.dropped.len() as f64 - old_dropped);
}
