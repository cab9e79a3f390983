//! The JSON Prometheus clients read: the `status`/`data`/`errorType`/`error`/`warnings`/
//! `infos` envelope, values as strings, times as float seconds.

use std::fmt::Write as _;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::labels::Labels;
use promql::{Annotations, QueryResult, QueryStats, Value};

/// An API error: its Prometheus `errorType`, HTTP status and message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub error_type: &'static str,
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_data(message: impl Into<String>) -> Self {
        ApiError {
            error_type: "bad_data",
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            error_type: "unavailable",
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
        }
    }

    pub fn execution(message: impl Into<String>) -> Self {
        ApiError {
            error_type: "execution",
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            error_type: "internal",
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl From<promql::Error> for ApiError {
    fn from(e: promql::Error) -> Self {
        let status = match e {
            promql::Error::BadData(_) => StatusCode::BAD_REQUEST,
            promql::Error::Execution(_) => StatusCode::UNPROCESSABLE_ENTITY,
            promql::Error::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            promql::Error::Canceled(_) => {
                StatusCode::from_u16(499).expect("499 is a valid status code")
            }
            promql::Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            error_type: e.error_type(),
            status,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut out = String::from(r#"{"status":"error","errorType":"#);
        push_str(&mut out, self.error_type);
        out.push_str(r#","error":"#);
        push_str(&mut out, &self.message);
        out.push('}');
        json_response(self.status, out)
    }
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `{"status":"success","data":<data>}` plus any warnings.
pub(crate) fn success(data: &str, warnings: &[String]) -> Response {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str(r#"{"status":"success","data":"#);
    out.push_str(data);
    push_string_list(&mut out, "warnings", warnings);
    out.push('}');
    json_response(StatusCode::OK, out)
}

/// The JSON body of a successful query: `{"status":"success","data":{…}}` with any
/// warnings and infos.
pub fn encode_query_success(value: &Value, annos: &Annotations) -> String {
    encode(value, annos, None)
}

/// [`encode_query_success`] for a whole result, with its statistics if it has them.
pub(crate) fn encode_query_result(res: &QueryResult) -> String {
    encode(&res.value, &res.annotations, res.stats.as_ref())
}

fn encode(value: &Value, annos: &Annotations, stats: Option<&QueryStats>) -> String {
    let points = match value {
        Value::Vector(v) => v.len(),
        Value::Matrix(m) => m.iter().map(|s| s.points.len() + 4).sum(),
        _ => 1,
    };
    let mut out = String::with_capacity(256 + points * 32);
    write_query_success(value, annos, stats, &mut out, &mut |_| true);
    out
}

/// Writes the body of a successful query into `out`, handing it to `sink` whenever it
/// holds [`CHUNK`] bytes or more (the sink drains it; it returns false to stop, when the
/// client has gone). What is left in `out` at the end is the tail.
pub(crate) fn write_query_success(
    value: &Value,
    annos: &Annotations,
    stats: Option<&QueryStats>,
    out: &mut String,
    sink: &mut dyn FnMut(&mut String) -> bool,
) -> bool {
    let mut flush = |out: &mut String| out.len() < CHUNK || sink(out);
    out.push_str(r#"{"status":"success","data":{"resultType":""#);
    out.push_str(value.type_name());
    out.push_str(r#"","result":"#);
    match value {
        Value::Scalar { t, v } => push_point(out, *t, |out| push_float(out, *v)),
        Value::String { t, v } => {
            out.push('[');
            push_time(out, *t);
            out.push(',');
            push_str(out, v);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                push_labels(out, &s.labels);
                out.push_str(r#","value":"#);
                push_point(out, s.t, |out| push_float(out, s.v));
                out.push('}');
                if !flush(out) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            // Consecutive steps often have the same value (a gauge that holds still, the
            // maximum of overlapping windows): its text is copied, not formatted again.
            let mut repeats = LastFloat::default();
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                push_labels(out, &s.labels);
                out.push_str(r#","values":["#);
                for (j, (t, v)) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    push_point(out, *t, |out| repeats.push(out, *v));
                }
                out.push_str("]}");
                if !flush(out) {
                    return false;
                }
            }
            out.push(']');
        }
    }
    if let Some(stats) = stats {
        push_stats(out, stats);
    }
    out.push('}');
    push_string_list(out, "warnings", &annos.warnings);
    push_string_list(out, "infos", &annos.infos);
    out.push('}');
    true
}

/// `,"stats":{…}`: the query's timings in seconds and its sample counts, laid out as
/// Prometheus's `stats.BuiltinStats` (per-step lists only when they were kept).
fn push_stats(out: &mut String, stats: &QueryStats) {
    let t = &stats.timings;
    out.push_str(r#","stats":{"timings":{"#);
    for (i, (key, d)) in [
        ("evalTotalTime", t.eval_total),
        ("resultSortTime", t.result_sort),
        ("queryPreparationTime", t.query_preparation),
        ("innerEvalTime", t.inner_eval),
        ("execQueueTime", t.exec_queue),
        ("execTotalTime", t.exec_total),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#""{key}":"#);
        push_go_json_float(out, d.as_secs_f64());
    }
    let s = &stats.samples;
    out.push_str(r#"},"samples":{"#);
    let per_step = |out: &mut String, key: &str, list: &Option<Vec<(i64, u64)>>| {
        let Some(list) = list.as_deref().filter(|l| !l.is_empty()) else {
            return;
        };
        let _ = write!(out, r#""{key}":"#);
        push_array(out, list, |out, &(t, n)| {
            out.push('[');
            push_go_json_float(out, t as f64 / 1000.0);
            out.push(',');
            push_u64(out, n);
            out.push(']');
        });
        out.push(',');
    };
    per_step(
        out,
        "totalQueryableSamplesPerStep",
        &s.total_queryable_samples_per_step,
    );
    out.push_str(r#""totalQueryableSamples":"#);
    push_u64(out, s.total_queryable_samples);
    out.push(',');
    per_step(out, "samplesReadPerStep", &s.samples_read_per_step);
    out.push_str(r#""samplesRead":"#);
    push_u64(out, s.samples_read);
    out.push_str(r#","peakSamples":"#);
    push_u64(out, s.peak_samples as u64);
    out.push_str("}}");
}

/// A number as Go's `encoding/json` writes a float64: as [`push_float`] does, but with
/// negative exponents unpadded (`1e-7`).
pub(crate) fn push_go_json_float(out: &mut String, v: f64) {
    let start = out.len();
    push_float(out, v);
    if let Some(i) = out[start..].find("e-0") {
        out.remove(start + i + 2);
    }
}

/// Bytes of JSON gathered before a streamed response sends them on.
pub(crate) const CHUNK: usize = 256 * 1024;

pub(crate) fn push_string_list(out: &mut String, key: &str, list: &[String]) {
    if list.is_empty() {
        return;
    }
    let _ = write!(out, r#","{key}":"#);
    push_array(out, list, |out, w| push_str(out, w));
}

/// `[a,b,…]`, each item written by `item`.
pub(crate) fn push_array<T>(out: &mut String, items: &[T], mut item: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, x);
    }
    out.push(']');
}

/// A JSON string literal. Label names and values rarely need escaping: those are copied
/// as they are.
pub(crate) fn push_str(out: &mut String, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(&serde_json::Value::from(s).to_string());
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// Decimal digits of `n`, without allocating or going through `fmt`.
fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

pub(crate) fn push_labels(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, lab) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, &lab.name);
        out.push(':');
        push_str(out, &lab.value);
    }
    out.push('}');
}

/// `[<seconds>,"<value>"]`, the value written by `value`.
fn push_point(out: &mut String, t: i64, value: impl FnOnce(&mut String)) {
    out.push('[');
    push_time(out, t);
    out.push_str(",\"");
    value(out);
    out.push_str("\"]");
}

/// The text of the value written last, to copy when the next value is the same.
#[derive(Default)]
struct LastFloat {
    bits: Option<u64>,
    text: String,
}

impl LastFloat {
    /// Writes `v` as [`push_float`] does.
    fn push(&mut self, out: &mut String, v: f64) {
        if self.bits == Some(v.to_bits()) {
            out.push_str(&self.text);
            return;
        }
        let start = out.len();
        push_float(out, v);
        self.text.clear();
        self.text.push_str(&out[start..]);
        self.bits = Some(v.to_bits());
    }
}

/// Milliseconds as seconds with three decimals (none for whole seconds), as Prometheus
/// writes them.
pub(crate) fn push_time(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let abs = t.unsigned_abs();
    push_u64(out, abs / 1000);
    let frac = (abs % 1000) as u16;
    if frac != 0 {
        let digits = [
            b'.',
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        out.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
    }
}

/// A sample value as Prometheus writes it: shortest decimal that reads back the same,
/// positional from 1e-6 up to 1e21, exponent form (`1e-07`, `1.5e+21`) outside, `NaN`,
/// `+Inf`, `-Inf`.
pub(crate) fn push_float(out: &mut String, v: f64) {
    if let Some(s) = promql::functions::math::non_finite(v) {
        out.push_str(s);
        return;
    }
    let abs = v.abs();
    if v == v.trunc() && abs < 1e15 {
        // Whole numbers (counters, most gauges): just the digits.
        if v.is_sign_negative() {
            out.push('-');
        }
        push_u64(out, abs as u64);
        return;
    }
    // ryu finds the shortest digits; only their layout differs from Go's.
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v);
    if (1e-5..1e15).contains(&abs) {
        // ryu lays these out positionally, as Go does, and whole numbers went above: the
        // digits are the answer as they are (most gauge values and rates).
        debug_assert!(!s.contains('e') && !s.ends_with(".0"), "{s}");
        out.push_str(s);
        return;
    }
    let (mantissa, exp) = match s.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu writes a decimal exponent")),
        None => (s, 0),
    };
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let _ = write!(
            out,
            "{}e{}{:02}",
            mantissa.trim_end_matches(".0"),
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
        return;
    }
    if exp == 0 {
        out.push_str(mantissa.strip_suffix(".0").unwrap_or(mantissa));
        return;
    }
    // Positional: digits with the point moved by the exponent.
    let (sign, m) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i32 + exp;
    out.push_str(sign);
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f64) -> String {
        let mut s = String::new();
        push_float(&mut s, v);
        s
    }

    #[test]
    fn a_repeated_value_is_written_as_formatting_it_again_would() {
        let vals = [
            1.5,
            1.5,
            2.0,
            -0.0,
            0.0,
            0.0,
            f64::NAN,
            f64::NAN,
            1e-7,
            1e-7,
            f64::INFINITY,
            1.5,
            0.1 + 0.2,
            0.1 + 0.2,
        ];
        let (mut memo, mut got, mut want) = (LastFloat::default(), String::new(), String::new());
        for v in vals {
            memo.push(&mut got, v);
            got.push(',');
            want.push_str(&float(v));
            want.push(',');
        }
        assert_eq!(got, want);
    }

    #[test]
    fn positional_values_read_back_exactly() {
        // The fast path for 1e-5 ≤ |v| < 1e15: positional digits that parse to the same bits.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            let v = (v.abs() % 1e15).max(1e-5).copysign(v);
            let s = float(v);
            assert!(!s.contains('e'), "{v:e} as {s}");
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
        }
        assert_eq!(float(0.1), "0.1");
        assert_eq!(float(-123.456), "-123.456");
        assert_eq!(float(1e-5), "0.00001");
        assert_eq!(float(9.5e-6), "0.0000095");
        assert_eq!(float(123_456_789_012_345.5), "123456789012345.5");
    }

    fn time(t: i64) -> String {
        let mut s = String::new();
        push_time(&mut s, t);
        s
    }

    #[test]
    fn floats_as_prometheus_writes_them() {
        assert_eq!(float(1.0), "1");
        assert_eq!(float(0.1), "0.1");
        assert_eq!(float(-2.5), "-2.5");
        assert_eq!(float(1e-7), "1e-07");
        assert_eq!(float(1.5e21), "1.5e+21");
        assert_eq!(float(123456789012.0), "123456789012");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(0.0), "0");
        assert_eq!(float(-0.0), "-0");
        assert_eq!(float(-42.0), "-42");
        assert_eq!(float(999_999_999_999_999.0), "999999999999999");
        assert_eq!(float(1e15), "1000000000000000");
        assert_eq!(float(1e-300), "1e-300");
    }

    /// Positional output must read back exactly and be as short as Rust's `Display` (also
    /// shortest-positional); on an exact tie between two last digits the two may pick
    /// differently (ryu, like Go, rounds half to even).
    #[test]
    fn floats_agree_with_the_shortest_positional_form() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() || v == 0.0 || !(1e-6..1e21).contains(&v.abs()) {
                continue;
            }
            let ours = float(v);
            assert_eq!(ours.parse::<f64>().unwrap(), v, "{v:e}");
            assert_eq!(ours.len(), format!("{v}").len(), "{v:e}: {ours}");
            assert!(!ours.contains('e'), "{ours}");
        }
        for v in [
            0.1, 1.5, 123.456, 1e-6, 2.5e-6, 9.99e20, 1e20, 12345678.9, 1e16, 3e15,
        ] {
            assert_eq!(float(v), format!("{v}"), "{v:e}");
            assert_eq!(float(-v), format!("{}", -v), "{v:e}");
        }
    }

    #[test]
    fn stats_as_prometheus_writes_them() {
        use promql::stats::{QuerySamples, QueryTimings};
        use std::time::Duration;
        let mut stats = QueryStats {
            timings: QueryTimings {
                eval_total: Duration::from_micros(1500),
                result_sort: Duration::ZERO,
                query_preparation: Duration::from_nanos(150),
                inner_eval: Duration::from_millis(1),
                exec_queue: Duration::from_secs(2),
                exec_total: Duration::from_micros(2_001_500),
            },
            samples: QuerySamples {
                total_queryable_samples: 7,
                samples_read: 5,
                peak_samples: 4,
                total_queryable_samples_per_step: None,
                samples_read_per_step: None,
            },
        };
        let body = |stats: &QueryStats| {
            let mut out = String::new();
            push_stats(&mut out, stats);
            out
        };
        assert_eq!(
            body(&stats),
            concat!(
                r#","stats":{"timings":{"evalTotalTime":0.0015,"resultSortTime":0,"#,
                r#""queryPreparationTime":1.5e-7,"innerEvalTime":0.001,"execQueueTime":2,"#,
                r#""execTotalTime":2.0015},"samples":{"totalQueryableSamples":7,"#,
                r#""samplesRead":5,"peakSamples":4}}"#
            )
        );
        stats.samples.total_queryable_samples_per_step = Some(vec![(1_500, 3), (2_000, 4)]);
        stats.samples.samples_read_per_step = Some(vec![(1_500, 3), (2_000, 2)]);
        assert!(body(&stats).ends_with(concat!(
            r#""samples":{"totalQueryableSamplesPerStep":[[1.5,3],[2,4]],"#,
            r#""totalQueryableSamples":7,"samplesReadPerStep":[[1.5,3],[2,2]],"#,
            r#""samplesRead":5,"peakSamples":4}}"#
        )));
    }

    #[test]
    fn times_as_prometheus_writes_them() {
        assert_eq!(time(1_435_781_451_781), "1435781451.781");
        assert_eq!(time(1_435_781_451_000), "1435781451");
        assert_eq!(time(1_435_781_451_500), "1435781451.500");
        assert_eq!(time(1_435_781_451_050), "1435781451.050");
        assert_eq!(time(-1_500), "-1.500");
        assert_eq!(time(0), "0");
        assert_eq!(time(-5), "-0.005");
    }
}
