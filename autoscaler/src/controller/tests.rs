//! The controller against fakes: a signal source whose answers the test sets, a target that
//! records what it is asked and fails or hangs on demand, a store that keeps nothing. Waits
//! are bounded; nothing asserts how long anything took (push backoff is checked on tokio's
//! paused clock, where time only moves when every task waits).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use model::storage::{Appender, Error as StorageError, SeriesRef};

use super::*;
use crate::runtime::{BoxFuture, TargetError};

#[test]
fn a_signal_is_one_value() {
    let v = |x: f64| (Labels::default(), x);
    assert_eq!(single(vec![]), Ok(None));
    assert_eq!(single(vec![v(2.5)]), Ok(Some(2.5)));
    let e = single(vec![v(1.0), v(2.0)]).unwrap_err();
    assert!(e.contains("2 series"), "{e}");
}

#[test]
fn the_metrics_a_signal_reads_are_its_named_selectors() {
    assert_eq!(
        signal_metrics(
            "sum(rate(reqs_total{job=\"a\"}[1m])) / on() group_left max(queue) + sum(queue)"
        ),
        vec!["queue".to_string(), "reqs_total".to_string()]
    );
    assert_eq!(
        signal_metrics("max_over_time(inflight[5m:1s]) or vector(0)"),
        vec!["inflight".to_string()]
    );
    // A regex name cannot be matched by name: such a selector adds nothing.
    assert_eq!(
        signal_metrics("sum({__name__=~\"load_.*\"}) + sum(x)"),
        vec!["x".to_string()]
    );
    assert!(signal_metrics("scalar(1)").is_empty());
    assert!(signal_metrics("sum(").is_empty());
}

/// Answers every query with the series or the value set for it; `None` fails it. Counts
/// calls, and holds them while the gate is closed.
#[derive(Default)]
struct FakeSignal {
    values: Mutex<HashMap<String, Option<f64>>>,
    series: Mutex<HashMap<String, Vec<(Labels, f64)>>>,
    calls: AtomicUsize,
    gate: (Mutex<bool>, std::sync::Condvar),
}

impl FakeSignal {
    fn set(&self, query: &str, v: Option<f64>) {
        lock(&self.values).insert(query.to_string(), v);
    }

    fn set_series(&self, query: &str, series: Vec<(Labels, f64)>) {
        lock(&self.series).insert(query.to_string(), series);
    }

    fn close(&self) {
        *lock(&self.gate.0) = true;
    }

    fn open(&self) {
        *lock(&self.gate.0) = false;
        self.gate.1.notify_all();
    }
}

impl SignalSource for FakeSignal {
    fn instant(&self, query: &str, _t_ms: i64) -> Result<Vec<(Labels, f64)>, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut closed = lock(&self.gate.0);
        while *closed {
            closed = self.gate.1.wait(closed).unwrap();
        }
        if let Some(series) = lock(&self.series).get(query) {
            return Ok(series.clone());
        }
        match lock(&self.values).get(query).copied().flatten() {
            Some(v) => Ok(vec![(Labels::default(), v)]),
            None => Err(format!("no value for {query}")),
        }
    }
}

struct NoStore;
struct NoAppender;

impl Appendable for NoStore {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(NoAppender)
    }
}

impl Appender for NoAppender {
    fn append(
        &mut self,
        _: Option<SeriesRef>,
        _: &Labels,
        _: i64,
        _: f64,
    ) -> Result<SeriesRef, StorageError> {
        Ok(SeriesRef(0))
    }
    fn commit(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
    fn rollback(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// A platform: it runs `current` replicas, records every decision it is sent (with the time on
/// tokio's clock), answers with the queued results first (then success), and hangs while
/// `hang` is set.
#[derive(Default)]
struct FakeTarget {
    current: Mutex<Option<u32>>,
    calls: Mutex<Vec<(tokio::time::Instant, DecisionEvent, bool)>>,
    results: Mutex<VecDeque<Result<(), TargetError>>>,
    fail_always: AtomicBool,
    hang: AtomicBool,
}

impl FakeTarget {
    fn at(n: u32) -> Arc<FakeTarget> {
        let t = FakeTarget::default();
        *lock(&t.current) = Some(n);
        Arc::new(t)
    }

    fn calls(&self) -> Vec<(tokio::time::Instant, DecisionEvent, bool)> {
        lock(&self.calls).clone()
    }

    /// The decisions it took.
    fn accepted(&self) -> Vec<DecisionEvent> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.2)
            .map(|c| c.1.clone())
            .collect()
    }
}

fn retryable() -> TargetError {
    TargetError::Retryable("connection refused".into())
}

impl ScaleTarget for FakeTarget {
    fn describe(&self) -> String {
        "fake".into()
    }

    fn set_replicas<'a>(&'a self, d: &'a DecisionEvent) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            if self.hang.load(Ordering::SeqCst) {
                lock(&self.calls).push((tokio::time::Instant::now(), d.clone(), false));
                std::future::pending::<()>().await;
            }
            let r = match lock(&self.results).pop_front() {
                Some(r) => r,
                None if self.fail_always.load(Ordering::SeqCst) => Err(retryable()),
                None => Ok(()),
            };
            if r.is_ok() {
                *lock(&self.current) = Some(d.desired);
            }
            lock(&self.calls).push((tokio::time::Instant::now(), d.clone(), r.is_ok()));
            r
        })
    }

    fn current_replicas<'a>(
        &'a self,
        _autoscaler: &'a str,
    ) -> BoxFuture<'a, Result<Option<u32>, TargetError>> {
        Box::pin(async move { Ok(*lock(&self.current)) })
    }
}

fn scaler(target: f64) -> Scaler {
    let yaml = format!("max_replicas: 100\npolicy: {{per_replica: {{target: {target}}}}}");
    let c: crate::config::ScalerConfig = yaml_serde::from_str(&yaml).unwrap();
    c.validate().unwrap()
}

fn spec(name: &str, query: &str, interval: Duration, target: Arc<dyn ScaleTarget>) -> Spec {
    Spec {
        name: name.into(),
        query: query.into(),
        current: CurrentReplicas::Target,
        interval,
        scaler: scaler(10.0),
        target,
        fingerprint: format!("{name} {query} {interval:?}"),
    }
}

fn controller(signal: Arc<FakeSignal>) -> Arc<Controller> {
    let env = Env {
        signal,
        appendable: Arc::new(NoStore),
        metrics: Metrics::new(&model::metrics::Registry::new()),
    };
    Controller::new(env, tokio::runtime::Handle::current())
}

/// Waits (up to 10 s) until `ok` holds.
async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn last(c: &Controller, name: &str) -> Option<DecisionEvent> {
    c.get(name).and_then(|v| v.last)
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_up_evaluates_without_waiting_for_the_interval() {
    let signal = Arc::new(FakeSignal::default());
    signal.set("sum(load)", Some(5.0));
    let target = FakeTarget::at(1);
    let c = controller(signal.clone());
    c.apply(vec![spec("web", "sum(load)", HOUR, target.clone())]);
    // The first evaluation comes at once: 5 / 10 per replica, one replica is right.
    until("the first decision", || last(&c, "web").is_some()).await;
    assert_eq!(last(&c, "web").unwrap().desired, 1);

    let triggers = c.triggers();
    assert_eq!(triggers.metrics, vec!["load".to_string()]);
    signal.set("sum(load)", Some(30.0));
    triggers.wake(0);
    // An hour before the next tick, the new load is decided on and pushed.
    until("the decision after the wake-up", || {
        target.accepted().iter().any(|d| d.desired == 3)
    })
    .await;
    let d = last(&c, "web").unwrap();
    assert_eq!(
        (d.desired, d.signal, d.reason.as_str()),
        (3, Some(30.0), "scaled")
    );
    // Waking a metric nobody reads, or an index out of range, does nothing.
    triggers.wake(7);
    c.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_predictive_policy_observes_service_times_from_a_histogram() {
    let yaml = "max_replicas: 100
policy:
  predictive:
    per_replica_concurrency: 5
    cold_start: 10s
    service_time: 1s
    service_time_histogram: {selector: 'svc_seconds{fn=\"a\"}', window: 30s}
";
    let c: crate::config::ScalerConfig = yaml_serde::from_str(yaml).unwrap();
    let scaler = c.validate().unwrap();
    let q = scaler.service_queries().unwrap().clone();
    assert_eq!(
        q.mean,
        "sum(rate(svc_seconds_sum{fn=\"a\"}[30s])) / sum(rate(svc_seconds_count{fn=\"a\"}[30s]))"
    );
    assert_eq!(
        q.buckets,
        "sum by (le) (rate(svc_seconds_bucket{fn=\"a\"}[30s]))"
    );
    let signal = Arc::new(FakeSignal::default());
    signal.set("rate_in", Some(100.0));
    // Half the requests take 0.1–0.2 s, half 0.2–0.3 s, mean 0.2 s (placed at 0.15 and 0.25:
    // cv 0.25); the buckets out of order as a query may return them.
    signal.set(
        "sum(rate(svc_seconds_sum{fn=\"a\"}[30s])) / sum(rate(svc_seconds_count{fn=\"a\"}[30s]))",
        Some(0.2),
    );
    let le = |b: &str, r: f64| (Labels::from_pairs([("le", b)]), r);
    signal.set_series(
        &q.buckets,
        vec![
            le("+Inf", 4.0),
            le("0.1", 0.0),
            le("0.3", 4.0),
            le("0.2", 2.0),
        ],
    );
    let target = FakeTarget::at(1);
    let ctl = controller(signal.clone());
    let mut s = spec("fn", "rate_in", HOUR, target.clone());
    s.scaler = scaler;
    ctl.apply(vec![s]);
    // 100/s × 0.2 s = 20 in service; h = (1 + 0.25²)/2 × 0.25 = 0.133 → 22.7 / 5 → 5 (the
    // configured 1 s would give 100 × 1.25 / 5 = 25).
    until("a decision on the observed service time", || {
        last(&ctl, "fn").is_some_and(|d| d.desired == 5)
    })
    .await;
    let d = last(&ctl, "fn").unwrap();
    assert!(d.detail.contains("× 0.2s × (1 + 0.133)"), "{}", d.detail);

    // A window without requests (0 / 0) brings nothing: the last observed time still holds.
    signal.set(
        "sum(rate(svc_seconds_sum{fn=\"a\"}[30s])) / sum(rate(svc_seconds_count{fn=\"a\"}[30s]))",
        Some(f64::NAN),
    );
    ctl.triggers().wake(0);
    until("a decision on the remembered service time", || {
        last(&ctl, "fn").is_some_and(|e| e.id > d.id)
    })
    .await;
    let e = last(&ctl, "fn").unwrap();
    assert_eq!(e.desired, 5, "{}", e.detail);
    assert!(e.detail.contains("× 0.2s × (1 + 0.133)"), "{}", e.detail);
    ctl.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_ups_during_an_evaluation_make_exactly_one_more() {
    let signal = Arc::new(FakeSignal::default());
    signal.set("sum(load)", Some(5.0));
    signal.close();
    let c = controller(signal.clone());
    c.apply(vec![spec("web", "sum(load)", HOUR, FakeTarget::at(1))]);
    // The first evaluation is held inside its query.
    until("the first query", || {
        signal.calls.load(Ordering::SeqCst) == 1
    })
    .await;
    let triggers = c.triggers();
    for _ in 0..20 {
        triggers.wake(0);
    }
    let mut watch = c.watch();
    signal.open();
    let first = watch.recv().await.unwrap();
    let second = watch.recv().await.unwrap();
    assert!(second.id > first.id);
    // No third one: the twenty wake-ups were one.
    let third = tokio::time::timeout(Duration::from_millis(300), watch.recv()).await;
    assert!(third.is_err(), "a third evaluation: {third:?}");
    assert_eq!(signal.calls.load(Ordering::SeqCst), 2);
    c.stop();
}

/// The push task of autoscaler `web` to `target`, and the sender of its decisions.
fn pushing(
    target: &Arc<FakeTarget>,
    metrics: Metrics,
) -> (watch::Sender<Option<DecisionEvent>>, JoinHandle<()>) {
    let (tx, rx) = watch::channel(None);
    let task = tokio::spawn(push::run("web".into(), target.clone(), rx, metrics));
    (tx, task)
}

#[tokio::test(start_paused = true)]
async fn a_failing_target_is_retried_with_doubling_backoff() {
    let target = FakeTarget::at(1);
    lock(&target.results).extend([Err(retryable()), Err(retryable()), Err(retryable())]);
    let registry = model::metrics::Registry::new();
    let metrics = Metrics::new(&registry);
    let (tx, task) = pushing(&target, metrics.clone());
    tx.send_replace(Some(decision(7, 4, Some(1))));
    until("the push to succeed", || target.accepted().len() == 1).await;
    let calls = target.calls();
    assert_eq!(calls.len(), 4);
    let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert_eq!(
        gaps,
        [100, 200, 400].map(Duration::from_millis),
        "100 ms doubling"
    );
    // Every attempt carries the same decision, id included: the platform can tell a retry.
    assert!(calls.iter().all(|c| c.1.id == 7 && c.1.desired == 4));
    let text = registry.render();
    assert!(
        text.contains(
            r#"vane_autoscaler_target_requests_total{autoscaler="web",result="retry"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"vane_autoscaler_target_requests_total{autoscaler="web",result="ok"} 1"#),
        "{text}"
    );
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn backoff_stops_doubling_at_five_seconds() {
    let target = FakeTarget::at(1);
    target.fail_always.store(true, Ordering::SeqCst);
    let (tx, task) = pushing(&target, Metrics::new(&model::metrics::Registry::new()));
    tx.send_replace(Some(decision(1, 4, Some(1))));
    // 100 + 200 + ... + 3200 + 2 × 5000 ms of backoff, on the paused clock.
    tokio::time::sleep(Duration::from_secs(17)).await;
    let calls = target.calls();
    let gaps: Vec<u128> = calls
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_millis())
        .collect();
    assert_eq!(gaps[..8], [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_newer_decision_replaces_the_one_being_retried() {
    let target = FakeTarget::at(1);
    target.fail_always.store(true, Ordering::SeqCst);
    let (tx, task) = pushing(&target, Metrics::new(&model::metrics::Registry::new()));
    tx.send_replace(Some(decision(10, 3, Some(1))));
    until("a failed attempt", || target.calls().len() == 1).await;
    // While the first waits for its retry, a newer decision comes; the platform is back.
    target.fail_always.store(false, Ordering::SeqCst);
    tx.send_replace(Some(decision(11, 5, Some(1))));
    until("a push to succeed", || !target.accepted().is_empty()).await;
    // Let any stray retry of the old decision show itself.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let calls = target.calls();
    let after: Vec<(u64, u32)> = calls[1..].iter().map(|c| (c.1.id, c.1.desired)).collect();
    assert_eq!(after, vec![(11, 5)], "only the newer decision, once");
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_refused_decision_is_not_retried_but_a_new_count_is_pushed() {
    let target = FakeTarget::at(1);
    lock(&target.results).push_back(Err(TargetError::Permanent("HTTP 400".into())));
    let (tx, task) = pushing(&target, Metrics::new(&model::metrics::Registry::new()));
    tx.send_replace(Some(decision(1, 3, Some(1))));
    until("the refusal", || target.calls().len() == 1).await;
    // The same count decided again is not sent again.
    tx.send_replace(Some(decision(2, 3, None)));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(target.calls().len(), 1);
    tx.send_replace(Some(decision(3, 4, None)));
    until("the new count", || target.accepted().len() == 1).await;
    assert_eq!(target.accepted()[0].id, 3);
    task.abort();
}

fn decision(id: u64, desired: u32, current: Option<u32>) -> DecisionEvent {
    DecisionEvent {
        autoscaler: "web".into(),
        id,
        time_ms: id as i64,
        desired,
        current,
        signal: Some(desired as f64 * 10.0),
        reason: "scaled".into(),
        detail: String::new(),
        active: true,
        panic: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_ids_increase_and_survive_a_restart() {
    let signal = Arc::new(FakeSignal::default());
    signal.set("sum(load)", Some(5.0));
    let c = controller(signal.clone());
    let mut watch = c.watch();
    let fast = Duration::from_millis(20);
    c.apply(vec![spec("web", "sum(load)", fast, FakeTarget::at(1))]);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(watch.recv().await.unwrap().id);
    }
    // Restarted with another policy: a new state, but ids go on from the last one.
    let mut s = spec("web", "sum(load)", fast, FakeTarget::at(1));
    s.scaler = scaler(1.0);
    s.fingerprint.push_str(" target 1");
    c.apply(vec![s]);
    for _ in 0..5 {
        ids.push(watch.recv().await.unwrap().id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    c.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_unchanged_autoscalers_and_resets_changed_policies() {
    let signal = Arc::new(FakeSignal::default());
    // No signal: each evaluation counts a failure, which is policy state.
    let c = controller(signal.clone());
    let same = spec("same", "sum(a)", HOUR, FakeTarget::at(1));
    let moved = spec("moved", "sum(b)", HOUR, FakeTarget::at(1));
    let repolicied = spec("repolicied", "sum(c)", HOUR, FakeTarget::at(1));
    c.apply(vec![same.clone(), moved.clone(), repolicied.clone()]);
    let names = ["same", "moved", "repolicied"];
    until("first evaluations", || {
        names.iter().all(|n| last(&c, n).is_some())
    })
    .await;
    // Per autoscaler: its task's wake-up, its shared state, its last decision id.
    type Before = (Arc<Notify>, Arc<Mutex<Shared>>, u64);
    let before: HashMap<&str, Before> = names
        .iter()
        .map(|n| {
            let id = last(&c, n).unwrap().id;
            let r = &lock(&c.running)[*n];
            (*n, (r.wake.clone(), r.shared.clone(), id))
        })
        .collect();
    assert!(names.iter().all(|n| c.get(n).unwrap().failures == 1));

    // `moved`: another interval (so it restarts) with the same policy; `repolicied`: another
    // policy; `same`: untouched.
    let mut moved2 = moved.clone();
    moved2.interval = HOUR * 2;
    moved2.fingerprint.push_str(" 2h");
    let mut repolicied2 = repolicied.clone();
    repolicied2.scaler = scaler(20.0);
    repolicied2.fingerprint.push_str(" target 20");
    c.apply(vec![same.clone(), moved2, repolicied2]);
    until("restarted autoscalers to evaluate", || {
        ["moved", "repolicied"]
            .iter()
            .all(|n| last(&c, n).unwrap().id > before[n].2)
    })
    .await;
    let running = lock(&c.running);
    // Untouched: the same task, no new evaluation.
    assert!(Arc::ptr_eq(&running["same"].wake, &before["same"].0));
    assert_eq!(running["same"].spec.fingerprint, same.fingerprint);
    drop(running);
    assert_eq!(last(&c, "same").unwrap().id, before["same"].2);
    assert_eq!(c.get("same").unwrap().failures, 1);
    let running = lock(&c.running);
    // Restarted with its state: the failure count goes on.
    assert!(!Arc::ptr_eq(&running["moved"].wake, &before["moved"].0));
    assert!(Arc::ptr_eq(&running["moved"].shared, &before["moved"].1));
    drop(running);
    assert_eq!(c.get("moved").unwrap().failures, 2);
    // A new policy starts from a new state, with its decision history kept.
    let r = c.get("repolicied").unwrap();
    assert_eq!(r.failures, 1);
    assert!(r.recent.iter().any(|d| d.id == before["repolicied"].2));
    assert!(!Arc::ptr_eq(
        &lock(&c.running)["repolicied"].shared,
        &before["repolicied"].1
    ));

    // Removing an autoscaler stops it.
    c.apply(vec![same]);
    assert_eq!(c.list().len(), 1);
    c.stop();
    assert!(c.list().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_target_delays_no_other_autoscaler() {
    let signal = Arc::new(FakeSignal::default());
    signal.set("sum(a)", Some(50.0));
    signal.set("sum(b)", Some(50.0));
    signal.set("replicas_a", Some(1.0));
    let stuck = FakeTarget::at(1);
    stuck.hang.store(true, Ordering::SeqCst);
    let fine = FakeTarget::at(1);
    let c = controller(signal.clone());
    let fast = Duration::from_millis(20);
    let mut a = spec("a", "sum(a)", fast, stuck.clone());
    // The count comes from a query, so only pushing can hang.
    a.current = CurrentReplicas::Query("replicas_a".into());
    c.apply(vec![a, spec("b", "sum(b)", fast, fine.clone())]);
    until("the other autoscaler to push", || {
        fine.accepted().iter().any(|d| d.desired == 5)
    })
    .await;
    let b_first = last(&c, "b").unwrap().id;
    let a_first = last(&c, "a").unwrap().id;
    until("both to keep deciding", || {
        last(&c, "b").unwrap().id > b_first + 5 && last(&c, "a").unwrap().id > a_first + 5
    })
    .await;
    // The stuck one is still on its first push (of 5), which never returned.
    let calls = stuck.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1.desired, 5);
    c.stop();
}
