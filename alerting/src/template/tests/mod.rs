//! Template tests: Prometheus's template_test.go cases, Go's text/template behaviour, Go's
//! fmt formatting, parse errors and execution bounds.

mod fmt;
mod go_exec;
mod limits;
mod parse;
mod prometheus;
mod rules;

use std::rc::Rc;
use std::sync::Mutex;

use model::Labels;

use super::value::{IntKind, UintKind, Value};
use crate::{QueryEngine, Sample};

/// The evaluation time Prometheus's tests use (ms).
pub(super) const T_MS: i64 = 1_353_755_652_000;
pub(super) const EXTERNAL_URL: &str = "http://testhost:9090/path/prefix";

/// Answers every query with the same samples and remembers what was asked.
#[derive(Default)]
pub(super) struct FixedQuery {
    pub samples: Vec<Sample>,
    pub asked: Mutex<Vec<(String, i64)>>,
}

impl FixedQuery {
    pub fn new(samples: Vec<Sample>) -> Self {
        FixedQuery {
            samples,
            asked: Mutex::new(Vec::new()),
        }
    }
}

impl QueryEngine for FixedQuery {
    fn instant(&self, query: &str, t_ms: i64) -> Result<Vec<Sample>, String> {
        self.asked.lock().unwrap().push((query.to_string(), t_ms));
        if query == "bad(" {
            return Err("1:5: parse error: unclosed left parenthesis".to_string());
        }
        Ok(self.samples.clone())
    }
}

pub(super) fn sample(pairs: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        labels: Labels::from_pairs(pairs.iter().copied()),
        value,
    }
}

/// Runs `text` as Prometheus's tests do: named "test", no variable prelude, `dot` as data.
pub(super) fn run(text: &str, dot: Value) -> Result<String, String> {
    super::expand_value("test", text, dot, EXTERNAL_URL, T_MS, None)
}

/// [`run`] with a query engine answering `samples`.
pub(super) fn run_query(text: &str, samples: Vec<Sample>) -> Result<String, String> {
    let q = FixedQuery::new(samples);
    super::expand_value("test", text, Value::Invalid, EXTERNAL_URL, T_MS, Some(&q))
}

pub(super) fn ok(text: &str, dot: Value) -> String {
    match run(text, dot) {
        Ok(s) => s,
        Err(e) => panic!("{text}: {e}"),
    }
}

pub(super) fn err(text: &str, dot: Value) -> String {
    match run(text, dot) {
        Ok(s) => panic!("{text}: expected an error, got {s:?}"),
        Err(e) => e,
    }
}

pub(super) fn list(ty: &'static str, items: Vec<Value>) -> Value {
    Value::List(Rc::new(items), ty)
}

pub(super) fn floats(v: &[f64]) -> Value {
    list("[]float64", v.iter().map(|&f| Value::Float(f)).collect())
}

pub(super) fn strings(v: &[&str]) -> Value {
    list("[]string", v.iter().map(|&s| Value::str(s)).collect())
}

pub(super) fn ints(v: &[i64]) -> Value {
    list(
        "[]int",
        v.iter().map(|&i| Value::Int(i, IntKind::Int)).collect(),
    )
}

pub(super) fn int64s(v: &[i64]) -> Value {
    list(
        "[]int64",
        v.iter().map(|&i| Value::Int(i, IntKind::Int64)).collect(),
    )
}

pub(super) fn uints(v: &[u64]) -> Value {
    list(
        "[]uint",
        v.iter().map(|&u| Value::Uint(u, UintKind::Uint)).collect(),
    )
}

pub(super) fn uint64s(v: &[u64]) -> Value {
    list(
        "[]uint64",
        v.iter()
            .map(|&u| Value::Uint(u, UintKind::Uint64))
            .collect(),
    )
}

pub(super) fn str_map(pairs: &[(&str, &str)]) -> Value {
    Value::StrMap(Rc::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    ))
}

pub(super) fn any_map(pairs: Vec<(&str, Value)>) -> Value {
    Value::AnyMap(Rc::new(
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    ))
}
