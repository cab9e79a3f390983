//! Go's fmt on floats and on the other values templates print.

use super::super::gofmt::{sprint, sprintf};
use super::*;

/// Every float formatting of testdata/go_floats.tsv, made by Go's fmt.Sprintf.
#[test]
fn floats_format_as_go_formats_them() {
    let table = include_str!("testdata/go_floats.tsv");
    let mut failures = Vec::new();
    let mut n = 0;
    for line in table.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(verb), Some(bits), Some(want)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("bad line {line:?}");
        };
        let v = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
        let got = sprintf(verb, &[Value::Float(v)]);
        if got != want {
            failures.push(format!("{verb} {v:e}: got {got:?}, want {want:?}"));
        }
        n += 1;
    }
    assert!(n > 2000);
    assert!(
        failures.is_empty(),
        "{} of {n} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn value_printing_uses_go_rules() {
    // %v of a float64 switches to an exponent at 1e21 in JSON, but at 1e6 in Go's fmt.
    assert_eq!(sprint(&[Value::Float(1e6)]), "1e+06");
    assert_eq!(sprint(&[Value::Float(123456.0)]), "123456");
    assert_eq!(sprint(&[Value::Float(0.0001)]), "0.0001");
    assert_eq!(sprint(&[Value::Float(0.00001)]), "1e-05");
    assert_eq!(sprint(&[Value::Float(f64::NAN)]), "NaN");
    assert_eq!(sprint(&[Value::Float(f64::NEG_INFINITY)]), "-Inf");
    // Operands are separated by a space only when neither is a string.
    assert_eq!(
        sprint(&[Value::int(1), Value::int(2), Value::str("a"), Value::int(3)]),
        "1 2a3"
    );
    assert_eq!(sprint(&[Value::Nil]), "<nil>");
    assert_eq!(
        sprint(&[str_map(&[("b", "2"), ("a", "1")])]),
        "map[a:1 b:2]",
        "maps print with sorted keys"
    );
}

#[test]
fn printf_verbs_flags_and_errors() {
    let cases: &[(&str, Vec<Value>, &str)] = &[
        (
            "%d|%5d|%-5d|%05d",
            vec![
                Value::int(42),
                Value::int(42),
                Value::int(42),
                Value::int(-42),
            ],
            "42|   42|42   |-0042",
        ),
        (
            "%x %X %o %b %c %U",
            vec![
                Value::int(255),
                Value::int(255),
                Value::int(8),
                Value::int(5),
                Value::int(65),
                Value::int(0x1F600),
            ],
            "ff FF 10 101 A U+1F600",
        ),
        (
            "%q|%-8q|%x",
            vec![Value::str("a\"b"), Value::str("x"), Value::str("hi")],
            "\"a\\\"b\"|\"x\"     |6869",
        ),
        ("%s", vec![Value::int(1)], "%!s(int=1)"),
        ("%d", vec![Value::str("x")], "%!d(string=x)"),
        ("%d %d", vec![Value::int(1)], "1 %!d(MISSING)"),
        ("%d", vec![Value::int(1), Value::int(2)], "1%!(EXTRA int=2)"),
        ("%", vec![], "%!(NOVERB)"),
        ("%[2]d %[1]d", vec![Value::int(1), Value::int(2)], "2 1"),
        ("%[5]d", vec![Value::int(1)], "%!d(BADINDEX)"),
        (
            "%*d|%-*d|",
            vec![Value::int(4), Value::int(7), Value::int(3), Value::int(7)],
            "   7|7  |",
        ),
        ("%.*f", vec![Value::int(2), Value::Float(1.23456)], "1.23"),
        (
            "%v %t",
            vec![Value::Bool(true), Value::Bool(false)],
            "true false",
        ),
        (
            "%T %T %T",
            vec![Value::Float(1.0), Value::str(""), Value::Nil],
            "float64 string <nil>",
        ),
        ("%6.2f%%", vec![Value::Float(99.5)], " 99.50%"),
        (
            "%.3s|%5.1s|",
            vec![Value::str("héllo"), Value::str("héllo")],
            "hél|    h|",
        ),
    ];
    for (format, args, want) in cases {
        assert_eq!(sprintf(format, args), *want, "{format}");
    }
}
