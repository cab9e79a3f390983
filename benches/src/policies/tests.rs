use super::*;

fn sample(t: f64, invocations: u64, in_flight: u64, queued: u64, serving: u32) -> Sample {
    Sample {
        t,
        invocations,
        in_flight,
        queued,
        serving,
        service: Default::default(),
    }
}

#[test]
fn the_service_time_is_read_from_the_histogram_increase_over_the_window() {
    let mut s = Samples::default();
    // Every second 10 requests: 5 taking 0.07 s, 5 taking 0.2 s.
    let mut h = crate::funcsim::stats::Histogram::default();
    for k in 1..=20u64 {
        for _ in 0..5 {
            h.observe(0.07);
            h.observe(0.2);
        }
        let mut x = sample(k as f64, 10 * k, 0, 0, 1);
        x.service = h;
        s.push(x);
    }
    let st = s.service_time(20.0, 10.0).unwrap();
    assert!((st.mean_seconds - 0.135).abs() < 1e-9, "{st:?}");
    // Half in (0.05, 0.1], half in (0.1, 0.25], placed to average 0.135: a real spread.
    assert!(st.cv.unwrap() > 0.3, "{st:?}");
    // No scrape a window back, or no request within the window: nothing.
    assert_eq!(s.service_time(5.0, 10.0), None);
    let mut idle = sample(21.0, 200, 0, 0, 1);
    idle.service = h;
    s.push(idle);
    assert_eq!(s.service_time(21.0, 1.0), None);
}

#[test]
fn signals_read_windows_of_scrapes() {
    let mut s = Samples::default();
    // 1 s scrapes: 100 arrivals a second; 5, 15, 25... in flight on 2 replicas of 10.
    for k in 1..=100u64 {
        s.push(sample(k as f64, 100 * k, (k % 4) * 5, 0, 2));
    }
    let c = Signal::Concurrency { window: 3.0 };
    // Scrapes 98, 99, 100: 10, 15, 0 in flight.
    assert_eq!(c.read(&s, 100.0, 10), Some(25.0 / 3.0));
    let last = Signal::Concurrency { window: 1.0 };
    assert_eq!(last.read(&s, 100.0, 10), Some(0.0));
    let r = Signal::Rate { window: 10.0 };
    assert_eq!(r.read(&s, 100.0, 10), Some(100.0));
    // Utilization of scrapes 91 and 92 (the 2 s that ended 8 s ago): 15/20 and 0/20.
    let u = Signal::Utilization {
        window: 2.0,
        lag: 8.0,
    };
    assert_eq!(u.read(&s, 100.0, 10), Some(0.375));
    assert_eq!(r.read(&s, 5.0, 10), None, "no scrape 10 s before");
    assert_eq!(u.read(&s, 1.0, 10), None);
}

#[test]
fn utilization_saturates_and_counts_waiting_without_replicas() {
    assert_eq!(sample(1.0, 0, 30, 50, 2).utilization(10), 1.0);
    assert_eq!(sample(1.0, 0, 0, 3, 0).utilization(10), 1.0);
    assert_eq!(sample(1.0, 0, 0, 0, 0).utilization(10), 0.0);
}

#[test]
fn every_configuration_is_valid_and_runs_within_limits() {
    let short = Scenario {
        profile: Profile::Step {
            base: 100.0,
            high: 400.0,
            at: 20.0,
        },
        compress: 1.0,
        duration: 90.0,
    };
    for c in configs() {
        let o = run(&c, &short, 7);
        assert!(o.invocations > 0, "{}", c.name);
        assert!(o.peak_replicas >= 2 && o.peak_replicas <= 100, "{o:?}");
        // At least the starting 2 replicas for the whole run.
        assert!(o.replica_seconds >= 2.0 * 90.0 - 1e-6, "{o:?}");
        assert!(o.scale_changes > 0, "{} never scaled: {o:?}", c.name);
    }
}

#[test]
fn a_run_is_the_same_for_the_same_seed_and_differs_for_another() {
    let spike = Scenario {
        profile: Profile::Spike {
            base: 100.0,
            peak: 600.0,
            at: 10.0,
            width: 20.0,
        },
        compress: 1.0,
        duration: 60.0,
    };
    let c = &configs()[2];
    assert_eq!(run(c, &spike, 3), run(c, &spike, 3));
    assert_ne!(run(c, &spike, 3), run(c, &spike, 4));
}
