//! Execution: walks a parsed template over data, as Go's `text/template` does.
//!
//! The structure follows Go's `exec.go` closely, including which node an error is reported
//! at (`executing "x" at <node>`), because that is what users see. Execution is bounded: a
//! step budget, a cap on output and on any string a function returns, and a template call
//! depth, each ending execution with an error instead of hanging or exhausting memory.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Display};
use std::rc::Rc;

use super::funcs::{self, Callee, Ty};
use super::gofmt;
use super::node::{Arg, Branch, Command, ListNode, Node, NumberNode, Pipe, VarNode};
use super::parse::Parsed;
use super::value::{IntKind, Value};

/// Most bytes a template may write, and most bytes of one string a function may return.
pub const MAX_OUTPUT: usize = 1 << 20;
/// Most nested `{{template}}` calls (Go allows 100,000; a Rust stack does not).
pub const MAX_TEMPLATE_DEPTH: usize = 100;
/// Most nodes walked, commands run and range iterations taken by one execution.
pub const MAX_STEPS: u64 = 1_000_000;
/// Most nested template calls, control structures and pipelines at once, across templates:
/// each costs up to a few kilobytes of stack (unoptimized), and a tokio worker has 2 MiB.
pub const MAX_EXEC_NESTING: usize = 200;

/// What functions may use besides their arguments.
pub(crate) struct Env<'a> {
    /// Evaluation time (ms since the epoch): `now` and `query` use it.
    pub t_ms: i64,
    /// The external URL, for `externalURL` and `pathPrefix`.
    pub external_url: &'a str,
    pub query: Option<&'a dyn crate::QueryEngine>,
    /// Compiled regular expressions, by pattern, for `match` and `reReplaceAll`.
    pub regexes: RefCell<HashMap<String, Rc<regex::Regex>>>,
}

/// Why a walk stopped early: an error, or `{{break}}`/`{{continue}}` on their way to the
/// enclosing `range`.
pub(crate) enum Flow {
    Err(String),
    Break,
    Continue,
}

type R<T> = Result<T, Flow>;

/// The node execution is at, for error messages.
#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Command(&'a Command),
    Arg(&'a Arg),
    Var(&'a VarNode),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::None => 0,
            At::Node(n) => match n {
                Node::Action { pos, .. } | Node::Template { pos, .. } | Node::Text { pos, .. } => {
                    *pos
                }
                Node::If(b) | Node::Range(b) | Node::With(b) => b.pipe.pos,
                Node::Break | Node::Continue => 0,
            },
            At::Pipe(p) => p.pos,
            At::Command(c) => c.pos,
            At::Arg(a) => a.pos(),
            At::Var(v) => v.pos,
        }
    }
}

impl Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::None => Ok(()),
            At::Node(n) => write!(f, "{n}"),
            At::Pipe(p) => write!(f, "{p}"),
            At::Command(c) => write!(f, "{c}"),
            At::Arg(a) => write!(f, "{a}"),
            At::Var(v) => write!(f, "{v}"),
        }
    }
}

struct State<'a, 'e> {
    parsed: &'a Parsed,
    /// Name of the template executing now.
    tmpl: &'a str,
    node: At<'a>,
    vars: Vec<(&'a str, Value)>,
    depth: usize,
    nesting: usize,
    out: String,
    steps: u64,
    env: &'e Env<'e>,
}

/// Runs the template `name` of `parsed` with `data` as dot.
pub(crate) fn execute(
    parsed: &Parsed,
    name: &str,
    data: Value,
    env: &Env<'_>,
) -> Result<String, String> {
    let mut s = State {
        parsed,
        tmpl: name,
        node: At::None,
        vars: vec![("$", data.clone())],
        depth: 0,
        nesting: 0,
        out: String::new(),
        steps: 0,
        env,
    };
    let Some(tree) = parsed.trees.get(name) else {
        return Err(format!(
            "template: {name}: {} is an incomplete or empty template",
            gofmt::quote(name)
        ));
    };
    match s.walk_list(&data, &tree.root) {
        Ok(()) => Ok(s.out),
        Err(Flow::Err(e)) => Err(e),
        Err(Flow::Break | Flow::Continue) => Err(s.error_text("break or continue outside range")),
    }
}

/// Go drops a nil interface to "no value" between pipeline stages.
fn dig(v: Value) -> Value {
    match v {
        Value::Nil => Value::Invalid,
        v => v,
    }
}

impl<'a> State<'a, '_> {
    fn at(&mut self, at: At<'a>) {
        self.node = at;
    }

    fn error_text(&self, msg: impl Display) -> String {
        let name = gofmt::quote(self.tmpl);
        match self.node {
            At::None => format!("template: {}: {msg}", self.tmpl),
            at => format!(
                "template: {}: executing {name} at <{at}>: {msg}",
                self.parsed.location(at.pos())
            ),
        }
    }

    fn errorf(&self, msg: impl Display) -> Flow {
        Flow::Err(self.error_text(msg))
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.errorf(format!("execution exceeds {MAX_STEPS} steps")));
        }
        Ok(())
    }

    fn enter(&mut self) -> R<()> {
        if self.nesting >= MAX_EXEC_NESTING {
            return Err(self.errorf(format!(
                "exceeded maximum nesting depth ({MAX_EXEC_NESTING})"
            )));
        }
        self.nesting += 1;
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > MAX_OUTPUT {
            return Err(self.errorf(format!("output exceeds {MAX_OUTPUT} bytes")));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn var_value(&self, name: &str) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, value: Value) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn walk_list(&mut self, dot: &Value, list: &'a ListNode) -> R<()> {
        for n in &list.nodes {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> R<()> {
        self.step()?;
        self.at(At::Node(node));
        match node {
            Node::Text { text, .. } => self.write(text),
            Node::Action { pipe, .. } => {
                // Variables declared here stay until the enclosing end.
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(node, &val)?;
                }
                Ok(())
            }
            Node::If(b) => self.walk_if_or_with(false, dot, b),
            Node::With(b) => self.walk_if_or_with(true, dot, b),
            Node::Range(b) => self.walk_range(dot, node, b),
            Node::Template { name, pipe, .. } => self.walk_template(dot, node, name, pipe.as_ref()),
            Node::Break => Err(Flow::Break),
            Node::Continue => Err(Flow::Continue),
        }
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Value, b: &'a Branch) -> R<()> {
        self.enter()?;
        let mark = self.vars.len();
        let r = self.if_or_with(with, dot, b);
        self.vars.truncate(mark);
        self.nesting -= 1;
        r
    }

    fn if_or_with(&mut self, with: bool, dot: &Value, b: &'a Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let Some(truth) = val.truth() else {
            return Err(self.errorf(format!("if/with can't use {}", gofmt::sprint(&[val]))));
        };
        if truth {
            if with {
                self.walk_list(&val, &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(())
        }
    }

    fn walk_range(&mut self, dot: &Value, node: &'a Node, b: &'a Branch) -> R<()> {
        self.at(At::Node(node));
        self.enter()?;
        let mark0 = self.vars.len();
        let r = self.range(dot, b);
        self.vars.truncate(mark0);
        self.nesting -= 1;
        r
    }

    /// One iteration; `Ok(false)` when `{{break}}` ended the loop.
    fn iteration(&mut self, b: &'a Branch, mark: usize, index: Value, elem: Value) -> R<bool> {
        self.step()?;
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                let v = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(&decl[0].ident[0], v)?;
            } else {
                let top = self.vars.len() - 1;
                self.vars[top].1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1].ident[0], elem.clone())?;
            } else {
                let second = self.vars.len() - 2;
                self.vars[second].1 = index;
            }
        }
        let r = self.walk_list(&elem, &b.list);
        self.vars.truncate(mark);
        match r {
            Ok(()) | Err(Flow::Continue) => Ok(true),
            Err(Flow::Break) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn range(&mut self, dot: &Value, b: &'a Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?.indirect();
        let mark = self.vars.len();
        let ran = match &val {
            Value::Int(..)
            | Value::Uint(..)
            | Value::Duration(..)
            | Value::Month(_)
            | Value::Weekday(_) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        gofmt::sprint(std::slice::from_ref(&val))
                    )));
                }
                let n: u64 = match &val {
                    Value::Uint(u, _) => *u,
                    v => v.int_value().max(0) as u64,
                };
                for i in 0..n {
                    let elem = match &val {
                        Value::Uint(_, k) => Value::Uint(i, *k),
                        Value::Int(_, k) => Value::Int(i as i64, *k),
                        Value::Duration(..) => Value::Duration(i as i64, false),
                        Value::Month(_) => Value::Month(i as i64),
                        _ => Value::Weekday(i as i64),
                    };
                    if !self.iteration(b, mark, Value::Invalid, elem)? {
                        break;
                    }
                }
                n > 0
            }
            Value::List(items, _) => {
                for (i, e) in items.iter().enumerate() {
                    if !self.iteration(b, mark, Value::int(i as i64), e.clone())? {
                        break;
                    }
                }
                !items.is_empty()
            }
            Value::Samples(items) => {
                for (i, e) in items.iter().enumerate() {
                    if !self.iteration(b, mark, Value::int(i as i64), Value::Sample(e.clone()))? {
                        break;
                    }
                }
                !items.is_empty()
            }
            Value::StrMap(m) => {
                for (k, v) in m.iter() {
                    if !self.iteration(b, mark, Value::str(k.as_str()), Value::str(v.as_str()))? {
                        break;
                    }
                }
                !m.is_empty()
            }
            Value::AnyMap(m) => {
                for (k, v) in m.iter() {
                    if !self.iteration(b, mark, Value::str(k.as_str()), v.clone())? {
                        break;
                    }
                }
                !m.is_empty()
            }
            Value::Invalid | Value::Nil => false,
            v => {
                return Err(self.errorf(format!(
                    "range can't iterate over {}",
                    gofmt::sprint_printable(v)
                )));
            }
        };
        if !ran && let Some(e) = &b.else_list {
            return self.walk_list(dot, e);
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        node: &'a Node,
        name: &'a str,
        pipe: Option<&'a Pipe>,
    ) -> R<()> {
        self.at(At::Node(node));
        let Some(tree) = self.parsed.trees.get(name) else {
            return Err(self.errorf(format!("template {} not defined", gofmt::quote(name))));
        };
        if self.depth >= MAX_TEMPLATE_DEPTH {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
            )));
        }
        // Variables declared by the pipeline persist in the caller.
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Invalid,
        };
        // No dynamic scoping: the called template sees only $.
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let saved_tmpl = std::mem::replace(&mut self.tmpl, name);
        self.depth += 1;
        let r = self.enter().and_then(|()| {
            let r = self.walk_list(&new_dot, &tree.root);
            self.nesting -= 1;
            r
        });
        self.depth -= 1;
        self.tmpl = saved_tmpl;
        self.vars = saved_vars;
        match r {
            Err(Flow::Break | Flow::Continue) => {
                Err(self.errorf("break or continue outside range"))
            }
            r => r,
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        self.at(At::Pipe(pipe));
        self.enter()?;
        let r = self.pipeline(dot, pipe);
        self.nesting -= 1;
        r
    }

    fn pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(dig(v));
        }
        let value = value.unwrap_or(Value::Invalid);
        for v in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&v.ident[0], value.clone())?;
            } else {
                self.vars.push((&v.ident[0], value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: Option<&[Arg]>, final_: &Option<Value>) -> R<()> {
        let args = args.unwrap_or(&[]);
        if args.len() > 1 || final_.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, final_: Option<Value>) -> R<Value> {
        self.step()?;
        let first = &cmd.args[0];
        let args = Some(cmd.args.as_slice());
        match first {
            Arg::Field { .. } => return self.eval_field_node(dot, first, args, final_),
            Arg::Chain { .. } => return self.eval_chain_node(dot, first, args, final_),
            Arg::Identifier { .. } => {
                return self.eval_function(dot, first, At::Command(cmd), args, final_);
            }
            Arg::Pipe(p) => {
                // The arguments are inside the parentheses; nothing may follow.
                self.not_a_function(args, &final_)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable(v) => return self.eval_variable_node(dot, v, args, final_),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(args, &final_)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
            Arg::Number(n) => self.ideal_constant(first, n),
            Arg::String { text, .. } => Ok(Value::str(text.as_str())),
            _ => Err(self.errorf(format!(
                "can't evaluate command {}",
                gofmt::quote(&first.to_string())
            ))),
        }
    }

    /// A number whose type only its syntax tells: float if it looks like one, else int.
    fn ideal_constant(&mut self, arg: &'a Arg, n: &NumberNode) -> R<Value> {
        self.at(At::Arg(arg));
        let t = &n.text;
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        if n.is_complex {
            return Ok(Value::Complex(n.complex.0, n.complex.1));
        }
        if n.is_float
            && !is_hex_int
            && !t.starts_with('\'')
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int, IntKind::Int));
        }
        if n.is_uint {
            return Err(self.errorf(format!("{t} overflows int")));
        }
        Ok(Value::Invalid)
    }

    fn eval_field_node(
        &mut self,
        dot: &Value,
        field: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(field));
        let Arg::Field { ident, .. } = field else {
            return Ok(Value::Invalid);
        };
        self.eval_field_chain(dot, dot.clone(), At::Arg(field), ident, args, final_)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Value,
        chain: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(chain));
        let Arg::Chain { node, field, .. } = chain else {
            return Ok(Value::Invalid);
        };
        if let Arg::Nil { .. } = node.as_ref() {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let pipe = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, pipe, At::Arg(chain), field, args, final_)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Value,
        var: &'a VarNode,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(At::Var(var));
        let value = self.var_value(&var.ident[0])?;
        if var.ident.len() == 1 {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, At::Var(var), &var.ident[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        node: At<'a>,
        ident: &'a [String],
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Value> {
        let n = ident.len();
        // Whether the receiver came out of an `interface{}` slot, which Go names in errors.
        let mut iface = false;
        for id in &ident[..n - 1] {
            let next_iface = matches!(
                (&receiver, id.as_str()),
                (Value::Alert(_) | Value::Sample(_), "Value") | (Value::AnyMap(_), _)
            );
            receiver = self.eval_field(dot, id, node, None, None, receiver, iface)?;
            iface = next_iface;
        }
        self.eval_field(dot, &ident[n - 1], node, args, final_, receiver, iface)
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        ident: &'a Arg,
        node: At<'a>,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(ident));
        let Arg::Identifier { name, .. } = ident else {
            return Ok(Value::Invalid);
        };
        let Some(def) = funcs::lookup(name) else {
            return Err(self.errorf(format!("{} is not a defined function", gofmt::quote(name))));
        };
        self.eval_call(dot, Callee::Func(def), node, name, args, final_)
    }

    /// `.Name` on `receiver`: a method, a struct field or a map key.
    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &'a str,
        node: At<'a>,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
        receiver: Value,
        iface: bool,
    ) -> R<Value> {
        if let Value::Invalid = receiver {
            return Ok(Value::Invalid); // Prometheus runs with missingkey=zero.
        }
        let typ = if iface {
            "interface {}"
        } else {
            receiver.type_name()
        };
        if let Value::Nil = receiver {
            return Err(self.errorf(format!("nil pointer evaluating {typ}.{name}")));
        }
        if let Some(m) = funcs::method(&receiver, name) {
            return self.eval_call(dot, Callee::Method(m, receiver), node, name, args, final_);
        }
        let has_args = args.is_some_and(|a| a.len() > 1) || final_.is_some();
        let field = match &receiver {
            Value::Alert(a) => match name {
                "Labels" => Some(Value::StrMap(a.labels.clone())),
                "ExternalLabels" => Some(Value::StrMap(a.external_labels.clone())),
                "ExternalURL" => Some(Value::Str(a.external_url.clone())),
                "Value" => Some(Value::Float(a.value)),
                _ => None,
            },
            Value::Sample(s) => match name {
                "Labels" => Some(Value::StrMap(s.labels.clone())),
                "Value" => Some(Value::Float(s.value)),
                _ => None,
            },
            Value::StrMap(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                return Ok(Value::str(m.get(name).map_or("", String::as_str)));
            }
            Value::AnyMap(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                return Ok(m.get(name).cloned().unwrap_or(Value::Nil));
            }
            _ => None,
        };
        match field {
            Some(_) if has_args => Err(self.errorf(format!(
                "{name} has arguments but cannot be invoked as function"
            ))),
            Some(v) => Ok(v),
            None => Err(self.errorf(format!("can't evaluate field {name} in type {typ}"))),
        }
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        callee: Callee,
        node: At<'a>,
        name: &str,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Value> {
        let args: &'a [Arg] = args.map_or(&[], |a| &a[1..]);
        let (params, variadic) = callee.signature();
        let num_in = args.len() + usize::from(final_.is_some());
        let mut num_fixed = args.len();
        if variadic.is_some() {
            num_fixed = params.len();
            if num_in < num_fixed {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    params.len(),
                    args.len()
                )));
            }
        } else if num_in != params.len() {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                params.len()
            )));
        }
        let is_builtin = matches!(&callee, Callee::Func(d) if d.builtin);
        if is_builtin && (name == "and" || name == "or") {
            // Short-circuit: return the first argument that decides.
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, Some(Ty::Reflect), a)?;
                if v.truth().unwrap_or(false) == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = self.validate_type(f, Some(Ty::Reflect))?;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, Some(params[i]), &args[i])?);
            i += 1;
        }
        if let Some(vt) = variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(vt), &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = final_ {
            let t = match variadic {
                Some(vt) if num_in > num_fixed => vt,
                _ => params[num_in - 1],
            };
            argv.push(self.validate_type(f, Some(t))?);
        }
        if is_builtin && name == "call" {
            let callee_name = match args.first() {
                Some(a) => a.to_string(),
                None => format!("<{} Value>", argv[0].type_name()),
            };
            self.at(node);
            let msg = match &argv[0] {
                Value::Invalid | Value::Nil => "call of nil".to_string(),
                v => format!("non-function {callee_name} of type {}", v.type_name()),
            };
            return Err(self.errorf(format!("error calling call: {msg}")));
        }
        match callee.call(self.env, argv) {
            Ok(v) => {
                if v.as_str().is_some_and(|s| s.len() > MAX_OUTPUT) {
                    self.at(node);
                    return Err(self.errorf(format!(
                        "error calling {name}: result exceeds {MAX_OUTPUT} bytes"
                    )));
                }
                Ok(v)
            }
            Err(e) => {
                self.at(node);
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
        }
    }

    /// Checks that `value` can be passed as `ty` (`None`: any), dereferencing a pointer once
    /// and turning "no value" into the type's nil where it has one.
    fn validate_type(&mut self, value: Value, ty: Option<Ty>) -> R<Value> {
        let Some(ty) = ty else { return Ok(value) };
        if let Value::Invalid = value {
            return match ty.zero() {
                Some(z) => Ok(z),
                None => Err(self.errorf(format!("invalid value; expected {}", ty.name()))),
            };
        }
        match ty.accept(value) {
            Ok(v) => Ok(v),
            Err(v) => Err(self.errorf(format!(
                "wrong type for value; expected {}; got {}",
                ty.name(),
                v.type_name()
            ))),
        }
    }

    fn eval_arg(&mut self, dot: &Value, ty: Option<Ty>, arg: &'a Arg) -> R<Value> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), ty),
            Arg::Nil { .. } => {
                return match ty.and_then(|t| t.zero()) {
                    Some(z) => Ok(z),
                    None => Err(self.errorf(format!(
                        "cannot assign nil to {}",
                        ty.map_or("<nil>", |t| t.name())
                    ))),
                };
            }
            Arg::Field { .. } => {
                let v = self.eval_field_node(dot, arg, Some(std::slice::from_ref(arg)), None)?;
                return self.validate_type(v, ty);
            }
            Arg::Variable(v) => {
                let v = self.eval_variable_node(dot, v, None, None)?;
                return self.validate_type(v, ty);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(v, ty);
            }
            Arg::Identifier { .. } => {
                let v = self.eval_function(dot, arg, At::Arg(arg), None, None)?;
                return self.validate_type(v, ty);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain_node(dot, arg, None, None)?;
                return self.validate_type(v, ty);
            }
            _ => {}
        }
        match (ty, arg) {
            (Some(Ty::Int), Arg::Number(n)) if n.is_int => Ok(Value::Int(n.int, IntKind::Int)),
            (Some(Ty::Duration), Arg::Number(n)) if n.is_int => Ok(Value::Duration(n.int, false)),
            (Some(Ty::Int | Ty::Duration), _) => {
                Err(self.errorf(format!("expected integer; found {arg}")))
            }
            (Some(Ty::String), Arg::String { text, .. }) => Ok(Value::str(text.as_str())),
            (Some(Ty::String), _) => Err(self.errorf(format!("expected string; found {arg}"))),
            (Some(Ty::Any | Ty::Reflect), _) => self.eval_empty_interface(dot, arg),
            (ty, _) => Err(self.errorf(format!(
                "can't handle {arg} for arg of type {}",
                ty.map_or("<nil>", |t| t.name())
            ))),
        }
    }

    fn eval_empty_interface(&mut self, dot: &Value, arg: &'a Arg) -> R<Value> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Field { .. } => self.eval_field_node(dot, arg, None, None),
            Arg::Identifier { .. } => self.eval_function(dot, arg, At::Arg(arg), None, None),
            Arg::Nil { .. } => Err(self.errorf("evalEmptyInterface: nil (can't happen)")),
            Arg::Number(n) => self.ideal_constant(arg, n),
            Arg::String { text, .. } => Ok(Value::str(text.as_str())),
            Arg::Variable(v) => self.eval_variable_node(dot, v, None, None),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Chain { .. } => Err(self.errorf(format!(
                "can't handle assignment of {arg} to empty interface argument"
            ))),
        }
    }

    fn print_value(&mut self, node: &'a Node, v: &Value) -> R<()> {
        self.at(At::Node(node));
        let s = gofmt::sprint_printable(v);
        self.write(&s)
    }
}
