//! `vane tsdb import`, `vane tsdb dump` and `vane tsdb analyze`.

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use model::metrics::Registry;
use model::{Labels, LabelsBuilder};
use scraper::textparse::{Entry, Format, Parser};
use tsdb::analyze::{Cardinality, block_cardinality, head_cardinality};
use tsdb::block::{Block, BlockMeta};
use tsdb::{Db, DbOptions};

/// Reads a file, decompressing gzip when the file starts with its magic bytes.
fn read_text(path: &Path) -> Result<String> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .with_context(|| format!("{}: bad gzip data", path.display()))?;
        out
    } else {
        raw
    };
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{}: not UTF-8 text (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

fn fmt_time(ms: i64) -> String {
    ms.to_string()
}

fn block_row(m: &BlockMeta, size: u64) -> String {
    let dur = model::duration::format_duration_ms((m.max_time - m.min_time).max(0) as u64);
    format!(
        "{:<26}  {:>14}  {:>14}  {:>10}  {:>11}  {:>10}  {:>10}  {:>10}",
        m.ulid,
        fmt_time(m.min_time),
        fmt_time(m.max_time),
        dur,
        m.stats.num_samples,
        m.stats.num_chunks,
        m.stats.num_series,
        size
    )
}

const BLOCK_HEADER: &str = "BLOCK ULID                  MIN TIME        MAX TIME          DURATION  NUM SAMPLES  NUM CHUNKS  NUM SERIES        SIZE";

/// `vane tsdb dump`: every sample of the matching series, series by series, to stdout.
pub fn dump(dir: &Path, name_regex: &str, mint: i64, maxt: i64) -> Result<()> {
    use model::matcher::{MatchType, Matcher};
    use model::storage::{Queryable, SelectHints};
    use std::io::Write as _;
    if !dir.is_dir() {
        bail!("{} is not a data directory", dir.display());
    }
    let m = Matcher::new(MatchType::RegexMatch, "__name__", name_regex)
        .map_err(|e| anyhow!("--match: {e}"))?;
    let db = Db::open(
        dir,
        DbOptions {
            retention_time_ms: None,
            ..DbOptions::default()
        },
        &Registry::new(),
    )?;
    let q = db.querier(mint, maxt)?;
    let hints = SelectHints {
        start: mint,
        end: maxt,
        ..SelectHints::default()
    };
    let series = q.select(&hints, &[m])?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for s in &series {
        let mut ls = String::from("{");
        for (i, l) in s.labels().iter().enumerate() {
            if i > 0 {
                ls.push_str(", ");
            }
            let _ = write!(ls, "{}={:?}", l.name, &*l.value);
        }
        ls.push('}');
        let mut it = s.iter();
        while it.next() {
            let (t, v) = it.at();
            writeln!(out, "{ls} {} {t}", model::metrics::format_value(v))?;
        }
        if let Some(e) = it.err() {
            bail!("reading {}: {e}", s.labels());
        }
    }
    out.flush()?;
    drop(out);
    db.close()?;
    Ok(())
}

/// `vane tsdb import FILE`.
pub fn import(file: &Path, dir: &Path, block_duration: &str) -> Result<String> {
    let range = model::duration::parse_duration_ms(block_duration)
        .map_err(|e| anyhow!("--block-duration: {e}"))? as i64;
    if range <= 0 {
        bail!("--block-duration must be greater than zero");
    }
    let text = read_text(file)?;
    let source = file.display().to_string();
    let samples = Parser::new(&text, Format::OpenMetrics).filter_map(|e| match e {
        Err(e) => Some(Err(format!("{source}: {e}"))),
        Ok(Entry::Sample(s)) => {
            let Some(t) = s.timestamp_ms else {
                return Some(Err(format!(
                    "{source}: sample {} has no timestamp; backfill needs one on every sample",
                    s.name
                )));
            };
            let mut b = LabelsBuilder::with_capacity(s.labels.len() + 1);
            b.set(model::METRIC_NAME, s.name);
            for (n, v) in &s.labels {
                b.set(*n, v.as_ref());
            }
            let labels: Labels = b.build();
            Some(Ok((labels, t, s.value)))
        }
        Ok(_) => None,
    });
    let stats = tsdb::import::import(dir, range, samples)?;
    let mut out = String::new();
    let _ = writeln!(out, "{BLOCK_HEADER}");
    for m in &stats.blocks {
        let size = Block::open(&dir.join(&m.ulid))
            .map(|b| b.size_bytes())
            .unwrap_or(0);
        let _ = writeln!(out, "{}", block_row(m, size));
    }
    let _ = writeln!(
        out,
        "\nimported {} samples of {} series into {} blocks in {}",
        stats.samples,
        stats.series,
        stats.blocks.len(),
        dir.display()
    );
    if stats.skipped_out_of_order > 0 {
        let _ = writeln!(
            out,
            "skipped {} samples at or before their series' previous timestamp",
            stats.skipped_out_of_order
        );
    }
    Ok(out)
}

fn top_list(out: &mut String, title: &str, rows: &[(String, u64)]) {
    let _ = writeln!(out, "\n{title}:");
    for (name, n) in rows {
        let _ = writeln!(out, "{n:>10} {name}");
    }
}

fn write_cardinality(out: &mut String, what: &str, c: &Cardinality) {
    let _ = writeln!(out, "\nCardinality of {what} ({} series)", c.series);
    top_list(
        out,
        "Highest cardinality metric names (series)",
        &c.metrics_by_series,
    );
    top_list(out, "Label names with the most values", &c.labels_by_values);
    top_list(out, "Label names in the most series", &c.labels_by_series);
    top_list(out, "Most common label pairs (series)", &c.pairs_by_series);
}

/// `vane tsdb analyze`.
pub fn analyze(dir: &Path, limit: usize, block: Option<&str>) -> Result<String> {
    if !dir.is_dir() {
        bail!("{} is not a data directory", dir.display());
    }
    let mut out = String::new();
    // With the directory free, open the whole store (head included); with a running daemon
    // holding it, read the blocks only.
    let (blocks, db) = match Db::open(
        dir,
        DbOptions {
            retention_time_ms: None,
            ..DbOptions::default()
        },
        &Registry::new(),
    ) {
        Ok(db) => (db.blocks(), Some(db)),
        Err(tsdb::Error::Locked(_)) => {
            let _ = writeln!(
                out,
                "The store is in use by a running vane: showing blocks only, not the head.\n"
            );
            let ro = tsdb::db::ReadOnlyBlocks::open(dir)?;
            for (path, err) in &ro.skipped {
                let _ = writeln!(out, "skipping unreadable block {}: {err}", path.display());
            }
            (ro.blocks().to_vec(), None)
        }
        Err(e) => return Err(e.into()),
    };
    let _ = writeln!(out, "{BLOCK_HEADER}");
    let (mut samples, mut bytes) = (0u64, 0u64);
    for b in &blocks {
        let _ = writeln!(out, "{}", block_row(b.meta(), b.size_bytes()));
        samples += b.meta().stats.num_samples;
        bytes += b.size_bytes();
    }
    let _ = writeln!(
        out,
        "\nBlocks: {}  samples: {}  bytes: {}  bytes per sample: {}",
        blocks.len(),
        samples,
        bytes,
        if samples > 0 {
            format!("{:.3}", bytes as f64 / samples as f64)
        } else {
            "-".into()
        }
    );
    if let Some(db) = &db {
        let h = db.head();
        let range = if h.is_empty() {
            "empty".to_string()
        } else {
            format!("{} to {}", h.min_time(), h.max_time())
        };
        let _ = writeln!(
            out,
            "Head: {} series, time range {range}, WAL and head chunks {} bytes",
            h.num_series(),
            h.disk_size_bytes()
        );
    }
    match (block, &db) {
        (Some(ulid), _) => {
            let b = blocks
                .iter()
                .find(|b| b.meta().ulid == ulid)
                .ok_or_else(|| anyhow!("no block {ulid} in {}", dir.display()))?;
            write_cardinality(
                &mut out,
                &format!("block {ulid}"),
                &block_cardinality(b, limit)?,
            );
        }
        (None, Some(db)) if db.head().num_series() > 0 => {
            write_cardinality(&mut out, "the head", &head_cardinality(db.head(), limit));
        }
        (None, _) => {
            if let Some(b) = blocks.last() {
                write_cardinality(
                    &mut out,
                    &format!("the newest block {}", b.meta().ulid),
                    &block_cardinality(b, limit)?,
                );
            }
        }
    }
    if let Some(db) = db {
        db.close()?;
    }
    Ok(out)
}
