use std::collections::{HashMap, HashSet};

use scraper::textparse::{Entry, Format, Parser};

use super::*;

/// A tick in 2025 at a 10 s interval.
const K0: u64 = 1_750_000_000_000 / 10_000;

fn cfg() -> FleetConfig {
    FleetConfig {
        targets: 4,
        series_per_target: 1_000,
        interval_ms: 10_000,
        churn_share: 0.2,
        churn_every_ms: 60_000,
        reset_every_ms: 120_000,
        seed: 7,
    }
}

fn body(t: &mut Target, k: u64) -> String {
    let mut out = Vec::new();
    t.render(k, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn bodies_are_a_function_of_target_and_tick() {
    let c = cfg();
    let mut a = Target::new(&c, 2);
    let mut b = Target::new(&c, 2);
    let first = body(&mut a, K0 + 5);
    // Other ticks and generations in between, in any order, change nothing.
    for k in [K0 + 40, K0, K0 + 5, K0 + 1_000, K0 + 5] {
        body(&mut a, k);
    }
    assert_eq!(body(&mut a, K0 + 5), first);
    assert_eq!(body(&mut b, K0 + 5), first);
    // Another tick, another target and another seed differ.
    assert_ne!(body(&mut b, K0 + 6), first);
    assert_ne!(body(&mut Target::new(&c, 3), K0 + 5), first);
    let other = FleetConfig { seed: 8, ..c };
    assert_ne!(body(&mut Target::new(&other, 2), K0 + 5), first);
}

#[test]
fn ticks_follow_wall_time() {
    assert_eq!(tick_at(1_750_000_009_999, 10_000), 175_000_000);
    assert_eq!(tick_at(1_750_000_010_000, 10_000), 175_000_001);
}

#[test]
fn bodies_parse_with_exactly_the_asked_series() {
    for series in [MIN_SERIES_PER_TARGET, 53, 114, 999, 1_000, 2_345] {
        let c = FleetConfig {
            series_per_target: series,
            ..cfg()
        };
        let mut t = Target::new(&c, 0);
        assert_eq!(t.series(), series);
        let text = body(&mut t, K0);
        let mut seen = HashSet::new();
        let mut types = HashSet::new();
        for e in Parser::new(&text, Format::Text) {
            match e.unwrap() {
                Entry::Sample(s) => {
                    let mut key: Vec<String> =
                        s.labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
                    key.sort();
                    assert!(
                        seen.insert(format!("{}{key:?}", s.name)),
                        "duplicate series {}",
                        s.name
                    );
                    assert!(s.value.is_finite());
                }
                Entry::Type { name, .. } => assert!(types.insert(name), "family {name} twice"),
                _ => {}
            }
        }
        assert_eq!(seen.len(), series);
    }
}

#[test]
fn targets_mix_node_kube_and_application_shapes() {
    let mut t = Target::new(&cfg(), 1);
    let names: HashSet<&str> = t.samples(K0).iter().map(|s| s.family).collect();
    for want in [
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_network_receive_bytes_total",
        "node_filesystem_avail_bytes",
        "node_load1",
        "kube_pod_info",
        "kube_pod_status_phase",
        "http_request_duration_seconds",
        "http_requests_total",
    ] {
        assert!(names.contains(want), "{want} missing");
    }
    // Over 30 ticks (without churn): many series constant, some change every tick.
    let c = FleetConfig {
        churn_share: 0.0,
        ..cfg()
    };
    let mut t = Target::new(&c, 1);
    let runs: Vec<Vec<SampleView>> = (0..30).map(|i| t.samples(K0 + i)).collect();
    let mut constant = 0;
    let mut every_tick = 0;
    for s in 0..runs[0].len() {
        let changes = runs
            .windows(2)
            .filter(|w| w[1][s].value != w[0][s].value)
            .count();
        constant += usize::from(changes == 0);
        every_tick += usize::from(changes >= 25);
    }
    let n = runs[0].len();
    assert!(constant * 5 > n, "{constant} constant of {n}");
    assert!(every_tick * 5 > n, "{every_tick} noisy of {n}");
    assert!(constant + every_tick < n, "no slowly changing series");
}

#[test]
fn pods_are_in_exactly_one_phase() {
    let mut t = Target::new(&cfg(), 0);
    for k in [K0, K0 + 1, K0 + 2, K0 + 50] {
        let mut per_pod: HashMap<String, f64> = HashMap::new();
        for s in t.samples(k) {
            if s.family == "kube_pod_status_phase" {
                let pod = s.series.split("phase=").next().unwrap().to_string();
                *per_pod.entry(pod).or_default() += s.value;
            }
        }
        assert!(!per_pod.is_empty());
        assert!(per_pod.values().all(|&v| v == 1.0), "{per_pod:?}");
    }
}

/// Values of every series at ticks `k0..k0 + n`, by series.
fn history(t: &mut Target, k0: u64, n: u64) -> HashMap<String, Vec<(u64, SampleView)>> {
    let mut out: HashMap<String, Vec<(u64, SampleView)>> = HashMap::new();
    for k in k0..k0 + n {
        for s in t.samples(k) {
            out.entry(s.series.clone()).or_default().push((k, s));
        }
    }
    out
}

#[test]
fn counters_only_fall_at_planned_resets() {
    let c = cfg();
    let mut resets = 0;
    for target in 0..c.targets {
        let mut t = Target::new(&c, target);
        for (series, points) in history(&mut t, K0, 200) {
            for w in points.windows(2) {
                let ((k1, a), (k2, b)) = (&w[0], &w[1]);
                if !a.counter || k2 - k1 != 1 {
                    continue;
                }
                if b.planned_reset {
                    resets += 1;
                    assert_eq!(b.value, 0.0, "{series} at a reset");
                } else {
                    assert!(
                        b.value >= a.value,
                        "{series} fell at {k2}: {} -> {}",
                        a.value,
                        b.value
                    );
                }
            }
        }
    }
    assert!(resets > 100, "only {resets} resets");
}

#[test]
fn histograms_are_cumulative_and_consistent() {
    let mut t = Target::new(&cfg(), 3);
    for k in [K0, K0 + 1, K0 + 17] {
        let samples = t.samples(k);
        let mut buckets: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
        let mut counts = HashMap::new();
        let mut sums = HashMap::new();
        for s in samples.iter().filter(|s| s.kind == Kind::Histogram) {
            let (name, labels) = s.series.split_once('{').unwrap();
            if let Some((rest, le)) = labels.rsplit_once(",le=\"") {
                let le = le.trim_end_matches("\"}");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                buckets
                    .entry(rest.to_string())
                    .or_default()
                    .push((le, s.value));
            } else if name.ends_with("_count") {
                counts.insert(labels.trim_end_matches('}').to_string(), s.value);
            } else {
                assert!(name.ends_with("_sum"));
                sums.insert(labels.trim_end_matches('}').to_string(), s.value);
            }
        }
        assert!(!buckets.is_empty());
        for (labels, bs) in &buckets {
            assert_eq!(bs.len(), 12);
            assert!(
                bs.windows(2).all(|w| w[0].0 < w[1].0),
                "bounds out of order"
            );
            assert!(
                bs.windows(2).all(|w| w[0].1 <= w[1].1),
                "{labels}: not cumulative"
            );
            assert_eq!(bs.last().unwrap().0, f64::INFINITY);
            assert_eq!(counts[labels], bs.last().unwrap().1, "{labels}: _count");
            assert!(sums[labels] >= 0.0);
            assert_eq!(sums[labels] == 0.0, counts[labels] == 0.0);
        }
    }
}

#[test]
fn churn_replaces_the_asked_share_once_per_period() {
    let c = cfg();
    let mut t = Target::new(&c, 1);
    let want = (c.churn_share * c.series_per_target as f64) as usize;
    assert!(t.churning_series() <= want && t.churning_series() + 15 > want);
    let keys = |t: &mut Target, k| -> HashSet<String> {
        t.samples(k).into_iter().map(|s| s.series).collect()
    };
    let period = c.churn_ticks();
    let mut changes = Vec::new();
    let mut prev = keys(&mut t, K0);
    for k in K0 + 1..=K0 + 3 * period {
        let cur = keys(&mut t, k);
        let replaced = prev.difference(&cur).count();
        assert_eq!(replaced, cur.difference(&prev).count());
        if replaced > 0 {
            changes.push((k, replaced));
            assert_eq!(t.generation(k), t.generation(k - 1) + 1);
        }
        prev = cur;
    }
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(changes.iter().all(|&(_, n)| n == t.churning_series()));
    // Targets change generation at different ticks.
    let starts: HashSet<u64> = (0..8)
        .map(|i| {
            let t = Target::new(
                &FleetConfig {
                    targets: 8,
                    ..c.clone()
                },
                i,
            );
            (K0..K0 + period)
                .find(|&k| t.generation(k) != t.generation(k - 1))
                .unwrap()
        })
        .collect();
    assert!(starts.len() > 1);
}

#[test]
fn values_are_written_exactly() {
    let mut out = Vec::new();
    for (units, scale, want) in [
        (0, 0, "0"),
        (5, 2, "0.05"),
        (12_345, 2, "123.45"),
        (1_000, 3, "1.000"),
        (-7, 1, "-0.7"),
        (9_007_199_254_740_991, 0, "9007199254740991"),
    ] {
        out.clear();
        value::write_fixed(&mut out, units, scale);
        assert_eq!(String::from_utf8_lossy(&out), want);
    }
}

#[test]
fn bad_configs_are_refused() {
    assert!(cfg().check().is_ok());
    for bad in [
        FleetConfig {
            targets: 0,
            ..cfg()
        },
        FleetConfig {
            series_per_target: 10,
            ..cfg()
        },
        FleetConfig {
            churn_share: 1.5,
            ..cfg()
        },
        FleetConfig {
            churn_every_ms: 1_000,
            ..cfg()
        },
        FleetConfig {
            reset_every_ms: 20_000,
            ..cfg()
        },
    ] {
        assert!(bad.check().is_err(), "{bad:?}");
    }
}
