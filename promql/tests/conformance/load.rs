//! The test storage: a real `tsdb::Db` in a temporary directory, loaded from `load` blocks.
//!
//! Native-histogram samples (`{{…}}`) are not loaded (the store holds floats only); their
//! slots are left empty and the series' metric name is remembered so that evals selecting it
//! can be skipped. The same goes for series with start timestamps (`@st` lines) and for the
//! histograms `load_with_nhcb` would synthesise. After each load, every series of the block is
//! read back and compared with what was appended, so anything the store refused or altered
//! is reported precisely.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use model::labels::Labels;
use model::matcher::Matcher;
use model::storage::{Appendable, Queryable, SelectHints};

use super::script::{LoadCmd, SeqValue};

/// Something the store did not take as given.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// 1-based line of the series in the script.
    pub line: usize,
    pub series: String,
    pub msg: String,
}

pub struct Store {
    dir: tempfile::TempDir,
    db: Arc<tsdb::Db>,
    /// Everything appended since the last clear: series -> (t, value bits).
    shadow: BTreeMap<Labels, BTreeMap<i64, u64>>,
    /// What the loads since the last clear hold that the store cannot.
    pub names: Names,
}

/// Metric names loaded since the last clear that evals must not rely on.
#[derive(Debug, Default, Clone)]
pub struct Names {
    /// Native-histogram metrics: loaded with `{{…}}` values or made by `load_with_nhcb`.
    pub nh: BTreeSet<String>,
    /// Metrics loaded with start timestamps (`@st` lines).
    pub st: BTreeSet<String>,
    /// Label sets of the series loaded with `{{…}}` values (or made by `load_with_nhcb`),
    /// for the precise check: does any selector of a query match one of them?
    pub nh_series: Vec<Labels>,
}

impl Names {
    pub fn note_load(&mut self, cmd: &LoadCmd) {
        for s in &cmd.series {
            let name = s.labels.metric_name();
            if s.values.iter().any(SeqValue::is_histogram) {
                self.nh.insert(name.to_string());
                self.nh_series.push(s.labels.clone());
            }
            if s.start_offsets.iter().any(Option::is_some) {
                self.st.insert(name.to_string());
            }
            if cmd.with_nhcb
                && let Some(base) = nhcb_base_name(&s.labels)
            {
                let mut b = s.labels.to_builder();
                b.del("le");
                b.set("__name__", base.as_str());
                self.nh_series.push(b.build());
                self.nh.insert(base);
            }
        }
    }
}

/// The head's block range: 24h, as Prometheus's own test storage uses (the head refuses
/// samples more than half a block range older than its newest sample, and some scripts load
/// again from t=0 after a load that reached past 1h). `CONFORMANCE_CHUNK_RANGE_MS` overrides it.
pub const TEST_CHUNK_RANGE_MS: i64 = 24 * 3_600_000;

/// `CONFORMANCE_CHUNK_RANGE_MS`, if set.
pub fn chunk_range_override() -> Option<i64> {
    let v = std::env::var("CONFORMANCE_CHUNK_RANGE_MS").ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("CONFORMANCE_CHUNK_RANGE_MS={v:?} is not a number")),
    )
}

fn open_db(dir: &std::path::Path) -> Result<Arc<tsdb::Db>, String> {
    let mut opts = tsdb::DbOptions {
        retention_time_ms: None,
        ..Default::default()
    };
    opts.head.chunk_range_ms = chunk_range_override().unwrap_or(TEST_CHUNK_RANGE_MS);
    tsdb::Db::open(dir, opts, &model::metrics::Registry::new())
        .map_err(|e| format!("cannot open the store in {}: {e}", dir.display()))
}

impl Store {
    pub fn new() -> Result<Store, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let db = open_db(dir.path())?;
        Ok(Store {
            dir,
            db,
            shadow: BTreeMap::new(),
            names: Names::default(),
        })
    }

    pub fn queryable(&self) -> &dyn Queryable {
        &*self.db
    }

    /// `clear`: closes the store and opens a fresh one in a new directory.
    pub fn clear(&mut self) -> Result<(), String> {
        let fresh = Store::new()?;
        let old = std::mem::replace(self, fresh);
        old.close()
    }

    pub fn close(self) -> Result<(), String> {
        let r = self
            .db
            .close()
            .map_err(|e| format!("closing the store: {e}"));
        drop(self.db);
        drop(self.dir);
        r
    }

    /// Appends a `load` block in one batch and commits it; returns what the store refused.
    pub fn load(&mut self, cmd: &LoadCmd) -> Vec<Refusal> {
        let mut refusals = Vec::new();
        let mut app = self.db.appender();
        // (script line, labels, samples (t, value bits) appended in this batch)
        type Appended<'a> = (usize, &'a Labels, Vec<(i64, u64)>);
        let mut batch: Vec<Appended<'_>> = Vec::new();
        self.names.note_load(cmd);
        for s in &cmd.series {
            let mut accepted = Vec::new();
            let mut first_err: Option<(i64, String)> = None;
            let mut n_err = 0;
            let mut r = None;
            for (k, v) in s.values.iter().enumerate() {
                let SeqValue::Float(v) = v else { continue };
                let t = k as i64 * cmd.step_ms;
                match app.append(r, &s.labels, t, *v) {
                    Ok(sr) => {
                        r = Some(sr);
                        accepted.push((t, v.to_bits()));
                    }
                    Err(e) => {
                        n_err += 1;
                        first_err.get_or_insert((t, e.to_string()));
                    }
                }
            }
            if let Some((t, e)) = first_err {
                refusals.push(Refusal {
                    line: s.line,
                    series: s.labels.to_string(),
                    msg: format!("append refused {n_err} sample(s), first at t={t}ms: {e}"),
                });
            }
            batch.push((s.line, &s.labels, accepted));
        }
        if let Err(e) = app.commit() {
            refusals.push(Refusal {
                line: cmd.line,
                series: String::new(),
                msg: format!("commit failed: {e}"),
            });
        }
        for (_, labels, accepted) in &batch {
            self.shadow
                .entry((*labels).clone())
                .or_default()
                .extend(accepted.iter().copied());
        }
        // Read every series of the block back and compare with everything appended to it.
        for (line, labels, _) in batch {
            let want: Vec<(i64, u64)> = self.shadow[labels].iter().map(|(t, v)| (*t, *v)).collect();
            match self.read_series(labels) {
                Err(e) => refusals.push(Refusal {
                    line,
                    series: labels.to_string(),
                    msg: format!("reading back failed: {e}"),
                }),
                Ok(got) if got != want => refusals.push(Refusal {
                    line,
                    series: labels.to_string(),
                    msg: describe_mismatch(&want, &got),
                }),
                Ok(_) => {}
            }
        }
        refusals
    }

    /// All samples of exactly this series.
    fn read_series(&self, labels: &Labels) -> Result<Vec<(i64, u64)>, String> {
        let q = Queryable::querier(&*self.db, i64::MIN, i64::MAX).map_err(|e| e.to_string())?;
        let matchers: Vec<Matcher> = labels
            .iter()
            .map(|l| Matcher::equal(&*l.name, &*l.value))
            .collect();
        let hints = SelectHints {
            start: i64::MIN,
            end: i64::MAX,
            ..Default::default()
        };
        let set = q.select(&hints, &matchers).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for s in set.iter().filter(|s| s.labels() == labels) {
            let mut it = s.iter();
            while it.next() {
                let (t, v) = it.at();
                out.push((t, v.to_bits()));
            }
            if let Some(e) = it.err() {
                return Err(e.to_string());
            }
        }
        Ok(out)
    }
}

fn describe_mismatch(want: &[(i64, u64)], got: &[(i64, u64)]) -> String {
    let wt: BTreeMap<i64, u64> = want.iter().copied().collect();
    let gt: BTreeMap<i64, u64> = got.iter().copied().collect();
    let missing: Vec<i64> = wt.keys().filter(|t| !gt.contains_key(t)).copied().collect();
    let extra: Vec<i64> = gt.keys().filter(|t| !wt.contains_key(t)).copied().collect();
    let changed: Vec<i64> = wt
        .iter()
        .filter(|(t, v)| gt.get(t).is_some_and(|g| g != *v))
        .map(|(t, _)| *t)
        .collect();
    let show = |v: &[i64]| {
        let mut s: Vec<String> = v.iter().take(5).map(|t| format!("{t}ms")).collect();
        if v.len() > 5 {
            s.push(format!("… ({} in all)", v.len()));
        }
        s.join(", ")
    };
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "{} sample(s) missing when read back: {}",
            missing.len(),
            show(&missing)
        ));
    }
    if !extra.is_empty() {
        parts.push(format!(
            "{} unexpected sample(s): {}",
            extra.len(),
            show(&extra)
        ));
    }
    if !changed.is_empty() {
        parts.push(format!(
            "{} sample(s) with another value: {}",
            changed.len(),
            show(&changed)
        ));
    }
    if parts.is_empty() {
        parts.push(format!(
            "samples read back out of order ({} appended, {} read)",
            want.len(),
            got.len()
        ));
    }
    parts.join("; ")
}

/// The NHCB series name `load_with_nhcb` derives from a classic-histogram series
/// (`X_bucket` with `le`, `X_sum`, `X_count` -> `X`).
fn nhcb_base_name(labels: &Labels) -> Option<String> {
    let name = labels.metric_name();
    if let Some(b) = name.strip_suffix("_bucket") {
        return labels.has("le").then(|| b.to_string());
    }
    name.strip_suffix("_sum")
        .or_else(|| name.strip_suffix("_count"))
        .map(str::to_string)
}
