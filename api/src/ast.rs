//! `/api/v1/parse_query`: a query's syntax tree as JSON, in the shape Prometheus serves it
//! (its `translateAST`, which the Prometheus UI's tree view reads).
//!
//! Every node is an object with a `type`: `aggregation`, `binaryExpr`, `call`,
//! `matrixSelector`, `subquery`, `numberLiteral`, `parenExpr`, `stringLiteral`, `unaryExpr`
//! or `vectorSelector`. Durations and times are milliseconds; absent values are `null`.
//! Keys come in alphabetical order, as Go writes a map.
//!
//! Where the parser differs from Prometheus's, so does the tree: `+x` parses as `x` (no
//! `unaryExpr` with `op` `+`), duration arithmetic (`rangeExpr`, `offsetExpr`, `stepExpr`)
//! and the `anchored`/`smoothed` modifiers do not parse, so those keys are always `null`
//! and `false`. Selectors with `or` between matchers, which Prometheus does not parse,
//! carry their alternatives in an extra `orMatchers` list.

use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use promql::Expr;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AtModifier, BinaryExpr, LabelModifier, Offset, VectorMatchCardinality, VectorSelector,
};
use serde_json::{Value, json};

use crate::json::{self, ApiError};
use crate::params::Params;

/// `/api/v1/parse_query` (GET and POST): the syntax tree of `query`.
pub(crate) async fn parse_query(
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tree = (|| {
        let p = Params::from_request(q, &headers, &body)?;
        let expr = promql::Engine::parse(p.get("query").unwrap_or_default())
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))?;
        Ok::<_, ApiError>(translate(&expr))
    })();
    match tree {
        Ok(tree) => json::success(&tree.to_string(), &[]),
        Err(e) => e.into_response(),
    }
}

/// The JSON of one node and everything below it.
pub(crate) fn translate(e: &Expr) -> Value {
    match e {
        Expr::Aggregate(a) => {
            let (grouping, without) = match &a.modifier {
                None => (Vec::new(), false),
                Some(LabelModifier::Include(l)) => (l.labels.clone(), false),
                Some(LabelModifier::Exclude(l)) => (l.labels.clone(), true),
            };
            json!({
                "expr": translate(&a.expr),
                "grouping": grouping,
                "op": a.op.to_string(),
                "param": a.param.as_deref().map_or(Value::Null, translate),
                "type": "aggregation",
                "without": without,
            })
        }
        Expr::Binary(b) => json!({
            "bool": b.modifier.as_ref().is_some_and(|m| m.return_bool),
            "lhs": translate(&b.lhs),
            "matching": matching(b),
            "op": b.op.to_string(),
            "rhs": translate(&b.rhs),
            "type": "binaryExpr",
        }),
        Expr::Call(c) => json!({
            "args": c.args.args.iter().map(|a| translate(a)).collect::<Vec<_>>(),
            "func": {
                "argTypes": c.func.arg_types.iter().map(ValueType::to_string).collect::<Vec<_>>(),
                "name": c.func.name,
                "returnType": c.func.return_type.to_string(),
                "variadic": c.func.variadic,
            },
            "type": "call",
        }),
        Expr::MatrixSelector(ms) => {
            let (timestamp, start_or_end) = at(&ms.vs.at);
            json!({
                "anchored": false,
                "matchers": matchers(&ms.vs),
                "name": ms.vs.name.as_deref().unwrap_or_default(),
                "offset": offset_ms(&ms.vs.offset),
                "offsetExpr": null,
                "range": ms_of(&ms.range),
                "rangeExpr": null,
                "smoothed": false,
                "startOrEnd": start_or_end,
                "timestamp": timestamp,
                "type": "matrixSelector",
            })
            .with_or_matchers(&ms.vs)
        }
        Expr::Subquery(sq) => {
            let (timestamp, start_or_end) = at(&sq.at);
            json!({
                "expr": translate(&sq.expr),
                "offset": offset_ms(&sq.offset),
                "offsetExpr": null,
                "range": ms_of(&sq.range),
                "rangeExpr": null,
                "startOrEnd": start_or_end,
                "step": sq.step.as_ref().map_or(0, ms_of),
                "stepExpr": null,
                "timestamp": timestamp,
                "type": "subquery",
            })
        }
        Expr::NumberLiteral(n) => json!({"type": "numberLiteral", "val": go_float(n.val)}),
        Expr::Paren(p) => json!({"expr": translate(&p.expr), "type": "parenExpr"}),
        Expr::StringLiteral(s) => json!({"type": "stringLiteral", "val": s.val}),
        Expr::Unary(u) => json!({"expr": translate(&u.expr), "op": "-", "type": "unaryExpr"}),
        Expr::VectorSelector(vs) => {
            let (timestamp, start_or_end) = at(&vs.at);
            json!({
                "anchored": false,
                "matchers": matchers(vs),
                "name": vs.name.as_deref().unwrap_or_default(),
                "offset": offset_ms(&vs.offset),
                "offsetExpr": null,
                "smoothed": false,
                "startOrEnd": start_or_end,
                "timestamp": timestamp,
                "type": "vectorSelector",
            })
            .with_or_matchers(vs)
        }
        // The parser makes none; an extension would have no Prometheus shape.
        Expr::Extension(_) => Value::Null,
    }
}

/// A binary operation's vector matching, `null` unless both sides are instant vectors
/// (as Prometheus's parser drops it). Set operators match many-to-many.
fn matching(b: &BinaryExpr) -> Value {
    if b.lhs.value_type() != ValueType::Vector || b.rhs.value_type() != ValueType::Vector {
        return Value::Null;
    }
    let m = b.modifier.as_ref();
    let card = m.map_or(&VectorMatchCardinality::OneToOne, |m| &m.card);
    let card = match card {
        VectorMatchCardinality::OneToOne if b.op.is_set_operator() => "many-to-many",
        VectorMatchCardinality::OneToOne => "one-to-one",
        VectorMatchCardinality::ManyToOne(_) => "many-to-one",
        VectorMatchCardinality::OneToMany(_) => "one-to-many",
        VectorMatchCardinality::ManyToMany => "many-to-many",
    };
    let include = m
        .and_then(|m| m.card.labels())
        .map(|l| l.labels.clone())
        .unwrap_or_default();
    let (labels, on) = match m.and_then(|m| m.matching.as_ref()) {
        None => (Vec::new(), false),
        Some(LabelModifier::Include(l)) => (l.labels.clone(), true),
        Some(LabelModifier::Exclude(l)) => (l.labels.clone(), false),
    };
    let fill = m.map(|m| &m.fill_values);
    json!({
        "card": card,
        "fillValues": {
            "lhs": go_number(fill.and_then(|f| f.lhs)),
            "rhs": go_number(fill.and_then(|f| f.rhs)),
        },
        "include": include,
        "labels": labels,
        "on": on,
    })
}

/// A selector's matchers as `{name, type, value}`, the metric name's last (where
/// Prometheus's parser puts it).
fn matchers(vs: &VectorSelector) -> Value {
    let mut list: Vec<Value> = vs.matchers.matchers.iter().map(matcher).collect();
    list.extend(name_matcher(vs));
    Value::Array(list)
}

fn name_matcher(vs: &VectorSelector) -> Option<Value> {
    vs.name
        .as_deref()
        .map(|n| json!({"name": "__name__", "type": "=", "value": n}))
}

fn matcher(m: &Matcher) -> Value {
    let op = match m.op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Re(_) => "=~",
        MatchOp::NotRe(_) => "!~",
    };
    json!({"name": m.name, "type": op, "value": m.value})
}

trait WithOrMatchers {
    fn with_or_matchers(self, vs: &VectorSelector) -> Value;
}

impl WithOrMatchers for Value {
    /// Adds `orMatchers` (each alternative's matchers, the metric name's last) to a
    /// selector's node when it has `or` between matchers.
    fn with_or_matchers(mut self, vs: &VectorSelector) -> Value {
        if vs.matchers.or_matchers.is_empty() {
            return self;
        }
        let alternatives: Vec<Value> = vs
            .matchers
            .or_matchers
            .iter()
            .map(|set| {
                let mut list: Vec<Value> = set.iter().map(matcher).collect();
                list.extend(name_matcher(vs));
                Value::Array(list)
            })
            .collect();
        if let Value::Object(o) = &mut self {
            o.insert("orMatchers".into(), Value::Array(alternatives));
        }
        self
    }
}

/// `(timestamp, startOrEnd)` of an `@` modifier: the time in milliseconds, or which end of
/// the query it names.
fn at(at: &Option<AtModifier>) -> (Value, Value) {
    match at {
        None => (Value::Null, Value::Null),
        Some(AtModifier::Start) => (Value::Null, "start".into()),
        Some(AtModifier::End) => (Value::Null, "end".into()),
        Some(AtModifier::At(t)) => {
            let ms = match t.duration_since(SystemTime::UNIX_EPOCH) {
                Ok(d) => ms_of(&d),
                Err(e) => -ms_of(&e.duration()),
            };
            (ms.into(), Value::Null)
        }
    }
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => ms_of(d),
        Some(Offset::Neg(d)) => -ms_of(d),
    }
}

/// Whole milliseconds (the parser refuses durations a millisecond clock cannot hold).
fn ms_of(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A float as a JSON number the way Go writes one: whole numbers without a fraction
/// (`0`, not `0.0`).
fn go_number(v: Option<f64>) -> Value {
    match v {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => (v as i64).into(),
        Some(v) => v.into(),
        None => Value::Null,
    }
}

/// A number as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it: the shortest digits
/// that read back the same, never an exponent.
fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust's `Display` for floats is exactly that.
        v.to_string()
    }
}

#[cfg(test)]
mod tests;
