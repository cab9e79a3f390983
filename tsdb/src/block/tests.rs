use model::{Labels, MatchType, Matcher};

use super::*;

fn series(n: usize) -> Vec<SeriesChunks> {
    let mut v: Vec<SeriesChunks> = (0..n)
        .map(|i| SeriesChunks {
            labels: Labels::from_pairs([("__name__", "m".to_string()), ("i", format!("{i:04}"))]),
            chunks: (0..3)
                .map(|k| (k * 100, k * 100 + 50, 1u8, vec![i as u8, k as u8, 7], 10u32))
                .collect(),
        })
        .collect();
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    v
}

#[test]
fn write_open_select() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(
        dir.path(),
        0,
        300,
        Compaction {
            level: 1,
            sources: Vec::new(),
            backfill: false,
        },
        series(100).into_iter().map(Ok),
    )
    .unwrap();
    assert_eq!(
        meta.stats,
        BlockStats {
            num_samples: 3000,
            num_series: 100,
            num_chunks: 300
        }
    );
    assert_eq!(meta.compaction.sources, vec![meta.ulid.clone()]);
    assert_eq!(meta.ulid.len(), 26);
    let b = Block::open(&dir.path().join(&meta.ulid)).unwrap();
    assert_eq!(b.meta(), &meta);
    let m = [Matcher::new(MatchType::RegexMatch, "i", "001.").unwrap()];
    let got = b.select(&m, 120, 160).unwrap();
    assert_eq!(got.len(), 10);
    for (l, metas, _) in &got {
        assert_eq!(metas.len(), 1);
        let (enc, bytes) = b.chunks().chunk(metas[0].r).unwrap();
        assert_eq!(enc, 1);
        let i: u8 = l.get("i").parse::<u32>().unwrap() as u8;
        assert_eq!(bytes.as_ref(), &[i, 1, 7]);
    }
    assert_eq!(b.label_names(&[]).unwrap(), ["__name__", "i"]);
    assert_eq!(b.label_values("i", &m).unwrap().len(), 10);
    assert!(b.size_bytes() > 0);
    // No temporary directory is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn damaged_blocks_fail_to_open_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(
        dir.path(),
        0,
        300,
        Compaction {
            level: 1,
            sources: Vec::new(),
            backfill: false,
        },
        series(10).into_iter().map(Ok),
    )
    .unwrap();
    let bdir = dir.path().join(&meta.ulid);
    // Garbled meta.json.
    let good_meta = std::fs::read(bdir.join("meta.json")).unwrap();
    std::fs::write(bdir.join("meta.json"), b"{\"ulid\": 3").unwrap();
    let e = Block::open(&bdir).unwrap_err();
    assert!(e.to_string().contains("meta.json"), "{e}");
    std::fs::remove_file(bdir.join("meta.json")).unwrap();
    assert!(Block::open(&bdir).is_err());
    std::fs::write(bdir.join("meta.json"), &good_meta).unwrap();
    // Damaged chunk: opening works (the header is intact), reading the chunk fails.
    let seg = bdir.join("chunks").join("000001");
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 6] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let b = Block::open(&bdir).unwrap();
    let all = [Matcher::new(MatchType::Equal, "__name__", "m").unwrap()];
    let errors = b
        .select(&all, 0, 300)
        .unwrap()
        .iter()
        .flat_map(|(_, metas, _)| metas.iter().map(|m| b.chunks().chunk(m.r)))
        .filter(|r| r.is_err())
        .count();
    assert_eq!(errors, 1);
    // A truncated chunk file header.
    std::fs::write(&seg, b"VB").unwrap();
    assert!(Block::open(&bdir).unwrap_err().is_corruption());
}

#[test]
fn ulids_are_unique_and_time_ordered() {
    let a = new_ulid();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let ids: Vec<String> = (0..1000).map(|_| new_ulid()).collect();
    let set: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(set.len(), 1000);
    assert!(ids.iter().all(|b| *b > a));
    assert!(
        a.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
}
