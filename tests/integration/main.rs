//! Vane's integration tests: one binary, each test boots the real `vane` on 127.0.0.1.

mod harness;
mod peers;

mod alerting;
mod api_golden;
mod autoscaler;
mod autoscaler_grpc;
mod daemon;
mod grafana;
mod query;
mod remote_in;
mod remote_out;
mod rules;
mod rules_check;
mod rules_unit;
mod scrape;
mod simulate;
mod tsdb_cli;
