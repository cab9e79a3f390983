//! Folding an aggregation in parts: the merge of the parts' states against one fold over
//! all input series, for every operator computed with accumulators.

use model::labels::Labels;

use super::{AggOp, GroupFold, Grouping};
use crate::eval::{ABSENT, is_absent};

const STEPS: usize = 7;

/// Input series: three groups (`g`), values from a fixed xorshift sequence with absent
/// slots, NaN and infinities among them; `huge` puts values near the largest float in so
/// that sums overflow.
fn input(huge: bool) -> Vec<(Labels, Vec<f64>)> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..60)
        .map(|i| {
            let labels = Labels::from_pairs([
                ("__name__", "m".to_string()),
                ("g", (i % 3).to_string()),
                ("i", i.to_string()),
            ]);
            let vals = (0..STEPS)
                .map(|_| match next() % 40 {
                    0..=3 => ABSENT,
                    4 if !huge => f64::NAN,
                    5 if !huge && i > 50 => f64::INFINITY,
                    6 if !huge && i > 55 => f64::NEG_INFINITY,
                    _ if huge => (next() % 1000) as f64 * 1e305,
                    _ => (next() % 1_000_000) as f64 / 100.0 - 2_000.0,
                })
                .collect();
            (labels, vals)
        })
        .collect()
}

fn fold<'a>(op: AggOp, grouping: &'a Grouping, series: &[(Labels, Vec<f64>)]) -> GroupFold<'a> {
    let mut f = GroupFold::new(op, grouping, STEPS);
    for (labels, vals) in series {
        f.add(labels, false, vals);
    }
    f
}

fn same(a: f64, b: f64) -> bool {
    if is_absent(a) || is_absent(b) {
        return is_absent(a) && is_absent(b);
    }
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn parts_merged_in_order_equal_one_fold() {
    let ops = [
        AggOp::Sum,
        AggOp::Avg,
        AggOp::Count,
        AggOp::Min,
        AggOp::Max,
        AggOp::Group,
        AggOp::Stddev,
        AggOp::Stdvar,
    ];
    let groupings = [
        Grouping {
            without: false,
            labels: vec!["g".into()],
        },
        Grouping {
            without: true,
            labels: vec!["i".into()],
        },
        Grouping {
            without: false,
            labels: vec![],
        },
    ];
    for huge in [false, true] {
        let series = input(huge);
        for op in ops {
            for grouping in &groupings {
                let whole = fold(op, grouping, &series).finish();
                for cuts in [vec![1], vec![30], vec![59], vec![10, 11, 40]] {
                    let mut bounds = vec![0];
                    bounds.extend(&cuts);
                    bounds.push(series.len());
                    let mut parts = bounds
                        .windows(2)
                        .map(|w| fold(op, grouping, &series[w[0]..w[1]]));
                    let mut merged = parts.next().unwrap();
                    for p in parts {
                        merged.merge(p);
                    }
                    let merged = merged.finish();
                    let ctx = format!("{op:?} huge={huge} cuts={cuts:?}");
                    assert_eq!(merged.len(), whole.len(), "{ctx}");
                    for (m, w) in merged.iter().zip(&whole) {
                        assert_eq!(m.labels, w.labels, "{ctx}");
                        for (i, (a, b)) in m.vals.iter().zip(&w.vals).enumerate() {
                            assert!(same(*a, *b), "{ctx} {} step {i}: {a} vs {b}", m.labels);
                        }
                    }
                }
            }
        }
    }
}
