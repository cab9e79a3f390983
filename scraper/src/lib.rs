//! Scraping Prometheus-format targets into an [`model::Appendable`].
//!
//! Not implemented yet: scrape configuration, discovery, the text 0.0.4 and OpenMetrics
//! parsers, relabeling and the scrape loops arrive with the scraper work.
