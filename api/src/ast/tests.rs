//! Trees compared with what Prometheus's `translateAST` makes of the same queries (worked
//! out from its source: Go writes map keys sorted, durations in milliseconds, the metric
//! name's matcher last).

use serde_json::{Value, json};

use super::translate;

fn tree(q: &str) -> Value {
    translate(&promql::Engine::parse(q).unwrap_or_else(|e| panic!("{q}: {e}")))
}

/// A plain `vectorSelector` node: `name` and its matchers, no modifiers.
fn selector(name: &str, matchers: Value) -> Value {
    json!({
        "anchored": false,
        "matchers": matchers,
        "name": name,
        "offset": 0,
        "offsetExpr": null,
        "smoothed": false,
        "startOrEnd": null,
        "timestamp": null,
        "type": "vectorSelector",
    })
}

fn name_eq(name: &str) -> Value {
    json!({"name": "__name__", "type": "=", "value": name})
}

fn number(val: &str) -> Value {
    json!({"type": "numberLiteral", "val": val})
}

#[test]
fn aggregation_over_a_function_over_a_range() {
    assert_eq!(
        tree(r#"sum by (job, "le") (rate(http_requests_total{code=~"5.."}[5m] offset 1m))"#),
        json!({
            "expr": {
                "args": [{
                    "anchored": false,
                    "matchers": [
                        {"name": "code", "type": "=~", "value": "5.."},
                        name_eq("http_requests_total"),
                    ],
                    "name": "http_requests_total",
                    "offset": 60_000,
                    "offsetExpr": null,
                    "range": 300_000,
                    "rangeExpr": null,
                    "smoothed": false,
                    "startOrEnd": null,
                    "timestamp": null,
                    "type": "matrixSelector",
                }],
                "func": {
                    "argTypes": ["matrix"],
                    "name": "rate",
                    "returnType": "vector",
                    "variadic": 0,
                },
                "type": "call",
            },
            "grouping": ["job", "le"],
            "op": "sum",
            "param": null,
            "type": "aggregation",
            "without": false,
        })
    );
}

#[test]
fn parameters_modifiers_and_unary_minus() {
    assert_eq!(
        tree("topk without (instance) (3, -x @ 1609746000.5)"),
        json!({
            "expr": {
                "expr": {
                    "anchored": false,
                    "matchers": [name_eq("x")],
                    "name": "x",
                    "offset": 0,
                    "offsetExpr": null,
                    "smoothed": false,
                    "startOrEnd": null,
                    "timestamp": 1_609_746_000_500_i64,
                    "type": "vectorSelector",
                },
                "op": "-",
                "type": "unaryExpr",
            },
            "grouping": ["instance"],
            "op": "topk",
            "param": number("3"),
            "type": "aggregation",
            "without": true,
        })
    );
    assert_eq!(
        tree(r#"count_values("v", up)"#)["param"],
        json!({"type": "stringLiteral", "val": "v"})
    );
    assert_eq!(tree("sum(up)")["grouping"], json!([]));
}

#[test]
fn binary_operations_and_their_matching() {
    let (a, b) = (
        selector("a", json!([name_eq("a")])),
        selector("b", json!([name_eq("b")])),
    );
    assert_eq!(
        tree("a / on(job) group_left(team) b"),
        json!({
            "bool": false,
            "lhs": a,
            "matching": {
                "card": "many-to-one",
                "fillValues": {"lhs": null, "rhs": null},
                "include": ["team"],
                "labels": ["job"],
                "on": true,
            },
            "op": "/",
            "rhs": b,
            "type": "binaryExpr",
        })
    );
    // Set operators match many-to-many; no modifier is one-to-one on all labels.
    let and = tree("a and ignoring(x) b");
    assert_eq!(
        and["matching"],
        json!({
            "card": "many-to-many",
            "fillValues": {"lhs": null, "rhs": null},
            "include": [],
            "labels": ["x"],
            "on": false,
        })
    );
    assert_eq!(and["op"], "and");
    assert_eq!(tree("a + b")["matching"]["card"], "one-to-one");
    assert_eq!(
        tree("a * on() group_right b")["matching"]["card"],
        "one-to-many"
    );
    // A scalar side: no matching.
    assert_eq!(
        tree("a > bool 1"),
        json!({
            "bool": true,
            "lhs": a,
            "matching": null,
            "op": ">",
            "rhs": number("1"),
            "type": "binaryExpr",
        })
    );
    assert_eq!(tree("1 + 2")["matching"], Value::Null);
    // Fill values: `fill` for both sides, `fill_left`/`fill_right` for one.
    for (q, lhs, rhs) in [
        ("a + fill(0) b", json!(0), json!(0)),
        ("a + fill_left(1.5) b", json!(1.5), Value::Null),
        ("a + on(x) fill_right(-2) b", Value::Null, json!(-2)),
    ] {
        assert_eq!(
            tree(q)["matching"]["fillValues"],
            json!({"lhs": lhs, "rhs": rhs}),
            "{q}"
        );
    }
}

#[test]
fn subqueries_and_parentheses() {
    let t = tree("max_over_time((x - 1)[10m:30s] offset -5m)");
    assert_eq!(
        t["args"][0],
        json!({
            "expr": {
                "expr": {
                    "bool": false,
                    "lhs": selector("x", json!([name_eq("x")])),
                    "matching": null,
                    "op": "-",
                    "rhs": number("1"),
                    "type": "binaryExpr",
                },
                "type": "parenExpr",
            },
            "offset": -300_000,
            "offsetExpr": null,
            "range": 600_000,
            "rangeExpr": null,
            "startOrEnd": null,
            "step": 30_000,
            "stepExpr": null,
            "timestamp": null,
            "type": "subquery",
        })
    );
    // No step: 0. `@ end()` names the end and gives no time.
    let t = tree("x[5m:] @ end()");
    assert_eq!(
        (&t["step"], &t["startOrEnd"], &t["timestamp"]),
        (&json!(0), &json!("end"), &Value::Null)
    );
    assert_eq!(tree("x[1m] @ start()")["startOrEnd"], "start");
}

#[test]
fn selectors_literals_and_calls() {
    // A name inside the braces is only a matcher; the selector has no name.
    assert_eq!(
        tree(r#"{__name__="up", job!="x"}"#),
        selector(
            "",
            json!([
                name_eq("up"),
                {"name": "job", "type": "!=", "value": "x"},
            ])
        )
    );
    assert_eq!(
        tree(r#"{"some.metric", a!~"b\\d"}"#)["matchers"],
        json!([
            name_eq("some.metric"),
            {"name": "a", "type": "!~", "value": "b\\d"},
        ])
    );
    // `or` between matchers (Vane's parser only): the alternatives in `orMatchers`.
    let t = tree(r#"x{a="1" or b="2"}"#);
    assert_eq!(t["matchers"], json!([name_eq("x")]));
    assert_eq!(
        t["orMatchers"],
        json!([
            [{"name": "a", "type": "=", "value": "1"}, name_eq("x")],
            [{"name": "b", "type": "=", "value": "2"}, name_eq("x")],
        ])
    );
    assert!(tree("x").get("orMatchers").is_none());
    assert_eq!(
        tree(r#""a\tb""#),
        json!({"type": "stringLiteral", "val": "a\tb"})
    );
    for (q, val) in [
        ("1e-7", "0.0000001"),
        ("1e21", "1000000000000000000000"),
        ("0x10", "16"),
        ("-2.5", "-2.5"),
        ("+Inf", "+Inf"),
        ("-Inf", "-Inf"),
        ("NaN", "NaN"),
    ] {
        assert_eq!(tree(q), number(val), "{q}");
    }
    assert_eq!(
        tree("round(x)")["func"],
        json!({
            "argTypes": ["vector", "scalar"],
            "name": "round",
            "returnType": "vector",
            "variadic": 1,
        })
    );
    let t = tree(r#"label_join(x, "dst", ",", "a", "b", "c")"#);
    assert_eq!(t["func"]["variadic"], -1);
    assert_eq!(t["args"].as_array().unwrap().len(), 6);
    assert_eq!(
        tree("time()"),
        json!({
            "args": [],
            "func": {"argTypes": [], "name": "time", "returnType": "scalar", "variadic": 0},
            "type": "call",
        })
    );
}

#[test]
fn keys_in_go_map_order() {
    let s = tree("a + on(b) c").to_string();
    assert!(
        s.starts_with(r#"{"bool":false,"lhs":{"anchored":false,"matchers":["#),
        "{s}"
    );
    assert!(s.contains(r#""matching":{"card":"one-to-one","fillValues":{"lhs":null,"rhs":null},"include":[],"labels":["b"],"on":true}"#), "{s}");
}

#[tokio::test]
async fn bad_queries_are_bad_data() {
    use axum::body::Bytes;
    use axum::extract::RawQuery;
    use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

    let call = |q: &str, form: Option<&str>| {
        let mut headers = HeaderMap::new();
        if form.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        }
        let body = Bytes::from(form.unwrap_or_default().to_string());
        super::parse_query(RawQuery(Some(q.to_string())), headers, body)
    };
    let read = |r: axum::response::Response| async move {
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice::<Value>(&body).unwrap())
    };
    let (status, j) = read(call("query=sum(", None).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(j["errorType"], "bad_data");
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid parameter \"query\": "),
        "{j}"
    );
    // GET and POST alike.
    let (status, j) = read(call("", Some("query=up%7Bjob%3D%22a%22%7D")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        j,
        json!({
            "status": "success",
            "data": selector("up", json!([{"name": "job", "type": "=", "value": "a"}, name_eq("up")])),
        })
    );
}
