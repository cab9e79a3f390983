//! Rules and alerts in the daemon: the rule manager over the local store and engine, fed by
//! the configuration's `rule_files`, and the notifier delivering its alerts to the
//! configuration's Alertmanagers and webhooks.

use std::sync::Arc;
use std::time::Duration;

use alerting::QueryEngine;
use alerting::notify::{Alert, AuthorizeFn, Endpoint, Notifier, NotifierOptions, RelabelFn};
use alerting::remote::RemoteQueryEngine;
use alerting::rules::{Manager, ManagerOptions, RuleEnv};
use anyhow::{Result, anyhow};
use model::metrics::Registry;
use tsdb::Db;

use crate::cli::RunArgs;
use crate::config::Config;

fn duration_flag(name: &str, v: &str) -> Result<Duration> {
    model::duration::parse_duration(v).map_err(|e| anyhow!("--{name}: {e}"))
}

/// `--web.external-url`, or `http://<hostname>:<port>` as Prometheus defaults it; without a
/// trailing slash.
pub fn external_url(args: &RunArgs) -> String {
    let url = args.external_url.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let port = args
            .listen_address
            .rsplit_once(':')
            .map_or("9090", |(_, p)| p);
        format!("http://{host}:{port}")
    });
    url.trim_end_matches('/').to_string()
}

/// The local query engine: Vane's PromQL engine with the `--query.*` options over `db`.
pub fn local_engine(args: &RunArgs, db: Arc<Db>) -> Result<Arc<dyn QueryEngine>> {
    Ok(Arc::new(alerting::LocalQueryEngine {
        engine: promql::Engine::new(crate::run::engine_options(args)?),
        store: db,
    }))
}

/// What rules query: the `rule_evaluation.query_url` API if configured, else `local`.
pub(crate) fn query_engine(
    config: &Config,
    local: &Arc<dyn QueryEngine>,
) -> Result<Arc<dyn QueryEngine>, String> {
    let Some(r) = &config.rule_evaluation else {
        return Ok(local.clone());
    };
    let http = r.http_client();
    let client = scraper::http_client::build(&http).map_err(|e| format!("rule_evaluation: {e}"))?;
    let authorize: AuthorizeFn = Arc::new(move |req| scraper::http_client::authorize(req, &http));
    Ok(Arc::new(RemoteQueryEngine {
        base_url: r.query_url.clone(),
        client,
        authorize: Some(authorize),
        timeout: r.timeout.0,
        rt: tokio::runtime::Handle::current(),
    }))
}

/// The rule manager: queries through `local` (or the configured remote API), writes into and
/// restores `for` state from `db`, hands alerts to `notify`.
pub fn manager(
    args: &RunArgs,
    config: &Config,
    db: Arc<Db>,
    local: &Arc<dyn QueryEngine>,
    notify: Arc<dyn Fn(Vec<Alert>) + Send + Sync>,
    registry: &Registry,
    rt: tokio::runtime::Handle,
) -> Result<Arc<Manager>> {
    let env = RuleEnv {
        query: query_engine(config, local).map_err(|e| anyhow!(e))?,
        appendable: db.clone(),
        queryable: Some(db),
        notify,
        external_labels: config.global.external_labels.clone(),
        external_url: external_url(args),
        resend_delay: duration_flag("rules.alert.resend-delay", &args.resend_delay)?,
        outage_tolerance: duration_flag(
            "rules.alert.for-outage-tolerance",
            &args.for_outage_tolerance,
        )?,
        for_grace_period: duration_flag("rules.alert.for-grace-period", &args.for_grace_period)?,
    };
    Ok(Manager::new(env, registry, rt))
}

/// Loads the configuration's rule files into the manager (all or nothing), with its
/// external labels and query API.
pub fn apply(m: &Manager, config: &Config, local: &Arc<dyn QueryEngine>) -> Result<(), String> {
    let files = alerting::rulefmt::expand_globs(&config.rule_files, &config.dir)?;
    let query = query_engine(config, local)?;
    m.set_env(|e| {
        e.external_labels = config.global.external_labels.clone();
        e.query = query;
    });
    m.update(
        &files,
        &ManagerOptions {
            default_interval: config.global.evaluation_interval,
            default_query_offset: config.global.rule_query_offset,
        },
    )
    .map_err(|errs| format!("loading rule files: {}", errs.join("; ")))?;
    tracing::info!(
        files = files.len(),
        groups = m.groups().len(),
        "rules loaded"
    );
    Ok(())
}

/// The notifier, with `--alertmanager.notification-queue-capacity`; its configuration comes
/// with [`apply_alerting`].
pub fn notifier(args: &RunArgs, config: &Config, registry: &Registry) -> Arc<Notifier> {
    Notifier::new(
        NotifierOptions {
            queue_capacity: args.notification_queue_capacity,
            external_labels: config.global.external_labels.clone(),
            external_url: external_url(args),
            relabel: None,
        },
        registry,
    )
}

/// Points the notifier at the configuration's Alertmanagers (an HTTP client per entry, built
/// as for scrape jobs) and webhooks, with its external labels and `alert_relabel_configs`.
pub fn apply_alerting(n: &Notifier, config: &Config) -> Result<(), String> {
    let mut endpoints = Vec::new();
    for (i, am) in config.alerting.alertmanagers.iter().enumerate() {
        let http = am.http_client();
        let client = scraper::http_client::build(&http)
            .map_err(|e| format!("alerting.alertmanagers[{i}]: {e}"))?;
        let authorize: AuthorizeFn =
            Arc::new(move |req| scraper::http_client::authorize(req, &http));
        for url in am.urls() {
            endpoints.push(Endpoint {
                url,
                client: client.clone(),
                authorize: Some(authorize.clone()),
                timeout: am.timeout.0,
            });
        }
    }
    let steps = config.alerting.alert_relabel_configs.clone();
    let relabel: Option<RelabelFn> = (!steps.is_empty()).then(|| {
        Arc::new(move |l: &model::Labels| scraper::relabel::process_labels(l, &steps)) as RelabelFn
    });
    let (ams, hooks) = (endpoints.len(), config.alerting.webhooks.len());
    n.apply(
        endpoints,
        config.alerting.webhooks.clone(),
        config.global.external_labels.clone(),
        relabel,
    )
    .map_err(|e| format!("alerting: {e}"))?;
    tracing::info!(
        alertmanagers = ams,
        webhooks = hooks,
        "alert delivery configured"
    );
    Ok(())
}
