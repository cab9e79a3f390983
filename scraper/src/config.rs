//! `scrape_configs` entries of a prometheus.yml.
//!
//! The YAML is deserialized straight into these types with unknown fields refused. Values that
//! can be wrong on their own (durations, regexes, label names, actions) are checked while they
//! are read, so the YAML library's error names the line and the field path; rules that tie
//! fields together are checked by [`ScrapeConfig::finish`], which also applies the `global`
//! defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::relabel::RelabelConfig;
use crate::textparse::is_label_name;

/// A Prometheus duration (`15s`, `1m30s`) read from YAML.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PromDuration(pub Duration);

impl fmt::Debug for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&model::duration::format_duration_ms(
            self.0.as_millis() as u64
        ))
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        model::duration::parse_duration(&s)
            .map(PromDuration)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration {s:?}: {e}")))
    }
}

/// A label name read from YAML, checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelName(pub String);

impl<'de> Deserialize<'de> for LabelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if !is_label_name(&s) {
            return Err(serde::de::Error::custom(format!(
                "invalid label name {s:?}"
            )));
        }
        Ok(LabelName(s))
    }
}

/// A label set of a target group: names checked, values any UTF-8.
pub type LabelSet = BTreeMap<String, String>;

/// Deserializes a label set, checking the names.
pub fn label_set<'de, D: Deserializer<'de>>(d: D) -> Result<LabelSet, D::Error> {
    let m: BTreeMap<LabelName, String> = BTreeMap::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k.0, v)).collect())
}

/// One `static_configs` entry, and the unit every discovery mechanism produces.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetGroup {
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default, deserialize_with = "label_set")]
    pub labels: LabelSet,
    /// Where the group came from (a file and index, a URL and index); set by discovery.
    #[serde(skip)]
    pub source: String,
}

/// The HTTP client settings shared by scrape jobs and HTTP discovery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpClientConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    pub tls_config: TlsConfig,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
    pub proxy_url: Option<String>,
}

/// Adds the HTTP client fields, which sit at the top level of a scrape job and of an HTTP SD
/// entry in the YAML, to a struct, with `http_client()` to collect them. (Serde's `flatten`
/// would lose both `deny_unknown_fields` and the line numbers of errors.) Exported for the
/// other HTTP clients of the configuration (Alertmanagers).
#[macro_export]
macro_rules! with_http_client_fields {
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$m])*
        pub struct $name {
            $($body)*
            pub basic_auth: Option<$crate::config::BasicAuth>,
            pub authorization: Option<$crate::config::Authorization>,
            pub bearer_token: Option<String>,
            pub bearer_token_file: Option<std::path::PathBuf>,
            #[serde(default)]
            pub tls_config: $crate::config::TlsConfig,
            pub follow_redirects: Option<bool>,
            pub enable_http2: Option<bool>,
            pub proxy_url: Option<String>,
        }

        impl $name {
            /// The HTTP client settings of this entry.
            pub fn http_client(&self) -> $crate::config::HttpClientConfig {
                $crate::config::HttpClientConfig {
                    basic_auth: self.basic_auth.clone(),
                    authorization: self.authorization.clone(),
                    bearer_token: self.bearer_token.clone(),
                    bearer_token_file: self.bearer_token_file.clone(),
                    tls_config: self.tls_config.clone(),
                    follow_redirects: self.follow_redirects,
                    enable_http2: self.enable_http2,
                    proxy_url: self.proxy_url.clone(),
                }
            }
        }
    };
}

/// `file_sd_configs`: target groups in YAML or JSON files, re-read when they change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    pub files: Vec<String>,
    #[serde(default = "default_file_refresh")]
    pub refresh_interval: PromDuration,
}

fn default_file_refresh() -> PromDuration {
    PromDuration(Duration::from_secs(300))
}

with_http_client_fields! {
    /// `http_sd_configs`: target groups as JSON from an HTTP endpoint.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HttpSdConfig {
        pub url: String,
        #[serde(default = "default_http_refresh")]
        pub refresh_interval: PromDuration,
    }
}

fn default_http_refresh() -> PromDuration {
    PromDuration(Duration::from_secs(60))
}

/// `basic_auth`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
}

/// `authorization` (`type` defaults to `Bearer`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub credentials: Option<String>,
    pub credentials_file: Option<PathBuf>,
}

/// `tls_config`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

impl HttpClientConfig {
    /// Checks the rules that tie the settings together (one kind of authentication, TLS
    /// certificate and key together, a valid proxy URL).
    pub fn check(&self) -> Result<(), String> {
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        let auth = self.authorization.is_some();
        let basic = self.basic_auth.is_some();
        if [bearer, auth, basic].iter().filter(|b| **b).count() > 1 {
            return Err(
                "at most one of basic_auth, authorization and bearer_token & bearer_token_file may be configured"
                    .into(),
            );
        }
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(
                "at most one of bearer_token and bearer_token_file may be configured".into(),
            );
        }
        if let Some(b) = &self.basic_auth
            && b.password.is_some()
            && b.password_file.is_some()
        {
            return Err(
                "at most one of basic_auth password and password_file may be configured".into(),
            );
        }
        if let Some(a) = &self.authorization {
            if a.credentials.is_some() && a.credentials_file.is_some() {
                return Err(
                    "at most one of authorization credentials and credentials_file may be configured"
                        .into(),
                );
            }
            if a.kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("basic"))
            {
                return Err(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
                        .into(),
                );
            }
        }
        let t = &self.tls_config;
        if t.cert_file.is_some() != t.key_file.is_some() {
            return Err("tls_config: cert_file and key_file must be configured together".into());
        }
        if let Some(p) = &self.proxy_url {
            url_check(p).map_err(|e| format!("proxy_url: {e}"))?;
        }
        Ok(())
    }
}

fn url_check(u: &str) -> Result<(), String> {
    reqwest::Url::parse(u)
        .map(|_| ())
        .map_err(|e| format!("invalid URL {u:?}: {e}"))
}

/// `global`'s scrape settings, the defaults of every job.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeDefaults {
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
}

impl Default for ScrapeDefaults {
    fn default() -> Self {
        ScrapeDefaults {
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
        }
    }
}

with_http_client_fields! {
/// One `scrape_configs` entry. After [`ScrapeConfig::finish`] every optional setting the
/// scraper needs is filled in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub scrape_interval: Option<PromDuration>,
    pub scrape_timeout: Option<PromDuration>,
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub honor_labels: bool,
    #[serde(default = "yes")]
    pub honor_timestamps: bool,
    #[serde(default)]
    pub static_configs: Vec<TargetGroup>,
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    #[serde(default)]
    pub http_sd_configs: Vec<HttpSdConfig>,
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub sample_limit: u64,
    #[serde(default)]
    pub label_limit: u64,
    #[serde(default)]
    pub label_name_length_limit: u64,
    #[serde(default)]
    pub label_value_length_limit: u64,
    #[serde(default)]
    pub target_limit: u64,
    /// Largest uncompressed body accepted, e.g. `10MB` (units as Prometheus reads them; a bare
    /// number other than `0` is refused); `0` or unset means [`DEFAULT_BODY_SIZE_LIMIT`].
    #[serde(default)]
    pub body_size_limit: Option<String>,
}
}

/// The body size limit when `body_size_limit` is not set: large enough for any sane target,
/// small enough that a runaway one cannot exhaust memory.
pub const DEFAULT_BODY_SIZE_LIMIT: u64 = 64 << 20;

fn default_metrics_path() -> String {
    "/metrics".into()
}
fn default_scheme() -> String {
    "http".into()
}
fn yes() -> bool {
    true
}

impl ScrapeConfig {
    /// Checks the rules that tie fields together and fills interval and timeout from
    /// `defaults`. Errors name the job.
    pub fn finish(&mut self, defaults: &ScrapeDefaults) -> Result<(), String> {
        let job = self.job_name.clone();
        let e = |m: String| format!("scrape job {job:?}: {m}");
        if self.job_name.is_empty() {
            return Err("job_name is empty".into());
        }
        let interval = self
            .scrape_interval
            .map_or(defaults.scrape_interval, |d| d.0);
        if interval.is_zero() {
            return Err(e("scrape_interval must be greater than zero".into()));
        }
        let timeout = match self.scrape_timeout {
            Some(t) if t.0 > interval => {
                return Err(e(format!(
                    "scrape_timeout {:?} greater than scrape_interval {:?}",
                    t,
                    PromDuration(interval)
                )));
            }
            Some(t) => t.0,
            None => defaults.scrape_timeout.min(interval),
        };
        if timeout.is_zero() {
            return Err(e("scrape_timeout must be greater than zero".into()));
        }
        self.scrape_interval = Some(PromDuration(interval));
        self.scrape_timeout = Some(PromDuration(timeout));
        if self.scheme != "http" && self.scheme != "https" {
            return Err(e(format!(
                "scheme must be http or https, not {:?}",
                self.scheme
            )));
        }
        if !self.metrics_path.starts_with('/') {
            return Err(e(format!(
                "metrics_path {:?} must start with '/'",
                self.metrics_path
            )));
        }
        self.http_client().check().map_err(e)?;
        for sd in &self.http_sd_configs {
            url_check(&sd.url).map_err(|m| e(format!("http_sd_configs: {m}")))?;
            sd.http_client()
                .check()
                .map_err(|m| e(format!("http_sd_configs: {m}")))?;
        }
        for f in self.file_sd_configs.iter().flat_map(|f| &f.files) {
            if !valid_sd_file_pattern(f) {
                return Err(e(format!(
                    "file_sd_configs: path {f:?} is not valid: the file name must end in .json, .yml or .yaml"
                )));
            }
        }
        for g in &self.static_configs {
            for t in &g.targets {
                if t.contains('/') {
                    return Err(e(format!(
                        "static_configs: target {t:?} must be host:port, not a URL (a path belongs in metrics_path)"
                    )));
                }
            }
        }
        self.body_size_limit_bytes().map_err(e)?;
        Ok(())
    }

    pub fn interval(&self) -> Duration {
        self.scrape_interval
            .map_or(Duration::from_secs(60), |d| d.0)
    }

    pub fn timeout(&self) -> Duration {
        self.scrape_timeout.map_or(Duration::from_secs(10), |d| d.0)
    }

    /// The body size limit in bytes.
    pub fn body_size_limit_bytes(&self) -> Result<u64, String> {
        match self.body_size_limit.as_deref() {
            None | Some("0") | Some("") => Ok(DEFAULT_BODY_SIZE_LIMIT),
            Some(s) => model::size::parse_bytes(s).map_err(|m| format!("body_size_limit: {m}")),
        }
    }
}

/// File SD patterns may use a glob only in the last path element, and must name JSON or YAML.
fn valid_sd_file_pattern(p: &str) -> bool {
    let name = p.rsplit('/').next().unwrap_or(p);
    [".json", ".yml", ".yaml"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        scrape_configs: Vec<ScrapeConfig>,
    }

    /// Parses one job, given as it would sit under `scrape_configs:` in a file.
    fn parse(y: &str) -> Result<ScrapeConfig, String> {
        let indented: String = y.lines().map(|l| format!("    {l}\n")).collect();
        let text = format!("scrape_configs:\n  -\n{indented}");
        let f: File = yaml_serde::from_str(&text).map_err(|e| e.to_string())?;
        let mut c = f.scrape_configs.into_iter().next().unwrap();
        c.finish(&ScrapeDefaults::default())?;
        Ok(c)
    }

    #[test]
    fn defaults_come_from_global() {
        let c = parse("job_name: a\nstatic_configs: [{targets: ['h:1']}]").unwrap();
        assert_eq!(c.interval(), Duration::from_secs(60));
        assert_eq!(c.timeout(), Duration::from_secs(10));
        assert_eq!(c.metrics_path, "/metrics");
        assert!(c.honor_timestamps);
        let c = parse("job_name: a\nscrape_interval: 5s").unwrap();
        assert_eq!(
            c.timeout(),
            Duration::from_secs(5),
            "timeout capped at the interval"
        );
    }

    #[test]
    fn errors_name_the_field_and_line() {
        let e = parse("job_name: a\nscrape_interval: 5s\nrelabel_configs:\n  - regex: '('\n")
            .unwrap_err();
        assert!(
            e.contains("scrape_configs[0].relabel_configs[0]") && e.contains("line 6"),
            "{e}"
        );
        let e = parse("job_name: a\nscrape_interva: 5s\n").unwrap_err();
        assert!(
            e.contains("unknown field `scrape_interva`") && e.contains("line 4"),
            "{e}"
        );
        let e = parse("job_name: a\nscrape_interval: 5x\n").unwrap_err();
        assert!(
            e.contains("scrape_configs[0]")
                && e.contains("invalid duration \"5x\"")
                && e.contains("line 3"),
            "{e}"
        );
        let e = parse("job_name: a\nscrape_interval: 5s\nscrape_timeout: 10s\n").unwrap_err();
        assert!(e.contains("greater than scrape_interval"), "{e}");
        let e = parse("job_name: a\nstatic_configs: [{targets: [x], labels: {'a-b': c}}]\n")
            .unwrap_err();
        assert!(e.contains("invalid label name \"a-b\""), "{e}");
    }

    #[test]
    fn auth_rules() {
        assert!(parse("job_name: a\nbearer_token: x\nbasic_auth: {username: u}").is_err());
        assert!(parse("job_name: a\nauthorization: {type: Basic, credentials: x}").is_err());
        assert!(parse("job_name: a\ntls_config: {cert_file: x}").is_err());
        assert!(parse("job_name: a\nauthorization: {credentials: x}\ntls_config: {insecure_skip_verify: true}").is_ok());
    }
}
