//! Values a template computes with, standing in for the Go types Prometheus's templates see.
//!
//! Go's rules that depend on types (what a function accepts, what prints how, what is true)
//! are kept by giving every value the Go type it would have; [`Value::type_name`] is that
//! type as Go writes it in error messages.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::gotime::GoTime;

/// Go integer types that reach templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntKind {
    Int,
    Int64,
}

/// Go unsigned integer types that reach templates. (Only data handed in by tests holds
/// `uint` and `uint64`; Prometheus's own tests run its functions on them.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum UintKind {
    Uint,
    Uint64,
    /// A byte, from indexing a string.
    Uint8,
}

/// Prometheus's `sample` (labels and value), what `query` returns a list of.
#[derive(Debug)]
pub(crate) struct SampleValue {
    pub labels: Rc<BTreeMap<String, String>>,
    pub value: f64,
}

/// The data rule templates run on (`.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`).
#[derive(Debug)]
pub(crate) struct AlertValue {
    pub labels: Rc<BTreeMap<String, String>>,
    pub external_labels: Rc<BTreeMap<String, String>>,
    pub external_url: Rc<str>,
    pub value: f64,
}

/// Go's type string for the anonymous struct of alert template data.
pub(crate) const ALERT_TYPE: &str = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// No value at all (Go's invalid `reflect.Value`): prints as `<no value>`.
    Invalid,
    /// A nil `interface{}`: prints as `<nil>`.
    Nil,
    Bool(bool),
    Int(i64, IntKind),
    Uint(u64, UintKind),
    Float(f64),
    Complex(f64, f64),
    Str(Rc<str>),
    /// `html/template.HTML`, what `safeHtml` returns.
    Html(Rc<str>),
    /// `map[string]string`: label sets.
    StrMap(Rc<BTreeMap<String, String>>),
    /// `map[string]interface {}`: what `args` returns.
    AnyMap(Rc<BTreeMap<String, Value>>),
    /// A slice with its Go type (e.g. `[]float64`): data handed in by tests, and what
    /// `slice` makes of one.
    #[cfg_attr(not(test), allow(dead_code))]
    List(Rc<Vec<Value>>, &'static str),
    /// `template.queryResult` (`[]*sample`).
    Samples(Rc<Vec<Rc<SampleValue>>>),
    /// `*template.sample`.
    Sample(Rc<SampleValue>),
    /// The alert template data struct.
    Alert(Rc<AlertValue>),
    /// `time.Time`, or `*time.Time` when `ptr`.
    Time(GoTime, bool),
    /// `time.Duration` in nanoseconds, or `*time.Duration` when `ptr`.
    Duration(i64, bool),
    /// `time.Month` (1-12).
    Month(i64),
    /// `time.Weekday` (0 is Sunday).
    Weekday(i64),
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn int(i: i64) -> Value {
        Value::Int(i, IntKind::Int)
    }

    /// The Go type, as `%T` and error messages write it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Invalid => "<invalid reflect.Value>",
            Value::Nil => "interface {}",
            Value::Bool(_) => "bool",
            Value::Int(_, IntKind::Int) => "int",
            Value::Int(_, IntKind::Int64) => "int64",
            Value::Uint(_, UintKind::Uint) => "uint",
            Value::Uint(_, UintKind::Uint64) => "uint64",
            Value::Uint(_, UintKind::Uint8) => "uint8",
            Value::Float(_) => "float64",
            Value::Complex(..) => "complex128",
            Value::Str(_) => "string",
            Value::Html(_) => "template.HTML",
            Value::StrMap(_) => "map[string]string",
            Value::AnyMap(_) => "map[string]interface {}",
            Value::List(_, t) => t,
            Value::Samples(_) => "template.queryResult",
            Value::Sample(_) => "*template.sample",
            Value::Alert(_) => ALERT_TYPE,
            Value::Time(_, false) => "time.Time",
            Value::Time(_, true) => "*time.Time",
            Value::Duration(_, false) => "time.Duration",
            Value::Duration(_, true) => "*time.Duration",
            Value::Month(_) => "time.Month",
            Value::Weekday(_) => "time.Weekday",
        }
    }

    /// Whether Go's `reflect.Kind` of the value is `String` (strings and named string types).
    pub fn is_string_kind(&self) -> bool {
        matches!(self, Value::Str(_) | Value::Html(_))
    }

    /// The string of a string-kind value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Html(s) => Some(s),
            _ => None,
        }
    }

    /// Go's truth: false, 0, nil and empty collections are false; structs are true. `None`
    /// for values that have no truth (none here, kept for Go's "can't use" error).
    pub fn truth(&self) -> Option<bool> {
        Some(match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Uint(u, _) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Value::Str(s) | Value::Html(s) => !s.is_empty(),
            Value::StrMap(m) => !m.is_empty(),
            Value::AnyMap(m) => !m.is_empty(),
            Value::List(l, _) => !l.is_empty(),
            Value::Samples(l) => !l.is_empty(),
            Value::Sample(_) | Value::Alert(_) => true,
            Value::Time(_, _) => true,
            Value::Duration(d, false) => *d != 0,
            Value::Duration(_, true) => true,
            Value::Month(m) | Value::Weekday(m) => *m != 0,
        })
    }

    /// Follows pointers, as Go's `indirect` does (the result is never a pointer).
    pub fn indirect(&self) -> Value {
        match self {
            Value::Time(t, true) => Value::Time(*t, false),
            Value::Duration(d, true) => Value::Duration(*d, false),
            v => v.clone(),
        }
    }

    /// The Go kind classes that comparisons and integer conversions care about.
    pub fn basic_kind(&self) -> BasicKind {
        match self {
            Value::Bool(_) => BasicKind::Bool,
            Value::Int(..) | Value::Duration(_, false) | Value::Month(_) | Value::Weekday(_) => {
                BasicKind::Int
            }
            Value::Uint(..) => BasicKind::Uint,
            Value::Float(_) => BasicKind::Float,
            Value::Complex(..) => BasicKind::Complex,
            Value::Str(_) | Value::Html(_) => BasicKind::String,
            _ => BasicKind::Invalid,
        }
    }

    /// The signed integer of an int-kind value.
    pub fn int_value(&self) -> i64 {
        match self {
            Value::Int(i, _) | Value::Duration(i, _) | Value::Month(i) | Value::Weekday(i) => *i,
            _ => 0,
        }
    }

    /// Length for `len`, `if` and `range`, if the value has one.
    pub fn len(&self) -> Option<usize> {
        match self {
            Value::Str(s) | Value::Html(s) => Some(s.len()),
            Value::StrMap(m) => Some(m.len()),
            Value::AnyMap(m) => Some(m.len()),
            Value::List(l, _) => Some(l.len()),
            Value::Samples(l) => Some(l.len()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BasicKind {
    Invalid,
    Bool,
    Complex,
    Int,
    Float,
    String,
    Uint,
}
