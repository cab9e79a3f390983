//! Cases of Go's text/template exec_test.go that need no Go-specific data (methods, channels,
//! typed nil pointers), with Go's data replaced by maps holding the same values.

use super::*;

const NIL: Value = Value::Invalid;

/// The parts of Go's test struct these cases use.
fn t_val() -> Value {
    any_map(vec![
        ("I", Value::int(17)),
        ("X", Value::str("x")),
        ("SI", ints(&[3, 4, 5])),
        ("SIEmpty", ints(&[])),
        (
            "SB",
            list("[]bool", vec![Value::Bool(true), Value::Bool(false)]),
        ),
        (
            "MSI",
            str_map(&[("one", "1"), ("two", "2"), ("three", "3")]),
        ),
        ("MSIone", str_map(&[("one", "1")])),
        ("MSIEmpty", str_map(&[])),
        ("MXI", any_map(vec![("one", Value::int(1))])),
        (
            "SMSI",
            list(
                "[]map[string]string",
                vec![str_map(&[("one", "1")]), str_map(&[("eleven", "11")])],
            ),
        ),
        ("Empty0", Value::Nil),
        ("Empty1", Value::int(3)),
        ("Empty2", Value::str("empty2")),
        ("Empty3", ints(&[7, 8])),
        ("S", Value::str("xyz")),
        ("U", any_map(vec![("V", Value::str("v"))])),
        ("True", Value::Bool(true)),
        ("FloatZero", Value::Float(0.0)),
        ("Uthree", Value::Uint(3, UintKind::Uint)),
        ("Ufour", Value::Uint(4, UintKind::Uint)),
        ("Three", Value::int(3)),
        ("NegOne", Value::int(-1)),
    ])
}

fn cases(cases: &[(&str, &str, Option<&str>)], dot: impl Fn() -> Value) {
    let mut failures = Vec::new();
    for (name, text, want) in cases {
        let got = run(text, dot());
        match (want, &got) {
            (Some(w), Ok(g)) if w == g => {}
            (None, Err(_)) => {}
            _ => failures.push(format!("{name}: {text:?}: got {got:?}, want {want:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn trivial_and_ideal_constants() {
    cases(
        &[
            ("empty", "", Some("")),
            ("text", "some text", Some("some text")),
            ("nil action", "{{nil}}", None),
            ("ideal int", "{{printf `%T` 3}}", Some("int")),
            ("ideal float", "{{printf `%T` 1.0}}", Some("float64")),
            ("ideal exp float", "{{printf `%T` 1e1}}", Some("float64")),
            ("ideal complex", "{{printf `%T` 1i}}", Some("complex128")),
            (
                "ideal int",
                "{{printf `%T` 0x7fffffffffffffff}}",
                Some("int"),
            ),
            ("ideal too big", "{{printf `%T` 0x8000000000000000}}", None),
            ("ideal nil without type", "{{nil}}", None),
        ],
        || NIL,
    );
}

#[test]
fn fields_maps_dots_and_variables() {
    cases(
        &[
            (".X", "-{{.X}}-", Some("-x-")),
            (".U.V", "-{{.U.V}}-", Some("-v-")),
            ("map .one", "{{.MSI.one}}", Some("1")),
            ("map .two", "{{.MSI.two}}", Some("2")),
            ("map .NO (missingkey=zero)", "{{.MSI.NO}}", Some("")),
            ("map .one interface", "{{.MXI.one}}", Some("1")),
            ("map .none interface", "{{.MXI.none}}", Some("<no value>")),
            ("map .WRONG args", "{{.MSI.one 1}}", None),
            ("$.I", "{{$.I}}", Some("17")),
            ("$.U.V", "{{$.U.V}}", Some("v")),
            ("declare in action", "{{$x := $.U.V}}{{$x}}", Some("v")),
            (
                "simple assignment",
                "{{$x := 2}}{{$x = 3}}{{$x}}",
                Some("3"),
            ),
            (
                "nested assignment",
                "{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{$x}}",
                Some("3"),
            ),
            (
                "nested assignment changes the last declaration",
                "{{$x := 1}}{{if true}}{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{end}}{{$x}}",
                Some("1"),
            ),
            ("empty nil", "{{.Empty0}}", Some("<no value>")),
            ("empty with int", "{{.Empty1}}", Some("3")),
            ("empty with string", "{{.Empty2}}", Some("empty2")),
            ("empty with slice", "{{.Empty3}}", Some("[7 8]")),
            ("unparenthesized non-function", "{{1 2}}", None),
            ("parenthesized non-function", "{{(1) 2}}", None),
            (
                "parenthesized non-function with no args",
                "{{(1)}}",
                Some("1"),
            ),
            ("parens: $ in paren", "{{($).X}}", Some("x")),
            (
                "parens in pipeline",
                "{{printf `%d %d %d` (1) (len `ab`) (len (print 12345))}}",
                Some("1 2 5"),
            ),
        ],
        t_val,
    );
    cases(
        &[
            ("$ int", "{{$}}", Some("123")),
            ("dot int", "<{{.}}>", Some("<123>")),
        ],
        || Value::int(123),
    );
    cases(
        &[
            ("field on interface", "{{.foo}}", Some("<no value>")),
            (
                "field on parenthesized interface",
                "{{(.).foo}}",
                Some("<no value>"),
            ),
        ],
        || NIL,
    );
}

#[test]
fn dots_of_all_kinds() {
    let dots: Vec<(Value, &str)> = vec![
        (Value::int(13), "<13>"),
        (Value::Uint(14, UintKind::Uint), "<14>"),
        (Value::Float(15.1), "<15.1>"),
        (Value::Bool(true), "<true>"),
        (Value::Complex(16.2, -17.0), "<(16.2-17i)>"),
        (Value::str("hello"), "<hello>"),
        (ints(&[-1, -2, -3]), "<[-1 -2 -3]>"),
        (str_map(&[("two", "22")]), "<map[two:22]>"),
    ];
    for (dot, want) in dots {
        assert_eq!(ok("<{{.}}>", dot), want);
    }
}

#[test]
fn if_and_with() {
    cases(
        &[
            ("if true", "{{if true}}TRUE{{end}}", Some("TRUE")),
            (
                "if false",
                "{{if false}}TRUE{{else}}FALSE{{end}}",
                Some("FALSE"),
            ),
            ("if nil", "{{if nil}}TRUE{{end}}", None),
            (
                "if 1",
                "{{if 1}}NON-ZERO{{else}}ZERO{{end}}",
                Some("NON-ZERO"),
            ),
            ("if 0", "{{if 0}}NON-ZERO{{else}}ZERO{{end}}", Some("ZERO")),
            (
                "if 1.5",
                "{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}",
                Some("NON-ZERO"),
            ),
            (
                "if 0.0",
                "{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}",
                Some("ZERO"),
            ),
            (
                "if 1.5i",
                "{{if 1.5i}}NON-ZERO{{else}}ZERO{{end}}",
                Some("NON-ZERO"),
            ),
            (
                "if emptystring",
                "{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}",
                Some("EMPTY"),
            ),
            (
                "if string",
                "{{if `notempty`}}NON-EMPTY{{else}}EMPTY{{end}}",
                Some("NON-EMPTY"),
            ),
            (
                "if emptyslice",
                "{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}",
                Some("EMPTY"),
            ),
            (
                "if slice",
                "{{if .SI}}NON-EMPTY{{else}}EMPTY{{end}}",
                Some("NON-EMPTY"),
            ),
            (
                "if emptymap",
                "{{if .MSIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}",
                Some("EMPTY"),
            ),
            (
                "if map",
                "{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}",
                Some("NON-EMPTY"),
            ),
            (
                "if map unset",
                "{{if .MXI.none}}NON-ZERO{{else}}ZERO{{end}}",
                Some("ZERO"),
            ),
            (
                "if map not unset",
                "{{if not .MXI.none}}ZERO{{else}}NON-ZERO{{end}}",
                Some("ZERO"),
            ),
            (
                "if $x with $y int",
                "{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}",
                Some("true,17"),
            ),
            (
                "if $x with $x int",
                "{{if $x := true}}{{with $x := .I}}{{$x}},{{end}}{{$x}}{{end}}",
                Some("17,true"),
            ),
            (
                "if else if",
                "{{if false}}FALSE{{else if true}}TRUE{{end}}",
                Some("TRUE"),
            ),
            (
                "if else chain",
                "{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}",
                Some("3"),
            ),
            ("with true", "{{with true}}{{.}}{{end}}", Some("true")),
            (
                "with false",
                "{{with false}}{{.}}{{else}}FALSE{{end}}",
                Some("FALSE"),
            ),
            ("with 1", "{{with 1}}{{.}}{{else}}ZERO{{end}}", Some("1")),
            ("with 0", "{{with 0}}{{.}}{{else}}ZERO{{end}}", Some("ZERO")),
            (
                "with 1.5",
                "{{with 1.5}}{{.}}{{else}}ZERO{{end}}",
                Some("1.5"),
            ),
            (
                "with 0.0",
                "{{with .FloatZero}}{{.}}{{else}}ZERO{{end}}",
                Some("ZERO"),
            ),
            (
                "with 1.5i",
                "{{with 1.5i}}{{.}}{{else}}ZERO{{end}}",
                Some("(0+1.5i)"),
            ),
            (
                "with emptystring",
                "{{with ``}}{{.}}{{else}}EMPTY{{end}}",
                Some("EMPTY"),
            ),
            (
                "with string",
                "{{with `notempty`}}{{.}}{{else}}EMPTY{{end}}",
                Some("notempty"),
            ),
            (
                "with emptyslice",
                "{{with .SIEmpty}}{{.}}{{else}}EMPTY{{end}}",
                Some("EMPTY"),
            ),
            (
                "with slice",
                "{{with .SI}}{{.}}{{else}}EMPTY{{end}}",
                Some("[3 4 5]"),
            ),
            (
                "with emptymap",
                "{{with .MSIEmpty}}{{.}}{{else}}EMPTY{{end}}",
                Some("EMPTY"),
            ),
            (
                "with map",
                "{{with .MSIone}}{{.}}{{else}}EMPTY{{end}}",
                Some("map[one:1]"),
            ),
            ("with $x int", "{{with $x := .I}}{{$x}}{{end}}", Some("17")),
            (
                "with $x struct.U.V",
                "{{with $x := $}}{{$x.U.V}}{{end}}",
                Some("v"),
            ),
            (
                "with variable and action",
                "{{with $x := $}}{{$y := $.U.V}}{{$y}}{{end}}",
                Some("v"),
            ),
            (
                "else with",
                "{{with 0}}a{{else with .I}}{{.}}{{else}}c{{end}}",
                Some("17"),
            ),
            (
                "else with else",
                "{{with 0}}a{{else with ``}}b{{else}}c{{end}}",
                Some("c"),
            ),
        ],
        t_val,
    );
}

#[test]
fn print_html_js_urlquery() {
    cases(
        &[
            ("print", r#"{{print "hello, print"}}"#, Some("hello, print")),
            ("print 123", "{{print 1 2 3}}", Some("1 2 3")),
            ("print nil", "{{print nil}}", Some("<nil>")),
            ("println", "{{println 1 2 3}}", Some("1 2 3\n")),
            ("printf int", r#"{{printf "%04x" 127}}"#, Some("007f")),
            ("printf float", r#"{{printf "%g" 3.5}}"#, Some("3.5")),
            ("printf complex", r#"{{printf "%g" 1+7i}}"#, Some("(1+7i)")),
            ("printf string", r#"{{printf "%s" "hello"}}"#, Some("hello")),
            ("printf field", r#"{{printf "%s" .U.V}}"#, Some("v")),
            (
                "printf dot",
                r#"{{with .I}}{{printf "%d" .}}{{end}}"#,
                Some("17"),
            ),
            (
                "printf var",
                r#"{{with $x := .I}}{{printf "%d" $x}}{{end}}"#,
                Some("17"),
            ),
            (
                "printf lots",
                r#"{{printf "%d %s %g %s" 127 "hello" 7-3i .X}}"#,
                Some("127 hello (7-3i) x"),
            ),
            (
                "html",
                r#"{{html "<script>alert(\"XSS\");</script>"}}"#,
                Some("&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"),
            ),
            (
                "html pipeline",
                r#"{{printf "<script>alert(\"XSS\");</script>" | html}}"#,
                Some("&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"),
            ),
            (
                "html untyped nil",
                "{{html .Empty0}}",
                Some("&lt;no value&gt;"),
            ),
            ("js", "{{js `It'd be nice.`}}", Some(r"It\'d be nice.")),
            (
                "urlquery",
                r#"{{"http://www.example.org/"|urlquery}}"#,
                Some("http%3A%2F%2Fwww.example.org%2F"),
            ),
        ],
        t_val,
    );
}

#[test]
fn booleans() {
    // (query "x") fails here (no query engine), standing in for Go's "die" function.
    cases(
        &[
            ("not", "{{not true}} {{not false}}", Some("false true")),
            (
                "and",
                "{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}",
                Some("false 0 0 1"),
            ),
            (
                "or",
                "{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}",
                Some("0 1 true 1"),
            ),
            ("or short-circuit", "{{or 0 1 (query `x`)}}", Some("1")),
            ("and short-circuit", "{{and 1 0 (query `x`)}}", Some("0")),
            ("or short-circuit2", "{{or 0 0 (query `x`)}}", None),
            ("and short-circuit2", "{{and 1 1 (query `x`)}}", None),
            ("and pipe-true", "{{1 | and 1}}", Some("1")),
            ("and pipe-false", "{{0 | and 1}}", Some("0")),
            ("or pipe-true", "{{1 | or 0}}", Some("1")),
            ("or pipe-false", "{{0 | or 0}}", Some("0")),
            ("and undef", "{{and 1 .Unknown}}", Some("<no value>")),
            ("or undef", "{{or 0 .Unknown}}", Some("<no value>")),
            (
                "boolean if",
                "{{if and true 1 `hi`}}TRUE{{else}}FALSE{{end}}",
                Some("TRUE"),
            ),
            (
                "boolean if not",
                "{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}",
                Some("FALSE"),
            ),
            (
                "boolean if pipe",
                "{{if true | not | and 1}}TRUE{{else}}FALSE{{end}}",
                Some("FALSE"),
            ),
            (
                "or as if true",
                r#"{{or .SI "slice is empty"}}"#,
                Some("[3 4 5]"),
            ),
            (
                "or as if false",
                r#"{{or .SIEmpty "slice is empty"}}"#,
                Some("slice is empty"),
            ),
        ],
        t_val,
    );
}

#[test]
fn index_slice_len() {
    cases(
        &[
            ("slice[0]", "{{index .SI 0}}", Some("3")),
            ("slice[1]", "{{index .SI 1}}", Some("4")),
            ("slice[HUGE]", "{{index .SI 10}}", None),
            ("slice[WRONG]", "{{index .SI `hello`}}", None),
            ("slice[nil]", "{{index .SI nil}}", None),
            ("map[one]", "{{index .MSI `one`}}", Some("1")),
            ("map[two]", "{{index .MSI `two`}}", Some("2")),
            ("map[NO]", "{{index .MSI `XXX`}}", Some("")),
            ("map[nil]", "{{index .MSI nil}}", None),
            ("map[``]", "{{index .MSI ``}}", Some("")),
            ("map[WRONG]", "{{index .MSI 10}}", None),
            ("double index", "{{index .SMSI 1 `eleven`}}", Some("11")),
            ("nil[1]", "{{index nil 1}}", None),
            (
                "index of an interface field",
                "{{index .Empty3 0}}",
                Some("7"),
            ),
            ("slice[:]", "{{slice .SI}}", Some("[3 4 5]")),
            ("slice[1:]", "{{slice .SI 1}}", Some("[4 5]")),
            ("slice[1:2]", "{{slice .SI 1 2}}", Some("[4]")),
            ("slice[-1:]", "{{slice .SI -1}}", None),
            ("slice[1:-2]", "{{slice .SI 1 -2}}", None),
            ("slice[1:2:-1]", "{{slice .SI 1 2 -1}}", None),
            ("slice[2:1]", "{{slice .SI 2 1}}", None),
            ("slice[2:2:1]", "{{slice .SI 2 2 1}}", None),
            ("out of range", "{{slice .SI 4 5}}", None),
            ("out of range", "{{slice .SI 2 2 5}}", None),
            ("string[:]", "{{slice .S}}", Some("xyz")),
            ("string[0:1]", "{{slice .S 0 1}}", Some("x")),
            ("string[1:]", "{{slice .S 1}}", Some("yz")),
            ("string[1:2]", "{{slice .S 1 2}}", Some("y")),
            ("out of range", "{{slice .S 1 5}}", None),
            ("3-index slice of string", "{{slice .S 1 2 2}}", None),
            (
                "slice of an interface field",
                "{{slice .Empty3 0 1}}",
                Some("[7]"),
            ),
            ("len slice", "{{len .SI}}", Some("3")),
            ("len map", "{{len .MSI }}", Some("3")),
            ("len of int", "{{len 3}}", None),
            ("len of nothing", "{{len .Empty0}}", None),
            ("len of an interface field", "{{len .Empty3}}", Some("2")),
        ],
        t_val,
    );
}

#[test]
fn range() {
    cases(
        &[
            (
                "range []int",
                "{{range .SI}}-{{.}}-{{end}}",
                Some("-3--4--5-"),
            ),
            (
                "range empty no else",
                "{{range .SIEmpty}}-{{.}}-{{end}}",
                Some(""),
            ),
            (
                "range []int else",
                "{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}",
                Some("-3--4--5-"),
            ),
            (
                "range empty else",
                "{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}",
                Some("EMPTY"),
            ),
            (
                "range []int break else",
                "{{range .SI}}-{{.}}-{{break}}NOTREACHED{{else}}EMPTY{{end}}",
                Some("-3-"),
            ),
            (
                "range []int continue else",
                "{{range .SI}}-{{.}}-{{continue}}NOTREACHED{{else}}EMPTY{{end}}",
                Some("-3--4--5-"),
            ),
            (
                "range []bool",
                "{{range .SB}}-{{.}}-{{end}}",
                Some("-true--false-"),
            ),
            (
                "range map",
                "{{range .MSI}}-{{.}}-{{end}}",
                Some("-1--3--2-"),
            ),
            (
                "range empty map no else",
                "{{range .MSIEmpty}}-{{.}}-{{end}}",
                Some(""),
            ),
            (
                "range map else",
                "{{range .MSI}}-{{.}}-{{else}}EMPTY{{end}}",
                Some("-1--3--2-"),
            ),
            (
                "range empty map else",
                "{{range .MSIEmpty}}-{{.}}-{{else}}EMPTY{{end}}",
                Some("EMPTY"),
            ),
            (
                "range empty interface",
                "{{range .Empty3}}-{{.}}-{{else}}EMPTY{{end}}",
                Some("-7--8-"),
            ),
            (
                "range empty nil",
                "{{range .Empty0}}-{{.}}-{{end}}",
                Some(""),
            ),
            (
                "range $x SI",
                "{{range $x := .SI}}<{{$x}}>{{end}}",
                Some("<3><4><5>"),
            ),
            (
                "range $x $y SI",
                "{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}",
                Some("<0=3><1=4><2=5>"),
            ),
            (
                "range $x MSIone",
                "{{range $x := .MSIone}}<{{$x}}>{{end}}",
                Some("<1>"),
            ),
            (
                "range $x $y MSIone",
                "{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}",
                Some("<one=1>"),
            ),
            (
                "declare in range",
                "{{range $x := .SI}}<{{$foo:=$x}}{{$x}}>{{end}}",
                Some("<3><4><5>"),
            ),
            (
                "range int",
                "{{range $x := 3}}<{{$x}}>{{end}}",
                Some("<0><1><2>"),
            ),
            (
                "range int two variables",
                "{{range $x, $y := 3}}{{end}}",
                None,
            ),
            (
                "range assign",
                "{{$x := 0}}{{$i := 9}}{{range $i, $x = .SI}}{{end}}{{$i}}{{$x}}",
                Some("25"),
            ),
        ],
        t_val,
    );
}

#[test]
fn numbers() {
    cases(
        &[
            ("decimal", "{{print 1234}}", Some("1234")),
            ("decimal _", "{{print 12_34}}", Some("1234")),
            ("binary", "{{print 0b101}}", Some("5")),
            ("binary _", "{{print 0b_1_0_1}}", Some("5")),
            ("BINARY", "{{print 0B101}}", Some("5")),
            ("octal0", "{{print 0377}}", Some("255")),
            ("octal", "{{print 0o377}}", Some("255")),
            ("octal _", "{{print 0o_3_7_7}}", Some("255")),
            ("OCTAL", "{{print 0O377}}", Some("255")),
            ("hex", "{{print 0x123}}", Some("291")),
            ("hex _", "{{print 0x1_23}}", Some("291")),
            ("HEX", "{{print 0X123ABC}}", Some("1194684")),
            ("float", "{{print 123.4}}", Some("123.4")),
            ("float _", "{{print 0_0_1_2_3.4}}", Some("123.4")),
            ("hex float", "{{print +0x1.ep+2}}", Some("7.5")),
            ("hex float _", "{{print +0x_1.e_0p+0_2}}", Some("7.5")),
            ("HEX float", "{{print +0X1.EP+2}}", Some("7.5")),
            (
                "print multi",
                "{{print 1_2_3_4 7.5_00_00_00}}",
                Some("1234 7.5"),
            ),
            (
                "print multi2",
                "{{print 1234 0x0_1.e_0p+02}}",
                Some("1234 7.5"),
            ),
            ("bug12xe", "{{printf `%T` 0xef}}", Some("int")),
            ("bug12xE", "{{printf `%T` 0xEE}}", Some("int")),
            ("bug12Xe", "{{printf `%T` 0Xef}}", Some("int")),
            ("bug12XE", "{{printf `%T` 0XEE}}", Some("int")),
        ],
        || NIL,
    );
}

#[test]
fn fixed_bugs() {
    cases(
        &[
            ("bug7a", "{{3 2}}", None),
            ("bug7b", "{{$x := 1}}{{$x 2}}", None),
            ("bug7c", "{{$x := 1}}{{3 | $x}}", None),
            ("bug14a", "{{(nil).True}}", None),
            ("bug14b", "{{$x := nil}}{{$x.anything}}", None),
            (
                "bug14c",
                r#"{{$x := (1.0)}}{{$y := ("hello")}}{{$x.anything}}{{$y.true}}"#,
                None,
            ),
        ],
        t_val,
    );
    assert_eq!(
        ok("{{.cause}}", str_map(&[("cause", "neglect")])),
        "neglect"
    );
}

#[test]
fn comparisons() {
    let all: &[(&str, Option<&str>)] = &[
        ("eq true true", Some("true")),
        ("eq true false", Some("false")),
        ("eq 1+2i 1+2i", Some("true")),
        ("eq 1+2i 1+3i", Some("false")),
        ("eq 1.5 1.5", Some("true")),
        ("eq 1.5 2.5", Some("false")),
        ("eq 1 1", Some("true")),
        ("eq 1 2", Some("false")),
        ("eq `xy` `xy`", Some("true")),
        ("eq `xy` `xyz`", Some("false")),
        ("eq .Uthree .Uthree", Some("true")),
        ("eq .Uthree .Ufour", Some("false")),
        ("eq 3 4 5 6 3", Some("true")),
        ("eq 3 4 5 6 7", Some("false")),
        ("ne true true", Some("false")),
        ("ne true false", Some("true")),
        ("ne 1+2i 1+2i", Some("false")),
        ("ne 1+2i 1+3i", Some("true")),
        ("ne 1.5 1.5", Some("false")),
        ("ne 1.5 2.5", Some("true")),
        ("ne 1 1", Some("false")),
        ("ne 1 2", Some("true")),
        ("ne `xy` `xy`", Some("false")),
        ("ne `xy` `xyz`", Some("true")),
        ("ne .Uthree .Uthree", Some("false")),
        ("ne .Uthree .Ufour", Some("true")),
        ("lt 1.5 1.5", Some("false")),
        ("lt 1.5 2.5", Some("true")),
        ("lt 1 1", Some("false")),
        ("lt 1 2", Some("true")),
        ("lt `xy` `xy`", Some("false")),
        ("lt `xy` `xyz`", Some("true")),
        ("lt .Uthree .Uthree", Some("false")),
        ("lt .Uthree .Ufour", Some("true")),
        ("le 1.5 1.5", Some("true")),
        ("le 1.5 2.5", Some("true")),
        ("le 2.5 1.5", Some("false")),
        ("le 1 1", Some("true")),
        ("le 1 2", Some("true")),
        ("le 2 1", Some("false")),
        ("le `xy` `xy`", Some("true")),
        ("le `xy` `xyz`", Some("true")),
        ("le `xyz` `xy`", Some("false")),
        ("le .Uthree .Uthree", Some("true")),
        ("le .Uthree .Ufour", Some("true")),
        ("le .Ufour .Uthree", Some("false")),
        ("gt 1.5 1.5", Some("false")),
        ("gt 1.5 2.5", Some("false")),
        ("gt 1 1", Some("false")),
        ("gt 2 1", Some("true")),
        ("gt 1 2", Some("false")),
        ("gt `xy` `xy`", Some("false")),
        ("gt `xy` `xyz`", Some("false")),
        ("gt .Uthree .Uthree", Some("false")),
        ("gt .Uthree .Ufour", Some("false")),
        ("gt .Ufour .Uthree", Some("true")),
        ("ge 1.5 1.5", Some("true")),
        ("ge 1.5 2.5", Some("false")),
        ("ge 2.5 1.5", Some("true")),
        ("ge 1 1", Some("true")),
        ("ge 1 2", Some("false")),
        ("ge 2 1", Some("true")),
        ("ge `xy` `xy`", Some("true")),
        ("ge `xy` `xyz`", Some("false")),
        ("ge `xyz` `xy`", Some("true")),
        ("ge .Uthree .Uthree", Some("true")),
        ("ge .Uthree .Ufour", Some("false")),
        ("ge .Ufour .Uthree", Some("true")),
        ("eq .Uthree .Three", Some("true")),
        ("eq .Three .Uthree", Some("true")),
        ("le .Uthree .Three", Some("true")),
        ("le .Three .Uthree", Some("true")),
        ("ge .Uthree .Three", Some("true")),
        ("ge .Three .Uthree", Some("true")),
        ("lt .Uthree .Three", Some("false")),
        ("lt .Three .Uthree", Some("false")),
        ("gt .Uthree .Three", Some("false")),
        ("gt .Three .Uthree", Some("false")),
        ("eq .Ufour .Three", Some("false")),
        ("lt .Ufour .Three", Some("false")),
        ("gt .Ufour .Three", Some("true")),
        ("eq .NegOne .Uthree", Some("false")),
        ("eq .Uthree .NegOne", Some("false")),
        ("ne .NegOne .Uthree", Some("true")),
        ("ne .Uthree .NegOne", Some("true")),
        ("lt .NegOne .Uthree", Some("true")),
        ("lt .Uthree .NegOne", Some("false")),
        ("le .NegOne .Uthree", Some("true")),
        ("le .Uthree .NegOne", Some("false")),
        ("gt .NegOne .Uthree", Some("false")),
        ("gt .Uthree .NegOne", Some("true")),
        ("ge .NegOne .Uthree", Some("false")),
        ("ge .Uthree .NegOne", Some("true")),
        ("eq (index `x` 0) 'x'", Some("true")),
        ("eq (index `x` 0) 'y'", Some("false")),
        ("eq .Empty0 .Empty0", Some("true")),
        ("eq .Empty0 0", Some("false")),
        ("eq 0 .Empty0", Some("false")),
        ("eq `xy` 1", None),
        ("eq 2 2.0", None),
        ("lt true true", None),
        ("lt 1+0i 1+0i", None),
        ("eq .MSI .MSI", None),
    ];
    let texts: Vec<(String, Option<&str>)> = all
        .iter()
        .map(|(expr, want)| (format!("{{{{{expr}}}}}"), *want))
        .collect();
    let table: Vec<(&str, &str, Option<&str>)> = texts
        .iter()
        .map(|(t, w)| (t.as_str(), t.as_str(), *w))
        .collect();
    cases(&table, t_val);
}

#[test]
fn template_calls_do_not_inherit_variables() {
    assert!(
        err(
            "{{$x := 1}}{{define \"t\"}}{{$x}}{{end}}{{template \"t\"}}",
            NIL
        )
        .contains("undefined variable \"$x\"")
    );
    assert_eq!(
        ok("{{define \"t\"}}{{$}}{{end}}{{template \"t\" 5}}", NIL),
        "5"
    );
    // The data argument is optional: without it the template runs on no value.
    assert_eq!(
        ok(
            "{{define \"t\"}}{{.}}{{end}}{{template \"t\"}}",
            Value::int(1)
        ),
        "<no value>"
    );
    // A block both defines and runs its template.
    assert_eq!(
        ok("a{{block \"inner\" .}}[{{.}}]{{end}}b", Value::str("x")),
        "a[x]b"
    );
}
