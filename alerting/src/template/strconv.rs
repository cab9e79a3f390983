//! What templates need of Go's `strconv`: quoting, unquoting literals, parsing Go number
//! syntax and formatting floats the way `strconv.FormatFloat` does.

/// Whether Go's `unicode.IsPrint` holds, approximated: graphic characters and the ASCII space.
/// Controls, other spaces, format characters, private-use code points and surrogates are not
/// printable. (Unassigned code points count as printable here; Go knows better.)
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0x00AD | 0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFFFE | 0xFFFF
        | 0x2028 | 0x2029)
}

fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if ascii_only {
        if c.is_ascii() && is_print(c) {
            out.push(c);
            return;
        }
    } else if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// `strconv.Quote`: a double-quoted Go string literal.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', false);
    }
    out.push('"');
    out
}

/// `strconv.QuoteToASCII`.
pub(crate) fn quote_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', true);
    }
    out.push('"');
    out
}

/// `strconv.QuoteRune` (or `QuoteRuneToASCII`).
pub(crate) fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// `strconv.CanBackquote`: no control characters but tab, no backquote, no U+FEFF.
pub(crate) fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c == '\t' || !(c < ' ' || c == '`' || c == '\u{7f}' || c == '\u{feff}'))
}

/// `strconv.UnquoteChar`: decodes one character or escape at the start of `s`. Returns the
/// value (a byte for `\x` and octal escapes, else a code point), whether it is a code point
/// to be encoded as UTF-8, and the rest of the input.
pub(crate) fn unquote_char_raw(s: &str, quote: char) -> Result<(u32, bool, &str), &'static str> {
    const SYNTAX: &str = "invalid syntax";
    let mut chars = s.chars();
    let c = chars.next().ok_or(SYNTAX)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(SYNTAX);
    }
    if c != '\\' {
        return Ok((c as u32, !c.is_ascii(), chars.as_str()));
    }
    let e = chars.next().ok_or(SYNTAX)?;
    let rest = chars.as_str();
    let simple = |v: char| Ok((v as u32, false, rest));
    match e {
        'a' => simple('\x07'),
        'b' => simple('\x08'),
        'f' => simple('\x0c'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        't' => simple('\t'),
        'v' => simple('\x0b'),
        '\\' => simple('\\'),
        '\'' | '"' => {
            if e != quote {
                return Err(SYNTAX);
            }
            simple(e)
        }
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n).ok_or(SYNTAX)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(SYNTAX);
            }
            let v = u32::from_str_radix(hex, 16).map_err(|_| SYNTAX)?;
            if e == 'x' {
                return Ok((v, false, &rest[n..]));
            }
            if char::from_u32(v).is_none() {
                return Err(SYNTAX);
            }
            Ok((v, true, &rest[n..]))
        }
        '0'..='7' => {
            let oct = rest.get(..2).ok_or(SYNTAX)?;
            let mut v = e as u32 - '0' as u32;
            for b in oct.bytes() {
                if !(b'0'..=b'7').contains(&b) {
                    return Err(SYNTAX);
                }
                v = (v << 3) | (b - b'0') as u32;
            }
            if v > 255 {
                return Err(SYNTAX);
            }
            Ok((v, false, &rest[2..]))
        }
        _ => Err(SYNTAX),
    }
}

/// One character of a character constant (`'a'`, `'\n'`, `'\x41'`) and the rest.
pub(crate) fn unquote_char(s: &str, quote: char) -> Result<(char, &str), &'static str> {
    let (v, _, rest) = unquote_char_raw(s, quote)?;
    let c = char::from_u32(v).ok_or("invalid syntax")?;
    Ok((c, rest))
}

/// `strconv.Unquote` of a double-quoted or backquoted literal. Bytes that are not UTF-8
/// (from `\x` or octal escapes) become U+FFFD.
pub(crate) fn unquote(s: &str) -> Result<String, &'static str> {
    const SYNTAX: &str = "invalid syntax";
    if s.len() < 2 {
        return Err(SYNTAX);
    }
    if let Some(inner) = s.strip_prefix('`') {
        let inner = inner.strip_suffix('`').ok_or(SYNTAX)?;
        if inner.contains('`') {
            return Err(SYNTAX);
        }
        return Ok(inner.replace('\r', ""));
    }
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .ok_or(SYNTAX)?;
    let mut bytes = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        if rest.starts_with('\n') {
            return Err(SYNTAX);
        }
        let (v, multibyte, tail) = unquote_char_raw(rest, '"')?;
        if v < 0x80 || !multibyte {
            bytes.push(v as u8);
        } else {
            let c = char::from_u32(v).ok_or(SYNTAX)?;
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        rest = tail;
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Go's rule for underscores in number literals: only between digits (or after a base
/// prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        i = 1;
    }
    // '^' stands for "start or after base prefix", '0' for a digit, '_' and '!' otherwise.
    let mut saw = b'^';
    let mut hex = false;
    if b.len() - i >= 2 && b[i] == b'0' && matches!(b[i + 1] | 0x20, b'b' | b'o' | b'x') {
        hex = b[i + 1] | 0x20 == b'x';
        i += 2;
        saw = b'0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Magnitude digits and base of an integer literal with Go's base prefixes (`0x`, `0o`, `0b`,
/// a leading `0` for octal) and underscores.
fn int_body(s: &str) -> Option<(&str, u32)> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let lower = |i: usize| s.as_bytes().get(i).map(|b| b | 0x20);
    if s.len() >= 2 && s.as_bytes()[0] == b'0' {
        match lower(1) {
            Some(b'x') => return Some((&s[2..], 16)),
            Some(b'o') => return Some((&s[2..], 8)),
            Some(b'b') => return Some((&s[2..], 2)),
            _ => return Some((&s[1..], 8)),
        }
    }
    Some((s, 10))
}

fn parse_magnitude(s: &str) -> Option<u64> {
    let (body, base) = int_body(s)?;
    let digits: String = body.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        // "0" alone is fine; a bare prefix is not.
        return if s == "0" { Some(0) } else { None };
    }
    u64::from_str_radix(&digits, base).ok()
}

/// `strconv.ParseUint(s, 0, 64)`.
pub(crate) fn parse_uint_literal(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    parse_magnitude(s)
}

/// `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_int_literal(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let m = parse_magnitude(body)?;
    if neg {
        if m <= 1 << 63 {
            Some((m as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(m).ok()
    }
}

/// A hexadecimal float body (`1.8p+1`, after the `0x`).
fn parse_hex_float(body: &str) -> Option<f64> {
    let (mant, exp) = match body.find(['p', 'P']) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => return None, // Go requires the p exponent.
    };
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// Go's float literal syntax (decimal or hex, with underscores); `None` when malformed or
/// out of range.
pub(crate) fn parse_float_literal(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, &clean[..]),
    };
    let v = if body.len() > 2 && body.as_bytes()[0] == b'0' && body.as_bytes()[1] | 0x20 == b'x' {
        parse_hex_float(&body[2..])?
    } else {
        if body.is_empty()
            || !body
                .bytes()
                .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// A complex literal such as `1+2i` or `-1.5-3i`.
pub(crate) fn parse_complex(s: &str) -> Option<(f64, f64)> {
    let im = s.strip_suffix('i')?;
    // The sign separating the parts: the last + or - not at the start and not after an 'e'.
    let b = im.as_bytes();
    let split = (1..b.len())
        .rev()
        .find(|&i| (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1] | 0x20, b'e' | b'p'))?;
    let re = parse_float_literal(&im[..split])?;
    let imag = parse_float_literal(&im[split..])?;
    Some((re, imag))
}

/// `strconv.ParseFloat(s, 64)` on a runtime string, with Go's error text.
pub(crate) fn parse_float(s: &str) -> Result<f64, String> {
    let syntax = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s));
    let range = || {
        format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(s)
        )
    };
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Ok(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" {
        return Ok(f64::NAN);
    }
    if s.contains('_') && !underscore_ok(s) {
        return Err(syntax());
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let v = if clean.len() > 2 && clean.as_bytes()[0] == b'0' && clean.as_bytes()[1] | 0x20 == b'x'
    {
        // Hex floats need the p exponent and may not overflow either.
        parse_hex_float(&clean[2..]).ok_or_else(syntax)?
    } else {
        if clean.is_empty()
            || !clean
                .bytes()
                .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
            || clean.starts_with(['e', 'E'])
        {
            return Err(syntax());
        }
        clean.parse::<f64>().map_err(|_| syntax())?
    };
    if v.is_infinite() {
        return Err(range());
    }
    Ok(if neg { -v } else { v })
}

/// Decimal digits of a float: `digits` without leading or trailing zeros, and the position
/// of the decimal point (`0.d1d2... × 10^dp`). Zero has no digits.
struct Decimal {
    digits: Vec<u8>,
    dp: i32,
}

impl Decimal {
    /// From Rust's `{:e}` rendering ("1.2345e-7"), which is exact for the digits it shows.
    fn from_sci(s: &str) -> Decimal {
        let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return Decimal { digits, dp: 0 };
        }
        Decimal {
            digits,
            dp: exp + 1,
        }
    }

    /// The shortest digits that read back as `v` (|v|, finite). When two candidates are
    /// equally close to `v`, Rust picks the upper one and Go the one ending in an even digit.
    fn shortest(v: f64) -> Decimal {
        let a = v.abs();
        let d = Decimal::from_sci(&format!("{a:e}"));
        d.tie_to_even(a).unwrap_or(d)
    }

    /// The other candidate of an exact tie, when it ends in an even digit and reads back as
    /// `a`.
    fn tie_to_even(&self, a: f64) -> Option<Decimal> {
        let n = self.digits.len();
        let last = *self.digits.last()? - b'0';
        let exact = Decimal::from_sci(&format!("{:.*e}", n + 40, a));
        if exact.dp != self.dp || exact.digits.len() != n + 1 || exact.digits[n] != b'5' {
            return None;
        }
        let alt_last = if exact.digits[..n] == self.digits[..] {
            last + 1 // The exact value is just above the candidate.
        } else if last >= 1
            && exact.digits[..n - 1] == self.digits[..n - 1]
            && exact.digits[n - 1] == b'0' + last - 1
        {
            last - 1
        } else {
            return None;
        };
        if last.is_multiple_of(2) || alt_last > 9 {
            return None;
        }
        let mut digits = self.digits.clone();
        digits[n - 1] = b'0' + alt_last;
        let text = format!("0.{}e{}", String::from_utf8_lossy(&digits), self.dp);
        if text.parse::<f64>().ok()? != a {
            return None;
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        Some(Decimal {
            digits,
            dp: self.dp,
        })
    }

    /// `n` significant digits, correctly rounded (|v|, finite, n >= 1).
    fn significant(v: f64, n: usize) -> Decimal {
        Decimal::from_sci(&format!("{:.*e}", n - 1, v.abs()))
    }

    fn nd(&self) -> i32 {
        self.digits.len() as i32
    }

    fn digit(&self, i: i32) -> u8 {
        if i >= 0 && i < self.nd() {
            self.digits[i as usize]
        } else {
            b'0'
        }
    }
}

fn fmt_e(out: &mut String, d: &Decimal, prec: i32, upper: bool) {
    out.push(d.digit(0) as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(d.digit(i) as char);
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if d.digits.is_empty() { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

fn fmt_f(out: &mut String, d: &Decimal, prec: i32) {
    if d.dp > 0 {
        for i in 0..d.dp {
            out.push(d.digit(i) as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(d.digit(d.dp + i - 1) as char);
        }
    }
}

/// `strconv.FormatFloat(v, fmt, prec, 64)` for the formats `e E f g G x X b`; `prec < 0`
/// means the fewest digits that read back exactly.
pub(crate) fn format_float(v: f64, fmt: char, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    match fmt {
        'x' | 'X' => {
            fmt_x(&mut out, v, prec, fmt);
            return out;
        }
        'b' => {
            let bits = v.to_bits();
            let mut exp = ((bits >> 52) & 0x7ff) as i32;
            let mut mant = bits & ((1 << 52) - 1);
            if exp == 0 {
                exp += 1;
            } else {
                mant |= 1 << 52;
            }
            exp += -1023 - 52;
            out.push_str(&mant.to_string());
            out.push('p');
            if exp >= 0 {
                out.push('+');
            }
            out.push_str(&exp.to_string());
            return out;
        }
        _ => {}
    }
    let shortest = prec < 0;
    let lower = fmt.to_ascii_lowercase();
    let upper = fmt.is_ascii_uppercase();
    let (d, mut prec) = if shortest {
        let d = Decimal::shortest(v);
        let p = match lower {
            'e' => (d.nd() - 1).max(0),
            'f' => (d.nd() - d.dp).max(0),
            _ => d.nd(),
        };
        (d, p)
    } else {
        match lower {
            'e' => (Decimal::significant(v, prec as usize + 1), prec),
            'f' => {
                let s = format!("{:.*}", prec as usize, v.abs());
                (decimal_from_fixed(&s), prec)
            }
            _ => {
                let p = prec.max(1);
                (Decimal::significant(v, p as usize), p)
            }
        }
    };
    match lower {
        'e' => fmt_e(&mut out, &d, prec, upper),
        'f' => fmt_f(&mut out, &d, prec),
        _ => {
            let mut eprec = prec;
            if eprec > d.nd() && d.nd() >= d.dp {
                eprec = d.nd();
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if d.digits.is_empty() || !(exp < -4 || exp >= eprec) {
                if prec > d.dp {
                    prec = d.nd();
                }
                fmt_f(&mut out, &d, (prec - d.dp).max(0));
            } else {
                if prec > d.nd() {
                    prec = d.nd();
                }
                fmt_e(&mut out, &d, prec - 1, upper);
            }
        }
    }
    out
}

/// Digits of a fixed-point rendering such as "0.0012" or "123.40".
fn decimal_from_fixed(s: &str) -> Decimal {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let all: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let lead = all.iter().take_while(|&&b| b == b'0').count();
    let mut digits = all[lead..].to_vec();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return Decimal { digits, dp: 0 };
    }
    Decimal {
        digits,
        dp: int.len() as i32 - lead as i32,
    }
}

/// Hexadecimal mantissa and binary exponent, as `strconv` writes `%x` of a float.
fn fmt_x(out: &mut String, v: f64, prec: i32, fmt: char) {
    let bits = v.abs().to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1 << 52;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8] = if fmt == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    out.push('0');
    out.push(fmt);
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if fmt == 'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}
