//! The `vane` binary: configuration, wiring, lifecycle and self-telemetry. `main.rs` only
//! calls [`main`].
//!
//! * [`cli`]: flags and subcommands (Prometheus's flag names for `vane run`);
//! * [`check`]: `vane check rules`, rule files checked as `promtool check rules` does;
//! * [`config`]: the prometheus.yml configuration, parsed then validated;
//! * [`run`]: start-up and the ordered shutdown of components;
//! * [`rules`]: the rule manager over the local store, fed by `rule_files`;
//! * [`remote`]: remote write to the `remote_write` destinations, read from the WAL;
//! * [`http`]: `/metrics`, `/-/healthy`, `/-/ready`, `/-/reload`, `/-/quit`, and the `api` routes;
//! * [`remote`]: the remote write receiver and remote read (`/api/v1/write`, `/api/v1/read`);
//! * [`targets`]: the JSON of `/api/v1/targets`;
//! * [`status`]: what the API's status pages report (flags, configuration, store statistics);
//! * [`logging`]: log lines as logfmt or JSON;
//! * [`telemetry`]: process metrics;
//! * [`tsdb_cmd`]: `vane tsdb import`, `vane tsdb dump` and `vane tsdb analyze`;
//! * [`simulate`]: `vane autoscale simulate`, autoscalers replayed over stored history;
//! * [`test_rules`]: `vane test rules`, rule unit tests in `promtool test rules` format.

pub mod autoscalers;
pub mod check;
pub mod cli;
pub mod config;
pub mod http;
pub mod logging;
pub mod memory;
pub mod remote;
pub mod rules;
pub mod run;
pub mod simulate;
pub mod status;
pub mod storage;
pub mod targets;
pub mod telemetry;
pub mod test_rules;
pub mod tsdb_cmd;

use std::process::ExitCode;

use clap::Parser;

use cli::{AutoscaleCommand, CheckCommand, Cli, Command, TestCommand, TsdbCommand};

/// Runs the command line and returns the process exit code: 0 on success, 1 on any error
/// (printed to stderr), 2 for usage errors.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Command::Run(args) => run::run(*args),
        Command::Tsdb { cmd } => match cmd {
            TsdbCommand::Import {
                file,
                storage_path,
                block_duration,
            } => tsdb_cmd::import(&file, &storage_path, &block_duration).map(|s| print!("{s}")),
            TsdbCommand::Dump {
                storage_path,
                name_regex,
                min_time,
                max_time,
            } => tsdb_cmd::dump(&storage_path, &name_regex, min_time, max_time),
            TsdbCommand::Analyze {
                storage_path,
                limit,
                block,
            } => tsdb_cmd::analyze(&storage_path, limit, block.as_deref()).map(|s| print!("{s}")),
        },
        Command::Test {
            cmd: TestCommand::Rules(args),
        } => return ExitCode::from(test_rules::rules(&args)),
        Command::Autoscale {
            cmd: AutoscaleCommand::Simulate(args),
        } => simulate::simulate(&args).map(|s| print!("{s}")),
        Command::Check { cmd } => match cmd {
            CheckCommand::Rules(args) => return ExitCode::from(check::rules(&args)),
            CheckCommand::Config { file } => config::Config::load(&file).and_then(|c| {
                // Build each job's HTTP client too: it reads the TLS files.
                for sc in &c.scrape_configs {
                    scraper::http_client::build(&sc.http_client())
                        .map_err(|e| anyhow::anyhow!("scrape job {:?}: {e}", sc.job_name))?;
                }
                for (i, rw) in c.remote_write.iter().enumerate() {
                    remote::write::client::Client::new(rw)
                        .map_err(|e| anyhow::anyhow!("remote_write[{i}]: {e}"))?;
                }
                println!(
                    "{}: valid ({} scrape jobs)",
                    file.display(),
                    c.scrape_configs.len()
                );
                Ok(())
            }),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vane: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
