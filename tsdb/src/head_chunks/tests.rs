use std::io::Write;

use model::metrics::Registry;

use super::*;

fn chunk(i: u64) -> Vec<u8> {
    (0..(20 + i % 50))
        .map(|k| (i as u8).wrapping_mul(31).wrapping_add(k as u8))
        .collect()
}

fn all(m: &ChunkDiskMapper) -> Vec<(u64, ChunkDiskRef, i64, i64)> {
    let mut out = Vec::new();
    m.iterate_all_chunks(&mut |s, r, a, b, _| {
        out.push((s, r, a, b));
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn write_read_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), None).unwrap();
    let mut refs = Vec::new();
    for i in 0..2000u64 {
        let r = m
            .write_chunk(i, i as i64 * 10, i as i64 * 10 + 5, 1, &chunk(i))
            .unwrap();
        // Readable at once, from the buffer or the map.
        assert_eq!(m.chunk(r).unwrap().1.as_ref(), chunk(i).as_slice());
        refs.push(r);
        if i == 1000 {
            m.cut_file().unwrap();
        }
    }
    for (i, r) in refs.iter().enumerate() {
        let (enc, b) = m.chunk(*r).unwrap();
        assert_eq!(enc, 1);
        assert_eq!(b.as_ref(), chunk(i as u64).as_slice());
    }
    m.close().unwrap();
    drop(m);
    let m = ChunkDiskMapper::open(dir.path(), None).unwrap();
    let got = all(&m);
    assert_eq!(got.len(), 2000);
    for (i, (s, r, a, b)) in got.iter().enumerate() {
        assert_eq!(
            (*s, *r, *a, *b),
            (i as u64, refs[i], i as i64 * 10, i as i64 * 10 + 5)
        );
    }
    assert_eq!(m.num_files(), 2);
    // New writes go to a new file.
    let r = m.write_chunk(7, 1, 2, 1, b"xyz").unwrap();
    assert_eq!(r.seq(), 3);
}

#[test]
fn a_memo_reads_what_the_locked_path_reads() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), None).unwrap();
    let mut memo = FileMapMemo::default();
    let mut refs = Vec::new();
    for i in 0..6000u64 {
        let r = m.write_chunk(i, 0, 1, 1, &chunk(i)).unwrap();
        refs.push(r);
        if i % 1500 == 1499 {
            m.cut_file().unwrap();
        }
        // Read back as writing goes on: from the write buffer, from a map that has since
        // grown, and from files no longer written, through one memo.
        if i % 7 == 0 {
            for k in [i, i / 2, i.saturating_sub(40), i / 3] {
                let r = refs[k as usize];
                let (enc, b) = m.chunk_memo(r, &mut memo).unwrap();
                assert_eq!(
                    (enc, b.as_ref()),
                    (1, chunk(k).as_slice()),
                    "chunk {k} after {i}"
                );
            }
        }
    }
    m.sync().unwrap();
    for (k, r) in refs.iter().enumerate().rev() {
        let (enc, b) = m.chunk_memo(*r, &mut memo).unwrap();
        assert_eq!((enc, b.as_ref()), (1, chunk(k as u64).as_slice()));
    }
    // A reference to nothing is an error through the memo too.
    let beyond = ChunkDiskRef::new(refs[10].seq(), 1 << 30);
    assert!(m.chunk_memo(beyond, &mut memo).is_err());
}

#[test]
fn concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), None).unwrap();
    let refs = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for th in 0..4u64 {
            let (m, refs) = (&m, &refs);
            s.spawn(move || {
                for i in 0..500u64 {
                    let id = th * 1000 + i;
                    let r = m.write_chunk(id, 0, 1, 1, &chunk(id)).unwrap();
                    refs.lock().unwrap().push((id, r));
                }
            });
        }
    });
    for (id, r) in refs.into_inner().unwrap() {
        assert_eq!(m.chunk(r).unwrap().1.as_ref(), chunk(id).as_slice());
    }
}

#[test]
fn damaged_tails_are_cut_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), None).unwrap();
    for i in 0..100u64 {
        m.write_chunk(i, 0, 1, 1, &chunk(i)).unwrap();
    }
    m.close().unwrap();
    drop(m);
    let path = dir.path().join("000001");
    let full = std::fs::read(&path).unwrap();
    // Truncation at many offsets inside the last records, zero-fill, and flipped bits.
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for cut in (full.len() - 300..full.len()).step_by(7) {
        cases.push(full[..cut].to_vec());
    }
    let mut zeroed = full.clone();
    zeroed.extend_from_slice(&[0u8; 4096]);
    cases.push(zeroed);
    for pos in [FILE_HEADER + 3, full.len() / 2, full.len() - 2] {
        let mut flipped = full.clone();
        flipped[pos] ^= 0x40;
        cases.push(flipped);
    }
    for (k, case) in cases.iter().enumerate() {
        std::fs::write(&path, case).unwrap();
        let reg = Registry::new();
        let m = ChunkDiskMapper::open(dir.path(), Some(&reg)).unwrap();
        let got = all(&m);
        // Everything before the damage survives, in order.
        for (i, (s, _, _, _)) in got.iter().enumerate() {
            assert_eq!(*s, i as u64, "case {k}");
        }
        assert!(got.len() <= 100);
        if got.len() < 100 || case.len() > full.len() {
            assert!(
                reg.render()
                    .contains("vane_tsdb_head_chunks_corruptions_total 1"),
                "case {k}"
            );
        }
        // And it keeps working.
        let r = m.write_chunk(999, 0, 1, 1, b"after").unwrap();
        assert_eq!(m.chunk(r).unwrap().1.as_ref(), b"after");
        m.close().unwrap();
        drop(m);
        // Remove files created by the write above so the next case starts from one file.
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let p = e.unwrap().path();
            if p != path {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
}

#[test]
fn a_damaged_middle_file_drops_later_files() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), None).unwrap();
    for i in 0..30u64 {
        m.write_chunk(i, 0, 1, 1, &chunk(i)).unwrap();
        if i % 10 == 9 {
            m.cut_file().unwrap();
        }
    }
    m.close().unwrap();
    drop(m);
    let mid = dir.path().join("000002");
    let mut b = std::fs::read(&mid).unwrap();
    let n = b.len();
    b[n - 10] ^= 0xff;
    std::fs::write(&mid, b).unwrap();
    let m = ChunkDiskMapper::open(dir.path(), None).unwrap();
    let got: Vec<u64> = all(&m).into_iter().map(|x| x.0).collect();
    assert_eq!(got, (0..19).collect::<Vec<u64>>());
    assert!(!dir.path().join("000003").exists());
}

#[test]
fn truncate_and_bad_refs() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), None).unwrap();
    let old = m.write_chunk(1, 0, 100, 1, b"old").unwrap();
    m.cut_file().unwrap();
    let new = m.write_chunk(2, 200, 300, 1, b"new").unwrap();
    assert_eq!(m.truncate_before(150).unwrap(), 1);
    assert!(m.chunk(old).is_err());
    assert_eq!(m.chunk(new).unwrap().1.as_ref(), b"new");
    assert!(m.chunk(ChunkDiskRef::new(2, 999_999)).is_err());
    assert!(m.chunk(ChunkDiskRef::new(77, 8)).is_err());
    // A reference into the middle of a record is caught by the checksum.
    m.sync().unwrap();
    assert!(
        m.chunk(ChunkDiskRef::new(new.seq(), new.offset() + 1))
            .is_err()
    );
    let _ = std::io::sink().write(b"");
}
