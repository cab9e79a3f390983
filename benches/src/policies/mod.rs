//! The autoscaling policy comparison: each policy of the `autoscaler` crate driving a
//! [`funcsim`](crate::funcsim) function through a load profile, in simulated time, next to an
//! HPA-like and a KPA-like configuration.
//!
//! One run is one function under one profile and one [`Config`]: the platform advances in
//! ticks of [`TICK`]; every second it is "scraped" into a [`Samples`] history (invocations,
//! requests in flight and queued, replicas); every `interval` the configuration's signal is
//! read from that history, [`autoscaler::policy::Scaler::decide`] decides with the platform's
//! desired count as the current one, and the platform is scaled. Nothing reads a clock, so a
//! run is the same for the same seed.
//!
//! What a run reports is the platform's own account (see `funcsim`): replica-seconds of all
//! replicas, starting and draining included, and the time under-provisioned, with a
//! non-empty queue or within a tick that dropped requests.

mod signal;

#[cfg(test)]
mod tests;

use autoscaler::config::ScalerConfig;
use autoscaler::policy::{Input, Scaler, State};
use serde::Serialize;

use crate::funcsim::{FunctionSpec, Platform, Profile, ScaleCommand};
pub use signal::{Sample, Samples, Signal};

/// Simulated seconds per platform step.
pub const TICK: f64 = 0.1;

/// Seconds between two scrapes of the platform.
pub const SCRAPE: f64 = 1.0;

/// One autoscaling configuration: a policy, the signal it reads and how often it decides.
#[derive(Debug, Clone)]
pub struct Config {
    pub name: &'static str,
    /// What the row says about it.
    pub about: &'static str,
    pub signal: Signal,
    /// Seconds between evaluations (a multiple of [`SCRAPE`]).
    pub interval: f64,
    /// The window (seconds) of the service-time histogram the `predictive` policy observes,
    /// as `service_time_histogram` reads it; `None`: no service statistics.
    pub service_window: Option<f64>,
    /// The policy as the `autoscalers:` entry writes it (without name, query and target).
    pub yaml: &'static str,
}

impl Config {
    pub fn scaler(&self) -> Scaler {
        yaml_serde::from_str::<ScalerConfig>(self.yaml)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

/// The configurations compared: each policy as Vane runs it (1 s evaluations on fresh 1 s
/// scrapes), then the two baselines.
pub fn configs() -> Vec<Config> {
    vec![
        Config {
            name: "per_replica",
            about: "concurrency (in flight + queued, 10 s mean) / 7 per replica; HPA default behaviour",
            signal: Signal::Concurrency { window: 10.0 },
            interval: 1.0,
            service_window: None,
            yaml: "max_replicas: 100\npolicy: {per_replica: {target: 7}}\n",
        },
        Config {
            name: "ratio",
            about: "utilization (10 s mean) at 0.7; HPA default behaviour",
            signal: Signal::Utilization {
                window: 10.0,
                lag: 0.0,
            },
            interval: 1.0,
            service_window: None,
            yaml: "max_replicas: 100\npolicy: {ratio: {target: 0.7}}\n",
        },
        Config {
            name: "concurrency",
            about: "KPA: concurrency 10 at 70 %, stable 60 s, panic 6 s",
            signal: Signal::Concurrency { window: 1.0 },
            interval: 1.0,
            service_window: None,
            yaml: "max_replicas: 100\npolicy: {concurrency: {target: 10}}\n",
        },
        Config {
            name: "step",
            about: "utilization (10 s mean) against 0.7: -20 %, 0, +20 %, +50 %; cooldown 30 s",
            signal: Signal::Utilization {
                window: 10.0,
                lag: 0.0,
            },
            interval: 1.0,
            service_window: None,
            yaml: "max_replicas: 100\npolicy:\n  step:\n    threshold: 0.7\n    adjustment_type: PercentChangeInCapacity\n    min_adjustment_magnitude: 1\n    cooldown: 30s\n    steps:\n      - {upper: -0.3, adjustment: -20}\n      - {lower: -0.3, upper: 0, adjustment: 0}\n      - {lower: 0, upper: 0.2, adjustment: 20}\n      - {lower: 0.2, adjustment: 50}\n",
        },
        Config {
            name: "predictive",
            about: "request rate (10 s), 10 per replica, cold start 2 s, service time observed (10 s histogram); HPA default behaviour",
            signal: Signal::Rate { window: 10.0 },
            interval: 1.0,
            service_window: Some(10.0),
            yaml: "max_replicas: 100\npolicy: {predictive: {per_replica_concurrency: 10, cold_start: 2s, service_time_histogram: {selector: funcsim_service_duration_seconds, window: 10s}}}\n",
        },
        Config {
            name: "hpa-like",
            about: "ratio on utilization at 0.7, 15 s sync, 300 s scale-down window, metrics 60 s old on average (a 60 s mean ending 30 s ago)",
            signal: Signal::Utilization {
                window: 60.0,
                lag: 30.0,
            },
            interval: 15.0,
            service_window: None,
            yaml: "max_replicas: 100\npolicy: {ratio: {target: 0.7}}\n",
        },
        Config {
            name: "kpa-like",
            about: "concurrency 10 at 70 %, stable 60 s, panic 6 s, 2 s tick",
            signal: Signal::Concurrency { window: 1.0 },
            interval: 2.0,
            service_window: None,
            yaml: "max_replicas: 100\npolicy: {concurrency: {target: 10, stable_window: 60s, panic_window_percentage: 10}}\n",
        },
    ]
}

/// A load profile and how long to run it.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub profile: Profile,
    /// Profile seconds per simulated second.
    pub compress: f64,
    /// Simulated seconds.
    pub duration: f64,
}

/// The step, spike and diurnal profiles. A replica serves 10 requests at once for 100 ms
/// (±50 %) after a 2 s cold start: 100 requests/s at full use, 70 at the targets above.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            profile: Profile::Step {
                base: 100.0,
                high: 800.0,
                at: 120.0,
            },
            compress: 1.0,
            duration: 600.0,
        },
        Scenario {
            profile: Profile::Spike {
                base: 100.0,
                peak: 1000.0,
                at: 120.0,
                width: 60.0,
            },
            compress: 1.0,
            duration: 600.0,
        },
        Scenario {
            // A day compressed 60×: 24 simulated minutes.
            profile: Profile::Diurnal {
                min: 50.0,
                max: 800.0,
                period: 86_400.0,
                phase: 0.0,
            },
            compress: 60.0,
            duration: 1440.0,
        },
    ]
}

/// The function every run scales.
pub fn function(profile: Profile) -> FunctionSpec {
    let mut f = FunctionSpec::new("fn", profile);
    f.concurrency = 10;
    f.cold_start = 2.0;
    f.service = 0.1;
    f.jitter = 0.5;
    f.queue = 100;
    f.max_replicas = 100;
    // Sized for the starting rate at 70 requests/s per replica.
    f.replicas = (f.profile.rate(0.0) / 70.0).ceil().max(1.0) as u32;
    f
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub profile: &'static str,
    pub config: &'static str,
    pub replica_seconds: f64,
    pub under_provisioned_seconds: f64,
    pub invocations: u64,
    pub dropped: u64,
    /// 99th percentile of the time from arrival to response, seconds.
    pub p99_latency_seconds: Option<f64>,
    pub peak_replicas: u32,
    /// Decisions that changed the count.
    pub scale_changes: u64,
    /// Evaluations in panic mode.
    pub panic_evaluations: u64,
}

/// Runs `config` on `scenario` with `seed`.
pub fn run(config: &Config, scenario: &Scenario, seed: u64) -> Outcome {
    let scaler = config.scaler();
    let spec = function(scenario.profile.clone());
    let concurrency = spec.concurrency;
    let mut platform = Platform::new(vec![spec], scenario.compress, seed);
    let mut samples = Samples::default();
    let mut state = State::default();
    let ticks = (scenario.duration / TICK).round() as u64;
    let per_scrape = (SCRAPE / TICK).round() as u64;
    let per_eval = (config.interval / TICK).round() as u64;
    let (mut peak, mut changes, mut panics) = (0u32, 0u64, 0u64);
    for k in 1..=ticks {
        let now = k as f64 * TICK;
        platform.advance_to(now);
        let f = &platform.functions()[0];
        if k % per_scrape == 0 {
            samples.push(Sample::of(f, now));
        }
        let counts = f.replica_counts();
        peak = peak.max(counts.ready + counts.starting + counts.draining);
        if k % per_eval != 0 {
            continue;
        }
        let input = Input {
            now_ms: (now * 1000.0).round() as u64,
            signal: config.signal.read(&samples, now, concurrency),
            current: Some(counts.desired),
            service: config
                .service_window
                .and_then(|w| samples.service_time(now, w)),
        };
        let (d, next) = scaler.decide(&input, std::mem::take(&mut state));
        state = next;
        panics += u64::from(d.panic);
        if d.desired != counts.desired {
            changes += 1;
            platform
                .scale(&ScaleCommand {
                    function: "fn".into(),
                    replicas: d.desired,
                    decision_id: None,
                    reason: Some(d.reason.as_str().into()),
                })
                .expect("the function exists");
        }
    }
    let c = &platform.functions()[0].counters;
    Outcome {
        profile: scenario.profile.name(),
        config: config.name,
        replica_seconds: c.replica_seconds,
        under_provisioned_seconds: c.under_provisioned_seconds,
        invocations: c.invocations,
        dropped: c.dropped,
        p99_latency_seconds: c.latency.quantile(0.99),
        peak_replicas: peak,
        scale_changes: changes,
        panic_evaluations: panics,
    }
}

/// Every configuration on every scenario.
pub fn run_all(seed: u64) -> Vec<Outcome> {
    let mut out = Vec::new();
    for s in scenarios() {
        for c in configs() {
            out.push(run(&c, &s, seed));
        }
    }
    out
}

/// The Markdown table of `outcomes`.
pub fn markdown(outcomes: &[Outcome]) -> String {
    let mut s = String::from(
        "| profile | configuration | replica-seconds | under-provisioned (s) | dropped | p99 latency | peak replicas | scale changes |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for o in outcomes {
        s.push_str(&format!(
            "| {} | {} | {:.0} | {:.1} | {} of {} | {} | {} | {} |\n",
            o.profile,
            o.config,
            o.replica_seconds,
            o.under_provisioned_seconds,
            o.dropped,
            o.invocations,
            o.p99_latency_seconds
                .map_or_else(|| "-".to_string(), |q| format!("{:.0} ms", q * 1000.0)),
            o.peak_replicas,
            o.scale_changes,
        ));
    }
    s
}
