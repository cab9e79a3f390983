use std::io::Write;

use model::Labels;
use proptest::prelude::*;

use super::*;

fn read_all(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let Some((a, b)) = segment_range(dir)? else {
        return Ok(Vec::new());
    };
    let mut r = WalReader::open(dir, a, b)?;
    let mut out = Vec::new();
    while let Some(rec) = r.next_record() {
        out.push(rec?.to_vec());
    }
    Ok(out)
}

fn rec(i: usize) -> Vec<u8> {
    // Sizes from 1 byte to well over a segment's worth of small records.
    let len = 1 + (i * 7919) % 5000;
    (0..len).map(|k| (i + k) as u8).collect()
}

#[test]
fn records_round_trip_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        dir.path(),
        WalOptions {
            segment_size: 64 << 10,
            sync: SyncPolicy::Never,
        },
        None,
    )
    .unwrap();
    let mut want = Vec::new();
    for i in 0..400 {
        let (a, b) = (rec(i), rec(i + 1000));
        wal.log(&[&a, &b]).unwrap();
        want.push(a);
        want.push(b);
    }
    let big = vec![7u8; 200 << 10]; // larger than a segment
    wal.log(&[&big]).unwrap();
    want.push(big);
    assert!(wal.log(&[b""]).is_err(), "empty records are refused");
    wal.close().unwrap();
    let (first, last) = segment_range(dir.path()).unwrap().unwrap();
    assert!(
        last > first + 5,
        "expected many segments, got {first}..={last}"
    );
    assert_eq!(read_all(dir.path()).unwrap(), want);
    // Reopening starts a new segment after the last one.
    let wal = Wal::open(dir.path(), WalOptions::default(), None).unwrap();
    assert_eq!(wal.segment_range().unwrap(), (first, last + 1));
    wal.truncate(last).unwrap();
    assert_eq!(segment_range(dir.path()).unwrap(), Some((last, last + 1)));
}

#[test]
fn concurrent_writers_with_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        dir.path(),
        WalOptions {
            segment_size: 256 << 10,
            sync: SyncPolicy::Always,
        },
        None,
    )
    .unwrap();
    std::thread::scope(|s| {
        for th in 0..4u8 {
            let wal = &wal;
            s.spawn(move || {
                for i in 0..200u32 {
                    let mut r = vec![th; 100];
                    r.extend_from_slice(&i.to_le_bytes());
                    wal.log(&[&r]).unwrap();
                }
            });
        }
    });
    wal.close().unwrap();
    let recs = read_all(dir.path()).unwrap();
    assert_eq!(recs.len(), 800);
    for th in 0..4u8 {
        let mine: Vec<u32> = recs
            .iter()
            .filter(|r| r[0] == th)
            .map(|r| {
                assert!(r[..100].iter().all(|b| *b == th), "interleaved record");
                u32::from_le_bytes(r[100..104].try_into().unwrap())
            })
            .collect();
        assert_eq!(mine, (0..200).collect::<Vec<u32>>());
    }
}

#[test]
fn torn_and_corrupt_tails_are_detected_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = Wal::open(dir.path(), WalOptions::default(), None).unwrap();
        for i in 0..50 {
            wal.log(&[&rec(i)]).unwrap();
        }
        wal.close().unwrap();
    }
    let (_, last) = segment_range(dir.path()).unwrap().unwrap();
    let seg = dir.path().join(segment_name(last));
    let full = fs::read(&seg).unwrap();
    let all = read_all(dir.path()).unwrap();
    let last_len = all.last().unwrap().len() + FRAME_HEADER;
    let mut cases: Vec<Vec<u8>> = (full.len() - last_len + 1..full.len())
        .step_by(13)
        .map(|c| full[..c].to_vec())
        .collect();
    let mut zeros = full.clone();
    zeros.extend_from_slice(&[0; 32 << 10]);
    cases.push(zeros);
    let mut flipped = full.clone();
    let n = flipped.len();
    flipped[n - 5] ^= 1;
    cases.push(flipped);
    for (k, case) in cases.into_iter().enumerate() {
        fs::write(&seg, &case).unwrap();
        let err = read_all(dir.path()).unwrap_err();
        let Error::Corruption { path, offset, .. } = &err else {
            panic!("case {k}: {err}")
        };
        assert_eq!(path, &seg);
        assert!(*offset as usize >= full.len() - last_len);
        repair(dir.path(), &err).unwrap();
        let got = read_all(dir.path()).unwrap();
        // A zero-filled tail after intact records keeps them all; any other damage here
        // hits the last record.
        let keep = if case.len() > full.len() { 50 } else { 49 };
        assert_eq!(got[..], all[..keep], "case {k}");
    }
    // A bad header: the whole segment goes, along with anything after it.
    let mut f = fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.write_all(b"XXXX").unwrap();
    let later = dir.path().join(segment_name(last + 1));
    fs::write(&later, b"VWAL\x01\0\0\0").unwrap();
    let err = read_all(dir.path()).unwrap_err();
    repair(dir.path(), &err).unwrap();
    assert!(!seg.exists() && !later.exists());
}

#[test]
fn checkpoint_keeps_live_series_and_recent_samples() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        dir.path(),
        WalOptions {
            segment_size: 8 << 10,
            sync: SyncPolicy::Never,
        },
        None,
    )
    .unwrap();
    let mut buf = Vec::new();
    for r in 0..10u64 {
        buf.clear();
        encode_series(
            &[RefSeries {
                r,
                labels: Labels::from_pairs([("__name__", "m".to_string()), ("i", r.to_string())]),
            }],
            &mut buf,
        );
        wal.log(&[&buf]).unwrap();
    }
    for t in 0..100i64 {
        buf.clear();
        let samples: Vec<RefSample> = (0..10u64)
            .map(|r| RefSample { r, t, v: t as f64 })
            .collect();
        encode_samples(&samples, &mut buf);
        wal.log(&[&buf]).unwrap();
    }
    let (first, last) = wal.segment_range().unwrap();
    wal.cut_segment().unwrap();
    // A leftover from an interrupted checkpoint is ignored and cleaned up.
    fs::create_dir_all(dir.path().join("checkpoint.00000000.tmp")).unwrap();
    let keep = |r: u64| r.is_multiple_of(2);
    let st = checkpoint(dir.path(), first, last, &keep, 50).unwrap();
    assert_eq!(st.kept_series, 5);
    assert_eq!(st.kept_samples, 5 * 50);
    wal.truncate(last + 1).unwrap();
    let (cp, n) = last_checkpoint(dir.path()).unwrap().unwrap();
    assert_eq!(n, last);
    assert!(!dir.path().join("checkpoint.00000000.tmp").exists());
    let mut dec = RecordDecoder::new();
    let (a, b) = segment_range(&cp).unwrap().unwrap();
    let mut r = WalReader::open(&cp, a, b).unwrap();
    let (mut series, mut samples) = (Vec::new(), Vec::new());
    let (mut s_out, mut x_out) = (Vec::new(), Vec::new());
    while let Some(rec) = r.next_record() {
        let rec = rec.unwrap();
        match record_type(rec) {
            Some(RecordType::Series) => {
                dec.series(rec, &mut s_out).unwrap();
                series.append(&mut s_out);
            }
            Some(RecordType::Samples) => {
                dec.samples(rec, &mut x_out).unwrap();
                samples.append(&mut x_out);
            }
            Some(RecordType::Tombstones) | None => panic!("unexpected record"),
        }
    }
    assert_eq!(
        series.iter().map(|s| s.r).collect::<Vec<_>>(),
        [0, 2, 4, 6, 8]
    );
    assert_eq!(samples.len(), 250);
    assert!(samples.iter().all(|s| s.t >= 50 && s.r % 2 == 0));
    // A second checkpoint folds in the first.
    buf.clear();
    encode_samples(
        &[RefSample {
            r: 2,
            t: 200,
            v: 1.0,
        }],
        &mut buf,
    );
    wal.log(&[&buf]).unwrap();
    let (_, last2) = wal.segment_range().unwrap();
    wal.cut_segment().unwrap();
    let only_two = |r: u64| r == 2;
    let st = checkpoint(dir.path(), last + 1, last2, &only_two, 60).unwrap();
    assert_eq!((st.kept_series, st.kept_samples), (1, 40 + 1));
    assert!(!cp.exists(), "the older checkpoint is deleted");
}

fn labels_strategy() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map("[a-z_]{1,8}", "\\PC{1,12}", 1..6).prop_map(Labels::from_pairs)
}

proptest! {
    #[test]
    fn series_records_round_trip(series in prop::collection::vec((any::<u64>(), labels_strategy()), 0..20)) {
        let input: Vec<RefSeries> = series.into_iter().map(|(r, labels)| RefSeries { r, labels }).collect();
        let mut buf = Vec::new();
        encode_series(&input, &mut buf);
        let mut out = Vec::new();
        RecordDecoder::new().series(&buf, &mut out).unwrap();
        prop_assert_eq!(out, input);
    }

    #[test]
    fn sample_records_round_trip(samples in prop::collection::vec((any::<u64>(), any::<i64>(), any::<u64>()), 0..200)) {
        let input: Vec<RefSample> = samples.into_iter().map(|(r, t, v)| RefSample { r, t, v: f64::from_bits(v) }).collect();
        let mut buf = Vec::new();
        encode_samples(&input, &mut buf);
        let mut out = Vec::new();
        RecordDecoder::new().samples(&buf, &mut out).unwrap();
        prop_assert_eq!(out.len(), input.len());
        for (a, b) in out.iter().zip(&input) {
            prop_assert_eq!((a.r, a.t, a.v.to_bits()), (b.r, b.t, b.v.to_bits()));
        }
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut dec = RecordDecoder::new();
        let _ = dec.series(&bytes, &mut Vec::new());
        let _ = dec.samples(&bytes, &mut Vec::new());
    }
}
