//! Query results and the errors and annotations that come with them.

use model::labels::Labels;

/// One sample of an instant vector: its series and value at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    /// Milliseconds since the epoch.
    pub t: i64,
    pub v: f64,
}

/// One series of a range vector (matrix): its points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    /// `(milliseconds since the epoch, value)`, increasing in time.
    pub points: Vec<(i64, f64)>,
}

/// The result of a query, typed as the Prometheus HTTP API types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar {
        t: i64,
        v: f64,
    },
    String {
        t: i64,
        v: String,
    },
    /// Instant vector. Order is the evaluation order (meaningful after `sort`, `topk`, ...).
    Vector(Vec<Sample>),
    /// Range vector, or the result of a range query. Range-query results are sorted by labels.
    Matrix(Vec<RangeSeries>),
}

impl Value {
    /// The Prometheus API name of the type: `scalar`, `string`, `vector`, `matrix`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// Warnings and infos raised while evaluating, as Prometheus's annotations: warnings say the
/// result may be wrong, infos that the query may not mean what it says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl Annotations {
    /// Adds a warning unless the same text is already there.
    pub fn warn(&mut self, msg: impl Into<String>) {
        push_unique(&mut self.warnings, msg.into());
    }

    /// Adds an info unless the same text is already there.
    pub fn info(&mut self, msg: impl Into<String>) {
        push_unique(&mut self.infos, msg.into());
    }

    pub fn merge(&mut self, other: Annotations) {
        for w in other.warnings {
            self.warn(w);
        }
        for i in other.infos {
            self.info(i);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.warnings.is_empty() && self.infos.is_empty()
    }
}

fn push_unique(list: &mut Vec<String>, msg: String) {
    if !list.contains(&msg) {
        list.push(msg);
    }
}

/// A query's outcome: its value and any annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub value: Value,
    pub annotations: Annotations,
    /// Timings and sample counts, when the engine was asked for them
    /// ([`crate::Engine::with_stats`]).
    pub stats: Option<crate::stats::QueryStats>,
}

/// Why a query failed. The HTTP API maps each kind to Prometheus's `errorType`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The query text or a parameter is invalid (`bad_data`).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (`execution`): many-to-many matching, duplicate series, too many
    /// samples, an invalid regular expression in `label_replace`.
    #[error("{0}")]
    Execution(String),
    /// The query ran longer than its timeout (`timeout`).
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query was canceled (`canceled`).
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// The store failed (`internal`).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The Prometheus API `errorType` of this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::BadData(_) => "bad_data",
            Error::Execution(_) => "execution",
            Error::Timeout(_) => "timeout",
            Error::Canceled(_) => "canceled",
            Error::Internal(_) => "internal",
        }
    }
}

impl From<model::storage::Error> for Error {
    fn from(e: model::storage::Error) -> Self {
        match e {
            model::storage::Error::Canceled => Error::Canceled("query execution"),
            e => Error::Internal(e.to_string()),
        }
    }
}
