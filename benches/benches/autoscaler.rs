//! Autoscaler decisions (`autoscaler::policy::Scaler::decide`) per second, for each policy
//! over one hour of a realistic, seeded load.
//!
//! The configurations are those of the policy comparison (`vane_benches::policies::configs`:
//! `per_replica`, `ratio`, `concurrency` with its stable and panic windows, `step` with a
//! cooldown, `predictive`, HPA-like and KPA-like), plus `per_replica` with an explicit
//! `behavior` (stabilization windows both ways and `Pods`/`Percent` rate policies).
//!
//! Load: requests per second following two 30-minute waves between 150 and 650, with ±10 %
//! noise and a 3× spike for two minutes; a request takes 100 ms and a replica serves 10 at
//! once. Each configuration evaluates at its own interval (1 s, 2 s or 15 s) and reads its own
//! kind of signal (requests in flight, utilization of the replicas it last asked for, or the
//! request rate); the platform is taken to have the replicas of the previous decision. One
//! iteration is the whole hour from a new autoscaler state.

use autoscaler::policy::{Input, Scaler, ServiceStats, State};
use criterion::{Criterion, Throughput};
use vane_benches::policies::{Config, Signal, configs};

const HOUR_S: u64 = 3_600;
const SERVICE_S: f64 = 0.1;
const SLOTS_PER_REPLICA: f64 = 10.0;

/// Requests per second at second `t` (deterministic noise).
fn load(t: u64) -> f64 {
    let phase = t as f64 / 1_800.0 * std::f64::consts::TAU;
    let base = 400.0 + 250.0 * phase.sin();
    let noise = ((t.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) % 201) as f64 / 1_000.0 - 0.1;
    let spike = if (2_400..2_520).contains(&t) {
        3.0
    } else {
        1.0
    };
    base * (1.0 + noise) * spike
}

fn signal(kind: &Signal, t: u64, replicas: u32) -> f64 {
    let rate = load(t);
    let in_flight = rate * SERVICE_S;
    match kind {
        Signal::Concurrency { .. } => in_flight,
        Signal::Utilization { .. } => {
            (in_flight / (f64::from(replicas.max(1)) * SLOTS_PER_REPLICA)).min(1.0)
        }
        Signal::Rate { .. } => rate,
    }
}

/// Runs one hour; returns the last decision's count. `service`: the service time each
/// evaluation observes (for a `predictive` policy reading a histogram).
fn run(scaler: &Scaler, kind: &Signal, interval_s: u64, service: Option<ServiceStats>) -> u32 {
    let mut state = State::default();
    let mut replicas = 6;
    for t in (0..HOUR_S).step_by(interval_s as usize) {
        let input = Input {
            now_ms: t * 1_000,
            signal: Some(signal(kind, t, replicas)),
            current: Some(replicas),
            service,
        };
        let (d, next) = scaler.decide(&input, state);
        state = next;
        replicas = d.desired;
    }
    replicas
}

fn with_behavior() -> Config {
    Config {
        name: "per_replica_behavior",
        about: "per_replica with stabilization windows and rate policies both ways",
        signal: Signal::Concurrency { window: 10.0 },
        interval: 1.0,
        service_window: None,
        yaml: "max_replicas: 100
policy: {per_replica: {target: 7}}
behavior:
  scale_up:
    stabilization_window: 30s
    select_policy: Max
    policies: [{type: Pods, value: 4, period: 15s}, {type: Percent, value: 100, period: 15s}]
  scale_down:
    stabilization_window: 5m
    select_policy: Min
    policies: [{type: Percent, value: 10, period: 1m}, {type: Pods, value: 2, period: 1m}]
",
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("autoscaler");
    g.sample_size(20);
    for cfg in configs().into_iter().chain([with_behavior()]) {
        let scaler = cfg.scaler();
        let interval = cfg.interval as u64;
        g.throughput(Throughput::Elements(HOUR_S.div_ceil(interval)));
        let service = cfg
            .service_window
            .map(|_| ServiceStats::from_moments(SERVICE_S, 0.001));
        g.bench_function(cfg.name, |b| {
            b.iter(|| run(&scaler, &cfg.signal, interval, service))
        });
    }
    g.finish();
}

vane_benches::short_criterion_main!(bench);
