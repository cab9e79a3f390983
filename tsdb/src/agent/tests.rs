use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;

use model::metrics::Registry;
use model::{Error as SampleError, Labels, SeriesRef};

use super::*;
use crate::error::Error;
use crate::wal::{WalWatcher, WatchEvent, WatchStart};

const MIN: i64 = 60_000;

fn opts() -> AgentOptions {
    AgentOptions {
        min_wal_time_ms: 5 * MIN,
        max_wal_time_ms: 60 * MIN,
        ..AgentOptions::default()
    }
}

fn open(dir: &Path) -> Arc<AgentDb> {
    AgentDb::open(dir, opts(), &Registry::new()).unwrap()
}

fn lbl(name: &str, i: usize) -> Labels {
    Labels::from_pairs([("__name__", name.to_string()), ("i", i.to_string())])
}

/// Appends one sample for each of `series` at `t` in one batch.
fn scrape(db: &Arc<AgentDb>, series: &[Labels], t: i64, v: f64) {
    let mut a = db.appender();
    for l in series {
        a.append(None, l, t, v).unwrap();
    }
    a.commit().unwrap();
}

/// Every sample in the WAL as (labels, t, v), read as remote write reads it.
fn read_all(dir: &Path) -> Vec<(Labels, i64, f64)> {
    let mut w = WalWatcher::open(&dir.join("wal"), WatchStart::Oldest).unwrap();
    let mut names: HashMap<u64, Labels> = HashMap::new();
    let mut out = Vec::new();
    while let Some(ev) = w.next_event().unwrap() {
        match ev {
            WatchEvent::Series { series, .. } => {
                for s in series {
                    names.insert(s.r, s.labels.clone());
                }
            }
            WatchEvent::Samples { samples, .. } => {
                for s in samples {
                    let l = names.get(&s.r).expect("sample of a series the WAL defines");
                    out.push((l.clone(), s.t, s.v));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn samples_reach_the_wal_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<Labels> = (0..3).map(|i| lbl("up", i)).collect();
    {
        let db = open(dir.path());
        scrape(&db, &series, 1000, 1.0);
        scrape(&db, &series, 2000, 2.0);
        assert_eq!(db.num_series(), 3);
        assert_eq!(db.max_time(), 2000);
        db.close().unwrap();
    }
    let got = read_all(dir.path());
    assert_eq!(got.len(), 6);
    assert!(
        got.iter()
            .any(|(l, t, v)| *l == series[2] && *t == 2000 && *v == 2.0)
    );

    let db = open(dir.path());
    assert_eq!(db.num_series(), 3);
    assert_eq!(db.max_time(), 2000);
    let mut a = db.appender();
    // The last sample is known after the restart: older is refused, the same is a no-op, a
    // different value at the same time is refused.
    assert!(matches!(
        a.append(None, &series[0], 1500, 9.0),
        Err(SampleError::OutOfOrderSample)
    ));
    assert!(a.append(None, &series[0], 2000, 2.0).is_ok());
    assert!(matches!(
        a.append(None, &series[0], 2000, 3.0),
        Err(SampleError::DuplicateSampleForTimestamp)
    ));
    a.append(None, &series[0], 3000, 3.0).unwrap();
    a.commit().unwrap();
    db.close().unwrap();
    assert_eq!(read_all(dir.path()).len(), 7);
}

#[test]
fn references_skip_the_label_lookup_and_order_holds_within_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let l = lbl("x", 0);
    let mut a = db.appender();
    let r = a.append(None, &l, 10, 1.0).unwrap();
    assert_eq!(a.append(Some(r), &Labels::empty(), 20, 2.0).unwrap(), r);
    assert!(matches!(
        a.append(Some(r), &Labels::empty(), 15, 1.5),
        Err(SampleError::OutOfOrderSample)
    ));
    assert!(matches!(
        a.append(Some(SeriesRef(999_999)), &Labels::empty(), 20, 1.0),
        Err(SampleError::UnknownSeriesRef(_))
    ));
    // The store gives a series' labels back by reference (so a scrape cache need not keep
    // them), and none for a reference it does not know.
    assert_eq!(a.stored_labels(r), Some(l.clone()));
    assert_eq!(a.stored_labels(SeriesRef(999_999)), None);
    a.commit().unwrap();
    // A rolled back batch writes nothing.
    let mut b = db.appender();
    b.append(Some(r), &Labels::empty(), 30, 3.0).unwrap();
    b.rollback().unwrap();
    drop(b);
    db.close().unwrap();
    let got: Vec<i64> = read_all(dir.path()).iter().map(|s| s.1).collect();
    assert_eq!(got, vec![10, 20]);
}

#[test]
fn truncation_deletes_old_segments_and_stale_series_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let gone: Vec<Labels> = (0..50).map(|i| lbl("gone", i)).collect();
    let live: Vec<Labels> = (0..50).map(|i| lbl("live", i)).collect();
    let now = 100 * MIN;
    // Ten minutes ago both sets were scraped; then only `live`, in later segments.
    scrape(&db, &gone, now - 10 * MIN, 1.0);
    scrape(&db, &live, now - 10 * MIN, 1.0);
    db.wal.cut_segment().unwrap();
    scrape(&db, &live, now - MIN, 2.0);
    assert_eq!(db.num_series(), 100);

    let st = db.truncate(now, None).unwrap();
    // The first segment (samples 10 minutes old) goes; the one a minute old stays.
    assert_eq!(st.segments.map(|(_, l)| l), Some(0));
    assert_eq!(st.series_removed, 50);
    assert_eq!(db.num_series(), 50);
    // Live series were defined in the deleted segment: the checkpoint holds them.
    assert_eq!(st.series_kept, 50);

    // A dropped series that comes back is created again.
    scrape(&db, &gone[..1], now, 3.0);
    scrape(&db, &live, now, 3.0);
    db.close().unwrap();
    let got = read_all(dir.path());
    assert_eq!(got.len(), 50 + 1 + 50);
    assert!(got.iter().any(|(l, t, _)| *l == gone[0] && *t == now));
    assert!(!got.iter().any(|(_, t, _)| *t == now - 10 * MIN));

    // After a restart the same series are there, with their last samples.
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.num_series(), 51);
    let mut a = db.appender();
    assert!(matches!(
        a.append(None, &live[7], now - 1, 0.0),
        Err(SampleError::OutOfOrderSample)
    ));
}

#[test]
fn truncation_keeps_what_a_destination_has_not_sent_until_the_maximum_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let s = vec![lbl("m", 0)];
    let now = 1000 * MIN;
    for k in 0..4 {
        scrape(&db, &s, now - (40 - k) * MIN, k as f64);
        db.wal.cut_segment().unwrap();
    }
    // Segments 0..=3 hold samples 40..37 minutes old; the destination needs segment 1 on.
    let st = db.truncate(now, Some(1)).unwrap();
    assert_eq!(st.segments, Some((0, 0)));
    assert_eq!(st.unsent_segments, 0);
    assert_eq!(db.num_series(), 1);
    // Later, the same destination is still stuck at segment 1; segments older than the
    // maximum time (60 minutes) go anyway and are counted.
    let st = db.truncate(now + 23 * MIN, Some(1)).unwrap();
    assert_eq!(st.segments, Some((1, 2)));
    assert_eq!(st.unsent_segments, 2);
    assert_eq!(db.metrics.unsent_segments.get(), 2);
}

#[test]
fn a_batch_holding_a_dropped_series_defines_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let l = lbl("late", 0);
    let now = 100 * MIN;
    scrape(&db, std::slice::from_ref(&l), now - 30 * MIN, 1.0);
    // A batch finds the series, then truncation drops it before the batch commits.
    let mut a = db.appender();
    let r = a.append(None, &l, now, 2.0).unwrap();
    let st = db.truncate(now, None).unwrap();
    assert_eq!(st.series_removed, 1);
    a.commit().unwrap();
    db.close().unwrap();
    let got = read_all(dir.path());
    assert_eq!(got, vec![(l.clone(), now, 2.0)]);
    drop((a, db));
    let db = open(dir.path());
    assert_eq!(db.num_series(), 1);
    // The new definition has a new reference.
    let mut a = db.appender();
    assert_ne!(a.append(None, &l, now + 1, 3.0).unwrap(), r);
}

#[test]
fn memory_stays_flat_under_series_churn() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut peak = 0;
    // Each "hour", a fresh generation of 200 series is scraped every minute; truncation runs
    // every 10 minutes, as the daemon would.
    for minute in 0..600i64 {
        let generation = (minute / 60) as usize;
        let series: Vec<Labels> = (0..200)
            .map(|i| lbl("churn", generation * 1000 + i))
            .collect();
        scrape(&db, &series, minute * MIN, minute as f64);
        if minute % 10 == 9 {
            db.truncate(minute * MIN, None).unwrap();
        }
        peak = peak.max(db.num_series());
    }
    // At most the current generation and the one before it (still inside the minimum time).
    assert!(peak <= 400, "peak {peak}");
    assert!(db.segment_max.lock().len() <= 3);
    let (first, last) = db.wal.segment_range().unwrap();
    assert!(last - first <= 2, "segments {first}..={last}");
}

#[test]
fn a_damaged_tail_is_cut_and_everything_before_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s: Vec<Labels> = (0..5).map(|i| lbl("d", i)).collect();
    {
        let db = open(dir.path());
        scrape(&db, &s, 1000, 1.0);
        scrape(&db, &s, 2000, 2.0);
        db.close().unwrap();
    }
    // Garbage after the last frame, as a crash mid-write could leave.
    let seg = dir.path().join("wal").join("00000000");
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0x55; 11]).unwrap();
    drop(f);
    let reg = Registry::new();
    let db = AgentDb::open(dir.path(), opts(), &reg).unwrap();
    assert_eq!(db.metrics.corruptions.get(), 1);
    assert_eq!(db.num_series(), 5);
    assert_eq!(db.max_time(), 2000);
    scrape(&db, &s, 3000, 3.0);
    db.close().unwrap();
    assert_eq!(read_all(dir.path()).len(), 15);
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _db = open(dir.path());
    assert!(matches!(
        AgentDb::open(dir.path(), opts(), &Registry::new()),
        Err(Error::Locked(_))
    ));
}
