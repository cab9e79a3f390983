//! The configuration file: a prometheus.yml.
//!
//! The file is parsed into `Raw*` types that mirror the YAML (unknown fields are errors that
//! name the file, line and field), then validated into [`Config`], which is the only type the
//! rest of the daemon sees. Today the `global` section and `scrape_configs` with static
//! targets are understood; the scraper will use them.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

/// The embedded default configuration (scrapes Vane itself).
pub const DEFAULT_CONFIG: &str = include_str!("default.yml");

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: RawGlobal,
    #[serde(default)]
    scrape_configs: Vec<RawScrapeConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    evaluation_interval: Option<String>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScrapeConfig {
    job_name: String,
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    metrics_path: Option<String>,
    scheme: Option<String>,
    honor_labels: Option<bool>,
    honor_timestamps: Option<bool>,
    #[serde(default)]
    static_configs: Vec<RawStaticConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaticConfig {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Validated global settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    pub evaluation_interval: Duration,
    pub external_labels: BTreeMap<String, String>,
}

/// One group of static targets with extra labels.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticConfig {
    pub targets: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// A validated scrape job.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    pub metrics_path: String,
    pub scheme: String,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub static_configs: Vec<StaticConfig>,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub global: Global,
    pub scrape_configs: Vec<ScrapeConfig>,
}

fn duration(field: &str, v: Option<&String>, default: Duration) -> Result<Duration> {
    match v {
        None => Ok(default),
        Some(s) => model::duration::parse_duration(s).map_err(|e| anyhow!("{field}: {e}")),
    }
}

fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl Config {
    /// Parses and validates YAML text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Config> {
        let raw: RawConfig = yaml_serde::from_str(text).map_err(|e| anyhow!("{source}: {e}"))?;
        Self::validate(raw).with_context(|| format!("{source}: invalid configuration"))
    }

    /// Reads, parses and validates a file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
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

    fn validate(raw: RawConfig) -> Result<Config> {
        let g = &raw.global;
        let scrape_interval = duration(
            "global.scrape_interval",
            g.scrape_interval.as_ref(),
            Duration::from_secs(60),
        )?;
        let scrape_timeout = duration(
            "global.scrape_timeout",
            g.scrape_timeout.as_ref(),
            Duration::from_secs(10),
        )?;
        let evaluation_interval = duration(
            "global.evaluation_interval",
            g.evaluation_interval.as_ref(),
            Duration::from_secs(60),
        )?;
        if scrape_interval.is_zero() {
            bail!("global.scrape_interval must be greater than zero");
        }
        if scrape_timeout > scrape_interval {
            bail!(
                "global.scrape_timeout ({scrape_timeout:?}) is greater than global.scrape_interval ({scrape_interval:?})"
            );
        }
        for (k, v) in &g.external_labels {
            if !is_label_name(k) {
                bail!("global.external_labels: {k:?} is not a valid label name");
            }
            if v.is_empty() {
                bail!("global.external_labels: label {k:?} has an empty value");
            }
        }
        let global = Global {
            scrape_interval,
            // A global timeout larger than a job's interval is lowered per job, as Prometheus does.
            scrape_timeout,
            evaluation_interval,
            external_labels: g.external_labels.clone(),
        };
        let mut seen = HashSet::new();
        let mut scrape_configs = Vec::with_capacity(raw.scrape_configs.len());
        for (i, sc) in raw.scrape_configs.into_iter().enumerate() {
            let at = format!("scrape_configs[{i}] (job {:?})", sc.job_name);
            if sc.job_name.is_empty() {
                bail!("scrape_configs[{i}]: job_name is empty");
            }
            if !seen.insert(sc.job_name.clone()) {
                bail!("{at}: duplicate job_name {:?}", sc.job_name);
            }
            let interval = duration(
                &format!("{at}.scrape_interval"),
                sc.scrape_interval.as_ref(),
                global.scrape_interval,
            )?;
            let default_timeout = global.scrape_timeout.min(interval);
            let timeout = duration(
                &format!("{at}.scrape_timeout"),
                sc.scrape_timeout.as_ref(),
                default_timeout,
            )?;
            if interval.is_zero() {
                bail!("{at}: scrape_interval must be greater than zero");
            }
            if timeout > interval {
                bail!(
                    "{at}: scrape_timeout ({timeout:?}) is greater than scrape_interval ({interval:?})"
                );
            }
            let scheme = sc.scheme.unwrap_or_else(|| "http".into());
            if scheme != "http" && scheme != "https" {
                bail!("{at}: scheme must be http or https, not {scheme:?}");
            }
            let metrics_path = sc.metrics_path.unwrap_or_else(|| "/metrics".into());
            if !metrics_path.starts_with('/') {
                bail!("{at}: metrics_path {metrics_path:?} must start with '/'");
            }
            let mut statics = Vec::new();
            for (j, st) in sc.static_configs.into_iter().enumerate() {
                for t in &st.targets {
                    if t.is_empty() || t.contains('/') || t.contains(char::is_whitespace) {
                        bail!("{at}.static_configs[{j}]: {t:?} is not a valid host:port target");
                    }
                }
                for (k, v) in &st.labels {
                    if !is_label_name(k) {
                        bail!("{at}.static_configs[{j}].labels: {k:?} is not a valid label name");
                    }
                    let _ = v;
                }
                statics.push(StaticConfig {
                    targets: st.targets,
                    labels: st.labels,
                });
            }
            scrape_configs.push(ScrapeConfig {
                job_name: sc.job_name,
                scrape_interval: interval,
                scrape_timeout: timeout,
                metrics_path,
                scheme,
                honor_labels: sc.honor_labels.unwrap_or(false),
                honor_timestamps: sc.honor_timestamps.unwrap_or(true),
                static_configs: statics,
            });
        }
        Ok(Config {
            global,
            scrape_configs,
        })
    }
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
        assert_eq!(node.scrape_timeout, Duration::from_secs(10));
        assert_eq!(node.metrics_path, "/metrics");
        assert!(node.honor_timestamps && !node.honor_labels);
        let fast = &c.scrape_configs[1];
        // A job interval below the global timeout lowers the timeout.
        assert_eq!(fast.scrape_interval, Duration::from_secs(5));
        assert_eq!(fast.scrape_timeout, Duration::from_secs(5));
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
                &["duplicate_job.bad.yml", "duplicate job_name \"node\""][..],
            ),
            (
                "bad_duration.bad.yml",
                &[
                    "bad_duration.bad.yml",
                    "global.scrape_interval",
                    "not a valid duration",
                ][..],
            ),
            (
                "timeout.bad.yml",
                &["scrape_timeout", "greater than scrape_interval"][..],
            ),
            ("syntax.bad.yml", &["syntax.bad.yml", "line"][..]),
        ];
        for (file, wants) in cases {
            let err = format!("{:#}", Config::load(&testdata(file)).unwrap_err());
            for w in wants {
                assert!(err.contains(w), "{file}: {err:?} lacks {w:?}");
            }
        }
    }
}
