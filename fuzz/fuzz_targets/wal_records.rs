//! The WAL record decoders on arbitrary bytes: never a panic; whatever decodes re-encodes to
//! records that decode to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsdb::wal::{RecordDecoder, RecordType, encode_samples, encode_series, record_type};

fuzz_target!(|data: &[u8]| {
    let mut dec = RecordDecoder::new();
    match record_type(data) {
        Some(RecordType::Series) => {
            let mut out = Vec::new();
            if dec.series(data, &mut out).is_ok() {
                let mut buf = Vec::new();
                encode_series(&out, &mut buf);
                let mut again = Vec::new();
                dec.series(&buf, &mut again).unwrap();
                assert_eq!(out.len(), again.len());
                for (a, b) in out.iter().zip(&again) {
                    assert_eq!((a.r, &a.labels), (b.r, &b.labels));
                }
            }
        }
        Some(RecordType::Samples) => {
            let mut out = Vec::new();
            if dec.samples(data, &mut out).is_ok() {
                let mut buf = Vec::new();
                encode_samples(&out, &mut buf);
                let mut again = Vec::new();
                dec.samples(&buf, &mut again).unwrap();
                assert_eq!(out.len(), again.len());
                for (a, b) in out.iter().zip(&again) {
                    assert_eq!((a.r, a.t, a.v.to_bits()), (b.r, b.t, b.v.to_bits()));
                }
            }
        }
        None => {}
    }
});
