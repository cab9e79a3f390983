//! What the autoscaler's running parts share: decisions as they leave the controller, the
//! targets that receive them, and the read-only view that `/api/v1/autoscalers` and the gRPC
//! services (Vane's `Autoscaler` service, KEDA's external scaler) serve.

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so targets can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One decision of one autoscaler, as targets and watchers receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionEvent {
    pub autoscaler: String,
    /// Increasing per autoscaler (and across restarts: it starts at the decision time in ms);
    /// a target that sees an id again ignores it, so retries are idempotent.
    pub id: u64,
    /// When the decision was made (ms since the epoch).
    pub time_ms: i64,
    pub desired: u32,
    /// The replica count the decision was based on, if known.
    pub current: Option<u32>,
    /// The load signal the decision was based on, if the query answered.
    pub signal: Option<f64>,
    /// Why (the policy's reason label, e.g. `scaled`, `stabilized`, `fallback`).
    pub reason: String,
    pub detail: String,
    /// Above the activation threshold (KEDA's `IsActive`).
    pub active: bool,
    /// The concurrency policy is in panic mode.
    pub panic: bool,
}

/// Why a target could not take a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Worth retrying (connection refused, timeout, 5xx, gRPC `UNAVAILABLE`...).
    #[error("{0} (will retry)")]
    Retryable(String),
    /// Retrying cannot help (4xx, bad configuration, gRPC `INVALID_ARGUMENT`...).
    #[error("{0}")]
    Permanent(String),
}

/// Where decisions go: a platform behind Vane's `ScalingTarget` gRPC service, an OpenFaaS
/// gateway, a Kubernetes scale subresource...
pub trait ScaleTarget: Send + Sync {
    /// A short description for logs and metrics (`grpc://host:port`, `openfaas:fn`...).
    fn describe(&self) -> String;

    /// Applies a decision. Implementations bound their own time (deadline); the controller
    /// retries `Retryable` errors with backoff and never lets one target delay another.
    fn set_replicas<'a>(&'a self, d: &'a DecisionEvent) -> BoxFuture<'a, Result<(), TargetError>>;

    /// The replica count the platform reports for `autoscaler`, for targets that report it
    /// (`None` when this target does not know).
    fn current_replicas<'a>(
        &'a self,
        autoscaler: &'a str,
    ) -> BoxFuture<'a, Result<Option<u32>, TargetError>>;
}

/// One autoscaler as the API and the gRPC services show it.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoscalerView {
    pub name: String,
    /// The load signal's PromQL query.
    pub query: String,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// The policy's name (`per_replica`, `ratio`, `concurrency`, `step`, `predictive`).
    pub policy: String,
    /// The per-replica target value, where the policy has one (KEDA's `GetMetricSpec`).
    pub target_value: Option<f64>,
    /// The activation threshold (scale to zero), if set.
    pub activation_threshold: Option<f64>,
    /// The newest decision, and the recent ones (oldest first).
    pub last: Option<DecisionEvent>,
    pub recent: Vec<DecisionEvent>,
    /// Evaluations in a row whose query failed.
    pub failures: u32,
}

/// Read access to the running autoscalers.
pub trait AutoscalerSource: Send + Sync {
    fn list(&self) -> Vec<AutoscalerView>;
    fn get(&self, name: &str) -> Option<AutoscalerView>;
    /// Every decision from now on, of every autoscaler.
    fn watch(&self) -> tokio::sync::broadcast::Receiver<DecisionEvent>;
    /// Evaluates an instant PromQL query now (KEDA scaled objects that give a query and a
    /// target instead of an autoscaler name); a vector must have one element.
    fn query_value(&self, query: &str) -> Result<f64, String>;
}
