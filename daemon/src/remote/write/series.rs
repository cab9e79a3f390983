//! The labels each WAL series is sent with: the series' own labels, plus the external
//! labels it lacks, then `write_relabel_configs` (as Prometheus orders them). Kept per series
//! id, encoded once, and forgotten when a checkpoint shows the series gone from the head.

use std::collections::HashMap;
use std::sync::Arc;

use model::Labels;
use scraper::relabel::RelabelConfig;
use tsdb::wal::RefSeries;

use super::request::encode_labels;

/// A series as it is sent.
#[derive(Debug)]
pub struct SeriesOut {
    /// The WAL's id of the series.
    pub id: u64,
    /// The protobuf encoding of the labels as `TimeSeries.labels` fields (sorted by name).
    pub labels_pb: Box<[u8]>,
}

struct Entry {
    /// `None` when `write_relabel_configs` dropped the series.
    out: Option<Arc<SeriesOut>>,
    /// The newest segment (or checkpoint) that defined the series.
    segment: u32,
    /// The newest sample time queued for the series.
    last_t: i64,
}

/// What a sample's series id resolves to.
pub enum Lookup<'a> {
    /// No series record defined it (counted as unintentionally dropped, as in Prometheus).
    Unknown,
    /// Dropped by `write_relabel_configs`.
    Dropped,
    /// Sent as this series; `last_t` is the newest time queued for it.
    Send {
        series: &'a Arc<SeriesOut>,
        last_t: &'a mut i64,
    },
}

pub struct SeriesCache {
    map: HashMap<u64, Entry>,
    external: Vec<(String, String)>,
    relabel: Vec<RelabelConfig>,
}

impl SeriesCache {
    pub fn new(external: Vec<(String, String)>, relabel: Vec<RelabelConfig>) -> Self {
        SeriesCache {
            map: HashMap::new(),
            external,
            relabel,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// The labels a series is sent with, `None` if relabeling drops it.
    pub fn outgoing_labels(&self, labels: &Labels) -> Option<Labels> {
        let mut b = labels.to_builder();
        for (name, value) in &self.external {
            if b.get(name).is_empty() {
                b.set(name.as_str(), value.as_str());
            }
        }
        scraper::relabel::process(&mut b, &self.relabel).then(|| b.build())
    }

    /// Series records read from `segment`.
    pub fn store(&mut self, series: &[RefSeries], segment: u32) {
        for s in series {
            if let Some(e) = self.map.get_mut(&s.r) {
                // Defined again (a checkpoint, or a second record): same labels, same id.
                e.segment = e.segment.max(segment);
                continue;
            }
            let out = self.outgoing_labels(&s.labels).map(|l| {
                Arc::new(SeriesOut {
                    id: s.r,
                    labels_pb: encode_labels(&l),
                })
            });
            self.map.insert(
                s.r,
                Entry {
                    out,
                    segment,
                    last_t: i64::MIN,
                },
            );
        }
    }

    /// After `checkpoint.N` was read with a reset: series last defined before `N` that the
    /// checkpoint did not define again are gone.
    pub fn reset(&mut self, checkpoint: u32) {
        self.map.retain(|_, e| e.segment >= checkpoint);
    }

    pub fn lookup(&mut self, id: u64) -> Lookup<'_> {
        match self.map.get_mut(&id) {
            None => Lookup::Unknown,
            Some(Entry { out: None, .. }) => Lookup::Dropped,
            Some(Entry {
                out: Some(series),
                last_t,
                ..
            }) => Lookup::Send { series, last_t },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())))
    }

    #[test]
    fn external_labels_are_added_unless_present_then_relabeled() {
        let relabel = scraper::relabel::parse_list(
            "- source_labels: [job]\n  regex: drop-me\n  action: drop\n- regex: secret\n  action: labeldrop\n",
        )
        .unwrap();
        let c = SeriesCache::new(
            vec![
                ("region".into(), "eu".into()),
                ("job".into(), "external".into()),
            ],
            relabel,
        );
        let got = c
            .outgoing_labels(&labels(&[
                ("__name__", "up"),
                ("job", "node"),
                ("secret", "x"),
            ]))
            .unwrap();
        assert_eq!(
            got,
            labels(&[("__name__", "up"), ("job", "node"), ("region", "eu")])
        );
        let got = c.outgoing_labels(&labels(&[("__name__", "up")])).unwrap();
        assert_eq!(
            got,
            labels(&[("__name__", "up"), ("job", "external"), ("region", "eu")])
        );
        assert!(
            c.outgoing_labels(&labels(&[("__name__", "up"), ("job", "drop-me")]))
                .is_none()
        );
    }

    #[test]
    fn a_checkpoint_reset_forgets_series_it_did_not_define_again() {
        let mut c = SeriesCache::new(vec![], vec![]);
        let s = |r: u64| RefSeries {
            r,
            labels: labels(&[("__name__", "m"), ("i", &r.to_string())]),
        };
        c.store(&[s(1), s(2)], 3);
        c.store(&[s(3)], 9);
        // checkpoint.5 still holds series 1.
        c.store(&[s(1)], 5);
        c.reset(5);
        assert!(matches!(c.lookup(1), Lookup::Send { .. }));
        assert!(matches!(c.lookup(2), Lookup::Unknown));
        assert!(matches!(c.lookup(3), Lookup::Send { .. }));
        assert_eq!(c.len(), 2);
    }
}
