//! Autoscalers in the daemon: the `autoscalers:` section of the configuration (targets: the
//! OpenFaaS gateway, the Kubernetes scale subresource, a platform's gRPC `ScalingTarget`),
//! checked into the controller's specs, and the adapter that lets the controller query through the same
//! engine as the rules (the local store, or `rule_evaluation.query_url`). With the local
//! store, the scrapers wake an autoscaler as soon as a scrape carrying a metric its signal
//! reads is committed.

use std::sync::Arc;
use std::time::Duration;

use alerting::QueryEngine;
use autoscaler::config::ScalerConfig;
use autoscaler::controller::{CurrentReplicas, SignalSource, Spec};
use autoscaler::runtime::ScaleTarget;
use autoscaler::target::{Authorize, Kubernetes, OpenFaas};
use scraper::config::PromDuration;
use scraper::scrape::{Interest, ScrapeManager};
use serde::Deserialize;

/// One entry of `autoscalers:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalerConfig {
    pub name: String,
    /// The load signal: a PromQL query answering one value.
    pub query: String,
    /// `target` (the default: the target reports it) or `{query: ...}`.
    #[serde(default)]
    pub current_replicas: CurrentReplicasConfig,
    /// Default 1s.
    pub interval: Option<PromDuration>,
    pub min_replicas: Option<u32>,
    pub max_replicas: u32,
    pub policy: autoscaler::config::PolicyConfig,
    pub behavior: Option<autoscaler::config::BehaviorConfig>,
    pub scale_to_zero: Option<autoscaler::config::ScaleToZeroConfig>,
    pub fallback: Option<autoscaler::config::FallbackConfig>,
    pub target: TargetConfig,
}

/// Where the current replica count comes from.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(untagged)]
pub enum CurrentReplicasConfig {
    /// `target`: the target reports it.
    #[default]
    #[serde(skip)]
    Target,
    /// `target` as written in the file.
    Named(String),
    /// `{query: ...}`.
    Query { query: String },
}

/// The target: exactly one of the keys.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub http_openfaas: Option<OpenFaasConfig>,
    pub http_kubernetes: Option<KubernetesConfig>,
    pub grpc: Option<GrpcConfig>,
}

/// `grpc`: a platform that implements Vane's `vane.autoscaler.v1.ScalingTarget` service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcConfig {
    /// `host:port`, or a URL `http://host:port` (plaintext) or `https://host:port` (TLS).
    pub address: String,
    /// The deadline of each call; default 2s.
    pub timeout: Option<PromDuration>,
    /// TLS (also for a bare `host:port`): `ca_file`, `cert_file` and `key_file`, `server_name`.
    pub tls_config: Option<scraper::config::TlsConfig>,
}

impl GrpcConfig {
    /// The endpoint's URL (a bare `host:port` gets `http://`, or `https://` with `tls_config`)
    /// and whether it is TLS.
    fn url(&self) -> Result<(String, bool), String> {
        const FIELD: &str = "target.grpc.address";
        let a = self.address.trim();
        if a.is_empty() {
            return Err(format!("{FIELD}: must not be empty"));
        }
        let (url, tls) = match a.split_once("://") {
            None if self.tls_config.is_some() => (format!("https://{a}"), true),
            None => (format!("http://{a}"), false),
            Some(("http", _)) if self.tls_config.is_some() => {
                return Err(format!(
                    "{FIELD}: {a:?} is plaintext (http://) but tls_config is set; use https:// or host:port"
                ));
            }
            Some(("http", _)) => (a.to_string(), false),
            Some(("https", _)) => (a.to_string(), true),
            Some(_) => {
                return Err(format!(
                    "{FIELD}: {a:?} is not host:port or an http(s):// URL"
                ));
            }
        };
        let endpoint = proto::tonic::transport::Endpoint::from_shared(url.clone())
            .map_err(|e| format!("{FIELD}: {a:?}: {e}"))?;
        let uri = endpoint.uri();
        if uri.host().is_none_or(str::is_empty) || uri.port().is_none() {
            return Err(format!("{FIELD}: {a:?} needs a host and a port"));
        }
        if !matches!(uri.path(), "" | "/") {
            return Err(format!("{FIELD}: {a:?}: a gRPC address has no path"));
        }
        Ok((url, tls))
    }

    /// Checks `tls_config` without reading its files.
    fn check_tls(&self) -> Result<(), String> {
        let Some(t) = &self.tls_config else {
            return Ok(());
        };
        if t.insecure_skip_verify {
            return Err(
                "target.grpc.tls_config.insecure_skip_verify: not supported for gRPC targets; give the server's CA in ca_file"
                    .into(),
            );
        }
        if t.cert_file.is_some() != t.key_file.is_some() {
            return Err(
                "target.grpc.tls_config: cert_file and key_file go together (client certificate)"
                    .into(),
            );
        }
        Ok(())
    }

    /// The target's client; TLS files are read now. A reload reads and checks them again,
    /// but an autoscaler whose entry is unchanged keeps running with its client.
    fn target(&self) -> Result<autoscaler::grpc::GrpcTarget, String> {
        let (url, tls) = self.url()?;
        let timeout = self
            .timeout
            .map_or(autoscaler::grpc::target::DEFAULT_TIMEOUT, |d| d.0);
        let target = if tls {
            let t = self.tls_config.clone().unwrap_or_default();
            // PEM files; `pem` is a section a usable file holds (a file without one would
            // silently give no certificate).
            let read = |field: &str, p: &std::path::Path, pem: &str| {
                let err = |e: &dyn std::fmt::Display| {
                    format!("target.grpc.tls_config.{field}: {}: {e}", p.display())
                };
                let bytes = std::fs::read(p).map_err(|e| err(&e))?;
                let text = String::from_utf8_lossy(&bytes);
                if !text
                    .lines()
                    .any(|l| l.starts_with("-----BEGIN ") && l.ends_with(&format!("{pem}-----")))
                {
                    return Err(err(&format!("holds no PEM {pem}")));
                }
                Ok(bytes)
            };
            let tls = autoscaler::grpc::Tls {
                ca_pem: t
                    .ca_file
                    .as_deref()
                    .map(|p| read("ca_file", p, "CERTIFICATE"))
                    .transpose()?,
                identity_pem: match (&t.cert_file, &t.key_file) {
                    (Some(c), Some(k)) => Some((
                        read("cert_file", c, "CERTIFICATE")?,
                        read("key_file", k, "PRIVATE KEY")?,
                    )),
                    _ => None,
                },
                server_name: t.server_name.clone(),
            };
            autoscaler::grpc::GrpcTarget::with_tls(&url, timeout, &tls)
        } else {
            autoscaler::grpc::GrpcTarget::new(&url, timeout)
        };
        target.map_err(|e| format!("target.grpc: {e}"))
    }
}

scraper::with_http_client_fields! {
    /// `http_openfaas`: a function behind an OpenFaaS gateway. Credentials with `basic_auth`.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct OpenFaasConfig {
        /// The gateway's base URL (`http://gateway:8080`).
        pub gateway: String,
        pub function: String,
        pub namespace: Option<String>,
        /// Default 5s.
        pub timeout: Option<PromDuration>,
    }
}

scraper::with_http_client_fields! {
    /// `http_kubernetes`: a workload's scale subresource. Credentials with `bearer_token`,
    /// `bearer_token_file` or `authorization`; TLS with `tls_config`.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct KubernetesConfig {
        /// The API server's base URL (`https://kubernetes.default.svc`).
        pub api: String,
        pub namespace: String,
        /// Default `deployments`; also `statefulsets`, `replicasets`.
        pub resource: Option<String>,
        /// The deployment's name.
        pub deployment: String,
        /// Default 5s.
        pub timeout: Option<PromDuration>,
    }
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_TARGET_TIMEOUT: Duration = Duration::from_secs(5);

impl AutoscalerConfig {
    fn scaler_config(&self) -> ScalerConfig {
        ScalerConfig {
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            policy: self.policy.clone(),
            behavior: self.behavior.clone(),
            scale_to_zero: self.scale_to_zero.clone(),
            fallback: self.fallback.clone(),
        }
    }

    /// The validated policy with its limits, as the controller runs it.
    pub fn scaler(&self) -> Result<autoscaler::policy::Scaler, String> {
        self.scaler_config().validate().map_err(|e| e.to_string())
    }

    /// The evaluation interval (default 1s).
    pub fn interval(&self) -> Duration {
        self.interval.map_or(DEFAULT_INTERVAL, |d| d.0)
    }

    /// Checks everything that can be checked without building clients: names, queries,
    /// the scaler, the target. Errors are `field: message`; the caller names the autoscaler.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err("name: must not be empty".into());
        }
        promql_check("query", &self.query)?;
        match &self.current_replicas {
            CurrentReplicasConfig::Target => {}
            CurrentReplicasConfig::Named(n) if n == "target" => {}
            CurrentReplicasConfig::Named(n) => {
                return Err(format!(
                    "current_replicas: must be `target` or `{{query: ...}}`, not {n:?}"
                ));
            }
            CurrentReplicasConfig::Query { query } => {
                promql_check("current_replicas.query", query)?
            }
        }
        if self.interval.is_some_and(|d| d.0.is_zero()) {
            return Err("interval: must be greater than zero".into());
        }
        self.scaler()?;
        let t = &self.target;
        match (&t.http_openfaas, &t.http_kubernetes, &t.grpc) {
            (Some(o), None, None) => {
                http_url("target.http_openfaas.gateway", &o.gateway)?;
                if o.function.is_empty() {
                    return Err("target.http_openfaas.function: must not be empty".into());
                }
            }
            (None, Some(k), None) => {
                http_url("target.http_kubernetes.api", &k.api)?;
                if k.namespace.is_empty() {
                    return Err("target.http_kubernetes.namespace: must not be empty".into());
                }
                if k.deployment.is_empty() {
                    return Err("target.http_kubernetes.deployment: must not be empty".into());
                }
                let kinds = ["deployments", "statefulsets", "replicasets"];
                if let Some(r) = k.resource.as_ref().filter(|r| !kinds.contains(&r.as_str())) {
                    return Err(format!(
                        "target.http_kubernetes.resource: must be deployments, statefulsets or replicasets, not {r:?}"
                    ));
                }
            }
            (None, None, Some(g)) => {
                g.url()?;
                g.check_tls()?;
                if g.timeout.is_some_and(|d| d.0.is_zero()) {
                    return Err("target.grpc.timeout: must be greater than zero".into());
                }
            }
            _ => {
                return Err(
                    "target: must name exactly one of http_openfaas, http_kubernetes, grpc".into(),
                );
            }
        }
        Ok(())
    }

    /// The controller's spec: the scaler validated, the target's client built.
    pub fn spec(&self) -> Result<Spec, String> {
        let scaler = self.scaler()?;
        let current = match &self.current_replicas {
            CurrentReplicasConfig::Query { query } => CurrentReplicas::Query(query.clone()),
            _ => CurrentReplicas::Target,
        };
        let target: Arc<dyn ScaleTarget> = if let Some(o) = &self.target.http_openfaas {
            let (client, authorize) = client(&o.http_client(), "target.http_openfaas")?;
            Arc::new(OpenFaas {
                gateway: o.gateway.trim_end_matches('/').to_string(),
                function: o.function.clone(),
                namespace: o.namespace.clone(),
                client,
                authorize: Some(authorize),
                timeout: o.timeout.map_or(DEFAULT_TARGET_TIMEOUT, |d| d.0),
            })
        } else if let Some(k) = &self.target.http_kubernetes {
            let (client, authorize) = client(&k.http_client(), "target.http_kubernetes")?;
            Arc::new(Kubernetes {
                api: k.api.trim_end_matches('/').to_string(),
                namespace: k.namespace.clone(),
                resource: k.resource.clone().unwrap_or_else(|| "deployments".into()),
                name: k.deployment.clone(),
                client,
                authorize: Some(authorize),
                timeout: k.timeout.map_or(DEFAULT_TARGET_TIMEOUT, |d| d.0),
            })
        } else if let Some(g) = &self.target.grpc {
            Arc::new(g.target()?)
        } else {
            return Err("target: no target".into());
        };
        Ok(Spec {
            name: self.name.clone(),
            query: self.query.clone(),
            current,
            interval: self.interval(),
            scaler,
            target,
            fingerprint: format!("{self:?}"),
        })
    }
}

fn promql_check(field: &str, q: &str) -> Result<(), String> {
    promql::Engine::parse(q)
        .map(|_| ())
        .map_err(|e| format!("{field}: {e}"))
}

fn http_url(field: &str, u: &str) -> Result<(), String> {
    if u.starts_with("http://") || u.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("{field}: {u:?} is not an http(s) URL"))
    }
}

fn client(
    http: &scraper::config::HttpClientConfig,
    field: &str,
) -> Result<(reqwest::Client, Authorize), String> {
    let c = scraper::http_client::build(http).map_err(|e| format!("{field}: {e}"))?;
    let http = http.clone();
    let authorize: Authorize = Arc::new(move |req| scraper::http_client::authorize(req, &http));
    Ok((c, authorize))
}

/// Checks the whole list: every entry, and that names are unique.
pub fn check_all(list: &[AutoscalerConfig]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for (i, a) in list.iter().enumerate() {
        let at = if a.name.is_empty() {
            format!("autoscalers[{i}]")
        } else {
            format!("autoscalers[{i}] ({:?})", a.name)
        };
        a.check().map_err(|e| format!("{at}: {e}"))?;
        if !seen.insert(a.name.as_str()) {
            return Err(format!(
                "{at}: name: duplicate autoscaler name {:?}",
                a.name
            ));
        }
    }
    Ok(())
}

/// The controller's specs for the configuration's autoscalers (all or nothing).
pub fn specs(list: &[AutoscalerConfig]) -> Result<Vec<Spec>, String> {
    list.iter()
        .map(|a| {
            a.spec()
                .map_err(|e| format!("autoscalers ({:?}): {e}", a.name))
        })
        .collect()
}

/// [`SignalSource`] over an alerting [`QueryEngine`] (local store or remote API).
pub struct Signals(pub Arc<dyn QueryEngine>);

impl SignalSource for Signals {
    fn instant(&self, query: &str, t_ms: i64) -> Result<Vec<(model::Labels, f64)>, String> {
        Ok(self
            .0
            .instant(query, t_ms)?
            .into_iter()
            .map(|s| (s.labels, s.value))
            .collect())
    }
}

/// The controller, querying like the rules do and writing into `db`; its autoscalers come
/// with [`apply`].
pub fn controller(
    config: &crate::config::Config,
    db: Arc<tsdb::Db>,
    local: &Arc<dyn QueryEngine>,
    registry: &model::metrics::Registry,
) -> anyhow::Result<Arc<autoscaler::controller::Controller>> {
    let query = crate::rules::query_engine(config, local).map_err(|e| anyhow::anyhow!(e))?;
    let env = autoscaler::controller::Env {
        signal: Arc::new(Signals(query)),
        appendable: db,
        metrics: autoscaler::controller::Metrics::new(registry),
    };
    Ok(autoscaler::controller::Controller::new(
        env,
        tokio::runtime::Handle::current(),
    ))
}

/// Runs the configuration's autoscalers (all or nothing); unchanged ones keep their state.
/// Scrapes of the metrics their signals read wake them, unless the signals come from a remote
/// API (`rule_evaluation.query_url`), where a local scrape says nothing.
pub fn apply(
    c: &autoscaler::controller::Controller,
    config: &crate::config::Config,
    local: &Arc<dyn QueryEngine>,
    scrape: &ScrapeManager,
) -> Result<(), String> {
    let specs = specs(&config.autoscalers)?;
    let query = crate::rules::query_engine(config, local)?;
    c.set_signal(Arc::new(Signals(query)));
    let n = specs.len();
    c.apply(specs);
    let triggers = c.triggers();
    scrape.set_interest(
        (config.rule_evaluation.is_none() && !triggers.metrics.is_empty()).then(|| {
            let names = triggers.metrics.clone();
            Interest::new(names, move |hits| {
                for &i in hits {
                    triggers.wake(i as usize);
                }
            })
        }),
    );
    if n > 0 {
        tracing::info!(autoscalers = n, "autoscalers configured");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(target: &str) -> Vec<AutoscalerConfig> {
        let text = format!(
            "- name: fn\n  query: sum(load)\n  max_replicas: 5\n  policy: {{per_replica: {{target: 1}}}}\n  target: {target}\n"
        );
        yaml_serde::from_str(&text).unwrap()
    }

    #[tokio::test]
    async fn a_grpc_target_takes_host_port_or_an_http_url() {
        for (target, url) in [
            (
                "{address: '127.0.0.1:9401', timeout: 500ms}",
                "http://127.0.0.1:9401",
            ),
            (
                "{address: 'http://platform.local:50051'}",
                "http://platform.local:50051",
            ),
            ("{address: 'http://[::1]:50051/'}", "http://[::1]:50051/"),
            // TLS: with the public web roots, or as tls_config says.
            (
                "{address: 'https://platform.example:443'}",
                "https://platform.example:443",
            ),
            (
                "{address: 'p:1', tls_config: {server_name: p.example}}",
                "https://p:1",
            ),
        ] {
            let list = entry(&format!("{{grpc: {target}}}"));
            check_all(&list).unwrap();
            let spec = list[0].spec().unwrap();
            assert_eq!(spec.target.describe(), format!("grpc:{url}"));
        }
    }

    #[tokio::test]
    async fn a_bad_grpc_target_names_the_autoscaler_and_the_field() {
        let cases = [
            (
                "{grpc: {address: ''}}",
                "target.grpc.address: must not be empty",
            ),
            ("{grpc: {address: 'platform'}}", "needs a host and a port"),
            (
                "{grpc: {address: 'tcp://p:1'}}",
                "is not host:port or an http(s):// URL",
            ),
            ("{grpc: {address: 'p:1/x'}}", "a gRPC address has no path"),
            (
                "{grpc: {address: 'p:1', timeout: 0s}}",
                "target.grpc.timeout: must be greater than zero",
            ),
            (
                "{grpc: {address: 'http://p:1', tls_config: {}}}",
                "is plaintext (http://) but tls_config is set",
            ),
            (
                "{grpc: {address: 'p:1', tls_config: {insecure_skip_verify: true}}}",
                "target.grpc.tls_config.insecure_skip_verify: not supported",
            ),
            (
                "{grpc: {address: 'p:1', tls_config: {cert_file: c.pem}}}",
                "cert_file and key_file go together",
            ),
            (
                "{grpc: {address: 'p:1'}, http_openfaas: {gateway: 'http://g', function: f}}",
                "must name exactly one of http_openfaas, http_kubernetes, grpc",
            ),
        ];
        for (target, want) in cases {
            let err = check_all(&entry(target)).unwrap_err();
            assert!(
                err.starts_with(r#"autoscalers[0] ("fn"): "#),
                "{target}: {err}"
            );
            assert!(err.contains(want), "{target}: {err}");
        }
        // Files are read when the client is built (at start, and checked on every reload).
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        for (file, want) in [
            (&missing, "target.grpc.tls_config.ca_file: "),
            (&garbage, "garbage.pem: holds no PEM CERTIFICATE"),
        ] {
            let list = entry(&format!(
                "{{grpc: {{address: 'p:1', tls_config: {{ca_file: '{}'}}}}}}",
                file.display()
            ));
            check_all(&list).unwrap();
            let err = specs(&list).err().expect("an error");
            assert!(err.starts_with(r#"autoscalers ("fn"): "#), "{err}");
            assert!(err.contains(want), "{err}");
        }
    }
}
