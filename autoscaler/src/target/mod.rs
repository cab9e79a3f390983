//! Targets that receive decisions over HTTP: the OpenFaaS gateway and the Kubernetes scale
//! subresource. (Vane's gRPC `ScalingTarget` lives beside the gRPC services.)
//!
//! Each takes a `reqwest::Client` built by the daemon with the scraper's HTTP client settings
//! (TLS, proxy) and an [`Authorize`] function that adds the credentials, so this crate needs
//! no knowledge of the configuration file.

mod http;

pub use http::{Authorize, Kubernetes, OpenFaas};
