//! The parser: items to a set of named trees, as Go's `text/template/parse` builds them.
//!
//! Errors read like Go's: `template: NAME:LINE: message`, where LINE is the line of the last
//! item read. Nesting is bounded ([`MAX_NESTING`]) so hostile input cannot exhaust the stack.

use std::collections::HashMap;

use super::lex::{Item, ItemType, lex};
use super::node::{Arg, Branch, Command, ListNode, Node, NumberNode, Pipe, VarNode};
use super::strconv;

/// Deepest nesting of parentheses and control structures the parser accepts. Go allows
/// 10,000 parentheses and any depth of `if`/`range`/`with`; rule templates rarely go past a
/// handful, and a recursive-descent parser must not run out of stack.
pub const MAX_NESTING: usize = 100;

/// One named template.
#[derive(Debug)]
pub(crate) struct Tree {
    pub name: String,
    pub root: ListNode,
}

/// All templates defined by one text: the top-level one (named `parse_name`) and those from
/// `{{define}}` and `{{block}}`.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub text: String,
    pub parse_name: String,
    pub trees: HashMap<String, Tree>,
}

impl Parsed {
    /// `NAME:LINE:COL` of a byte offset, as Go's ErrorContext gives it (COL is the byte
    /// offset within the line, counted from 0).
    pub fn location(&self, pos: usize) -> String {
        let before = &self.text[..pos.min(self.text.len())];
        let col = match before.rfind('\n') {
            None => pos,
            Some(nl) => pos - (nl + 1),
        };
        let line = 1 + before.matches('\n').count();
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

/// Parses `text` as the template `name`; `has_function` says which identifiers are functions.
pub(crate) fn parse(
    name: &str,
    text: &str,
    has_function: &dyn Fn(&str) -> bool,
) -> Result<Parsed, String> {
    let items = lex(text);
    let mut p = Parser {
        items,
        idx: 0,
        furthest: 0,
        name: name.to_string(),
        parse_name: name.to_string(),
        vars: vec!["$".to_string()],
        range_depth: 0,
        nesting: 0,
        action_line: 0,
        trees: HashMap::new(),
        has_function,
    };
    let root = p.parse_top()?;
    p.add(Tree {
        name: name.to_string(),
        root,
    })?;
    Ok(Parsed {
        text: text.to_string(),
        parse_name: name.to_string(),
        trees: p.trees,
    })
}

/// Whether a list holds nothing but white space.
fn is_empty_tree(list: &ListNode) -> bool {
    list.nodes.iter().all(|n| match n {
        Node::Text { text, .. } => text.trim().is_empty(),
        _ => false,
    })
}

/// What ended an item list.
enum End {
    End,
    Else,
}

struct Parser<'a, 'f> {
    items: Vec<Item<'a>>,
    idx: usize,
    /// Index of the last item taken from the lexer: its line is the one errors report.
    furthest: usize,
    /// Name of the template being parsed (changes inside `define` and `block`).
    name: String,
    /// Name of the top-level template, which errors name.
    parse_name: String,
    vars: Vec<String>,
    range_depth: usize,
    nesting: usize,
    action_line: usize,
    trees: HashMap<String, Tree>,
    has_function: &'f dyn Fn(&str) -> bool,
}

type PResult<T> = Result<T, String>;

impl<'a> Parser<'a, '_> {
    fn item(&self, i: usize) -> Item<'a> {
        let i = i.min(self.items.len() - 1);
        self.items[i].clone()
    }

    fn next(&mut self) -> Item<'a> {
        let it = self.item(self.idx);
        self.furthest = self.furthest.max(self.idx.min(self.items.len() - 1));
        self.idx += 1;
        it
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Item<'a> {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let it = self.next();
            if it.typ != ItemType::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn errorf<T>(&self, msg: impl std::fmt::Display) -> PResult<T> {
        let line = self.item(self.furthest).line;
        Err(format!("template: {}:{}: {}", self.top_name(), line, msg))
    }

    /// Errors always name the top-level template.
    fn top_name(&self) -> &str {
        &self.parse_name
    }

    fn unexpected<T>(&self, it: &Item<'_>, context: &str) -> PResult<T> {
        if it.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != it.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.top_name(),
                    self.action_line
                );
                if it.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{it}{extra}"));
        }
        self.errorf(format!("unexpected {it} in {context}"))
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item<'a>> {
        let it = self.next_non_space();
        if it.typ != typ {
            return self.unexpected(&it, context);
        }
        Ok(it)
    }

    fn add(&mut self, tree: Tree) -> PResult<()> {
        match self.trees.get(&tree.name) {
            Some(old) if !is_empty_tree(&old.root) => {
                if !is_empty_tree(&tree.root) {
                    return self.errorf(format!(
                        "template: multiple definition of template {}",
                        strconv::quote(&tree.name)
                    ));
                }
            }
            _ => {
                self.trees.insert(tree.name.clone(), tree);
            }
        }
        Ok(())
    }

    fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return self.errorf("max expression depth exceeded");
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    /// The top level: like an item list, but also accepts `{{define}}`, and runs to EOF.
    fn parse_top(&mut self) -> PResult<ListNode> {
        let mut root = ListNode::default();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = delim;
            }
            match self.text_or_action()? {
                Parsed1::Node(n) => root.nodes.push(n),
                Parsed1::End => return self.errorf("unexpected {{end}}"),
                Parsed1::Else => return self.errorf("unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    /// `{{define "name"}} ... {{end}}`; the `define` keyword has been read.
    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let it = self.next_non_space();
        if it.typ != ItemType::String && it.typ != ItemType::RawString {
            return self.unexpected(&it, CONTEXT);
        }
        let name = match strconv::unquote(&it.val) {
            Ok(s) => s,
            Err(e) => return self.errorf(e),
        };
        self.expect(ItemType::RightDelim, CONTEXT)?;
        let (name, root, end) = self.nested_tree(name)?;
        if let End::Else = end {
            return self.errorf(format!("unexpected {{{{else}}}} in {CONTEXT}"));
        }
        self.add(Tree { name, root })
    }

    /// The body of a nested template (define or block), parsed as Go parses a new tree:
    /// with fresh variables, range depth and action line.
    fn nested_tree(&mut self, name: String) -> PResult<(String, ListNode, End)> {
        self.enter()?;
        let old_name = std::mem::replace(&mut self.name, name);
        let old_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let old_depth = std::mem::replace(&mut self.range_depth, 0);
        let old_line = std::mem::replace(&mut self.action_line, 0);
        let result = self.item_list();
        let name = std::mem::replace(&mut self.name, old_name);
        self.vars = old_vars;
        self.range_depth = old_depth;
        self.action_line = old_line;
        self.leave();
        let (list, end) = result?;
        Ok((name, list, end))
    }

    /// Items up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(ListNode, End)> {
        let mut list = ListNode::default();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed1::Node(n) => list.nodes.push(n),
                Parsed1::End => return Ok((list, End::End)),
                Parsed1::Else => return Ok((list, End::Else)),
            }
        }
        self.errorf("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Parsed1> {
        let it = self.next_non_space();
        match it.typ {
            ItemType::Text => Ok(Parsed1::Node(Node::Text {
                pos: it.pos,
                text: it.val.into_owned(),
            })),
            ItemType::LeftDelim => {
                self.action_line = it.line;
                let r = self.action();
                if r.is_ok() {
                    self.action_line = 0;
                }
                r
            }
            _ => self.unexpected(&it, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed1> {
        let it = self.next_non_space();
        match it.typ {
            ItemType::Block => return self.block_control().map(Parsed1::Node),
            ItemType::Break => return self.break_or_continue("break").map(Parsed1::Node),
            ItemType::Continue => return self.break_or_continue("continue").map(Parsed1::Node),
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed1::End);
            }
            ItemType::If => return self.control("if").map(|b| Parsed1::Node(Node::If(b))),
            ItemType::Range => {
                return self.control("range").map(|b| Parsed1::Node(Node::Range(b)));
            }
            ItemType::Template => return self.template_control().map(Parsed1::Node),
            ItemType::With => return self.control("with").map(|b| Parsed1::Node(Node::With(b))),
            _ => {}
        }
        self.backup();
        let pos = self.peek().pos;
        // Variables declared here persist until the enclosing "end".
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed1::Node(Node::Action { pos, pipe }))
    }

    fn break_or_continue(&mut self, word: &str) -> PResult<Node> {
        let it = self.next_non_space();
        if it.typ != ItemType::RightDelim {
            return self.unexpected(&it, &format!("{{{{{word}}}}}"));
        }
        if self.range_depth == 0 {
            return self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}"));
        }
        Ok(if word == "break" {
            Node::Break
        } else {
            Node::Continue
        })
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations or assignments: "$x :=", "$x =", "$i, $e :=" (range only).
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let v_idx = self.idx;
            self.next();
            let next = self.peek_non_space();
            if next.typ == ItemType::Assign || next.typ == ItemType::Declare {
                pipe.is_assign = next.typ == ItemType::Assign;
                self.next_non_space();
                pipe.decl.push(VarNode {
                    pos: v.pos,
                    ident: vec![v.val.to_string()],
                });
                self.vars.push(v.val.to_string());
                break;
            } else if next.typ == ItemType::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(VarNode {
                    pos: v.pos,
                    ident: vec![v.val.to_string()],
                });
                self.vars.push(v.val.to_string());
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                            continue;
                        }
                        _ => return self.errorf("range can only initialize variables"),
                    }
                }
                return self.errorf(format!("too many declarations in {context}"));
            } else {
                // Not a declaration: put the variable back.
                self.idx = v_idx;
                break;
            }
        }
        loop {
            let it = self.next_non_space();
            match it.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&it, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if c.args[0].is_literal() {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    /// `if`, `range` and `with`: pipeline, list, optional else (or `else if` / `else with`).
    fn control(&mut self, context: &str) -> PResult<Branch> {
        self.enter()?;
        let vars = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(vars);
        self.leave();
        r
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, end) = listed?;
        let else_list = match end {
            End::End => None,
            End::Else => {
                let chained = match context {
                    "if" => self.peek().typ == ItemType::If,
                    "with" => self.peek().typ == ItemType::With,
                    _ => false,
                };
                if chained {
                    // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} with one {{end}}.
                    self.next();
                    let inner = self.control(context)?;
                    let node = if context == "if" {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    };
                    Some(ListNode { nodes: vec![node] })
                } else {
                    let (l, end) = self.item_list()?;
                    if let End::Else = end {
                        return self.errorf("expected end; found {{else}}");
                    }
                    Some(l)
                }
            }
        };
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn else_control(&mut self) -> PResult<Parsed1> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            // "{{else if" / "{{else with": leave the keyword for the enclosing control.
            return Ok(Parsed1::Else);
        }
        self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed1::Else)
    }

    /// `{{block "name" pipeline}} ... {{end}}`: defines the template and calls it.
    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemType::RightDelim)?;
        let (tname, root, end) = self.nested_tree(name.clone())?;
        if let End::Else = end {
            return self.errorf(format!("unexpected {{{{else}}}} in {CONTEXT}"));
        }
        self.add(Tree { name: tname, root })?;
        Ok(Node::Template {
            pos: it.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, CONTEXT)?;
        let pipe = if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            Some(self.pipeline(CONTEXT, ItemType::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template {
            pos: it.pos,
            name,
            pipe,
        })
    }

    fn template_name(&self, it: &Item<'_>, context: &str) -> PResult<String> {
        match it.typ {
            ItemType::String | ItemType::RawString => match strconv::unquote(&it.val) {
                Ok(s) => Ok(s),
                Err(e) => self.errorf(e),
            },
            _ => self.unexpected(it, context),
        }
    }

    /// Space-separated operands up to `|`, `)` or `}}`.
    fn command(&mut self) -> PResult<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let it = self.next();
            match it.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return self.unexpected(&it, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command");
        }
        Ok(cmd)
    }

    /// A term possibly followed by `.Field` accesses.
    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == ItemType::Field {
            let f = self.next();
            fields.push(f.val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { ident, .. } => {
                let mut ident = ident;
                ident.extend(fields);
                Arg::Field { pos, ident }
            }
            Arg::Variable(v) => {
                let mut ident = v.ident;
                ident.extend(fields);
                Arg::Variable(VarNode { pos, ident })
            }
            n @ (Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number(_)
            | Arg::Nil { .. }
            | Arg::Dot { .. }) => {
                return self.errorf(format!(
                    "unexpected . after term {}",
                    strconv::quote(&n.to_string())
                ));
            }
            n => Arg::Chain {
                pos,
                node: Box::new(n),
                field: fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let it = self.next_non_space();
        let pos = it.pos;
        Ok(Some(match it.typ {
            ItemType::Identifier => {
                if !(self.has_function)(&it.val) {
                    return self
                        .errorf(format!("function {} not defined", strconv::quote(&it.val)));
                }
                Arg::Identifier {
                    pos,
                    name: it.val.into_owned(),
                }
            }
            ItemType::Dot => Arg::Dot { pos },
            ItemType::Nil => Arg::Nil { pos },
            ItemType::Variable => {
                let ident: Vec<String> = it.val.split('.').map(str::to_string).collect();
                if !self.vars.iter().any(|v| *v == ident[0]) {
                    return self
                        .errorf(format!("undefined variable {}", strconv::quote(&ident[0])));
                }
                Arg::Variable(VarNode { pos, ident })
            }
            ItemType::Field => Arg::Field {
                pos,
                ident: it.val[1..].split('.').map(str::to_string).collect(),
            },
            ItemType::Bool => Arg::Bool {
                pos,
                val: it.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                match new_number(pos, &it.val, it.typ) {
                    Ok(n) => Arg::Number(n),
                    Err(e) => return self.errorf(e),
                }
            }
            ItemType::LeftParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", ItemType::RightParen);
                self.leave();
                Arg::Pipe(Box::new(p?))
            }
            ItemType::String | ItemType::RawString => match strconv::unquote(&it.val) {
                Ok(text) => Arg::String {
                    pos,
                    quoted: it.val.into_owned(),
                    text,
                },
                Err(e) => return self.errorf(e),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// What one text-or-action step produced.
enum Parsed1 {
    Node(Node),
    End,
    Else,
}

/// A number literal under every Go type that can hold it, as Go's parser stores it.
fn new_number(pos: usize, text: &str, typ: ItemType) -> Result<NumberNode, String> {
    let mut n = NumberNode {
        pos,
        is_int: false,
        is_uint: false,
        is_float: false,
        is_complex: false,
        int: 0,
        uint: 0,
        float: 0.0,
        complex: (0.0, 0.0),
        text: text.to_string(),
    };
    match typ {
        ItemType::CharConstant => {
            let inner = &text[1..];
            let (c, tail) = strconv::unquote_char(inner, '\'').map_err(|e| e.to_string())?;
            if tail != "'" {
                return Err(format!("malformed character constant: {text}"));
            }
            n.is_int = true;
            n.is_uint = true;
            n.is_float = true;
            n.int = c as i64;
            n.uint = c as u64;
            n.float = c as i64 as f64;
            return Ok(n);
        }
        ItemType::Complex => {
            let (re, im) = strconv::parse_complex(text).ok_or_else(|| {
                format!(
                    "strconv.ParseComplex: parsing {}: invalid syntax",
                    strconv::quote(text)
                )
            })?;
            n.is_complex = true;
            n.complex = (re, im);
            simplify_complex(&mut n);
            return Ok(n);
        }
        _ => {}
    }
    if let Some(imag) = text.strip_suffix('i')
        && let Some(f) = strconv::parse_float_literal(imag)
    {
        n.is_complex = true;
        n.complex = (0.0, f);
        simplify_complex(&mut n);
        return Ok(n);
    }
    let u = strconv::parse_uint_literal(text);
    if let Some(u) = u {
        n.is_uint = true;
        n.uint = u;
    }
    if let Some(i) = strconv::parse_int_literal(text) {
        n.is_int = true;
        n.int = i;
        if i == 0 {
            n.is_uint = true; // "-0"
            n.uint = 0;
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(f) = strconv::parse_float_literal(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", strconv::quote(text)));
        }
        n.is_float = true;
        n.float = f;
        if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
            n.is_int = true;
            n.int = f as i64;
        }
        if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
            n.is_uint = true;
            n.uint = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {}", strconv::quote(text)));
    }
    Ok(n)
}

fn simplify_complex(n: &mut NumberNode) {
    let (re, im) = n.complex;
    n.is_float = im == 0.0;
    if n.is_float {
        n.float = re;
        n.is_int = re.fract() == 0.0
            && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&re);
        if n.is_int {
            n.int = re as i64;
        }
        n.is_uint = re.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&re);
        if n.is_uint {
            n.uint = re as u64;
        }
    }
}
