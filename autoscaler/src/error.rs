//! The crate's error type.

/// Errors of the autoscaler crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is wrong. `field` is the path of the field inside the autoscaler's
    /// configuration (`policy.ratio.target`, `behavior.scale_up.policies[1].period`), so the
    /// daemon can prefix it with the autoscaler's name.
    #[error("{field}: {message}")]
    Config { field: String, message: String },
    /// The gRPC server or a gRPC target could not be set up (bad address, port in use...).
    #[error("gRPC: {0}")]
    Grpc(String),
}

impl Error {
    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }
}
