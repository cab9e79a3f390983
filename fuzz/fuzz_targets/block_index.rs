//! Opening a block index made of arbitrary bytes: never a panic; refused with a corruption or
//! format error, or, if accepted, every series and postings list reads without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsdb::index::IndexReader;
use tsdb::postings::IndexLookup;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    std::fs::write(&path, data).unwrap();
    match IndexReader::open(&path) {
        Err(e) => assert!(e.is_corruption(), "unexpected error kind: {e}"),
        Ok(ix) => {
            let mut chunks = Vec::new();
            for id in 0..ix.num_series().min(1000) {
                let _ = ix.series(id, &mut chunks);
            }
            for name in ix.label_names() {
                for v in ix.label_values(&name) {
                    let _ = ix.postings(&name, &v);
                }
            }
        }
    }
});
