//! Sample counts against Prometheus's: the expected numbers are those Prometheus's engine
//! reports for the same data and queries (its `TestQueryStatistics`, float series only).

use std::sync::Arc;

use model::metrics::Registry;
use model::{Appendable, Labels};

use super::*;
use crate::{Engine, EngineOptions};

/// `one` (one series) and `three{a,b}` (three series), each with the values 1, 2, … 101
/// every 10 s from 0 to 1000 s.
fn store() -> (tempfile::TempDir, Arc<tsdb::Db>) {
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &Registry::new()).unwrap();
    let series = [
        Labels::from_pairs([("__name__", "one")]),
        Labels::from_pairs([("__name__", "three"), ("a", "1"), ("b", "1")]),
        Labels::from_pairs([("__name__", "three"), ("a", "2"), ("b", "2")]),
        Labels::from_pairs([("__name__", "three"), ("a", "3"), ("b", "2")]),
    ];
    let mut app = db.appender();
    for k in 0..=100 {
        for l in &series {
            app.append(None, l, k * 10_000, (k + 1) as f64).unwrap();
        }
    }
    app.commit().unwrap();
    (dir, db)
}

/// A query (`one`/`three` for Prometheus's `metricWith1SampleEvery10Seconds` and
/// `metricWith3SampleEvery10Seconds`) at `start`..`end` every `step` seconds (an instant
/// query when `step` is 0), with the samples covered and read at each step.
struct Case {
    query: &'static str,
    start: i64,
    end: i64,
    step: i64,
    total: &'static [u64],
    read: &'static [u64],
}

const fn at(query: &'static str, t: i64, total: &'static [u64], read: &'static [u64]) -> Case {
    Case {
        query,
        start: t,
        end: t,
        step: 0,
        total,
        read,
    }
}

const fn range(
    query: &'static str,
    (start, end, step): (i64, i64, i64),
    total: &'static [u64],
    read: &'static [u64],
) -> Case {
    Case {
        query,
        start,
        end,
        step,
        total,
        read,
    }
}

const CASES: &[Case] = &[
    at(r#""literal string""#, 21, &[0], &[0]),
    at("1", 21, &[0], &[0]),
    at("one", 21, &[1], &[1]),
    at("one", 22, &[1], &[1]),
    at("timestamp(one)", 21, &[1], &[1]),
    at("one offset 10s", 21, &[1], &[1]),
    at("one @ 15", 21, &[1], &[1]),
    at(r#"three{a="1"}"#, 21, &[1], &[1]),
    at(r#"three{a="1"} @ 19"#, 21, &[1], &[1]),
    at(r#"three{a="1"}[20s] @ 19"#, 21, &[2], &[2]),
    at("three", 21, &[3], &[3]),
    at("one[60s]", 201, &[6], &[6]),
    at("one[60s] @ 30", 201, &[4], &[4]),
    at("one[60s] offset 10s", 201, &[6], &[6]),
    at("three[60s]", 201, &[18], &[18]),
    // A bare subquery counts its inner evaluation: 4 steps of 6-sample windows, of which
    // 6 + 1 + 0 + 1 samples are new.
    at("max_over_time(one[60s])[20s:5s]", 201, &[24], &[8]),
    at("max_over_time(one[61s])[20s:5s]", 201, &[26], &[8]),
    at("sum(max_over_time(three[60s] @ 30))", 201, &[12], &[12]),
    at(
        "sum by (b) (max_over_time(three[60s] @ 30))",
        201,
        &[12],
        &[12],
    ),
    at("max_over_time(one[60s])", 201, &[6], &[6]),
    at("absent_over_time(one[60s])", 201, &[6], &[6]),
    at("max_over_time(three[60s])", 201, &[18], &[18]),
    at("one[60s:5s]", 201, &[12], &[12]),
    at("one[60s:5s] offset 10s", 201, &[12], &[12]),
    at("max_over_time(three[60s:5s])", 201, &[36], &[36]),
    at(
        "sum(max_over_time(three[60s:5s])) + sum(max_over_time(three[60s:5s]))",
        201,
        &[72],
        &[72],
    ),
    at("max_over_time(one[20s:10s])", 201, &[2], &[2]),
    at("sum_over_time(one[30s:30s])", 90, &[1], &[1]),
    at("max_over_time(one[30s:2m])", 240, &[1], &[1]),
    at("sum_over_time(three[20s:10s] @ 200)", 250, &[6], &[6]),
    at("sum_over_time(one[20s:10s] offset 1m)", 240, &[2], &[2]),
    at(
        "sum_over_time(three[1m:10s] @ 200 offset 1m)",
        300,
        &[18],
        &[18],
    ),
    at(
        "sum_over_time(max_over_time(three[60s] @ 300)[5m:1m] @ 600)[10m:2m]",
        800,
        &[75],
        &[18],
    ),
    // The function counts the 2 points of its window; the subquery read 6 samples.
    at("rate(sum_over_time(one[30s])[1m:30s])", 240, &[2], &[6]),
    range(r#"three{a="1"}"#, (201, 220, 5), &[1; 4], &[1; 4]),
    range(r#"three{a="1"}"#, (204, 223, 5), &[1; 4], &[1; 4]),
    range(
        r#"three{a="1"} offset 10s"#,
        (201, 220, 5),
        &[1; 4],
        &[1; 4],
    ),
    range("timestamp(one)", (201, 220, 5), &[1; 4], &[1; 4]),
    range(
        r#"max_over_time(three{a="1"}[10s])"#,
        (991, 1021, 10),
        &[1, 1, 0, 0],
        &[1, 1, 0, 0],
    ),
    // Pinned: evaluated once, covered at every step, read once.
    range(
        "max_over_time(three[60s] @ 30)",
        (201, 220, 5),
        &[12; 4],
        &[12, 0, 0, 0],
    ),
    range("three", (201, 220, 5), &[3; 4], &[3; 4]),
    // Windows of 6 samples a series; a new sample every other step.
    range(
        "max_over_time(three[60s])",
        (201, 220, 5),
        &[18; 4],
        &[18, 0, 3, 0],
    ),
    range(
        "max_over_time(three[60s:5s])",
        (201, 220, 5),
        &[36; 4],
        &[36, 3, 3, 3],
    ),
    range(
        "max_over_time(one[60s:5s])",
        (201, 220, 5),
        &[12; 4],
        &[12, 1, 1, 1],
    ),
    range(
        "sum by (b) (max_over_time(one[60s:5s]))",
        (201, 220, 5),
        &[12; 4],
        &[12, 1, 1, 1],
    ),
    range(
        "sum(max_over_time(three[60s:5s])) + sum(max_over_time(three[60s:5s]))",
        (201, 220, 5),
        &[72; 4],
        &[72, 6, 6, 6],
    ),
    range(
        "sum(max_over_time(three[60s:5s])) + sum(max_over_time(one[60s:5s]))",
        (201, 220, 5),
        &[48; 4],
        &[48, 4, 4, 4],
    ),
    range(
        "max_over_time(one[30s:10s])",
        (201, 231, 30),
        &[3, 3],
        &[3, 3],
    ),
    range(
        "max_over_time(one[20s:10s])",
        (201, 261, 10),
        &[2; 7],
        &[2, 1, 1, 1, 1, 1, 1],
    ),
    // Steps longer than the subquery's range: inner steps between windows are not counted.
    range(
        "max_over_time(one[30s:10s])",
        (201, 261, 60),
        &[3, 3],
        &[3, 3],
    ),
    range(
        "max_over_time(three[60s:10s])",
        (200, 400, 30),
        &[18; 7],
        &[18, 9, 9, 9, 9, 9, 9],
    ),
    // `@` under a function that is not pinned with it: the same window at every step.
    range(
        "predict_linear(one[60s] @ 100, 60)",
        (100, 300, 100),
        &[6; 3],
        &[6, 0, 0],
    ),
];

fn run(db: &tsdb::Db, c: &Case, detail: StatsDetail) -> QueryStats {
    let e = Engine::new(EngineOptions::default()).with_stats(detail);
    let res = if c.step == 0 {
        e.instant_query(db, c.query, c.start * 1000)
    } else {
        e.range_query(db, c.query, c.start * 1000, c.end * 1000, c.step * 1000)
    };
    let res = res.unwrap_or_else(|err| panic!("{}: {err}", c.query));
    res.stats
        .unwrap_or_else(|| panic!("{}: no statistics", c.query))
}

#[test]
fn samples_are_counted_as_prometheus_counts_them() {
    let (_d, db) = store();
    let mut wrong = Vec::new();
    for c in CASES {
        let s = run(&db, c, StatsDetail::PerStep).samples;
        let step = c.step.max(1);
        let times = |n: usize| (0..n as i64).map(|i| (c.start + i * step) * 1000);
        let want_total: Vec<(i64, u64)> =
            times(c.total.len()).zip(c.total.iter().copied()).collect();
        let want_read: Vec<(i64, u64)> = times(c.read.len()).zip(c.read.iter().copied()).collect();
        let got = (
            s.total_queryable_samples,
            s.samples_read,
            s.total_queryable_samples_per_step
                .clone()
                .unwrap_or_default(),
            s.samples_read_per_step.clone().unwrap_or_default(),
        );
        let want = (
            c.total.iter().sum::<u64>(),
            c.read.iter().sum::<u64>(),
            want_total,
            want_read,
        );
        if got != want {
            wrong.push(format!("{}:\n  want {want:?}\n  got  {got:?}", c.query));
        }
        // Totals alone count the same, without the per-step lists.
        let t = run(&db, c, StatsDetail::Totals).samples;
        assert_eq!(
            (t.total_queryable_samples, t.samples_read),
            (got.0, got.1),
            "{}",
            c.query
        );
        assert_eq!(
            (t.total_queryable_samples_per_step, t.samples_read_per_step),
            (None, None)
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn peak_is_the_most_held_at_once() {
    let (_d, db) = store();
    // Where Vane holds what Prometheus holds, the peaks agree.
    for (c, peak) in [
        (at("one", 21, &[1], &[1]), 1),
        (at("three", 21, &[3], &[3]), 3),
        (at("one[60s]", 201, &[6], &[6]), 6),
        (range("three", (201, 220, 5), &[3; 4], &[3; 4]), 12),
    ] {
        assert_eq!(
            run(&db, &c, StatsDetail::Totals).samples.peak_samples,
            peak,
            "{}",
            c.query
        );
    }
    // An aggregation holds its groups' running state, six words a step: more than its input here.
    let c = at("sum by (b) (three)", 21, &[3], &[3]);
    assert!(run(&db, &c, StatsDetail::Totals).samples.peak_samples > 3);
}

#[test]
fn statistics_only_when_asked() {
    let (_d, db) = store();
    let e = Engine::default();
    assert_eq!(
        e.instant_query(db.as_ref(), "three", 21_000).unwrap().stats,
        None
    );
    assert_eq!(
        e.range_query(db.as_ref(), "rate(three[1m])", 0, 600_000, 10_000)
            .unwrap()
            .stats,
        None
    );
    let s = run(
        &db,
        &range("rate(three[1m])", (0, 600, 10), &[], &[]),
        StatsDetail::Totals,
    );
    let t = &s.timings;
    // The parts lie within the whole; the engine has no queue of its own.
    assert!(
        t.query_preparation + t.inner_eval + t.result_sort <= t.eval_total,
        "{t:?}"
    );
    assert_eq!((t.exec_queue, t.exec_total), (Duration::ZERO, t.eval_total));
    assert!(t.inner_eval > Duration::ZERO);
}

#[test]
fn subquery_reads_go_to_the_outer_step_that_uses_them() {
    // Outer steps at 0, 100, 200; inner steps every 20 from -40.
    let sub = Counter::for_subquery(13);
    for k in 0..13 {
        sub.add_read(k, 1);
    }
    let outer = Counter::per_step(3);
    outer.merge_read(&sub, (-40, 20), (0, 100, 3), 0, 0);
    let s = outer.finish(0, |i| i as i64 * 100);
    // -40, -20, 0 → step 0; 20…100 → step 1; 120…200 → step 2.
    assert_eq!(
        s.samples_read_per_step,
        Some(vec![(0, 3), (100, 5), (200, 5)])
    );
    assert_eq!(s.samples_read, 13);

    // A range of 50 leaves out inner steps no window (t - 50, t] reaches.
    let outer = Counter::per_step(3);
    outer.merge_read(&sub, (-40, 20), (0, 100, 3), 0, 50);
    let s = outer.finish(0, |i| i as i64 * 100);
    // Kept: -40, -20, 0 (window of 0 is (-50, 0]); 60, 80, 100; 160, 180, 200.
    assert_eq!(
        s.samples_read_per_step,
        Some(vec![(0, 3), (100, 3), (200, 3)])
    );
    assert_eq!(s.total_queryable_samples, 0);

    // One outer step takes everything; no per-step lists without PerStep.
    let outer = Counter::default();
    outer.merge_read(&sub, (-40, 20), (0, 1, 1), 0, 50);
    let s = outer.finish(7, |_| 0);
    assert_eq!((s.samples_read, s.peak_samples), (13, 7));
    assert_eq!(s.samples_read_per_step, None);
}
