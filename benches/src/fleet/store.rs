//! The fleet as a store for the PromQL benchmarks: what a scraper would have written after
//! scraping [`TARGETS`] targets of the default [`FleetConfig`] (1,000 series each, churn and
//! counter resets included) every 15 s for [`TICKS`] ticks, older ticks in a compacted block
//! and the newest [`HEAD_TICKS`] in the head, as on a server that has run for a while.
//!
//! Each target adds `job="fleet"` and its own `instance` to the series of its body, and its
//! samples carry the tick's time plus a per-target phase within the interval, as scrapes of
//! different targets do.

use std::collections::HashMap;

use model::Labels;

use super::{FleetConfig, Target};

/// Targets of the store (100,000 series at any time).
pub const TARGETS: usize = 100;
/// Scrape interval, ms.
pub const INTERVAL_MS: i64 = 15_000;
/// First tick: its time is on a two-hour block boundary plus 55 minutes.
pub const FIRST_TICK: u64 = 1_699_920_000_000 / INTERVAL_MS as u64 + 220;
/// Ticks in all (95 minutes): the queried hour, its 5-minute lookback and more.
pub const TICKS: u64 = 380;
/// The newest ticks, written to the head instead of a block (35 minutes).
pub const HEAD_TICKS: u64 = 140;
/// The time of the last tick, ms.
pub const END_MS: i64 = (FIRST_TICK + TICKS - 1) as i64 * INTERVAL_MS;

/// The fleet's configuration: the defaults of `fleet_compare.py` at a 15 s interval.
pub fn config() -> FleetConfig {
    FleetConfig {
        targets: TARGETS,
        series_per_target: 1_000,
        interval_ms: INTERVAL_MS as u64,
        ..FleetConfig::default()
    }
}

/// Emits the samples of ticks `from..to`, tick by tick and within a tick target by target,
/// to `f(target, labels, t, v)`.
pub fn each_sample(from: u64, to: u64, mut f: impl FnMut(usize, &Labels, i64, f64)) {
    let cfg = config();
    let mut targets: Vec<Target> = (0..cfg.targets).map(|i| Target::new(&cfg, i)).collect();
    // Per target: the label set of each series as written in its body.
    let mut labels: Vec<HashMap<String, Labels>> = vec![HashMap::new(); cfg.targets];
    for k in from..to {
        for (i, target) in targets.iter_mut().enumerate() {
            let t = k as i64 * INTERVAL_MS + phase(i);
            let known = &mut labels[i];
            for s in target.samples(k) {
                if !known.contains_key(&s.series) {
                    let l = parse_series(&s.series, i);
                    known.insert(s.series.clone(), l);
                }
                f(i, &known[&s.series], t, s.value);
            }
            // Label sets of churned series are not seen again.
            if known.len() > 4 * cfg.series_per_target {
                known.clear();
            }
        }
    }
}

/// Where in the interval target `i` is scraped, ms.
fn phase(i: usize) -> i64 {
    (i as i64 * 7_919) % INTERVAL_MS
}

/// `name{a="x",b="y"}` as the fleet writes it (no escapes), plus the target's labels.
fn parse_series(s: &str, target: usize) -> Labels {
    let (name, rest) = s.split_once('{').unwrap_or((s, "}"));
    let mut pairs: Vec<(String, String)> = vec![
        ("__name__".into(), name.into()),
        ("job".into(), "fleet".into()),
        (
            "instance".into(),
            format!("10.0.{}.{}:9100", target / 256, target % 256),
        ),
    ];
    for kv in rest
        .trim_end_matches('}')
        .split("\",")
        .filter(|p| !p.is_empty())
    {
        let (k, v) = kv.split_once("=\"").expect("label=\"value\"");
        pairs.push((k.into(), v.trim_end_matches('"').into()));
    }
    Labels::from_pairs(pairs)
}
