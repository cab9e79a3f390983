//! Exposition parsing alone (`scraper::textparse`), without target labels, relabeling or
//! appends: bytes and samples per second for recorded payloads.
//!
//! Payloads: a body recorded from the Debian node exporter 1.5 (`benches/testdata/`, text
//! 0.0.4), the conformance data's `alltypes.237mfs.prom.txt` (text) and
//! `alltypes.5mfs.om.txt` (OpenMetrics), and the whole 42-minute recording of
//! `shared/datasets/exporters-42m-5s.om.gz` (OpenMetrics with timestamps, decompressed once).
//!
//! * `raw/<payload>`: `Parser::next_raw`, the scrape loop's path: each sample's series is left
//!   as one string, the key of the scraper's cache (labels are split only for new series);
//! * `labels/<payload>`: the `Parser` iterator, every sample's labels split and unescaped.

use std::path::Path;

use criterion::{Criterion, SamplingMode, Throughput};
use scraper::textparse::{Entry, Format, Parser, RawEntry};
use vane_benches::{read_gz, shared_path};

struct Payload {
    name: &'static str,
    format: Format,
    text: String,
}

fn payloads() -> Vec<Payload> {
    let td = shared_path("conformance/prometheus/model/textparse/testdata");
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    vec![
        Payload {
            name: "node_exporter.prom",
            format: Format::Text,
            text: read(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/node_exporter-1.5.prom"),
            ),
        },
        Payload {
            name: "alltypes.237mfs.prom",
            format: Format::Text,
            text: read(&td.join("alltypes.237mfs.prom.txt")),
        },
        Payload {
            name: "alltypes.5mfs.om",
            format: Format::OpenMetrics,
            text: read(&td.join("alltypes.5mfs.om.txt")),
        },
        Payload {
            name: "exporters-42m-5s.om",
            format: Format::OpenMetrics,
            text: read_gz(&shared_path("datasets/exporters-42m-5s.om.gz")),
        },
    ]
}

/// Samples in `p`, by the raw path; panics on a parse error.
fn parse_raw(p: &Payload) -> u64 {
    let mut parser = Parser::new(&p.text, p.format);
    let mut n = 0;
    while let Some(e) = parser.next_raw() {
        if let RawEntry::Sample(s) = e.unwrap() {
            std::hint::black_box(s);
            n += 1;
        }
    }
    n
}

/// Samples in `p`, with labels split; panics on a parse error.
fn parse_labels(p: &Payload) -> u64 {
    let mut n = 0;
    for e in Parser::new(&p.text, p.format) {
        if let Entry::Sample(s) = e.unwrap() {
            std::hint::black_box(s);
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("exposition");
    for p in payloads() {
        let samples = parse_raw(&p);
        assert_eq!(samples, parse_labels(&p), "{}", p.name);
        g.throughput(Throughput::ElementsAndBytes {
            elements: samples,
            bytes: p.text.len() as u64,
        });
        // The recording takes a good part of a second per parse.
        if p.text.len() > 1 << 20 {
            g.sample_size(10).sampling_mode(SamplingMode::Flat);
        } else {
            g.sample_size(50).sampling_mode(SamplingMode::Auto);
        }
        g.bench_function(format!("raw/{}", p.name), |b| b.iter(|| parse_raw(&p)));
        g.bench_function(format!("labels/{}", p.name), |b| {
            b.iter(|| parse_labels(&p))
        });
    }
    g.finish();
}

vane_benches::short_criterion_main!(bench);
