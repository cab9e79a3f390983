use super::expose::{metrics_text, summary};
use super::load::{Arrivals, Profile};
use super::platform::{Function, FunctionSpec, Platform, ScaleCommand};
use super::spec::{parse_duration, parse_function};

fn spec(rate: f64) -> FunctionSpec {
    let mut s = FunctionSpec::new("f", Profile::Constant { rate });
    s.jitter = 0.0;
    s
}

/// Advances in 10 ms ticks, as the binary does.
fn run(f: &mut Function, to: f64) {
    let mut k = (f.now() / 0.01).round() as u64;
    while (k as f64) * 0.01 < to - 1e-9 {
        k += 1;
        f.advance_to(k as f64 * 0.01);
    }
}

#[test]
fn cold_start_delays_capacity() {
    let mut s = spec(50.0);
    s.replicas = 0;
    s.cold_start = 2.0;
    s.queue = 1000;
    let mut f = Function::new(s, 1.0, 7);
    f.set_desired(1);
    run(&mut f, 1.9);
    let r = f.replica_counts();
    assert_eq!((r.starting, r.ready), (1, 0));
    assert_eq!(f.counters.completed, 0);
    assert!(f.queued() > 50, "queued {}", f.queued());
    run(&mut f, 2.5);
    let r = f.replica_counts();
    assert_eq!((r.starting, r.ready), (0, 1));
    assert!(f.counters.completed > 0);
    // The first requests waited for the cold start.
    assert!(f.counters.latency.quantile(0.01).unwrap() > 1.0);
    // Cost counts the starting replica: 2.5 s of one replica.
    assert!((f.counters.replica_seconds - 2.5).abs() < 1e-6);
    assert!(f.counters.under_provisioned_seconds > 2.0);
}

#[test]
fn queue_is_bounded_and_overflow_is_dropped() {
    let mut s = spec(100.0);
    s.replicas = 0;
    s.queue = 5;
    let mut f = Function::new(s, 1.0, 1);
    run(&mut f, 1.0);
    assert_eq!(f.queued(), 5);
    assert!(f.counters.invocations > 50);
    assert_eq!(f.counters.dropped, f.counters.invocations - 5);
}

#[test]
fn capacity_is_replicas_times_concurrency() {
    let mut s = spec(1000.0);
    s.replicas = 3;
    s.concurrency = 4;
    s.service = 10.0;
    s.queue = 0;
    let mut f = Function::new(s, 1.0, 1);
    run(&mut f, 1.0);
    assert_eq!(f.in_flight(), 12);
    assert_eq!(f.counters.dropped, f.counters.invocations - 12);
}

#[test]
fn scale_down_removes_starting_then_idle_then_drains_busy() {
    let mut s = spec(1.0);
    s.replicas = 3;
    s.concurrency = 1;
    s.service = 1000.0;
    let mut f = Function::new(s, 1.0, 3);
    while f.in_flight() == 0 {
        let t = f.now() + 0.01;
        f.advance_to(t);
    }
    assert_eq!(f.in_flight(), 1);
    f.set_desired(5);
    let r = f.replica_counts();
    assert_eq!((r.ready, r.starting), (3, 2));
    f.set_desired(3);
    let r = f.replica_counts();
    assert_eq!((r.ready, r.starting, r.draining), (3, 0, 0));
    f.set_desired(1);
    let r = f.replica_counts();
    assert_eq!((r.ready, r.draining), (1, 0));
    assert_eq!(f.in_flight(), 1, "the busy replica was kept");
    f.set_desired(0);
    let r = f.replica_counts();
    assert_eq!((r.ready, r.draining, r.desired), (0, 1, 0));
}

#[test]
fn replica_seconds_without_load() {
    let mut s = spec(0.0);
    s.replicas = 2;
    let mut f = Function::new(s, 1.0, 1);
    run(&mut f, 10.0);
    assert!((f.counters.replica_seconds - 20.0).abs() < 1e-6);
    assert_eq!(f.counters.invocations, 0);
    assert_eq!(f.counters.under_provisioned_seconds, 0.0);
}

#[test]
fn profile_shapes() {
    let step = Profile::Step {
        base: 5.0,
        high: 50.0,
        at: 60.0,
    };
    assert_eq!(
        [
            step.rate(0.0),
            step.rate(59.9),
            step.rate(60.0),
            step.rate(1e6)
        ],
        [5.0, 5.0, 50.0, 50.0]
    );
    let spike = Profile::Spike {
        base: 5.0,
        peak: 100.0,
        at: 10.0,
        width: 2.0,
    };
    assert_eq!(
        [
            spike.rate(9.9),
            spike.rate(10.0),
            spike.rate(11.9),
            spike.rate(12.0)
        ],
        [5.0, 100.0, 100.0, 5.0]
    );
    let ramp = Profile::Ramp {
        from: 0.0,
        to: 100.0,
        start: 10.0,
        duration: 100.0,
    };
    assert_eq!(
        [
            ramp.rate(0.0),
            ramp.rate(10.0),
            ramp.rate(60.0),
            ramp.rate(110.0),
            ramp.rate(500.0)
        ],
        [0.0, 0.0, 50.0, 100.0, 100.0]
    );
    let day = Profile::Diurnal {
        min: 10.0,
        max: 110.0,
        period: 86_400.0,
        phase: 0.0,
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(day.rate(0.0), 10.0));
    assert!(close(day.rate(21_600.0), 60.0));
    assert!(close(day.rate(43_200.0), 110.0));
    assert!(close(day.rate(86_400.0), 10.0));
    // Compression: with 60 profile seconds per second, noon comes after 12 minutes.
    let a = Arrivals::new(day, 60.0, 1);
    assert!(close(a.rate_at(720.0), 110.0));
}

#[test]
fn arrivals_follow_the_rate() {
    let mut a = Arrivals::new(
        Profile::Step {
            base: 20.0,
            high: 200.0,
            at: 50.0,
        },
        1.0,
        42,
    );
    let mut before = 0;
    let mut after = 0;
    while let Some(t) = a.next_before(100.0) {
        if t < 50.0 { before += 1 } else { after += 1 }
    }
    assert!((900..1100).contains(&before), "{before}");
    assert!((9500..10500).contains(&after), "{after}");
}

fn platform(seed: u64) -> Platform {
    let mut a = FunctionSpec::new(
        "a",
        Profile::Spike {
            base: 50.0,
            peak: 2000.0,
            at: 5.0,
            width: 3.0,
        },
    );
    a.replicas = 2;
    let b = FunctionSpec::new(
        "b",
        Profile::Diurnal {
            min: 5.0,
            max: 80.0,
            period: 600.0,
            phase: 0.0,
        },
    );
    let mut p = Platform::new(vec![a, b], 1.0, seed);
    for k in 1..=1500 {
        if k == 700 {
            p.scale(&ScaleCommand {
                function: "a".into(),
                replicas: 6,
                decision_id: None,
                reason: None,
            })
            .unwrap();
        }
        p.advance_to(k as f64 * 0.01);
    }
    p
}

#[test]
fn deterministic_for_a_seed() {
    let (x, y, z) = (platform(9), platform(9), platform(10));
    assert_eq!(metrics_text(&x), metrics_text(&y));
    assert_eq!(summary(&x), summary(&y));
    assert_ne!(metrics_text(&x), metrics_text(&z));
    let s = summary(&x);
    assert!(s[0].dropped > 0 && s[0].under_provisioned_s > 0.0);
    assert!(s[0].p99_s.unwrap() > s[0].p50_s.unwrap());
}

#[test]
fn metrics_page() {
    let p = platform(1);
    let text = metrics_text(&p);
    let f = &p.functions()[0];
    let count = f.counters.duration.count;
    assert!(count > 0);
    assert!(text.contains(&format!(
        "funcsim_request_duration_seconds_bucket{{function=\"a\",le=\"+Inf\"}} {count}\n"
    )));
    assert!(text.contains(&format!(
        "funcsim_request_duration_seconds_count{{function=\"a\"}} {count}\n"
    )));
    assert!(text.contains("funcsim_request_duration_seconds_bucket{function=\"a\",le=\"0.005\"}"));
    // Service times exclude queueing: as many, never longer in sum.
    let service = &f.counters.service;
    assert_eq!(service.count, count);
    assert!(service.sum <= f.counters.duration.sum + 1e-9);
    assert!(text.contains(&format!(
        "funcsim_service_duration_seconds_count{{function=\"a\"}} {count}\n"
    )));
    assert!(text.contains("# TYPE funcsim_service_duration_seconds histogram\n"));
    assert!(text.contains("funcsim_replicas{function=\"a\",state=\"ready\"} 6\n"));
    assert!(text.contains("funcsim_desired_replicas{function=\"b\"} 1\n"));
    assert!(text.contains("# TYPE funcsim_request_duration_seconds histogram\n"));
    // Every sample line parses as `name{labels} value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, v) = line.rsplit_once(' ').unwrap();
        assert!(v == "+Inf" || v.parse::<f64>().is_ok(), "{line}");
    }
    // Buckets are cumulative.
    let buckets: Vec<u64> = f.counters.duration.cumulative().collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn scale_commands_with_decision_ids_are_idempotent() {
    let mut p = Platform::new(vec![spec(0.0)], 1.0, 1);
    let cmd = |n, id| ScaleCommand {
        function: "f".into(),
        replicas: n,
        decision_id: Some(id),
        reason: None,
    };
    assert_eq!(p.scale(&cmd(3, 10)).unwrap().applied, Some(true));
    let again = p.scale(&cmd(5, 10)).unwrap();
    assert_eq!(again.applied, Some(false));
    assert_eq!(again.counts.desired, 3);
    assert_eq!(p.scale(&cmd(2, 9)).unwrap().applied, Some(false));
    assert_eq!(p.scale(&cmd(2, 11)).unwrap().counts.desired, 2);
    let unknown = ScaleCommand {
        function: "nope".into(),
        ..cmd(1, 12)
    };
    assert!(p.scale(&unknown).is_err());
    assert!(p.replicas(Some("nope")).is_err());
    assert_eq!(p.replicas(None).unwrap().len(), 1);
}

#[test]
fn function_flags() {
    let s = parse_function(
        "api:concurrency=4,cold_start=1.5s,service=50ms,queue=20,replicas=2,profile=step,base=1,high=9,at=2m",
    )
    .unwrap();
    assert_eq!(s.name, "api");
    assert_eq!((s.concurrency, s.queue, s.replicas), (4, 20, 2));
    assert_eq!((s.cold_start, s.service), (1.5, 0.05));
    assert_eq!(
        s.profile,
        Profile::Step {
            base: 1.0,
            high: 9.0,
            at: 120.0
        }
    );
    assert_eq!(parse_function("x").unwrap().profile.name(), "constant");
    for (bad, want) in [
        ("", "function name"),
        ("a:concurrency=0", "concurrency"),
        ("a:profile=square", "unknown profile"),
        ("a:colour=red", "unknown key"),
        ("a:rate", "not key=value"),
        ("a:at=soon", "bad duration"),
        ("a:jitter=2", "jitter"),
        ("a:profile=diurnal,period=0s", "period"),
    ] {
        let e = parse_function(bad).unwrap_err();
        assert!(e.contains(want), "{bad}: {e}");
    }
    assert_eq!(parse_duration("24h").unwrap(), 86_400.0);
    assert_eq!(parse_duration("250ms").unwrap(), 0.25);
}

/// Vane's own gRPC client, `GrpcTarget`, drives the gRPC front.
#[tokio::test]
async fn the_grpc_front_takes_decisions_from_vanes_grpc_target() {
    use autoscaler::grpc::GrpcTarget;
    use autoscaler::runtime::{DecisionEvent, ScaleTarget, TargetError};

    let mut s = spec(0.0);
    s.name = "api".into();
    s.replicas = 1;
    s.cold_start = 5.0;
    let platform = std::sync::Arc::new(std::sync::Mutex::new(Platform::new(vec![s], 1.0, 1)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(super::grpc::serve(listener, platform.clone(), async {
        let _ = stopped.await;
    }));
    let target = GrpcTarget::new(&url, std::time::Duration::from_secs(5)).unwrap();
    let decision = |autoscaler: &str, id, desired| DecisionEvent {
        autoscaler: autoscaler.into(),
        id,
        time_ms: 0,
        desired,
        current: Some(1),
        signal: Some(40.0),
        reason: "scaled".into(),
        detail: String::new(),
        active: true,
        panic: false,
    };
    let calls = async {
        assert_eq!(target.current_replicas("api").await, Ok(Some(1)));
        target.set_replicas(&decision("api", 10, 4)).await.unwrap();
        let counts = platform.lock().unwrap().replicas(Some("api")).unwrap()[0].counts;
        assert_eq!((counts.desired, counts.ready, counts.starting), (4, 1, 3));
        assert_eq!(target.current_replicas("api").await, Ok(Some(4)));
        // A retry of an older decision is acknowledged without acting.
        target.set_replicas(&decision("api", 9, 1)).await.unwrap();
        assert_eq!(target.current_replicas("api").await, Ok(Some(4)));
        target.set_replicas(&decision("api", 11, 2)).await.unwrap();
        assert_eq!(target.current_replicas("api").await, Ok(Some(2)));
        assert_eq!(
            platform.lock().unwrap().functions()[0].last_decision,
            Some(11)
        );
        // An unknown function is NOT_FOUND: final, not retried.
        let err = target.set_replicas(&decision("nope", 12, 1)).await;
        assert!(
            matches!(err, Err(TargetError::Permanent(ref m)) if m.contains("NotFound")),
            "{err:?}"
        );
        let err = target.current_replicas("nope").await;
        assert!(matches!(err, Err(TargetError::Permanent(_))), "{err:?}");
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), calls)
        .await
        .expect("the gRPC front did not answer in time");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
