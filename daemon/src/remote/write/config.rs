//! `remote_write` entries of prometheus.yml, with Prometheus's names, defaults and checks.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use scraper::config::PromDuration;
use scraper::relabel::RelabelConfig;
use serde::Deserialize;

/// The only protobuf message Vane sends (remote write 1.0).
pub const WRITE_V1_MESSAGE: &str = "prometheus.WriteRequest";

scraper::with_http_client_fields! {
    /// One `remote_write` entry: a destination.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RemoteWriteConfig {
        pub url: String,
        /// Unique among destinations when set; names the destination in metrics and logs.
        #[serde(default)]
        pub name: String,
        #[serde(default = "default_remote_timeout")]
        pub remote_timeout: PromDuration,
        /// Sent with every request (reserved headers and `Authorization` are refused).
        #[serde(default)]
        pub headers: BTreeMap<String, String>,
        /// Applied to each series' labels after the external labels were added.
        #[serde(default)]
        pub write_relabel_configs: Vec<RelabelConfig>,
        #[serde(default)]
        pub queue_config: QueueConfig,
        /// Accepted for compatibility: Vane sends no metadata.
        #[serde(default)]
        pub metadata_config: MetadataConfig,
        /// Accepted for compatibility: Vane stores no exemplars.
        #[serde(default)]
        pub send_exemplars: bool,
        /// Accepted for compatibility: Vane stores no native histograms.
        #[serde(default)]
        pub send_native_histograms: bool,
        /// Only `prometheus.WriteRequest` (remote write 1.0).
        #[serde(default)]
        pub protobuf_message: Option<String>,
    }
}

fn default_remote_timeout() -> PromDuration {
    PromDuration(Duration::from_secs(30))
}

/// `queue_config`: how samples are queued, batched and retried. Defaults are Prometheus's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Samples buffered per shard before reading the WAL pauses.
    pub capacity: usize,
    pub max_shards: usize,
    pub min_shards: usize,
    pub max_samples_per_send: usize,
    /// Longest a sample waits in a shard before a smaller batch is sent.
    pub batch_send_deadline: PromDuration,
    pub min_backoff: PromDuration,
    pub max_backoff: PromDuration,
    /// Retry on HTTP 429 (Too Many Requests) as on 5xx; otherwise the batch is dropped.
    pub retry_on_http_429: bool,
    /// Samples older than this (by their timestamp, when read) are not sent; 0 sends all.
    pub sample_age_limit: PromDuration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: PromDuration(Duration::from_secs(5)),
            min_backoff: PromDuration(Duration::from_millis(30)),
            max_backoff: PromDuration(Duration::from_secs(5)),
            // Prometheus 3 still defaults to false.
            retry_on_http_429: false,
            sample_age_limit: PromDuration(Duration::ZERO),
        }
    }
}

/// `metadata_config`, read and ignored (Vane keeps no metric metadata to send).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    pub send: Option<bool>,
    pub send_interval: Option<PromDuration>,
    pub max_samples_per_send: Option<usize>,
}

/// Headers a configuration may not set (as Prometheus; `Authorization` has its own error).
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
];

impl RemoteWriteConfig {
    /// The destination's identity: its name and URL. The send position is kept per identity,
    /// so other settings can change without losing or repeating samples.
    pub fn key(&self) -> String {
        format!(
            "{:016x}",
            xxhash_rust::xxh64::xxh64(format!("{}\n{}", self.name, self.url).as_bytes(), 0)
        )
    }

    /// The `remote_name` label: the name, or the first six hex digits of the identity.
    pub fn remote_name(&self) -> String {
        if self.name.is_empty() {
            self.key()[..6].to_string()
        } else {
            self.name.clone()
        }
    }

    /// The URL with any password replaced, for labels and logs.
    pub fn redacted_url(&self) -> String {
        match reqwest::Url::parse(&self.url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("xxxxx"));
                u.to_string()
            }
            _ => self.url.clone(),
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.url.is_empty() {
            return Err("url for remote_write is empty".into());
        }
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| format!("invalid url {:?}: {e}", self.url))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(format!(
                "url {:?}: the scheme must be http or https",
                self.url
            ));
        }
        if self.remote_timeout.0.is_zero() {
            return Err("remote_timeout must be greater than zero".into());
        }
        for name in self.headers.keys() {
            let lower = name.to_ascii_lowercase();
            if lower == "authorization" {
                return Err(
                    "headers: authorization header must be changed via the basic_auth or authorization parameter"
                        .into(),
                );
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(format!(
                    "headers: {name} is a reserved header. It must not be changed"
                ));
            }
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("headers: invalid header name {name:?}"))?;
        }
        for (name, value) in &self.headers {
            reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| format!("headers: invalid value for header {name:?}"))?;
        }
        for (i, r) in self.write_relabel_configs.iter().enumerate() {
            r.validate()
                .map_err(|e| format!("write_relabel_configs[{i}]: {e}"))?;
        }
        let q = &self.queue_config;
        let positive = [
            ("max_shards", q.max_shards),
            ("min_shards", q.min_shards),
            ("max_samples_per_send", q.max_samples_per_send),
            ("capacity", q.capacity),
        ];
        for (field, v) in positive {
            if v == 0 {
                return Err(format!("queue_config: {field} must be positive"));
            }
        }
        if q.min_shards > q.max_shards {
            return Err("queue_config: min_shards must not be greater than max_shards".into());
        }
        if q.capacity > u32::MAX as usize {
            return Err("queue_config: capacity is too large".into());
        }
        if q.batch_send_deadline.0.is_zero() {
            return Err("queue_config: batch_send_deadline must be greater than zero".into());
        }
        if q.max_backoff.0 < q.min_backoff.0 {
            return Err("queue_config: max_backoff must not be less than min_backoff".into());
        }
        if let Some(m) = &self.protobuf_message
            && m != WRITE_V1_MESSAGE
        {
            return Err(format!(
                "protobuf_message {m:?} is not supported: Vane sends remote write 1.0 ({WRITE_V1_MESSAGE:?})"
            ));
        }
        self.http_client().check()
    }
}

/// Checks every entry and what ties them together (unique names, no two destinations with
/// the same name and URL). Errors name the entry.
pub fn validate(list: &[RemoteWriteConfig]) -> Result<(), String> {
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    for (i, c) in list.iter().enumerate() {
        let at = if c.name.is_empty() {
            format!("remote_write[{i}]")
        } else {
            format!("remote_write[{i}] ({:?})", c.name)
        };
        c.check().map_err(|e| format!("{at}: {e}"))?;
        if !c.name.is_empty() && !names.insert(c.name.as_str()) {
            return Err(format!(
                "{at}: found multiple remote write configs with name {:?}",
                c.name
            ));
        }
        if !keys.insert(c.key()) {
            return Err(format!(
                "{at}: duplicate remote write configs are not allowed, found duplicate for URL: {}",
                c.redacted_url()
            ));
        }
    }
    Ok(())
}
