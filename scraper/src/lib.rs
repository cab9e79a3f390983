//! Scraping Prometheus-format targets into an [`model::Appendable`].
//!
//! - [`config`]: the `scrape_configs` of a prometheus.yml.
//! - [`discovery`]: static, file and HTTP service discovery.
//! - [`target`]: discovered targets through job settings and `relabel_configs`.
//! - [`relabel`]: `relabel_configs` and `metric_relabel_configs`.
//! - [`scrape`]: the scrape loops, pools and the manager; staleness and the synthetic series.
//! - [`textparse`]: the text 0.0.4 and OpenMetrics parsers.
//! - [`http_client`]: authentication and TLS for scrapes and HTTP discovery.

pub mod config;
pub mod discovery;
pub mod http_client;
pub mod relabel;
pub mod scrape;
pub mod target;
pub mod textparse;
