//! The controller: runs every configured autoscaler on its interval.
//!
//! Per autoscaler, one evaluation task queries the load signal (and, if configured, the
//! current replica count) through the injected [`SignalSource`], asks the target for the
//! current count otherwise, calls [`Scaler::decide`], writes the decision series into the
//! store through [`model::Appendable`], counts the decision by reason, and hands the decision
//! to a separate push task (see [`push`]). The push task owns the calls to the
//! [`ScaleTarget`]: a slow or failing target delays only its own autoscaler, retries
//! `Retryable` errors with backoff, and always pushes the newest decision (a newer decision
//! supersedes a pending retry).
//!
//! Besides its interval, an autoscaler evaluates as soon as new samples of a metric its signal
//! query reads have landed: [`Controller::triggers`] lists those metric names, and whoever
//! commits samples (the daemon connects the scrapers) calls [`Triggers::wake`]. Wake-ups
//! coalesce: while an evaluation runs, any number of them make one more evaluation, and each
//! evaluation restarts the interval.
//!
//! [`Controller::apply`] takes the whole new list on a reload: an unchanged autoscaler keeps
//! running untouched; a changed one restarts, keeping its policy state and decision history
//! when its scaling configuration is unchanged; a removed one stops.
//!
//! The controller is the [`AutoscalerSource`] the API and the gRPC services read.

mod metrics;
mod push;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Labels;
use model::storage::Appendable;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

pub use metrics::Metrics;

use crate::policy::{Input, Scaler, ServiceQueries, ServiceStats, State};
use crate::runtime::{AutoscalerSource, AutoscalerView, DecisionEvent, ScaleTarget};

/// How many decisions each autoscaler keeps for the API (those that changed the count or the
/// reason; the newest one is always shown as `last`).
pub const RECENT_DECISIONS: usize = 50;

/// Capacity of the decision broadcast; a watcher that falls further behind loses the oldest.
const WATCH_CAPACITY: usize = 1024;

/// Runs PromQL instant queries for the controller: the daemon adapts its local engine or a
/// remote Prometheus API to it. Blocking; the controller calls it off the async threads.
pub trait SignalSource: Send + Sync {
    /// The series of `query` at `t_ms` (ms since the epoch) with their values: one per series
    /// of a vector, one without labels for a scalar.
    fn instant(&self, query: &str, t_ms: i64) -> Result<Vec<(Labels, f64)>, String>;
}

/// Where an autoscaler learns the current replica count.
#[derive(Debug, Clone, PartialEq)]
pub enum CurrentReplicas {
    /// The target reports it ([`ScaleTarget::current_replicas`]).
    Target,
    /// A PromQL query whose single value is the count.
    Query(String),
}

/// One autoscaler as the controller runs it.
#[derive(Clone)]
pub struct Spec {
    pub name: String,
    /// The load signal.
    pub query: String,
    pub current: CurrentReplicas,
    pub interval: Duration,
    pub scaler: Scaler,
    pub target: Arc<dyn ScaleTarget>,
    /// Identifies the whole configuration of this autoscaler (target included): an unchanged
    /// fingerprint on reload leaves the autoscaler running untouched.
    pub fingerprint: String,
}

/// What the evaluation task shares with readers.
#[derive(Default)]
struct Shared {
    state: State,
    last: Option<DecisionEvent>,
    recent: VecDeque<DecisionEvent>,
    /// Consecutive evaluations whose signal query failed or returned nothing.
    failures: u32,
    last_error: Option<String>,
}

struct Running {
    spec: Spec,
    shared: Arc<Mutex<Shared>>,
    /// Asks the evaluation task for an evaluation now.
    wake: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The environment of every autoscaler.
#[derive(Clone)]
pub struct Env {
    pub signal: Arc<dyn SignalSource>,
    /// Where the decision series go.
    pub appendable: Arc<dyn Appendable>,
    pub metrics: Metrics,
}

/// The running autoscalers.
pub struct Controller {
    env: Mutex<Env>,
    running: Mutex<BTreeMap<String, Running>>,
    events: broadcast::Sender<DecisionEvent>,
    rt: tokio::runtime::Handle,
}

impl Controller {
    pub fn new(env: Env, rt: tokio::runtime::Handle) -> Arc<Controller> {
        Arc::new(Controller {
            env: Mutex::new(env),
            running: Mutex::new(BTreeMap::new()),
            events: broadcast::channel(WATCH_CAPACITY).0,
            rt,
        })
    }

    /// Replaces the signal source (a reload that changes where queries go); running
    /// autoscalers use it from their next restart, so callers re-apply after changing it.
    pub fn set_signal(&self, signal: Arc<dyn SignalSource>) {
        lock(&self.env).signal = signal;
    }

    /// Runs exactly `specs` from now on (names are unique; the daemon's configuration checks
    /// it). Unchanged autoscalers keep running; changed ones restart with their state when
    /// their scaler is the same.
    pub fn apply(&self, specs: Vec<Spec>) {
        let env = lock(&self.env).clone();
        let mut running = lock(&self.running);
        let mut old = std::mem::take(&mut *running);
        for spec in specs {
            let name = spec.name.clone();
            let r = match old.remove(&name) {
                Some(r) if r.spec.fingerprint == spec.fingerprint => r,
                Some(r) => {
                    let shared = if r.spec.scaler == spec.scaler {
                        r.shared.clone()
                    } else {
                        // A new policy starts from a new state, but decision ids and the
                        // history stay.
                        let s = lock(&r.shared);
                        Arc::new(Mutex::new(Shared {
                            last: s.last.clone(),
                            recent: s.recent.clone(),
                            ..Shared::default()
                        }))
                    };
                    drop(r);
                    self.start(&env, spec, shared)
                }
                None => self.start(&env, spec, Arc::default()),
            };
            running.insert(name, r);
        }
        // Whatever is left in `old` was removed from the configuration: dropping stops it.
        drop(old);
    }

    /// Stops every autoscaler (pending pushes are abandoned).
    pub fn stop(&self) {
        lock(&self.running).clear();
    }

    /// The metric names the running autoscalers' signal queries read, and who to wake when
    /// samples of each land. A snapshot: take a new one after every [`Controller::apply`].
    pub fn triggers(&self) -> Triggers {
        let mut by_name: BTreeMap<String, Vec<Arc<Notify>>> = BTreeMap::new();
        for r in lock(&self.running).values() {
            for name in signal_metrics(&r.spec.query) {
                by_name.entry(name).or_default().push(r.wake.clone());
            }
        }
        let (metrics, wakers) = by_name.into_iter().unzip();
        Triggers { metrics, wakers }
    }

    fn start(&self, env: &Env, spec: Spec, shared: Arc<Mutex<Shared>>) -> Running {
        let wake = Arc::new(Notify::new());
        let (tx, rx) = watch::channel::<Option<DecisionEvent>>(None);
        let push = self.rt.spawn(push::run(
            spec.name.clone(),
            spec.target.clone(),
            rx,
            env.metrics.clone(),
        ));
        let eval = self.rt.spawn(evaluate_loop(
            spec.clone(),
            env.clone(),
            shared.clone(),
            wake.clone(),
            (tx, self.events.clone()),
        ));
        Running {
            spec,
            shared,
            wake,
            tasks: vec![eval, push],
        }
    }

    fn view(r: &Running) -> AutoscalerView {
        let s = lock(&r.shared);
        AutoscalerView {
            name: r.spec.name.clone(),
            query: r.spec.query.clone(),
            min_replicas: r.spec.scaler.min_replicas(),
            max_replicas: r.spec.scaler.max_replicas(),
            policy: r.spec.scaler.policy_name().to_string(),
            target_value: r.spec.scaler.target_value(),
            activation_threshold: r.spec.scaler.activation_threshold(),
            last: s.last.clone(),
            recent: s.recent.iter().cloned().collect(),
            failures: s.failures,
        }
    }

    /// The target's description and the last query error of an autoscaler, for the API.
    pub fn details(&self, name: &str) -> Option<(String, Option<String>)> {
        let running = lock(&self.running);
        let r = running.get(name)?;
        let err = lock(&r.shared).last_error.clone();
        Some((r.spec.target.describe(), err))
    }
}

/// Which autoscalers to wake when samples of a metric land: see [`Controller::triggers`].
#[derive(Clone, Default)]
pub struct Triggers {
    /// Sorted metric names.
    pub metrics: Vec<String>,
    /// Per metric, the autoscalers whose signal reads it.
    wakers: Vec<Vec<Arc<Notify>>>,
}

impl Triggers {
    /// New samples of `metrics[i]` were committed: the autoscalers reading it evaluate now,
    /// or once more after the evaluation they are running. Cheap and never blocks.
    pub fn wake(&self, i: usize) {
        for w in self.wakers.get(i).into_iter().flatten() {
            w.notify_one();
        }
    }
}

/// The metric names `query` selects by name (`__name__` equality), each once. A selector
/// without one (`{__name__=~"..."}`) adds nothing: that autoscaler evaluates on its interval.
pub fn signal_metrics(query: &str) -> Vec<String> {
    let Ok(selectors) = promql::query_selectors(query) else {
        return Vec::new();
    };
    let mut out: Vec<String> = selectors
        .into_iter()
        .flatten()
        .filter_map(|set| {
            set.into_iter()
                .find(|m| m.name == "__name__" && m.kind == model::matcher::MatchType::Equal)
                .map(|m| m.value)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl AutoscalerSource for Controller {
    fn list(&self) -> Vec<AutoscalerView> {
        lock(&self.running).values().map(Self::view).collect()
    }

    fn get(&self, name: &str) -> Option<AutoscalerView> {
        lock(&self.running).get(name).map(Self::view)
    }

    fn watch(&self) -> broadcast::Receiver<DecisionEvent> {
        self.events.subscribe()
    }

    fn query_value(&self, query: &str) -> Result<f64, String> {
        let signal = lock(&self.env).signal.clone();
        single(signal.instant(query, now_ms() as i64)?)?
            .ok_or_else(|| "the query returned no value".to_string())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The one value of a query's answer: none for an empty vector, an error for several series.
fn single(values: Vec<(Labels, f64)>) -> Result<Option<f64>, String> {
    match values.as_slice() {
        [] => Ok(None),
        [(_, v)] => Ok(Some(*v)),
        many => Err(format!(
            "the query returned {} series; aggregate it to one (e.g. with sum)",
            many.len()
        )),
    }
}

/// Evaluates one autoscaler every `interval`, and when woken, until aborted.
async fn evaluate_loop(
    spec: Spec,
    env: Env,
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Notify>,
    (push, events): (
        watch::Sender<Option<DecisionEvent>>,
        broadcast::Sender<DecisionEvent>,
    ),
) {
    let mut tick = tokio::time::interval(spec.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let spec = Arc::new(spec);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            // Samples of the signal landed: evaluate now, and count the interval from here.
            _ = wake.notified() => tick.reset(),
        }
        let now = now_ms();
        // The count from the target comes first, so the queries and the decision see the
        // same moment.
        let from_target = match spec.current {
            CurrentReplicas::Target => match spec.target.current_replicas(&spec.name).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(autoscaler = %spec.name, error = %e, "current replicas unknown");
                    None
                }
            },
            CurrentReplicas::Query(_) => None,
        };
        let (s, e) = (spec.clone(), env.clone());
        let queried =
            tokio::task::spawn_blocking(move || query_inputs(&s, e.signal.as_ref(), now)).await;
        let Ok(Inputs {
            signal,
            current,
            service,
            error,
        }) = queried
        else {
            continue;
        };
        let current = from_target.or(current);
        let event = {
            let mut sh = lock(&shared);
            let state = std::mem::take(&mut sh.state);
            let input = Input {
                now_ms: now,
                signal,
                current,
                service,
            };
            let (d, state) = spec.scaler.decide(&input, state);
            sh.state = state;
            sh.failures = if signal.is_some() { 0 } else { sh.failures + 1 };
            if let Some(e) = error
                .as_ref()
                .filter(|e| sh.last_error.as_ref() != Some(*e))
            {
                tracing::warn!(autoscaler = %spec.name, error = %e, "autoscaler signal query failed");
            }
            sh.last_error = error;
            // Ids increase per autoscaler and across restarts: at least the time in ms.
            let id = sh.last.as_ref().map_or(0, |l| l.id + 1).max(now);
            let ev = DecisionEvent {
                autoscaler: spec.name.clone(),
                id,
                time_ms: now as i64,
                desired: d.desired,
                current,
                signal,
                reason: d.reason.as_str().to_string(),
                detail: d.detail,
                active: d.active.unwrap_or(false),
                panic: d.panic,
            };
            let changed = sh
                .recent
                .back()
                .is_none_or(|p| p.desired != ev.desired || p.reason != ev.reason);
            if changed {
                if sh.recent.len() == RECENT_DECISIONS {
                    sh.recent.pop_front();
                }
                sh.recent.push_back(ev.clone());
            }
            sh.last = Some(ev.clone());
            ev
        };
        env.metrics.decided(&spec.name, &event.reason);
        let (ap, ev) = (env.appendable.clone(), event.clone());
        let _ = tokio::task::spawn_blocking(move || write_series(ap.as_ref(), &ev)).await;
        let _ = events.send(event.clone());
        push.send_replace(Some(event));
    }
}

/// What one evaluation reads from the metrics.
struct Inputs {
    signal: Option<f64>,
    /// When the current count is a query.
    current: Option<u32>,
    /// When the policy observes service times.
    service: Option<ServiceStats>,
    /// The error of the signal query.
    error: Option<String>,
}

/// The signal, the current count (if it is a query) and the service time (if observed).
fn query_inputs(spec: &Spec, source: &dyn SignalSource, now: u64) -> Inputs {
    let t = now as i64;
    let (signal, error) = match source.instant(&spec.query, t).and_then(single) {
        Ok(Some(v)) if v.is_finite() => (Some(v), None),
        Ok(Some(v)) => (None, Some(format!("the signal is {v}"))),
        Ok(None) => (None, Some("the signal query returned no value".into())),
        Err(e) => (None, Some(e)),
    };
    let current = match &spec.current {
        CurrentReplicas::Query(q) => match source.instant(q, t).and_then(single) {
            Ok(Some(v)) if v.is_finite() && v >= 0.0 => Some(v.round().min(u32::MAX as f64) as u32),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(autoscaler = %spec.name, error = %e, "current replicas query failed");
                None
            }
        },
        CurrentReplicas::Target => None,
    };
    let service = spec.scaler.service_queries().and_then(|q| {
        let observed = service_time(source, q, t);
        if let Err(e) = &observed {
            tracing::debug!(autoscaler = %spec.name, error = %e, "service time query failed");
        }
        observed.ok().flatten()
    });
    Inputs {
        signal,
        current,
        service,
        error,
    }
}

/// The service time from a histogram's queries; `None` when the window saw no request.
fn service_time(
    source: &dyn SignalSource,
    q: &ServiceQueries,
    t: i64,
) -> Result<Option<ServiceStats>, String> {
    let Some(mean) = single(source.instant(&q.mean, t)?)? else {
        return Ok(None);
    };
    let buckets: Vec<(f64, f64)> = source
        .instant(&q.buckets, t)?
        .into_iter()
        .filter_map(|(labels, rate)| ServiceQueries::bucket(&labels, rate))
        .collect();
    Ok(ServiceStats::from_histogram(mean, &buckets))
}

/// The decision series: desired, signal (when known), current (when known), panic mode.
fn write_series(appendable: &dyn Appendable, ev: &DecisionEvent) {
    let series = [
        ("vane_autoscaler_desired_replicas", Some(ev.desired as f64)),
        ("vane_autoscaler_signal", ev.signal),
        (
            "vane_autoscaler_current_replicas",
            ev.current.map(f64::from),
        ),
        (
            "vane_autoscaler_panic_mode",
            Some(if ev.panic { 1.0 } else { 0.0 }),
        ),
    ];
    let mut app = appendable.appender();
    for (name, v) in series {
        let Some(v) = v else { continue };
        let labels =
            Labels::from_pairs([("__name__", name), ("autoscaler", ev.autoscaler.as_str())]);
        if let Err(e) = app.append(None, &labels, ev.time_ms, v) {
            tracing::debug!(autoscaler = %ev.autoscaler, error = %e, "decision series not written");
        }
    }
    if let Err(e) = app.commit() {
        tracing::warn!(autoscaler = %ev.autoscaler, error = %e, "decision series not written");
    }
}
