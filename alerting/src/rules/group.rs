//! Rule groups: rules evaluated in order at one interval, their output written to the store.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use model::metrics::{Counter, CounterVec, Gauge, GaugeVec, Histogram, Registry};
use model::{Labels, stale_nan};
use parking_lot::Mutex;

use super::{AlertingRule, ManagerOptions, RecordingRule, Rule, RuleEnv, RuleStatus, now_ms};
use crate::rulefmt::{self, RuleKind};

/// Metrics shared by every group (labelled by `rule_group`, "<file>;<name>" as Prometheus).
#[derive(Clone)]
pub struct GroupMetrics {
    evaluations: CounterVec,
    failures: CounterVec,
    iterations: CounterVec,
    missed: CounterVec,
    last_duration: GaugeVec,
    last_timestamp: GaugeVec,
    interval: GaugeVec,
    rules: GaugeVec,
    samples: GaugeVec,
    eval_duration: Arc<Histogram>,
}

impl GroupMetrics {
    pub fn new(reg: &Registry) -> Self {
        let g = ["rule_group"];
        GroupMetrics {
            evaluations: reg.counter_vec("vane_rule_evaluations_total", "Rule evaluations.", &g),
            failures: reg.counter_vec(
                "vane_rule_evaluation_failures_total",
                "Rule evaluations that failed.",
                &g,
            ),
            iterations: reg.counter_vec(
                "vane_rule_group_iterations_total",
                "Scheduled group evaluations, whether run or missed.",
                &g,
            ),
            missed: reg.counter_vec(
                "vane_rule_group_iterations_missed_total",
                "Group evaluations skipped because the previous one ran too long.",
                &g,
            ),
            last_duration: reg.gauge_vec(
                "vane_rule_group_last_duration_seconds",
                "Duration of the group's last evaluation.",
                &g,
            ),
            last_timestamp: reg.gauge_vec(
                "vane_rule_group_last_evaluation_timestamp_seconds",
                "Time of the group's last evaluation.",
                &g,
            ),
            interval: reg.gauge_vec(
                "vane_rule_group_interval_seconds",
                "The group's evaluation interval.",
                &g,
            ),
            rules: reg.gauge_vec("vane_rule_group_rules", "Rules in the group.", &g),
            samples: reg.gauge_vec(
                "vane_rule_group_last_evaluation_samples",
                "Samples the group's last evaluation returned.",
                &g,
            ),
            eval_duration: reg.histogram(
                "vane_rule_evaluation_duration_seconds",
                "Duration of single rule evaluations.",
                &[0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10.0, 60.0],
            ),
        }
    }
}

/// The per-group handles of [`GroupMetrics`].
struct Handles {
    evaluations: Arc<Counter>,
    failures: Arc<Counter>,
    iterations: Arc<Counter>,
    missed: Arc<Counter>,
    last_duration: Arc<Gauge>,
    last_timestamp: Arc<Gauge>,
    samples: Arc<Gauge>,
}

pub struct Group {
    pub name: String,
    pub file: String,
    pub interval: Duration,
    pub query_offset: Duration,
    pub limit: usize,
    pub rules: Vec<Rule>,
    /// Series each rule wrote last time, for staleness markers.
    previous: Mutex<Vec<HashSet<Labels>>>,
    /// Restore `for` state after the second evaluation (set for groups loaded at start-up).
    pub(super) should_restore: AtomicBool,
    last: Mutex<(Option<i64>, Duration)>,
    metrics: GroupMetrics,
    handles: Handles,
}

impl Group {
    pub fn new(
        name: String,
        file: String,
        interval: Duration,
        query_offset: Duration,
        limit: usize,
        rules: Vec<Rule>,
        metrics: &GroupMetrics,
    ) -> Group {
        let key = format!("{file};{name}");
        let k = [key.as_str()];
        metrics.interval.with(&k).set(interval.as_secs_f64());
        metrics.rules.with(&k).set(rules.len() as f64);
        let handles = Handles {
            evaluations: metrics.evaluations.with(&k),
            failures: metrics.failures.with(&k),
            iterations: metrics.iterations.with(&k),
            missed: metrics.missed.with(&k),
            last_duration: metrics.last_duration.with(&k),
            last_timestamp: metrics.last_timestamp.with(&k),
            samples: metrics.samples.with(&k),
        };
        Group {
            previous: Mutex::new(vec![HashSet::new(); rules.len()]),
            name,
            file,
            interval,
            query_offset,
            limit,
            rules,
            should_restore: AtomicBool::new(false),
            last: Mutex::new((None, Duration::ZERO)),
            metrics: metrics.clone(),
            handles,
        }
    }

    /// Builds a group from a validated rule-file group, as the [`Manager`] does: the group's
    /// labels apply to every rule (a rule's own win); `interval` and `query_offset` default to
    /// those of `opts`. With `restored`, alerting rules start with their `for` state settled
    /// and write `ALERTS` from the first evaluation; without it they wait for
    /// [`Group::restore_for_state`].
    ///
    /// [`Manager`]: super::Manager
    pub fn from_rule_group(
        file: &str,
        g: rulefmt::RuleGroup,
        opts: &ManagerOptions,
        restored: bool,
        metrics: &GroupMetrics,
    ) -> Group {
        let rules = g
            .rules
            .into_iter()
            .map(|r| {
                let mut labels = g.labels.clone();
                labels.extend(r.labels);
                match r.kind {
                    RuleKind::Recording { record } => {
                        Rule::Recording(RecordingRule::new(record, r.expr, labels))
                    }
                    RuleKind::Alerting {
                        alert,
                        for_,
                        keep_firing_for,
                        annotations,
                    } => Rule::Alerting(AlertingRule::new(
                        alert,
                        r.expr,
                        super::ms(for_),
                        super::ms(keep_firing_for),
                        labels,
                        annotations,
                        restored,
                    )),
                }
            })
            .collect();
        Group::new(
            g.name,
            file.to_string(),
            g.interval.unwrap_or(opts.default_interval),
            g.query_offset.unwrap_or(opts.default_query_offset),
            g.limit,
            rules,
            metrics,
        )
    }

    fn key(&self) -> String {
        format!("{};{}", self.file, self.name)
    }

    fn interval_ms(&self) -> i64 {
        super::ms(self.interval).max(1)
    }

    /// When the last evaluation started (ms) and how long it took.
    pub fn last_evaluation(&self) -> (Option<i64>, Duration) {
        *self.last.lock()
    }

    /// The newest evaluation time at or before `now`: aligned to the interval, shifted by an
    /// offset derived from the group's file and name so groups do not all run at once.
    pub fn eval_timestamp(&self, now: i64) -> i64 {
        let iv = self.interval_ms();
        let offset = (stable_hash(&self.key()) % iv as u64) as i64;
        let adj = now - offset;
        adj - adj.rem_euclid(iv) + offset
    }

    /// Evaluates every rule in order at `ts`: writes the results (and staleness markers for
    /// series that went away) and hands alerts to the notifier.
    pub fn eval(&self, ts: i64, env: &RuleEnv) {
        let started = Instant::now();
        let offset = super::ms(self.query_offset);
        let mut samples = 0usize;
        for (i, rule) in self.rules.iter().enumerate() {
            let rule_start = Instant::now();
            self.handles.evaluations.inc();
            let result = match rule {
                Rule::Recording(r) => r.eval(ts - offset, env.query.as_ref(), self.limit),
                Rule::Alerting(r) => r.eval(ts, offset, env, self.limit),
            };
            let outcome = match result {
                Ok(vector) => {
                    if let Rule::Alerting(r) = rule {
                        let alerts = r.alerts_to_send(ts, self.interval_ms(), env);
                        if !alerts.is_empty() {
                            (env.notify)(alerts);
                        }
                    }
                    samples += vector.len();
                    self.write(i, ts - offset, vector, env)
                }
                Err(e) => Err(e),
            };
            let took = rule_start.elapsed();
            self.metrics.eval_duration.observe(took.as_secs_f64());
            let mut st = rule.status_cell().lock();
            *st = RuleStatus {
                health: if outcome.is_ok() {
                    super::Health::Good
                } else {
                    super::Health::Bad
                },
                last_error: outcome.as_ref().err().cloned(),
                last_evaluation: Some(now_ms()),
                evaluation_time: took,
            };
            if let Err(e) = outcome {
                self.handles.failures.inc();
                tracing::warn!(group = %self.name, rule = %rule.name(), error = %e, "evaluating rule failed");
            }
        }
        let took = started.elapsed();
        *self.last.lock() = (Some(ts), took);
        self.handles.last_duration.set(took.as_secs_f64());
        self.handles.last_timestamp.set(ts as f64 / 1000.0);
        self.handles.samples.set(samples as f64);
    }

    /// Appends a rule's output at `t`, and staleness markers for the series it wrote last
    /// time but not now. As in Prometheus, a sample the store refuses (out of order, too old,
    /// another value at the same time) is dropped while the others are written, and the rule
    /// fails with the last such error; refused staleness markers are ignored.
    fn write(
        &self,
        i: usize,
        t: i64,
        vector: Vec<(Labels, f64)>,
        env: &RuleEnv,
    ) -> Result<(), String> {
        let mut app = env.appendable.appender();
        let mut returned: HashSet<Labels> = HashSet::with_capacity(vector.len());
        let mut dropped = 0usize;
        let mut last_err = None;
        for (labels, v) in vector {
            match app.append(None, &labels, t, v) {
                Ok(_) => {
                    returned.insert(labels);
                }
                Err(e) => {
                    dropped += usize::from(e.is_sample_rejection());
                    last_err = Some(e.to_string());
                }
            }
        }
        if dropped > 0 {
            tracing::debug!(group = %self.name, dropped, "rule results refused by the store (out of order, too old or duplicate)");
        }
        let mut previous = self.previous.lock();
        for gone in previous[i].difference(&returned) {
            // Refusals here only mean the series already has a newer sample.
            let _ = app.append(None, gone, t, stale_nan());
        }
        app.commit().map_err(|e| e.to_string())?;
        previous[i] = returned;
        match last_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Staleness markers at `t` for every series the group wrote last (when it goes away).
    pub fn mark_stale(&self, t: i64, env: &RuleEnv) {
        let previous = std::mem::take(&mut *self.previous.lock());
        let mut app = env.appendable.appender();
        for l in previous.iter().flatten() {
            let _ = app.append(None, l, t, stale_nan());
        }
        if let Err(e) = app.commit() {
            tracing::warn!(group = %self.name, error = %e, "writing staleness markers failed");
        }
    }

    /// Restores `for` state of the alerting rules (see [`AlertingRule::restore`]).
    ///
    /// [`AlertingRule::restore`]: super::AlertingRule
    pub fn restore_for_state(&self, ts: i64, env: &RuleEnv) {
        for r in &self.rules {
            if let Rule::Alerting(a) = r {
                a.restore(ts, env);
            }
        }
        self.should_restore.store(false, Ordering::Release);
    }

    /// Takes over alert state and written series of the same rules from the group this one
    /// replaces on reload. Returns whether it is the same group (then nothing needs to
    /// restart).
    pub(super) fn copy_state_from(&self, old: &Group) -> bool {
        let same = self.interval == old.interval
            && self.query_offset == old.query_offset
            && self.limit == old.limit
            && self.rules.len() == old.rules.len()
            && self
                .rules
                .iter()
                .zip(&old.rules)
                .all(|(a, b)| a.same_definition(b));
        let old_prev = old.previous.lock();
        let mut prev = self.previous.lock();
        let mut used = vec![false; old.rules.len()];
        for (i, r) in self.rules.iter().enumerate() {
            let Some(j) =
                (0..old.rules.len()).find(|&j| !used[j] && old.rules[j].same_definition(r))
            else {
                continue;
            };
            used[j] = true;
            prev[i] = old_prev[j].clone();
            if let (Rule::Alerting(new), Rule::Alerting(o)) = (r, &old.rules[j]) {
                new.copy_state_from(o);
            }
            *r.status_cell().lock() = old.rules[j].status();
        }
        *self.last.lock() = *old.last.lock();
        same
    }

    /// Counts a scheduled evaluation and `missed` skipped ones.
    pub(super) fn count_iterations(&self, missed: u64) {
        self.handles.iterations.add(missed + 1);
        if missed > 0 {
            self.handles.missed.add(missed);
        }
    }

    /// Removes the group's per-group metrics (when it is unloaded).
    pub(super) fn forget_metrics(&self) {
        let key = self.key();
        let k = [key.as_str()];
        for v in [
            &self.metrics.last_duration,
            &self.metrics.last_timestamp,
            &self.metrics.interval,
            &self.metrics.rules,
            &self.metrics.samples,
        ] {
            v.remove(&k);
        }
    }
}

/// FNV-1a over the bytes: stable across runs and builds, unlike the std hasher.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("file", &self.file)
            .field("name", &self.name)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}
