//! Protocol buffer messages and gRPC services Vane speaks.
//!
//! * [`prompb`]: Prometheus remote write 1.0 (`prometheus.WriteRequest`) and remote read
//!   (`ReadRequest`, `ReadResponse`, `ChunkedReadResponse`), wire-identical to the published
//!   `prompb/types.proto` and `prompb/remote.proto` (package `prometheus`). Declared by hand
//!   with `prost`'s derive macros, field numbers and types as the protocol fixes them; the
//!   tests check encodings byte for byte.
//! * [`externalscaler`]: KEDA's external scaler service (`externalscaler.ExternalScaler`),
//!   generated from `keda/externalscaler.proto`, a wire-identical copy of KEDA's file.
//! * [`vane::autoscaler::v1`]: Vane's hook protocol — the `ScalingTarget` service a platform
//!   implements and the `Autoscaler` service Vane serves — generated from
//!   `vane/autoscaler/v1/*.proto`.
//!
//! Generated code (messages, `*_client` and `*_server` modules) lives in OUT_DIR; `build.rs`
//! compiles the `.proto` files with `protox`, so no system `protoc` is needed.

pub mod prompb;

/// KEDA's external scaler protocol (package `externalscaler`).
#[allow(clippy::all, missing_docs)]
pub mod externalscaler {
    tonic::include_proto!("externalscaler");
}

/// Vane's own protocols (package `vane.*`).
pub mod vane {
    pub mod autoscaler {
        /// The hook protocol, version 1 (package `vane.autoscaler.v1`).
        #[allow(clippy::all, missing_docs)]
        pub mod v1 {
            tonic::include_proto!("vane.autoscaler.v1");
        }
    }
}

pub use prost::Message;
/// The gRPC runtime the generated services are built on, re-exported so users name one version.
pub use tonic;
