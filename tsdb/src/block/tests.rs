use model::{Labels, MatchType, Matcher};

use super::*;
use crate::chunkenc::Encoding;
use crate::chunks::{ChunkMeta, write_plain_file};
use crate::index::IndexWriter;

/// Samples of series `i`, chunk `k` (10 samples each, 5 apart, from `k * 100`). Series with
/// odd `i` have values no decimal holds, so that their chunks take room in a frame.
fn samples(i: usize, k: i64) -> Vec<(i64, f64)> {
    (0..10)
        .map(|j| {
            let v = if i.is_multiple_of(2) {
                (i * 1000 + j as usize) as f64
            } else {
                f64::from_bits(
                    0x4000_0000_0000_0000
                        ^ ((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 12)
                        ^ j,
                )
            };
            (k * 100 + j as i64 * 5, v)
        })
        .collect()
}

fn series(n: usize) -> Vec<SeriesChunks> {
    let mut v: Vec<SeriesChunks> = (0..n)
        .map(|i| SeriesChunks {
            labels: Labels::from_pairs([("__name__", "m".to_string()), ("i", format!("{i:04}"))]),
            chunks: (0..3)
                .map(|k| {
                    let mut a = crate::chunkenc::XorAppender::new();
                    for (t, v) in samples(i, k) {
                        a.append(t, v);
                    }
                    (k * 100, k * 100 + 45, 1u8, a.into_bytes(), 10u32)
                })
                .collect(),
        })
        .collect();
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    v
}

fn decoded(enc: Encoding, bytes: &crate::querier::ChunkData) -> Vec<(i64, u64)> {
    let mut out = Vec::new();
    crate::chunkenc::decode_range(enc, bytes.as_ref(), i64::MIN, i64::MAX, &mut out).unwrap();
    out.into_iter().map(|(t, v)| (t, v.to_bits())).collect()
}

fn bits(s: Vec<(i64, f64)>) -> Vec<(i64, u64)> {
    s.into_iter().map(|(t, v)| (t, v.to_bits())).collect()
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
        assert_eq!(enc, Encoding::Columns);
        let i: usize = l.get("i").parse().unwrap();
        assert_eq!(decoded(enc, &bytes), bits(samples(i, 1)));
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
        series(1000).into_iter().map(Ok),
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
    // A damaged frame: opening works (the header is intact), reading its chunks fails with
    // the file named, and the chunks of other frames still read.
    let seg = bdir.join("chunks").join("000001");
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 6] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let b = Block::open(&bdir).unwrap();
    let all = [Matcher::new(MatchType::Equal, "__name__", "m").unwrap()];
    let reads: Vec<_> = b
        .select(&all, 0, 300)
        .unwrap()
        .iter()
        .flat_map(|(_, metas, _)| metas.iter().map(|m| b.chunks().chunk(m.r)))
        .collect();
    let errors: Vec<_> = reads.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        !errors.is_empty() && errors.len() < reads.len() / 2,
        "{} of {}",
        errors.len(),
        reads.len()
    );
    assert!(
        errors
            .iter()
            .all(|e| e.is_corruption() && e.to_string().contains("000001")),
        "{}",
        errors[0]
    );
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

#[test]
fn blocks_with_uncompressed_chunk_files_are_still_read() {
    // A block as earlier releases wrote it: Gorilla chunks, one checksum each.
    let dir = tempfile::tempdir().unwrap();
    let bdir = dir.path().join(new_ulid());
    std::fs::create_dir_all(bdir.join("chunks")).unwrap();
    let all = series(20);
    let chunks: Vec<(u8, &[u8])> = all
        .iter()
        .flat_map(|s| s.chunks.iter().map(|c| (c.2, &c.3[..])))
        .collect();
    let refs = write_plain_file(&bdir.join("chunks").join("000001"), &chunks);
    let mut iw = IndexWriter::create(&bdir.join("index")).unwrap();
    for (s, refs) in all.iter().zip(refs.chunks(3)) {
        let metas: Vec<ChunkMeta> = s
            .chunks
            .iter()
            .zip(refs)
            .map(|(c, r)| ChunkMeta {
                mint: c.0,
                maxt: c.1,
                r: *r,
            })
            .collect();
        iw.add_series(&s.labels, &metas).unwrap();
    }
    iw.finish().unwrap();
    BlockMeta {
        ulid: bdir.file_name().unwrap().to_string_lossy().into_owned(),
        min_time: 0,
        max_time: 300,
        stats: BlockStats {
            num_samples: 600,
            num_series: 20,
            num_chunks: 60,
        },
        compaction: Compaction {
            level: 1,
            sources: Vec::new(),
            backfill: false,
        },
        version: 1,
    }
    .write(&bdir)
    .unwrap();
    let b = Block::open(&bdir).unwrap();
    let m = [Matcher::new(MatchType::Equal, "i", "0007").unwrap()];
    let got = b.select(&m, 0, 300).unwrap();
    assert_eq!(got.len(), 1);
    for (k, meta) in got[0].1.iter().enumerate() {
        let (enc, bytes) = b.chunks().chunk(meta.r).unwrap();
        assert_eq!(enc, Encoding::Xor);
        assert_eq!(decoded(enc, &bytes), bits(samples(7, k as i64)));
    }
}
