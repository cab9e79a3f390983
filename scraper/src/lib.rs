//! Scraping Prometheus-format targets into an [`model::Appendable`].
//!
//! Today this crate holds the exposition-format parsers ([`textparse`]), used by
//! `vane tsdb import`. Scrape configuration, discovery, relabeling and the scrape loops are
//! still to come.

pub mod textparse;
