use model::{Labels, MatchType, Matcher};

use super::*;
use crate::chunks::{ChunkMeta, ChunkRef};
use crate::postings::{IndexLookup, postings_for_matchers};

fn make_series(n: usize) -> Vec<(Labels, Vec<ChunkMeta>)> {
    let mut v: Vec<(Labels, Vec<ChunkMeta>)> = (0..n)
        .map(|i| {
            let mut pairs = vec![
                ("__name__", format!("metric_{}", i % 7)),
                ("instance", format!("host-{}", i % 13)),
                ("i", i.to_string()),
            ];
            if i % 3 == 0 {
                pairs.push(("opt", format!("v{}", i % 5)));
            }
            let chunks = (0..(i % 4) as i64)
                .map(|k| ChunkMeta {
                    mint: k * 1000 - 5000,
                    maxt: k * 1000 - 4100,
                    r: ChunkRef::new(1, (8 + i * 40 + k as usize * 9) as u32),
                })
                .collect();
            (Labels::from_pairs(pairs), chunks)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn write(dir: &std::path::Path, series: &[(Labels, Vec<ChunkMeta>)]) -> std::path::PathBuf {
    let p = dir.join("index");
    let mut w = IndexWriter::create(&p).unwrap();
    for (l, c) in series {
        w.add_series(l, c).unwrap();
    }
    w.finish().unwrap();
    p
}

#[test]
fn round_trip_and_matching_agree_with_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let series = make_series(3000);
    let ix = IndexReader::open(&write(dir.path(), &series)).unwrap();
    assert_eq!(ix.num_series(), 3000);
    let mut metas = Vec::new();
    for (id, (l, c)) in series.iter().enumerate() {
        assert_eq!(&ix.series(id as u32, &mut metas).unwrap(), l);
        assert_eq!(&metas, c);
    }
    assert_eq!(ix.label_names(), ["__name__", "i", "instance", "opt"]);
    assert_eq!(ix.label_values("opt"), ["v0", "v1", "v2", "v3", "v4"]);
    assert!(ix.label_values("nope").is_empty());
    let cases = [
        vec![Matcher::new(MatchType::Equal, "__name__", "metric_3").unwrap()],
        vec![Matcher::new(MatchType::Equal, "opt", "").unwrap()],
        vec![
            Matcher::new(MatchType::NotEqual, "opt", "v1").unwrap(),
            Matcher::new(MatchType::RegexMatch, "instance", "host-1.*").unwrap(),
        ],
        vec![Matcher::new(MatchType::RegexMatch, "opt", "v1|v2").unwrap()],
        vec![Matcher::new(MatchType::RegexNoMatch, "__name__", "metric_[0-5]").unwrap()],
        vec![
            Matcher::new(MatchType::RegexMatch, "opt", ".*").unwrap(),
            Matcher::new(MatchType::Equal, "i", "42").unwrap(),
        ],
        vec![Matcher::new(MatchType::Equal, "missing", "x").unwrap()],
    ];
    for ms in cases {
        let got: Vec<u32> = postings_for_matchers(&ix, &ms).unwrap().iter().collect();
        let want: Vec<u32> = series
            .iter()
            .enumerate()
            .filter(|(_, (l, _))| ms.iter().all(|m| m.matches(l.get(&m.name))))
            .map(|(i, _)| i as u32)
            .collect();
        assert_eq!(got, want, "{ms:?}");
    }
    assert_eq!(ix.all_postings().unwrap().len(), 3000);
}

#[test]
fn out_of_order_series_and_inverted_chunks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = IndexWriter::create(&dir.path().join("index")).unwrap();
    let a = Labels::from_pairs([("a", "2")]);
    let b = Labels::from_pairs([("a", "1")]);
    w.add_series(&a, &[]).unwrap();
    assert!(w.add_series(&b, &[]).is_err());
    assert!(w.add_series(&a, &[]).is_err());
    // So is a chunk that ends before it starts, and the series is not added.
    let c = Labels::from_pairs([("a", "3")]);
    let inverted = ChunkMeta {
        mint: 10,
        maxt: 5,
        r: ChunkRef::new(1, 8),
    };
    let e = w.add_series(&c, &[inverted]).unwrap_err().to_string();
    assert!(e.contains("ends before it starts"), "{e}");
    assert_eq!(w.add_series(&c, &[]).unwrap(), 1);
}

#[test]
fn damaged_indexes_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), &make_series(200));
    let good = std::fs::read(&p).unwrap();
    let mut cases: Vec<Vec<u8>> = (0..good.len())
        .step_by(97)
        .map(|n| good[..n].to_vec())
        .collect();
    for pos in (0..good.len()).step_by(53) {
        let mut b = good.clone();
        b[pos] ^= 0x10;
        cases.push(b);
    }
    for (k, case) in cases.iter().enumerate() {
        std::fs::write(&p, case).unwrap();
        match IndexReader::open(&p) {
            Err(e) => {
                assert!(e.is_corruption(), "case {k}: {e}");
                assert!(e.to_string().contains("index"), "case {k}: {e}");
            }
            Ok(_) => panic!("case {k}: damage not detected"),
        }
    }
}
