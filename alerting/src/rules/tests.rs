//! Rule evaluation over the real store and PromQL engine, driven at chosen times.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use model::metrics::Registry;
use model::{Labels, Queryable, labels};
use parking_lot::Mutex;

use super::*;
use crate::LocalQueryEngine;

const S: i64 = 1000;
const MIN: i64 = 60 * S;
/// A base time well after the epoch (2026-01-01), so times read naturally.
const T0: i64 = 1_767_225_600_000;

struct Fixture {
    _dir: tempfile::TempDir,
    db: Arc<tsdb::Db>,
    env: RuleEnv,
    sent: Arc<Mutex<Vec<Alert>>>,
    registry: Registry,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &registry).unwrap();
    let sent: Arc<Mutex<Vec<Alert>>> = Arc::default();
    let s2 = sent.clone();
    let env = RuleEnv {
        query: Arc::new(LocalQueryEngine {
            engine: promql::Engine::new(promql::EngineOptions::default()),
            store: db.clone(),
        }),
        appendable: db.clone(),
        queryable: Some(db.clone()),
        notify: Arc::new(move |a| s2.lock().extend(a)),
        external_labels: BTreeMap::new(),
        external_url: "http://vane.example:9090".into(),
        resend_delay: Duration::from_secs(60),
        outage_tolerance: Duration::from_secs(3600),
        for_grace_period: Duration::from_secs(600),
    };
    Fixture {
        _dir: dir,
        db,
        env,
        sent,
        registry,
    }
}

impl Fixture {
    fn put(&self, l: &Labels, t: i64, v: f64) {
        let mut app = self.db.appender();
        app.append(None, l, t, v).unwrap();
        app.commit().unwrap();
    }

    /// `(labels, value)` of an instant query, sorted.
    fn query(&self, q: &str, t: i64) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self
            .env
            .query
            .instant(q, t)
            .unwrap()
            .into_iter()
            .map(|s| (s.labels.to_string(), s.value))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn take_sent(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.sent.lock())
    }

    fn group(&self, interval: Duration, rules: Vec<Rule>) -> Group {
        Group::new(
            "g".into(),
            "rules.yml".into(),
            interval,
            Duration::ZERO,
            0,
            rules,
            &GroupMetrics::new(&self.registry),
        )
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn alerting(name: &str, expr: &str, hold: i64, keep: i64) -> AlertingRule {
    AlertingRule::new(
        name.into(),
        expr.into(),
        hold,
        keep,
        map(&[("severity", "page")]),
        map(&[("summary", "it is down")]),
        true,
    )
}

#[test]
fn recording_rules_write_their_results_and_mark_vanished_series_stale() {
    let f = fixture();
    let (a, b) = (
        labels! {"__name__" => "up", "job" => "a"},
        labels! {"__name__" => "up", "job" => "b"},
    );
    let g = f.group(
        Duration::from_secs(15),
        vec![Rule::Recording(RecordingRule::new(
            "job:up:pos".into(),
            "up > 0".into(),
            map(&[("team", "infra"), ("job", "")]),
        ))],
    );
    for t in (0..=120).step_by(15) {
        f.put(&a, T0 + t * S, 1.0);
        f.put(&b, T0 + t * S, if t < 100 { 1.0 } else { 0.0 });
    }
    g.eval(T0 + 90 * S, &f.env);
    // `job` set to "" removes it: two series collapse into one label set.
    let st = g.rules[0].status();
    assert_eq!(st.health, Health::Bad);
    assert!(
        st.last_error.as_deref().unwrap().contains("same labelset"),
        "{st:?}"
    );

    let g = f.group(
        Duration::from_secs(15),
        vec![Rule::Recording(RecordingRule::new(
            "job:up:pos".into(),
            "up > 0".into(),
            map(&[("team", "infra")]),
        ))],
    );
    g.eval(T0 + 90 * S, &f.env);
    assert_eq!(g.rules[0].status().health, Health::Good);
    assert_eq!(
        f.query("job:up:pos", T0 + 90 * S),
        vec![
            (r#"job:up:pos{job="a", team="infra"}"#.to_string(), 1.0),
            (r#"job:up:pos{job="b", team="infra"}"#.to_string(), 1.0),
        ]
    );
    // b drops out of the result: it gets a staleness marker, so it vanishes at once
    // instead of lingering for the 5-minute lookback.
    g.eval(T0 + 105 * S, &f.env);
    assert_eq!(
        f.query("job:up:pos", T0 + 106 * S),
        vec![(r#"job:up:pos{job="a", team="infra"}"#.to_string(), 1.0)]
    );
}

#[test]
fn alerts_go_pending_then_firing_are_resent_and_resolve() {
    let f = fixture();
    let up = labels! {"__name__" => "up", "job" => "api", "instance" => "x:1"};
    let g = f.group(
        Duration::from_secs(15),
        vec![Rule::Alerting(alerting("Down", "up == 0", MIN, 0))],
    );
    let Rule::Alerting(rule) = &g.rules[0] else {
        unreachable!()
    };
    let eval = |t: i64| {
        f.put(&up, T0 + t * S, if t < 150 { 0.0 } else { 1.0 });
        g.eval(T0 + t * S, &f.env);
    };

    eval(0);
    let a = rule.alerts();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state, AlertState::Pending);
    assert_eq!(
        a[0].labels.to_string(),
        r#"{alertname="Down", instance="x:1", job="api", severity="page"}"#
    );
    assert_eq!(a[0].active_at, T0);
    assert!(f.take_sent().is_empty(), "pending alerts are not sent");
    assert_eq!(
        f.query("ALERTS", T0),
        vec![(
            r#"ALERTS{alertname="Down", alertstate="pending", instance="x:1", job="api", severity="page"}"#
                .to_string(),
            1.0
        )]
    );
    assert_eq!(
        f.query("ALERTS_FOR_STATE", T0)[0].1,
        (T0 / 1000) as f64,
        "ALERTS_FOR_STATE holds activeAt in seconds"
    );

    eval(30);
    assert_eq!(rule.state(), AlertState::Pending);
    eval(60);
    assert_eq!(rule.state(), AlertState::Firing);
    let sent = f.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].starts_at, T0 + 60 * S, "startsAt is when it fired");
    // Valid for 4 × max(interval, resend delay).
    assert_eq!(sent[0].ends_at, Some(T0 + 60 * S + 4 * MIN));
    assert_eq!(sent[0].annotations["summary"], "it is down");
    assert_eq!(
        sent[0].generator_url,
        "http://vane.example:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    );
    assert_eq!(
        f.query("ALERTS", T0 + 60 * S)[0].0,
        r#"ALERTS{alertname="Down", alertstate="firing", instance="x:1", job="api", severity="page"}"#
    );

    eval(90);
    assert!(
        f.take_sent().is_empty(),
        "not re-sent before the resend delay"
    );
    eval(135);
    assert_eq!(f.take_sent().len(), 1, "re-sent after the resend delay");

    // The condition clears: resolved, sent at once with endsAt = resolution time.
    eval(150);
    let sent = f.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].ends_at, Some(T0 + 150 * S));
    assert!(sent[0].resolved_at(T0 + 150 * S));
    assert_eq!(rule.state(), AlertState::Inactive);
    assert!(
        f.query("ALERTS", T0 + 150 * S).is_empty(),
        "ALERTS went stale"
    );

    // Resolved alerts are re-sent for 15 minutes, then forgotten.
    eval(165);
    assert!(f.take_sent().is_empty());
    eval(240);
    assert_eq!(f.take_sent().len(), 1);
    eval(150 + 15 * 60 + 15);
    assert!(rule.alerts().is_empty());
}

#[test]
fn keep_firing_for_holds_a_firing_alert_after_the_condition_clears() {
    let f = fixture();
    let m = labels! {"__name__" => "errors", "job" => "api"};
    let g = f.group(
        Duration::from_secs(10),
        vec![Rule::Alerting(alerting("Errors", "errors > 5", 0, 30 * S))],
    );
    let Rule::Alerting(rule) = &g.rules[0] else {
        unreachable!()
    };
    f.put(&m, T0, 10.0);
    g.eval(T0, &f.env);
    assert_eq!(rule.state(), AlertState::Firing, "for: 0 fires at once");
    f.put(&m, T0 + 10 * S, 1.0);
    g.eval(T0 + 10 * S, &f.env);
    let a = rule.alerts();
    assert_eq!(a[0].state, AlertState::Firing);
    assert_eq!(a[0].keep_firing_since, Some(T0 + 10 * S));
    f.put(&m, T0 + 30 * S, 1.0);
    g.eval(T0 + 30 * S, &f.env);
    assert_eq!(rule.state(), AlertState::Firing);
    f.put(&m, T0 + 40 * S, 1.0);
    g.eval(T0 + 40 * S, &f.env);
    assert_eq!(rule.state(), AlertState::Inactive);
}

#[test]
fn the_alert_limit_fails_the_rule_and_clears_its_alerts() {
    let f = fixture();
    for i in 0..3 {
        f.put(&labels! {"__name__" => "up", "i" => i.to_string()}, T0, 0.0);
    }
    let mut g = f.group(
        Duration::from_secs(10),
        vec![Rule::Alerting(alerting("Down", "up == 0", 0, 0))],
    );
    g.limit = 2;
    g.eval(T0, &f.env);
    let st = g.rules[0].status();
    assert_eq!(
        st.last_error.as_deref(),
        Some("exceeded limit of 2 with 3 alerts")
    );
    let Rule::Alerting(rule) = &g.rules[0] else {
        unreachable!()
    };
    assert!(rule.alerts().is_empty());
}

/// `up{job="db"} == 0` alerting with `for: hold`: pending from T0 for 10 minutes in one
/// process, then a new, unrestored process evaluating at `restart` and restoring state.
fn restarted_db_alert(f: &Fixture, hold: i64, restart: i64) -> Group {
    let up = labels! {"__name__" => "up", "job" => "db"};
    let before = f.group(
        Duration::from_secs(60),
        vec![Rule::Alerting(alerting("DbDown", "up == 0", hold, 0))],
    );
    for m in 0..=10 {
        f.put(&up, T0 + m * MIN, 0.0);
        before.eval(T0 + m * MIN, &f.env);
    }
    let after = f.group(
        Duration::from_secs(60),
        vec![Rule::Alerting(AlertingRule::new(
            "DbDown".into(),
            "up == 0".into(),
            hold,
            0,
            map(&[("severity", "page")]),
            map(&[]),
            false,
        ))],
    );
    f.put(&up, restart, 0.0);
    after.eval(restart, &f.env);
    assert!(
        f.query("ALERTS_FOR_STATE", restart)
            .iter()
            .all(|(_, v)| *v == (T0 / 1000) as f64),
        "nothing written before the state is restored"
    );
    after.restore_for_state(restart, &f.env);
    after
}

fn first_alert(g: &Group) -> ActiveAlert {
    let Rule::Alerting(rule) = &g.rules[0] else {
        unreachable!()
    };
    rule.alerts().remove(0)
}

#[test]
fn for_state_is_restored_after_a_restart() {
    let f = fixture();
    let up = labels! {"__name__" => "up", "job" => "db"};
    // Pending 10 of 30 minutes when it went down at +10m; down for 5 minutes: the outage is
    // added to its start.
    let after = restarted_db_alert(&f, 30 * MIN, T0 + 15 * MIN);
    assert_eq!(first_alert(&after).active_at, T0 + 5 * MIN);
    // Firing comes 30 minutes of observed pending time later, not earlier.
    f.put(&up, T0 + 34 * MIN, 0.0);
    after.eval(T0 + 34 * MIN, &f.env);
    assert_eq!(first_alert(&after).state, AlertState::Pending);
    f.put(&up, T0 + 35 * MIN, 0.0);
    after.eval(T0 + 35 * MIN, &f.env);
    assert_eq!(first_alert(&after).state, AlertState::Firing);
}

#[test]
fn a_restored_alert_close_to_firing_gets_the_grace_period() {
    let f = fixture();
    let (hold, restart) = (15 * MIN, T0 + 12 * MIN);
    // 5 minutes were left (< the 10-minute grace period): it fires 10 minutes from now.
    let after = restarted_db_alert(&f, hold, restart);
    assert_eq!(first_alert(&after).active_at, restart + 10 * MIN - hold);
}

#[test]
fn evaluation_times_are_aligned_and_spread_by_group() {
    let f = fixture();
    let g = f.group(Duration::from_secs(60), vec![]);
    let now = T0 + 12_345;
    let ts = g.eval_timestamp(now);
    assert!(ts <= now && now - ts < MIN);
    assert_eq!(g.eval_timestamp(ts + MIN), ts + MIN);
    assert_eq!(g.eval_timestamp(ts + MIN - 1), ts);
}

#[test]
fn the_local_engine_turns_scalars_into_one_unlabelled_sample() {
    let f = fixture();
    let got = f.env.query.instant("1 + 1", T0).unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].labels.is_empty() && got[0].value == 2.0);
    let err = f.env.query.instant(r#""text""#, T0).unwrap_err();
    assert!(err.contains("not a vector or scalar"), "{err}");
    assert!(f.db.querier(0, 1).is_ok());
}

#[test]
fn a_sample_the_store_refuses_fails_the_rule_and_the_others_are_written() {
    let f = fixture();
    let (a, b) = (
        labels! {"__name__" => "up", "job" => "a"},
        labels! {"__name__" => "up", "job" => "b"},
    );
    f.put(&a, T0, 1.0);
    f.put(&b, T0, 1.0);
    // Another value already stored at the evaluation time for job="b".
    f.put(&labels! {"__name__" => "up:copy", "job" => "b"}, T0, 7.0);
    let g = f.group(
        Duration::from_secs(60),
        vec![Rule::Recording(RecordingRule::new(
            "up:copy".into(),
            "up".into(),
            BTreeMap::new(),
        ))],
    );
    g.eval(T0, &f.env);
    let st = g.rules[0].status();
    assert_eq!(st.health, Health::Bad);
    assert_eq!(
        st.last_error.as_deref(),
        Some("duplicate sample for timestamp")
    );
    assert_eq!(
        f.query("up:copy", T0),
        vec![
            (r#"up:copy{job="a"}"#.to_string(), 1.0),
            (r#"up:copy{job="b"}"#.to_string(), 7.0),
        ]
    );
}

#[test]
fn groups_are_built_from_rule_files_with_group_labels_and_defaults() {
    let f = fixture();
    let parsed = crate::rulefmt::parse(
        "groups:\n- name: g\n  labels:\n    team: infra\n    severity: low\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n    labels:\n      severity: page\n  - record: r\n    expr: up\n",
        "rules.yml",
    )
    .unwrap();
    let opts = ManagerOptions {
        default_interval: Duration::from_secs(30),
        default_query_offset: Duration::ZERO,
    };
    let g = Group::from_rule_group(
        "rules.yml",
        parsed.groups[0].clone(),
        &opts,
        true,
        &GroupMetrics::new(&f.registry),
    );
    assert_eq!((g.name.as_str(), g.file.as_str()), ("g", "rules.yml"));
    assert_eq!(g.interval, Duration::from_secs(30));
    assert_eq!(
        g.rules[0].labels(),
        &map(&[("severity", "page"), ("team", "infra")]),
        "the rule's own labels win over the group's"
    );
    assert_eq!(
        g.rules[1].labels(),
        &map(&[("severity", "low"), ("team", "infra")])
    );
    // Restored: ALERTS is written from the first evaluation.
    f.put(&labels! {"__name__" => "up", "job" => "x"}, T0, 0.0);
    g.eval(T0, &f.env);
    assert_eq!(
        f.query("ALERTS", T0),
        vec![(
            r#"ALERTS{alertname="Down", alertstate="pending", job="x", severity="page", team="infra"}"#
                .to_string(),
            1.0
        )]
    );
}

#[test]
fn templates_expand_and_a_failing_one_shows_its_error_without_stopping_evaluation() {
    let f = fixture();
    f.put(
        &labels! {"__name__" => "queue", "name" => "jobs"},
        T0,
        1234.5,
    );
    let g = f.group(
        Duration::from_secs(10),
        vec![Rule::Alerting(AlertingRule::new(
            "QueueLong".into(),
            "queue > 100".into(),
            0,
            0,
            map(&[("queue", "{{ $labels.name }}")]),
            map(&[
                (
                    "summary",
                    "{{ $labels.name }} holds {{ $value | humanize }}",
                ),
                ("broken", "{{ humanize \"many\" }}"),
            ]),
            true,
        ))],
    );
    g.eval(T0, &f.env);
    let Rule::Alerting(rule) = &g.rules[0] else {
        unreachable!()
    };
    let a = &rule.alerts()[0];
    assert_eq!(a.state, AlertState::Firing);
    assert_eq!(a.labels.get("queue"), "jobs");
    assert_eq!(a.annotations["summary"], "jobs holds 1.234k");
    assert!(
        a.annotations["broken"].starts_with("<error expanding template: "),
        "{}",
        a.annotations["broken"]
    );
    assert_eq!(g.rules[0].status().health, Health::Good);
}
