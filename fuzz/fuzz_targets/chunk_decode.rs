//! Both chunk decoders (XOR and columns) on arbitrary bytes: never a panic or an
//! out-of-bounds read; the iterator and the bulk decoders agree on every sample they both
//! return; a failure is a corruption error; timestamps come out strictly increasing or the
//! chunk is reported bad.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::SampleIterator;
use tsdb::chunkenc::{ChunkIterator, Encoding, XorIterator, decode_all, decode_range};

fuzz_target!(|data: &[u8]| {
    let mut it = XorIterator::new(data);
    let mut iterated = Vec::new();
    while it.next() {
        iterated.push(it.at());
    }
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    match decode_all(data, &mut ts, &mut vs) {
        Ok(()) => {
            assert!(it.err().is_none());
            assert_eq!(ts.len(), iterated.len());
            for (i, (t, v)) in iterated.iter().enumerate() {
                assert_eq!(ts[i], *t);
                assert_eq!(vs[i].to_bits(), v.to_bits());
            }
        }
        Err(e) => assert!(e.is_corruption(), "unexpected error kind: {e}"),
    }

    let mut it = ChunkIterator::new(Encoding::Columns, data);
    let mut iterated = Vec::new();
    while it.next() {
        if let Some(&(last, _)) = iterated.last() {
            assert!(it.at().0 > last);
        }
        iterated.push(it.at());
    }
    let mut bulk = Vec::new();
    let res = decode_range(Encoding::Columns, data, i64::MIN, i64::MAX, &mut bulk);
    assert_eq!(res.is_ok(), it.err().is_none());
    assert_eq!(bulk.len(), iterated.len());
    for (a, b) in bulk.iter().zip(&iterated) {
        assert_eq!((a.0, a.1.to_bits()), (b.0, b.1.to_bits()));
    }
});
