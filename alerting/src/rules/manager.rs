//! The rule manager: loads rule files into groups and runs one task per group.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use model::metrics::Registry;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use super::{Group, GroupMetrics, RuleEnv, now_ms};
use crate::rulefmt;

/// Settings that come from the configuration and change on reload.
#[derive(Debug, Clone, Default)]
pub struct ManagerOptions {
    /// `global.evaluation_interval`: for groups without their own `interval`.
    pub default_interval: Duration,
    /// `global.rule_query_offset`: for groups without their own `query_offset`.
    pub default_query_offset: Duration,
}

struct Running {
    group: Arc<Group>,
    stop: watch::Sender<bool>,
}

/// The environment every group task reads at each evaluation (replaced on reload).
type SharedEnv = Arc<RwLock<Arc<RuleEnv>>>;

pub struct Manager {
    env: SharedEnv,
    groups: Mutex<Vec<Running>>,
    metrics: GroupMetrics,
    rt: tokio::runtime::Handle,
    /// Set once the first set of rules was loaded: only groups loaded at start-up restore
    /// their `for` state.
    loaded_once: AtomicBool,
}

impl Manager {
    pub fn new(env: RuleEnv, registry: &Registry, rt: tokio::runtime::Handle) -> Arc<Manager> {
        Arc::new(Manager {
            env: Arc::new(RwLock::new(Arc::new(env))),
            groups: Mutex::new(Vec::new()),
            metrics: GroupMetrics::new(registry),
            rt,
            loaded_once: AtomicBool::new(false),
        })
    }

    /// The groups currently running, in file and then file order.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.groups.lock().iter().map(|r| r.group.clone()).collect()
    }

    /// Changes external labels and URL (a reload); applies from the next evaluation.
    pub fn set_env(&self, f: impl FnOnce(&mut RuleEnv)) {
        let mut w = self.env.write();
        let cur = &**w;
        let mut next = RuleEnv {
            query: cur.query.clone(),
            appendable: cur.appendable.clone(),
            queryable: cur.queryable.clone(),
            notify: cur.notify.clone(),
            external_labels: cur.external_labels.clone(),
            external_url: cur.external_url.clone(),
            resend_delay: cur.resend_delay,
            outage_tolerance: cur.outage_tolerance,
            for_grace_period: cur.for_grace_period,
        };
        f(&mut next);
        *w = Arc::new(next);
    }

    /// Loads `files` (already expanded from `rule_files` globs) and replaces the running
    /// groups. All files are read and checked first: if any has an error nothing changes and
    /// every error is returned. Groups that did not change keep running; changed ones take
    /// over the alert state of their unchanged rules; removed ones stop, and their series
    /// get staleness markers.
    pub fn update(&self, files: &[PathBuf], opts: &ManagerOptions) -> Result<(), Vec<String>> {
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        let restore = !self.loaded_once.load(Ordering::Acquire);
        for f in files {
            match rulefmt::parse_file(f) {
                Ok(groups) => loaded.push((f.clone(), groups)),
                Err(errs) => errors.extend(errs.iter().map(|e| e.to_string())),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut fresh = Vec::new();
        for (file, groups) in loaded {
            for g in groups.groups {
                fresh.push(self.build_group(&file, g, opts, restore));
            }
        }
        self.loaded_once.store(true, Ordering::Release);

        let mut running = self.groups.lock();
        let mut old: Vec<Running> = std::mem::take(&mut *running);
        for g in fresh {
            let pos = old
                .iter()
                .position(|r| r.group.file == g.file && r.group.name == g.name);
            match pos {
                Some(p) => {
                    let prev = old.remove(p);
                    if g.copy_state_from(&prev.group) {
                        // Unchanged: keep the running task (and its timing).
                        running.push(prev);
                        continue;
                    }
                    let _ = prev.stop.send(true);
                    running.push(self.start(Arc::new(g)));
                }
                None => running.push(self.start(Arc::new(g))),
            }
        }
        let env = self.env.read().clone();
        for gone in old {
            let _ = gone.stop.send(true);
            gone.group.mark_stale(now_ms(), &env);
            gone.group.forget_metrics();
            tracing::info!(group = %gone.group.name, file = %gone.group.file, "rule group removed");
        }
        Ok(())
    }

    fn build_group(
        &self,
        file: &Path,
        g: rulefmt::RuleGroup,
        opts: &ManagerOptions,
        restore: bool,
    ) -> Group {
        let group = Group::from_rule_group(
            &file.display().to_string(),
            g,
            opts,
            !restore,
            &self.metrics,
        );
        group.should_restore.store(restore, Ordering::Release);
        group
    }

    fn start(&self, group: Arc<Group>) -> Running {
        let (stop, rx) = watch::channel(false);
        self.rt
            .spawn(run_group(group.clone(), rx, self.env.clone()));
        Running { group, stop }
    }

    /// Stops every group (at shutdown). Their series are left as they are: a restart picks
    /// them up again.
    pub fn stop(&self) {
        for r in self.groups.lock().drain(..) {
            let _ = r.stop.send(true);
        }
    }
}

/// One group's schedule: the first evaluation at the next aligned time, then one per
/// interval; evaluations that could not start on time are counted as missed and skipped.
/// Groups loaded at start-up restore `for` state after their second evaluation, when
/// recording rules they depend on have had a chance to write fresh data.
async fn run_group(group: Arc<Group>, mut stop: watch::Receiver<bool>, env: SharedEnv) {
    let iv = super::ms(group.interval).max(1);
    let mut ts = group.eval_timestamp(now_ms()) + iv;
    let mut evaluated = 0u32;
    loop {
        let wait = (ts - now_ms()).max(0) as u64;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let cur = env.read().clone();
        let (g, e) = (group.clone(), cur.clone());
        let _ = tokio::task::spawn_blocking(move || g.eval(ts, &e)).await;
        evaluated += 1;
        if evaluated == 2 && group.should_restore.load(Ordering::Acquire) {
            let (g, e) = (group.clone(), cur);
            let _ = tokio::task::spawn_blocking(move || g.restore_for_state(now_ms(), &e)).await;
        }
        // The next slot; slots that passed while this one ran are missed.
        let now = now_ms();
        let missed = ((now - ts) / iv - 1).max(0);
        group.count_iterations(missed as u64);
        ts += (missed + 1) * iv;
    }
}
