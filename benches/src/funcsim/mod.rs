//! `funcsim`: a function platform to test Vane's autoscaler against.
//!
//! Functions have replicas that each serve `concurrency` requests at once and serve only
//! after a cold start; requests beyond capacity wait in a bounded queue and are dropped
//! beyond it. A load generator (step, spike, ramp, diurnal; Poisson arrivals from a seed)
//! drives them. The platform shows per-function metrics at `/metrics` and takes its scaling
//! input as `POST /scale` or through Vane's gRPC `ScalingTarget` (both call
//! [`Platform::scale`]). Simulated time advances with real time in the binary, and by
//! explicit `advance_to` calls in tests, where runs are deterministic for a seed.
//!
//! * `load`: profiles, the seeded random source, Poisson arrivals.
//! * `platform`: functions, replicas, queue, the event loop, scale commands.
//! * `stats`: the classic histogram and the quantile sketch.
//! * `expose`: `/metrics` text and the exit summary.
//! * `spec`: the `--function` flag.
//! * `http`: the HTTP front.
//! * `grpc`: the gRPC front (`vane.autoscaler.v1.ScalingTarget`).
//! * `live`: serving the fronts while simulated time follows real time.
//! * `openfaas`: OpenFaaS's gateway scale and status calls on the HTTP front.

pub mod expose;
pub mod grpc;
pub mod http;
pub mod live;
pub mod load;
pub mod openfaas;
pub mod platform;
pub mod spec;
pub mod stats;

#[cfg(test)]
mod tests;

pub use load::Profile;
pub use platform::{FunctionSpec, Platform, ScaleCommand};
