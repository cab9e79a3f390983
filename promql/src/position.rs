//! Where a parse error is, for the cases the parser's message names without a position.

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

/// Byte offset of the first closing bracket without an opener, else of the innermost
/// opener left unclosed. Brackets inside string literals and comments do not count.
fn unbalanced_bracket(query: &str) -> Option<usize> {
    let bytes = query.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' && q != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            c @ (b'(' | b'[' | b'{') => open.push((c, i)),
            c @ (b')' | b']' | b'}') => {
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
        i += 1;
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
