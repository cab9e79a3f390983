//! One scrape's body into the store: parse, attach target labels, relabel, check limits,
//! append, and mark as stale what disappeared. Synchronous and allocation-free for series the
//! target has sent before: the cache is keyed on the series text as the target wrote it.

use std::collections::HashMap;
use std::sync::Arc;

use model::storage::{Appender, Error as StorageError, SeriesRef};
use model::{Labels, LabelsBuilder};

use super::notify::{Hit, Interest, NO_HIT};
use super::{FailReason, ScrapeError};
use crate::relabel::{self, RelabelConfig};
use crate::textparse::{Format, Parser, RawEntry, RawSample, is_label_name, series_labels};

type Map<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// The keys are already uniform hashes: use their low bits as they are.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used by the keys; fold anything else in.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What a job's settings say about turning samples into series.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRules {
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub metric_relabel_configs: Vec<RelabelConfig>,
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
}

/// A cached series. Kept small: the cache holds one per series of every target. Its labels
/// are not here: the store gives them back (see [`Appender::stored_labels`]), and while it
/// cannot (no reference yet, or a store that keeps none to share) they are in the cache's
/// [`Cache::labels`].
struct Entry {
    /// The store's reference, or [`NO_REF`].
    r: u64,
    /// The scrape (by number, wrapping) that last reported it.
    seen: u32,
    /// The cache's generation when the series' labels were computed.
    generation: u32,
    /// Reported by the last successful scrape (so it goes stale if it disappears).
    live: bool,
    /// False for samples with their own timestamps: those do not go stale (as in Prometheus).
    tracked: bool,
    /// The index of the metric name in the cache's interest, or [`NO_HIT`].
    hit: Hit,
}

/// The 128-bit hash of a series' text, as two words (so a slot needs no 16-byte alignment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key([u64; 2]);

impl Key {
    fn of(series: &str) -> Key {
        let h = xxhash_rust::xxh3::xxh3_128(series.as_bytes());
        Key([h as u64, (h >> 64) as u64])
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.0[0]);
    }
}

/// A cached series and its key.
struct Slot {
    key: Key,
    e: Entry,
}

const _: () = assert!(std::mem::size_of::<Slot>() <= 40);

/// What a target says of one metric family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricMetadata {
    pub metric: String,
    /// `counter`, `gauge`, `histogram`, `summary`, ... (`unknown` when not given).
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// How often a target's metadata is read again even if its shape did not change.
const METADATA_REFRESH_MS: i64 = 600_000;

/// Folds one metadata line into a scrape's metadata shape (kind and lengths only: no
/// hashing of the text, so it costs the parse loop next to nothing).
#[inline]
fn shape(acc: u64, tag: u64, name: &str, text_len: usize) -> u64 {
    acc.wrapping_mul(0x100_0000_01b3)
        .wrapping_add(tag << 40 | (name.len() as u64) << 20 | text_len as u64)
}

/// The metadata lines of `body`, merged per metric family, in the order they appear.
fn collect_metadata(body: &str, format: Format) -> Vec<MetricMetadata> {
    let mut out: Vec<MetricMetadata> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut parser = Parser::new(body, format);
    while let Some(Ok(entry)) = parser.next_raw() {
        let name = match &entry {
            RawEntry::Help { name, .. }
            | RawEntry::Type { name, .. }
            | RawEntry::Unit { name, .. } => *name,
            RawEntry::Sample(_) => continue,
        };
        let i = *index.entry(name.to_string()).or_insert_with(|| {
            out.push(MetricMetadata {
                metric: name.to_string(),
                kind: "unknown".into(),
                ..MetricMetadata::default()
            });
            out.len() - 1
        });
        let m = &mut out[i];
        match entry {
            RawEntry::Help { text, .. } => m.help = text.into_owned(),
            RawEntry::Type { kind, .. } => m.kind = kind.as_str().to_string(),
            RawEntry::Unit { unit, .. } => m.unit = unit.to_string(),
            RawEntry::Sample(_) => {}
        }
    }
    out
}

/// `Entry::r` before the store has given a reference.
const NO_REF: u64 = u64::MAX;

/// What an entry that keeps no labels passes with its reference.
static NO_LABELS: std::sync::LazyLock<Labels> = std::sync::LazyLock::new(Labels::empty);

impl Entry {
    fn series_ref(&self) -> Option<SeriesRef> {
        (self.r != NO_REF).then_some(SeriesRef(self.r))
    }
}

/// Labels of cached series that the store cannot give back, by key: empty once every series
/// has a reference in a store that keeps its labels.
type KeptLabels = Map<Key, Labels>;

/// The labels of the series `slot`: the cache's copy, or the store's.
fn labels_of(kept: &KeptLabels, slot: &Slot, app: &dyn Appender) -> Option<Labels> {
    match kept.get(&slot.key) {
        Some(l) => Some(l.clone()),
        None => app.stored_labels(slot.e.series_ref()?),
    }
}

/// Per-target memory of series across scrapes, keyed by a 128-bit hash of the series text as
/// the target wrote it (two different texts sharing a 128-bit hash is not a practical
/// concern).
///
/// The series are kept in the order of the last scrape, because a target writes its series
/// in the same order every time: a scrape looks for each series where the previous one was
/// found plus one, and needs a hash table only when the target's output changed shape (a
/// series came or went, or the order moved). So the cache costs its entries and nothing more
/// (a hash table keeps a quarter to a half of its slots empty), and a scrape walks it in
/// memory order.
#[derive(Default)]
pub struct Cache {
    /// The metadata (`# HELP`, `# TYPE`, `# UNIT`) of a recent scrape. It is read again (a
    /// second pass over that body) when the shape of the metadata lines changes, which each
    /// scrape tells from their lengths at the cost of an addition per line, and at least
    /// every ten minutes.
    pub metadata: Arc<Vec<MetricMetadata>>,
    metadata_shape: u64,
    metadata_at: Option<i64>,
    /// The series of the last scrape, in the order the target wrote them.
    series: Vec<Slot>,
    /// The labels of those the store cannot give back.
    labels: KeptLabels,
    /// Series dropped by metric relabeling, so they are not relabeled again.
    dropped: Map<Key, u32>,
    /// The number of this scrape (wrapping; only compared for equality).
    iter: u32,
    /// Bumped when the rules that turn series text into labels change.
    generation: u32,
    /// The interest the entries' `hit` refer to.
    interest: Option<Arc<Interest>>,
    /// The interest indices the last scrape appended samples of: sorted, each once.
    hits: Vec<Hit>,
}

impl Cache {
    /// The rules that make labels from series text changed (`honor_labels`,
    /// `metric_relabel_configs`): every cached series is relabeled when next seen, and the
    /// old series goes stale if its labels changed.
    pub fn rules_changed(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.dropped.clear();
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Follows `interest` from the next scrape on: every cached series learns the index of its
    /// metric name once (a pass over the cache, only when the interest changed; labels the
    /// cache does not keep are asked of `app`'s store).
    pub fn follow(&mut self, interest: Option<Arc<Interest>>, app: &dyn Appender) {
        let same = match (&self.interest, &interest) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if same {
            return;
        }
        for s in &mut self.series {
            s.e.hit =
                labels_of(&self.labels, s, app).map_or(NO_HIT, |l| hit_of(interest.as_deref(), &l));
        }
        self.interest = interest;
    }

    /// Tells the followed interest which of its metrics the last scrape appended; call after
    /// that scrape is committed.
    pub fn committed(&self) {
        if let Some(i) = &self.interest {
            i.committed(&self.hits);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

fn hit_of(interest: Option<&Interest>, labels: &Labels) -> Hit {
    interest.map_or(NO_HIT, |i| i.hit(labels.metric_name()))
}

/// Notes that a sample of `hit` was appended (samples of one family come together, so
/// comparing with the last note removes most repeats).
#[inline]
fn note(hits: &mut Vec<Hit>, hit: Hit) {
    if hit != NO_HIT && hits.last() != Some(&hit) {
        hits.push(hit);
    }
}

/// Counts of one scrape, for the synthetic series.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendStats {
    pub scraped: u64,
    pub post_relabel: u64,
    pub series_added: u64,
    pub rejected_out_of_order: u64,
    pub rejected_out_of_bounds: u64,
    pub rejected_duplicate: u64,
}

fn fail(reason: FailReason, msg: impl Into<String>) -> ScrapeError {
    ScrapeError {
        reason,
        msg: msg.into(),
    }
}

/// The labels of a new series: the sample's labels, the target's labels (conflicts resolved as
/// `honor_labels` says), then metric relabeling. `None` if relabeling dropped it.
fn series_for(
    name: &str,
    sample_labels: &[(&str, std::borrow::Cow<'_, str>)],
    target: &Labels,
    rules: &SampleRules,
) -> Option<LabelsBuilder> {
    let mut lb = LabelsBuilder::with_capacity(sample_labels.len() + target.len() + 1);
    lb.set("__name__", name);
    for (k, v) in sample_labels {
        lb.set(*k, v.as_ref());
    }
    merge_target_labels(&mut lb, target, rules.honor_labels);
    if !rules.metric_relabel_configs.is_empty()
        && !relabel::process(&mut lb, &rules.metric_relabel_configs)
    {
        return None;
    }
    Some(lb)
}

/// Attaches target labels. With `honor`, labels the sample already has win; without, the
/// sample's conflicting labels are kept as `exported_<name>` (prefixed again while that name
/// is taken), shortest names first, as Prometheus does.
pub fn merge_target_labels(lb: &mut LabelsBuilder, target: &Labels, honor: bool) {
    if honor {
        for l in target.iter() {
            if lb.get(&l.name).is_empty() {
                lb.set(l.name.clone(), l.value.clone());
            }
        }
        return;
    }
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for l in target.iter() {
        let existing = lb.get(&l.name);
        if !existing.is_empty() {
            conflicts.push((l.name.to_string(), existing.to_string()));
        }
        lb.set(l.name.clone(), l.value.clone());
    }
    conflicts.sort_by_key(|(n, _)| n.len());
    for (name, value) in conflicts {
        let mut new = name;
        loop {
            new = format!("exported_{new}");
            if lb.get(&new).is_empty() {
                lb.set(new, value);
                break;
            }
        }
    }
}

fn check_limits(lb: &LabelsBuilder, rules: &SampleRules) -> Result<(), ScrapeError> {
    let labels = lb.labels();
    if rules.label_limit > 0 && labels.len() as u64 > rules.label_limit {
        return Err(fail(
            FailReason::LabelLimit,
            format!(
                "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
                lb.get("__name__"),
                labels.len(),
                rules.label_limit
            ),
        ));
    }
    for l in labels {
        if rules.label_name_length_limit > 0 && l.name.len() as u64 > rules.label_name_length_limit
        {
            return Err(fail(
                FailReason::LabelLimit,
                format!(
                    "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                    lb.get("__name__"),
                    l.name,
                    l.name.len(),
                    rules.label_name_length_limit
                ),
            ));
        }
        if rules.label_value_length_limit > 0
            && l.value.len() as u64 > rules.label_value_length_limit
        {
            return Err(fail(
                FailReason::LabelLimit,
                format!(
                    "label_value_length_limit exceeded (metric: {}, label name: {}, value length: {}, limit: {})",
                    lb.get("__name__"),
                    l.name,
                    l.value.len(),
                    rules.label_value_length_limit
                ),
            ));
        }
    }
    Ok(())
}

/// Appends one sample; `Ok(false)` if the store rejected it (counted, not an error).
///
/// `relabel` makes the series' labels again from its text, for when the store no longer knows
/// the reference of an entry that keeps no labels (it dropped the series meanwhile).
fn append_one(
    app: &mut dyn Appender,
    slot: &mut Slot,
    kept: &mut KeptLabels,
    t: i64,
    v: f64,
    stats: &mut AppendStats,
    relabel: impl FnOnce() -> Result<Option<Labels>, ScrapeError>,
) -> Result<bool, ScrapeError> {
    let (key, e) = (slot.key, &mut slot.e);
    let own = kept.get(&key);
    let mut res = app.append(e.series_ref(), own.unwrap_or(&*NO_LABELS), t, v);
    if let (Err(StorageError::UnknownSeriesRef(_)), None) = (&res, own) {
        let Some(labels) = relabel()? else {
            return Ok(false);
        };
        e.r = NO_REF;
        res = app.append(None, &labels, t, v);
        kept.insert(key, labels);
    }
    match res {
        Ok(r) => {
            if e.r != r.0 {
                // A new reference: when the store can give the labels back, it keeps them
                // and the cache does not.
                if let Some(l) = kept.get(&key)
                    && app.stored_labels(r).as_ref() == Some(l)
                {
                    kept.remove(&key);
                }
            }
            e.r = r.0;
            Ok(true)
        }
        Err(StorageError::OutOfOrderSample) => {
            stats.rejected_out_of_order += 1;
            Ok(false)
        }
        Err(StorageError::OutOfBounds) => {
            stats.rejected_out_of_bounds += 1;
            Ok(false)
        }
        Err(StorageError::DuplicateSampleForTimestamp) => {
            stats.rejected_duplicate += 1;
            Ok(false)
        }
        Err(err) => Err(fail(
            FailReason::Storage,
            format!("appending to the store: {err}"),
        )),
    }
}

/// Labels for a series the cache does not know (or knows under other rules): the sample's
/// labels, the target's, metric relabeling, then the checks of a new series. `Ok(None)` if
/// relabeling dropped it.
fn new_series(
    s: &RawSample<'_>,
    target: &Labels,
    rules: &SampleRules,
) -> Result<Option<Labels>, ScrapeError> {
    let sample_labels = series_labels(s.series).map_err(|m| {
        fail(
            FailReason::Parse,
            format!("parse error: {m} in {}", s.series),
        )
    })?;
    let Some(lb) = series_for(s.name, &sample_labels, target, rules) else {
        return Ok(None);
    };
    if lb.get("__name__").is_empty() {
        return Err(fail(
            FailReason::Parse,
            format!("series {} has no metric name after relabeling", s.series),
        ));
    }
    if let Some(l) = lb.labels().iter().find(|l| !is_label_name(&l.name)) {
        return Err(fail(
            FailReason::Parse,
            format!(
                "invalid label name {:?} after relabeling {}",
                l.name, s.series
            ),
        ));
    }
    check_limits(&lb, rules)?;
    Ok(Some(lb.build()))
}

/// Appends a scrape body at time `ts` into `app` and returns its counts with the outcome. On
/// error nothing may be committed: the caller rolls back and then calls [`mark_all_stale`].
/// The counts of a failed scrape are what was read before the failure (all of the body when
/// `sample_limit` was exceeded), as Prometheus reports them.
pub fn append_body(
    app: &mut dyn Appender,
    cache: &mut Cache,
    body: &str,
    format: Format,
    ts: i64,
    target: &Labels,
    rules: &SampleRules,
) -> (AppendStats, Result<(), ScrapeError>) {
    let mut stats = AppendStats::default();
    let mut parser = Parser::new(body, format);
    let mut pass = Pass::default();
    // The counts survive an early return with an error; the closure gives `?` a scope.
    let r = (|| -> Result<(), ScrapeError> {
        cache.iter = cache.iter.wrapping_add(1);
        cache.hits.clear();
        let n = cache.iter;
        let generation = cache.generation;
        let mut over_limit = false;
        let mut meta_shape = 0u64;
        while let Some(entry) = parser.next_raw() {
            let s = match entry {
                Ok(RawEntry::Sample(s)) => s,
                Ok(RawEntry::Help { name, text }) => {
                    meta_shape = shape(meta_shape, 1, name, text.len());
                    continue;
                }
                Ok(RawEntry::Type { name, kind }) => {
                    meta_shape = shape(meta_shape, 2, name, kind as usize);
                    continue;
                }
                Ok(RawEntry::Unit { name, unit }) => {
                    meta_shape = shape(meta_shape, 3, name, unit.len());
                    continue;
                }
                Err(e) => return Err(fail(FailReason::Parse, format!("parse error: {e}"))),
            };
            stats.scraped += 1;
            if over_limit {
                // Past the limit the body is only counted, so the report says how far over it is.
                continue;
            }
            let own_time = rules.honor_timestamps && s.timestamp_ms.is_some();
            let (t, tracked) = match s.timestamp_ms {
                Some(t) if rules.honor_timestamps => (t, false),
                _ => (ts, true),
            };
            let key = Key::of(s.series);
            if let Some(p) = pass.find(&cache.series, key) {
                let slot = pass.slot(&mut cache.series, p);
                if slot.e.seen == n && !own_time {
                    return Err(fail(
                        FailReason::DuplicateSeries,
                        format!("duplicate series in the scrape: {}", s.series),
                    ));
                }
                let mut added = false;
                if slot.e.generation != generation {
                    // The rules changed since this series was cached: the same text may now make
                    // another series (or none), and the old one then ends here.
                    let fresh = new_series(&s, target, rules)?;
                    if fresh.is_none() || fresh != labels_of(&cache.labels, slot, app) {
                        if slot.e.live && slot.e.tracked {
                            stale(app, slot, &cache.labels, ts);
                        }
                        let e = &mut slot.e;
                        match fresh {
                            None => {
                                // Left out of this scrape's order, so it is not kept.
                                e.live = false;
                                cache.labels.remove(&key);
                                cache.dropped.insert(key, n);
                                continue;
                            }
                            Some(labels) => {
                                e.hit = hit_of(cache.interest.as_deref(), &labels);
                                e.r = NO_REF;
                                e.live = false;
                                cache.labels.insert(key, labels);
                                added = true;
                            }
                        }
                    }
                    slot.e.generation = generation;
                }
                if slot.e.seen != n {
                    pass.keep(p);
                }
                let slot = pass.slot(&mut cache.series, p);
                slot.e.seen = n;
                slot.e.tracked = tracked;
                if rules.sample_limit > 0 && stats.post_relabel >= rules.sample_limit {
                    over_limit = true;
                    continue;
                }
                stats.post_relabel += 1;
                note(&mut cache.hits, slot.e.hit);
                let relabel = || new_series(&s, target, rules);
                let kept = &mut cache.labels;
                if append_one(app, slot, kept, t, s.value, &mut stats, relabel)? && added {
                    stats.series_added += 1;
                }
                continue;
            }
            if let Some(seen) = cache.dropped.get_mut(&key) {
                *seen = n;
                continue;
            }
            let Some(labels) = new_series(&s, target, rules)? else {
                cache.dropped.insert(key, n);
                continue;
            };
            if rules.sample_limit > 0 && stats.post_relabel >= rules.sample_limit {
                over_limit = true;
                continue;
            }
            stats.post_relabel += 1;
            let hit = hit_of(cache.interest.as_deref(), &labels);
            note(&mut cache.hits, hit);
            cache.labels.insert(key, labels);
            let p = pass.add(
                &cache.series,
                key,
                Entry {
                    r: NO_REF,
                    seen: n,
                    live: false,
                    tracked,
                    generation,
                    hit,
                },
            );
            let slot = pass.slot(&mut cache.series, p);
            if append_one(app, slot, &mut cache.labels, t, s.value, &mut stats, || {
                Ok(None)
            })? {
                stats.series_added += 1;
            }
        }
        if over_limit {
            return Err(sample_limit(rules));
        }
        // Series that were live and did not come back go stale now.
        for s in &mut cache.series {
            if s.e.seen != n && s.e.live && s.e.tracked {
                stale(app, s, &cache.labels, ts);
            }
            s.e.live = s.e.seen == n;
        }
        for s in &mut pass.added {
            s.e.live = true;
        }
        pass.settle(&mut cache.series, &mut cache.labels, n);
        cache.dropped.retain(|_, seen| *seen == n);
        if cache.hits.len() > 1 {
            cache.hits.sort_unstable();
            cache.hits.dedup();
        }
        if meta_shape != cache.metadata_shape
            || cache
                .metadata_at
                .is_none_or(|at| ts.saturating_sub(at) >= METADATA_REFRESH_MS)
        {
            let fresh = collect_metadata(body, format);
            if fresh != *cache.metadata {
                cache.metadata = Arc::new(fresh);
            }
            cache.metadata_shape = meta_shape;
            cache.metadata_at = Some(ts);
        }
        Ok(())
    })();
    if r.is_err() {
        // Keep every series, the new ones too: the caller marks them all stale, and the next
        // good scrape neither relabels them nor counts them as added.
        pass.keep_all(&mut cache.series);
    }
    (stats, r)
}

/// One scrape's walk over the cache: where the next series is expected, and (once the target's
/// output left the cached order) the order of this scrape and an index by key.
#[derive(Default)]
struct Pass {
    /// The position in the cache where the next series is expected.
    next: usize,
    /// While the series so far are exactly the cache's first `kept`, in order: how many.
    kept: usize,
    /// Positions of the series of this scrape in the order seen, once that differs from the
    /// cache's (positions past the cache's end are `added`).
    order: Option<Vec<u32>>,
    /// Every key's position, built the first time a series is not where it was expected.
    index: Option<Map<Key, u32>>,
    /// Series new in this scrape.
    added: Vec<Slot>,
}

impl Pass {
    /// The position of `key` among the cached and the added series.
    #[inline]
    fn find(&mut self, cached: &[Slot], key: Key) -> Option<usize> {
        if let Some(s) = cached.get(self.next)
            && s.key == key
        {
            self.next += 1;
            return Some(self.next - 1);
        }
        let p = *self.index(cached).get(&key)? as usize;
        self.next = p + 1;
        Some(p)
    }

    #[cold]
    fn index(&mut self, cached: &[Slot]) -> &mut Map<Key, u32> {
        self.index.get_or_insert_with(|| {
            let mut m = Map::with_capacity_and_hasher(cached.len() + 16, Default::default());
            for (i, s) in cached.iter().chain(&self.added).enumerate() {
                m.insert(s.key, i as u32);
            }
            m
        })
    }

    fn slot<'a>(&'a mut self, cached: &'a mut [Slot], p: usize) -> &'a mut Slot {
        match cached.len() {
            len if p < len => &mut cached[p],
            len => &mut self.added[p - len],
        }
    }

    /// Adds a series this scrape brought and returns its position.
    fn add(&mut self, cached: &[Slot], key: Key, e: Entry) -> usize {
        let p = cached.len() + self.added.len();
        self.index(cached).insert(key, p as u32);
        self.added.push(Slot { key, e });
        self.keep(p);
        p
    }

    /// Notes that the series at `p` is the next of this scrape (once per series).
    #[inline]
    fn keep(&mut self, p: usize) {
        match &mut self.order {
            None if p == self.kept => self.kept += 1,
            None => {
                let mut order: Vec<u32> = (0..self.kept as u32).collect();
                order.push(p as u32);
                self.order = Some(order);
            }
            Some(order) => order.push(p as u32),
        }
    }

    /// After a good scrape: the cache becomes this scrape's series in this scrape's order;
    /// the labels it kept of those that went away go with them.
    fn settle(&mut self, cached: &mut Vec<Slot>, labels: &mut KeptLabels, n: u32) {
        match self.order.take() {
            None => {
                // The cache's first `kept` series came in order (then the added ones, if
                // the whole cache did): the rest went away.
                let keep = self.kept.min(cached.len());
                if !labels.is_empty() {
                    for s in &cached[keep..] {
                        labels.remove(&s.key);
                    }
                }
                cached.truncate(keep);
                cached.reserve_exact(self.added.len());
                cached.append(&mut self.added);
            }
            Some(order) => {
                let mut all: Vec<Option<Slot>> = cached
                    .drain(..)
                    .chain(self.added.drain(..))
                    .map(Some)
                    .collect();
                cached.reserve_exact(order.len());
                for p in order {
                    let s = all[p as usize].take().expect("each series kept once");
                    debug_assert_eq!(s.e.seen, n);
                    cached.push(s);
                }
                if !labels.is_empty() {
                    for s in all.iter().flatten() {
                        labels.remove(&s.key);
                    }
                }
            }
        }
        // After a burst of new series (or a store that could not give labels back for a
        // while), the map would keep its room.
        if labels.capacity() > 64 && labels.len() * 4 < labels.capacity() {
            labels.shrink_to_fit();
        }
        if cached.capacity() > cached.len() + cached.len() / 8 + 8 {
            cached.shrink_to_fit();
        }
    }

    /// After a failed scrape: the new series join the cache, nothing leaves it.
    fn keep_all(&mut self, cached: &mut Vec<Slot>) {
        cached.append(&mut self.added);
    }
}

fn sample_limit(rules: &SampleRules) -> ScrapeError {
    fail(
        FailReason::SampleLimit,
        format!("sample_limit exceeded (limit: {})", rules.sample_limit),
    )
}

fn stale(app: &mut dyn Appender, slot: &mut Slot, kept: &KeptLabels, ts: i64) {
    // A rejected marker (the series already has a newer sample, or the store dropped it) is
    // harmless.
    let labels = kept.get(&slot.key).unwrap_or(&*NO_LABELS);
    if let Ok(r) = app.append(slot.e.series_ref(), labels, ts, model::sample::stale_nan()) {
        slot.e.r = r.0;
    }
}

/// After a failed scrape (or when a target goes away): every live series goes stale at `ts`.
/// The cache keeps the series, so the next good scrape neither relabels them nor counts them
/// as added.
pub fn mark_all_stale(app: &mut dyn Appender, cache: &mut Cache, ts: i64) {
    for s in &mut cache.series {
        if s.e.live && s.e.tracked {
            stale(app, s, &cache.labels, ts);
        }
        s.e.live = false;
    }
}

#[cfg(test)]
mod tests;
