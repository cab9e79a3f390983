//! PromQL over the HTTP API, end to end: the same data backfilled into Vane (`vane tsdb
//! import`) and into a real Prometheus 2.42 (`promtool tsdb create-blocks-from openmetrics`),
//! the same dashboard queries sent to both, the answers compared; errors in Prometheus's
//! shape; `promtool query` as a client of both.
//!
//! Prometheus 2.42 closes range windows on the left (`[t-d, t]`), Prometheus 3 and Vane open
//! them (`(t-d, t]`). Every sample here lies at 7 s past a multiple of 15 s and every query
//! time on a whole minute, so no window edge ever meets a sample and both semantics agree.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::harness::{Vane, http, post_form, vane};
use crate::peers::{Peer, run_ok};

/// First sample time (s): 7 s past a multiple of 15 s.
pub const T0: i64 = 1_699_999_987;
/// Two hours of samples every 15 s.
const POINTS: i64 = 480;
/// Query times: whole minutes in the second hour, so that no window (the longest is a 30m
/// subquery over 5m rates) reaches back before the data. There Prometheus 3 (and Vane)
/// extrapolate `rate` differently from 2.42: 3.x caps the extrapolation at half an interval
/// before clamping at the counter's zero point, 2.42 clamps first.
const AT: [i64; 3] = [1_700_004_000, 1_700_005_500, 1_700_007_000];
const RANGE: (i64, i64, i64) = (1_700_003_600, 1_700_007_200, 60);

/// The dataset as OpenMetrics with timestamps: counters (one with a reset, one that stops
/// half-way), a classic histogram and noisy gauges.
fn dataset() -> String {
    let mut out = String::new();
    out.push_str("# TYPE demo_requests counter\n");
    for job in ["api", "web"] {
        for inst in 0..3 {
            for code in ["200", "500"] {
                let base = if code == "200" {
                    5 + inst * 3
                } else {
                    1 + inst
                };
                let rate = base + i64::from(job == "web") * 2;
                let mut v = 0i64;
                for k in 0..POINTS {
                    if job == "web" && inst == 2 && code == "500" && k > POINTS / 2 {
                        break; // the series ends: lookback and absence
                    }
                    if job == "api" && inst == 1 && code == "200" && k == 300 {
                        v = 3; // a counter reset
                    }
                    v += rate + (k * 7 + inst) % 4;
                    out.push_str(&format!(
                        "demo_requests_total{{job=\"{job}\",instance=\"host-{inst}:9100\",code=\"{code}\"}} {v} {}\n",
                        T0 + k * 15
                    ));
                }
            }
        }
    }
    out.push_str("# TYPE demo_latency_seconds histogram\n");
    let bounds = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"];
    for job in ["api", "web"] {
        for inst in 0..2 {
            let labels = format!("job=\"{job}\",instance=\"host-{inst}:9100\"");
            for (b, le) in bounds.iter().enumerate() {
                for k in 0..POINTS {
                    let count = k * (b as i64 + 1) * (2 + inst) + k % 3;
                    out.push_str(&format!(
                        "demo_latency_seconds_bucket{{{labels},le=\"{le}\"}} {count} {}\n",
                        T0 + k * 15
                    ));
                }
            }
            for k in 0..POINTS {
                let count = k * 6 * (2 + inst) + k % 3;
                out.push_str(&format!(
                    "demo_latency_seconds_sum{{{labels}}} {} {}\n",
                    count as f64 * 0.21,
                    T0 + k * 15
                ));
            }
            for k in 0..POINTS {
                let count = k * 6 * (2 + inst) + k % 3;
                out.push_str(&format!(
                    "demo_latency_seconds_count{{{labels}}} {count} {}\n",
                    T0 + k * 15
                ));
            }
        }
    }
    out.push_str("# TYPE demo_temperature gauge\n");
    for inst in 0..4 {
        for k in 0..POINTS {
            let v = 20.0 + inst as f64 + ((k * 13 + inst * 5) % 17) as f64 * 0.25;
            out.push_str(&format!(
                "demo_temperature{{instance=\"host-{inst}:9100\"}} {v} {}\n",
                T0 + k * 15
            ));
        }
    }
    out.push_str("# EOF\n");
    out
}

/// The dashboard-like query set both systems answer.
const QUERIES: &[&str] = &[
    "demo_requests_total",
    "rate(demo_requests_total[5m])",
    "irate(demo_requests_total[1m])",
    "increase(demo_requests_total[30m])",
    "sum by (job) (rate(demo_requests_total[5m]))",
    "sum without (instance) (rate(demo_requests_total[5m]))",
    "sum by (job) (rate(demo_requests_total{code=\"500\"}[5m])) / on(job) sum by (job) (rate(demo_requests_total[5m]))",
    "rate(demo_requests_total{code=\"500\"}[5m]) / ignoring(code) group_left rate(demo_requests_total{code=\"200\"}[5m])",
    "histogram_quantile(0.9, sum by (le, job) (rate(demo_latency_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(demo_latency_seconds_bucket[10m]))",
    "rate(demo_latency_seconds_sum[5m]) / rate(demo_latency_seconds_count[5m])",
    "avg_over_time(demo_temperature[10m])",
    "max_over_time(demo_temperature[10m]) - min_over_time(demo_temperature[10m])",
    "quantile_over_time(0.9, demo_temperature[15m])",
    "stddev_over_time(demo_temperature[10m])",
    "deriv(demo_temperature[10m])",
    "predict_linear(demo_temperature[10m], 3600)",
    "changes(demo_temperature[10m])",
    "resets(demo_requests_total[30m])",
    // 29m59s: the subquery's first step never falls on its window's start, where 2.42 (closed)
    // and 3.x (open) differ.
    "max_over_time(sum by (job) (rate(demo_requests_total[5m]))[29m59s:1m])",
    "avg(demo_temperature) by (job)",
    "count by (code) (demo_requests_total)",
    "stddev(demo_temperature)",
    "quantile(0.25, demo_temperature)",
    "count_values(\"celsius\", floor(demo_temperature))",
    "demo_temperature > 23",
    "demo_temperature > bool 23",
    "demo_requests_total offset 10m",
    "demo_requests_total @ 1700005000",
    "label_replace(demo_temperature, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    "absent(nonexistent_metric{job=\"x\"})",
    "vector(1) + time()",
    "scalar(sum(demo_temperature))",
    "round(demo_temperature, 0.5) * 2",
    "clamp(demo_temperature, 21, 23)",
    "topk(3, rate(demo_requests_total[5m]))",
    "bottomk(2, demo_temperature)",
    "demo_temperature and on(instance) demo_temperature > 22",
    "demo_temperature unless demo_temperature > 22",
    "demo_temperature or vector(0)",
];

/// `promtool query <args[0]> http://<addr> <args[1..]>`: its output (it must succeed).
fn promtool_query(addr: &str, args: &[&str]) -> String {
    run_ok(
        std::process::Command::new("promtool")
            .arg("query")
            .arg(args[0])
            .arg(format!("http://{addr}"))
            .args(&args[1..]),
    )
}

/// A GET with an `Accept-Encoding` header: the response head (lower-cased) and body (chunked
/// transfer decoded, content encoding left as it is).
fn raw_get(addr: &str, path: &str, accept_encoding: &str) -> (String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: {accept_encoding}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        // Streamed: `<hex size>\r\n<bytes>\r\n` until a chunk of size 0.
        let (mut plain, mut rest) = (Vec::new(), &body[..]);
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            plain.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = plain;
    }
    (head, body)
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn get_json(addr: &str, path: &str) -> (u16, Value) {
    let r = http(addr, "GET", path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let j = serde_json::from_str(&r.body)
        .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", r.body));
    (r.status, j)
}

/// Series of a result, keyed by their labels: values as `(time, value)` strings.
fn by_series(result: &Value) -> BTreeMap<String, Vec<(f64, String)>> {
    let mut out = BTreeMap::new();
    for s in result.as_array().unwrap() {
        let key = s["metric"].to_string();
        let points: Vec<(f64, String)> = if let Some(v) = s.get("value") {
            vec![(v[0].as_f64().unwrap(), v[1].as_str().unwrap().to_string())]
        } else {
            s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().to_string()))
                .collect()
        };
        assert!(
            out.insert(key.clone(), points).is_none(),
            "duplicate series {key}"
        );
    }
    out
}

fn close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => false,
    }
}

/// Asserts that two successful query responses hold the same data.
fn assert_same(what: &str, ours: &Value, theirs: &Value) {
    assert_eq!(ours["status"], "success", "{what}: vane: {ours}");
    assert_eq!(theirs["status"], "success", "{what}: prometheus: {theirs}");
    let (od, td) = (&ours["data"], &theirs["data"]);
    assert_eq!(od["resultType"], td["resultType"], "{what}");
    match od["resultType"].as_str().unwrap() {
        "scalar" | "string" => {
            assert_eq!(od["result"][0], td["result"][0], "{what}");
            assert!(
                close(
                    od["result"][1].as_str().unwrap(),
                    td["result"][1].as_str().unwrap()
                ),
                "{what}: {} vs {}",
                od["result"],
                td["result"]
            );
        }
        _ => {
            let (o, t) = (by_series(&od["result"]), by_series(&td["result"]));
            assert_eq!(
                o.keys().collect::<Vec<_>>(),
                t.keys().collect::<Vec<_>>(),
                "{what}: different series"
            );
            for (k, op) in &o {
                let tp = &t[k];
                assert_eq!(op.len(), tp.len(), "{what}: {k}: {op:?} vs {tp:?}");
                for (a, b) in op.iter().zip(tp) {
                    assert!(
                        a.0 == b.0 && close(&a.1, &b.1),
                        "{what}: {k}: {a:?} vs {b:?}"
                    );
                }
            }
        }
    }
}

/// Backfills the dataset into a Vane store in `dir/vane` and starts Vane on it with no
/// scrape jobs (`dir/empty.yml`).
pub fn start_vane_with_dataset(dir: &Path) -> Vane {
    let om = dir.join("data.om");
    std::fs::write(&om, dataset()).unwrap();
    let vdata = dir.join("vane");
    let out = vane(&[
        "tsdb",
        "import",
        om.to_str().unwrap(),
        &format!("--storage.tsdb.path={}", vdata.display()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = dir.join("empty.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").unwrap();
    Vane::start_in(&vdata, &[&format!("--config.file={}", cfg.display())])
}

/// Backfills the dataset into a Vane store and a Prometheus store, starts both.
fn start_both(dir: &Path) -> (Vane, Peer) {
    let v = start_vane_with_dataset(dir);
    let om = dir.join("data.om");
    let pdata = dir.join("prom");
    run_ok(
        std::process::Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&pdata),
    );
    let cfg = dir.join("empty.yml");
    let prom = Peer::start(
        "prometheus",
        &[
            &format!("--config.file={}", cfg.display()),
            &format!("--storage.tsdb.path={}", pdata.display()),
            "--web.listen-address={addr}",
        ],
        "/-/ready",
        &dir.join("prometheus.log"),
    );
    (v, prom)
}

#[test]
fn answers_match_prometheus_on_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let (v, prom) = start_both(dir.path());
    let mut compared = 0;
    for q in QUERIES {
        for t in AT {
            let path = format!("/api/v1/query?query={}&time={t}", enc(q));
            let (vs, vj) = get_json(&v.addr, &path);
            let (ps, pj) = get_json(&prom.addr, &path);
            assert_eq!((vs, ps), (200, 200), "{q} at {t}: {vj} / {pj}");
            assert_same(&format!("{q} at {t}"), &vj, &pj);
            compared += 1;
        }
        if q.starts_with("topk") || q.starts_with("bottomk") {
            // Which series win changes per step; both systems agree, but compare instants.
            continue;
        }
        let (s, e, step) = RANGE;
        let form = format!("query={}&start={s}&end={e}&step={step}", enc(q));
        let vr = post_form(&v.addr, "/api/v1/query_range", &form).unwrap();
        let pr = post_form(&prom.addr, "/api/v1/query_range", &form).unwrap();
        assert_eq!(
            (vr.status, pr.status),
            (200, 200),
            "{q}: {} / {}",
            vr.body,
            pr.body
        );
        assert_same(
            &format!("{q} over a range"),
            &serde_json::from_str(&vr.body).unwrap(),
            &serde_json::from_str(&pr.body).unwrap(),
        );
        compared += 1;
    }
    assert!(compared > 150);

    // Order matters for sort and topk in instant queries.
    for q in [
        "sort_desc(demo_temperature)",
        "sort(rate(demo_requests_total[5m]))",
        "topk(4, rate(demo_requests_total[5m]))",
    ] {
        let path = format!("/api/v1/query?query={}&time={}", enc(q), AT[1]);
        let order = |addr: &str| -> Vec<String> {
            let (_, j) = get_json(addr, &path);
            j["data"]["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{} {}", s["metric"], s["value"][1]))
                .collect()
        };
        assert_eq!(order(&v.addr), order(&prom.addr), "{q}: order");
    }

    // Label and series browsing, as Grafana's query editor does it.
    for path in [
        "/api/v1/labels".to_string(),
        format!("/api/v1/labels?match[]={}", enc("demo_temperature")),
        "/api/v1/label/job/values".to_string(),
        "/api/v1/label/__name__/values".to_string(),
        format!(
            "/api/v1/label/instance/values?match[]={}&start={}&end={}",
            enc("demo_requests_total{job=\"web\"}"),
            AT[0],
            AT[2]
        ),
        format!(
            "/api/v1/series?match[]={}",
            enc("demo_latency_seconds_count")
        ),
        format!(
            "/api/v1/series?match[]={}&match[]={}",
            enc("demo_requests_total{code=\"500\"}"),
            enc("demo_temperature")
        ),
    ] {
        let (vs, vj) = get_json(&v.addr, &path);
        let (ps, pj) = get_json(&prom.addr, &path);
        assert_eq!((vs, ps), (200, 200), "{path}: {vj} / {pj}");
        let set = |j: &Value| {
            let mut items: Vec<String> = j["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.to_string())
                .collect();
            items.sort();
            items
        };
        assert!(!set(&vj).is_empty(), "{path}");
        assert_eq!(set(&vj), set(&pj), "{path}");
    }
    let (s, j) = get_json(&v.addr, "/api/v1/series");
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("no match[] parameter provided"))
    );
    let (s, j) = get_json(
        &v.addr,
        &format!(
            "/api/v1/query_exemplars?query={}&start=1700004000.123&end=1700007000.456",
            enc("demo_temperature")
        ),
    );
    assert_eq!((s, j["data"].clone()), (200, serde_json::json!([])), "{j}");
    // Compressed for clients that accept gzip, as Grafana's requests do.
    let path = format!(
        "/api/v1/query?query={}&time={}",
        enc("demo_requests_total"),
        AT[0]
    );
    let (headers, body) = raw_get(&v.addr, &path, "gzip, deflate");
    assert!(headers.contains("content-encoding: gzip"), "{headers}");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text).unwrap();
    let (_, plain) = get_json(&v.addr, &path);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), plain);
    let (s, j) = get_json(&v.addr, "/api/v1/status/buildinfo");
    assert_eq!(s, 200);
    assert!(j["data"]["version"].is_string(), "{j}");

    // promtool, a Prometheus client, prints the same for both servers. (max, not sum: a
    // sum's last bit depends on the order series are added in. promtool's default window is
    // around the current time; the data is from 2023.)
    let q = "max by (job) (rate(demo_requests_total[5m]))";
    let (at, s, e) = (AT[2].to_string(), RANGE.0.to_string(), RANGE.1.to_string());
    let (start, end) = (AT[0].to_string(), AT[2].to_string());
    for (args, expect) in [
        (vec!["instant", q, "--time", &at], "job=\"api\""),
        (
            vec!["range", q, "--start", &s, "--end", &e, "--step", "5m"],
            "job=\"api\"",
        ),
        (
            vec![
                "series",
                "--match",
                "demo_latency_seconds_sum",
                "--start",
                &start,
                "--end",
                &end,
            ],
            "host-",
        ),
        (
            vec!["labels", "instance", "--start", &start, "--end", &end],
            "host-",
        ),
    ] {
        let (ours, theirs) = (
            promtool_query(&v.addr, &args),
            promtool_query(&prom.addr, &args),
        );
        assert!(ours.contains(expect), "{ours}");
        assert_eq!(ours, theirs, "promtool query {}", args[0]);
    }
}

#[test]
fn query_errors_have_prometheus_types_and_leave_the_daemon_running() {
    let dir = tempfile::tempdir().unwrap();
    let (v, prom) = start_both(dir.path());
    let cases: &[(&str, u16, &str)] = &[
        ("/api/v1/query?query=sum(rate(x[5m])", 400, "bad_data"),
        (
            "/api/v1/query?query=rate(demo_temperature)",
            400,
            "bad_data",
        ),
        ("/api/v1/query", 400, "bad_data"),
        ("/api/v1/query?query=up&time=yesterday", 400, "bad_data"),
        (
            "/api/v1/query_range?query=up&start=100&end=50&step=10",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100&step=0",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100000&step=1",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100&step=later",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query?query=demo_requests_total%20%2B%20on()%20demo_temperature&time=1700004000",
            422,
            "execution",
        ),
    ];
    for (path, status, kind) in cases {
        let (vs, vj) = get_json(&v.addr, path);
        let (ps, pj) = get_json(&prom.addr, path);
        assert_eq!((vs, ps), (*status, *status), "{path}: {vj} / {pj}");
        assert_eq!(vj["status"], "error", "{path}");
        assert_eq!(vj["errorType"], *kind, "{path}: {vj}");
        assert_eq!(pj["errorType"], *kind, "{path}: prometheus says {pj}");
        assert!(!vj["error"].as_str().unwrap().is_empty());
    }
    // A huge match[] list is refused as a whole (sent as a form body: too long for a URL).
    let form = vec![format!("match[]={}", enc("demo_temperature")); 1_001].join("&");
    let r = post_form(&v.addr, "/api/v1/series", &form).unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("too many match[] selectors"), "{}", r.body);
    // The messages say what was wrong, and where when that can be told.
    let (_, j) = get_json(&v.addr, "/api/v1/query?query=sum(rate(x[5m])");
    assert_eq!(
        j["error"],
        "invalid parameter \"query\": 1:4: parse error: unclosed left parenthesis"
    );
    let (_, j) = get_json(
        &v.addr,
        "/api/v1/query_range?query=up&start=0&end=100000&step=1",
    );
    assert!(
        j["error"].as_str().unwrap().contains("11,000 points"),
        "{j}"
    );
    let (_, j) = get_json(&v.addr, "/api/v1/query?query=up&time=yesterday");
    assert_eq!(
        j["error"],
        "invalid parameter \"time\": invalid time value for 'time': cannot parse \"yesterday\" to a valid timestamp"
    );

    // A query that would hold too many samples fails alone.
    drop(v); // stopped: its store is reopened with a small sample limit
    let cfg = dir.path().join("empty.yml");
    let small = Vane::start_in(
        &dir.path().join("vane"),
        &[
            &format!("--config.file={}", cfg.display()),
            "--query.max-samples=100",
        ],
    );
    let (s, j) = get_json(
        &small.addr,
        &format!(
            "/api/v1/query?query={}&time=1700004000",
            enc("sum(demo_requests_total[30m])")
        ),
    );
    assert_eq!(s, 400, "{j}"); // a range vector cannot be summed: parse-time error
    let (s, j) = get_json(
        &small.addr,
        &format!(
            "/api/v1/query?query={}&time=1700004000",
            enc("sum(count_over_time(demo_requests_total[30m]))")
        ),
    );
    assert_eq!(
        (s, j["errorType"].as_str()),
        (422, Some("execution")),
        "{j}"
    );
    assert!(
        j["error"].as_str().unwrap().contains("too many samples"),
        "{j}"
    );
    let (s, j) = get_json(
        &small.addr,
        "/api/v1/query?query=count(demo_temperature)&time=1700004000",
    );
    assert_eq!(s, 200, "{j}");
    assert_eq!(j["data"]["result"][0]["value"][1], "4");
    assert_eq!(small.get("/-/healthy").status, 200);
}
