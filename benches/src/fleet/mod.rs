//! A fleet of synthetic scrape targets for the side-by-side benchmark
//! (`benches/side_by_side/fleet_compare.py`, served by the `fleet` binary).
//!
//! Each target exposes exactly `series_per_target` series in the text format 0.0.4, shaped
//! like what Vane and its peers scrape in practice:
//!
//! * node_exporter-like counters and gauges: CPU seconds, network and disk counters, memory
//!   and filesystem gauges, most constant or slowly changing (a new level every few ticks),
//!   some noisy (a new value every tick: load, entropy, temperatures);
//! * kube-state-metrics-like pods: `kube_pod_info` and other info series, one-hot
//!   `kube_pod_status_phase` and `kube_pod_status_ready`, a slowly growing restart counter;
//! * instrumented HTTP handlers: a classic histogram (`_bucket` with 12 bounds, `_sum`,
//!   `_count`) and a request counter, whose process restarts every `reset_every` (a counter
//!   reset, staggered per handler);
//! * churn: a share `churn_share` of a target's series (whole pods and handlers) is replaced
//!   by new series (a new pod name and uid) every `churn_every`, staggered per target.
//!
//! Values are pure functions of (series, tick), where tick = wall time ÷ interval, so every
//! scraper that scrapes a target within the same interval reads the same body, and a body can
//! be rendered again, in any order, with the same bytes. Label text is rendered once per
//! churn generation; a body costs one pass writing values (see the `fleet` binary, which
//! renders each body once per tick and serves the same bytes to every scraper).

mod layout;
mod render;
pub mod store;
mod value;

#[cfg(test)]
mod tests;

pub use layout::Kind;

use layout::{Builder, Item, Unit, UnitCtx};
use value::{Life, h2};

/// The fleet's parameters. Durations are in milliseconds; churn and restart periods are
/// rounded down to whole scrape intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    pub targets: usize,
    pub series_per_target: usize,
    pub interval_ms: u64,
    /// Share of each target's series replaced every `churn_every_ms` (0 for none).
    pub churn_share: f64,
    pub churn_every_ms: u64,
    /// Application counters and histograms restart (reset to about zero) this often, at a
    /// different moment for each handler (0 for never).
    pub reset_every_ms: u64,
    /// Changes every label value and sample value derived from hashes.
    pub seed: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            targets: 20,
            series_per_target: 1_000,
            interval_ms: 10_000,
            churn_share: 0.1,
            churn_every_ms: 5 * 60_000,
            reset_every_ms: 10 * 60_000,
            seed: 1,
        }
    }
}

/// Least number of series per target (one host unit).
pub const MIN_SERIES_PER_TARGET: usize = 52;

impl FleetConfig {
    /// Refuses parameters the fleet cannot honour.
    pub fn check(&self) -> Result<(), String> {
        if self.targets == 0 {
            return Err("at least one target is needed".into());
        }
        if self.series_per_target < MIN_SERIES_PER_TARGET {
            return Err(format!(
                "a target has at least {MIN_SERIES_PER_TARGET} series (asked for {})",
                self.series_per_target
            ));
        }
        if self.interval_ms == 0 {
            return Err("the interval must be positive".into());
        }
        if !(0.0..=1.0).contains(&self.churn_share) {
            return Err(format!("churn share {} is not in [0, 1]", self.churn_share));
        }
        if self.churn_share > 0.0 && self.churn_ticks() == 0 {
            return Err("churn needs a period of at least one interval".into());
        }
        if self.reset_every_ms != 0 && self.reset_ticks() < 3 {
            return Err("counter resets need a period of at least three intervals".into());
        }
        Ok(())
    }

    fn churn_ticks(&self) -> u64 {
        self.churn_every_ms / self.interval_ms
    }

    fn reset_ticks(&self) -> u64 {
        self.reset_every_ms / self.interval_ms
    }

    /// Hosts reboot every 30 days (node counters reset then).
    fn reboot_ticks(&self) -> u64 {
        (30 * 86_400_000 / self.interval_ms).max(3)
    }
}

/// The tick of a wall-clock time (ms since the epoch): which interval it falls in.
pub fn tick_at(unix_ms: u64, interval_ms: u64) -> u64 {
    unix_ms / interval_ms
}

/// One target: its units, which of them churn, and its label text for the current
/// generation.
#[derive(Debug)]
pub struct Target {
    cfg: FleetConfig,
    index: usize,
    hash: u64,
    units: Vec<Unit>,
    churning: Vec<bool>,
    churning_series: usize,
    /// The generation `items` and `text` were built for.
    generation: Option<u64>,
    items: Vec<Item>,
    text: Vec<u8>,
    /// Length of the last body, to size the next.
    last_len: usize,
}

impl Target {
    pub fn new(cfg: &FleetConfig, index: usize) -> Target {
        let hash = h2(cfg.seed, index as u64);
        let units = layout::units(cfg.series_per_target);
        // Churning units: pods and handlers, in an order shuffled by the target's hash, until
        // their series reach the asked share.
        let budget = (cfg.churn_share * cfg.series_per_target as f64).round() as usize;
        let mut order: Vec<usize> = (0..units.len()).filter(|&i| units[i].churns()).collect();
        order.sort_by_key(|&i| h2(hash ^ 0xC4_u64, i as u64));
        let mut churning = vec![false; units.len()];
        let mut churning_series = 0;
        for i in order {
            if churning_series + units[i].size() > budget {
                continue;
            }
            churning[i] = true;
            churning_series += units[i].size();
        }
        Target {
            cfg: cfg.clone(),
            index,
            hash,
            units,
            churning,
            churning_series,
            generation: None,
            items: Vec::new(),
            text: Vec::new(),
            last_len: 0,
        }
    }

    /// Series in every body of this target.
    pub fn series(&self) -> usize {
        self.units.iter().map(|u| u.size()).sum()
    }

    /// Series replaced every churn period.
    pub fn churning_series(&self) -> usize {
        self.churning_series
    }

    /// The churn generation of tick `k` (targets start new generations at different ticks).
    pub fn generation(&self, k: u64) -> u64 {
        match self.cfg.churn_ticks() {
            0 => 0,
            p => (k + self.hash % p) / p,
        }
    }

    /// First tick of generation `g`.
    fn generation_start(&self, g: u64) -> u64 {
        let p = self.cfg.churn_ticks().max(1);
        (g * p).saturating_sub(self.hash % p)
    }

    /// Builds the items and label text of generation `g`.
    fn build(&mut self, g: u64) {
        self.items.clear();
        self.text.clear();
        let reboot = self.cfg.reboot_ticks();
        let host_life = Life {
            born: None,
            period: reboot,
            phase: self.hash % reboot,
        };
        let born_at = self.generation_start(g);
        let mut ordinals = [0usize; 8];
        let mut builder = Builder {
            items: &mut self.items,
            text: &mut self.text,
        };
        for (index, &unit) in self.units.iter().enumerate() {
            let ordinal = &mut ordinals[unit as usize];
            let base_id = h2(self.hash, index as u64);
            let churns = self.churning[index];
            let born = churns.then_some(born_at);
            let life = match unit {
                Unit::App => {
                    let period = self.cfg.reset_ticks();
                    Life {
                        born,
                        period,
                        phase: if period == 0 { 0 } else { base_id % period },
                    }
                }
                Unit::Pod => Life {
                    born,
                    period: 0,
                    phase: base_id % 1_000_000,
                },
                _ => host_life,
            };
            let ctx = UnitCtx {
                target: self.index,
                target_hash: self.hash,
                id: if churns { h2(base_id, g + 1) } else { base_id },
                ordinal: *ordinal,
                interval_ms: self.cfg.interval_ms,
                life,
                host_life,
            };
            builder.unit(unit, &ctx);
            *ordinal += 1;
        }
        // Families contiguous, as the text format requires (alphabetical, as exporters do).
        self.items.sort_by_key(|it| it.family.name);
        self.generation = Some(g);
    }

    /// Makes the label text current for tick `k`.
    fn prepare(&mut self, k: u64) {
        let g = self.generation(k);
        if self.generation != Some(g) {
            self.build(g);
        }
    }

    /// Appends the body of tick `k` to `out`.
    pub fn render(&mut self, k: u64, out: &mut Vec<u8>) {
        self.prepare(k);
        out.reserve(self.last_len + self.last_len / 8);
        let start = out.len();
        render::body(&self.items, &self.text, k, out);
        self.last_len = out.len() - start;
    }

    /// Every sample of tick `k` with what the tests and checks need to know about it.
    pub fn samples(&mut self, k: u64) -> Vec<SampleView> {
        self.prepare(k);
        let mut out = Vec::with_capacity(self.cfg.series_per_target);
        render::each_line(&self.items, &self.text, k, |line| {
            out.push(SampleView {
                series: String::from_utf8_lossy(line.prefix.trim_ascii_end()).into_owned(),
                family: line.family.name,
                kind: line.family.kind,
                counter: line.counter,
                value: line.units as f64 / 10f64.powi(i32::from(line.scale)),
                planned_reset: line.reset,
            });
        });
        out
    }
}

/// One sample of a body, for checks.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleView {
    /// `name{labels}` as written.
    pub series: String,
    pub family: &'static str,
    pub kind: Kind,
    /// Whether the series only grows between planned resets (counters, histogram lines).
    pub counter: bool,
    pub value: f64,
    /// Whether this tick is a planned reset of the series.
    pub planned_reset: bool,
}
