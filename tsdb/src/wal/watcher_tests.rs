use std::fs::OpenOptions;
use std::io::Write;

use model::Labels;

use super::*;
use crate::wal::{
    SyncPolicy, Wal, WalOptions, checkpoint, encode_samples, encode_series, encode_tombstones,
};

/// An owned copy of an event.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Series(Vec<u64>, u32),
    Samples(Vec<(u64, i64)>, WalPosition),
    Tombstones(Vec<(u64, i64, i64)>),
    Checkpoint(u32, bool),
    Skipped(WalPosition, WalPosition, SkipReason),
    Rewound(WalPosition, WalPosition),
}

fn drain(w: &mut WalWatcher) -> Vec<Ev> {
    let mut out = Vec::new();
    while let Some(ev) = w.next_event().unwrap() {
        out.push(match ev {
            WatchEvent::Series { series, segment } => {
                Ev::Series(series.iter().map(|s| s.r).collect(), segment)
            }
            WatchEvent::Samples { samples, end } => {
                Ev::Samples(samples.iter().map(|s| (s.r, s.t)).collect(), end)
            }
            WatchEvent::Tombstones { tombstones, .. } => {
                Ev::Tombstones(tombstones.iter().map(|t| (t.r, t.mint, t.maxt)).collect())
            }
            WatchEvent::CheckpointRead { checkpoint, reset } => Ev::Checkpoint(checkpoint, reset),
            WatchEvent::Skipped { from, to, reason } => Ev::Skipped(from, to, reason),
            WatchEvent::Rewound { from, to } => Ev::Rewound(from, to),
        });
    }
    out
}

fn samples_of(evs: &[Ev]) -> Vec<(u64, i64)> {
    evs.iter()
        .flat_map(|e| match e {
            Ev::Samples(s, _) => s.clone(),
            _ => vec![],
        })
        .collect()
}

fn series_of(evs: &[Ev]) -> Vec<u64> {
    let mut v: Vec<u64> = evs
        .iter()
        .flat_map(|e| match e {
            Ev::Series(s, _) => s.clone(),
            _ => vec![],
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn small_wal(dir: &Path) -> Wal {
    Wal::open(
        dir,
        WalOptions {
            segment_size: 4 << 10,
            sync: SyncPolicy::Never,
        },
        None,
    )
    .unwrap()
}

fn series_rec(refs: &[u64]) -> Vec<u8> {
    let series: Vec<RefSeries> = refs
        .iter()
        .map(|r| RefSeries {
            r: *r,
            labels: Labels::from_pairs([("__name__", "m".to_string()), ("i", r.to_string())]),
        })
        .collect();
    let mut b = Vec::new();
    encode_series(&series, &mut b);
    b
}

fn samples_rec(refs: &[u64], t: i64) -> Vec<u8> {
    let s: Vec<RefSample> = refs
        .iter()
        .map(|r| RefSample {
            r: *r,
            t,
            v: t as f64,
        })
        .collect();
    let mut b = Vec::new();
    encode_samples(&s, &mut b);
    b
}

/// Series 1..=10 defined, then `n` sample records (one sample per series) at t = from..
fn write_samples(wal: &Wal, from: i64, n: i64) {
    let refs: Vec<u64> = (1..=10).collect();
    for t in from..from + n {
        wal.log(&[&samples_rec(&refs, t)]).unwrap();
    }
}

fn want(from: i64, n: i64) -> Vec<(u64, i64)> {
    (from..from + n)
        .flat_map(|t| (1..=10).map(move |r| (r, t)))
        .collect()
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    f.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    f.extend_from_slice(payload);
    f
}

fn header() -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&[VERSION, 0, 0, 0]);
    h
}

#[test]
fn follows_segments_as_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let wal = small_wal(dir.path());
    let mut w = WalWatcher::open(dir.path(), WatchStart::Oldest).unwrap();
    assert!(drain(&mut w).is_empty());
    wal.log(&[&series_rec(&(1..=10).collect::<Vec<_>>())])
        .unwrap();
    let mut evs = Vec::new();
    for k in 0..20 {
        write_samples(&wal, k * 25, 25);
        evs.extend(drain(&mut w));
    }
    let (_, last) = wal.segment_range().unwrap();
    assert!(last > 10, "expected many segments, got {last}");
    assert_eq!(series_of(&evs), (1..=10).collect::<Vec<_>>());
    assert_eq!(samples_of(&evs), want(0, 500));
    // Positions only go forward and each one ends a frame.
    let ends: Vec<WalPosition> = evs
        .iter()
        .filter_map(|e| match e {
            Ev::Samples(_, end) => Some(*end),
            _ => None,
        })
        .collect();
    assert!(ends.windows(2).all(|p| p[0].is_before(&p[1])));
    assert!(ends.iter().all(|p| p.frame_crc.is_some()));
    assert_eq!(w.position(), *ends.last().unwrap());
}

#[test]
fn end_start_reads_old_records_for_series_only() {
    let dir = tempfile::tempdir().unwrap();
    let wal = small_wal(dir.path());
    wal.log(&[&series_rec(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])])
        .unwrap();
    write_samples(&wal, 0, 100);
    let mut w = WalWatcher::open(dir.path(), WatchStart::End).unwrap();
    let (_, last) = wal.segment_range().unwrap();
    let size = std::fs::metadata(dir.path().join(segment_name(last)))
        .unwrap()
        .len();
    assert_eq!(
        w.start_position(),
        WalPosition {
            segment: last,
            offset: size,
            frame_crc: None
        }
    );
    let evs = drain(&mut w);
    assert_eq!(series_of(&evs), (1..=10).collect::<Vec<_>>());
    assert!(samples_of(&evs).is_empty());
    write_samples(&wal, 100, 30);
    assert_eq!(samples_of(&drain(&mut w)), want(100, 30));
}

#[test]
fn resumes_after_a_position_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut pos = None;
    {
        let wal = small_wal(dir.path());
        wal.log(&[&series_rec(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])])
            .unwrap();
        write_samples(&wal, 0, 200);
        let mut w = WalWatcher::open(dir.path(), WatchStart::Oldest).unwrap();
        let evs = drain(&mut w);
        // The position after the 120th samples record.
        let mut n = 0;
        for e in &evs {
            if let Ev::Samples(_, end) = e {
                n += 1;
                if n == 120 {
                    pos = Some(*end);
                }
            }
        }
        wal.close().unwrap();
    }
    let pos = pos.unwrap();
    // A new process: a new segment after the old ones.
    let wal = small_wal(dir.path());
    write_samples(&wal, 200, 50);
    let mut w = WalWatcher::open(dir.path(), WatchStart::After(pos)).unwrap();
    assert_eq!(w.start_position(), pos);
    let evs = drain(&mut w);
    assert_eq!(series_of(&evs), (1..=10).collect::<Vec<_>>());
    assert_eq!(samples_of(&evs), want(120, 130));
    assert!(
        !evs.iter()
            .any(|e| matches!(e, Ev::Skipped(..) | Ev::Rewound(..)))
    );
}

#[test]
fn a_position_in_a_segment_written_again_rewinds_to_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let seg = dir.path().join(segment_name(0));
    let mut bytes = header();
    bytes.extend(frame(&series_rec(&[1])));
    bytes.extend(frame(&samples_rec(&[1], 10)));
    std::fs::write(&seg, &bytes).unwrap();
    let mut w = WalWatcher::open(dir.path(), WatchStart::Oldest).unwrap();
    let evs = drain(&mut w);
    let Some(Ev::Samples(_, pos)) = evs.last().cloned() else {
        panic!("{evs:?}")
    };
    // After a crash the segment's tail is cut and different records are written where the
    // position pointed.
    let mut again = header();
    again.extend(frame(&series_rec(&[1])));
    again.extend(frame(&samples_rec(&[1], 11)));
    again.extend(frame(&samples_rec(&[1], 12)));
    assert_eq!(
        again.len(),
        bytes.len() + frame(&samples_rec(&[1], 12)).len()
    );
    std::fs::write(&seg, &again).unwrap();
    std::fs::write(dir.path().join(segment_name(1)), header()).unwrap();
    let mut w = WalWatcher::open(dir.path(), WatchStart::After(pos)).unwrap();
    let evs = drain(&mut w);
    assert!(
        evs.contains(&Ev::Rewound(pos, WalPosition::segment_start(0))),
        "{evs:?}"
    );
    assert_eq!(samples_of(&evs), vec![(1, 11), (1, 12)]);
    // A position in the middle of a frame also rewinds.
    let mid = WalPosition {
        offset: pos.offset - 3,
        ..pos
    };
    let evs = drain(&mut WalWatcher::open(dir.path(), WatchStart::After(mid)).unwrap());
    assert!(
        evs.contains(&Ev::Rewound(mid, WalPosition::segment_start(0))),
        "{evs:?}"
    );
    // And an intact position does not.
    let good = WalPosition {
        frame_crc: Some(crc32c::crc32c(&samples_rec(&[1], 11))),
        ..pos
    };
    let evs = drain(&mut WalWatcher::open(dir.path(), WatchStart::After(good)).unwrap());
    assert_eq!(samples_of(&evs), vec![(1, 12)], "{evs:?}");
}

#[test]
fn deleted_segments_are_reported_and_their_series_come_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let wal = small_wal(dir.path());
    wal.log(&[&series_rec(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])])
        .unwrap();
    write_samples(&wal, 0, 20);
    // A watcher that reads a little, then lags.
    let mut lagging = WalWatcher::open(dir.path(), WatchStart::Oldest).unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let e = drain_one(&mut lagging).unwrap();
        seen.push(e);
    }
    let pos = lagging.position();
    write_samples(&wal, 20, 200);
    let (first, last) = wal.segment_range().unwrap();
    assert!(last > first + 4);
    // Truncation: everything up to `last - 1` goes into a checkpoint and is deleted.
    wal.cut_segment().unwrap();
    checkpoint(dir.path(), first, last, &|_| true, i64::MIN).unwrap();
    wal.truncate(last + 1).unwrap();
    write_samples(&wal, 220, 10);

    // A new watcher resuming from the old position.
    let mut w = WalWatcher::open(dir.path(), WatchStart::After(pos)).unwrap();
    let evs = drain(&mut w);
    let Some(Ev::Skipped(from, to, SkipReason::Deleted { segments })) = evs.first().cloned() else {
        panic!("{evs:?}")
    };
    assert_eq!((from, to), (pos, WalPosition::segment_start(last + 1)));
    assert_eq!(segments, last + 1 - pos.segment);
    assert!(evs.contains(&Ev::Checkpoint(last, true)), "{evs:?}");
    assert_eq!(series_of(&evs), (1..=10).collect::<Vec<_>>());
    assert_eq!(samples_of(&evs), want(220, 10));

    // The lagging watcher still reads the segment it had open, then reports the gap and
    // reads the checkpoint's series before going on.
    let evs = drain(&mut lagging);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Ev::Skipped(_, to, SkipReason::Deleted { .. }) if *to == WalPosition::segment_start(last + 1))),
        "{evs:?}"
    );
    assert!(
        evs.iter()
            .any(|e| matches!(e, Ev::Checkpoint(n, _) if *n == last))
    );
    let got = samples_of(&evs);
    assert_eq!(&got[got.len() - 100..], &want(220, 10)[..]);
}

fn drain_one(w: &mut WalWatcher) -> Option<Ev> {
    w.next_event().unwrap().map(|ev| match ev {
        WatchEvent::Series { series, segment } => {
            Ev::Series(series.iter().map(|s| s.r).collect(), segment)
        }
        WatchEvent::Samples { samples, end } => {
            Ev::Samples(samples.iter().map(|s| (s.r, s.t)).collect(), end)
        }
        other => panic!("unexpected {other:?}"),
    })
}

#[test]
fn a_checkpoint_written_behind_the_reader_resets_series() {
    let dir = tempfile::tempdir().unwrap();
    let wal = small_wal(dir.path());
    wal.log(&[&series_rec(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])])
        .unwrap();
    write_samples(&wal, 0, 50);
    let mut w = WalWatcher::open(dir.path(), WatchStart::Oldest).unwrap();
    assert_eq!(samples_of(&drain(&mut w)), want(0, 50));
    let (first, last) = wal.segment_range().unwrap();
    wal.cut_segment().unwrap();
    // Series 6..=10 are gone from the head.
    checkpoint(dir.path(), first, last, &|r| r <= 5, i64::MIN).unwrap();
    wal.truncate(last + 1).unwrap();
    write_samples(&wal, 50, 1);
    let evs = drain(&mut w);
    assert!(
        evs.contains(&Ev::Series(vec![1, 2, 3, 4, 5], last)),
        "{evs:?}"
    );
    assert!(evs.contains(&Ev::Checkpoint(last, true)), "{evs:?}");
    assert_eq!(samples_of(&evs), want(50, 1));
    assert!(!evs.iter().any(|e| matches!(e, Ev::Skipped(..))));
}

#[test]
fn partial_frames_of_the_live_segment_are_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let seg = dir.path().join(segment_name(3));
    // A segment being created: empty at first.
    std::fs::write(&seg, b"").unwrap();
    let mut w = WalWatcher::open(dir.path(), WatchStart::Oldest).unwrap();
    assert!(drain(&mut w).is_empty());
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&header()[..5]).unwrap();
    assert!(drain(&mut w).is_empty());
    f.write_all(&header()[5..]).unwrap();
    f.write_all(&frame(&series_rec(&[7]))).unwrap();
    assert!(drain(&mut w).contains(&Ev::Series(vec![7], 3)));
    let rec = frame(&samples_rec(&[7], 5));
    let mut at = 0;
    for cut in [3, 9, rec.len() - 1] {
        f.write_all(&rec[at..cut]).unwrap();
        at = cut;
        let evs = drain(&mut w);
        assert!(evs.is_empty(), "{evs:?}");
    }
    f.write_all(&rec[at..]).unwrap();
    assert_eq!(samples_of(&drain(&mut w)), vec![(7, 5)]);
}

#[test]
fn a_torn_tail_of_a_completed_segment_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut s0 = header();
    s0.extend(frame(&series_rec(&[1])));
    s0.extend(frame(&samples_rec(&[1], 1)));
    let good = s0.len() as u64;
    s0.extend(&frame(&samples_rec(&[1], 2))[..7]);
    std::fs::write(dir.path().join(segment_name(0)), &s0).unwrap();
    let mut w = WalWatcher::open(dir.path(), WatchStart::Oldest).unwrap();
    // While it is the newest segment, the torn frame may still be completed.
    assert_eq!(samples_of(&drain(&mut w)), vec![(1, 1)]);
    let mut s1 = header();
    s1.extend(frame(&samples_rec(&[1], 3)));
    let mut stones = Vec::new();
    encode_tombstones(
        &[RefTombstone {
            r: 1,
            mint: 0,
            maxt: 1,
        }],
        &mut stones,
    );
    s1.extend(frame(&stones));
    std::fs::write(dir.path().join(segment_name(1)), &s1).unwrap();
    let evs = drain(&mut w);
    assert!(
        matches!(&evs[0], Ev::Skipped(from, to, SkipReason::Damaged(_))
            if from.offset == good && *to == WalPosition::segment_start(1)),
        "{evs:?}"
    );
    assert_eq!(samples_of(&evs), vec![(1, 3)]);
    assert_eq!(evs.last(), Some(&Ev::Tombstones(vec![(1, 0, 1)])));
}

#[test]
fn a_position_beyond_the_wal_starts_at_the_oldest_segment() {
    let dir = tempfile::tempdir().unwrap();
    let wal = small_wal(dir.path());
    wal.log(&[&series_rec(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])])
        .unwrap();
    write_samples(&wal, 0, 3);
    let beyond = WalPosition {
        segment: 99,
        offset: 100,
        frame_crc: Some(1),
    };
    let evs = drain(&mut WalWatcher::open(dir.path(), WatchStart::After(beyond)).unwrap());
    assert!(
        matches!(&evs[0], Ev::Skipped(from, _, SkipReason::BeyondEnd) if *from == beyond),
        "{evs:?}"
    );
    assert_eq!(samples_of(&evs), want(0, 3));
}

#[test]
fn reads_while_another_thread_writes() {
    let dir = tempfile::tempdir().unwrap();
    let wal = small_wal(dir.path());
    wal.log(&[&series_rec(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])])
        .unwrap();
    let mut w = WalWatcher::open(dir.path(), WatchStart::Oldest).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let got = std::thread::scope(|s| {
        s.spawn(|| {
            for t in 0..3000 {
                wal.log(&[&samples_rec(&(1..=10).collect::<Vec<_>>(), t)])
                    .unwrap();
                if t % 500 == 0 {
                    wal.cut_segment().unwrap();
                }
            }
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        let mut got = Vec::new();
        loop {
            let finished = done.load(std::sync::atomic::Ordering::Acquire);
            let evs = drain(&mut w);
            assert!(
                !evs.iter()
                    .any(|e| matches!(e, Ev::Skipped(..) | Ev::Rewound(..))),
                "{evs:?}"
            );
            got.extend(samples_of(&evs));
            if finished && evs.is_empty() {
                break got;
            }
        }
    });
    assert_eq!(got, want(0, 3000));
}
