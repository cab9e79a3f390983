//! Checks on the query text and tree before evaluation: where a parse error is (for the
//! cases the parser's message names without a position), how deep the query nests, and
//! whether its times and durations fit the clock.

use std::time::{Duration, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Expr, Offset};

use crate::value::Error;

/// `(line, column)`, both from 1 (the column counts bytes, as Prometheus's do), of the
/// problem `msg` describes in `query`: the unmatched bracket for bracket errors, the end of
/// the input for errors about it ending early. `None` when it cannot be told.
pub(crate) fn locate_parse_error(query: &str, msg: &str) -> Option<(usize, usize)> {
    let offset = if msg.contains("parenthesis")
        || msg.contains("bracket")
        || msg.contains("brace")
        || msg.contains("unexpected right")
    {
        unbalanced_bracket(query)?
    } else if msg.contains("end of input") || msg.contains("unexpected end") {
        query.trim_end().len()
    } else {
        return None;
    };
    Some(line_col(query, offset))
}

/// The bytes of `query` outside string literals and comments, with their offsets.
fn code_bytes(query: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let bytes = query.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'"' | b'\'' | b'`' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != c {
                        if bytes[i] == b'\\' && c != b'`' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => {
                    i += 1;
                    return Some((i - 1, c));
                }
            }
        }
        None
    })
}

/// Byte offset of the first closing bracket without an opener, else of the innermost
/// opener left unclosed. Brackets inside string literals and comments do not count.
fn unbalanced_bracket(query: &str) -> Option<usize> {
    let mut open: Vec<(u8, usize)> = Vec::new();
    for (i, c) in code_bytes(query) {
        match c {
            b'(' | b'[' | b'{' => open.push((c, i)),
            b')' | b']' | b'}' => {
                let want = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    _ => return Some(i),
                }
            }
            _ => {}
        }
    }
    open.pop().map(|(_, at)| at)
}

fn line_col(query: &str, offset: usize) -> (usize, usize) {
    let before = &query[..offset.min(query.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_and_ends_are_located() {
        assert_eq!(
            locate_parse_error("sum(rate(x[5m])", "unclosed left parenthesis"),
            Some((1, 4))
        );
        assert_eq!(
            locate_parse_error("x{a=\"(\"}) + 1", "unexpected right parenthesis ')'"),
            Some((1, 9))
        );
        assert_eq!(
            locate_parse_error("foo{", "unexpected end of input inside braces"),
            Some((1, 4))
        );
        assert_eq!(
            locate_parse_error("sum(\n  rate(x[5m]\n", "unclosed left parenthesis"),
            Some((2, 7))
        );
        assert_eq!(locate_parse_error("x +", "invalid promql query"), None);
    }
}

/// Refuses queries whose operators and brackets nest deeper than `max` (counted on the text:
/// every binary operator can add a level, so their number plus the bracket depth bounds the
/// depth of the tree the parser builds and evaluation recurses over).
pub(crate) fn check_depth(query: &str, max: usize) -> Result<(), Error> {
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    let mut word = String::new();
    let end_word = |word: &mut String, operators: &mut usize| {
        if matches!(word.as_str(), "and" | "or" | "unless" | "atan2") {
            *operators += 1;
        }
        word.clear();
    };
    for (_, c) in code_bytes(query) {
        if c.is_ascii_alphanumeric() || c == b'_' || c == b':' {
            word.push(c as char);
            continue;
        }
        end_word(&mut word, &mut operators);
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'<' | b'>' | b'=' | b'!' => operators += 1,
            _ => {}
        }
    }
    end_word(&mut word, &mut operators);
    if operators + deepest > max {
        return Err(Error::BadData(format!(
            "query too complex: {operators} operators and brackets nested {deepest} deep (at most {max} in all)"
        )));
    }
    Ok(())
}

/// Longest duration or distance from the epoch a query may name: 10,000 years, so that
/// adding a few of them to a time never leaves the millisecond clock.
const MAX_SPAN_MS: u128 = 10_000 * 365 * 86_400_000;

/// Refuses offsets, ranges, steps and `@` times too large to compute with.
pub(crate) fn check_times(e: &Expr) -> Result<(), Error> {
    let dur = |d: &Duration| -> Result<(), Error> {
        if d.as_millis() > MAX_SPAN_MS {
            return Err(Error::BadData(
                "parse error: duration out of range (at most 10000 years)".into(),
            ));
        }
        Ok(())
    };
    let off = |o: &Option<Offset>| match o {
        Some(Offset::Pos(d) | Offset::Neg(d)) => dur(d),
        None => Ok(()),
    };
    let at = |a: &Option<AtModifier>| match a {
        Some(AtModifier::At(t)) => {
            let d = match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d,
                Err(e) => e.duration(),
            };
            if d.as_millis() > MAX_SPAN_MS {
                return Err(Error::BadData(
                    "parse error: timestamp out of bounds for @ modifier".into(),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    };
    match e {
        Expr::VectorSelector(vs) => {
            off(&vs.offset)?;
            at(&vs.at)
        }
        Expr::MatrixSelector(ms) => {
            dur(&ms.range)?;
            off(&ms.vs.offset)?;
            at(&ms.vs.at)
        }
        Expr::Subquery(sq) => {
            dur(&sq.range)?;
            if let Some(s) = &sq.step {
                dur(s)?;
            }
            off(&sq.offset)?;
            at(&sq.at)?;
            check_times(&sq.expr)
        }
        Expr::Aggregate(a) => {
            check_times(&a.expr)?;
            a.param.as_deref().map_or(Ok(()), check_times)
        }
        Expr::Binary(b) => {
            check_times(&b.lhs)?;
            check_times(&b.rhs)
        }
        Expr::Paren(p) => check_times(&p.expr),
        Expr::Unary(u) => check_times(&u.expr),
        Expr::Call(c) => c.args.args.iter().try_for_each(|a| check_times(a)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => Ok(()),
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn deep_and_far_queries_are_refused() {
        let chain = vec!["a"; 600].join(" or ");
        assert!(check_depth(&chain, 500).is_err());
        assert!(check_depth("sum by (job) (rate(x{a!=\"b\"}[5m])) / 2", 500).is_ok());
        assert!(check_depth("vendor_or_x + \"or or or\"", 2).is_ok());
        let nested = format!("{}x{}", "(".repeat(600), ")".repeat(600));
        assert!(check_depth(&nested, 500).is_err());
        for q in [
            "x offset 20000y",
            "x[20000y]",
            "x @ 1e15",
            "rate(x[5m:20000y])",
        ] {
            let e = promql_parser::parser::parse(q).unwrap();
            assert!(check_times(&e).is_err(), "{q}");
        }
        let e = promql_parser::parser::parse("x offset 1y @ 1700000000").unwrap();
        assert!(check_times(&e).is_ok());
    }
}
