//! `vane autoscale simulate`: an autoscaler's policy replayed over stored history.
//!
//! The autoscalers come from a configuration file as `vane run` reads it. For each, the
//! signal query is evaluated by the local PromQL engine at every step from `--start` to
//! `--end` (as range queries, which give the same value as an instant query at each step),
//! and [`replay`] runs the policy over it. The store is opened as `vane tsdb analyze` opens
//! it: whole when no `vane run` holds it, else its blocks only, read without writing.
//!
//! * [`replay`]: the pure replay, and what "under-provisioned" means;
//! * [`report`]: the table and the CSV.

pub mod replay;
pub mod report;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use autoscaler::policy::{ServiceQueries, ServiceStats};
use model::Queryable;
use model::metrics::Registry;
use tsdb::db::ReadOnlyBlocks;
use tsdb::{Db, DbOptions};

use crate::autoscalers::{AutoscalerConfig, CurrentReplicasConfig};
use crate::cli::SimulateArgs;
use crate::config::Config;
use replay::{Params, Point};

/// Most steps one autoscaler's replay may have.
const MAX_STEPS: i64 = 10_000_000;

/// Steps per range query (below the engine's 11,000 points per series).
const CHUNK_STEPS: i64 = 10_000;

/// The store, whole or its blocks only.
enum Store {
    Whole(Arc<Db>),
    Blocks(ReadOnlyBlocks),
}

impl Store {
    /// Opens `dir` like `vane tsdb analyze`; says on stderr when only blocks can be read.
    fn open(dir: &std::path::Path) -> Result<Store> {
        if !dir.is_dir() {
            bail!("{} is not a data directory", dir.display());
        }
        let opts = DbOptions {
            retention_time_ms: None,
            ..DbOptions::default()
        };
        match Db::open(dir, opts, &Registry::new()) {
            Ok(db) => Ok(Store::Whole(db)),
            Err(tsdb::Error::Locked(_)) => {
                let b = ReadOnlyBlocks::open(dir)?;
                eprintln!(
                    "vane: the store is in use by a running vane: reading its blocks only (the newest samples, still in its head, are not seen)"
                );
                for (path, why) in &b.skipped {
                    eprintln!("vane: skipping unreadable block {}: {why}", path.display());
                }
                Ok(Store::Blocks(b))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn queryable(&self) -> &dyn Queryable {
        match self {
            Store::Whole(db) => db.as_ref(),
            Store::Blocks(b) => b,
        }
    }

    fn close(self) -> Result<()> {
        if let Store::Whole(db) = self {
            db.close()?;
        }
        Ok(())
    }
}

/// What the query of one step answered, as the controller reads a signal: one finite
/// value, or nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Nothing,
    One(f64),
    Several,
}

impl Answer {
    fn add(self, v: f64) -> Answer {
        match self {
            Answer::Nothing => Answer::One(v),
            _ => Answer::Several,
        }
    }

    fn value(self) -> Option<f64> {
        match self {
            Answer::One(v) if v.is_finite() => Some(v),
            _ => None,
        }
    }
}

/// `query` at each of `n` steps from `start`, `step` apart, by range queries of at most
/// [`CHUNK_STEPS`] steps.
fn sample(
    engine: &promql::Engine,
    store: &dyn Queryable,
    query: &str,
    start: i64,
    step: i64,
    n: i64,
) -> Result<Vec<Answer>> {
    let mut out = vec![Answer::Nothing; n as usize];
    sample_each(engine, store, query, (start, step, n), |i, _, v| {
        out[i] = out[i].add(v)
    })?;
    Ok(out)
}

/// Calls `each(step index, series, value)` for every value of `query` at the `n` steps from
/// `start`, `step` apart, by range queries of at most [`CHUNK_STEPS`] steps.
fn sample_each(
    engine: &promql::Engine,
    store: &dyn Queryable,
    query: &str,
    (start, step, n): (i64, i64, i64),
    mut each: impl FnMut(usize, &model::Labels, f64),
) -> Result<()> {
    let mut first = 0;
    while first < n {
        let last = (first + CHUNK_STEPS - 1).min(n - 1);
        let res = engine
            .range_query(
                store,
                query,
                start + first * step,
                start + last * step,
                step,
            )
            .map_err(|e| anyhow!("{query}: {e}"))?;
        let promql::Value::Matrix(series) = res.value else {
            bail!("{query}: the query does not answer a vector or a scalar");
        };
        for s in series {
            for (t, v) in s.points {
                each(((t - start) / step) as usize, &s.labels, v);
            }
        }
        first = last + 1;
    }
    Ok(())
}

/// The service time at each step, for a `predictive` policy observing a histogram: its
/// queries sampled as the controller reads them at each evaluation.
fn sample_service(
    engine: &promql::Engine,
    store: &dyn Queryable,
    q: &ServiceQueries,
    (start, step, n): (i64, i64, i64),
) -> Result<Vec<Option<ServiceStats>>> {
    let mean = sample(engine, store, &q.mean, start, step, n)?;
    let mut buckets: Vec<Vec<(f64, f64)>> = vec![Vec::new(); n as usize];
    sample_each(
        engine,
        store,
        &q.buckets,
        (start, step, n),
        |i, labels, v| buckets[i].extend(ServiceQueries::bucket(labels, v)),
    )?;
    Ok(mean
        .into_iter()
        .zip(&buckets)
        .map(|(m, b)| ServiceStats::from_histogram(m.value()?, b))
        .collect())
}

/// `--override`: scaling fields that replace the configured ones for the replay, so a
/// variant of a policy can be tried without editing the file.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub min_replicas: Option<u32>,
    pub max_replicas: Option<u32>,
    pub policy: Option<autoscaler::config::PolicyConfig>,
    pub behavior: Option<autoscaler::config::BehaviorConfig>,
    pub scale_to_zero: Option<autoscaler::config::ScaleToZeroConfig>,
    pub fallback: Option<autoscaler::config::FallbackConfig>,
}

impl Override {
    /// Reads the flag's YAML (a mapping of the fields above).
    pub fn parse(yaml: &str) -> Result<Override> {
        yaml_serde::from_str(yaml).map_err(|e| anyhow!("--override: {e}"))
    }

    /// `a` with the given fields replaced.
    pub fn apply(&self, a: &AutoscalerConfig) -> AutoscalerConfig {
        let mut a = a.clone();
        if let Some(v) = self.min_replicas {
            a.min_replicas = Some(v);
        }
        if let Some(v) = self.max_replicas {
            a.max_replicas = v;
        }
        if let Some(v) = &self.policy {
            a.policy = v.clone();
        }
        if let Some(v) = &self.behavior {
            a.behavior = Some(v.clone());
        }
        if let Some(v) = &self.scale_to_zero {
            a.scale_to_zero = Some(v.clone());
        }
        if let Some(v) = &self.fallback {
            a.fallback = Some(v.clone());
        }
        a
    }
}

/// The query giving the replicas observed in the past: `--replicas.query`, else the
/// autoscaler's `current_replicas.query`, else the series the controller writes.
fn replicas_query(a: &AutoscalerConfig, flag: Option<&str>) -> String {
    match (flag, &a.current_replicas) {
        (Some(q), _) => q.to_string(),
        (None, CurrentReplicasConfig::Query { query }) => query.clone(),
        (None, _) => format!(
            "vane_autoscaler_current_replicas{{autoscaler={}}}",
            promql::functions::math::go_quote(&a.name)
        ),
    }
}

fn parse_time(flag: &str, v: &str) -> Result<i64> {
    api::parse_time_param(v).map_err(|e| anyhow!("--{flag}: {e}"))
}

/// `vane autoscale simulate`: the table or CSV of every selected autoscaler.
pub fn simulate(args: &SimulateArgs) -> Result<String> {
    let config = Config::load(&args.config_file)?;
    let over = args
        .override_yaml
        .as_deref()
        .map(Override::parse)
        .transpose()?;
    let selected: Vec<AutoscalerConfig> = config
        .autoscalers
        .iter()
        .filter(|a| args.autoscaler.as_ref().is_none_or(|n| &a.name == n))
        .map(|a| over.as_ref().map_or_else(|| a.clone(), |o| o.apply(a)))
        .collect();
    if selected.is_empty() {
        match &args.autoscaler {
            Some(n) => bail!("{}: no autoscaler named {n:?}", args.config_file.display()),
            None => bail!("{}: no autoscalers configured", args.config_file.display()),
        }
    }
    let (start, end) = (
        parse_time("start", &args.start)?,
        parse_time("end", &args.end)?,
    );
    if end < start {
        bail!("--end is before --start");
    }
    let step_flag = args
        .step
        .as_deref()
        .map(|s| model::duration::parse_duration_ms(s).map_err(|e| anyhow!("--step: {e}")))
        .transpose()?;
    if step_flag == Some(0) {
        bail!("--step must be greater than zero");
    }
    if args.capacity.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
        bail!("--capacity must be a positive number");
    }
    let lookback = model::duration::parse_duration_ms(&args.lookback_delta)
        .map_err(|e| anyhow!("--query.lookback-delta: {e}"))?;
    let engine = promql::Engine::new(promql::EngineOptions {
        lookback_delta_ms: lookback.max(1) as i64,
        ..promql::EngineOptions::default()
    });

    let store = Store::open(&args.storage_path)?;
    let mut out = String::new();
    if args.format == "csv" {
        out.push_str(report::CSV_HEADER);
        out.push('\n');
    }
    for (i, a) in selected.iter().enumerate() {
        let scaler = a
            .scaler()
            .map_err(|e| anyhow!("autoscaler {:?}: {e}", a.name))?;
        let step = step_flag.map_or(a.interval().as_millis() as i64, |s| s as i64);
        let n = (end - start) / step + 1;
        if n > MAX_STEPS {
            bail!(
                "autoscaler {:?}: {n} steps from --start to --end; use a longer --step (at most {MAX_STEPS} steps)",
                a.name
            );
        }
        let q = store.queryable();
        let signal = sample(&engine, q, &a.query, start, step, n)
            .with_context(|| format!("autoscaler {:?}: signal", a.name))?;
        let rq = replicas_query(a, args.replicas_query.as_deref());
        let observed = sample(&engine, q, &rq, start, step, n)
            .with_context(|| format!("autoscaler {:?}: replicas", a.name))?;
        let observed: Vec<Option<u32>> = observed
            .into_iter()
            .map(|v| {
                v.value()
                    .filter(|v| *v >= 0.0)
                    .map(|v| v.round().min(f64::from(u32::MAX)) as u32)
            })
            .collect();
        let service = match scaler.service_queries() {
            Some(sq) => sample_service(&engine, q, sq, (start, step, n))
                .with_context(|| format!("autoscaler {:?}: service time", a.name))?,
            None => vec![None; n as usize],
        };
        let points: Vec<Point> = (0..n as usize)
            .map(|k| Point {
                t_ms: start + k as i64 * step,
                signal: signal[k].value(),
                observed: observed[k],
                service: service[k],
            })
            .collect();
        let params = Params {
            step_ms: step,
            initial: args
                .initial_replicas
                .or(observed[0])
                .unwrap_or(scaler.min_replicas())
                .clamp(scaler.min_replicas(), scaler.max_replicas()),
            capacity: args.capacity.or(scaler.target_value()),
            per_replica_signal: scaler.policy_name() == "ratio",
        };
        let (rows, sum) = replay::replay(&scaler, &params, &points);
        if args.format == "csv" {
            report::csv(&mut out, &a.name, &rows);
        } else {
            if i > 0 {
                out.push('\n');
            }
            let heading = report::Heading {
                name: &a.name,
                policy: scaler.policy_name(),
                overridden: over.is_some(),
                capacity: params.capacity,
                start_ms: start,
                end_ms: points.last().map_or(start, |p| p.t_ms),
                step_ms: step,
            };
            report::table(&mut out, &heading, &rows, &sum);
        }
    }
    store.close()?;
    Ok(out)
}
