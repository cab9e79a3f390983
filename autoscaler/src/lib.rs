//! Vane's autoscaler: turns a load signal into replica counts.
//!
//! This crate holds, for now, the decision core:
//!
//! - [`policy`]: the scaling policies as pure decision functions — HPA per-replica and ratio
//!   targets with tolerance, Knative's KPA concurrency with stable and panic windows, AWS step
//!   scaling, a predictive policy (trend and queueing) — the HPA's behaviour (stabilization
//!   windows, rate policies), KEDA's scale to zero and fallback. [`policy::Scaler::decide`]
//!   takes the time, the signal, the current count and the previous [`policy::State`], and
//!   returns a [`policy::Decision`] and the next state; no clock, no I/O.
//! - [`config`]: the YAML form of a policy and its behaviour, validated into a
//!   [`policy::Scaler`] with errors that name the field.
//!
//! - [`runtime`]: what the running parts share — decisions as they leave the controller, the
//!   [`runtime::ScaleTarget`] trait targets implement, and the read-only
//!   [`runtime::AutoscalerSource`] the API and gRPC services serve.
//!
//! - [`grpc`]: KEDA's external scaler and Vane's `Autoscaler` service served over an
//!   [`runtime::AutoscalerSource`] ([`grpc::serve`]), and [`grpc::GrpcTarget`], the target
//!   that calls a platform's `ScalingTarget` service.
//! - [`controller`]: runs each autoscaler on its interval — queries the signal through an
//!   injected [`controller::SignalSource`], decides, writes the decision series, pushes to the
//!   target without letting one target delay another — and serves [`runtime::AutoscalerSource`].
//! - [`target`]: the HTTP scale targets, the OpenFaaS gateway and the Kubernetes scale
//!   subresource.
//!
//! `docs/autoscaling.md` describes what each policy computes and how autoscalers are
//! configured.

pub mod config;
pub mod controller;
mod error;
pub mod grpc;
pub mod policy;
pub mod runtime;
pub mod target;

pub use error::Error;
