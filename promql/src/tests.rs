//! Engine behaviour around the evaluation: limits, cancellation, result shapes. The
//! semantics themselves are covered by the conformance scripts (`tests/conformance.rs`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use model::metrics::Registry;
use model::{Appendable, Labels};

use crate::{Engine, EngineOptions, Error, Value};

/// 100 counters `m{i="…"}` with a sample every 10 s over 0–190 s.
fn store() -> (tempfile::TempDir, Arc<tsdb::Db>) {
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &Registry::new()).unwrap();
    let mut app = db.appender();
    for k in 0..20 {
        for i in 0..100 {
            let l = Labels::from_pairs([("__name__", "m".to_string()), ("i", i.to_string())]);
            app.append(None, &l, k * 10_000, (k * (i + 1)) as f64)
                .unwrap();
        }
    }
    app.commit().unwrap();
    (dir, db)
}

fn engine(f: impl FnOnce(&mut EngineOptions)) -> Engine {
    let mut o = EngineOptions::default();
    f(&mut o);
    Engine::new(o)
}

#[test]
fn too_many_samples_is_an_execution_error() {
    let (_d, db) = store();
    // 100 results of one step each, all held at once.
    let small = engine(|o| o.max_samples = 50);
    match small.instant_query(db.as_ref(), "rate(m[1m])", 190_000) {
        Err(Error::Execution(m)) => assert!(m.contains("too many samples"), "{m}"),
        other => panic!("{other:?}"),
    }
    let res = Engine::default()
        .instant_query(db.as_ref(), "rate(m[1m])", 190_000)
        .unwrap();
    assert!(matches!(res.value, Value::Vector(v) if v.len() == 100));
    // A sum folds each series' rate into its group as it is computed: one series' samples
    // (7 in the window) and one group's state are held at a time.
    let res = small
        .instant_query(db.as_ref(), "sum(rate(m[1m]))", 190_000)
        .unwrap();
    assert!(matches!(res.value, Value::Vector(v) if v.len() == 1));
    let tiny = engine(|o| o.max_samples = 6);
    match tiny.instant_query(db.as_ref(), "sum(rate(m[1m]))", 190_000) {
        Err(Error::Execution(m)) => assert!(m.contains("too many samples"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn canceled_and_timed_out_queries_stop() {
    let (_d, db) = store();
    let flag = Arc::new(AtomicBool::new(true));
    let e = Engine::default().with_cancel(flag);
    assert!(matches!(
        e.range_query(db.as_ref(), "rate(m[1m])", 0, 190_000, 1_000),
        Err(Error::Canceled(_))
    ));
    let e = engine(|o| o.timeout = Duration::ZERO);
    std::thread::sleep(Duration::from_millis(2));
    assert!(matches!(
        e.range_query(db.as_ref(), "rate(m[1m])", 0, 190_000, 1_000),
        Err(Error::Timeout(_))
    ));
}

#[test]
fn range_queries_are_limited_to_11000_points() {
    let (_d, db) = store();
    let e = Engine::default();
    match e.range_query(db.as_ref(), "m", 0, 11_001, 1) {
        Err(Error::BadData(m)) => assert!(m.contains("11,000 points"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(e.range_query(db.as_ref(), "m", 0, 11_000, 1).is_ok());
    // Times far apart do not overflow into a small span.
    assert!(matches!(
        e.range_query(db.as_ref(), "m", i64::MIN / 2, i64::MAX / 2, 1_000_000),
        Err(Error::BadData(_))
    ));
    assert!(matches!(
        e.range_query(db.as_ref(), "m", 10, 0, 1),
        Err(Error::BadData(_))
    ));
    assert!(matches!(
        e.range_query(db.as_ref(), "m[1m]", 0, 10, 1),
        Err(Error::BadData(m)) if m.contains("range vector")
    ));
}

#[test]
fn huge_subqueries_and_extreme_times_fail_cleanly() {
    let (_d, db) = store();
    let e = Engine::default();
    match e.instant_query(db.as_ref(), "count_over_time(vector(1)[1y:1ms])", 100_000) {
        Err(Error::Execution(m)) => assert!(m.contains("too many samples"), "{m}"),
        other => panic!("{other:?}"),
    }
    for q in ["m[1e20]", "m offset Inf", "m @ 1e18", "m offset 100000y"] {
        assert!(
            matches!(e.instant_query(db.as_ref(), q, 0), Err(Error::BadData(_))),
            "{q}"
        );
    }
    let chain = vec!["m"; 600].join(" + ");
    assert!(matches!(
        e.instant_query(db.as_ref(), &chain, 0),
        Err(Error::BadData(m)) if m.contains("too complex")
    ));
    // `@ end()` and `range()` mean the requested end, not the last step.
    let r = e
        .range_query(db.as_ref(), "vector(range())", 0, 100_000, 30_000)
        .unwrap();
    let Value::Matrix(m) = r.value else { panic!() };
    assert!(m[0].points.iter().all(|p| p.1 == 100.0), "{m:?}");
    let r = e
        .range_query(db.as_ref(), "m{i=\"0\"} @ end()", 0, 100_000, 30_000)
        .unwrap();
    let Value::Matrix(m) = r.value else { panic!() };
    assert!(m[0].points.iter().all(|p| p.1 == 10.0), "{m:?}");
}

#[test]
fn parse_errors_say_what_is_wrong() {
    let (_d, db) = store();
    match Engine::default().instant_query(db.as_ref(), "sum(rate(m[1m])", 0) {
        Err(Error::BadData(m)) => assert!(m.contains("unclosed left parenthesis"), "{m}"),
        other => panic!("{other:?}"),
    }
    match Engine::default().instant_query(db.as_ref(), "rate(m)", 0) {
        Err(Error::BadData(m)) => assert!(m.contains("expected type matrix"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn result_shapes() {
    let (_d, db) = store();
    let e = Engine::default();
    let at = |q: &str| e.instant_query(db.as_ref(), q, 100_000).unwrap().value;
    assert_eq!(at("1 + 2"), Value::Scalar { t: 100_000, v: 3.0 });
    assert_eq!(
        at("\"text\""),
        Value::String {
            t: 100_000,
            v: "text".into()
        }
    );
    let Value::Vector(v) = at("sort_desc(m)") else {
        panic!()
    };
    assert_eq!(v.len(), 100);
    assert!(v.windows(2).all(|w| w[0].v >= w[1].v));
    let Value::Matrix(m) = at("m{i=\"3\"}[30s]") else {
        panic!()
    };
    assert_eq!(
        m[0].points,
        vec![(80_000, 32.0), (90_000, 36.0), (100_000, 40.0)]
    );

    // A scalar in a range query is one series without labels; `@` pins a selector.
    let r = e
        .range_query(
            db.as_ref(),
            "time() + sum(m{i=\"0\"} @ 50)",
            0,
            20_000,
            10_000,
        )
        .unwrap();
    let Value::Matrix(m) = r.value else { panic!() };
    assert_eq!(m.len(), 1);
    assert!(m[0].labels.is_empty());
    assert_eq!(m[0].points, vec![(0, 5.0), (10_000, 15.0), (20_000, 25.0)]);
}

#[test]
fn query_selectors_lists_every_selector_with_its_name_matcher() {
    let sel = crate::query_selectors(
        r#"sum(rate(a{job="x"}[5m])) / on() group_left max_over_time(b[10m:1m]) + {__name__=~"c.*"} or vector(1)"#,
    )
    .unwrap();
    let show: Vec<Vec<Vec<String>>> = sel
        .iter()
        .map(|sets| {
            sets.iter()
                .map(|set| {
                    set.iter()
                        .map(|m| format!("{}{}{:?}", m.name, m.kind.as_str(), m.value))
                        .collect()
                })
                .collect()
        })
        .collect();
    assert_eq!(
        show,
        [
            vec![vec![r#"__name__="a""#, r#"job="x""#]],
            vec![vec![r#"__name__="b""#]],
            vec![vec![r#"__name__=~"c.*""#]],
        ]
    );
    let or = crate::query_selectors(r#"up{job="a" or job="b"}"#).unwrap();
    assert_eq!(or[0].len(), 2, "one set per `or` branch");
    assert!(crate::query_selectors("up +").is_err());
    assert!(crate::query_selectors("1 + 2").unwrap().is_empty());
}

#[test]
fn a_large_selection_is_read_in_parts_each_series_whole() {
    let (_d, db) = store();
    // 100 series × 3,801 steps: enough work to be split across threads.
    let r = Engine::default()
        .range_query(db.as_ref(), "m", 0, 190_000, 50)
        .unwrap();
    let Value::Matrix(m) = r.value else { panic!() };
    assert_eq!(m.len(), 100);
    for s in &m {
        let i: i64 = s.labels.get("i").parse().unwrap();
        assert_eq!(s.points.len(), 3_801, "{}", s.labels);
        for &(t, v) in &s.points {
            assert_eq!(v, ((t / 10_000) * (i + 1)) as f64, "{} at {t}", s.labels);
        }
    }
}

#[test]
fn an_aggregation_folded_across_threads_equals_one_over_the_results() {
    // 300 counters `c{g, i}` in 7 groups, a sample every 10 s with resets: enough series ×
    // steps to be split across threads, with series of every group in each part.
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &Registry::new()).unwrap();
    let mut app = db.appender();
    for k in 0..20i64 {
        for i in 0..300i64 {
            let l = Labels::from_pairs([
                ("__name__", "c".to_string()),
                ("g", (i % 7).to_string()),
                ("i", i.to_string()),
            ]);
            let v = ((k + i) % 9) * (i + 1) + k * k;
            app.append(None, &l, k * 10_000, v as f64).unwrap();
        }
    }
    app.commit().unwrap();
    // `* 1` makes the input an evaluated vector, aggregated on one thread afterwards.
    let e = Engine::default();
    for op in [
        "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar",
    ] {
        for (by, groups) in [("", 1), ("by (g)", 7), ("without (i)", 7), ("by (i)", 300)] {
            let run = |inner: &str| {
                let q = format!("{op} {by} ({inner})");
                match e
                    .range_query(db.as_ref(), &q, 0, 190_000, 100)
                    .unwrap()
                    .value
                {
                    Value::Matrix(m) => m,
                    other => panic!("{q}: {other:?}"),
                }
            };
            // A function over a range vector and a plain selector are both folded.
            for inner in ["rate(c[30s])", "c"] {
                let folded = run(inner);
                assert_eq!(folded.len(), groups, "{op} {by} {inner}");
                assert_close(
                    &format!("{op} {by} ({inner})"),
                    &folded,
                    &run(&format!("{inner} * 1")),
                );
            }
        }
    }
}

/// Asserts two range-query results hold the same series and points, values within 1e-9.
fn assert_close(what: &str, a: &[crate::RangeSeries], b: &[crate::RangeSeries]) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (f, w) in a.iter().zip(b) {
        assert_eq!(f.labels, w.labels, "{what}");
        assert_eq!(f.points.len(), w.points.len(), "{what} {}", f.labels);
        for (x, y) in f.points.iter().zip(&w.points) {
            assert_eq!(x.0, y.0);
            let close = (x.1 - y.1).abs() <= 1e-9 * x.1.abs().max(y.1.abs());
            assert!(close, "{what} {} at {}: {} vs {}", f.labels, x.0, x.1, y.1);
        }
    }
}

#[test]
fn an_aggregation_over_a_join_folded_across_threads_equals_one_over_the_join() {
    // 300 series `c{g, i}` and `w{g, i}` (one-to-one), and per group `info{g, v}` whose
    // `v="a"` series goes stale at 100 s when `v="b"` starts: each `c` series is paired with
    // two `info` series at different steps, both writing one output series.
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &Registry::new()).unwrap();
    let mut app = db.appender();
    let stale = f64::from_bits(model::sample::STALE_NAN_BITS);
    for k in 0..20i64 {
        for i in 0..300i64 {
            for (name, v) in [
                ("c", ((k + i) % 9) * (i + 1) + k * k),
                ("w", (i + k) % 5 + 1),
            ] {
                let l = Labels::from_pairs([
                    ("__name__", name.to_string()),
                    ("g", (i % 7).to_string()),
                    ("i", i.to_string()),
                ]);
                app.append(None, &l, k * 10_000, v as f64).unwrap();
            }
        }
        for g in 0..7i64 {
            let info = |v: &str| {
                Labels::from_pairs([
                    ("__name__", "info".to_string()),
                    ("g", g.to_string()),
                    ("v", v.to_string()),
                ])
            };
            let v = if k < 10 { "a" } else { "b" };
            app.append(None, &info(v), k * 10_000, (g + 2) as f64)
                .unwrap();
            if k == 10 {
                app.append(None, &info("a"), k * 10_000, stale).unwrap();
            }
        }
    }
    app.commit().unwrap();
    let e = Engine::default();
    let run = |q: &str| e.range_query(db.as_ref(), q, 0, 190_000, 100);
    let matrix = |q: &str| match run(q).unwrap().value {
        Value::Matrix(m) => m,
        other => panic!("{q}: {other:?}"),
    };
    // `(... ) * 1` makes the join an evaluated vector, aggregated on one thread afterwards.
    for join in [
        "c / on (g, i) w",
        "c - w",
        "c * on (g) group_left () info",
        "c * on (g) group_left (v) info",
        "c / ignoring (i, v) group_left () info",
    ] {
        for agg in ["sum", "avg by (g)", "max without (i)", "count by (v)"] {
            let folded = matrix(&format!("{agg} ({join})"));
            assert!(!folded.is_empty(), "{agg} ({join})");
            let whole = matrix(&format!("{agg} (({join}) * 1)"));
            assert_close(&format!("{agg} ({join})"), &folded, &whole);
        }
    }
    // Where series could meet in one output series or match group, the folded aggregation
    // gives way to the whole join and fails as it does.
    for join in [
        "c * on (g) group_left () c",
        "{__name__=~\"c|w\"} / on (g, i) w",
        "{__name__=~\"c|w\"} / on (g, i) group_left () w",
    ] {
        let err = |q: String| match run(&q) {
            Ok(_) => panic!("{q}: no error"),
            Err(e) => e.to_string(),
        };
        let folded = err(format!("sum ({join})"));
        assert_eq!(folded, err(format!("sum (({join}) * 1)")), "{join}");
    }
}
