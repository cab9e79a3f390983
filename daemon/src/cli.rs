//! Command-line interface. Flags of `vane run` are named as Prometheus names them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "vane",
    version,
    about = "Vane: a single-node metrics daemon that scrapes, stores and answers like Prometheus.",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the daemon.
    Run(Box<RunArgs>),
    /// Work on a data directory: backfill and analysis.
    Tsdb {
        #[command(subcommand)]
        cmd: TsdbCommand,
    },
    /// Validate files without starting.
    Check {
        #[command(subcommand)]
        cmd: CheckCommand,
    },
    /// Run unit tests.
    Test {
        #[command(subcommand)]
        cmd: TestCommand,
    },
    /// Work with autoscalers offline.
    Autoscale {
        #[command(subcommand)]
        cmd: AutoscaleCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AutoscaleCommand {
    /// Replay autoscalers' policies over stored history: the replica timeline, the
    /// replica-seconds (cost) and the time under-provisioned.
    Simulate(SimulateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The configuration file whose `autoscalers:` are replayed (as `vane run` reads it).
    #[arg(long = "config.file", value_name = "FILE")]
    pub config_file: PathBuf,
    /// Only this autoscaler (default: all of them).
    #[arg(long, value_name = "NAME")]
    pub autoscaler: Option<String>,
    /// Data directory holding the history; a running `vane` may hold it (its blocks are
    /// then read, not its head).
    #[arg(
        long = "storage.tsdb.path",
        value_name = "DIR",
        default_value = "./data"
    )]
    pub storage_path: PathBuf,
    /// First step: RFC 3339 or Unix seconds.
    #[arg(long, value_name = "TIME")]
    pub start: String,
    /// Last step at or before this time: RFC 3339 or Unix seconds.
    #[arg(long, value_name = "TIME")]
    pub end: String,
    /// Time between steps (default: each autoscaler's interval).
    #[arg(long, value_name = "DURATION")]
    pub step: Option<String>,
    /// Output: a table with the replica timeline and totals, or CSV with every step.
    #[arg(long, default_value = "table", value_parser = ["table", "csv"])]
    pub format: String,
    /// Replicas before the first step (default: the replicas observed then, else
    /// min_replicas).
    #[arg(long = "initial-replicas", value_name = "N")]
    pub initial_replicas: Option<u32>,
    /// What one replica carries, in the signal's units, for the replicas needed (default:
    /// the policy's target; `step` and `predictive` have none).
    #[arg(long, value_name = "VALUE")]
    pub capacity: Option<f64>,
    /// Query of the replicas observed in the past (default: the autoscaler's
    /// `current_replicas.query`, else `vane_autoscaler_current_replicas`).
    #[arg(long = "replicas.query", value_name = "QUERY")]
    pub replicas_query: Option<String>,
    /// Scaling fields replacing the configured ones, as YAML: any of `min_replicas`,
    /// `max_replicas`, `policy`, `behavior`, `scale_to_zero`, `fallback` (e.g.
    /// `{behavior: {scale_down: {stabilization_window: 0s}}}`).
    #[arg(long = "override", value_name = "YAML")]
    pub override_yaml: Option<String>,
    /// How far back an instant selector looks for the newest sample.
    #[arg(
        long = "query.lookback-delta",
        value_name = "DURATION",
        default_value = "5m"
    )]
    pub lookback_delta: String,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Configuration file (a prometheus.yml). Without it, an embedded default configuration
    /// that scrapes Vane's own /metrics every 15s is used.
    #[arg(long = "config.file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Base path of the time-series store.
    #[arg(
        long = "storage.tsdb.path",
        value_name = "DIR",
        default_value = "./data"
    )]
    pub storage_path: PathBuf,

    /// Agent mode: scrape, write the WAL and remote write only. No local blocks, queries,
    /// rules, alerts or autoscalers; memory stays flat however long it runs. The
    /// configuration may then not hold `rule_files`, `alerting`, `rule_evaluation` or
    /// `autoscalers`.
    #[arg(long = "agent")]
    pub agent: bool,

    /// Base path of agent storage (the WAL), in agent mode.
    #[arg(
        long = "storage.agent.path",
        value_name = "DIR",
        default_value = "./data-agent"
    )]
    pub agent_path: PathBuf,

    /// In agent mode, the least age samples reach before WAL truncation may delete them.
    #[arg(
        long = "storage.agent.retention.min-time",
        value_name = "DURATION",
        default_value = "5m"
    )]
    pub agent_min_time: String,

    /// In agent mode, the age past which samples are deleted at WAL truncation even if a
    /// remote write destination has not sent them yet (they are counted in
    /// `vane_agent_unsent_segments_deleted_total`).
    #[arg(
        long = "storage.agent.retention.max-time",
        value_name = "DURATION",
        default_value = "4h"
    )]
    pub agent_max_time: String,

    /// In agent mode, how often the WAL is truncated.
    #[arg(
        long = "storage.agent.wal-truncate-frequency",
        value_name = "DURATION",
        default_value = "2h"
    )]
    pub agent_truncate_frequency: String,

    /// Address to listen on for the HTTP API, /metrics and health checks.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = "127.0.0.1:9090"
    )]
    pub listen_address: String,

    /// Address to serve gRPC on: KEDA's external scaler (`externalscaler.ExternalScaler`) and
    /// Vane's `vane.autoscaler.v1.Autoscaler` service, over the configured autoscalers.
    /// Empty (the default): no gRPC server.
    #[arg(long = "grpc.listen-address", value_name = "ADDR", default_value = "")]
    pub grpc_listen_address: String,

    /// PEM certificate (chain) of the gRPC server. With --grpc.tls-key-file, gRPC is served
    /// over TLS only; empty (the default): plaintext.
    #[arg(long = "grpc.tls-cert-file", value_name = "FILE", default_value = "")]
    pub grpc_tls_cert_file: String,

    /// PEM private key of --grpc.tls-cert-file.
    #[arg(long = "grpc.tls-key-file", value_name = "FILE", default_value = "")]
    pub grpc_tls_key_file: String,

    /// PEM CA certificates: with it, gRPC clients must present a certificate signed by one of
    /// them (mutual TLS). Needs --grpc.tls-cert-file.
    #[arg(
        long = "grpc.tls-client-ca-file",
        value_name = "FILE",
        default_value = ""
    )]
    pub grpc_tls_client_ca_file: String,

    /// Enable shutdown and reload over HTTP (`POST /-/reload`, `POST /-/quit`). Off by
    /// default, as in Prometheus; SIGHUP reloads regardless.
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,

    /// Enable the admin endpoints (`/api/v1/admin/tsdb/snapshot`, `delete_series`,
    /// `clean_tombstones`). Off by default, as in Prometheus.
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,

    /// How long to keep samples (a Prometheus duration such as 15d or 4w); 0 keeps them
    /// until the size limit applies.
    #[arg(
        long = "storage.tsdb.retention.time",
        value_name = "DURATION",
        default_value = "15d"
    )]
    pub retention_time: String,

    /// Maximum bytes of storage: a number with a unit (B, KB, MB, GB, TB, PB, EB, or KiB ...
    /// EiB; powers of 1024; `1.5GB` and `1GB512MB` work), as Prometheus reads it; 0 is no
    /// limit.
    #[arg(
        long = "storage.tsdb.retention.size",
        value_name = "SIZE",
        default_value = "0"
    )]
    pub retention_size: String,

    /// When the WAL is fsynced: `never` (segment ends and shutdown only; a killed process
    /// still loses nothing acknowledged), `always` (before every commit returns, group
    /// commit), or a duration such as `1s` (at most that long between fsyncs).
    #[arg(
        long = "storage.tsdb.wal-fsync",
        value_name = "POLICY",
        default_value = "never"
    )]
    pub wal_fsync: String,

    /// Longest a query may run before it is aborted (`timeout` error).
    #[arg(long = "query.timeout", value_name = "DURATION", default_value = "2m")]
    pub query_timeout: String,

    /// Most samples a single query may hold in memory (an `execution` error beyond it).
    #[arg(
        long = "query.max-samples",
        value_name = "N",
        default_value_t = 50_000_000
    )]
    pub query_max_samples: usize,

    /// Most queries evaluated at once; more wait for a slot.
    #[arg(long = "query.max-concurrency", value_name = "N", default_value_t = 20)]
    pub query_max_concurrency: usize,

    /// How far back an instant selector looks for the newest sample.
    #[arg(
        long = "query.lookback-delta",
        value_name = "DURATION",
        default_value = "5m"
    )]
    pub query_lookback_delta: String,

    /// The URL Vane is reached at from outside (in alerts' `generatorURL` and templates'
    /// `$externalURL`). Default: `http://<hostname>:<listen port>`.
    #[arg(long = "web.external-url", value_name = "URL")]
    pub external_url: Option<String>,

    /// How far back `ALERTS_FOR_STATE` is looked for to restore alerts' `for` state after a
    /// restart.
    #[arg(
        long = "rules.alert.for-outage-tolerance",
        value_name = "DURATION",
        default_value = "1h"
    )]
    pub for_outage_tolerance: String,

    /// The least time a restored pending alert still waits before firing.
    #[arg(
        long = "rules.alert.for-grace-period",
        value_name = "DURATION",
        default_value = "10m"
    )]
    pub for_grace_period: String,

    /// How often firing and resolved alerts are sent again.
    #[arg(
        long = "rules.alert.resend-delay",
        value_name = "DURATION",
        default_value = "1m"
    )]
    pub resend_delay: String,

    /// Alerts waiting to be sent to Alertmanager; beyond it the oldest are dropped (counted).
    #[arg(
        long = "alertmanager.notification-queue-capacity",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub notification_queue_capacity: usize,

    /// Accept remote write 1.0 requests on `POST /api/v1/write` (404 otherwise), as
    /// Prometheus's flag of the same name.
    #[arg(long = "web.enable-remote-write-receiver")]
    pub enable_remote_write_receiver: bool,

    /// Most samples one query of a remote read may return in a `SAMPLES` answer (0: no
    /// limit); streamed answers are not limited by it. Accepts `5e7`.
    #[arg(
        long = "storage.remote.read-sample-limit",
        value_name = "N",
        default_value = "5e7",
        value_parser = parse_count
    )]
    pub remote_read_sample_limit: u64,

    /// Most remote read requests served at once; more wait (0: no limit).
    #[arg(
        long = "storage.remote.read-concurrent-limit",
        value_name = "N",
        default_value_t = 10
    )]
    pub remote_read_concurrent_limit: usize,

    /// Bytes of chunks in one frame of a streamed remote read answer before a series
    /// continues in the next frame (a frame may exceed it by one chunk).
    #[arg(
        long = "storage.remote.read-max-bytes-in-frame",
        value_name = "BYTES",
        default_value_t = 1_048_576,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub remote_read_max_bytes_in_frame: u64,
    /// How long a stopping remote write queue may go on sending what the WAL holds (on
    /// shutdown, and for a destination changed by a reload); what is left is sent after the
    /// next start.
    #[arg(
        long = "storage.remote.flush-deadline",
        value_name = "DURATION",
        default_value = "1m"
    )]
    pub remote_flush_deadline: String,

    /// Only log messages of this level or above.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info", value_parser = ["debug", "info", "warn", "error"])]
    pub log_level: String,

    /// Log format.
    #[arg(long = "log.format", value_name = "FORMAT", default_value = "logfmt", value_parser = ["logfmt", "json"])]
    pub log_format: String,
}

impl RunArgs {
    /// Every flag of `vane run` with its value, as `/api/v1/status/flags` shows them.
    pub fn flag_values(&self) -> Vec<(String, String)> {
        let mut v = vec![
            (
                "config.file",
                self.config_file
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string()),
            ),
            ("storage.tsdb.path", self.storage_path.display().to_string()),
            ("agent", self.agent.to_string()),
            ("storage.agent.path", self.agent_path.display().to_string()),
            (
                "storage.agent.retention.min-time",
                self.agent_min_time.clone(),
            ),
            (
                "storage.agent.retention.max-time",
                self.agent_max_time.clone(),
            ),
            (
                "storage.agent.wal-truncate-frequency",
                self.agent_truncate_frequency.clone(),
            ),
            ("web.listen-address", self.listen_address.clone()),
            ("grpc.listen-address", self.grpc_listen_address.clone()),
            ("grpc.tls-cert-file", self.grpc_tls_cert_file.clone()),
            ("grpc.tls-key-file", self.grpc_tls_key_file.clone()),
            (
                "grpc.tls-client-ca-file",
                self.grpc_tls_client_ca_file.clone(),
            ),
            ("web.enable-lifecycle", self.enable_lifecycle.to_string()),
            ("web.enable-admin-api", self.enable_admin_api.to_string()),
            ("storage.tsdb.retention.time", self.retention_time.clone()),
            ("storage.tsdb.retention.size", self.retention_size.clone()),
            ("storage.tsdb.wal-fsync", self.wal_fsync.clone()),
            ("query.timeout", self.query_timeout.clone()),
            ("query.max-samples", self.query_max_samples.to_string()),
            (
                "query.max-concurrency",
                self.query_max_concurrency.to_string(),
            ),
            ("query.lookback-delta", self.query_lookback_delta.clone()),
            (
                "web.external-url",
                self.external_url.clone().unwrap_or_default(),
            ),
            (
                "rules.alert.for-outage-tolerance",
                self.for_outage_tolerance.clone(),
            ),
            (
                "rules.alert.for-grace-period",
                self.for_grace_period.clone(),
            ),
            ("rules.alert.resend-delay", self.resend_delay.clone()),
            (
                "alertmanager.notification-queue-capacity",
                self.notification_queue_capacity.to_string(),
            ),
            (
                "web.enable-remote-write-receiver",
                self.enable_remote_write_receiver.to_string(),
            ),
            (
                "storage.remote.read-sample-limit",
                self.remote_read_sample_limit.to_string(),
            ),
            (
                "storage.remote.read-concurrent-limit",
                self.remote_read_concurrent_limit.to_string(),
            ),
            (
                "storage.remote.read-max-bytes-in-frame",
                self.remote_read_max_bytes_in_frame.to_string(),
            ),
            (
                "storage.remote.flush-deadline",
                self.remote_flush_deadline.clone(),
            ),
            ("log.level", self.log_level.clone()),
            ("log.format", self.log_format.clone()),
        ];
        v.sort();
        v.into_iter().map(|(k, val)| (k.to_string(), val)).collect()
    }
}

/// A non-negative whole number, also in exponent form (`5e7`), as Prometheus's flags take
/// counts.
fn parse_count(s: &str) -> Result<u64, String> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    match s.parse::<f64>() {
        Ok(f) if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 => Ok(f as u64),
        _ => Err(format!("expected a non-negative whole number, got {s:?}")),
    }
}

#[derive(Debug, Subcommand)]
pub enum TsdbCommand {
    /// Backfill blocks from OpenMetrics text with timestamps (the input of
    /// `promtool tsdb create-blocks-from openmetrics`; gzip is detected).
    Import {
        /// The file to import.
        file: PathBuf,
        /// Data directory to write blocks into.
        #[arg(
            long = "storage.tsdb.path",
            value_name = "DIR",
            default_value = "./data"
        )]
        storage_path: PathBuf,
        /// Length of each block.
        #[arg(long = "block-duration", value_name = "DURATION", default_value = "2h")]
        block_duration: String,
    },
    /// Print every sample of a stopped store as `{labels} value timestamp` lines, as
    /// `promtool tsdb dump` does.
    Dump {
        /// Data directory to dump (no `vane run` may hold it).
        #[arg(
            long = "storage.tsdb.path",
            value_name = "DIR",
            default_value = "./data"
        )]
        storage_path: PathBuf,
        /// Only series whose metric name matches this regular expression (fully anchored).
        #[arg(long = "match", value_name = "REGEX", default_value = ".+")]
        name_regex: String,
        /// Earliest timestamp (milliseconds).
        #[arg(long = "min-time", default_value_t = i64::MIN, allow_negative_numbers = true)]
        min_time: i64,
        /// Latest timestamp (milliseconds).
        #[arg(long = "max-time", default_value_t = i64::MAX, allow_negative_numbers = true)]
        max_time: i64,
    },
    /// Print blocks, series, samples, bytes per sample and the highest cardinalities.
    Analyze {
        /// Data directory to analyze.
        #[arg(
            long = "storage.tsdb.path",
            value_name = "DIR",
            default_value = "./data"
        )]
        storage_path: PathBuf,
        /// How many entries each top list shows.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// The block whose cardinality is shown (default: the head if it can be opened,
        /// else the newest block).
        #[arg(long, value_name = "ULID")]
        block: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Validate a configuration file.
    Config {
        /// The file to check.
        file: PathBuf,
    },
    /// Validate Prometheus rule files, as `promtool check rules` does. Exit status: 0 if
    /// every file is valid (lint findings are printed but do not fail), 1 if any has errors,
    /// 3 if only lint checks found something and --lint-fatal is given.
    Rules(CheckRulesArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CheckRulesArgs {
    /// The rule files to check; without any, the rules are read from standard input.
    pub files: Vec<PathBuf>,
    /// Lint checks to run, comma-separated: `duplicate-rules` (rules of a file with the same
    /// name and labels), `all`, or `none`.
    #[arg(
        long,
        value_name = "CHECKS",
        value_delimiter = ',',
        default_value = "duplicate-rules",
        value_parser = ["all", "duplicate-rules", "none"]
    )]
    pub lint: Vec<String>,
    /// Exit with status 3 when a lint check finds something.
    #[arg(long = "lint-fatal")]
    pub lint_fatal: bool,
    /// Accept fields the rule format does not have (for files extended with metadata). `vane
    /// run`, like Prometheus, still refuses such files.
    #[arg(long = "ignore-unknown-fields")]
    pub ignore_unknown_fields: bool,
}

#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Run rule unit tests written for `promtool test rules`: input series, the rule files
    /// they load, and the alerts and query results expected at given times. Exit status: 0 if
    /// every test passed, 1 if any failed.
    Rules(TestRulesArgs),
}

#[derive(Debug, Clone, Args)]
pub struct TestRulesArgs {
    /// The unit test files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only run test groups whose name matches this regular expression (anywhere in the
    /// name). May be given more than once: a group runs if any matches.
    #[arg(long, value_name = "REGEX", value_parser = valid_regex)]
    pub run: Vec<String>,
    /// Accept fields the rule format does not have in the rule files under test (for rule
    /// files extended with metadata). `vane run`, like Prometheus, still refuses such files.
    #[arg(long = "ignore-unknown-fields")]
    pub ignore_unknown_fields: bool,
}

fn valid_regex(s: &str) -> Result<String, String> {
    regex::Regex::new(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_with_prometheus_names() {
        let cli = Cli::try_parse_from([
            "vane",
            "run",
            "--config.file=x.yml",
            "--storage.tsdb.path",
            "/d",
            "--web.listen-address=0.0.0.0:1",
            "--storage.tsdb.retention.time=30d",
            "--storage.tsdb.retention.size=1GB",
            "--log.level=debug",
            "--query.timeout=30s",
            "--query.max-samples=1000",
            "--query.lookback-delta=1m",
        ])
        .unwrap();
        let Command::Run(a) = cli.cmd else { panic!() };
        assert_eq!(a.config_file.unwrap(), PathBuf::from("x.yml"));
        assert_eq!(a.storage_path, PathBuf::from("/d"));
        assert_eq!(a.retention_time, "30d");
        assert_eq!(a.query_timeout, "30s");
        assert_eq!(a.query_max_samples, 1000);
        assert_eq!(a.query_lookback_delta, "1m");
        assert!(Cli::try_parse_from(["vane", "run", "--log.level=loud"]).is_err());
        assert!(!a.enable_remote_write_receiver);
        assert_eq!(a.remote_read_sample_limit, 50_000_000);
        assert_eq!(a.remote_read_concurrent_limit, 10);
        assert_eq!(a.remote_read_max_bytes_in_frame, 1_048_576);
        assert_eq!(a.grpc_listen_address, "", "no gRPC server by default");
        let cli =
            Cli::try_parse_from(["vane", "run", "--grpc.listen-address=127.0.0.1:9091"]).unwrap();
        let Command::Run(a) = cli.cmd else { panic!() };
        assert_eq!(a.grpc_listen_address, "127.0.0.1:9091");
    }

    #[test]
    fn remote_flags_take_prometheus_values() {
        let cli = Cli::try_parse_from([
            "vane",
            "run",
            "--web.enable-remote-write-receiver",
            "--storage.remote.read-sample-limit=1e3",
            "--storage.remote.read-concurrent-limit=0",
            "--storage.remote.read-max-bytes-in-frame=100",
        ])
        .unwrap();
        let Command::Run(a) = cli.cmd else { panic!() };
        assert!(a.enable_remote_write_receiver);
        assert_eq!(a.remote_read_sample_limit, 1000);
        assert_eq!(a.remote_read_concurrent_limit, 0);
        assert_eq!(a.remote_read_max_bytes_in_frame, 100);
        for bad in [
            "--storage.remote.read-sample-limit=1.5",
            "--storage.remote.read-sample-limit=-1",
            "--storage.remote.read-max-bytes-in-frame=0",
        ] {
            assert!(Cli::try_parse_from(["vane", "run", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn autoscale_simulate_takes_its_flags() {
        let cli = Cli::try_parse_from([
            "vane",
            "autoscale",
            "simulate",
            "--config.file=v.yml",
            "--autoscaler=api",
            "--start=2026-11-25T10:00:00Z",
            "--end=1764068400",
            "--step=15s",
            "--format=csv",
            "--capacity=2.5",
        ])
        .unwrap();
        let Command::Autoscale {
            cmd: AutoscaleCommand::Simulate(a),
        } = cli.cmd
        else {
            panic!()
        };
        assert_eq!(a.config_file, PathBuf::from("v.yml"));
        assert_eq!(a.autoscaler.as_deref(), Some("api"));
        assert_eq!(a.storage_path, PathBuf::from("./data"));
        assert_eq!(
            (a.start.as_str(), a.end.as_str()),
            ("2026-11-25T10:00:00Z", "1764068400")
        );
        assert_eq!(a.step.as_deref(), Some("15s"));
        assert_eq!((a.format.as_str(), a.capacity), ("csv", Some(2.5)));
        let base = ["vane", "autoscale", "simulate", "--config.file=v.yml"];
        assert!(
            Cli::try_parse_from(base).is_err(),
            "--start and --end are required"
        );
        let with = |extra: &str| {
            let mut v = base.to_vec();
            v.extend(["--start=0", "--end=1", extra]);
            Cli::try_parse_from(v)
        };
        assert!(with("--format=json").is_err());
        let Command::Autoscale {
            cmd: AutoscaleCommand::Simulate(a),
        } = with("--format=table").unwrap().cmd
        else {
            panic!()
        };
        assert_eq!(a.format, "table");
        assert_eq!(a.lookback_delta, "5m");
    }

    #[test]
    fn test_rules_takes_files_run_patterns_and_the_unknown_fields_flag() {
        let cli = Cli::try_parse_from([
            "vane",
            "test",
            "rules",
            "a.yml",
            "--run",
            "correct",
            "--run=wrong",
            "b.yml",
        ])
        .unwrap();
        let Command::Test {
            cmd: TestCommand::Rules(a),
        } = cli.cmd
        else {
            panic!()
        };
        assert_eq!(a.files, [PathBuf::from("a.yml"), PathBuf::from("b.yml")]);
        assert_eq!(a.run, ["correct", "wrong"]);
        assert!(!a.ignore_unknown_fields);
        let cli =
            Cli::try_parse_from(["vane", "test", "rules", "--ignore-unknown-fields", "a.yml"])
                .unwrap();
        let Command::Test {
            cmd: TestCommand::Rules(a),
        } = cli.cmd
        else {
            panic!()
        };
        assert!(a.ignore_unknown_fields);
        assert!(
            Cli::try_parse_from(["vane", "test", "rules"]).is_err(),
            "a file is required"
        );
        assert!(Cli::try_parse_from(["vane", "test", "rules", "--run=(", "a.yml"]).is_err());
    }

    #[test]
    fn check_rules_takes_files_and_promtool_flags() {
        let cli = Cli::try_parse_from([
            "vane",
            "check",
            "rules",
            "a.yml",
            "b.yml",
            "--lint=none",
            "--lint-fatal",
        ])
        .unwrap();
        let Command::Check {
            cmd: CheckCommand::Rules(a),
        } = cli.cmd
        else {
            panic!()
        };
        assert_eq!(a.files, [PathBuf::from("a.yml"), PathBuf::from("b.yml")]);
        assert_eq!(a.lint, ["none"]);
        assert!(a.lint_fatal && !a.ignore_unknown_fields);
        let cli = Cli::try_parse_from(["vane", "check", "rules"]).unwrap();
        let Command::Check {
            cmd: CheckCommand::Rules(a),
        } = cli.cmd
        else {
            panic!()
        };
        assert!(a.files.is_empty());
        assert_eq!(a.lint, ["duplicate-rules"]);
        assert!(Cli::try_parse_from(["vane", "check", "rules", "--lint=dupes"]).is_err());
    }
}
