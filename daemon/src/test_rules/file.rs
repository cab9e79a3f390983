//! The unit-test file of `promtool test rules`: read strictly from YAML (unknown or repeated
//! fields are errors, as promtool reads it), then checked into [`TestFile`], whose durations
//! and times are milliseconds.
//!
//! What promtool only finds out while running a test group (a malformed input series or
//! expected label set, an alert test without `alertname`) stays as written here and is
//! reported by that test group, so `--run` can leave a broken group out.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `evaluation_interval` when the file gives none (or `0`).
pub const DEFAULT_EVALUATION_INTERVAL_MS: i64 = 60_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    rule_files: Option<Vec<String>>,
    evaluation_interval: Option<String>,
    group_eval_order: Option<Vec<String>>,
    tests: Option<Vec<RawTestGroup>>,
    fuzzy_compare: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestGroup {
    interval: Option<String>,
    input_series: Option<Vec<RawSeries>>,
    alert_rule_test: Option<Vec<RawAlertTest>>,
    promql_expr_test: Option<Vec<RawExprTest>>,
    external_labels: Option<BTreeMap<String, Option<String>>>,
    external_url: Option<String>,
    name: Option<String>,
    start_timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeries {
    series: Option<String>,
    values: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertTest {
    eval_time: Option<String>,
    alertname: Option<String>,
    exp_alerts: Option<Vec<RawAlert>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    exp_labels: Option<BTreeMap<String, Option<String>>>,
    exp_annotations: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExprTest {
    expr: Option<String>,
    eval_time: Option<String>,
    exp_samples: Option<Vec<RawSample>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSample {
    labels: Option<String>,
    value: Option<f64>,
    histogram: Option<String>,
}

/// A checked unit-test file.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFile {
    /// `rule_files` patterns as written (relative to the test file's folder; globs allowed).
    pub rule_files: Vec<String>,
    /// How often the rule groups are evaluated during a test (default 1m).
    pub evaluation_interval_ms: i64,
    /// Groups named here are evaluated in this order at each step; the others keep file order
    /// and go with the first one named (as promtool sorts them).
    pub group_eval_order: Vec<String>,
    /// Floats also match their neighbours one ulp away.
    pub fuzzy_compare: bool,
    pub tests: Vec<TestGroup>,
}

/// One entry of `tests:`: input series and what to expect of them.
#[derive(Debug, Clone, PartialEq)]
pub struct TestGroup {
    /// `name` (empty when unnamed); `--run` matches it.
    pub name: String,
    /// Spacing of the input samples (default: the evaluation interval).
    pub interval_ms: i64,
    /// Time of the first input sample, and what `eval_time`s count from (default 0, the
    /// epoch).
    pub start_ms: i64,
    pub input_series: Vec<InputSeries>,
    pub alert_rule_tests: Vec<AlertTest>,
    pub promql_expr_tests: Vec<ExprTest>,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
}

/// A series and its values in expanding notation, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSeries {
    pub series: String,
    pub values: String,
}

/// The firing alerts expected of one alert name at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertTest {
    pub eval_time_ms: i64,
    /// Empty when missing (an error when the test group runs).
    pub alertname: String,
    pub exp_alerts: Vec<ExpectedAlert>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpectedAlert {
    /// Labels besides `alertname` (which the test's `alertname` sets).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// An instant query and the samples expected of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprTest {
    pub expr: String,
    pub eval_time_ms: i64,
    pub exp_samples: Vec<ExpectedSample>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSample {
    /// The series in test notation (`name{l="v"}`), as written; empty for no labels.
    pub labels: String,
    pub value: f64,
    /// A native histogram in test notation; when given, `value` is not used.
    pub histogram: String,
}

impl TestGroup {
    /// The latest `eval_time` of the group's tests: evaluation runs up to it.
    pub fn max_eval_time_ms(&self) -> i64 {
        let alerts = self.alert_rule_tests.iter().map(|a| a.eval_time_ms);
        let exprs = self.promql_expr_tests.iter().map(|e| e.eval_time_ms);
        alerts.chain(exprs).max().unwrap_or(0)
    }
}

impl TestFile {
    /// Reads and checks a unit-test file's text.
    pub fn parse(text: &str) -> Result<TestFile, String> {
        // An empty document (or one of only comments) is a file without tests, as for
        // promtool.
        let raw: RawFile = yaml_serde::from_str::<Option<RawFile>>(text)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let evaluation_interval_ms = match duration(raw.evaluation_interval, "evaluation_interval")?
        {
            0 => DEFAULT_EVALUATION_INTERVAL_MS,
            d => d,
        };
        let tests = raw
            .tests
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                test_group(t, evaluation_interval_ms).map_err(|e| format!("tests[{i}]: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TestFile {
            rule_files: raw.rule_files.unwrap_or_default(),
            evaluation_interval_ms,
            group_eval_order: raw.group_eval_order.unwrap_or_default(),
            fuzzy_compare: raw.fuzzy_compare.unwrap_or(false),
            tests,
        })
    }
}

fn test_group(t: RawTestGroup, evaluation_interval_ms: i64) -> Result<TestGroup, String> {
    let interval_ms = match duration(t.interval, "interval")? {
        0 => evaluation_interval_ms,
        d => d,
    };
    let start_ms = match t.start_timestamp {
        None => 0,
        Some(s) => parse_time_ms(&s).map_err(|e| format!("start_timestamp: {e}"))?,
    };
    let alert_rule_tests = t
        .alert_rule_test
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            Ok(AlertTest {
                eval_time_ms: duration(a.eval_time, "eval_time")?,
                alertname: a.alertname.unwrap_or_default(),
                exp_alerts: a
                    .exp_alerts
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| ExpectedAlert {
                        labels: flatten(e.exp_labels),
                        annotations: flatten(e.exp_annotations),
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let promql_expr_tests = t
        .promql_expr_test
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            Ok(ExprTest {
                expr: e.expr.unwrap_or_default(),
                eval_time_ms: duration(e.eval_time, "eval_time")?,
                exp_samples: e
                    .exp_samples
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| ExpectedSample {
                        labels: s.labels.unwrap_or_default(),
                        value: s.value.unwrap_or(0.0),
                        histogram: s.histogram.unwrap_or_default(),
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(TestGroup {
        name: t.name.unwrap_or_default(),
        interval_ms,
        start_ms,
        input_series: t
            .input_series
            .unwrap_or_default()
            .into_iter()
            .map(|s| InputSeries {
                series: s.series.unwrap_or_default(),
                values: s.values.unwrap_or_default(),
            })
            .collect(),
        alert_rule_tests,
        promql_expr_tests,
        external_labels: flatten(t.external_labels),
        external_url: t.external_url.unwrap_or_default(),
    })
}

/// A map whose `null` values read as empty strings, as Go's YAML reader fills a string map.
fn flatten(m: Option<BTreeMap<String, Option<String>>>) -> BTreeMap<String, String> {
    m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// A Prometheus duration field (`5m`, `1h30m`, `0`); absent is 0.
fn duration(s: Option<String>, field: &str) -> Result<i64, String> {
    let Some(s) = s else { return Ok(0) };
    let ms = model::duration::parse_duration_ms(&s).map_err(|e| format!("{field}: {e}"))?;
    i64::try_from(ms).map_err(|_| format!("{field}: {s:?} is too long"))
}

/// `start_timestamp`: Unix seconds (fractions allowed) or an RFC 3339 time, as promtool reads
/// it; in ms since the epoch.
pub fn parse_time_ms(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.trim().parse::<f64>()
        && secs.is_finite()
    {
        return Ok((secs * 1000.0).floor() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("cannot parse {s:?} to a valid timestamp"))
}
