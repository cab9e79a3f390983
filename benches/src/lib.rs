//! Shared helpers for Vane's benchmarks: data generators and measurements.

pub mod fleet;
pub mod funcsim;
pub mod kube_fixture;
pub mod policies;

use std::io::Read;
use std::path::{Path, PathBuf};

use model::Labels;

/// Criterion settings for suites made of many short benchmarks: 1 s of warm-up and 2 s of
/// measurement each, which keeps `cargo bench -p vane-benches` within its time budget.
/// Command-line options still override them.
pub fn short_criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(2))
}

/// `criterion_group!` and `criterion_main!` for a suite that runs with [`short_criterion`].
#[macro_export]
macro_rules! short_criterion_main {
    ($($target:path),+ $(,)?) => {
        criterion::criterion_group! {
            name = benches;
            config = $crate::short_criterion();
            targets = $($target),+
        }
        criterion::criterion_main!(benches);
    };
}

/// `shared/<rel>` beside the repository: the conformance data and the recordings.
pub fn shared_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel)
}

/// The text of a gzip-compressed file.
pub fn read_gz(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

/// Resident set size of this process in bytes, from `/proc/self/status`.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A node_exporter-like label set for series `i`: 100 metric names spread over hosts, with
/// `instance`, `job`, and a per-metric dimension.
pub fn node_like_series(i: usize) -> Labels {
    let metric = i % 100;
    let host = i / 1000;
    let dim = (i / 100) % 10;
    Labels::from_pairs([
        ("__name__", format!("node_metric_{metric}_total")),
        ("instance", format!("host-{host}.example.org:9100")),
        ("job", "node".to_string()),
        ("cpu", dim.to_string()),
        (
            "mode",
            [
                "idle",
                "user",
                "system",
                "iowait",
                "irq",
                "nice",
                "softirq",
                "steal",
                "guest",
                "guest_nice",
            ][dim]
                .to_string(),
        ),
    ])
}

/// A deterministic, realistic sample value for series `i` at scrape `k`: counters that grow
/// by small varying amounts, and some constant gauges.
pub fn value(i: usize, k: usize) -> f64 {
    if i.is_multiple_of(3) {
        (i % 17) as f64
    } else {
        (k * (i % 7 + 1)) as f64 + ((k * 31 + i) % 5) as f64 * 0.25
    }
}

/// Every sample of `series`, scrape by scrape: `points` scrapes `step_ms` apart from
/// `start_ms`; `sample(series, k)` gives a series' labels and value at scrape `k`, if it has
/// one then.
pub fn scrape_by_scrape<'a, S>(
    series: &'a [S],
    start_ms: i64,
    step_ms: i64,
    points: usize,
    sample: impl Fn(&'a S, usize) -> Option<(&'a Labels, f64)> + Copy + 'a,
) -> impl Iterator<Item = (Labels, i64, f64)> + 'a {
    (0..points).flat_map(move |k| {
        let t = start_ms + k as i64 * step_ms;
        series
            .iter()
            .filter_map(move |s| sample(s, k).map(|(l, v)| (l.clone(), t, v)))
    })
}

/// The store the PromQL benchmarks query: 10,000 series over one day at a 15 s interval
/// (5,760 samples each, 57.6 M in all).
///
/// * `http_requests_total{job, instance, code}`: 10 jobs × 400 instances × 2 codes = 8,000
///   counters.
/// * `http_request_duration_seconds_bucket{job, instance, le}`: 10 jobs × 20 instances × 10
///   buckets = 2,000 cumulative bucket counters.
pub mod query_fixture {
    use model::Labels;

    /// Start of the data (2023-11-14T00:00:00Z, a day boundary), ms.
    pub const START_MS: i64 = 1_699_920_000_000;
    /// Scrape interval, ms.
    pub const STEP_MS: i64 = 15_000;
    /// Samples per series (one day).
    pub const POINTS: usize = 5_760;
    /// Time of the last sample, ms.
    pub const END_MS: i64 = START_MS + (POINTS as i64 - 1) * STEP_MS;
    pub const JOBS: usize = 10;
    pub const BUCKETS: [&str; 10] = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ];

    /// One series of the fixture.
    #[derive(Debug, Clone)]
    pub struct FixtureSeries {
        pub labels: Labels,
        /// Growth per scrape of this counter (its average rate × 15 s).
        slope: u64,
        /// Bucket index for histogram series (their counts grow with the bound).
        bucket: Option<usize>,
        seed: u64,
    }

    impl FixtureSeries {
        /// Value at scrape `k`: a counter growing by `slope` ± noise, never decreasing.
        pub fn value(&self, k: usize) -> f64 {
            let k = k as u64;
            let noise = (k.wrapping_mul(2_654_435_761) ^ self.seed) % 3;
            let base = match self.bucket {
                Some(b) => k * self.slope * (b as u64 + 1) / 10,
                None => k * self.slope,
            };
            (base + if k == 0 { 0 } else { noise }) as f64
        }
    }

    /// All 10,000 series, sorted by nothing in particular (generation order).
    pub fn series() -> Vec<FixtureSeries> {
        let mut out = Vec::with_capacity(10_000);
        for job in 0..JOBS {
            for inst in 0..400 {
                for code in ["200", "500"] {
                    let seed = (job * 1_000 + inst * 2 + usize::from(code == "500")) as u64;
                    out.push(FixtureSeries {
                        labels: Labels::from_pairs([
                            ("__name__", "http_requests_total".to_string()),
                            ("job", format!("job-{job}")),
                            ("instance", format!("host-{inst}:8080")),
                            ("code", code.to_string()),
                        ]),
                        slope: if code == "200" { 3 + seed % 7 } else { 3 },
                        bucket: None,
                        seed,
                    });
                }
            }
            for inst in 0..20 {
                for (b, le) in BUCKETS.iter().enumerate() {
                    out.push(FixtureSeries {
                        labels: Labels::from_pairs([
                            (
                                "__name__",
                                "http_request_duration_seconds_bucket".to_string(),
                            ),
                            ("job", format!("job-{job}")),
                            ("instance", format!("host-{inst}:8080")),
                            ("le", le.to_string()),
                        ]),
                        slope: 20 + (inst as u64 % 5),
                        bucket: Some(b),
                        seed: (job * 100 + inst) as u64,
                    });
                }
            }
        }
        out
    }

    /// Every sample, scrape by scrape.
    pub fn samples(series: &[FixtureSeries]) -> impl Iterator<Item = (Labels, i64, f64)> + '_ {
        super::scrape_by_scrape(series, START_MS, STEP_MS, POINTS, |s, k| {
            Some((&s.labels, s.value(k)))
        })
    }

    /// Writes the fixture as OpenMetrics text with timestamps (the input of
    /// `vane tsdb import` and `promtool tsdb create-blocks-from openmetrics`): families
    /// contiguous, each series' samples in time order, `# EOF` at the end.
    pub fn write_openmetrics(w: &mut impl std::io::Write) -> std::io::Result<()> {
        let series = series();
        for (family, kind, pick) in [
            ("http_requests_total", "counter", false),
            ("http_request_duration_seconds", "histogram", true),
        ] {
            let name = family.trim_end_matches("_total");
            writeln!(w, "# TYPE {name} {kind}")?;
            for s in series.iter().filter(|s| s.bucket.is_some() == pick) {
                let mut text = String::new();
                text.push_str(s.labels.metric_name());
                text.push('{');
                let mut first = true;
                for l in s.labels.iter().filter(|l| &*l.name != "__name__") {
                    if !first {
                        text.push(',');
                    }
                    first = false;
                    text.push_str(&format!("{}=\"{}\"", l.name, l.value));
                }
                text.push('}');
                for k in 0..POINTS {
                    let t = START_MS + k as i64 * STEP_MS;
                    writeln!(w, "{text} {} {}.{:03}", s.value(k), t / 1000, t % 1000)?;
                }
            }
        }
        writeln!(w, "# EOF")
    }
}
