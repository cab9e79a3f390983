//! Protocol buffer definitions (KEDA external scaler, Prometheus remote write/read and Vane's
//! own hook protocol) and their generated code.
//!
//! Not implemented yet.
