//! The append step against a recording appender (the store itself is exercised end to end by
//! the integration tests; here only what the scraper hands it matters).

use model::labels;
use model::storage::{Appender, Error, SeriesRef};

use super::*;

#[derive(Default)]
struct Recorder {
    pending: Vec<(Labels, i64, f64)>,
    committed: Vec<(Labels, i64, f64)>,
    /// By reference; an empty set for a series the store dropped.
    by_ref: Vec<Labels>,
    /// Gives no labels back (as a store that keeps none to share).
    keeps_none: bool,
}

impl Recorder {
    /// Drops the series `name`, as a store's garbage collection does.
    fn forget(&mut self, name: &str) {
        for l in &mut self.by_ref {
            if l.metric_name() == name {
                *l = Labels::empty();
            }
        }
    }
}

impl Appender for Recorder {
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        l: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, Error> {
        let labels = match r {
            Some(r) if !self.by_ref[r.0 as usize].is_empty() => {
                let stored = self.by_ref[r.0 as usize].clone();
                assert!(
                    l.is_empty() || *l == stored,
                    "a cached reference must name the same series"
                );
                stored
            }
            Some(r) if l.is_empty() => return Err(Error::UnknownSeriesRef(r)),
            _ => l.clone(),
        };
        let id = match self.by_ref.iter().position(|x| *x == labels) {
            Some(i) => i,
            None => {
                // The store's own copy, as a store that interns labels keeps one.
                self.by_ref
                    .push(Labels::from_sorted(labels.iter().cloned().collect()));
                self.by_ref.len() - 1
            }
        };
        self.pending.push((labels, t, v));
        Ok(SeriesRef(id as u64))
    }
    fn commit(&mut self) -> Result<(), Error> {
        self.committed.append(&mut self.pending);
        Ok(())
    }
    fn rollback(&mut self) -> Result<(), Error> {
        self.pending.clear();
        Ok(())
    }
    fn stored_labels(&self, r: SeriesRef) -> Option<Labels> {
        if self.keeps_none {
            return None;
        }
        self.by_ref
            .get(r.0 as usize)
            .filter(|l| !l.is_empty())
            .cloned()
    }
}

fn rules() -> SampleRules {
    SampleRules {
        honor_labels: false,
        honor_timestamps: true,
        metric_relabel_configs: Vec::new(),
        sample_limit: 0,
        label_limit: 0,
        label_name_length_limit: 0,
        label_value_length_limit: 0,
    }
}

fn target() -> Labels {
    labels! {"instance" => "h:1", "job" => "j"}
}

fn scrape(
    app: &mut Recorder,
    cache: &mut Cache,
    body: &str,
    ts: i64,
    r: &SampleRules,
) -> Result<AppendStats, ScrapeError> {
    let (stats, res) = append_body(app, cache, body, Format::Text, ts, &target(), r);
    if res.is_err() {
        app.rollback().unwrap();
        mark_all_stale(app, cache, ts);
    }
    app.commit().unwrap();
    res.map(|()| stats)
}

#[test]
fn target_labels_attached_and_conflicts_exported() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    let st = scrape(
        &mut app,
        &mut cache,
        "a{job=\"x\",exported_job=\"y\"} 1\nb 2\n",
        10,
        &rules(),
    )
    .unwrap();
    assert_eq!((st.scraped, st.post_relabel, st.series_added), (2, 2, 2));
    assert_eq!(
        app.committed[0].0,
        labels! {"__name__" => "a", "exported_exported_job" => "x", "exported_job" => "y", "instance" => "h:1", "job" => "j"}
    );
    // honor_labels: the scraped value wins.
    let mut r = rules();
    r.honor_labels = true;
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    scrape(&mut app, &mut cache, "a{job=\"x\"} 1\n", 10, &r).unwrap();
    assert_eq!(
        app.committed[0].0,
        labels! {"__name__" => "a", "instance" => "h:1", "job" => "x"}
    );
}

#[test]
fn disappeared_series_go_stale_and_failures_stale_everything() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    scrape(&mut app, &mut cache, "a 1\nb 1\nc 1 5\n", 10, &rules()).unwrap();
    let st = scrape(&mut app, &mut cache, "a 2\n", 20, &rules()).unwrap();
    assert_eq!(st.series_added, 0);
    let at20: Vec<_> = app.committed.iter().filter(|s| s.1 == 20).collect();
    assert_eq!(at20.len(), 2, "{at20:?}");
    assert_eq!(at20[0].0.metric_name(), "a");
    assert_eq!(at20[1].0.metric_name(), "b");
    assert!(model::sample::is_stale_nan(at20[1].2));
    // `c` carried its own timestamp, so it is not marked stale.
    assert!(
        !app.committed
            .iter()
            .any(|s| s.0.metric_name() == "c" && s.1 == 20)
    );
    // A failed scrape keeps nothing of its body and makes the live series stale.
    let e = scrape(&mut app, &mut cache, "a 3\nb{ 1\n", 30, &rules()).unwrap_err();
    assert_eq!(e.reason, FailReason::Parse);
    let at30: Vec<_> = app.committed.iter().filter(|s| s.1 == 30).collect();
    assert_eq!(at30.len(), 1);
    assert!(at30[0].0.metric_name() == "a" && model::sample::is_stale_nan(at30[0].2));
    // The next good scrape finds the series again, still cached: not counted as added.
    let st = scrape(&mut app, &mut cache, "a 4\n", 40, &rules()).unwrap();
    assert_eq!(st.series_added, 0);
    assert_eq!(app.committed.last().unwrap().2, 4.0);
}

#[test]
fn duplicates_limits_and_relabel_drops_fail_or_filter_as_a_whole() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    scrape(&mut app, &mut cache, "a 1\n", 10, &rules()).unwrap();
    let e = scrape(&mut app, &mut cache, "a 1\nb 2\na 3\n", 20, &rules()).unwrap_err();
    assert_eq!(e.reason, FailReason::DuplicateSeries);
    assert!(
        !app.committed
            .iter()
            .any(|s| s.1 == 20 && !model::sample::is_stale_nan(s.2))
    );

    let mut r = rules();
    r.sample_limit = 2;
    let e = scrape(&mut app, &mut cache, "a 1\nb 2\nc 3\nd 4\n", 30, &r).unwrap_err();
    assert_eq!(e.reason, FailReason::SampleLimit);
    assert!(!app.committed.iter().any(|s| s.1 == 30));
    // The counts still say what the body held, as Prometheus reports them.
    let (st, res) = append_body(
        &mut app,
        &mut cache,
        "a 1\nb 2\nc 3\nd 4\n",
        Format::Text,
        35,
        &target(),
        &r,
    );
    assert!(res.is_err());
    assert_eq!((st.scraped, st.post_relabel), (4, 2));
    app.rollback().unwrap();

    let mut r = rules();
    r.label_limit = 3;
    let e = scrape(&mut app, &mut cache, "a{x=\"1\"} 1\n", 40, &r).unwrap_err();
    assert_eq!(e.reason, FailReason::LabelLimit);
    r.label_limit = 0;
    r.label_value_length_limit = 3;
    assert!(scrape(&mut app, &mut cache, "a{x=\"long\"} 1\n", 50, &r).is_err());

    // metric_relabel_configs drops count as scraped but not as appended.
    let mut r = rules();
    r.metric_relabel_configs =
        yaml_serde::from_str("- source_labels: [__name__]\n  regex: drop_.*\n  action: drop")
            .unwrap();
    r.sample_limit = 1;
    let st = scrape(
        &mut app,
        &mut cache,
        "drop_me 1\ndrop_too 2\nkeep 3\n",
        60,
        &r,
    )
    .unwrap();
    assert_eq!((st.scraped, st.post_relabel), (3, 1));
    let st = scrape(
        &mut app,
        &mut cache,
        "drop_me 1\ndrop_too 2\nkeep 3\n",
        70,
        &r,
    )
    .unwrap();
    assert_eq!((st.scraped, st.post_relabel, st.series_added), (3, 1, 0));
}

#[test]
fn own_timestamps_may_repeat_a_series_and_bad_relabeled_names_fail() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    let st = scrape(&mut app, &mut cache, "a 1 1000\na 2 2000\n", 10, &rules()).unwrap();
    assert_eq!(st.post_relabel, 2);
    let mut r = rules();
    r.metric_relabel_configs =
        crate::relabel::parse_list("- regex: 'x_(.*)'\n  replacement: $1\n  action: labelmap")
            .unwrap();
    let e = scrape(&mut app, &mut cache, "m{x_1=\"v\"} 1\n", 20, &r).unwrap_err();
    assert!(e.msg.contains("invalid label name \"1\""), "{e}");
}

#[test]
fn changed_rules_relabel_cached_series_and_end_the_old_ones() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    scrape(&mut app, &mut cache, "m{a=\"1\"} 1\nn 1\n", 10, &rules()).unwrap();
    let mut r = rules();
    r.metric_relabel_configs = crate::relabel::parse_list(
        "- target_label: extra\n  replacement: x\n- source_labels: [__name__]\n  regex: n\n  action: drop",
    )
    .unwrap();
    cache.rules_changed();
    let st = scrape(&mut app, &mut cache, "m{a=\"1\"} 2\nn 2\n", 20, &r).unwrap();
    assert_eq!((st.post_relabel, st.series_added), (1, 1));
    let at20: Vec<_> = app.committed.iter().filter(|s| s.1 == 20).collect();
    // The old `m` and the dropped `n` end with a marker; the new `m` has the sample.
    assert!(at20.iter().any(|s| s.0.get("extra") == "x" && s.2 == 2.0));
    assert!(at20.iter().any(|s| s.0.metric_name() == "m"
        && s.0.get("extra").is_empty()
        && model::sample::is_stale_nan(s.2)));
    assert!(
        at20.iter()
            .any(|s| s.0.metric_name() == "n" && model::sample::is_stale_nan(s.2))
    );
}

#[test]
fn cached_series_skip_relabeling_but_keep_their_labels() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    let mut r = rules();
    r.metric_relabel_configs =
        yaml_serde::from_str("- target_label: extra\n  replacement: yes").unwrap();
    for ts in [10, 20, 30] {
        scrape(&mut app, &mut cache, "m{a=\"1\"} 1\n", ts, &r).unwrap();
    }
    assert_eq!(app.by_ref.len(), 1);
    assert_eq!(app.committed.len(), 3);
    assert_eq!(app.committed[2].0.get("extra"), "yes");
    assert_eq!(cache.len(), 1);
}

#[test]
fn metadata_is_kept_per_family_and_read_again_when_it_changes() {
    let mut app = Recorder::default();
    let mut cache = Cache::default();
    let r = rules();
    let body =
        "# HELP a_total Requests.\n# TYPE a_total counter\na_total 1\n# TYPE b gauge\nb 2\nc 3\n";
    scrape(&mut app, &mut cache, body, 1000, &r).unwrap();
    let first = cache.metadata.clone();
    assert_eq!(
        *first,
        vec![
            MetricMetadata {
                metric: "a_total".into(),
                kind: "counter".into(),
                help: "Requests.".into(),
                unit: String::new(),
            },
            MetricMetadata {
                metric: "b".into(),
                kind: "gauge".into(),
                help: String::new(),
                unit: String::new(),
            },
        ]
    );
    // Other values, same metadata: nothing read again.
    let body2 = body.replace("a_total 1", "a_total 5");
    scrape(&mut app, &mut cache, &body2, 16_000, &r).unwrap();
    assert!(Arc::ptr_eq(&first, &cache.metadata));
    // Changed help text: read again at once.
    let body3 = body.replace("Requests.", "All requests.");
    scrape(&mut app, &mut cache, &body3, 31_000, &r).unwrap();
    assert_eq!(cache.metadata[0].help, "All requests.");
    // A same-length edit is caught by the ten-minute refresh.
    let body4 = body3.replace("All requests.", "All requests!");
    scrape(&mut app, &mut cache, &body4, 46_000, &r).unwrap();
    assert_eq!(cache.metadata[0].help, "All requests.");
    scrape(&mut app, &mut cache, &body4, 31_000 + 600_000, &r).unwrap();
    assert_eq!(cache.metadata[0].help, "All requests!");
}

/// What each committed scrape reported, in order.
type Reports = Arc<std::sync::Mutex<Vec<Vec<u32>>>>;

/// An interest in `names` that records what each committed scrape reported.
fn listening(names: &[&str]) -> (Arc<Interest>, Reports) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let i = Interest::new(names.iter().map(|n| n.to_string()).collect(), move |h| {
        s.lock().unwrap().push(h.to_vec())
    });
    (Arc::new(i), seen)
}

#[test]
fn a_committed_scrape_names_the_metrics_of_interest_it_carried() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    let (interest, seen) = listening(&["load", "queue", "absent"]);
    cache.follow(Some(interest.clone()), &app);
    let body = "queue{f=\"a\"} 1\nother 2\nload{f=\"a\"} 3\nload{f=\"b\"} 4\nqueue{f=\"b\"} 5\n";
    scrape(&mut app, &mut cache, body, 10, &rules()).unwrap();
    cache.committed();
    // Sorted, each once, and only what the scrape carried.
    assert_eq!(*seen.lock().unwrap(), vec![vec![0, 1]]);

    // Cached series keep their mark; a scrape without those metrics reports nothing.
    scrape(&mut app, &mut cache, "load{f=\"a\"} 6\n", 20, &rules()).unwrap();
    cache.committed();
    scrape(&mut app, &mut cache, "other 7\n", 30, &rules()).unwrap();
    cache.committed();
    assert_eq!(*seen.lock().unwrap(), vec![vec![0, 1], vec![0]]);

    // A new interest re-marks the cached series once.
    let (other, seen2) = listening(&["other"]);
    scrape(&mut app, &mut cache, "other 8\nload 9\n", 40, &rules()).unwrap();
    cache.follow(Some(other), &app);
    scrape(&mut app, &mut cache, "other 10\nload 11\n", 50, &rules()).unwrap();
    cache.committed();
    assert_eq!(*seen2.lock().unwrap(), vec![vec![0]]);
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the old interest hears nothing more"
    );

    // Without an interest nothing is reported, and nothing breaks.
    cache.follow(None, &app);
    scrape(&mut app, &mut cache, "other 12\n", 60, &rules()).unwrap();
    cache.committed();
    assert_eq!(seen2.lock().unwrap().len(), 1);
}

#[test]
fn relabeled_series_are_marked_by_their_final_name() {
    let mut r = rules();
    r.metric_relabel_configs = vec![
        yaml_serde::from_str(
            "{source_labels: [__name__], regex: raw_load, target_label: __name__, replacement: load}",
        )
        .unwrap(),
    ];
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    let (interest, seen) = listening(&["load"]);
    cache.follow(Some(interest), &app);
    scrape(&mut app, &mut cache, "raw_load 1\n", 10, &r).unwrap();
    cache.committed();
    assert_eq!(*seen.lock().unwrap(), vec![vec![0]]);
}

#[test]
fn the_cache_keeps_no_labels_the_store_can_give_back() {
    let body = "a{x=\"1\"} 1\nb 2\n";
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    scrape(&mut app, &mut cache, body, 1000, &rules()).unwrap();
    assert_eq!(cache.series.len(), 2);
    assert!(cache.labels.is_empty());
    assert_eq!(cached_names(&cache, &app), ["a", "b"]);

    // A store that gives none back: the cache keeps its own.
    let mut app = Recorder {
        keeps_none: true,
        ..Recorder::default()
    };
    let mut cache = Cache::default();
    scrape(&mut app, &mut cache, body, 1000, &rules()).unwrap();
    scrape(&mut app, &mut cache, body, 2000, &rules()).unwrap();
    assert!(
        cache
            .series
            .iter()
            .all(|s| cache.labels.contains_key(&s.key))
    );
    assert_eq!(cached_names(&cache, &app), ["a", "b"]);
    assert_eq!(app.committed.len(), 4);
    // A series that goes away takes its kept labels with it, in order or not.
    scrape(&mut app, &mut cache, "a{x=\"1\"} 3\n", 3000, &rules()).unwrap();
    assert_eq!(cache.labels.len(), 1);
    scrape(&mut app, &mut cache, "c 1\nb 2\n", 4000, &rules()).unwrap();
    assert_eq!(cached_names(&cache, &app), ["c", "b"]);
    assert_eq!(cache.labels.len(), 2);
    assert!(
        cache
            .series
            .iter()
            .all(|s| cache.labels.contains_key(&s.key))
    );
}

#[test]
fn a_series_the_store_dropped_is_appended_by_its_labels_again() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    let body = "a{x=\"1\"} 1\nb 2\n";
    scrape(&mut app, &mut cache, body, 1000, &rules()).unwrap();
    app.forget("a");
    app.committed.clear();
    let st = scrape(&mut app, &mut cache, body, 2000, &rules()).unwrap();
    // Relabeled from its text and found under a new reference, not counted as a new series.
    assert_eq!(st.series_added, 0);
    let a = labels! {"__name__" => "a", "instance" => "h:1", "job" => "j", "x" => "1"};
    assert_eq!(app.committed[0], (a, 2000, 1.0));
    assert_eq!(app.by_ref.len(), 3);
    assert!(cache.labels.is_empty());
    assert_eq!(cached_names(&cache, &app), ["a", "b"]);
    // A stale marker for a dropped series is given up quietly.
    app.forget("b");
    app.committed.clear();
    scrape(&mut app, &mut cache, "a{x=\"1\"} 3\n", 3000, &rules()).unwrap();
    assert_eq!(app.committed.len(), 1);
}

/// The names of the cache's series, in its order.
fn cached_names(cache: &Cache, app: &Recorder) -> Vec<String> {
    cache
        .series
        .iter()
        .map(|s| {
            super::labels_of(&cache.labels, s, app)
                .unwrap()
                .metric_name()
                .to_string()
        })
        .collect()
}

#[test]
fn the_cache_follows_the_order_of_the_last_good_scrape() {
    let (mut app, mut cache) = (Recorder::default(), Cache::default());
    scrape(&mut app, &mut cache, "a 1\nb 1\nc 1\nd 1\n", 10, &rules()).unwrap();
    assert_eq!(cached_names(&cache, &app), ["a", "b", "c", "d"]);
    // Reordered, one gone from the middle, one new in the middle.
    app.committed.clear();
    let st = scrape(&mut app, &mut cache, "c 2\na 2\nx 2\nd 2\n", 20, &rules()).unwrap();
    assert_eq!(cached_names(&cache, &app), ["c", "a", "x", "d"]);
    assert_eq!(st.series_added, 1);
    let stale: Vec<&str> = app
        .committed
        .iter()
        .filter(|(_, _, v)| model::is_stale_nan(*v))
        .map(|(l, _, _)| l.metric_name())
        .collect();
    assert_eq!(stale, ["b"]);
    // The same order again: nothing added, nothing stale, the order kept.
    app.committed.clear();
    let st = scrape(&mut app, &mut cache, "c 3\na 3\nx 3\nd 3\n", 30, &rules()).unwrap();
    assert_eq!((st.series_added, app.committed.len()), (0, 4));
    assert_eq!(cached_names(&cache, &app), ["c", "a", "x", "d"]);
    // A failed scrape keeps every series, the ones new before the failure too, in no
    // particular order; the next good scrape sets the order again.
    scrape(&mut app, &mut cache, "y 4\nc 4\nc 4\n", 40, &rules()).unwrap_err();
    assert_eq!(cache.len(), 5);
    let st = scrape(&mut app, &mut cache, "y 5\nd 5\n", 50, &rules()).unwrap();
    assert_eq!(st.series_added, 0);
    assert_eq!(cached_names(&cache, &app), ["y", "d"]);
}

mod order {
    //! Any sequence of scrapes (series coming, going, moving, repeated, bodies that fail
    //! midway) against a model of what Prometheus's scrape cache does: the samples and
    //! staleness markers committed and the count of new series must match it.
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Body {
        /// Series (by number) in this order; a number may repeat (a duplicate: the scrape
        /// fails there).
        Series(Vec<u8>),
        /// Series, then a line that does not parse.
        Broken(Vec<u8>),
    }

    fn body() -> impl Strategy<Value = Body> {
        let series = prop::collection::vec(0u8..10, 0..10);
        prop_oneof![
            4 => prop::sample::subsequence((0u8..10).collect::<Vec<_>>(), 0..10)
                .prop_shuffle()
                .prop_map(Body::Series),
            1 => series.clone().prop_map(Body::Series),
            1 => series.prop_map(Body::Broken),
        ]
    }

    proptest! {
        #[test]
        fn matches_the_model(bodies in prop::collection::vec(body(), 1..12)) {
            let (mut app, mut cache) = (Recorder::default(), Cache::default());
            // Cached series and whether the last good scrape reported them.
            let mut model: BTreeMap<u8, bool> = BTreeMap::new();
            for (i, b) in bodies.iter().enumerate() {
                let ts = (i as i64 + 1) * 1000;
                let (ids, broken) = match b {
                    Body::Series(s) => (s.clone(), false),
                    Body::Broken(s) => (s.clone(), true),
                };
                let mut text: String = ids.iter().map(|i| format!("s{i} {ts}\n")).collect();
                if broken {
                    text.push_str("bad{ 1\n");
                }
                // Where the model says the scrape fails: the first repeat, or the bad line.
                let mut seen = Vec::new();
                let mut fails_at = broken.then_some(ids.len());
                for (k, id) in ids.iter().enumerate() {
                    if seen.contains(id) {
                        fails_at = Some(k);
                        break;
                    }
                    seen.push(*id);
                }
                app.committed.clear();
                let res = scrape(&mut app, &mut cache, &text, ts, &rules());
                let mut got: Vec<(String, bool)> = app
                    .committed
                    .iter()
                    .map(|(l, _, v)| (l.metric_name().to_string(), model::is_stale_nan(*v)))
                    .collect();
                got.sort();
                let mut want: Vec<(String, bool)> = Vec::new();
                match fails_at {
                    Some(k) => {
                        prop_assert!(res.is_err());
                        for (id, live) in model.iter_mut() {
                            if *live {
                                want.push((format!("s{id}"), true));
                            }
                            *live = false;
                        }
                        for id in &ids[..k] {
                            model.entry(*id).or_insert(false);
                        }
                    }
                    None => {
                        let st = res.expect("a good scrape");
                        let new = ids.iter().filter(|i| !model.contains_key(i)).count();
                        prop_assert_eq!(st.series_added as usize, new);
                        for (id, live) in &model {
                            if *live && !ids.contains(id) {
                                want.push((format!("s{id}"), true));
                            }
                        }
                        want.extend(ids.iter().map(|i| (format!("s{i}"), false)));
                        model = ids.iter().map(|i| (*i, true)).collect();
                        let names: Vec<String> = ids.iter().map(|i| format!("s{i}")).collect();
                        prop_assert_eq!(cached_names(&cache, &app), names);
                    }
                }
                want.sort();
                prop_assert_eq!(got, want, "scrape {} ({:?})", i, b);
                prop_assert_eq!(cache.len(), model.len());
            }
        }
    }
}
