//! One test group, run as promtool runs it:
//! * its input series go into a fresh store, each sample only once evaluation has reached its
//!   time (so `offset -5m` or `@` in the future see nothing that was not loaded yet, as
//!   upstream);
//! * from the start time up to the latest `eval_time`, every `evaluation_interval`, the rule
//!   groups are evaluated in order; a rule that fails ends the test group with its error;
//! * after the evaluation at `ts`, alert tests whose `eval_time` falls in `[ts, ts +
//!   interval)` compare the firing alerts of their alert name (from every group) with the
//!   expected ones;
//! * at the end, each PromQL expression is queried at its `eval_time` over everything loaded
//!   and recorded (`ALERTS` included).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use alerting::rulefmt::RuleGroup;
use alerting::rules::{AlertState, Group, GroupMetrics, ManagerOptions, Rule, RuleEnv};
use model::metrics::Registry;
use model::{Appendable, Labels};
use promql::notation::{self, SeqValue};

use super::compare::{self, AlertView, SampleView};
use super::file::{AlertTest, TestGroup};
use super::print::{go_duration, go_quote, indent_lines, prom_duration};
use super::skip::Histograms;

/// The store's block range: so large that samples of any age are taken, whatever the spread
/// of a test's times (`long-period.yml` spans 292 years).
const CHUNK_RANGE_MS: i64 = 1 << 50;

/// Engine limits of promtool's test engine.
const MAX_SAMPLES: usize = 10_000;
const QUERY_TIMEOUT: Duration = Duration::from_secs(100);

/// What a test file gives every test group.
pub struct Context<'a> {
    pub evaluation_interval_ms: i64,
    pub fuzzy_compare: bool,
    /// The rule groups (with the file each comes from) in evaluation order, or the errors of
    /// loading them, which every test group that runs reports.
    pub rules: &'a Result<Vec<(String, RuleGroup)>, Vec<String>>,
}

/// What a test group found: failures (in promtool's wording) and checks it skipped.
#[derive(Debug, Default)]
pub struct Outcome {
    pub errors: Vec<String>,
    pub skipped: Vec<String>,
}

/// Runs one test group.
pub fn run(tg: &TestGroup, ctx: &Context<'_>) -> Outcome {
    let mut out = Outcome::default();
    if let Err(e) = run_into(tg, ctx, &mut out) {
        out.errors.push(e);
    }
    out
}

fn run_into(tg: &TestGroup, ctx: &Context<'_>, out: &mut Outcome) -> Result<(), String> {
    let mut input = Input::parse(tg)?;
    let rule_groups = match ctx.rules {
        Ok(g) => g,
        Err(errors) => {
            out.errors.extend(errors.iter().cloned());
            return Ok(());
        }
    };
    if let Some(a) = tg.alert_rule_tests.iter().find(|a| a.alertname.is_empty()) {
        let in_group = if tg.name.is_empty() {
            String::new()
        } else {
            format!(" (in TestGroup {})", tg.name)
        };
        return Err(format!(
            "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
            prom_duration(a.eval_time_ms)
        ));
    }

    let store = Store::open()?;
    let env = RuleEnv {
        query: Arc::new(alerting::LocalQueryEngine {
            engine: promql::Engine::new(promql::EngineOptions {
                max_samples: MAX_SAMPLES,
                timeout: QUERY_TIMEOUT,
                default_subquery_step_ms: ctx.evaluation_interval_ms,
                ..Default::default()
            }),
            store: store.db.clone(),
        }),
        appendable: store.db.clone(),
        queryable: None,
        notify: Arc::new(|_| {}),
        external_labels: tg.external_labels.clone(),
        external_url: tg.external_url.clone(),
        resend_delay: Duration::from_secs(60),
        outage_tolerance: Duration::from_secs(3600),
        for_grace_period: Duration::from_secs(600),
    };
    let metrics = GroupMetrics::new(&Registry::new());
    let opts = ManagerOptions {
        default_interval: Duration::from_millis(tg.interval_ms.unsigned_abs()),
        default_query_offset: Duration::ZERO,
    };
    // Alerting rules start restored: `ALERTS` is written from the first evaluation.
    let groups: Vec<Group> = rule_groups
        .iter()
        .map(|(file, g)| Group::from_rule_group(file, g.clone(), &opts, true, &metrics))
        .collect();
    let histograms = Histograms::new(std::mem::take(&mut input.histograms), &groups);

    let mut alert_tests: BTreeMap<i64, Vec<&AlertTest>> = BTreeMap::new();
    for a in &tg.alert_rule_tests {
        alert_tests.entry(a.eval_time_ms).or_default().push(a);
    }
    let alert_times: Vec<i64> = alert_tests.keys().copied().collect();
    let mut next_alert_time = 0;

    let (mint, iv) = (tg.start_ms, ctx.evaluation_interval_ms);
    let maxt = mint + tg.max_eval_time_ms();
    let mut ts = mint;
    while ts <= maxt {
        input.append_till(&*store.db, ts)?;
        let mut eval_errors = Vec::new();
        for g in &groups {
            g.eval(ts, &env);
            for r in &g.rules {
                if let Some(e) = r.status().last_error {
                    eval_errors.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        r.name(),
                        go_duration(ts)
                    ));
                }
            }
        }
        if !eval_errors.is_empty() {
            out.errors.extend(eval_errors);
            return Ok(());
        }
        while let Some(&t) = alert_times.get(next_alert_time)
            && ts - mint <= t
            && t < ts + iv - mint
        {
            check_alerts(tg, &alert_tests[&t], &groups, &histograms, out);
            next_alert_time += 1;
        }
        ts += iv;
    }

    for t in &tg.promql_expr_tests {
        let (expr, time) = (go_quote(&t.expr), prom_duration(t.eval_time_ms));
        if t.exp_samples.iter().any(|s| !s.histogram.is_empty()) || histograms.reads(&t.expr) {
            out.skipped
                .push(format!("{}expr: {expr}, time: {time}", name_part(tg)));
            continue;
        }
        let got = match env.query.instant(&t.expr, mint + t.eval_time_ms) {
            Ok(v) => v,
            Err(e) => {
                out.errors
                    .push(format!("    expr: {expr}, time: {time}, err: {e}"));
                continue;
            }
        };
        let mut got: Vec<SampleView> = got
            .into_iter()
            .map(|s| SampleView {
                labels: s.labels,
                value: s.value,
            })
            .collect();
        let exp: Result<Vec<SampleView>, String> = t
            .exp_samples
            .iter()
            .map(|s| {
                notation::parse_metric(&s.labels)
                    .map(|labels| SampleView {
                        labels,
                        value: s.value,
                    })
                    .map_err(|e| {
                        format!(
                            "    expr: {expr}, time: {time}, err: labels {}: {e}",
                            go_quote(&s.labels)
                        )
                    })
            })
            .collect();
        let mut exp = match exp {
            Ok(e) => e,
            Err(e) => {
                out.errors.push(e);
                continue;
            }
        };
        if !compare::samples_equal(&mut exp, &mut got, ctx.fuzzy_compare) {
            out.errors.push(format!(
                "    expr: {expr}, time: {time},\n        exp: {}\n        got: {}",
                compare::describe_samples(&exp),
                compare::describe_samples(&got)
            ));
        }
    }
    store.close()
}

/// `    name: NAME,\n` for named test groups (how promtool introduces an alert failure).
fn name_line(tg: &TestGroup) -> String {
    if tg.name.is_empty() {
        String::new()
    } else {
        format!("    name: {},\n", tg.name)
    }
}

/// `name: NAME, ` for named test groups (in the list of skipped checks).
fn name_part(tg: &TestGroup) -> String {
    if tg.name.is_empty() {
        String::new()
    } else {
        format!("name: {}, ", tg.name)
    }
}

/// Compares the firing alerts of each tested alert name with the expected ones.
fn check_alerts(
    tg: &TestGroup,
    tests: &[&AlertTest],
    groups: &[Group],
    histograms: &Histograms,
    out: &mut Outcome,
) {
    let names: BTreeSet<&str> = tests.iter().map(|a| a.alertname.as_str()).collect();
    // One alert name may belong to rules in several groups: all of them count.
    let mut got: BTreeMap<&str, Vec<AlertView>> = BTreeMap::new();
    for rule in groups.iter().flat_map(|g| &g.rules) {
        let Rule::Alerting(r) = rule else { continue };
        if !names.contains(r.name.as_str()) {
            continue;
        }
        let firing = r
            .alerts()
            .into_iter()
            .filter(|a| a.state == AlertState::Firing)
            .map(|a| AlertView::from_labels(&a.labels, &a.annotations));
        got.entry(r.name.as_str()).or_default().extend(firing);
    }
    for test in tests {
        let time = prom_duration(test.eval_time_ms);
        if histograms.reach_alert(&test.alertname) {
            out.skipped.push(format!(
                "{}alertname: {}, time: {time}",
                name_part(tg),
                test.alertname
            ));
            continue;
        }
        let mut got = got
            .get(test.alertname.as_str())
            .cloned()
            .unwrap_or_default();
        let mut exp: Vec<AlertView> = test
            .exp_alerts
            .iter()
            .map(|e| {
                // Expected labels leave out the alert name; the test gives it.
                let mut labels = e.labels.clone();
                labels.insert("alertname".into(), test.alertname.clone());
                AlertView::new(&labels, &e.annotations)
            })
            .collect();
        if !compare::alerts_equal(&mut exp, &mut got) {
            let pad = "            ";
            out.errors.push(format!(
                "{}    alertname: {}, time: {time}, \n        exp:{}, \n        got:{}",
                name_line(tg),
                test.alertname,
                indent_lines(&compare::describe_alerts(&exp), pad),
                indent_lines(&compare::describe_alerts(&got), pad),
            ));
        }
    }
}

/// The input series, waiting to be appended as evaluation reaches their times.
struct Input {
    /// Float samples `(t, v)` of each series, in time order; a series given twice keeps its
    /// last definition.
    series: Vec<(Labels, Vec<(i64, f64)>)>,
    /// How many samples of each series are in the store.
    loaded: Vec<usize>,
    /// Series with native-histogram values (not loaded).
    histograms: Vec<Labels>,
}

impl Input {
    /// Reads `series` + `values` lines as promtool's `load` command does: value *k* at
    /// `start + k * interval`.
    fn parse(tg: &TestGroup) -> Result<Input, String> {
        let mut series: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
        let mut histograms = Vec::new();
        for s in &tg.input_series {
            let line = format!("{} {}", s.series, s.values);
            let (labels, values) = notation::parse_series_desc(&line)
                .map_err(|e| format!("input series {}: {e}", go_quote(line.trim())))?;
            let mut samples = Vec::with_capacity(values.len());
            let mut has_histograms = false;
            for (k, v) in values.into_iter().enumerate() {
                let t = tg.start_ms + k as i64 * tg.interval_ms;
                match v {
                    SeqValue::Float(v) => samples.push((t, v)),
                    SeqValue::Omitted => {}
                    SeqValue::Histogram(_) => has_histograms = true,
                }
            }
            if has_histograms {
                histograms.push(labels.clone());
            }
            series.retain(|(l, _)| *l != labels);
            series.push((labels, samples));
        }
        Ok(Input {
            loaded: vec![0; series.len()],
            series,
            histograms,
        })
    }

    /// Appends every sample up to `t` not appended yet, in one batch.
    fn append_till(&mut self, store: &dyn Appendable, t: i64) -> Result<(), String> {
        let mut app = store.appender();
        for ((labels, samples), loaded) in self.series.iter().zip(&mut self.loaded) {
            let mut r = None;
            while let Some(&(st, v)) = samples.get(*loaded)
                && st <= t
            {
                let sr = app
                    .append(r, labels, st, v)
                    .map_err(|e| format!("input series {labels} at {}: {e}", go_duration(st)))?;
                r = Some(sr);
                *loaded += 1;
            }
        }
        app.commit()
            .map_err(|e| format!("loading input series: {e}"))
    }
}

/// A store of its own for one test group, in a temporary folder removed afterwards.
struct Store {
    db: Arc<tsdb::Db>,
    _dir: tempfile::TempDir,
}

impl Store {
    fn open() -> Result<Store, String> {
        let dir = tempfile::Builder::new()
            .prefix("vane-test-rules-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        let mut opts = tsdb::DbOptions {
            retention_time_ms: None,
            ..Default::default()
        };
        opts.head.chunk_range_ms = CHUNK_RANGE_MS;
        opts.head.disable_wal = true;
        opts.head.stripes = 64;
        let db = tsdb::Db::open(dir.path(), opts, &Registry::new())
            .map_err(|e| format!("cannot open a store in {}: {e}", dir.path().display()))?;
        Ok(Store { db, _dir: dir })
    }

    fn close(self) -> Result<(), String> {
        self.db
            .close()
            .map_err(|e| format!("closing the test store: {e}"))
    }
}
