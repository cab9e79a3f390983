//! Go's `fmt` printing (`Sprint`, `Sprintln`, `Sprintf`) over template values.
//!
//! Verbs, flags, widths, precisions, `*` and `[n]` argument indexes follow Go, including its
//! error forms (`%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA int=1)`, `%!(NOVERB)`). Types with a
//! `String` method (times, durations, months, weekdays) print through it for `%v %s %q %x
//! %X`. Go prints pointers inside containers as addresses; here a sample inside a query result
//! prints as `&{labels value}` instead.

use super::gotime::{self, GoTime};
use super::strconv::{self, format_float};
use super::value::{ALERT_TYPE, AlertValue, IntKind, SampleValue, UintKind, Value};

pub(crate) use super::strconv::quote;

/// `%#U` of a rune: `U+0041 'A'` (the quoted form only when printable).
pub(crate) fn unicode_sharp(c: char) -> String {
    if strconv::is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// `fmt.Sprint`: operands separated by a space when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.is_string_kind();
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// `fmt.Sprintln`: operands always separated by a space, then a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.buf
}

#[derive(Default, Clone, Copy)]
struct Flags {
    wid_present: bool,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: usize,
    prec: usize,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
    erroring: bool,
    good_arg_num: bool,
    reordered: bool,
}

const MAX_WIDTH: usize = 1_000_000;

/// Digits at `s[start..]`: the number, whether there was one, the index after it.
fn parse_num(s: &[u8], start: usize) -> (usize, bool, usize) {
    let mut num = 0usize;
    let mut isnum = false;
    let mut i = start;
    while i < s.len() && s[i].is_ascii_digit() {
        if num > MAX_WIDTH {
            return (0, false, s.len()); // Overflow: give up on the rest.
        }
        num = num * 10 + (s[i] - b'0') as usize;
        isnum = true;
        i += 1;
    }
    (num, isnum, i)
}

/// An integer argument for `*` width or precision.
fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    if arg_num >= args.len() {
        return (0, false, arg_num);
    }
    let (n, ok) = match &args[arg_num] {
        Value::Int(i, _) => (*i, true),
        Value::Duration(i, false) | Value::Month(i) | Value::Weekday(i) => (*i, true),
        Value::Uint(u, _) => match i64::try_from(*u) {
            Ok(i) => (i, true),
            Err(_) => (0, false),
        },
        _ => (0, false),
    };
    if n.unsigned_abs() > MAX_WIDTH as u64 {
        return (0, false, arg_num + 1);
    }
    (n, ok, arg_num + 1)
}

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    fn pad(&mut self, s: &str) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.push_str(s);
            return;
        }
        let width = self.f.wid.saturating_sub(s.chars().count());
        if !self.f.minus {
            self.write_padding(width);
            self.buf.push_str(s);
        } else {
            self.buf.push_str(s);
            self.write_padding(width);
        }
    }

    fn fmt_boolean(&mut self, v: bool) {
        self.pad(if v { "true" } else { "false" });
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if self.f.prec_present
            && let Some((i, _)) = s.char_indices().nth(self.f.prec)
        {
            return &s[..i];
        }
        s
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s).to_string();
        self.pad(&s);
    }

    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let digits: &[u8] = if upper {
            b"0123456789ABCDEFX"
        } else {
            b"0123456789abcdefx"
        };
        let b = s.as_bytes();
        let mut length = b.len();
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding(self.f.wid - width);
        }
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(digits[16] as char);
        }
        for (i, &c) in b[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(digits[16] as char);
                }
            }
            self.buf.push(digits[(c >> 4) as usize] as char);
            self.buf.push(digits[(c & 0xf) as usize] as char);
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding(self.f.wid - width);
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s).to_string();
        if self.f.sharp && strconv::can_backquote(&s) {
            self.pad(&format!("`{s}`"));
            return;
        }
        let q = if self.f.plus {
            strconv::quote_ascii(&s)
        } else {
            strconv::quote(&s)
        };
        self.pad(&q);
    }

    fn rune_of(u: u64) -> char {
        u32::try_from(u)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}')
    }

    fn fmt_c(&mut self, u: u64) {
        let c = Self::rune_of(u);
        self.pad(&c.to_string());
    }

    fn fmt_qc(&mut self, u: u64) {
        let c = Self::rune_of(u);
        let q = strconv::quote_rune(c, self.f.plus);
        self.pad(&q);
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut prec = 4;
        if self.f.prec_present && self.f.prec > 4 {
            prec = self.f.prec;
        }
        let mut s = format!("U+{u:0prec$X}");
        if self.f.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && strconv::is_print(c)
        {
            s.push_str(&format!(" '{c}'"));
        }
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn fmt_integer(&mut self, u: u64, base: u32, signed: bool, verb: char, upper: bool) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let digits: &[u8] = if upper {
            b"0123456789ABCDEFX"
        } else {
            b"0123456789abcdefx"
        };
        let mut prec = 0usize;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            out.push(digits[(u % base as u64) as usize]);
            u /= base as u64;
            if u == 0 {
                break;
            }
        }
        while out.len() < prec {
            out.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => out.extend_from_slice(b"b0"),
                8 if out.last() != Some(&b'0') => {
                    out.push(b'0');
                }
                16 => {
                    out.push(digits[16]);
                    out.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            out.extend_from_slice(b"o0");
        }
        if negative {
            out.push(b'-');
        } else if self.f.plus {
            out.push(b'+');
        } else if self.f.space {
            out.push(b' ');
        }
        out.reverse();
        let s = String::from_utf8(out).unwrap_or_default();
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    /// `fmt.fmtFloat`: sign, flags, `#` and zero padding around strconv's digits.
    fn fmt_float_raw(&mut self, v: f64, verb: char, prec: i32) {
        let prec = if self.f.prec_present {
            self.f.prec as i32
        } else {
            prec
        };
        let mut num = format_float(v, verb, prec);
        if !num.starts_with(['-', '+']) {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        let second = num.as_bytes().get(1).copied();
        if second == Some(b'I') || second == Some(b'N') {
            let old = self.f.zero;
            self.f.zero = false;
            if second == Some(b'N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old;
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i32 = 0;
            if matches!(verb, 'v' | 'g' | 'G' | 'x') {
                digits = prec;
                if digits == -1 {
                    digits = 6;
                }
            }
            let mut tail = String::new();
            let mut body: String = num[..1].to_string();
            let mut has_point = false;
            let mut saw_nonzero = false;
            let rest: Vec<char> = num[1..].chars().collect();
            let mut i = 0;
            while i < rest.len() {
                let c = rest[i];
                match c {
                    '.' => {
                        has_point = true;
                        body.push(c);
                    }
                    'p' | 'P' => {
                        tail = rest[i..].iter().collect();
                        break;
                    }
                    'e' | 'E' if verb != 'x' && verb != 'X' => {
                        tail = rest[i..].iter().collect();
                        break;
                    }
                    _ => {
                        if c != '0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                        body.push(c);
                    }
                }
                i += 1;
            }
            if !has_point {
                if body.len() == 2 && body.ends_with('0') {
                    digits -= 1;
                }
                body.push('.');
            }
            while digits > 0 {
                body.push('0');
                digits -= 1;
            }
            body.push_str(&tail);
            num = body;
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero && self.f.wid_present && self.f.wid > num.chars().count() {
                let sign = num.remove(0);
                self.buf.push(sign);
                let n = self.f.wid - num.chars().count() - 1;
                self.write_padding(n);
                self.buf.push_str(&num);
                return;
            }
            self.pad(&num);
            return;
        }
        let unsigned = num[1..].to_string();
        self.pad(&unsigned);
    }

    fn fmt_float(&mut self, v: f64, verb: char) {
        match verb {
            'v' => self.fmt_float_raw(v, 'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float_raw(v, verb, -1),
            'f' | 'e' | 'E' => self.fmt_float_raw(v, verb, 6),
            'F' => self.fmt_float_raw(v, 'f', 6),
            _ => self.bad_verb(verb, Some(&Value::Float(v))),
        }
    }

    fn fmt_complex(&mut self, re: f64, im: f64, verb: char) {
        if !matches!(
            verb,
            'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E'
        ) {
            self.bad_verb(verb, Some(&Value::Complex(re, im)));
            return;
        }
        let old_plus = self.f.plus;
        self.buf.push('(');
        self.fmt_float(re, verb);
        self.f.plus = true;
        self.fmt_float(im, verb);
        self.buf.push_str("i)");
        self.f.plus = old_plus;
    }

    fn fmt_int_verb(&mut self, u: u64, signed: bool, verb: char, v: &Value) {
        match verb {
            'v' => {
                if self.f.sharp_v && !signed {
                    let old = self.f.sharp;
                    self.f.sharp = true;
                    self.fmt_integer(u, 16, false, 'v', false);
                    self.f.sharp = old;
                } else {
                    self.fmt_integer(u, 10, signed, verb, false);
                }
            }
            'd' => self.fmt_integer(u, 10, signed, verb, false),
            'b' => self.fmt_integer(u, 2, signed, verb, false),
            'o' | 'O' => self.fmt_integer(u, 8, signed, verb, false),
            'x' => self.fmt_integer(u, 16, signed, verb, false),
            'X' => self.fmt_integer(u, 16, signed, verb, true),
            'c' => self.fmt_c(u),
            'q' => self.fmt_qc(u),
            'U' => self.fmt_unicode(u),
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        match verb {
            'v' => {
                if self.f.sharp_v {
                    self.fmt_q(s);
                } else {
                    self.fmt_s(s);
                }
            }
            's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, false),
            'X' => self.fmt_sx(s, true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn bad_verb(&mut self, verb: char, v: Option<&Value>) {
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match v {
            Some(v) if !matches!(v, Value::Nil | Value::Invalid) => {
                self.buf.push_str(v.type_name());
                self.buf.push('=');
                let saved = self.f;
                self.print_arg(v, 'v');
                self.f = saved;
            }
            _ => self.buf.push_str("<nil>"),
        }
        self.buf.push(')');
        self.erroring = false;
    }

    /// Types with a `String` method print through it for the string verbs.
    fn handle_methods(&mut self, v: &Value, verb: char) -> bool {
        if self.erroring || self.f.sharp_v || !matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
            return false;
        }
        let s = match v {
            Value::Time(t, _) => t.string(),
            Value::Duration(d, _) => gotime::duration_string(*d),
            Value::Month(m) => month_string(*m),
            Value::Weekday(d) => weekday_string(*d),
            _ => return false,
        };
        self.fmt_string(&s, verb, v);
        true
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if let Value::Nil | Value::Invalid = v {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, None),
            }
            return;
        }
        match verb {
            'T' => {
                self.fmt_s(v.type_name());
                return;
            }
            'p' => {
                self.bad_verb('p', Some(v));
                return;
            }
            _ => {}
        }
        match v {
            Value::Bool(b) => match verb {
                't' | 'v' => self.fmt_boolean(*b),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::Float(f) => self.fmt_float(*f, verb),
            Value::Complex(r, i) => self.fmt_complex(*r, *i, verb),
            Value::Int(i, _) => self.fmt_int_verb(*i as u64, true, verb, v),
            Value::Uint(u, _) => self.fmt_int_verb(*u, false, verb, v),
            Value::Str(s) => self.fmt_string(s, verb, v),
            _ => {
                if !self.handle_methods(v, verb) {
                    self.print_value(v, verb, 0);
                }
            }
        }
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        if depth > 0 && self.handle_methods(v, verb) {
            return;
        }
        match v {
            Value::Invalid => {
                if depth == 0 {
                    self.buf.push_str("<invalid reflect.Value>");
                } else if verb == 'v' {
                    self.buf.push_str("<nil>");
                } else {
                    self.bad_verb(verb, None);
                }
            }
            Value::Nil => {
                if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(_) | Value::Float(_) | Value::Complex(..) | Value::Str(_) => {
                self.print_arg(v, verb);
            }
            Value::Int(i, _) | Value::Duration(i, _) | Value::Month(i) | Value::Weekday(i) => {
                self.fmt_int_verb(*i as u64, true, verb, v);
            }
            Value::Uint(u, _) => self.fmt_int_verb(*u, false, verb, v),
            Value::Html(s) => self.fmt_string(s, verb, v),
            Value::StrMap(m) => self.print_map(
                "map[string]string",
                m.iter().map(|(k, v)| (k, Value::str(v.as_str()))),
                verb,
                depth,
            ),
            Value::AnyMap(m) => self.print_map(
                "map[string]interface {}",
                m.iter().map(|(k, v)| (k, v.clone())),
                verb,
                depth,
            ),
            Value::List(items, ty) => {
                if self.f.sharp_v {
                    self.buf.push_str(ty);
                    self.buf.push('{');
                    for (i, e) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_value(e, verb, depth + 1);
                    }
                    self.buf.push('}');
                } else {
                    self.buf.push('[');
                    for (i, e) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.print_value(e, verb, depth + 1);
                    }
                    self.buf.push(']');
                }
            }
            Value::Samples(items) => {
                self.buf.push_str(if self.f.sharp_v {
                    "template.queryResult{"
                } else {
                    "["
                });
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    if verb == 'v' {
                        // Go prints the pointer's address here.
                        self.buf.push('&');
                        self.print_sample(s, verb, depth + 1);
                    } else {
                        // A pointer takes no other verb.
                        self.bad_verb(verb, Some(&Value::Sample(s.clone())));
                    }
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Sample(s) => {
                self.buf.push('&');
                self.print_sample(s, verb, depth + 1);
            }
            Value::Alert(a) => self.print_alert(a, verb, depth + 1),
            Value::Time(t, ptr) => self.print_time(*t, *ptr, verb, depth),
        }
    }

    /// A time for a verb its `String` method does not serve: Go prints the struct inside
    /// (`wall`, `ext` and a nil location for UTC), behind `&` for a pointer.
    fn print_time(&mut self, t: GoTime, ptr: bool, verb: char, depth: usize) {
        if ptr && depth == 0 {
            self.buf.push('&');
        }
        self.buf.push('{');
        self.print_value(
            &Value::Uint(t.nsec as u64, UintKind::Uint64),
            verb,
            depth + 1,
        );
        self.buf.push(' ');
        let ext = t.secs.wrapping_add(62_135_596_800);
        self.print_value(&Value::Int(ext, IntKind::Int64), verb, depth + 1);
        self.buf.push(' ');
        match verb {
            'v' => self.buf.push_str("<nil>"),
            'b' | 'o' | 'd' | 'x' | 'X' => self.fmt_integer(0, 10, false, verb, false),
            _ => {
                self.erroring = true;
                self.buf
                    .push_str(&format!("%!{verb}(*time.Location=<nil>)"));
                self.erroring = false;
            }
        }
        self.buf.push('}');
    }

    fn print_map<'k>(
        &mut self,
        ty: &str,
        entries: impl Iterator<Item = (&'k String, Value)>,
        verb: char,
        depth: usize,
    ) {
        if self.f.sharp_v {
            self.buf.push_str(ty);
            self.buf.push('{');
        } else {
            self.buf.push_str("map[");
        }
        for (i, (k, v)) in entries.enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            self.print_value(&Value::str(k.as_str()), verb, depth + 1);
            self.buf.push(':');
            self.print_value(&v, verb, depth + 1);
        }
        self.buf.push(if self.f.sharp_v { '}' } else { ']' });
    }

    fn field_name(&mut self, name: &str) {
        if self.f.plus_v || self.f.sharp_v {
            self.buf.push_str(name);
            self.buf.push(':');
        }
    }

    fn print_sample(&mut self, s: &SampleValue, verb: char, depth: usize) {
        if self.f.sharp_v {
            self.buf.push_str("template.sample");
        }
        self.buf.push('{');
        self.field_name("Labels");
        self.print_value(&Value::StrMap(s.labels.clone()), verb, depth + 1);
        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
        self.field_name("Value");
        self.print_value(&Value::Float(s.value), verb, depth + 1);
        self.buf.push('}');
    }

    fn print_alert(&mut self, a: &AlertValue, verb: char, depth: usize) {
        if self.f.sharp_v {
            self.buf.push_str(ALERT_TYPE);
        }
        let sep = if self.f.sharp_v { ", " } else { " " };
        self.buf.push('{');
        self.field_name("Labels");
        self.print_value(&Value::StrMap(a.labels.clone()), verb, depth + 1);
        self.buf.push_str(sep);
        self.field_name("ExternalLabels");
        self.print_value(&Value::StrMap(a.external_labels.clone()), verb, depth + 1);
        self.buf.push_str(sep);
        self.field_name("ExternalURL");
        self.print_value(&Value::Str(a.external_url.clone()), verb, depth + 1);
        self.buf.push_str(sep);
        self.field_name("Value");
        self.print_value(&Value::Float(a.value), verb, depth + 1);
        self.buf.push('}');
    }

    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &[u8],
        i: usize,
        num_args: usize,
    ) -> (usize, usize, bool) {
        if format.len() <= i || format[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        // "[n]": at least three bytes.
        let rest = &format[i..];
        let mut parsed: Option<(usize, usize, bool)> = None;
        if rest.len() >= 3 {
            for j in 1..rest.len() {
                if rest[j] == b']' {
                    let (n, ok, newi) = parse_num(rest, 1);
                    parsed = Some(if !ok || newi != j {
                        (0, j + 1, false)
                    } else {
                        (n.wrapping_sub(1), j + 1, true)
                    });
                    break;
                }
            }
        }
        let (index, wid, ok) = parsed.unwrap_or((0, 1, false));
        if ok && index < num_args {
            return (index, i + wid, true);
        }
        self.good_arg_num = false;
        (arg_num, i + wid, ok)
    }

    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let fb = format.as_bytes();
        let end = fb.len();
        let mut arg_num = 0usize;
        let mut after_index;
        self.reordered = false;
        let mut i = 0;
        'outer: while i < end {
            self.good_arg_num = true;
            let lasti = i;
            while i < end && fb[i] != b'%' {
                i += 1;
            }
            if i > lasti {
                self.buf.push_str(&format[lasti..i]);
            }
            if i >= end {
                break;
            }
            i += 1; // The '%'.
            self.f = Flags::default();
            while i < end {
                match fb[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    c => {
                        if c.is_ascii_lowercase() && arg_num < args.len() {
                            if c == b'v' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            self.print_arg(&args[arg_num], c as char);
                            arg_num += 1;
                            i += 1;
                            continue 'outer;
                        }
                        break;
                    }
                }
                i += 1;
            }
            (arg_num, i, after_index) = self.arg_number(arg_num, fb, i, args.len());
            if i < end && fb[i] == b'*' {
                i += 1;
                let (w, ok, n) = int_from_arg(args, arg_num);
                arg_num = n;
                self.f.wid_present = ok;
                if !ok {
                    self.buf.push_str("%!(BADWIDTH)");
                }
                if w < 0 {
                    self.f.minus = true;
                    self.f.zero = false;
                }
                self.f.wid = w.unsigned_abs() as usize;
                after_index = false;
            } else {
                let (w, ok, ni) = parse_num(fb, i);
                self.f.wid = w;
                self.f.wid_present = ok;
                i = ni;
                if after_index && self.f.wid_present {
                    self.good_arg_num = false;
                }
            }
            if i + 1 < end && fb[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, fb, i, args.len());
                if i < end && fb[i] == b'*' {
                    i += 1;
                    let (p, ok, n) = int_from_arg(args, arg_num);
                    arg_num = n;
                    self.f.prec_present = ok;
                    self.f.prec = p.max(0) as usize;
                    if p < 0 {
                        self.f.prec_present = false;
                    }
                    if !ok {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (p, ok, ni) = parse_num(fb, i);
                    i = ni;
                    self.f.prec = if ok { p } else { 0 };
                    self.f.prec_present = true;
                }
            }
            if !after_index {
                (arg_num, i, _) = self.arg_number(arg_num, fb, i, args.len());
            }
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('?');
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !self.good_arg_num {
                self.buf.push_str(&format!("%!{verb}(BADINDEX)"));
            } else if arg_num >= args.len() {
                self.buf.push_str(&format!("%!{verb}(MISSING)"));
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(&args[arg_num], verb);
                arg_num += 1;
            }
        }
        if !self.reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (k, a) in args[arg_num..].iter().enumerate() {
                if k > 0 {
                    self.buf.push_str(", ");
                }
                if let Value::Nil | Value::Invalid = a {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(a.type_name());
                    self.buf.push('=');
                    self.print_arg(a, 'v');
                }
            }
            self.buf.push(')');
        }
    }
}

pub(crate) fn month_string(m: i64) -> String {
    if (1..=12).contains(&m) {
        gotime::MONTHS[m as usize - 1].to_string()
    } else {
        format!("%!Month({m})")
    }
}

pub(crate) fn weekday_string(d: i64) -> String {
    if (0..=6).contains(&d) {
        gotime::WEEKDAYS[d as usize].to_string()
    } else {
        format!("%!Weekday({d})")
    }
}

/// The text `{{ value }}` writes: Go's `printableValue` (pointers followed, "no value" for
/// nothing) and then `fmt.Sprint`.
pub(crate) fn sprint_printable(v: &Value) -> String {
    match v {
        Value::Invalid => "<no value>".to_string(),
        Value::Sample(s) => {
            let mut p = Printer::default();
            p.print_sample(s, 'v', 1);
            p.buf
        }
        v => sprint(std::slice::from_ref(v)),
    }
}

/// The text of the arguments of `html`, `js` and `urlquery` (Go's `evalArgs`): like
/// `fmt.Sprint`, with each argument made printable first.
pub(crate) fn eval_args(args: &[Value]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        // "<no value>" is a string operand; a sample (followed pointer) is not.
        let (text, is_string) = match a {
            Value::Nil | Value::Invalid => ("<no value>".to_string(), true),
            a => (sprint_printable(a), a.is_string_kind()),
        };
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&text);
        prev_string = is_string;
    }
    out
}
