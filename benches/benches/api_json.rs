//! Encoding query results as the Prometheus API's JSON: a range-query matrix of 1,000
//! series × 240 points (one hour at 15 s) with counter-like whole values and rates.
//! Throughput is in points.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::Labels;
use promql::{Annotations, RangeSeries, Value};

fn matrix(whole: bool) -> Value {
    Value::Matrix(
        (0..1_000)
            .map(|i| RangeSeries {
                labels: Labels::from_pairs([
                    ("__name__", "http_requests_total".to_string()),
                    ("instance", format!("host-{i}:8080")),
                    ("job", "api".to_string()),
                ]),
                points: (0..240)
                    .map(|k| {
                        let t = 1_700_000_000_000 + k * 15_000;
                        let v = if whole {
                            (k * (i + 3)) as f64
                        } else {
                            (k * (i + 3)) as f64 / 7.0
                        };
                        (t, v)
                    })
                    .collect(),
            })
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("api_json");
    g.throughput(Throughput::Elements(240_000));
    for (name, whole) in [("whole_values", true), ("fractional_values", false)] {
        let v = matrix(whole);
        let annos = Annotations::default();
        g.bench_function(name, |b| b.iter(|| api::encode_query_success(&v, &annos)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
