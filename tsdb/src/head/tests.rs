use std::collections::BTreeMap;
use std::sync::Arc;

use model::metrics::Registry;
use model::{
    Appender, Error as SampleError, Labels, MatchType, Matcher, Series, labels, stale_nan,
};
use proptest::prelude::*;

use super::{Head, HeadOptions};
use crate::querier::StoredSeries;

fn open(dir: &std::path::Path) -> Arc<Head> {
    Head::open(dir, HeadOptions::default(), &Registry::new(), i64::MIN).unwrap()
}

fn series(i: usize) -> Labels {
    labels! {"__name__" => "m", "i" => i.to_string(), "job" => "test"}
}

type Dump = BTreeMap<String, Vec<(i64, u64)>>;

/// Everything in the head within `[mint, maxt]`, values as bits.
fn dump(h: &Head, mint: i64, maxt: i64) -> Dump {
    let all = [Matcher::new(MatchType::RegexMatch, "__name__", ".+").unwrap()];
    let mut out = Dump::new();
    for (l, chunks) in h.select(&all, mint, maxt).unwrap() {
        let s = StoredSeries::new(l.clone(), chunks, mint, maxt);
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() {
            let (t, x) = it.at();
            v.push((t, x.to_bits()));
        }
        assert!(it.err().is_none());
        out.insert(l.to_string(), v);
    }
    out
}

#[test]
fn appends_are_readable_across_chunk_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let mut want = Dump::new();
    let mut refs = vec![None; 20];
    for k in 0..500i64 {
        let mut app = h.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            let v = (k * i as i64) as f64 * 0.5;
            *r = Some(app.append(*r, &series(i), k * 15_000, v).unwrap());
            want.entry(series(i).to_string())
                .or_default()
                .push((k * 15_000, v.to_bits()));
        }
        app.commit().unwrap();
    }
    assert_eq!(dump(&h, i64::MIN, i64::MAX), want);
    assert_eq!(h.num_series(), 20);
    assert_eq!(h.min_time(), 0);
    assert_eq!(h.max_time(), 499 * 15_000);
    // A sub-range is clipped exactly.
    let part = dump(&h, 30_000, 60_000);
    assert_eq!(
        part[&series(3).to_string()],
        want[&series(3).to_string()][2..=4]
    );
}

#[test]
fn rejections_follow_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let mut app = h.appender();
    app.append(None, &series(0), 1000, 1.0).unwrap();
    app.commit().unwrap();
    let mut app = h.appender();
    assert!(matches!(
        app.append(None, &series(0), 999, 1.0),
        Err(SampleError::OutOfOrderSample)
    ));
    assert!(matches!(
        app.append(None, &series(0), 1000, 2.0),
        Err(SampleError::DuplicateSampleForTimestamp)
    ));
    // Same timestamp, same value: accepted as a no-op.
    app.append(None, &series(0), 1000, 1.0).unwrap();
    // Far behind the newest sample: out of bounds.
    app.append(None, &series(1), 3 * 3_600_000, 1.0).unwrap();
    app.commit().unwrap();
    let mut app = h.appender();
    assert!(matches!(
        app.append(None, &series(2), 1000, 1.0),
        Err(SampleError::OutOfBounds)
    ));
    assert!(matches!(
        app.append(None, &Labels::empty(), 4 * 3_600_000, 1.0),
        Err(SampleError::InvalidLabels(_))
    ));
    app.commit().unwrap();
    assert_eq!(
        dump(&h, i64::MIN, i64::MAX)[&series(0).to_string()],
        vec![(1000, 1f64.to_bits())]
    );
}

#[test]
fn special_values_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let vals = [
        stale_nan(),
        f64::NAN,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 2.0,
        f64::from_bits(0x7ff8_dead_beef_0001),
    ];
    let mut app = h.appender();
    for (k, v) in vals.iter().enumerate() {
        app.append(None, &series(0), k as i64, *v).unwrap();
    }
    app.commit().unwrap();
    drop(h);
    let h = open(dir.path());
    let got = dump(&h, i64::MIN, i64::MAX);
    let want: Vec<(i64, u64)> = vals
        .iter()
        .enumerate()
        .map(|(k, v)| (k as i64, v.to_bits()))
        .collect();
    assert_eq!(got[&series(0).to_string()], want);
}

#[test]
fn restart_replays_wal_and_mmapped_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let before;
    {
        let h = open(dir.path());
        for round in 0..400i64 {
            let mut app = h.appender();
            for i in 0..50 {
                app.append(None, &series(i), round * 10_000, (round + i as i64) as f64)
                    .unwrap();
            }
            app.commit().unwrap();
        }
        before = dump(&h, i64::MIN, i64::MAX);
        h.close().unwrap();
    }
    let h = open(dir.path());
    assert_eq!(dump(&h, i64::MIN, i64::MAX), before);
    // Appending continues where it stopped; the old sample at the end is a duplicate.
    let mut app = h.appender();
    app.append(None, &series(0), 399 * 10_000, 399.0).unwrap();
    assert!(app.append(None, &series(0), 398 * 10_000, 1.0).is_err());
    app.append(None, &series(0), 400 * 10_000, 1.0).unwrap();
    app.commit().unwrap();
    drop(h);
    let h = open(dir.path());
    assert_eq!(
        dump(&h, i64::MIN, i64::MAX)[&series(0).to_string()].len(),
        401
    );
}

#[test]
fn rolled_back_batches_leave_no_samples_but_keep_series_usable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let h = open(dir.path());
        let mut a = h.appender();
        let r = a.append(None, &series(0), 1, 1.0).unwrap();
        a.rollback().unwrap();
        let mut b = h.appender();
        b.append(Some(r), &Labels::empty(), 2, 2.0).unwrap();
        b.commit().unwrap();
        assert_eq!(
            dump(&h, i64::MIN, i64::MAX)[&series(0).to_string()],
            vec![(2, 2f64.to_bits())]
        );
    }
    // The series record was logged by the rollback, so the sample survives a restart.
    let h = open(dir.path());
    assert_eq!(
        dump(&h, i64::MIN, i64::MAX)[&series(0).to_string()],
        vec![(2, 2f64.to_bits())]
    );
}

#[test]
fn concurrent_appenders_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    std::thread::scope(|s| {
        for th in 0..4 {
            let h = h.clone();
            s.spawn(move || {
                for round in 0..300i64 {
                    let mut app = h.appender();
                    for i in 0..25 {
                        // Threads share half their series.
                        let idx = if i % 2 == 0 { i } else { 100 * (th + 1) + i };
                        let _ = app.append(None, &series(idx), round * 1000 + th as i64, 1.0);
                    }
                    app.commit().unwrap();
                }
            });
        }
    });
    let got = dump(&h, i64::MIN, i64::MAX);
    for (name, samples) in &got {
        assert!(
            samples.windows(2).all(|w| w[0].0 < w[1].0),
            "{name} not strictly ordered"
        );
    }
    // Unshared series got every sample.
    assert_eq!(got[&series(101).to_string()].len(), 300);
    assert_eq!(got.len(), 13 + 4 * 12);
    drop(h);
    let h = open(dir.path());
    assert_eq!(dump(&h, i64::MIN, i64::MAX), got);
}

#[test]
fn truncation_drops_old_data_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let hour = 3_600_000i64;
    // Series 0 stops after the first hour; series 1 goes on for 5 hours.
    for t in (0..5 * hour).step_by(60_000) {
        let mut app = h.appender();
        if t < hour {
            app.append(None, &series(0), t, 1.0).unwrap();
        }
        app.append(None, &series(1), t, t as f64).unwrap();
        app.commit().unwrap();
    }
    let stats = h.truncate(2 * hour).unwrap();
    assert_eq!(stats.series_removed, 1);
    assert_eq!(h.num_series(), 1);
    assert!(h.min_time() >= 2 * hour);
    let after = dump(&h, i64::MIN, i64::MAX);
    assert!(!after.contains_key(&series(0).to_string()));
    assert!(
        after[&series(1).to_string()]
            .iter()
            .all(|s| s.0 >= 2 * hour)
    );
    // Old samples are refused now.
    let mut app = h.appender();
    assert!(app.append(None, &series(0), hour, 1.0).is_err());
    app.rollback().unwrap();
    // More data after the truncation, then a restart: the checkpoint and the new segments
    // rebuild exactly the same head.
    let mut app = h.appender();
    app.append(None, &series(2), 5 * hour, 7.0).unwrap();
    app.commit().unwrap();
    let want = dump(&h, i64::MIN, i64::MAX);
    h.close().unwrap();
    drop(h);
    let h = Head::open(
        dir.path(),
        HeadOptions::default(),
        &Registry::new(),
        2 * hour,
    )
    .unwrap();
    assert_eq!(dump(&h, i64::MIN, i64::MAX), want);
}

#[test]
fn a_batch_open_during_truncation_keeps_the_series_it_appends_to() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    // A new series has no samples until its batch commits, so truncation finds it empty.
    let mut app = h.appender();
    app.append(None, &series(0), 10_000, 1.0).unwrap();
    let h2 = h.clone();
    let truncation = std::thread::spawn(move || h2.truncate(5_000).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(100));
    app.commit().unwrap();
    let stats = truncation.join().unwrap();
    assert_eq!(stats.series_removed, 0);
    assert_eq!(h.num_series(), 1);
    assert_eq!(
        dump(&h, i64::MIN, i64::MAX)[&series(0).to_string()],
        vec![(10_000, 1f64.to_bits())]
    );
    // Empty and not in any batch: removed.
    h.truncate(20_000).unwrap();
    assert_eq!(h.num_series(), 0);
}

/// Appenders and truncations race: series fall empty every other round and are appended to
/// again in the next, with references cached as the scraper caches them. No committed sample
/// at or after the last truncation's time may be missing.
#[test]
fn truncation_racing_appends_loses_no_committed_sample() {
    const SERIES: usize = 64;
    const ROUNDS: i64 = 400;
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let committed_t = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let gc = {
        let (h, done, committed_t) = (h.clone(), done.clone(), committed_t.clone());
        std::thread::spawn(move || {
            let mut last = i64::MIN;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                // Everything of the round before the newest committed one goes.
                let mint = committed_t.load(std::sync::atomic::Ordering::SeqCst) - 5;
                if mint > last {
                    h.truncate(mint).unwrap();
                    last = mint;
                }
                std::thread::yield_now();
            }
            last
        })
    };
    let mut refs = vec![None; SERIES];
    let mut want = Dump::new();
    for k in 1..=ROUNDS {
        let t = k * 10;
        let mut app = h.appender();
        for (i, r) in refs
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| *i as i64 % 2 == k % 2)
        {
            match app.append(*r, &series(i), t, k as f64) {
                Ok(new) => {
                    *r = Some(new);
                    want.entry(series(i).to_string())
                        .or_default()
                        .push((t, (k as f64).to_bits()));
                }
                // Truncation may have passed this round's time already.
                Err(SampleError::OutOfBounds) => {}
                Err(e) => panic!("append: {e}"),
            }
        }
        app.commit().unwrap();
        committed_t.store(t, std::sync::atomic::Ordering::SeqCst);
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let last_mint = gc.join().unwrap();
    let got = dump(&h, last_mint, i64::MAX);
    for (l, samples) in want {
        let kept: Vec<_> = samples.into_iter().filter(|s| s.0 >= last_mint).collect();
        if !kept.is_empty() {
            assert_eq!(got.get(&l), Some(&kept), "{l}");
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(usize, i64, i8)>),
    Rollback(Vec<(usize, i64, i8)>),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let batch = prop::collection::vec((0usize..4, -3i64..200, -2i8..3), 0..40);
    prop_oneof![
        6 => batch.clone().prop_map(Op::Append),
        1 => batch.prop_map(Op::Rollback),
        1 => Just(Op::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The head behaves like a map of sorted vectors with Prometheus's rejection rules,
    /// across commits, rollbacks and restarts.
    #[test]
    fn head_matches_a_simple_model(ops in prop::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let mut h = open(dir.path());
        let mut model: BTreeMap<usize, Vec<(i64, u64)>> = BTreeMap::new();
        let mut clock: BTreeMap<usize, i64> = BTreeMap::new();
        let mut global_max: Option<i64> = None;
        for op in ops {
            match op {
                Op::Restart => {
                    h.close().unwrap();
                    drop(h);
                    h = open(dir.path());
                }
                Op::Append(batch) | Op::Rollback(batch) if batch.is_empty() => {}
                Op::Append(batch) => {
                    let mut app = h.appender();
                    let mut accepted = Vec::new();
                    for (i, dt, v) in batch {
                        let t = clock.get(&i).copied().unwrap_or(0) + dt * 1000;
                        let v = v as f64;
                        let last = model.get(&i).and_then(|s| s.last().copied());
                        let in_bounds = global_max.is_none_or(|m| t >= m - 3_600_000);
                        let want_ok = in_bounds && match last {
                            None => true,
                            Some((lt, lv)) => t > lt || (t == lt && v.to_bits() == lv),
                        };
                        let got = app.append(None, &series(i), t, v);
                        prop_assert_eq!(got.is_ok(), want_ok, "append {} at {} after {:?}", i, t, last);
                        if got.is_ok() {
                            accepted.push((i, t, v));
                        }
                        clock.insert(i, t.max(clock.get(&i).copied().unwrap_or(0)));
                    }
                    app.commit().unwrap();
                    for (i, t, v) in accepted {
                        let s = model.entry(i).or_default();
                        match s.last() {
                            Some(&(lt, _)) if t <= lt => {}
                            _ => {
                                s.push((t, v.to_bits()));
                                global_max = Some(global_max.map_or(t, |m: i64| m.max(t)));
                            }
                        }
                    }
                }
                Op::Rollback(batch) => {
                    let mut app = h.appender();
                    for (i, dt, v) in batch {
                        let t = clock.get(&i).copied().unwrap_or(0) + dt * 1000;
                        let _ = app.append(None, &series(i), t, v as f64);
                    }
                    app.rollback().unwrap();
                }
            }
            let got = dump(&h, i64::MIN, i64::MAX);
            let want: Dump = model
                .iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(i, s)| (series(*i).to_string(), s.clone()))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}

#[test]
fn an_appender_gives_a_series_labels_back_by_reference() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let mut app = h.appender();
    let r = app.append(None, &series(1), 1000, 1.0).unwrap();
    // Known as soon as appended (before the commit), equal to the labels given.
    assert_eq!(app.stored_labels(r), Some(series(1)));
    app.commit().unwrap();
    let mut again = h.appender();
    let stored = again.stored_labels(r).unwrap();
    assert_eq!(stored, series(1));
    // Rebuilt from the head's symbols: the strings are shared, not copied.
    let other = again.stored_labels(r).unwrap();
    for (a, b) in stored.iter().zip(other.iter()) {
        assert!(model::LabelStr::ptr_eq(&a.value, &b.value));
    }
    assert_eq!(again.stored_labels(model::SeriesRef(r.0 + 100)), None);
    // By reference, no labels are needed; an unknown reference without labels is an error.
    assert_eq!(
        again.append(Some(r), &Labels::empty(), 2000, 2.0).unwrap(),
        r
    );
    assert!(matches!(
        again.append(
            Some(model::SeriesRef(r.0 + 100)),
            &Labels::empty(),
            2000,
            2.0
        ),
        Err(model::storage::Error::UnknownSeriesRef(_))
    ));
    again.commit().unwrap();
}

#[test]
fn an_ended_series_gives_its_open_chunk_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let mut want = Dump::new();
    let mut refs = [None; 2];
    // Series 0 has 40 samples when it ends, series 1 only 10 (a quarter of a chunk is 30).
    for k in 0..=40i64 {
        let mut app = h.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            if i == 1 && k > 10 {
                continue;
            }
            let end = k == 40 || (i == 1 && k == 10);
            let v = if end { stale_nan() } else { k as f64 };
            *r = Some(app.append(*r, &series(i), k * 1000, v).unwrap());
            want.entry(series(i).to_string())
                .or_default()
                .push((k * 1000, v.to_bits()));
        }
        app.commit().unwrap();
    }
    let state = |i: u32| {
        let s = h.series.get(i).unwrap();
        let d = s.lock();
        (d.open.is_some(), d.mmapped.len())
    };
    let (s0, s1) = (refs[0].unwrap().0 as u32, refs[1].unwrap().0 as u32);
    assert_eq!(state(s0), (false, 1), "the ended series' chunk is on disk");
    assert_eq!(state(s1), (true, 0), "a short chunk stays open");
    assert_eq!(dump(&h, i64::MIN, i64::MAX), want);
    // The series comes back: a new chunk, everything readable, also after a restart.
    let mut app = h.appender();
    app.append(refs[0], &series(0), 50_000, 5.0).unwrap();
    app.commit().unwrap();
    want.get_mut(&series(0).to_string())
        .unwrap()
        .push((50_000, 5f64.to_bits()));
    assert_eq!(state(s0), (true, 1));
    assert_eq!(dump(&h, i64::MIN, i64::MAX), want);
    h.close().unwrap();
    drop(h);
    let h = open(dir.path());
    assert_eq!(dump(&h, i64::MIN, i64::MAX), want);
}

#[test]
fn a_chunk_after_a_cut_starts_with_a_small_buffer() {
    // Noisy values make a full chunk of about a kilobyte; the chunk after it must not keep
    // that room for its first samples (memory per series is mostly open chunks).
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let mut r = None;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut held = Vec::new();
    for k in 0..125i64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut app = h.appender();
        r = Some(
            app.append(r, &series(0), k * 15_000, (x >> 11) as f64)
                .unwrap(),
        );
        app.commit().unwrap();
        let s = h.series.get(r.unwrap().0 as u32).unwrap();
        let d = s.lock();
        let app = &d.open.as_ref().expect("an open chunk").app;
        held.push((app.num_samples(), app.bytes().len(), app.allocated()));
    }
    let (n, len, cap) = held[119];
    assert!(
        n == 120 && len > 800 && cap >= len,
        "full chunk: {:?}",
        held[119]
    );
    let (n, len, cap) = held[124];
    assert!(
        n == 5 && cap < 2 * len + 64,
        "after the cut: {:?}",
        held[124]
    );
}

#[test]
fn a_selection_in_any_order_holds_what_the_sorted_one_holds() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    // Created from the highest label down, 0..3000 only early on: creation order is not
    // label order, and a time range leaves some series out.
    let hour = 3_600_000i64;
    for (ids, t) in [(0..6000, 0), (3000..6000, 3 * hour)] {
        let mut app = h.appender();
        for i in ids.rev() {
            app.append(None, &series(i), t, i as f64).unwrap();
        }
        app.commit().unwrap();
    }
    let name = [Matcher::new(MatchType::Equal, "__name__", "m").unwrap()];
    for mint in [i64::MIN, 2 * hour] {
        let sorted = h.select(&name, mint, i64::MAX).unwrap();
        let any = h.select_any_order(&name, mint, i64::MAX).unwrap();
        let first: Vec<&Labels> = any.iter().take(3).map(|s| &s.0).collect();
        assert_eq!(
            first,
            [&series(5999), &series(5998), &series(5997)],
            "creation order"
        );
        let mut any: Vec<(Labels, usize)> = any.into_iter().map(|(l, c)| (l, c.len())).collect();
        any.sort_by(|a, b| a.0.cmp(&b.0));
        let sorted: Vec<(Labels, usize)> = sorted.into_iter().map(|(l, c)| (l, c.len())).collect();
        assert!(any == sorted, "the same series and chunks from {mint}");
        assert_eq!(sorted.len(), if mint == i64::MIN { 6000 } else { 3000 });
    }
}

#[test]
fn packing_chunk_buffers_keeps_every_sample_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let mut want = Dump::new();
    let append = |h: &Arc<Head>, want: &mut Dump, from: i64, to: i64, every: usize| {
        for k in from..to {
            let mut app = h.appender();
            for i in (0..3000).step_by(every) {
                let v = (k * 7 + i as i64) as f64;
                app.append(None, &series(i), k * 15_000, v).unwrap();
                want.entry(series(i).to_string())
                    .or_default()
                    .push((k * 15_000, v.to_bits()));
            }
            app.commit().unwrap();
        }
    };
    // Every series gets a few samples, then a third of them many more: their buffers move
    // up through the classes and leave the smaller classes' slabs sparse.
    append(&h, &mut want, 0, 3, 1);
    append(&h, &mut want, 3, 60, 3);
    h.pack_open_chunks();
    assert_eq!(dump(&h, i64::MIN, i64::MAX), want);
    append(&h, &mut want, 60, 70, 1);
    h.pack_open_chunks();
    assert_eq!(dump(&h, i64::MIN, i64::MAX), want);
}

#[test]
fn chunks_are_cut_where_a_block_range_ends() {
    let dir = tempfile::tempdir().unwrap();
    let opts = HeadOptions {
        chunk_range_ms: 60_000,
        ..HeadOptions::default()
    };
    let h = Head::open(dir.path(), opts, &Registry::new(), i64::MIN).unwrap();
    // Every 15 s for five minutes (far fewer than 120 samples), and once more after a gap
    // of more than a range; negative times too.
    let times: Vec<i64> = (-8..20).map(|k| k * 15_000).chain([500_000]).collect();
    let mut r = None;
    for &t in &times {
        let mut app = h.appender();
        r = Some(app.append(r, &series(0), t, t as f64).unwrap());
        app.commit().unwrap();
    }
    let s = h.series.get(r.unwrap().0 as u32).unwrap();
    let chunks = h.series_chunks(&s, i64::MIN, i64::MAX).unwrap();
    let spans: Vec<(i64, i64)> = chunks.iter().map(|c| (c.mint, c.maxt)).collect();
    let mut want: Vec<(i64, i64)> = (-2..5).map(|m| (m * 60_000, m * 60_000 + 45_000)).collect();
    want.push((500_000, 500_000));
    assert_eq!(spans, want);
    assert_eq!(
        dump(&h, i64::MIN, i64::MAX)[&series(0).to_string()].len(),
        times.len()
    );
}
