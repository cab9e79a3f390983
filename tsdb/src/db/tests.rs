use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use model::metrics::Registry;
use model::{Labels, MatchType, Matcher, Queryable, SelectHints, labels};

use super::{Db, DbOptions};
use crate::block::{Compaction, SeriesChunks, write_block};
use crate::compact::encode_chunks;

const HOUR: i64 = 3_600_000;

fn open(dir: &Path) -> Arc<Db> {
    Db::open(dir, DbOptions::default(), &Registry::new()).unwrap()
}

fn open_with(dir: &Path, f: impl FnOnce(&mut DbOptions)) -> Arc<Db> {
    let mut o = DbOptions::default();
    f(&mut o);
    Db::open(dir, o, &Registry::new()).unwrap()
}

fn series(i: usize) -> Labels {
    labels! {"__name__" => "m", "i" => i.to_string()}
}

type Dump = BTreeMap<String, Vec<(i64, u64)>>;

fn dump(q: &dyn Queryable, mint: i64, maxt: i64) -> Dump {
    let all = [Matcher::new(MatchType::RegexMatch, "__name__", ".+").unwrap()];
    let querier = q.querier(mint, maxt).unwrap();
    let mut out = Dump::new();
    for s in querier.select(&SelectHints::default(), &all).unwrap() {
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() {
            let (t, x) = it.at();
            v.push((t, x.to_bits()));
        }
        assert!(it.err().is_none(), "{:?}", it.err());
        out.insert(s.labels().to_string(), v);
    }
    out
}

/// Appends `n` series every `step` ms over `[from, to)`; returns what was written.
fn fill(db: &Db, n: usize, from: i64, to: i64, step: i64, want: &mut Dump) {
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for i in 0..n {
            let v = (t / step) as f64 + i as f64;
            app.append(None, &series(i), t, v).unwrap();
            want.entry(series(i).to_string())
                .or_default()
                .push((t, v.to_bits()));
        }
        app.commit().unwrap();
        t += step;
    }
}

#[test]
fn head_compacts_into_blocks_and_queries_span_both() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut want = Dump::new();
    fill(&db, 30, 0, 7 * HOUR, 30_000, &mut want);
    db.maintenance().unwrap();
    let blocks = db.blocks();
    // 7h of data: everything older than the newest 1.5 ranges is in 2h blocks.
    assert!(blocks.len() >= 2, "{} blocks", blocks.len());
    assert_eq!(blocks[0].meta().min_time, 0);
    assert_eq!(blocks[0].meta().max_time, 2 * HOUR);
    assert!(db.head().min_time() >= blocks.last().unwrap().meta().max_time);
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
    // A range crossing a block boundary and the head boundary.
    let part = dump(&*db, HOUR, 5 * HOUR);
    let s0 = &part[&series(0).to_string()];
    assert_eq!(s0.first().unwrap().0, HOUR);
    assert_eq!(s0.last().unwrap().0, 5 * HOUR);
    assert_eq!(s0.len(), (4 * HOUR / 30_000 + 1) as usize);
    // Restart: blocks and head come back the same, and samples inside blocks are refused.
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
    let mut app = db.appender();
    assert!(app.append(None, &series(0), HOUR, 1.0).is_err());
}

#[test]
fn label_names_and_values_span_blocks_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut app = db.appender();
    app.append(None, &labels! {"__name__" => "old", "a" => "1"}, 0, 1.0)
        .unwrap();
    app.commit().unwrap();
    let mut want = Dump::new();
    fill(&db, 2, 1000, 5 * HOUR, 60_000, &mut want);
    db.maintenance().unwrap();
    assert!(!db.blocks().is_empty());
    let q = Queryable::querier(&*db, i64::MIN, i64::MAX).unwrap();
    assert_eq!(q.label_names(&[]).unwrap(), ["__name__", "a", "i"]);
    assert_eq!(q.label_values("__name__", &[]).unwrap(), ["m", "old"]);
    let only_old = [Matcher::equal("__name__", "old")];
    assert_eq!(q.label_names(&only_old).unwrap(), ["__name__", "a"]);
    assert_eq!(
        q.label_values("i", &[Matcher::equal("__name__", "m")])
            .unwrap(),
        ["0", "1"]
    );
    // A range that holds only head data does not see the old series.
    let q = Queryable::querier(&*db, 4 * HOUR, 5 * HOUR).unwrap();
    assert_eq!(q.label_values("__name__", &[]).unwrap(), ["m"]);
}

fn import_block(
    dir: &Path,
    mint: i64,
    maxt: i64,
    series_ids: std::ops::Range<usize>,
    step: i64,
    value: f64,
) {
    let iter = series_ids.map(move |i| {
        let samples: Vec<(i64, f64)> = (mint..maxt)
            .step_by(step as usize)
            .map(|t| (t, value))
            .collect();
        Ok(SeriesChunks {
            labels: series(i),
            chunks: encode_chunks(&samples, 120),
        })
    });
    let mut all: Vec<_> = iter.collect();
    all.sort_by(|a: &crate::Result<SeriesChunks>, b| {
        a.as_ref().unwrap().labels.cmp(&b.as_ref().unwrap().labels)
    });
    write_block(
        dir,
        mint,
        maxt,
        Compaction {
            level: 1,
            sources: Vec::new(),
            backfill: true,
        },
        all.into_iter(),
    )
    .unwrap();
}

#[test]
fn overlapping_blocks_are_merged_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    import_block(dir.path(), 0, 2 * HOUR, 0..5, 60_000, 1.0);
    // Overlaps the first one by an hour, with other timestamps and one more series.
    import_block(dir.path(), HOUR, 3 * HOUR, 0..6, 90_000, 2.0);
    let db = open(dir.path());
    assert_eq!(db.blocks().len(), 2);
    let before = dump(&*db, i64::MIN, i64::MAX);
    // The querier already merges overlapping blocks.
    let s0 = &before[&series(0).to_string()];
    assert!(s0.windows(2).all(|w| w[0].0 < w[1].0));
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1);
    let b = &db.blocks()[0];
    assert_eq!((b.meta().min_time, b.meta().max_time), (0, 3 * HOUR));
    assert_eq!(b.meta().compaction.level, 2);
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), before);
}

#[test]
fn leveled_merges_keep_data() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..7 {
        import_block(
            dir.path(),
            k * 2 * HOUR,
            (k + 1) * 2 * HOUR,
            0..3,
            60_000,
            k as f64,
        );
    }
    let db = open(dir.path());
    let before = dump(&*db, i64::MIN, i64::MAX);
    db.compact().unwrap();
    let blocks = db.blocks();
    // [0,6h) and [6h,12h) become 6h blocks; the newest block stays as it is.
    assert!(blocks.len() < 7, "{} blocks", blocks.len());
    assert!(
        blocks
            .iter()
            .any(|b| b.meta().max_time - b.meta().min_time == 6 * HOUR)
    );
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), before);
    // Source blocks are gone from disk.
    let dirs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().len() == 26)
        .count();
    assert_eq!(dirs, blocks.len());
}

#[test]
fn retention_by_time_and_size() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..6 {
        import_block(
            dir.path(),
            k * 2 * HOUR,
            (k + 1) * 2 * HOUR,
            0..3,
            60_000,
            1.0,
        );
    }
    {
        let db = open_with(dir.path(), |o| o.retention_time_ms = Some(5 * HOUR));
        db.apply_retention().unwrap();
        // Newest block ends at 12h: blocks ending at or before 7h are gone.
        let mins: Vec<i64> = db.blocks().iter().map(|b| b.meta().min_time).collect();
        assert_eq!(mins, [6 * HOUR, 8 * HOUR, 10 * HOUR]);
    }
    let db = open_with(dir.path(), |o| {
        o.retention_time_ms = None;
        o.retention_size_bytes = Some(1);
    });
    let one = db.blocks()[0].size_bytes();
    drop(db);
    let db = open_with(dir.path(), |o| {
        o.retention_time_ms = None;
        o.retention_size_bytes = Some(one * 2 + one / 2);
    });
    db.apply_retention().unwrap();
    // Head files take a little room too, so at most two blocks fit.
    let n = db.blocks().len();
    assert!((1..=2).contains(&n), "{n} blocks");
    assert_eq!(db.blocks().last().unwrap().meta().max_time, 12 * HOUR);
}

#[test]
fn a_damaged_block_is_moved_aside_and_the_rest_stays_queryable() {
    let dir = tempfile::tempdir().unwrap();
    import_block(dir.path(), 0, 2 * HOUR, 0..3, 60_000, 1.0);
    import_block(dir.path(), 2 * HOUR, 4 * HOUR, 0..3, 60_000, 2.0);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.len() == 26)
        .collect();
    names.sort();
    // Truncate the first block's index.
    let idx = dir.path().join(&names[0]).join("index");
    let len = std::fs::metadata(&idx).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&idx)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let reg = Registry::new();
    let db = Db::open(dir.path(), DbOptions::default(), &reg).unwrap();
    assert_eq!(db.blocks().len(), 1);
    assert!(dir.path().join("quarantine").join(&names[0]).exists());
    assert!(
        reg.render()
            .contains("vane_tsdb_blocks_quarantined_total 1")
    );
    let got = dump(&*db, i64::MIN, i64::MAX);
    assert!(got[&series(0).to_string()].iter().all(|s| s.0 >= 2 * HOUR));
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _db = open(dir.path());
    match Db::open(dir.path(), DbOptions::default(), &Registry::new()) {
        Err(crate::Error::Locked(_)) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[test]
fn damaged_wal_and_head_chunk_files_are_cut_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = Dump::new();
    {
        let db = open(dir.path());
        fill(&db, 10, 0, HOUR, 10_000, &mut want);
        db.close().unwrap();
    }
    // Garbage appended to the newest WAL segment and to the newest head-chunk file.
    for sub in ["wal", "chunks_head"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.path().join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let last = files.last().unwrap();
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(last)
            .unwrap()
            .write_all(&[0xAB; 777])
            .unwrap();
    }
    let db = open(dir.path());
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
    // It keeps working.
    let mut app = db.appender();
    app.append(None, &series(0), HOUR, 5.0).unwrap();
    app.commit().unwrap();
}

#[test]
fn a_damaged_chunk_fails_only_the_queries_that_need_it_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    // Samples every second: the block's chunks fill two compressed frames, the second
    // holding only series 2's last chunks.
    import_block(dir.path(), 0, 2 * HOUR, 0..3, 1_000, 1.0);
    let bdir = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let seg = bdir.join("chunks").join("000001");
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0xff; // inside the last frame written
    std::fs::write(&seg, &bytes).unwrap();
    let reg = Registry::new();
    let db = Db::open(dir.path(), DbOptions::default(), &reg).unwrap();
    let q = Queryable::querier(&*db, i64::MIN, i64::MAX).unwrap();
    let bad = [Matcher::equal("i", "2")];
    let err = q
        .select(&SelectHints::default(), &bad)
        .err()
        .expect("damaged chunk must fail the query");
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(reg.render().contains("vane_tsdb_chunk_read_errors_total 1"));
    let good = [Matcher::equal("i", "0")];
    assert_eq!(q.select(&SelectHints::default(), &good).unwrap().len(), 1);
}

#[test]
fn a_backfilled_block_does_not_hide_wal_samples_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = Dump::new();
    {
        let db = open(dir.path());
        fill(&db, 2, 0, HOUR, 60_000, &mut want);
        db.close().unwrap();
    }
    // Import recent data for another series, ending after everything in the head.
    let samples = (0..5).map(|k| Ok::<_, String>((series(7), HOUR + k * 60_000, 7.0)));
    let stats = crate::import::import(dir.path(), 2 * HOUR, samples).unwrap();
    assert!(stats.blocks[0].compaction.backfill);
    assert!(stats.blocks[0].max_time > HOUR - 60_000);
    let db = open(dir.path());
    let got = dump(&*db, i64::MIN, i64::MAX);
    // The head's samples, all older than the imported block's end, are all still there.
    assert_eq!(got[&series(0).to_string()], want[&series(0).to_string()]);
    assert_eq!(got[&series(1).to_string()], want[&series(1).to_string()]);
    assert_eq!(got[&series(7).to_string()].len(), 5);
}

/// `read_into` (bulk decoding) gives exactly what seek/next/at give, for ranges that cut
/// chunks anywhere, over blocks and the head.
#[test]
fn bulk_reads_match_the_iterator_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut want = Dump::new();
    fill(&db, 3, 0, 5 * HOUR, 15_000, &mut want);
    db.compact().unwrap();
    assert!(!db.blocks().is_empty(), "some data went to blocks");
    let all = [Matcher::new(MatchType::RegexMatch, "__name__", ".+").unwrap()];
    let querier = Queryable::querier(db.as_ref(), i64::MIN, i64::MAX).unwrap();
    for (mint, maxt) in [
        (i64::MIN, i64::MAX),
        (0, 0),
        (7_000, 1_807_000),
        (2 * HOUR - 1, 2 * HOUR + 1),
        (3 * HOUR + 15_000, 5 * HOUR),
        (6 * HOUR, 7 * HOUR),
    ] {
        for s in querier.select(&SelectHints::default(), &all).unwrap() {
            let mut bulk = Vec::new();
            s.iter().read_into(mint, maxt, &mut bulk);
            let mut one = Vec::new();
            let mut it = s.iter();
            if it.seek(mint) {
                loop {
                    let p = it.at();
                    if p.0 > maxt {
                        break;
                    }
                    one.push(p);
                    if !it.next() {
                        break;
                    }
                }
            }
            assert_eq!(bulk, one, "{} in [{mint}, {maxt}]", s.labels());
            // Reading on after a seek continues where the iterator stands.
            let mut it = s.iter();
            let mut rest = Vec::new();
            if it.seek(mint) {
                it.read_into(mint, maxt, &mut rest);
            }
            assert_eq!(rest, one, "{} in [{mint}, {maxt}] after seek", s.labels());
        }
    }
}

/// A snapshot is a data directory holding every sample: blocks linked, the head as a block.
#[test]
fn snapshots_hold_every_sample_and_open_as_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut want = Dump::new();
    fill(&db, 3, 0, 5 * HOUR, 60_000, &mut want);
    db.compact().unwrap();
    assert!(!db.blocks().is_empty() && !db.head().is_empty());
    let snap = dir.path().join("snapshots/s1");
    db.snapshot(&snap, true).unwrap();
    let copy = open(&snap);
    assert_eq!(dump(copy.as_ref(), i64::MIN, i64::MAX), want);
    copy.close().unwrap();
    // Without the head: only what the blocks hold.
    let blocks_only = dir.path().join("snapshots/s2");
    db.snapshot(&blocks_only, false).unwrap();
    let copy = open(&blocks_only);
    let got = dump(copy.as_ref(), i64::MIN, i64::MAX);
    let head_min = db.head().min_time();
    assert!(got.values().flatten().all(|(t, _)| *t < head_min));
    assert!(!got.is_empty());
}

fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchType::Equal, name, value).unwrap()
}

/// Removes `[mint, maxt]` of series `i` from an expected dump (the series goes when empty).
fn forget(want: &mut Dump, i: usize, mint: i64, maxt: i64) {
    let key = series(i).to_string();
    let v = want.get_mut(&key).unwrap();
    v.retain(|(t, _)| *t < mint || *t > maxt);
    if v.is_empty() {
        want.remove(&key);
    }
}

fn block_samples(db: &Db) -> u64 {
    db.blocks().iter().map(|b| b.meta().stats.num_samples).sum()
}

#[test]
fn deleted_ranges_vanish_from_reads_survive_restarts_and_leave_disk_when_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = Dump::new();
    {
        let db = open(dir.path());
        fill(&db, 4, 0, 7 * HOUR, 30_000, &mut want);
        db.maintenance().unwrap();
        assert_eq!(db.blocks().len(), 2);
        // Across both blocks and the head; and one series entirely.
        let n = db.delete(&[eq("i", "1")], HOUR, 5 * HOUR).unwrap();
        assert_eq!(n, 3, "two blocks and the head");
        db.delete(&[eq("i", "2")], i64::MIN, i64::MAX).unwrap();
        forget(&mut want, 1, HOUR, 5 * HOUR);
        forget(&mut want, 2, i64::MIN, i64::MAX);
        assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
        assert_eq!(dump(&*db, 2 * HOUR, 3 * HOUR), {
            let mut w = want.clone();
            for v in w.values_mut() {
                v.retain(|(t, _)| (2 * HOUR..=3 * HOUR).contains(t));
            }
            w.retain(|_, v| !v.is_empty());
            w
        });
        // Deleting again changes nothing; an inverted range is refused.
        assert_eq!(db.delete(&[eq("i", "1")], 2 * HOUR, 3 * HOUR).unwrap(), 0);
        assert!(db.delete(&[eq("i", "1")], 5, 4).is_err());
        db.close().unwrap();
    }
    // Block tombstone files and the WAL's tombstone records bring the deletions back.
    let db = open(dir.path());
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
    // A deletion covers the samples that existed: later samples of the series are kept.
    let mut app = db.appender();
    app.append(None, &series(2), 7 * HOUR + 1000, 42.0).unwrap();
    app.commit().unwrap();
    want.insert(
        series(2).to_string(),
        vec![(7 * HOUR + 1000, 42f64.to_bits())],
    );
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);

    // Cleaning rewrites the blocks with tombstones; the samples leave the disk.
    let before = block_samples(&db);
    assert_eq!(db.clean_tombstones().unwrap(), 2);
    assert_eq!(db.blocks().len(), 2);
    assert!(db.blocks().iter().all(|b| b.num_tombstones() == 0));
    assert!(
        db.blocks()
            .iter()
            .all(|b| !b.dir().join("tombstones").exists())
    );
    // Blocks [0,2h) and [2h,4h): series 2 entirely (240 each), series 1 from 1h (120 + 240).
    assert_eq!(before - block_samples(&db), 240 * 2 + 120 + 240);
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
    assert_eq!(db.clean_tombstones().unwrap(), 0);

    // Head compaction (and the merge after it) write blocks without the deleted samples.
    fill(&db, 4, 7 * HOUR + 30_000, 9 * HOUR, 30_000, &mut want);
    // [4h, 6h): series 2 entirely, series 1 over [4h, 5h] (both ends included).
    let head_block_samples = 4 * 240 - 240 - 121;
    let before = block_samples(&db);
    db.maintenance().unwrap();
    assert_eq!(block_samples(&db) - before, head_block_samples);
    assert!(db.blocks().iter().all(|b| b.num_tombstones() == 0));
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
}

#[test]
fn head_deletions_outlive_the_wal_segments_they_were_logged_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = Dump::new();
    {
        let db = open(dir.path());
        fill(&db, 3, 0, 3 * HOUR, 30_000, &mut want);
        db.maintenance().unwrap();
        assert!(db.blocks().is_empty());
        db.delete(&[eq("i", "1")], HOUR, 3 * HOUR).unwrap();
        forget(&mut want, 1, HOUR, 3 * HOUR);
        // The head compacts [0, 2h) and truncates: the WAL segment with the tombstone record
        // goes, and only the checkpoint keeps the part of it still in the head.
        fill(&db, 3, 3 * HOUR, 4 * HOUR, 30_000, &mut want);
        db.maintenance().unwrap();
        assert_eq!(db.blocks().len(), 1);
        assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
        db.close().unwrap();
    }
    let db = open(dir.path());
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
}

#[test]
fn a_damaged_tombstones_file_moves_its_block_aside_rather_than_resurrect_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = Dump::new();
    let name = {
        let db = open(dir.path());
        fill(&db, 2, 0, 4 * HOUR, 60_000, &mut want);
        db.maintenance().unwrap();
        db.delete(&[eq("i", "0")], 0, HOUR).unwrap();
        let b = db.blocks()[0].clone();
        db.close().unwrap();
        b.dir().file_name().unwrap().to_owned()
    };
    std::fs::write(
        dir.path().join(&name).join("tombstones"),
        b"VTMB\x01garbage",
    )
    .unwrap();
    let db = open(dir.path());
    assert!(db.blocks().is_empty());
    assert!(
        dir.path()
            .join("quarantine")
            .join(&name)
            .join("index")
            .exists()
    );
    // The head's samples are still there.
    assert!(!dump(&*db, 2 * HOUR, i64::MAX).is_empty());
}

#[test]
fn a_large_selection_is_read_in_parts_and_comes_back_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut want = Dump::new();
    // 10,000 series, enough to be read on several threads, created in an order that is not
    // their label order ("0", "1", "10", "100", ...); blocks and the head both hold some.
    fill(&db, 10_000, 0, 5 * HOUR, 20 * 60_000, &mut want);
    db.maintenance().unwrap();
    assert!(!db.blocks().is_empty());
    let all = [Matcher::new(MatchType::RegexMatch, "__name__", ".+").unwrap()];
    for (mint, maxt) in [(0, HOUR), (4 * HOUR, i64::MAX), (i64::MIN, i64::MAX)] {
        let q = Queryable::querier(&*db, mint, maxt).unwrap();
        let got = q.select(&SelectHints::default(), &all).unwrap();
        assert_eq!(got.len(), 10_000);
        for w in got.windows(2) {
            assert!(
                w[0].labels() < w[1].labels(),
                "{} {}",
                w[0].labels(),
                w[1].labels()
            );
        }
    }
    assert_eq!(dump(&*db, i64::MIN, i64::MAX), want);
}

#[test]
fn a_selection_in_any_order_is_sorted_when_blocks_take_part() {
    let dir = tempfile::tempdir().unwrap();
    import_block(dir.path(), 0, 2 * HOUR, 0..5, 60_000, 1.0);
    let db = open(dir.path());
    let mut app = db.appender();
    for i in (0..8).rev() {
        app.append(None, &series(i), 3 * HOUR, i as f64).unwrap();
    }
    app.commit().unwrap();
    let all = [Matcher::new(MatchType::Equal, "__name__", "m").unwrap()];
    let any = SelectHints {
        any_order: true,
        ..SelectHints::default()
    };
    let labels_of = |mint: i64, hints: &SelectHints| -> Vec<Labels> {
        let q = Queryable::querier(&*db, mint, i64::MAX).unwrap();
        q.select(hints, &all)
            .unwrap()
            .iter()
            .map(|s| s.labels().clone())
            .collect()
    };
    let sorted: Vec<Labels> = (0..8).map(series).collect();
    // Block and head: merged in label order whatever the hint.
    assert_eq!(labels_of(i64::MIN, &any), sorted);
    assert_eq!(labels_of(i64::MIN, &SelectHints::default()), sorted);
    // The head alone: in the order the series were created.
    let created: Vec<Labels> = (0..8).rev().map(series).collect();
    assert_eq!(labels_of(2 * HOUR, &any), created);
    assert_eq!(labels_of(2 * HOUR, &SelectHints::default()), sorted);
}
