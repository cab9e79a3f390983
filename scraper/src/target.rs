//! Targets: what discovery found, turned into scrape targets by a job's settings and
//! `relabel_configs`, as Prometheus does.

use std::collections::BTreeMap;
use std::time::Duration;

use model::{Labels, LabelsBuilder};

use crate::config::{PromDuration, ScrapeConfig, TargetGroup};
use crate::relabel;

pub const ADDRESS: &str = "__address__";
pub const SCHEME: &str = "__scheme__";
pub const METRICS_PATH: &str = "__metrics_path__";
pub const SCRAPE_INTERVAL: &str = "__scrape_interval__";
pub const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";
pub const PARAM_PREFIX: &str = "__param_";
pub const JOB: &str = "job";
pub const INSTANCE: &str = "instance";

/// A target ready to scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Labels after relabeling, without the `__` ones: attached to every sample.
    pub labels: Labels,
    /// Labels as discovered, before relabeling (shown by the targets API).
    pub discovered: Labels,
    /// The scrape URL.
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Target {
    /// The identity of a target within its job: its labels and URL. A change of either is a
    /// different target.
    pub fn key(&self) -> u64 {
        let mut h = xxhash_rust::xxh64::Xxh64::new(0);
        h.update(&self.labels.stable_hash().to_le_bytes());
        h.update(self.url.as_bytes());
        h.digest()
    }
}

/// What became of one discovered target.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Active(Target),
    /// Dropped by relabeling; kept with its discovered labels for the targets API.
    Dropped(Labels),
}

/// Turns every target of `groups` into an [`Outcome`]. A target whose labels are invalid after
/// relabeling is reported in the error list (with its discovered labels) and skipped.
pub fn targets_from_groups(
    cfg: &ScrapeConfig,
    groups: &[TargetGroup],
) -> (Vec<Outcome>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for g in groups {
        for (i, addr) in g.targets.iter().enumerate() {
            let mut lb = LabelsBuilder::with_capacity(g.labels.len() + 6);
            for (k, v) in &g.labels {
                lb.set(k.as_str(), v.as_str());
            }
            lb.set(ADDRESS, addr.as_str());
            match populate(cfg, lb) {
                Ok(o) => out.push(o),
                Err(e) => errors.push(format!("{} target {i} ({addr}): {e}", g.source)),
            }
        }
    }
    (out, errors)
}

/// A discovered target (group labels and `__address__` already set) through the job's
/// settings and relabeling.
pub fn populate(cfg: &ScrapeConfig, mut lb: LabelsBuilder) -> Result<Outcome, String> {
    let defaults = [
        (JOB, cfg.job_name.clone()),
        (SCRAPE_INTERVAL, PromDuration(cfg.interval()).to_string()),
        (SCRAPE_TIMEOUT, PromDuration(cfg.timeout()).to_string()),
        (METRICS_PATH, cfg.metrics_path.clone()),
        (SCHEME, cfg.scheme.clone()),
    ];
    for (k, v) in defaults {
        if lb.get(k).is_empty() {
            lb.set(k, v);
        }
    }
    for (k, vs) in &cfg.params {
        let name = format!("{PARAM_PREFIX}{k}");
        if lb.get(&name).is_empty()
            && let Some(v) = vs.first()
        {
            lb.set(name, v.as_str());
        }
    }
    let discovered = lb.clone().build();
    if !relabel::process(&mut lb, &cfg.relabel_configs) {
        return Ok(Outcome::Dropped(discovered));
    }
    let addr = lb.get(ADDRESS).to_string();
    if addr.is_empty() {
        return Err("no address".into());
    }
    if addr.contains('/') || addr.contains(char::is_whitespace) {
        return Err(format!("{addr:?} is not a valid hostname"));
    }
    let scheme = lb.get(SCHEME).to_string();
    if scheme != "http" && scheme != "https" {
        return Err(format!("invalid scheme {scheme:?}"));
    }
    let dur = |name: &str| -> Result<Duration, String> {
        model::duration::parse_duration(lb.get(name))
            .map_err(|e| format!("error parsing {name}: {e}"))
    };
    let interval = dur(SCRAPE_INTERVAL)?;
    let timeout = dur(SCRAPE_TIMEOUT)?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".into());
    }
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({} > {})",
            PromDuration(timeout),
            PromDuration(interval)
        ));
    }
    let url = scrape_url(&lb, cfg)?;
    if lb.get(INSTANCE).is_empty() {
        lb.set(INSTANCE, addr);
    }
    lb.retain(|l| !l.name.starts_with("__"));
    for l in lb.labels() {
        if !crate::textparse::is_label_name(&l.name) {
            return Err(format!("invalid label name {:?}", l.name));
        }
    }
    Ok(Outcome::Active(Target {
        labels: lb.build(),
        discovered,
        url,
        interval,
        timeout,
    }))
}

/// `scheme://address/path?params`, where `__param_NAME` labels override the first value of
/// the job's `params` entry of that name. The path is escaped and gets a leading `/` if it
/// lacks one, and parameters are form-encoded in name order, as Go's URL type writes them.
fn scrape_url(lb: &LabelsBuilder, cfg: &ScrapeConfig) -> Result<String, String> {
    let mut params: BTreeMap<String, Vec<String>> = cfg.params.clone();
    for l in lb.labels() {
        if let Some(name) = l.name.strip_prefix(PARAM_PREFIX) {
            let vs = params.entry(name.to_string()).or_default();
            if vs.is_empty() {
                vs.push(l.value.to_string());
            } else {
                vs[0] = l.value.to_string();
            }
        }
    }
    let base = format!("{}://{}", lb.get(SCHEME), lb.get(ADDRESS));
    let mut url =
        reqwest::Url::parse(&base).map_err(|e| format!("invalid target URL {base:?}: {e}"))?;
    url.set_path(lb.get(METRICS_PATH));
    if !params.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, vs) in &params {
            for v in vs {
                q.append_pair(k, v);
            }
        }
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use model::labels;

    use super::*;

    fn job(yaml: &str) -> ScrapeConfig {
        let mut c: ScrapeConfig = yaml_serde::from_str(yaml).unwrap();
        c.finish(&Default::default()).unwrap();
        c
    }

    fn group(targets: &[&str], labels: &[(&str, &str)]) -> TargetGroup {
        TargetGroup {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            source: "test".into(),
        }
    }

    #[test]
    fn job_instance_and_url() {
        let c = job("job_name: node\nscrape_interval: 15s\nparams: {module: [a, b]}");
        let (out, errs) = targets_from_groups(&c, &[group(&["h:9100"], &[("env", "prod")])]);
        assert!(errs.is_empty());
        let Outcome::Active(t) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(
            t.labels,
            labels! {"env" => "prod", "instance" => "h:9100", "job" => "node"}
        );
        assert_eq!(t.url, "http://h:9100/metrics?module=a&module=b");
        assert_eq!(t.interval, Duration::from_secs(15));
        assert_eq!(t.discovered.get("__scrape_interval__"), "15s");
        assert_eq!(t.discovered.get("__param_module"), "a");
    }

    #[test]
    fn relabeling_rewrites_address_path_and_params() {
        // The blackbox-exporter pattern: the target becomes a parameter.
        let c = job(concat!(
            "job_name: blackbox\nmetrics_path: /probe\nparams: {module: [http_2xx]}\n",
            "relabel_configs:\n",
            "- source_labels: [__address__]\n  target_label: __param_target\n",
            "- source_labels: [__param_target]\n  target_label: instance\n",
            "- target_label: __address__\n  replacement: 127.0.0.1:9115\n",
        ));
        let (out, _) = targets_from_groups(&c, &[group(&["https://example.org"], &[])]);
        let Outcome::Active(t) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(
            t.url,
            "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.org"
        );
        assert_eq!(
            t.labels,
            labels! {"instance" => "https://example.org", "job" => "blackbox"}
        );
    }

    #[test]
    fn dropped_targets_and_errors() {
        let c = job(
            "job_name: j\nrelabel_configs:\n- source_labels: [env]\n  regex: dev\n  action: drop",
        );
        let (out, _) = targets_from_groups(
            &c,
            &[
                group(&["a:1"], &[("env", "dev")]),
                group(&["b:1"], &[("env", "prod")]),
            ],
        );
        assert!(matches!(&out[0], Outcome::Dropped(l) if l.get("__address__") == "a:1"));
        assert!(matches!(&out[1], Outcome::Active(t) if t.labels.get("instance") == "b:1"));
        let c = job(
            "job_name: j\nscrape_interval: 10s\nrelabel_configs:\n- target_label: __scrape_timeout__\n  replacement: 20s",
        );
        let (out, errs) = targets_from_groups(&c, &[group(&["a:1"], &[])]);
        assert!(out.is_empty());
        assert!(errs[0].contains("greater than scrape interval"), "{errs:?}");
    }

    #[test]
    fn target_labels_win_over_group_labels_and_explicit_instance_stays() {
        let c = job("job_name: j\nrelabel_configs:\n- target_label: instance\n  replacement: mine");
        let (out, _) = targets_from_groups(&c, &[group(&["a:1"], &[("job", "override")])]);
        let Outcome::Active(t) = &out[0] else {
            panic!()
        };
        assert_eq!(
            t.labels,
            labels! {"instance" => "mine", "job" => "override"}
        );
    }
}
