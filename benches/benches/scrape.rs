//! Scrape ingestion end to end: parse + target labels + metric relabeling + append + commit
//! into a real head with its WAL on, per scrape body, as a scrape loop does it after the
//! HTTP fetch.
//!
//! Bodies: the exposition payloads of the shared conformance data and a body recorded from the
//! Debian `prometheus-node-exporter` 1.5 on this machine (`benches/testdata/`). Each is
//! scraped repeatedly (15 s apart) with its values changed on every scrape, so the chunks see
//! real deltas.
//!
//! * `scrape/warm/<body>`: the steady state, every series known from the previous scrape;
//! * `scrape/cold/<body>`: the first scrape of a target into a fresh store (every series new).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use model::Labels;
use model::metrics::Registry;
use scraper::relabel::RelabelConfig;
use scraper::scrape::{Cache, SampleRules, append_body};
use scraper::textparse::Format;
use tsdb::{Head, HeadOptions};

struct Body {
    name: &'static str,
    format: Format,
    /// Variants of the body with different values.
    variants: Vec<String>,
    samples: u64,
}

/// `k` copies of `text` whose sample values differ by `i` in copy `i`.
fn variants(text: &str, k: usize) -> Vec<String> {
    (0..k)
        .map(|i| {
            let mut out = String::with_capacity(text.len() + 64);
            for line in text.lines() {
                if line.starts_with('#') || line.trim().is_empty() {
                    out.push_str(line);
                } else {
                    // The value is the first field after the series (which ends at `}` or the
                    // first space).
                    let series_end = line
                        .rfind('}')
                        .map_or_else(|| line.find(' ').unwrap_or(line.len()), |p| p + 1);
                    let (series, rest) = line.split_at(series_end);
                    let mut fields = rest.split_whitespace();
                    let v = fields.next().unwrap_or("0");
                    let nv = match v.parse::<f64>() {
                        Ok(x) if x.is_finite() => format!("{}", x + i as f64),
                        _ => v.to_string(),
                    };
                    out.push_str(series);
                    out.push(' ');
                    out.push_str(&nv);
                    for f in fields {
                        out.push(' ');
                        out.push_str(f);
                    }
                }
                out.push('\n');
            }
            out
        })
        .collect()
}

fn load(name: &'static str, path: PathBuf, format: Format) -> Body {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let samples = scraper::textparse::Parser::new(&text, format)
        .filter(|e| matches!(e, Ok(scraper::textparse::Entry::Sample(_))))
        .count() as u64;
    Body {
        name,
        format,
        variants: variants(&text, 16),
        samples,
    }
}

fn bodies() -> Vec<Body> {
    let td = vane_benches::shared_path("conformance/prometheus/model/textparse/testdata");
    vec![
        load(
            "node_exporter",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/node_exporter-1.5.prom"),
            Format::Text,
        ),
        load(
            "alltypes.237mfs.prom",
            td.join("alltypes.237mfs.prom.txt"),
            Format::Text,
        ),
        load(
            "alltypes.5mfs.om",
            td.join("alltypes.5mfs.om.txt"),
            Format::OpenMetrics,
        ),
    ]
}

fn rules() -> SampleRules {
    let relabel: Vec<RelabelConfig> = yaml_relabel(
        "- source_labels: [__name__]\n  regex: 'go_memstats_.*_sys_bytes'\n  action: drop\n- regex: 'id'\n  action: labeldrop\n",
    );
    SampleRules {
        honor_labels: false,
        // The payloads' own timestamps would repeat across scrapes.
        honor_timestamps: false,
        metric_relabel_configs: relabel,
        sample_limit: 0,
        label_limit: 0,
        label_name_length_limit: 0,
        label_value_length_limit: 0,
    }
}

fn yaml_relabel(y: &str) -> Vec<RelabelConfig> {
    scraper::relabel::parse_list(y).unwrap()
}

fn target() -> Labels {
    Labels::from_pairs([("instance", "127.0.0.1:9100"), ("job", "node")])
}

fn open_head(dir: &Path) -> Arc<Head> {
    Head::open(dir, HeadOptions::default(), &Registry::new(), i64::MIN).unwrap()
}

fn bench(c: &mut Criterion) {
    let rules = rules();
    let target = target();
    let mut g = c.benchmark_group("scrape");
    g.sample_size(20);
    for body in bodies() {
        g.throughput(Throughput::Elements(body.samples));
        let dir = tempfile::tempdir().unwrap();
        let head = open_head(dir.path());
        let mut cache = Cache::default();
        let mut k = 0usize;
        g.bench_function(format!("warm/{}", body.name), |b| {
            b.iter(|| {
                k += 1;
                let mut app = head.appender();
                append_body(
                    &mut app,
                    &mut cache,
                    &body.variants[k % body.variants.len()],
                    body.format,
                    k as i64 * 15_000,
                    &target,
                    &rules,
                )
                .1
                .unwrap();
                model::Appender::commit(&mut app).unwrap();
            })
        });
        g.bench_function(format!("cold/{}", body.name), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let head = open_head(dir.path());
                    (dir, head, Cache::default())
                },
                |(dir, head, mut cache)| {
                    let mut app = head.appender();
                    append_body(
                        &mut app,
                        &mut cache,
                        &body.variants[0],
                        body.format,
                        15_000,
                        &target,
                        &rules,
                    )
                    .1
                    .unwrap();
                    model::Appender::commit(&mut app).unwrap();
                    (dir, head)
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
