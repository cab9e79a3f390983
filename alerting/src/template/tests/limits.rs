//! Execution bounds: a hostile template ends with an error, not a hang, an exhausted memory
//! or a stack overflow.

use crate::template::{
    MAX_EXEC_NESTING, MAX_OUTPUT, MAX_STEPS, MAX_TEMPLATE_DEPTH, TemplateData, expand,
};

const NAME: &str = "__alert_Test";

fn run(text: &str) -> Result<String, String> {
    expand(NAME, text, &TemplateData::default(), 0, None)
}

#[test]
fn recursive_templates_stop_at_the_depth_limit() {
    let err =
        run("{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" }}").unwrap_err();
    assert!(
        err.ends_with(&format!(
            "exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
        )),
        "{err}"
    );
    // Recursion that ends within the limits works.
    let ok = run(&format!(
        "{{{{ define \"down\" }}}}{{{{ if . }}}}{{{{ template \"down\" (slice . 1) }}}}{{{{ end }}}}{{{{ end }}}}{{{{ template \"down\" \"{}\" }}}}done",
        "a".repeat(60)
    ));
    assert_eq!(ok, Ok("done".to_string()));
}

#[test]
fn deep_recursion_with_nesting_does_not_overflow_the_stack() {
    // Every template level nests control structures; run on a thread with a small stack.
    let inner = format!(
        "{}{{{{ template \"r\" . }}}}{}",
        "{{ if 1 }}{{ with 1 }}".repeat(20),
        "{{ end }}{{ end }}".repeat(20)
    );
    let text = format!("{{{{ define \"r\" }}}}{inner}{{{{ end }}}}{{{{ template \"r\" }}}}");
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || run(&text))
        .unwrap();
    let err = handle.join().expect("no stack overflow").unwrap_err();
    assert!(
        err.ends_with(&format!(
            "exceeded maximum nesting depth ({MAX_EXEC_NESTING})"
        )),
        "{err}"
    );
}

#[test]
fn endless_loops_stop_at_the_step_limit() {
    let err = run("{{ range 1000000000000 }}{{ end }}").unwrap_err();
    assert!(
        err.ends_with(&format!("execution exceeds {MAX_STEPS} steps")),
        "{err}"
    );
}

#[test]
fn output_is_bounded() {
    let err = run("{{ range 1000 }}{{ printf \"%2000s\" \"\" }}{{ end }}").unwrap_err();
    assert!(
        err.ends_with(&format!("output exceeds {MAX_OUTPUT} bytes")),
        "{err}"
    );
    // Doubling a string in a loop is stopped at the first result over the limit.
    let err = run("{{ $s := \"ab\" }}{{ range 40 }}{{ $s = printf \"%s%s\" $s $s }}{{ end }}")
        .unwrap_err();
    assert!(
        err.ends_with(&format!(
            "error calling printf: result exceeds {MAX_OUTPUT} bytes"
        )),
        "{err}"
    );
    // Go caps printf widths at a million.
    assert_eq!(
        run("{{ printf \"%99999999d\" 1 }}"),
        Ok("%!(NOVERB)%!(EXTRA int=1)".to_string())
    );
}

/// Random templates built from the language's pieces parse and run to a result or an error,
/// never a panic.
#[test]
fn random_templates_never_panic() {
    let pieces = [
        "{{", "}}", "{{- ", " -}}", "/*", "*/", "(", ")", "|", "$", "$x", ":=", "=", ".",
        ".Labels", ".x", "\"", "`", "'", "\\", "1", "-", "+", "e", "0x", "_", "i", " ", "\n", "if",
        "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil",
        "true", "printf", "\"%", "d", "%", "é", "€", "\u{a0}", ",", "len", "index", "slice",
        "query", "humanize", "args", "toTime", ".Format", "eq", "and", "or", "not", "print",
        "html", "$labels", "$value", "0", "9", ".5", "p", "\t", "\r",
    ];
    let q = super::FixedQuery::new(vec![super::sample(&[("a", "b")], 1.0)]);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let n = (next() % 24) as usize;
        let text: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let r = std::panic::catch_unwind(|| {
            let _ = crate::template::check(&text);
            let _ = expand(NAME, &text, &TemplateData::default(), 0, Some(&q));
        });
        assert!(r.is_ok(), "panic on {text:?}");
    }
}
