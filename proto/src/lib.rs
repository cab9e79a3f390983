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

#[cfg(test)]
mod tests {
    use super::Message;
    use super::externalscaler::{MetricSpec, MetricValue, ScaledObjectRef};

    /// The field numbers and wire types of KEDA's messages, byte for byte.
    #[test]
    fn keda_messages_encode_as_kedas_proto_says() {
        let spec = MetricSpec {
            metric_name: "m".into(),
            target_size: 2,
            target_size_float: 1.5,
        };
        let mut want = vec![0x0a, 1, b'm', 0x10, 2, 0x19];
        want.extend_from_slice(&1.5f64.to_le_bytes());
        assert_eq!(spec.encode_to_vec(), want);

        let value = MetricValue {
            metric_name: "m".into(),
            metric_value: 3,
            metric_value_float: 3.0,
        };
        let mut want = vec![0x0a, 1, b'm', 0x10, 3, 0x19];
        want.extend_from_slice(&3.0f64.to_le_bytes());
        assert_eq!(value.encode_to_vec(), want);

        // scalerMetadata is field 3, a map entry with key 1 and value 2.
        let r = ScaledObjectRef {
            name: "n".into(),
            namespace: "s".into(),
            scaler_metadata: [("k".to_string(), "v".to_string())].into(),
        };
        assert_eq!(
            r.encode_to_vec(),
            [
                0x0a, 1, b'n', 0x12, 1, b's', 0x1a, 6, 0x0a, 1, b'k', 0x12, 1, b'v'
            ]
        );
    }
}
