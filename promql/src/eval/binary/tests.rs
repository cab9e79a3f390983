//! Vector matching over a range: series that match, collide or take turns at some steps
//! only, and the pair-by-pair join checked against the step-by-step one.

use std::sync::Arc;

use model::Appendable;
use model::metrics::Registry;

use super::*;
use crate::notation::{SeqValue, parse_series_desc};
use crate::{Engine, EngineOptions, Value};

/// The series of the tests, loaded as a promqltest `load 1m` block (values one a minute
/// from 0; `_` for none).
const SERIES: &str = r#"
    a{pod="p", c="x"} 1 2 3 4 5 6
    b{pod="p", v="1"} 10 10 10 _ _ _
    b{pod="p", v="2"} _ _ _ 20 20 20
    c{pod="p", v="1"} 10 10 10 _ _ _
    c{pod="p", v="2"} _ _ 20 20 20 20
    gap{pod="p"} 1 1 _ 1 1 1
    m{pod="p", c="x"} 1 1 1 _ _ _
    m{pod="p", c="y"} _ _ _ 2 2 2
    n{pod="p", c="x"} 1 1 1 1 _ _
    n{pod="p", c="y"} _ _ _ 2 2 2
    n2{pod="p", c="x"} _ _ _ 5 _ _
    one{pod="p"} 10 10 10 10 10 10
    hole{pod="p"} 10 10 10 _ 10 10
    req{pod="p", container="app"} 1 1 1 1 1 1
    req{pod="q", container="app"} 2 2 2 2 2 2
    info{pod="p", node="n1"} 1 1 1 _ _ _
    info{pod="p", node="n2"} _ _ _ 1 1 1
    info{pod="q", node="n1"} 1 1 1 1 1 _
    x{k="1"} 1 1 1 1 _ _
    x{k="2"} _ _ 2 2 2 2
    y{k="1"} _ 5 5 _ _ _
    y{k="3"} 7 7 7 7 7 7
    u{k="1"} 1 5 1 5 _ 5
    w{k="1"} 3 3 3 3 3 _
    v{k="1"} NaN 6 _ 6 6 6
    s{k="1"} 1 stale 3 3 3 3
    ya{a="1ÿbÿ2"} 1 1
    yb{a="1", b="2"} 2 2
"#;

/// A store with [`SERIES`].
fn load() -> (tempfile::TempDir, Arc<tsdb::Db>) {
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path(), tsdb::DbOptions::default(), &Registry::new()).unwrap();
    let mut app = db.appender();
    for line in SERIES.lines().filter(|l| !l.trim().is_empty()) {
        let (labels, values) = parse_series_desc(line).unwrap();
        for (k, v) in values.iter().enumerate() {
            if let SeqValue::Float(v) = v {
                app.append(None, &labels, k as i64 * 60_000, *v).unwrap();
            }
        }
    }
    app.commit().unwrap();
    (dir, db)
}

/// `q` over minutes `0..=last` at a 1 m step, each step seeing only its own minute's
/// sample: every series as `labels v v _ v` (`_`: no value), in label order; or the error.
fn range(db: &tsdb::Db, q: &str, last: i64) -> Result<Vec<String>, String> {
    let e = Engine::new(EngineOptions {
        lookback_delta_ms: 30_000,
        ..EngineOptions::default()
    });
    let r = e
        .range_query(db, q, 0, last * 60_000, 60_000)
        .map_err(|e| e.to_string())?;
    let Value::Matrix(m) = r.value else {
        panic!("{q}: not a matrix")
    };
    Ok(m.iter()
        .map(|s| {
            let mut line = s.labels.to_string();
            for k in 0..=last {
                match s.points.iter().find(|p| p.0 == k * 60_000) {
                    Some(p) => line.push_str(&format!(" {}", p.1)),
                    None => line.push_str(" _"),
                }
            }
            line
        })
        .collect())
}

#[test]
fn a_duplicate_on_the_one_side_fails_only_at_a_step_where_both_have_samples() {
    let (_d, db) = load();
    // b's two series take turns.
    assert_eq!(
        range(&db, "a * on(pod) group_left b", 5).unwrap(),
        [r#"{c="x", pod="p"} 10 20 30 80 100 120"#]
    );
    assert_eq!(
        range(&db, "a / on(pod) b", 5).unwrap(),
        [r#"{pod="p"} 0.1 0.2 0.3 0.2 0.25 0.3"#]
    );
    // c's overlap at minute 2: the steps before it are fine, a range over it fails.
    assert_eq!(
        range(&db, "a * on(pod) group_left c", 1).unwrap(),
        [r#"{c="x", pod="p"} 10 20"#]
    );
    let dup = |side: &str| {
        format!(
            r#"found duplicate series for the match group {{pod="p"}} on the {side} hand-side of the operation: [c{{pod="p", v="1"}}, c{{pod="p", v="2"}}];many-to-many matching not allowed"#
        )
    };
    for (q, side) in [
        ("a * on(pod) group_left c", "right"),
        ("a - on(pod) c", "right"),
        ("c * on(pod) group_right a", "left"),
    ] {
        let err = range(&db, q, 5).unwrap_err();
        assert!(err.contains(&dup(side)), "{q}: {err}");
    }
    // Where the other side has no sample, Prometheus passes the step over, duplicate and all.
    assert_eq!(
        range(&db, "gap * on(pod) group_left c", 5).unwrap(),
        [r#"{pod="p"} 10 10 _ 20 20 20"#]
    );
}

#[test]
fn many_side_matches_fail_only_at_a_step_where_they_meet() {
    let (_d, db) = load();
    // One-to-one: m's series take turns matching one{pod="p"}.
    assert_eq!(
        range(&db, "m + on(pod) one", 5).unwrap(),
        [r#"{pod="p"} 11 11 11 12 12 12"#]
    );
    // n's series both match at minute 3.
    let err = range(&db, "n + on(pod) one", 5).unwrap_err();
    assert!(
        err.contains("multiple matches for labels: many-to-one matching must be explicit"),
        "{err}"
    );
    assert_eq!(
        range(&db, "n + on(pod) hole", 5).unwrap(),
        [r#"{pod="p"} 11 11 11 _ 12 12"#]
    );
    // Many-to-one: n's series are told apart by `c`...
    assert_eq!(
        range(&db, "n + on(pod) group_left one", 5).unwrap(),
        [
            r#"{c="x", pod="p"} 11 11 11 11 _ _"#,
            r#"{c="y", pod="p"} _ _ _ 12 12 12"#
        ]
    );
    // ... but n{c="x"} and n2{c="x"} only by their names, which arithmetic drops.
    let q = r#"{__name__=~"n|n2", c="x"} + on(pod) group_left one"#;
    assert_eq!(range(&db, q, 2).unwrap(), [r#"{c="x", pod="p"} 11 11 11"#]);
    let err = range(&db, q, 5).unwrap_err();
    assert!(
        err.contains("multiple matches for labels: grouping labels must ensure unique matches"),
        "{err}"
    );
    // A comparison keeps the names, so the output series differ.
    assert_eq!(
        range(
            &db,
            r#"{__name__=~"n|n2", c="x"} < on(pod) group_left one"#,
            5
        )
        .unwrap(),
        [
            r#"n{c="x", pod="p"} 1 1 1 1 _ _"#,
            r#"n2{c="x", pod="p"} _ _ _ 5 _ _"#
        ]
    );
}

#[test]
fn group_left_copies_include_labels_from_the_one_side_at_each_step() {
    let (_d, db) = load();
    let joined = [
        r#"{container="app", node="n1", pod="p"} 1 1 1 _ _ _"#,
        r#"{container="app", node="n1", pod="q"} 2 2 2 2 2 _"#,
        r#"{container="app", node="n2", pod="p"} _ _ _ 1 1 1"#,
    ];
    assert_eq!(
        range(&db, "req * on(pod) group_left(node) info", 5).unwrap(),
        joined
    );
    assert_eq!(
        range(&db, "info * on(pod) group_right(node) req", 5).unwrap(),
        joined
    );
    assert_eq!(
        range(
            &db,
            "sum by (node) (req * on(pod) group_left(node) info)",
            5
        )
        .unwrap(),
        [r#"{node="n1"} 3 3 3 2 2 _"#, r#"{node="n2"} _ _ _ 1 1 1"#]
    );
    // Without include labels the pod's two info series meet in one output series.
    assert_eq!(
        range(&db, "req * on(pod) group_left info", 5).unwrap(),
        [
            r#"{container="app", pod="p"} 1 1 1 1 1 1"#,
            r#"{container="app", pod="q"} 2 2 2 2 2 _"#
        ]
    );
}

#[test]
fn set_operators_follow_series_that_come_and_go() {
    let (_d, db) = load();
    assert_eq!(
        range(&db, "x and y", 5).unwrap(),
        [r#"x{k="1"} _ 1 1 _ _ _"#]
    );
    assert_eq!(
        range(&db, "x unless y", 5).unwrap(),
        [r#"x{k="1"} 1 _ _ 1 _ _"#, r#"x{k="2"} _ _ 2 2 2 2"#]
    );
    assert_eq!(
        range(&db, "x or y", 5).unwrap(),
        [
            r#"x{k="1"} 1 1 1 1 _ _"#,
            r#"x{k="2"} _ _ 2 2 2 2"#,
            r#"y{k="3"} 7 7 7 7 7 7"#
        ]
    );
    assert_eq!(
        range(&db, r#"x unless on() y{k="1"}"#, 5).unwrap(),
        [r#"x{k="1"} 1 _ _ 1 _ _"#, r#"x{k="2"} _ _ _ 2 2 2"#]
    );
    assert_eq!(
        range(&db, r#"y{k="1"} or on() x"#, 5).unwrap(),
        [
            r#"x{k="1"} 1 _ _ 1 _ _"#,
            r#"x{k="2"} _ _ _ 2 2 2"#,
            r#"y{k="1"} _ 5 5 _ _ _"#
        ]
    );
}

#[test]
fn comparisons_nan_and_staleness_step_by_step() {
    let (_d, db) = load();
    assert_eq!(range(&db, "u > w", 5).unwrap(), [r#"u{k="1"} _ 5 _ 5 _ _"#]);
    assert_eq!(
        range(&db, "u > bool w", 5).unwrap(),
        [r#"{k="1"} 0 1 0 1 _ _"#]
    );
    assert_eq!(
        range(&db, "v / w", 5).unwrap(),
        [r#"{k="1"} NaN 2 _ 2 2 _"#]
    );
    assert_eq!(
        range(&db, "v == bool v", 5).unwrap(),
        [r#"{k="1"} 0 1 _ 1 1 1"#]
    );
    assert_eq!(range(&db, "s * w", 5).unwrap(), [r#"{k="1"} 3 _ 9 9 9 _"#]);
    assert_eq!(
        range(&db, "1 - v / w", 5).unwrap(),
        [r#"{k="1"} NaN -1 _ -1 -1 _"#]
    );
}

#[test]
fn signatures_of_different_label_sets_differ_whatever_the_values_hold() {
    let (_d, db) = load();
    // Joined with a printable separator, {a="1ÿbÿ2"} and {a="1", b="2"} would be alike.
    for q in [
        "ya + yb",
        "ya and yb",
        "sum by (a, b) ({__name__=~\"ya|yb\"})",
    ] {
        let r = range(&db, q, 1).unwrap();
        assert!(r.len() != 1, "{q}: {r:?}");
    }
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// `n` series named from `names`, with `pod` and `extra` labels from small sets, each with
/// a sample at a step with probability `dense`/4 (values 0–3, now and then NaN).
fn random_side(
    rng: &mut Rng,
    n: usize,
    names: &[&str],
    extra: (&str, &[&str]),
    dense: u64,
    steps: usize,
) -> Vec<Series> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    while out.len() < n {
        let labels = Labels::from_pairs([
            ("__name__", names[rng.below(names.len() as u64)]),
            ("pod", ["p0", "p1", "p2"][rng.below(3)]),
            (extra.0, extra.1[rng.below(extra.1.len() as u64)]),
        ]);
        if !seen.insert(labels.clone()) {
            continue;
        }
        let vals = (0..steps)
            .map(|_| match rng.below(4) {
                k if k as u64 >= dense => ABSENT,
                _ if rng.below(16) == 0 => f64::NAN,
                _ => rng.below(4) as f64,
            })
            .collect();
        out.push(Series {
            labels,
            vals,
            drop_name: false,
        });
    }
    out
}

/// Output series in label order with their values' bits, or the error.
fn canonical(r: Result<Vec<Series>, Error>) -> Result<Vec<(Labels, Vec<u64>)>, String> {
    let mut out: Vec<(Labels, Vec<u64>)> = r
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|s| s.vals.iter().any(|v| is_present(*v)))
        .map(|s| (s.labels, s.vals.iter().map(|v| v.to_bits()).collect()))
        .collect();
    out.sort();
    Ok(out)
}

#[test]
fn the_join_by_pair_agrees_with_the_join_by_step() {
    let steps = 8;
    let g = Grid {
        start: 0,
        step: 1,
        len: steps,
    };
    let ops = [Op::Add, Op::Div, Op::Gtr, Op::Eql];
    let matchings = [
        (true, vec!["pod"]),
        (false, vec!["c", "node"]),
        (true, vec![]),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut fast, mut slow) = (0, 0);
    for case in 0..3_000 {
        let (on, names) = &matchings[case % matchings.len()];
        let m = Matching {
            on: *on,
            labels: names.iter().map(|s| s.to_string()).collect(),
        };
        let card = rng.below(3);
        // Copying `c`, which the "one" side lacks, drops it from the "many" side's labels.
        let include: Vec<String> = match (card, rng.below(3)) {
            (0, _) | (_, 0) => Vec::new(),
            (_, 1) => vec!["node".to_string()],
            _ => vec!["c".to_string()],
        };
        let fills = [None, Some(0.5)];
        let o = JoinOptions {
            op: ops[rng.below(ops.len() as u64)],
            return_bool: rng.below(3) == 0,
            one_to_many: card == 2,
            one_to_one: card == 0,
            include: &include,
            m: &m,
            fill_one: fills[rng.below(4).min(1)],
            fill_many: fills[rng.below(4).min(1)],
            g,
        };
        let dense = 1 + rng.below(3) as u64;
        let (nmany, none) = (1 + rng.below(4), 1 + rng.below(3));
        let many = random_side(
            &mut rng,
            nmany,
            &["m", "m2"],
            ("c", &["x", "y"]),
            dense,
            steps,
        );
        let one = random_side(
            &mut rng,
            none,
            &["o"],
            ("node", &["n0", "n1"]),
            dense,
            steps,
        );
        let expected =
            canonical(Join::new(o.clone(), many.clone(), one.clone()).by_step(&|| Ok(())));
        let mut join = Join::new(o, many, one);
        match join.by_pair(&|| Ok(())).unwrap() {
            Some(out) => {
                fast += 1;
                assert_eq!(canonical(Ok(out)), expected, "case {case}");
            }
            None => {
                // Nothing was changed before the pair-by-pair join gave up.
                slow += 1;
                assert_eq!(canonical(join.by_step(&|| Ok(()))), expected, "case {case}");
            }
        }
    }
    assert!(fast > 500 && slow > 500, "fast {fast}, slow {slow}");
}

#[test]
fn unique_matches_are_joined_pair_by_pair() {
    let g = Grid {
        start: 0,
        step: 1,
        len: 3,
    };
    let series = |name: &str, pod: &str, vals: [f64; 3]| Series {
        labels: Labels::from_pairs([("__name__", name), ("pod", pod)]),
        vals: vals.to_vec(),
        drop_name: false,
    };
    let m = Matching {
        on: true,
        labels: vec!["pod".to_string()],
    };
    let o = JoinOptions {
        op: Op::Sub,
        return_bool: false,
        one_to_many: false,
        one_to_one: true,
        include: &[],
        m: &m,
        fill_one: None,
        fill_many: None,
        g,
    };
    // Two series of one pod that take turns on either side do not meet.
    let many = vec![
        series("a", "p", [5.0, 6.0, ABSENT]),
        series("a", "q", [1.0, 1.0, 1.0]),
        series("a2", "p", [ABSENT, ABSENT, 7.0]),
    ];
    let one = vec![
        series("b", "p", [1.0, ABSENT, ABSENT]),
        series("b2", "p", [ABSENT, 2.0, 3.0]),
    ];
    let out = Join::new(o, many, one)
        .by_pair(&|| Ok(()))
        .unwrap()
        .expect("no pairs meet");
    let out = canonical(Ok(out)).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, Labels::from_pairs([("pod", "p")]));
    assert_eq!(
        out[0].1,
        [4.0f64, 4.0, 4.0].map(f64::to_bits).to_vec(),
        "{out:?}"
    );
}
