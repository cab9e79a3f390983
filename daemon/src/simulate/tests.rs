use autoscaler::config::ScalerConfig;
use autoscaler::policy::{Reason, Scaler};
use model::metrics::Registry;

use super::replay::{Params, Point, Summary, needed, replay};
use super::{Answer, sample};

fn scaler(yaml: &str) -> Scaler {
    yaml_serde::from_str::<ScalerConfig>(yaml)
        .unwrap()
        .validate()
        .unwrap()
}

fn points(signals: &[Option<f64>], observed: Option<u32>) -> Vec<Point> {
    signals
        .iter()
        .enumerate()
        .map(|(i, &signal)| Point {
            t_ms: 1_000_000 + i as i64 * 1000,
            signal,
            observed,
            service: None,
        })
        .collect()
}

fn params(initial: u32, capacity: Option<f64>, per_replica_signal: bool) -> Params {
    Params {
        step_ms: 1000,
        initial,
        capacity,
        per_replica_signal,
    }
}

const PER_REPLICA: &str = "max_replicas: 10\npolicy: {per_replica: {target: 10}}\n";

#[test]
fn needed_rounds_up_without_noise() {
    assert_eq!(needed(25.0, 10.0), 3);
    assert_eq!(needed(30.0, 10.0), 3);
    assert_eq!(needed(0.1 + 0.2, 0.1), 3, "0.30000000000000004 / 0.1");
    assert_eq!(needed(0.0, 10.0), 0);
}

#[test]
fn a_prompt_policy_is_under_provisioned_for_one_step_of_a_rise() {
    // 10, 30, 30, 5, 5, 5 at target 10: needs 1, 3, 3, 1, 1, 1. Without a scale-down window
    // the replicas follow one step behind the need on the way up only.
    let s = scaler(&format!(
        "{PER_REPLICA}behavior: {{scale_down: {{stabilization_window: 0s}}}}\n"
    ));
    let sig = [10.0, 30.0, 30.0, 5.0, 5.0, 5.0].map(Some);
    let (rows, sum) = replay(&s, &params(1, Some(10.0), false), &points(&sig, None));
    let replicas: Vec<u32> = rows.iter().map(|r| r.replicas).collect();
    assert_eq!(replicas, [1, 3, 3, 1, 1, 1]);
    let need: Vec<Option<u32>> = rows.iter().map(|r| r.needed).collect();
    assert_eq!(need, [1, 3, 3, 1, 1, 1].map(Some));
    // Interval 0 (1 replica) ends where 3 are needed.
    let under: Vec<Option<f64>> = rows.iter().map(|r| r.under_seconds).collect();
    assert_eq!(
        under,
        [Some(1.0), Some(0.0), Some(0.0), Some(0.0), Some(0.0), None]
    );
    assert_eq!(
        sum,
        Summary {
            seconds: 5.0,
            replica_seconds: 1.0 + 3.0 + 3.0 + 1.0 + 1.0,
            under_seconds: 1.0,
            measured_seconds: 5.0,
            peak_replicas: 3,
            changes: 2,
            missing: 0,
            panic_steps: 0,
        }
    );
    assert_eq!(rows[1].reason, Reason::Scaled);
    assert_eq!(rows[5].replica_seconds, 0.0, "the last step covers nothing");
}

#[test]
fn the_default_scale_down_window_costs_replica_seconds() {
    let s = scaler(PER_REPLICA);
    let sig = [10.0, 30.0, 30.0, 5.0, 5.0, 5.0].map(Some);
    let (rows, sum) = replay(&s, &params(1, Some(10.0), false), &points(&sig, None));
    let replicas: Vec<u32> = rows.iter().map(|r| r.replicas).collect();
    assert_eq!(replicas, [1, 3, 3, 3, 3, 3]);
    assert_eq!(rows[3].reason, Reason::Stabilized);
    assert_eq!(sum.replica_seconds, 1.0 + 3.0 * 4.0);
    assert_eq!(sum.under_seconds, 1.0);
    assert_eq!(sum.changes, 1);
}

#[test]
fn a_ratio_signal_is_spread_over_the_simulated_replicas() {
    // Recorded with 2 replicas at 0.75 each: a load of 1.5, 3 replicas at target 0.5. Fed
    // back unchanged to 3 replicas, 0.75 would ask for 5, then 8...; spread, it is 0.5.
    let s = scaler("max_replicas: 10\npolicy: {ratio: {target: 0.5}}\n");
    let (rows, sum) = replay(
        &s,
        &params(2, Some(0.5), true),
        &points(&[Some(0.75); 4], Some(2)),
    );
    let replicas: Vec<u32> = rows.iter().map(|r| r.replicas).collect();
    assert_eq!(replicas, [3, 3, 3, 3]);
    assert_eq!(rows[0].reason, Reason::Scaled);
    assert_eq!(rows[1].reason, Reason::WithinTolerance);
    assert!(rows.iter().all(|r| r.needed == Some(3)));
    assert_eq!(sum.under_seconds, 0.0);
    assert_eq!(sum.replica_seconds, 9.0);
}

#[test]
fn without_observed_replicas_a_ratio_signal_is_missing() {
    let s = scaler("max_replicas: 10\npolicy: {ratio: {target: 0.5}}\n");
    let mut pts = points(&[Some(0.75); 3], Some(2));
    pts[1].observed = None;
    let (rows, sum) = replay(&s, &params(2, Some(0.5), true), &pts);
    assert_eq!(rows[1].reason, Reason::MissingData);
    assert_eq!(rows[1].replicas, 3, "held");
    assert_eq!(rows[1].needed, None);
    assert_eq!(
        rows[0].under_seconds, None,
        "interval 0 ends without a need"
    );
    assert_eq!(sum.missing, 1);
    assert_eq!(sum.measured_seconds, 1.0);
}

#[test]
fn missing_data_holds_and_is_not_measured() {
    let s = scaler(PER_REPLICA);
    let (rows, sum) = replay(
        &s,
        &params(4, Some(10.0), false),
        &points(&[Some(40.0), None, Some(40.0)], None),
    );
    assert_eq!(rows[1].reason, Reason::MissingData);
    assert_eq!(
        rows.iter().map(|r| r.replicas).collect::<Vec<_>>(),
        [4, 4, 4]
    );
    assert_eq!((sum.measured_seconds, sum.missing), (1.0, 1));
}

#[test]
fn without_a_capacity_nothing_is_measured() {
    let s = scaler(
        "max_replicas: 10\npolicy: {step: {threshold: 50, adjustment_type: ChangeInCapacity, cooldown: 0s, steps: [{lower: 0, adjustment: 1}, {upper: 0, adjustment: 0}]}}\n",
    );
    let (rows, sum) = replay(
        &s,
        &params(1, None, false),
        &points(&[Some(60.0), Some(60.0), Some(10.0)], None),
    );
    assert_eq!(
        rows.iter().map(|r| r.replicas).collect::<Vec<_>>(),
        [2, 3, 3]
    );
    assert!(
        rows.iter()
            .all(|r| r.needed.is_none() && r.under_seconds.is_none())
    );
    assert_eq!(sum.measured_seconds, 0.0);
    assert_eq!(sum.replica_seconds, 5.0);
}

#[test]
fn sampling_reads_one_value_per_step_across_range_query_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &Registry::new()).unwrap();
    let mut app = db.appender();
    for (job, v) in [("a", 1.0), ("b", 2.0)] {
        let l = model::Labels::from_pairs([("__name__", "load"), ("job", job)]);
        for t in 0..5 {
            app.append(None, &l, t * 1000, v * t as f64).unwrap();
        }
    }
    app.commit().unwrap();
    let engine = promql::Engine::default();
    let one = sample(&engine, db.as_ref(), "load{job=\"b\"}", 0, 1000, 3).unwrap();
    assert_eq!(one, [Answer::One(0.0), Answer::One(2.0), Answer::One(4.0)]);
    let both = sample(&engine, db.as_ref(), "load", 0, 1000, 2).unwrap();
    assert_eq!(both, [Answer::Several, Answer::Several]);
    assert_eq!(both[0].value(), None);
    let none = sample(&engine, db.as_ref(), "nothing", 0, 1000, 2).unwrap();
    assert_eq!(none, [Answer::Nothing, Answer::Nothing]);
    // More steps than one range query takes: every step its own time.
    let n = super::CHUNK_STEPS * 2 + 5;
    let t = sample(&engine, db.as_ref(), "time()", 0, 1000, n).unwrap();
    assert!(
        t.iter()
            .enumerate()
            .all(|(i, a)| a.value() == Some(i as f64)),
        "{:?}",
        &t[..3]
    );
    assert!(sample(&engine, db.as_ref(), "sum(", 0, 1000, 1).is_err());
    db.close().unwrap();
}

#[test]
fn the_service_time_is_sampled_from_a_stored_histogram() {
    // 10 requests a second, half in (0.05, 0.1], half in (0.1, 0.25], 1.35 s of service a
    // second (mean 0.135 s), for 60 s; nothing after.
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &Registry::new()).unwrap();
    let mut app = db.appender();
    let series = |suffix: &str, le: Option<&str>| {
        let name = format!("svc_seconds_{suffix}");
        let mut pairs = vec![("__name__", name.as_str()), ("fn", "a")];
        if let Some(le) = le {
            pairs.push(("le", le));
        }
        model::Labels::from_pairs(pairs)
    };
    for t in 0..=120i64 {
        let k = t.min(60) as f64;
        let mut put = |l: model::Labels, v: f64| app.append(None, &l, t * 1000, v).unwrap();
        put(series("sum", None), 1.35 * k);
        put(series("count", None), 10.0 * k);
        put(series("bucket", Some("0.05")), 0.0);
        put(series("bucket", Some("0.1")), 5.0 * k);
        put(series("bucket", Some("0.25")), 10.0 * k);
        put(series("bucket", Some("+Inf")), 10.0 * k);
    }
    app.commit().unwrap();
    let cfg = autoscaler::config::ScalerConfig {
        min_replicas: None,
        max_replicas: 10,
        policy: yaml_serde::from_str(
            "{predictive: {per_replica_concurrency: 1, cold_start: 1s, service_time_histogram: {selector: 'svc_seconds{fn=\"a\"}', window: 10s}}}",
        )
        .unwrap(),
        behavior: None,
        scale_to_zero: None,
        fallback: None,
    };
    let scaler = cfg.validate().unwrap();
    let engine = promql::Engine::default();
    let got = super::sample_service(
        &engine,
        db.as_ref(),
        scaler.service_queries().unwrap(),
        (30_000, 30_000, 3),
    )
    .unwrap();
    let s = got[0].unwrap();
    assert!((s.mean_seconds - 0.135).abs() < 1e-9, "{s:?}");
    assert!(s.cv.unwrap() > 0.3, "{s:?}");
    let same = got[1].unwrap();
    assert!(
        (same.mean_seconds - s.mean_seconds).abs() < 1e-9,
        "{same:?}"
    );
    assert!((same.cv.unwrap() - s.cv.unwrap()).abs() < 1e-9, "{same:?}");
    // At 90 s nothing was served in the window: no service time.
    assert_eq!(got[2], None);
    db.close().unwrap();
}

#[test]
fn an_override_replaces_only_the_fields_it_gives() {
    let cfg = crate::config::Config::parse(
        "autoscalers:\n  - name: web\n    query: up\n    min_replicas: 2\n    max_replicas: 10\n    policy: {per_replica: {target: 10}}\n    target: {http_openfaas: {gateway: 'http://127.0.0.1:9', function: web}}\n",
        "test.yml",
    )
    .unwrap();
    let a = &cfg.autoscalers[0];
    let o = super::Override::parse("{max_replicas: 4, policy: {ratio: {target: 0.5}}}").unwrap();
    let b = o.apply(a);
    let s = b.scaler().unwrap();
    assert_eq!((s.min_replicas(), s.max_replicas()), (2, 4));
    assert_eq!((s.policy_name(), s.target_value()), ("ratio", Some(0.5)));
    assert_eq!((b.name.as_str(), b.query.as_str()), ("web", "up"));
    assert_eq!(super::Override::default().apply(a), *a);
    let err = super::Override::parse("{query: x}")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--override: ") && err.contains("query"),
        "{err}"
    );
    let bad = super::Override::parse("{max_replicas: 1, min_replicas: 3}").unwrap();
    assert!(bad.apply(a).scaler().is_err(), "validated like the file");
}
