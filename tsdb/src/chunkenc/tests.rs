use model::{SampleIterator, stale_nan};
use proptest::prelude::*;

use super::*;

fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut a = XorAppender::new();
    for &(t, v) in samples {
        a.append(t, v);
        // The bytes are a complete chunk after every append.
        assert_eq!(num_samples(Encoding::Xor, a.bytes()), a.num_samples());
    }
    a.into_bytes()
}

fn decode(chunk: &[u8]) -> Vec<(i64, u64)> {
    let mut it = XorIterator::new(chunk);
    let mut out = Vec::new();
    while it.next() {
        let (t, v) = it.at();
        out.push((t, v.to_bits()));
    }
    assert!(it.err().is_none(), "{:?}", it.err());
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    decode_all(chunk, &mut ts, &mut vs).unwrap();
    let bulk: Vec<(i64, u64)> = ts.into_iter().zip(vs.iter().map(|v| v.to_bits())).collect();
    assert_eq!(bulk, out);
    out
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

#[test]
fn special_values_round_trip_bit_exactly() {
    let vals = [
        0.0,
        -0.0,
        f64::NAN,
        f64::from_bits(0x7ff8_0000_dead_beef),
        f64::from_bits(0xfff0_0000_0000_0001),
        stale_nan(),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 3.0,
        f64::MAX,
        f64::MIN,
        1.0,
        1.0,
    ];
    let samples: Vec<(i64, f64)> = vals
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64 * 15_000, *v))
        .collect();
    assert_eq!(decode(&encode(&samples)), bits(&samples));
}

#[test]
fn extreme_timestamps_round_trip() {
    let samples = [
        (i64::MIN, 1.0),
        (-1, 2.0),
        (0, 3.0),
        (1, 4.0),
        (i64::MAX - 1, 5.0),
        (i64::MAX, 6.0),
    ];
    assert_eq!(decode(&encode(&samples)), bits(&samples));
    // Every delta-of-delta bucket boundary.
    let mut t = 0i64;
    let mut samples = vec![(0, 0.0), (1000, 0.0)];
    let mut delta = 1000i64;
    for dod in [
        0,
        1,
        -1,
        8191,
        8192,
        8193,
        -8191,
        -8192,
        65536,
        65537,
        -65535,
        -65536,
        524288,
        524289,
        -524287,
        -524288,
        1 << 40,
    ] {
        delta += dod;
        t = samples.last().unwrap().0;
        samples.push((t + delta, dod as f64));
    }
    let _ = t;
    assert_eq!(decode(&encode(&samples)), bits(&samples));
}

#[test]
fn realistic_series_compress_well() {
    let mut samples = Vec::new();
    let mut v = 1e6;
    for k in 0..120i64 {
        v += (k % 7) as f64;
        samples.push((1_700_000_000_000 + k * 15_000 + (k % 3), v));
    }
    let chunk = encode(&samples);
    assert_eq!(decode(&chunk), bits(&samples));
    assert!(
        chunk.len() < 120 * 3,
        "{} bytes for 120 samples",
        chunk.len()
    );
    let constant: Vec<(i64, f64)> = (0..120).map(|k| (k * 15_000, 42.0)).collect();
    assert!(
        encode(&constant).len() < 48,
        "{} bytes",
        encode(&constant).len()
    );
}

#[test]
fn seek_and_reset() {
    let samples: Vec<(i64, f64)> = (0..100).map(|k| (k * 10, k as f64)).collect();
    let chunk = encode(&samples);
    let mut it = XorIterator::new(chunk.as_slice());
    assert!(it.seek(55));
    assert_eq!(it.at(), (60, 6.0));
    assert!(it.seek(10)); // never backwards
    assert_eq!(it.at().0, 60);
    assert!(it.next());
    assert_eq!(it.at().0, 70);
    assert!(!it.seek(10_000));
    let other = encode(&[(5, 5.0)]);
    it.reset(other.as_slice());
    assert!(it.next());
    assert_eq!(it.at(), (5, 5.0));
    assert!(!it.next());
    let mut a = XorAppender::new();
    a.append(1, 1.0);
    a.reset();
    a.append(7, 7.0);
    assert_eq!(decode(a.bytes()), vec![(7, 7f64.to_bits())]);
}

#[test]
fn an_appender_keeps_little_spare_room() {
    // A head holds one open chunk per series, so spare room is memory per series. A buffer
    // grows to the next size class that fits the worst-case sample (20 bytes), classes about
    // a third apart from a start of 40 bytes, which stays within the bound checked here: the
    // worst-case sample, the length (at least 32 bytes) and 15.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for noisy in [false, true] {
        let mut a = XorAppender::new();
        assert_eq!(a.allocated(), 40);
        for k in 0..120i64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            let v = if noisy {
                (x >> 11) as f64 / 7.0
            } else {
                k as f64
            };
            a.append(k * 15_000 + (x >> 60) as i64, v);
            let (len, cap) = (a.bytes().len(), a.allocated());
            assert!(
                cap - len <= 20 + 32.max(len) + 15,
                "noisy {noisy}: {cap} bytes held for {len}"
            );
        }
    }
}

#[test]
fn a_snapshot_with_extra_bytes_stops_at_the_count() {
    let mut a = XorAppender::new();
    for k in 0..10 {
        a.append(k, k as f64);
    }
    let mut snap = a.bytes().to_vec();
    snap[1] = 4; // header says 4
    assert_eq!(decode(&snap).len(), 4);
}

#[test]
fn damaged_chunks_report_errors_without_panicking() {
    let samples: Vec<(i64, f64)> = (0..120)
        .map(|k| (k * 15_000 + k % 5, (k * k) as f64 * 0.1))
        .collect();
    let chunk = encode(&samples);
    for cut in 0..chunk.len() {
        let part = &chunk[..cut];
        let mut it = XorIterator::new(part);
        let mut n = 0;
        while it.next() {
            n += 1;
        }
        if cut > 0 {
            assert!(
                it.err().is_some(),
                "cut at {cut} not detected ({n} samples)"
            );
            let (mut ts, mut vs) = (Vec::new(), Vec::new());
            let e = decode_all(part, &mut ts, &mut vs).unwrap_err();
            assert!(e.is_corruption());
        }
    }
    // Flipped bits: never a panic; timestamps stay increasing or an error is reported.
    for i in 2..chunk.len() {
        for bit in 0..8 {
            let mut c = chunk.clone();
            c[i] ^= 1 << bit;
            let mut it = XorIterator::new(c.as_slice());
            let mut last = i64::MIN;
            while it.next() {
                assert!(it.at().0 > last);
                last = it.at().0;
            }
        }
    }
}

fn series_strategy() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let value = prop_oneof![
        any::<f64>(),
        any::<u64>().prop_map(f64::from_bits),
        (0i64..1000).prop_map(|v| v as f64),
        Just(stale_nan()),
    ];
    (
        any::<i64>(),
        prop::collection::vec((1i64..1_000_000_000, value), 1..300),
    )
        .prop_map(|(start, steps)| {
            let mut t = start / 2;
            steps
                .into_iter()
                .filter_map(|(d, v)| {
                    t = t.checked_add(d)?;
                    Some((t, v))
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn round_trips(samples in series_strategy()) {
        prop_assert_eq!(decode(&encode(&samples)), bits(&samples));
    }

    #[test]
    fn counters_with_jitter_round_trip(start in 0i64..1i64 << 42, jitter in prop::collection::vec(-20i64..20, 1..250), step in 1i64..60_000) {
        let mut v = 0.0;
        let samples: Vec<(i64, f64)> = jitter.iter().enumerate().map(|(k, j)| {
            v += (*j as f64).abs();
            (start + k as i64 * (step + 40) + j, v)
        }).collect();
        prop_assert_eq!(decode(&encode(&samples)), bits(&samples));
    }
}

// The column encoding.

fn columns(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_columns(samples, &mut out);
    assert_eq!(num_samples(Encoding::Columns, &out), samples.len());
    out
}

/// Every sample of a column chunk, through the iterator, `seek` and the bulk decoder (all
/// three must agree).
fn decode_columns(chunk: &[u8]) -> Vec<(i64, u64)> {
    let mut it = ChunkIterator::new(Encoding::Columns, chunk);
    let mut out = Vec::new();
    while it.next() {
        let (t, v) = it.at();
        out.push((t, v.to_bits()));
    }
    assert!(it.err().is_none(), "{:?}", it.err());
    let mut bulk = Vec::new();
    decode_range(Encoding::Columns, chunk, i64::MIN, i64::MAX, &mut bulk).unwrap();
    assert_eq!(bits(&bulk), out);
    if let Some(&(t, _)) = out.get(out.len() / 2) {
        let mut it = ChunkIterator::new(Encoding::Columns, chunk);
        assert!(it.seek(t));
        assert_eq!(it.at().0, t);
    }
    out
}

#[test]
fn columns_round_trip_special_values_bit_exactly() {
    let vals = [
        0.0,
        -0.0,
        f64::NAN,
        stale_nan(),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 3.0,
        f64::MAX,
        1.0,
    ];
    let samples: Vec<(i64, f64)> = vals
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64 * 15_000 - 40_000, *v))
        .collect();
    let chunk = columns(&samples);
    assert_eq!(chunk[chunk.len() - 8 * vals.len() - 1], 0, "XOR kind");
    assert_eq!(decode_columns(&chunk), bits(&samples));
}

#[test]
fn columns_store_decimals_as_mantissa_differences() {
    // Counters of whole numbers: one byte per value before compression.
    let counter: Vec<(i64, f64)> = (0..120)
        .map(|i| (1_700_000_000_000 + i * 15_000 + i % 3, 1e9 + (i * 7) as f64))
        .collect();
    let chunk = columns(&counter);
    assert_eq!(decode_columns(&chunk), bits(&counter));
    assert!(chunk.len() < 120 * 2 + 16, "{} bytes", chunk.len());
    // Decimals with up to three places, negative ones among them, and whole numbers
    // beyond 2^53 (which take the XOR form, since no mantissa holds them exactly).
    for vals in [
        vec![0.1, 0.25, -3.125, 100.0, 0.001],
        vec![1e15 + 0.5, 2.0],
        vec![9_007_199_254_740_993.0, 1.0],
        vec![0.1 + 0.2, 1.0],
        vec![1e-12, 2e-12, 123_456.789_012],
    ] {
        let samples: Vec<(i64, f64)> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| (i as i64 * 1000, *v))
            .collect();
        assert_eq!(
            decode_columns(&columns(&samples)),
            bits(&samples),
            "{vals:?}"
        );
    }
}

#[test]
fn damaged_column_chunks_are_errors_not_panics() {
    let samples: Vec<(i64, f64)> = (0..50).map(|i| (i * 1000, i as f64 * 0.5)).collect();
    let chunk = columns(&samples);
    for cut in 0..chunk.len() {
        let part = &chunk[..cut];
        let mut it = ChunkIterator::new(Encoding::Columns, part);
        let mut n = 0;
        while it.next() {
            n += 1;
        }
        assert!(n < samples.len());
        if cut > 0 {
            assert!(it.err().is_some(), "cut at {cut}");
            let mut out = Vec::new();
            assert!(decode_range(Encoding::Columns, part, 0, i64::MAX, &mut out).is_err());
        }
    }
    // An unknown value kind.
    let mut bad = chunk.clone();
    let kind_at = 2 + bad[1] as usize;
    bad[kind_at] = 9;
    assert!(decode_range(Encoding::Columns, &bad, 0, i64::MAX, &mut Vec::new()).is_err());
}

proptest! {
    #[test]
    fn columns_round_trip_anything(
        start in any::<i32>(),
        steps in proptest::collection::vec(1i64..100_000, 1..200),
        values in proptest::collection::vec(
            prop_oneof![
                any::<u64>().prop_map(f64::from_bits),
                (-1_000_000i64..1_000_000, 0u32..4).prop_map(|(m, e)| m as f64 / 10f64.powi(e as i32)),
                any::<i32>().prop_map(f64::from),
            ],
            200,
        ),
    ) {
        let mut t = start as i64;
        let samples: Vec<(i64, f64)> = steps.iter().zip(&values).map(|(s, v)| { t += s; (t, *v) }).collect();
        prop_assert_eq!(decode_columns(&columns(&samples)), bits(&samples));
    }

    #[test]
    fn column_decoder_survives_garbage(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut it = ChunkIterator::new(Encoding::Columns, &data[..]);
        let mut n = 0;
        let mut last = None;
        while it.next() {
            n += 1;
            prop_assert!(last.is_none_or(|l| it.at().0 > l), "timestamps must increase");
            last = Some(it.at().0);
        }
        prop_assert!(n <= data.len());
        let _ = decode_range(Encoding::Columns, &data, i64::MIN, i64::MAX, &mut Vec::new());
    }
}

#[test]
fn an_appender_reads_its_first_time_back_from_the_stream() {
    let mut a = XorAppender::new();
    assert_eq!(a.first_time(), 0);
    for t0 in [
        0,
        1,
        -1,
        63,
        -64,
        1_700_000_000_000,
        -5_000_000_000_000,
        i64::MAX / 2,
        i64::MIN / 2,
    ] {
        a.reset();
        a.append(t0, 1.5);
        assert_eq!(a.first_time(), t0);
        for k in 1..200 {
            a.append(t0 + k * 15_000, k as f64);
        }
        assert_eq!((a.first_time(), a.last_time()), (t0, t0 + 199 * 15_000));
    }
    a.reset();
    assert_eq!(a.first_time(), 0);
}
