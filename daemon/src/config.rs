//! The configuration file: a prometheus.yml.
//!
//! The YAML is deserialized into typed sections (unknown fields are errors that name the file,
//! line and field); `scrape_configs` entries are the scraper's own
//! [`scraper::config::ScrapeConfig`]. [`Config::parse`] then checks what ties sections together
//! and applies the `global` defaults, so the rest of the daemon only sees valid settings.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use scraper::config::{LabelSet, PromDuration, ScrapeConfig, ScrapeDefaults, TargetGroup};
use scraper::relabel::RelabelConfig;
use serde::Deserialize;

use crate::remote::write::RemoteWriteConfig;

/// The embedded default configuration (scrapes Vane itself).
pub const DEFAULT_CONFIG: &str = include_str!("default.yml");

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: RawGlobal,
    #[serde(default)]
    scrape_configs: Vec<ScrapeConfig>,
    #[serde(default)]
    rule_files: Vec<String>,
    #[serde(default)]
    alerting: AlertingConfig,
    #[serde(default)]
    remote_write: Vec<RemoteWriteConfig>,
    rule_evaluation: Option<RuleEvaluationConfig>,
    /// Vane's own: the autoscalers.
    #[serde(default)]
    autoscalers: Vec<crate::autoscalers::AutoscalerConfig>,
}

scraper::with_http_client_fields! {
    /// Vane's own `rule_evaluation:` section: rules (and templates' `query`) read from a remote
    /// Prometheus-compatible query API instead of the local store; their output is still
    /// written locally.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RuleEvaluationConfig {
        /// The API's base URL (`<query_url>/api/v1/query` is called).
        pub query_url: String,
        #[serde(default = "default_rule_query_timeout")]
        pub timeout: PromDuration,
    }
}

fn default_rule_query_timeout() -> PromDuration {
    PromDuration(Duration::from_secs(120))
}

/// The `alerting:` section: where alerts go and how their labels are rewritten first.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// Applied to every alert's labels (after the external labels) before it is sent.
    #[serde(default)]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// Vane's own: webhook receivers notified directly, grouped as Alertmanager would.
    #[serde(default)]
    pub webhooks: Vec<alerting::notify::WebhookConfig>,
}

scraper::with_http_client_fields! {
    /// One `alerting.alertmanagers` entry: Alertmanagers sharing scheme, path and client
    /// settings.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AlertmanagerConfig {
        #[serde(default)]
        pub static_configs: Vec<TargetGroup>,
        #[serde(default = "default_scheme")]
        pub scheme: String,
        #[serde(default)]
        pub path_prefix: String,
        #[serde(default = "default_am_timeout")]
        pub timeout: PromDuration,
        #[serde(default = "default_api_version")]
        pub api_version: String,
    }
}

fn default_scheme() -> String {
    "http".into()
}
fn default_am_timeout() -> PromDuration {
    PromDuration(Duration::from_secs(10))
}
fn default_api_version() -> String {
    "v2".into()
}

impl AlertmanagerConfig {
    /// The alerts URL of each target: `<scheme>://<target><path_prefix>/api/v2/alerts`.
    pub fn urls(&self) -> Vec<String> {
        let prefix = self.path_prefix.trim_end_matches('/');
        let slash = if prefix.is_empty() || prefix.starts_with('/') {
            ""
        } else {
            "/"
        };
        self.static_configs
            .iter()
            .flat_map(|g| g.targets.iter())
            .map(|t| format!("{}://{t}{slash}{prefix}/api/v2/alerts", self.scheme))
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    scrape_interval: Option<PromDuration>,
    scrape_timeout: Option<PromDuration>,
    evaluation_interval: Option<PromDuration>,
    rule_query_offset: Option<PromDuration>,
    #[serde(default, deserialize_with = "scraper::config::label_set")]
    external_labels: LabelSet,
}

/// Validated global settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    pub evaluation_interval: Duration,
    /// How far behind the evaluation time rules query (for groups without their own).
    pub rule_query_offset: Duration,
    pub external_labels: BTreeMap<String, String>,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub global: Global,
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `rule_files` patterns, relative to `dir`.
    pub rule_files: Vec<String>,
    pub alerting: AlertingConfig,
    pub rule_evaluation: Option<RuleEvaluationConfig>,
    /// Destinations samples are sent to (remote write 1.0).
    pub remote_write: Vec<RemoteWriteConfig>,
    /// Checked: names unique, queries parse, scalers valid, one target each.
    pub autoscalers: Vec<crate::autoscalers::AutoscalerConfig>,
    /// The directory of the configuration file (relative paths in it start there).
    pub dir: std::path::PathBuf,
    /// The YAML it was read from (served by `/api/v1/status/config`).
    pub text: String,
}

impl Config {
    /// Parses and validates YAML text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Config> {
        let raw: RawConfig = yaml_serde::from_str(text).map_err(|e| anyhow!("{source}: {e}"))?;
        Self::validate(raw, text).with_context(|| format!("{source}: invalid configuration"))
    }

    /// Reads, parses and validates a file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut c = Self::parse(&text, &path.display().to_string())?;
        // Relative file_sd and rule file paths are relative to the config file, as in
        // Prometheus.
        let dir = path.parent().unwrap_or(Path::new("."));
        c.dir = dir.to_path_buf();
        for sc in &mut c.scrape_configs {
            for sd in &mut sc.file_sd_configs {
                for f in &mut sd.files {
                    if Path::new(f.as_str()).is_relative() {
                        *f = dir.join(&*f).display().to_string();
                    }
                }
            }
        }
        Ok(c)
    }

    /// The embedded default, with Vane's own job pointed at `listen` (the address it serves on).
    pub fn embedded_default(listen: &str) -> Result<Config> {
        let mut c = Self::parse(DEFAULT_CONFIG, "embedded default configuration")?;
        for sc in c.scrape_configs.iter_mut().filter(|s| s.job_name == "vane") {
            for st in sc.static_configs.iter_mut() {
                st.targets = vec![listen.to_string()];
            }
        }
        Ok(c)
    }

    /// Refuses what agent mode cannot run, as Prometheus refuses it: rules, alerting, and
    /// Vane's own rule evaluation and autoscalers (which query, and an agent has no queries).
    pub fn check_agent(&self) -> Result<()> {
        let a = &self.alerting;
        let fields = [
            ("rule_files", !self.rule_files.is_empty()),
            (
                "alerting",
                !a.alertmanagers.is_empty()
                    || !a.alert_relabel_configs.is_empty()
                    || !a.webhooks.is_empty(),
            ),
            ("rule_evaluation", self.rule_evaluation.is_some()),
            ("autoscalers", !self.autoscalers.is_empty()),
        ];
        match fields.iter().find(|(_, set)| *set) {
            Some((name, _)) => bail!("field {name} is not allowed in agent mode"),
            None => Ok(()),
        }
    }

    fn validate(raw: RawConfig, text: &str) -> Result<Config> {
        let g = &raw.global;
        let scrape_interval = g.scrape_interval.map_or(Duration::from_secs(60), |d| d.0);
        let scrape_timeout = g.scrape_timeout.map_or(Duration::from_secs(10), |d| d.0);
        let evaluation_interval = g
            .evaluation_interval
            .map_or(Duration::from_secs(60), |d| d.0);
        if scrape_interval.is_zero() {
            bail!("global.scrape_interval must be greater than zero");
        }
        if g.scrape_timeout.is_some() && scrape_timeout > scrape_interval {
            bail!(
                "global.scrape_timeout ({:?}) is greater than global.scrape_interval ({:?})",
                PromDuration(scrape_timeout),
                PromDuration(scrape_interval)
            );
        }
        for (k, v) in &g.external_labels {
            if v.is_empty() {
                bail!("global.external_labels: label {k:?} has an empty value");
            }
        }
        if evaluation_interval.is_zero() {
            bail!("global.evaluation_interval must be greater than zero");
        }
        let global = Global {
            rule_query_offset: g.rule_query_offset.map_or(Duration::ZERO, |d| d.0),
            scrape_interval,
            // Without an explicit timeout, a short interval lowers the default, as in Prometheus.
            scrape_timeout: scrape_timeout.min(scrape_interval),
            evaluation_interval,
            external_labels: g.external_labels.clone(),
        };
        let defaults = ScrapeDefaults {
            scrape_interval: global.scrape_interval,
            scrape_timeout: global.scrape_timeout,
        };
        let mut seen = HashSet::new();
        let mut scrape_configs = raw.scrape_configs;
        for (i, sc) in scrape_configs.iter_mut().enumerate() {
            if !seen.insert(sc.job_name.clone()) {
                let line = line_of_nth_job(text, &sc.job_name, 2)
                    .map_or(String::new(), |l| format!(" at line {l}"));
                bail!(
                    "scrape_configs[{i}]: duplicate job_name {:?}{line}",
                    sc.job_name
                );
            }
            sc.finish(&defaults)
                .map_err(|e| anyhow!("scrape_configs[{i}]: {e}"))?;
        }
        for (i, r) in raw.rule_files.iter().enumerate() {
            if r.trim().is_empty() {
                bail!("rule_files[{i}]: empty file pattern");
            }
        }
        for (i, r) in raw.alerting.alert_relabel_configs.iter().enumerate() {
            r.validate()
                .map_err(|e| anyhow!("alerting.alert_relabel_configs[{i}]: {e}"))?;
        }
        for (i, am) in raw.alerting.alertmanagers.iter().enumerate() {
            let at = format!("alerting.alertmanagers[{i}]");
            if am.api_version != "v2" {
                bail!(
                    "{at}: api_version {:?} is not supported (only v2)",
                    am.api_version
                );
            }
            if am.scheme != "http" && am.scheme != "https" {
                bail!("{at}: scheme must be http or https, not {:?}", am.scheme);
            }
            for t in am.static_configs.iter().flat_map(|g| g.targets.iter()) {
                if t.is_empty() || t.contains('/') {
                    bail!("{at}: target {t:?} must be a host:port");
                }
            }
        }
        let mut names = HashSet::new();
        for (i, w) in raw.alerting.webhooks.iter().enumerate() {
            w.validate()
                .map_err(|e| anyhow!("alerting.webhooks[{i}]: {e}"))?;
            if !names.insert(w.name.clone()) {
                bail!("alerting.webhooks[{i}]: duplicate name {:?}", w.name);
            }
        }
        if let Some(r) = &raw.rule_evaluation {
            let ok = r.query_url.starts_with("http://") || r.query_url.starts_with("https://");
            if !ok {
                bail!(
                    "rule_evaluation.query_url: {:?} is not an http(s) URL",
                    r.query_url
                );
            }
        }
        crate::remote::write::config::validate(&raw.remote_write).map_err(|e| anyhow!(e))?;
        crate::autoscalers::check_all(&raw.autoscalers).map_err(|e| anyhow!(e))?;
        Ok(Config {
            global,
            scrape_configs,
            rule_files: raw.rule_files,
            alerting: raw.alerting,
            rule_evaluation: raw.rule_evaluation,
            remote_write: raw.remote_write,
            autoscalers: raw.autoscalers,
            dir: std::path::PathBuf::from("."),
            text: text.to_string(),
        })
    }
}

/// The 1-based line of the `n`th `job_name: NAME` in the text, for error messages.
fn line_of_nth_job(text: &str, name: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            l.strip_prefix("job_name:")
                .is_some_and(|v| v.trim().trim_matches(|c| c == '"' || c == '\'') == name)
        })
        .nth(n - 1)
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name)
    }

    #[test]
    fn embedded_default_is_valid_and_targets_the_listen_address() {
        let c = Config::embedded_default("127.0.0.1:19090").unwrap();
        assert_eq!(c.global.scrape_interval, Duration::from_secs(15));
        assert_eq!(c.scrape_configs[0].job_name, "vane");
        assert_eq!(
            c.scrape_configs[0].static_configs[0].targets,
            ["127.0.0.1:19090"]
        );
    }

    #[test]
    fn good_file_loads_with_prometheus_defaults() {
        let c = Config::load(&testdata("good.yml")).unwrap();
        assert_eq!(c.global.scrape_interval, Duration::from_secs(30));
        assert_eq!(c.global.external_labels["region"], "eu");
        let node = &c.scrape_configs[0];
        assert_eq!(node.timeout(), Duration::from_secs(10));
        assert_eq!(node.metrics_path, "/metrics");
        assert!(node.honor_timestamps && !node.honor_labels);
        let fast = &c.scrape_configs[1];
        // A job interval below the global timeout lowers the timeout.
        assert_eq!(fast.interval(), Duration::from_secs(5));
        assert_eq!(fast.timeout(), Duration::from_secs(5));
    }

    #[test]
    fn remote_write_entries_take_prometheus_defaults() {
        let c = Config::load(&testdata("remote_write.yml")).unwrap();
        let [vm, mimir] = &c.remote_write[..] else {
            panic!("{:?}", c.remote_write)
        };
        assert_eq!(vm.remote_timeout.0, Duration::from_secs(30));
        let q = &vm.queue_config;
        assert_eq!(
            (
                q.capacity,
                q.min_shards,
                q.max_shards,
                q.max_samples_per_send
            ),
            (10_000, 1, 50, 2000)
        );
        assert_eq!(q.batch_send_deadline.0, Duration::from_secs(5));
        assert_eq!(
            (q.min_backoff.0, q.max_backoff.0),
            (Duration::from_millis(30), Duration::from_secs(5))
        );
        assert!(!q.retry_on_http_429);
        assert_eq!(vm.remote_name().len(), 6);
        assert_eq!(mimir.remote_name(), "mimir");
        assert_eq!(
            mimir.redacted_url(),
            "https://user:xxxxx@mimir.example/api/v1/push"
        );
        assert_eq!(mimir.queue_config.capacity, 2500);
        assert_eq!(mimir.queue_config.min_shards, 1);
        assert!(mimir.queue_config.retry_on_http_429);
        assert_eq!(mimir.headers["X-Scope-OrgID"], "team-a");
        assert_ne!(vm.key(), mimir.key());
    }

    #[test]
    fn bad_files_give_errors_naming_file_line_and_field() {
        let cases = [
            (
                "unknown_field.bad.yml",
                &["unknown_field.bad.yml", "line 5", "scrape_intervall"][..],
            ),
            (
                "duplicate_job.bad.yml",
                &[
                    "duplicate_job.bad.yml",
                    "duplicate job_name \"node\"",
                    "at line",
                ][..],
            ),
            (
                "bad_duration.bad.yml",
                &["bad_duration.bad.yml", "global", "invalid duration"][..],
            ),
            (
                "timeout.bad.yml",
                &["scrape_timeout", "greater than scrape_interval"][..],
            ),
            ("syntax.bad.yml", &["syntax.bad.yml", "line"][..]),
            (
                "remote_write_header.bad.yml",
                &["remote_write[0]", "Content-Type is a reserved header"][..],
            ),
            (
                "remote_write_shards.bad.yml",
                &[
                    "remote_write[0] (\"vm\")",
                    "min_shards must not be greater than max_shards",
                ][..],
            ),
            (
                "remote_write_duplicate.bad.yml",
                &["remote_write[1]", "duplicate remote write configs"][..],
            ),
            (
                "remote_write_v2.bad.yml",
                &["io.prometheus.write.v2.Request", "is not supported"][..],
            ),
            (
                "remote_write_url.bad.yml",
                &["url for remote_write is empty"][..],
            ),
            (
                "remote_write_auth.bad.yml",
                &["at most one of basic_auth, authorization"][..],
            ),
            (
                "remote_write_unknown.bad.yml",
                &["remote_write_unknown.bad.yml", "unknown field `sigv4`"][..],
            ),
        ];
        for (file, wants) in cases {
            let err = format!("{:#}", Config::load(&testdata(file)).unwrap_err());
            for w in wants {
                assert!(err.contains(w), "{file}: {err:?} lacks {w:?}");
            }
        }
    }
}
