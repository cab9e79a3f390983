//! Vane as a remote write receiver and as remote read storage, against the real Prometheus
//! 2.42: Prometheus remote-writes what it scrapes into Vane, reads Vane through
//! `remote_read`, and serves as the reference for raw samples and XOR chunks.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;
use proto::prompb;
use serde_json::Value;

use crate::harness::{Vane, http};
use crate::peers::{Peer, Reply, TargetServer, wait_for};

const STALE: u64 = 0x7ff0_0000_0000_0002;

/// A binary HTTP exchange: status, headers (lower-cased names), body (de-chunked).
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked")
    {
        let (mut out, mut rest) = (Vec::new(), &body[..]);
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n + 2..];
        }
        body = out;
    }
    Raw {
        status,
        headers,
        body,
    }
}

fn snappy(b: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(b).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<prompb::Label> {
    pairs
        .iter()
        .map(|(n, v)| prompb::Label {
            name: n.to_string(),
            value: v.to_string(),
        })
        .collect()
}

fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> prompb::TimeSeries {
    prompb::TimeSeries {
        labels: labels(pairs),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| prompb::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

const WRITE_HEADERS: [(&str, &str); 3] = [
    ("Content-Encoding", "snappy"),
    ("Content-Type", "application/x-protobuf"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

fn write(addr: &str, ts: Vec<prompb::TimeSeries>) -> Raw {
    let req = prompb::WriteRequest {
        timeseries: ts,
        metadata: vec![],
    };
    post(
        addr,
        "/api/v1/write",
        &WRITE_HEADERS,
        &snappy(&req.encode_to_vec()),
    )
}

fn matcher(name: &str, value: &str) -> prompb::LabelMatcher {
    prompb::LabelMatcher {
        r#type: prompb::MatchType::Eq as i32,
        name: name.into(),
        value: value.into(),
    }
}

fn read_raw(addr: &str, queries: Vec<prompb::Query>, types: &[prompb::ResponseType]) -> Raw {
    let req = prompb::ReadRequest {
        queries,
        accepted_response_types: types.iter().map(|t| *t as i32).collect(),
    };
    post(
        addr,
        "/api/v1/read",
        &[
            ("Content-Encoding", "snappy"),
            ("Content-Type", "application/x-protobuf"),
            ("X-Prometheus-Remote-Read-Version", "0.1.0"),
        ],
        &snappy(&req.encode_to_vec()),
    )
}

fn query(start: i64, end: i64, ms: Vec<prompb::LabelMatcher>) -> prompb::Query {
    prompb::Query {
        start_timestamp_ms: start,
        end_timestamp_ms: end,
        matchers: ms,
        hints: None,
    }
}

/// A `SAMPLES` remote read.
fn read_samples(addr: &str, q: prompb::Query) -> prompb::ReadResponse {
    let r = read_raw(addr, vec![q], &[prompb::ResponseType::Samples]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("content-encoding"), Some("snappy"));
    let raw = snap::raw::Decoder::new().decompress_vec(&r.body).unwrap();
    prompb::ReadResponse::decode(raw.as_slice()).unwrap()
}

/// A `STREAMED_XOR_CHUNKS` remote read: the frames, each checked against its CRC32C.
fn read_stream(addr: &str, queries: Vec<prompb::Query>) -> Vec<prompb::ChunkedReadResponse> {
    let r = read_raw(addr, queries, &[prompb::ResponseType::StreamedXorChunks]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
    );
    let mut b = &r.body[..];
    let mut frames = Vec::new();
    while !b.is_empty() {
        let (mut n, mut shift, mut i) = (0usize, 0, 0);
        loop {
            n |= ((b[i] & 0x7f) as usize) << shift;
            i += 1;
            if b[i - 1] < 0x80 {
                break;
            }
            shift += 7;
        }
        let crc = u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
        let msg = &b[i + 4..i + 4 + n];
        assert_eq!(crc32c::crc32c(msg), crc, "frame checksum");
        frames.push(prompb::ChunkedReadResponse::decode(msg).unwrap());
        b = &b[i + 4 + n..];
    }
    frames
}

/// Decodes an XOR chunk of Prometheus's layout (written from its format description).
fn decode_xor(c: &[u8]) -> Vec<(i64, f64)> {
    let mut pos = 16usize;
    let mut bit = || {
        let v = (c[pos / 8] >> (7 - pos % 8)) & 1;
        pos += 1;
        v as u64
    };
    let n = u16::from_be_bytes([c[0], c[1]]) as usize;
    let bits = |k: u32, bit: &mut dyn FnMut() -> u64| (0..k).fold(0u64, |a, _| (a << 1) | bit());
    let uvarint = |bit: &mut dyn FnMut() -> u64| {
        let (mut x, mut s) = (0u64, 0);
        loop {
            let b = (0..8).fold(0u64, |a, _| (a << 1) | bit());
            x |= (b & 0x7f) << s;
            if b < 0x80 {
                return x;
            }
            s += 7;
        }
    };
    let mut out = Vec::new();
    let (mut t, mut d, mut v, mut lead, mut trail) = (0i64, 0i64, 0u64, 0u32, 0u32);
    for i in 0..n {
        if i == 0 {
            let z = uvarint(&mut bit);
            t = ((z >> 1) as i64) ^ -((z & 1) as i64);
            v = bits(64, &mut bit);
            out.push((t, f64::from_bits(v)));
            continue;
        }
        if i == 1 {
            d = uvarint(&mut bit) as i64;
        } else {
            let mut ones = 0;
            while ones < 4 && bit() == 1 {
                ones += 1;
            }
            d += match ones {
                0 => 0,
                4 => bits(64, &mut bit) as i64,
                k => {
                    let w = [14u32, 17, 20][k - 1];
                    let raw = bits(w, &mut bit) as i64;
                    if raw > 1 << (w - 1) {
                        raw - (1 << w)
                    } else {
                        raw
                    }
                }
            };
        }
        t += d;
        if bit() == 1 {
            if bit() == 1 {
                lead = bits(5, &mut bit) as u32;
                let sig = match bits(6, &mut bit) {
                    0 => 64,
                    s => s as u32,
                };
                trail = 64 - lead - sig;
            }
            v ^= bits(64 - lead - trail, &mut bit) << trail;
        }
        out.push((t, f64::from_bits(v)));
    }
    out
}

type Samples = BTreeMap<Vec<(String, String)>, Vec<(i64, u64)>>;

fn key(ls: &[prompb::Label]) -> Vec<(String, String)> {
    ls.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// Series → samples (values as bits, so NaNs compare) of a `SAMPLES` answer's first result.
fn samples_of(r: &prompb::ReadResponse) -> Samples {
    r.results[0]
        .timeseries
        .iter()
        .map(|ts| {
            (
                key(&ts.labels),
                ts.samples
                    .iter()
                    .map(|s| (s.timestamp, s.value.to_bits()))
                    .collect(),
            )
        })
        .collect()
}

/// Series → samples of a streamed answer, chunks decoded and joined.
fn stream_samples(frames: &[prompb::ChunkedReadResponse]) -> Samples {
    let mut out = Samples::new();
    for f in frames {
        for s in &f.chunked_series {
            let e = out.entry(key(&s.labels)).or_default();
            for c in &s.chunks {
                assert_eq!(c.r#type, prompb::ChunkEncoding::Xor as i32);
                let d = decode_xor(&c.data);
                assert_eq!((d[0].0, d[d.len() - 1].0), (c.min_time_ms, c.max_time_ms));
                e.extend(d.iter().map(|&(t, v)| (t, v.to_bits())));
            }
        }
    }
    out
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn get_json(addr: &str, path: &str) -> Value {
    let r = http(addr, "GET", path).unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `data.result` of a query_range, sorted by metric, with `drop` removed from each metric.
fn range_result(addr: &str, q: &str, start: f64, end: f64, step: f64, drop: &str) -> Vec<Value> {
    let j = get_json(
        addr,
        &format!(
            "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
            enc(q)
        ),
    );
    let mut res = j["data"]["result"].as_array().unwrap().clone();
    for r in &mut res {
        r["metric"].as_object_mut().unwrap().remove(drop);
    }
    res.sort_by_key(|r| r["metric"].to_string());
    res
}

fn config(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    format!("--config.file={}", p.display())
}

fn start_prometheus(dir: &Path, name: &str, cfg: &str) -> Peer {
    let cfg = config(dir, &format!("{name}.yml"), cfg);
    Peer::start(
        "prometheus",
        &[
            &cfg,
            &format!("--storage.tsdb.path={}", dir.join(name).display()),
            "--web.listen-address={addr}",
        ],
        "/-/ready",
        &dir.join(format!("{name}.log")),
    )
}

/// (a) Prometheus scrapes a target and remote-writes into Vane: both then hold the same raw
/// samples (staleness markers included) and answer queries alike; Vane's streamed chunks
/// decode to the same samples, and Vane's XOR encoder writes Prometheus's chunks byte for
/// byte.
#[test]
fn prometheus_remote_writes_into_vane() {
    let dir = tempfile::tempdir().unwrap();
    let no_scrape = config(dir.path(), "vane.yml", "scrape_configs: []\n");
    let v = Vane::start(&["--web.enable-remote-write-receiver", &no_scrape]);
    let scrapes = Arc::new(AtomicU64::new(0));
    let n = scrapes.clone();
    let target = TargetServer::start(move |_| {
        let k = n.fetch_add(1, Ordering::SeqCst) + 1;
        let mut body = format!(
            "# TYPE app_requests_total counter\napp_requests_total{{path=\"/a\"}} {}\napp_requests_total{{path=\"/b\"}} {}\n# TYPE app_temp gauge\napp_temp {}\n",
            k * 3,
            k * k,
            (k as f64 * 0.7).sin() * 1e3 / 7.0
        );
        if k < 4 {
            body.push_str("app_flappy 1\n");
        }
        Reply::text(&body)
    });
    let prom = start_prometheus(
        dir.path(),
        "prom",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: app\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: http://{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 200ms\n      min_shards: 1\n      max_shards: 1\n      min_backoff: 50ms\n",
            target.addr, v.addr
        ),
    );
    wait_for(60, "eight scrapes", || scrapes.load(Ordering::SeqCst) >= 8);
    let end = now_ms() - 1500;
    // One shard keeps the order: once Vane has `up` at or after `end`, it has everything
    // scraped before.
    wait_for(30, "Vane to receive the recent samples", || {
        let j = get_json(
            &v.addr,
            "/api/v1/query?query=timestamp(up%7Bjob%3D%22app%22%7D)",
        );
        j["data"]["result"][0]["value"][1]
            .as_str()
            .is_some_and(|t| t.parse::<f64>().unwrap() * 1000.0 >= end as f64)
    });
    let start = end - 60_000;

    // Raw samples through remote read: the same series and the same bits.
    let q = || query(start, end, vec![matcher("job", "app")]);
    let vane = samples_of(&read_samples(&v.addr, q()));
    let theirs = samples_of(&read_samples(&prom.addr, q()));
    assert_eq!(vane, theirs);
    assert!(vane.len() >= 8, "{:?}", vane.keys());
    let flappy = vane
        .iter()
        .find(|(k, _)| k[0].1 == "app_flappy")
        .map(|(_, s)| s.clone())
        .unwrap();
    assert_eq!(flappy.len(), 4, "three values, then the staleness marker");
    assert_eq!(flappy[3].1, STALE);

    // Streamed: the chunks decode to the same samples.
    let frames = read_stream(&v.addr, vec![q()]);
    assert!(
        frames
            .iter()
            .all(|f| f.query_index == 0 && f.chunked_series.len() == 1)
    );
    assert_eq!(stream_samples(&frames), vane);

    // Prometheus's own streamed chunks (whole chunks, maybe reaching past `end`) decode with
    // the same decoder, and Vane's encoder writes the same bytes for their samples.
    let everything = query(0, now_ms() + 3_600_000, vec![matcher("job", "app")]);
    let frames = read_stream(&prom.addr, vec![everything.clone()]);
    let all = samples_of(&read_samples(&prom.addr, everything));
    let mut chunks = 0;
    for f in &frames {
        for s in &f.chunked_series {
            let have = &all[&key(&s.labels)];
            for c in &s.chunks {
                let want: Vec<(i64, f64)> = have
                    .iter()
                    .filter(|(t, _)| (c.min_time_ms..=c.max_time_ms).contains(t))
                    .map(|&(t, v)| (t, f64::from_bits(v)))
                    .collect();
                let got = decode_xor(&c.data);
                assert_eq!(
                    got.iter()
                        .map(|&(t, v)| (t, v.to_bits()))
                        .collect::<Vec<_>>(),
                    want.iter()
                        .map(|&(t, v)| (t, v.to_bits()))
                        .collect::<Vec<_>>()
                );
                assert_eq!(daemon::remote::xor::encode(&want), c.data, "chunk bytes");
                chunks += 1;
            }
        }
    }
    assert!(chunks >= 8);

    // Queries over the received data answer as Prometheus's over its own (instant selectors
    // only: rate() near a series' start differs between Prometheus 2.42 and the 3.x
    // semantics Vane follows).
    let (s, e) = (start as f64 / 1000.0, end as f64 / 1000.0);
    for q in [
        "{job=\"app\"}",
        "sum by (path) (app_requests_total)",
        "app_temp * 2",
    ] {
        assert_eq!(
            range_result(&v.addr, q, s, e, 0.25, ""),
            range_result(&prom.addr, q, s, e, 0.25, ""),
            "{q}"
        );
    }
    let received = v
        .get("/metrics")
        .body
        .lines()
        .find(|l| l.starts_with("vane_remote_write_received_requests_total{code=\"204\"}"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap())
        .unwrap_or(0.0);
    assert!(received >= 2.0, "{}", v.get("/metrics").body);
}

/// (b) A Prometheus with an empty store and Vane as `remote_read` answers as Vane does, with
/// Vane's external labels on every series; matchers on them select as if the series had them.
#[test]
fn prometheus_reads_vane_remotely() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "vane.yml",
        "global:\n  external_labels:\n    region: eu\nscrape_configs: []\n",
    );
    let v = Vane::start(&["--web.enable-remote-write-receiver", &cfg]);
    // Whole seconds ending in 7 ms, so that no sample lies exactly on a lookback edge of the
    // queries below (Prometheus 2.42 counts that edge in, Vane does not).
    let now = now_ms() / 1000 * 1000;
    let t0 = now - 30 * 60_000 + 7;
    let ts: Vec<i64> = (0..116).map(|i| t0 + i * 15_000).collect();
    let w = |pairs: &[(&str, &str)], f: &dyn Fn(usize) -> f64, upto: usize| {
        series(
            pairs,
            &ts[..upto]
                .iter()
                .enumerate()
                .map(|(i, &t)| (t, f(i)))
                .collect::<Vec<_>>(),
        )
    };
    let mut b_gauge = w(
        &[("__name__", "test_gauge"), ("instance", "y"), ("job", "b")],
        &|i| -(i as f64) / 4.0,
        60,
    );
    b_gauge.samples.push(prompb::Sample {
        value: f64::from_bits(STALE),
        timestamp: ts[60],
    });
    let r = write(
        &v.addr,
        vec![
            w(
                &[("__name__", "test_gauge"), ("instance", "x"), ("job", "a")],
                &|i| (i as f64 * 0.3).cos() * 10.0,
                116,
            ),
            b_gauge,
            w(
                &[("__name__", "test_counter"), ("job", "a")],
                &|i| (i * i) as f64,
                116,
            ),
        ],
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let prom = start_prometheus(
        dir.path(),
        "reader",
        &format!(
            "global:\n  scrape_interval: 1h\nremote_read:\n  - url: http://{}/api/v1/read\n    read_recent: true\n",
            v.addr
        ),
    );
    let (s, e) = ((now - 35 * 60_000) as f64 / 1000.0, now as f64 / 1000.0);
    for (pq, vq) in [
        ("test_gauge", "test_gauge"),
        ("test_counter", "test_counter"),
        ("sum by (job) (test_gauge)", "sum by (job) (test_gauge)"),
        ("test_gauge{region=\"eu\"}", "test_gauge"),
        ("test_gauge{region=\"us\"}", "test_gauge{region=\"us\"}"),
        ("test_counter * 2", "test_counter * 2"),
    ] {
        let theirs = range_result(&prom.addr, pq, s, e, 30.0, "region");
        assert_eq!(
            theirs,
            range_result(&v.addr, vq, s, e, 30.0, "region"),
            "{pq}"
        );
        if pq != "test_gauge{region=\"us\"}" {
            assert!(!theirs.is_empty(), "{pq}");
        }
    }
    // Series come back with the external label (aggregations drop it).
    let j = get_json(
        &prom.addr,
        &format!("/api/v1/query?query=test_counter&time={e}"),
    );
    assert_eq!(j["data"]["result"][0]["metric"]["region"], "eu", "{j}");
    assert!(
        v.get("/metrics")
            .body
            .contains("vane_remote_read_requests_total{code=\"200\"}")
    );

    // The same through Vane's own requests: `region="eu"` is looked for as absent, and both
    // answer types carry it back.
    let q = query(
        t0,
        now,
        vec![matcher("__name__", "test_gauge"), matcher("region", "eu")],
    );
    let samples = samples_of(&read_samples(&v.addr, q.clone()));
    assert_eq!(samples.len(), 2);
    assert!(
        samples
            .keys()
            .all(|k| k.contains(&("region".into(), "eu".into())))
    );
    assert_eq!(stream_samples(&read_stream(&v.addr, vec![q])), samples);
    let b = samples
        .iter()
        .find(|(k, _)| k.contains(&("job".into(), "b".into())))
        .unwrap()
        .1;
    assert_eq!(b.len(), 61);
    assert_eq!(b[60], (ts[60], STALE));
}

/// (c) Bodies that do not decode or carry invalid series are refused with 400 and a reason,
/// nothing of them is stored, and the daemon goes on; refused samples are counted; remote
/// read limits answer as Prometheus's do.
#[test]
fn remote_errors_are_answered_and_the_daemon_goes_on() {
    let v = Vane::start(&[
        "--web.enable-remote-write-receiver",
        "--storage.remote.read-sample-limit=100",
        "--storage.remote.read-max-bytes-in-frame=100",
    ]);
    let t = now_ms() - 60_000;
    let good = || series(&[("__name__", "ok_metric"), ("job", "x")], &[(t, 1.0)]);

    let r = post(
        &v.addr,
        "/api/v1/write",
        &WRITE_HEADERS,
        b"\xff\xff\xff\xff\xff\xff",
    );
    assert_eq!(r.status, 400);
    assert!(r.text().starts_with("snappy: "), "{}", r.text());
    let r = post(
        &v.addr,
        "/api/v1/write",
        &WRITE_HEADERS,
        &snappy(b"\x0a\xff\x01junk"),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().starts_with("protobuf: "), "{}", r.text());
    let r = write(
        &v.addr,
        vec![
            good(),
            series(&[("job", "x"), ("__name__", "unsorted")], &[(t, 1.0)]),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("not sorted"), "{}", r.text());
    let r = write(&v.addr, vec![good(), series(&[("job", "x")], &[(t, 1.0)])]);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("no metric name"), "{}", r.text());
    let r = post(
        &v.addr,
        "/api/v1/write",
        &[("Content-Encoding", "zstd")],
        &snappy(b""),
    );
    assert_eq!(r.status, 415);
    let j = get_json(&v.addr, "/api/v1/query?query=ok_metric");
    assert_eq!(j["data"]["result"], serde_json::json!([]), "nothing stored");
    assert_eq!(http(&v.addr, "GET", "/-/ready").unwrap().status, 200);

    // Refused samples: the others are stored, the answer is 400 (not retried).
    assert_eq!(write(&v.addr, vec![good()]).status, 204);
    let mut hist = series(&[("__name__", "h"), ("job", "x")], &[(t, 5.0)]);
    hist.histograms.push(prompb::Histogram {
        timestamp: t,
        ..Default::default()
    });
    let r = write(
        &v.addr,
        vec![
            series(
                &[("__name__", "ok_metric"), ("job", "x")],
                &[(t - 1000, 0.0), (t + 1000, 2.0)],
            ),
            series(&[("__name__", "ok_metric"), ("job", "x")], &[(t, 7.0)]),
            series(
                &[("__name__", "future"), ("job", "x")],
                &[(now_ms() + 3_600_000, 1.0)],
            ),
            hist,
        ],
    );
    assert_eq!(r.status, 400);
    let text = r.text();
    assert!(text.starts_with("out of order sample"), "{text}");
    assert!(
        text.contains("4 samples of this request were not stored (1 out_of_order, 1 out_of_bounds, 1 duplicate, 1 native_histogram)"),
        "{text}"
    );
    let read = |q| samples_of(&read_samples(&v.addr, q));
    let got = read(query(t - 5000, t + 5000, vec![matcher("job", "x")]));
    let got: Vec<_> = got.into_iter().map(|(k, s)| (k[0].1.clone(), s)).collect();
    assert_eq!(
        got,
        [
            ("h".to_string(), vec![(t, 5f64.to_bits())]),
            (
                "ok_metric".to_string(),
                vec![(t, 1f64.to_bits()), (t + 1000, 2f64.to_bits())]
            ),
        ]
    );
    let metrics = v.get("/metrics").body;
    for want in [
        "vane_remote_write_rejected_samples_total{reason=\"invalid_labels\"} 4",
        "vane_remote_write_rejected_samples_total{reason=\"out_of_order\"} 1",
        "vane_remote_write_rejected_samples_total{reason=\"native_histogram\"} 1",
        "vane_remote_write_received_requests_total{code=\"400\"} 5",
    ] {
        assert!(metrics.contains(want), "{want} in\n{metrics}");
    }

    // Remote read: the sample limit, unknown answer types, frames cut by size.
    let many: Vec<(i64, f64)> = (0..300)
        .map(|i| (t - 300_000 + i * 1000, i as f64))
        .collect();
    assert_eq!(
        write(&v.addr, vec![series(&[("__name__", "many")], &many)]).status,
        204
    );
    let q = || query(0, t + 10_000, vec![matcher("__name__", "many")]);
    let r = read_raw(&v.addr, vec![q()], &[prompb::ResponseType::Samples]);
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "exceeded sample limit (100)\n")
    );
    let r = read_raw(&v.addr, vec![q()], &[]);
    assert_eq!(r.status, 400, "no types means SAMPLES");
    let req = prompb::ReadRequest {
        queries: vec![q()],
        accepted_response_types: vec![9],
    };
    let r = post(&v.addr, "/api/v1/read", &[], &snappy(&req.encode_to_vec()));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("does not support"), "{}", r.text());
    let r = post(&v.addr, "/api/v1/read", &[], b"not snappy");
    assert_eq!(r.status, 400);
    // Streamed answers ignore the sample limit; a 100-byte frame holds one chunk here.
    let frames = read_stream(
        &v.addr,
        vec![q(), query(0, t + 10_000, vec![matcher("__name__", "h")])],
    );
    assert_eq!(frames.len(), 4, "three chunks of `many`, one of `h`");
    assert_eq!(
        frames.iter().map(|f| f.query_index).collect::<Vec<_>>(),
        [0, 0, 0, 1]
    );
    let sizes: Vec<usize> = frames[..3]
        .iter()
        .map(|f| decode_xor(&f.chunked_series[0].chunks[0].data).len())
        .collect();
    assert_eq!(sizes, [120, 120, 60]);
    let all = stream_samples(&frames);
    assert_eq!(
        all[&vec![("__name__".to_string(), "many".to_string())]].len(),
        300
    );

    // The receiver is off by default, as in Prometheus.
    let off = Vane::start(&[]);
    let r = write(&off.addr, vec![good()]);
    assert_eq!(r.status, 404);
    assert!(r.text().contains("--web.enable-remote-write-receiver"));
    assert_eq!(http(&v.addr, "GET", "/-/ready").unwrap().status, 200);
}
