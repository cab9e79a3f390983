//! Request bodies: a batch of queued samples as a `prometheus.WriteRequest` (remote write
//! 1.0), protobuf-encoded and snappy block-compressed.
//!
//! The samples of one series in a batch go into one `TimeSeries` (in their order, which is
//! time order), instead of one `TimeSeries` per sample as Prometheus sends them: the
//! protocol allows it and the labels are then sent once per batch. Each series' labels are
//! encoded once, when its series record is read, and copied into every request as bytes; the
//! tests check the result against the `proto::prompb` messages.

use std::collections::HashMap;
use std::sync::Arc;

use model::Labels;
use prost::encoding::{WireType, encode_key, encode_varint, message};
use proto::prompb::{Label, Sample};

use super::series::SeriesOut;

/// Field numbers of `prometheus.WriteRequest.timeseries` and `TimeSeries.{labels,samples}`.
const WRITE_REQUEST_TIMESERIES: u32 = 1;
const TIMESERIES_LABELS: u32 = 1;
const TIMESERIES_SAMPLES: u32 = 2;

/// The `TimeSeries.labels` fields of a label set (sorted by name, as `Labels` are).
pub fn encode_labels(labels: &Labels) -> Box<[u8]> {
    let mut buf = Vec::new();
    for l in labels {
        let label = Label {
            name: l.name.to_string(),
            value: l.value.to_string(),
        };
        message::encode(TIMESERIES_LABELS, &label, &mut buf);
    }
    buf.into_boxed_slice()
}

/// One queued sample. `seq` numbers the WAL record it came from (for acknowledgements).
#[derive(Debug, Clone)]
pub struct Item {
    pub seq: u64,
    pub series: Arc<SeriesOut>,
    pub t: i64,
    pub v: f64,
}

/// An encoded request.
#[derive(Debug)]
pub struct Encoded<'a> {
    pub body: &'a [u8],
    /// The newest sample time in the request (ms).
    pub highest: i64,
}

/// Builds request bodies, reusing its buffers from one batch to the next.
pub struct RequestEncoder {
    index: HashMap<u64, usize>,
    group_of: Vec<usize>,
    counts: Vec<usize>,
    firsts: Vec<usize>,
    starts: Vec<usize>,
    order: Vec<usize>,
    pb: Vec<u8>,
    body: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl RequestEncoder {
    pub fn new() -> Self {
        RequestEncoder {
            index: HashMap::new(),
            group_of: Vec::new(),
            counts: Vec::new(),
            firsts: Vec::new(),
            starts: Vec::new(),
            order: Vec::new(),
            pb: Vec::new(),
            body: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }

    pub fn encode(&mut self, batch: &[Item]) -> Encoded<'_> {
        // Group the samples by series, series in order of first appearance.
        self.index.clear();
        self.group_of.clear();
        self.counts.clear();
        self.firsts.clear();
        let mut highest = i64::MIN;
        for (i, it) in batch.iter().enumerate() {
            let next = self.counts.len();
            let g = *self.index.entry(it.series.id).or_insert(next);
            if g == next {
                self.counts.push(0);
                self.firsts.push(i);
            }
            self.counts[g] += 1;
            self.group_of.push(g);
            highest = highest.max(it.t);
        }
        self.starts.clear();
        let mut at = 0;
        for c in &self.counts {
            self.starts.push(at);
            at += c;
        }
        self.order.clear();
        self.order.resize(batch.len(), 0);
        let mut fill = std::mem::take(&mut self.starts);
        let starts = fill.clone();
        for (i, g) in self.group_of.iter().enumerate() {
            self.order[fill[*g]] = i;
            fill[*g] += 1;
        }
        self.starts = starts;

        self.pb.clear();
        for g in 0..self.counts.len() {
            let series = &batch[self.firsts[g]].series;
            let items = &self.order[self.starts[g]..self.starts[g] + self.counts[g]];
            let sample = |i: usize| Sample {
                value: batch[i].v,
                timestamp: batch[i].t,
            };
            let len = series.labels_pb.len()
                + items
                    .iter()
                    .map(|i| message::encoded_len(TIMESERIES_SAMPLES, &sample(*i)))
                    .sum::<usize>();
            encode_key(
                WRITE_REQUEST_TIMESERIES,
                WireType::LengthDelimited,
                &mut self.pb,
            );
            encode_varint(len as u64, &mut self.pb);
            self.pb.extend_from_slice(&series.labels_pb);
            for i in items {
                message::encode(TIMESERIES_SAMPLES, &sample(*i), &mut self.pb);
            }
        }
        self.body.clear();
        self.body
            .resize(snap::raw::max_compress_len(self.pb.len()), 0);
        let n = self
            .snappy
            .compress(&self.pb, &mut self.body)
            .expect("the output buffer has the maximum compressed size");
        self.body.truncate(n);
        Encoded {
            body: &self.body,
            highest,
        }
    }
}

#[cfg(test)]
mod tests {
    use proto::Message;
    use proto::prompb::{TimeSeries, WriteRequest};

    use super::*;

    fn series(id: u64, name: &str) -> Arc<SeriesOut> {
        let l = Labels::from_pairs([("__name__", name), ("job", "j"), ("a", "1")]);
        Arc::new(SeriesOut {
            id,
            labels_pb: encode_labels(&l),
        })
    }

    fn label(n: &str, v: &str) -> Label {
        Label {
            name: n.into(),
            value: v.into(),
        }
    }

    fn decode(body: &[u8]) -> WriteRequest {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        WriteRequest::decode(&raw[..]).unwrap()
    }

    #[test]
    fn samples_are_grouped_by_series_with_sorted_labels() {
        let (a, b) = (series(1, "a"), series(2, "b"));
        let item = |s: &Arc<SeriesOut>, t: i64, v: f64| Item {
            seq: 0,
            series: s.clone(),
            t,
            v,
        };
        let stale = model::stale_nan();
        let batch = vec![
            item(&a, 1000, 1.0),
            item(&b, 1000, 0.0),
            item(&a, 2000, stale),
            item(&b, 2000, -3.5),
            item(&a, 3000, f64::INFINITY),
        ];
        let mut enc = RequestEncoder::new();
        let e = enc.encode(&batch);
        assert_eq!(e.highest, 3000);
        let req = decode(e.body);
        let labels = |n: &str| vec![label("__name__", n), label("a", "1"), label("job", "j")];
        let want = WriteRequest {
            timeseries: vec![
                TimeSeries {
                    labels: labels("a"),
                    samples: vec![
                        Sample {
                            value: 1.0,
                            timestamp: 1000,
                        },
                        Sample {
                            value: stale,
                            timestamp: 2000,
                        },
                        Sample {
                            value: f64::INFINITY,
                            timestamp: 3000,
                        },
                    ],
                    ..Default::default()
                },
                TimeSeries {
                    labels: labels("b"),
                    samples: vec![
                        Sample {
                            value: 0.0,
                            timestamp: 1000,
                        },
                        Sample {
                            value: -3.5,
                            timestamp: 2000,
                        },
                    ],
                    ..Default::default()
                },
            ],
            metadata: vec![],
        };
        // NaN != NaN: compare the stale marker's bits, then the rest.
        assert_eq!(
            req.timeseries[0].samples[1].value.to_bits(),
            model::STALE_NAN_BITS
        );
        let mut req2 = req.clone();
        req2.timeseries[0].samples[1].value = 0.0;
        let mut want2 = want.clone();
        want2.timeseries[0].samples[1].value = 0.0;
        assert_eq!(req2, want2);
        // Byte for byte what prost encodes for the same message.
        let raw = snap::raw::Decoder::new().decompress_vec(e.body).unwrap();
        assert_eq!(raw, want.encode_to_vec());
        // The encoder's buffers are reused.
        let e = enc.encode(&batch[..1]);
        assert_eq!(decode(e.body).timeseries.len(), 1);
    }
}
