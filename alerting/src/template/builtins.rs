//! Go's builtin template functions: comparisons, `not`, `len`, `index`, `slice`, the print
//! family and the escapers. (`and`, `or` and `call` are evaluated in `exec`.)

use std::rc::Rc;

use super::exec::Env;
use super::gofmt;
use super::value::{BasicKind, UintKind, Value};

type Res = Result<Value, String>;

pub(crate) fn unreachable(_: &Env<'_>, _: Vec<Value>) -> Res {
    Err("unreachable".to_string())
}

/// Go's `indirectInterface`: a nil interface is "no value".
fn concrete(v: &Value) -> Value {
    match v {
        Value::Nil => Value::Invalid,
        v => v.clone(),
    }
}

pub(crate) fn not(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::Bool(!concrete(&a[0]).truth().unwrap_or(false)))
}

pub(crate) fn len(_: &Env<'_>, a: Vec<Value>) -> Res {
    let item = a[0].indirect();
    match &item {
        Value::Nil => Err("len of nil pointer".to_string()),
        Value::Invalid => Err("reflect: call of reflect.Value.Type on zero Value".to_string()),
        v => match v.len() {
            Some(n) => Ok(Value::int(n as i64)),
            None => Err(format!("len of type {}", deref_type(v))),
        },
    }
}

/// The type name after following a pointer, as Go's `indirect` leaves it.
fn deref_type(v: &Value) -> &'static str {
    match v {
        Value::Sample(_) => "template.sample",
        Value::Time(..) => "time.Time",
        Value::Duration(..) => "time.Duration",
        v => v.type_name(),
    }
}

/// An index argument: any integer within `0..=cap`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x: i128 = match index {
        Value::Int(..) | Value::Duration(_, false) | Value::Month(_) | Value::Weekday(_) => {
            index.int_value() as i128
        }
        Value::Uint(u, _) => *u as i64 as i128,
        Value::Invalid | Value::Nil => return Err("cannot index slice/array with nil".to_string()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ));
        }
    };
    if x < 0 || x > cap as i128 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

pub(crate) fn index(_: &Env<'_>, a: Vec<Value>) -> Res {
    let mut item = concrete(&a[0]);
    if let Value::Invalid = item {
        return Err("index of untyped nil".to_string());
    }
    for idx in &a[1..] {
        let idx = concrete(idx);
        item = match item.indirect() {
            Value::Nil => return Err("index of nil pointer".to_string()),
            Value::List(items, _) => {
                let x = index_arg(&idx, items.len())?;
                items
                    .get(x)
                    .cloned()
                    .ok_or_else(|| "reflect: slice index out of range".to_string())?
            }
            Value::Samples(items) => {
                let x = index_arg(&idx, items.len())?;
                Value::Sample(
                    items
                        .get(x)
                        .cloned()
                        .ok_or_else(|| "reflect: slice index out of range".to_string())?,
                )
            }
            Value::Str(s) | Value::Html(s) => {
                let x = index_arg(&idx, s.len())?;
                let b = s
                    .as_bytes()
                    .get(x)
                    .copied()
                    .ok_or_else(|| "reflect: string index out of range".to_string())?;
                Value::Uint(b as u64, UintKind::Uint8)
            }
            Value::StrMap(m) => {
                let key = map_key(&idx)?;
                Value::str(m.get(key).map_or("", String::as_str))
            }
            Value::AnyMap(m) => {
                let key = map_key(&idx)?;
                m.get(key).cloned().unwrap_or(Value::Nil)
            }
            v => return Err(format!("can't index item of type {}", deref_type(&v))),
        };
    }
    Ok(item)
}

/// A map key must be a string (Go's `prepareArg` for `map[string]...`).
fn map_key(v: &Value) -> Result<&str, String> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Invalid | Value::Nil => Err("value is nil; should be of type string".to_string()),
        v => Err(format!(
            "value has type {}; should be string",
            v.type_name()
        )),
    }
}

pub(crate) fn slice(_: &Env<'_>, a: Vec<Value>) -> Res {
    let item = concrete(&a[0]);
    if let Value::Invalid = item {
        return Err("slice of untyped nil".to_string());
    }
    let indexes = &a[1..];
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match &item {
        Value::Str(s) | Value::Html(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_string());
            }
            s.len()
        }
        Value::List(l, _) => l.len(),
        Value::Samples(l) => l.len(),
        v => return Err(format!("can't slice item of type {}", v.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, x) in indexes.iter().enumerate() {
        idx[i] = index_arg(&concrete(x), len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    let (lo, hi) = (idx[0], idx[1]);
    Ok(match item {
        Value::Str(s) => Value::str(String::from_utf8_lossy(&s.as_bytes()[lo..hi]).into_owned()),
        Value::Html(s) => Value::Html(String::from_utf8_lossy(&s.as_bytes()[lo..hi]).into()),
        Value::List(l, t) => Value::List(Rc::new(l[lo..hi].to_vec()), t),
        Value::Samples(l) => Value::Samples(Rc::new(l[lo..hi].to_vec())),
        v => v,
    })
}

pub(crate) fn print(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::str(gofmt::sprint(&a)))
}

pub(crate) fn println(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::str(gofmt::sprintln(&a)))
}

pub(crate) fn printf(_: &Env<'_>, a: Vec<Value>) -> Res {
    let format = a[0].as_str().unwrap_or("").to_string();
    Ok(Value::str(gofmt::sprintf(&format, &a[1..])))
}

/// `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if super::strconv::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

pub(crate) fn html(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::str(html_escape(&gofmt::eval_args(&a))))
}

pub(crate) fn js(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::str(js_escape(&gofmt::eval_args(&a))))
}

pub(crate) fn urlquery(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::str(super::funcs::query_escape(&gofmt::eval_args(
        &a,
    ))))
}

/// `a == b` by Go's template rules: basic kinds compare by value (any integer with any
/// integer), nil equals only nil, other kinds compare only if comparable.
fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (a.basic_kind(), b.basic_kind());
    if k1 != k2 {
        return match (k1, k2) {
            (BasicKind::Int, BasicKind::Uint) => {
                Ok(a.int_value() >= 0 && a.int_value() as u64 == uint(b))
            }
            (BasicKind::Uint, BasicKind::Int) => {
                Ok(b.int_value() >= 0 && uint(a) == b.int_value() as u64)
            }
            _ => {
                if !matches!(a, Value::Invalid) && !matches!(b, Value::Invalid) {
                    Err(format!(
                        "incompatible types for comparison: {} and {}",
                        a.type_name(),
                        b.type_name()
                    ))
                } else {
                    Ok(false)
                }
            }
        };
    }
    Ok(match k1 {
        BasicKind::Bool => matches!((a, b), (Value::Bool(x), Value::Bool(y)) if x == y),
        BasicKind::Complex => match (a, b) {
            (Value::Complex(r1, i1), Value::Complex(r2, i2)) => r1 == r2 && i1 == i2,
            _ => false,
        },
        BasicKind::Float => match (a, b) {
            (Value::Float(x), Value::Float(y)) => x == y,
            _ => false,
        },
        BasicKind::Int => a.int_value() == b.int_value(),
        BasicKind::Uint => uint(a) == uint(b),
        BasicKind::String => a.as_str() == b.as_str(),
        BasicKind::Invalid => {
            let a_nil = matches!(a, Value::Invalid);
            let b_nil = matches!(b, Value::Invalid);
            if a_nil || b_nil {
                return Ok(a_nil == b_nil);
            }
            if go_kind(a) != go_kind(b) {
                return Err(format!(
                    "non-comparable types {}: {}, {}: {}",
                    gofmt::sprintf("%s", std::slice::from_ref(a)),
                    a.type_name(),
                    b.type_name(),
                    gofmt::sprint(std::slice::from_ref(b))
                ));
            }
            match (a, b) {
                (Value::Sample(x), Value::Sample(y)) => Rc::ptr_eq(x, y),
                // Other pointers: distinct in Go unless they are the same pointer (`toTime` and
                // `toDuration` make a new one each call, so only a variable's own copy is).
                (Value::Sample(_) | Value::Time(_, true) | Value::Duration(_, true), _) => false,
                (Value::Time(x, false), Value::Time(y, false)) => x == y,
                _ => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        gofmt::sprintf("%s", std::slice::from_ref(b)),
                        b.type_name()
                    ));
                }
            }
        }
    })
}

/// Go's reflect kind of a value that is not a basic type.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::StrMap(_) | Value::AnyMap(_) => "map",
        Value::List(..) | Value::Samples(_) => "slice",
        Value::Sample(_) | Value::Time(_, true) | Value::Duration(_, true) => "ptr",
        Value::Alert(_) | Value::Time(_, false) => "struct",
        _ => "other",
    }
}

fn uint(v: &Value) -> u64 {
    match v {
        Value::Uint(u, _) => *u,
        _ => 0,
    }
}

pub(crate) fn eq(_: &Env<'_>, a: Vec<Value>) -> Res {
    let a1 = concrete(&a[0]);
    if a.len() < 2 {
        return Err("missing argument for comparison".to_string());
    }
    for b in &a[1..] {
        if equal(&a1, &concrete(b))? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

pub(crate) fn ne(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::Bool(!equal(&concrete(&a[0]), &concrete(&a[1]))?))
}

fn less(a: &Value, b: &Value) -> Result<bool, String> {
    let (a, b) = (concrete(a), concrete(b));
    let (k1, k2) = (a.basic_kind(), b.basic_kind());
    if k1 == BasicKind::Invalid || k2 == BasicKind::Invalid {
        return Err("invalid type for comparison".to_string());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (BasicKind::Int, BasicKind::Uint) => {
                Ok(a.int_value() < 0 || (a.int_value() as u64) < uint(&b))
            }
            (BasicKind::Uint, BasicKind::Int) => {
                Ok(b.int_value() >= 0 && uint(&a) < b.int_value() as u64)
            }
            _ => Err(format!(
                "incompatible types for comparison: {} and {}",
                a.type_name(),
                b.type_name()
            )),
        };
    }
    match k1 {
        BasicKind::Bool | BasicKind::Complex => Err("invalid type for comparison".to_string()),
        BasicKind::Float => match (&a, &b) {
            (Value::Float(x), Value::Float(y)) => Ok(x < y),
            _ => Ok(false),
        },
        BasicKind::Int => Ok(a.int_value() < b.int_value()),
        BasicKind::Uint => Ok(uint(&a) < uint(&b)),
        BasicKind::String => Ok(a.as_str() < b.as_str()),
        BasicKind::Invalid => Err("invalid type for comparison".to_string()),
    }
}

fn less_equal(a: &Value, b: &Value) -> Result<bool, String> {
    if less(a, b)? {
        return Ok(true);
    }
    equal(&concrete(a), &concrete(b))
}

pub(crate) fn lt(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::Bool(less(&a[0], &a[1])?))
}

pub(crate) fn le(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::Bool(less_equal(&a[0], &a[1])?))
}

pub(crate) fn gt(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::Bool(!less_equal(&a[0], &a[1])?))
}

pub(crate) fn ge(_: &Env<'_>, a: Vec<Value>) -> Res {
    Ok(Value::Bool(!less(&a[0], &a[1])?))
}
