//! The Prometheus HTTP API v1.
//!
//! Not implemented yet: the query endpoints arrive with the HTTP API work. The daemon serves
//! `/metrics`, `/-/healthy` and `/-/ready` itself for now.
