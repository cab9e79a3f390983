//! `rule_files` patterns.
//!
//! The pattern language is Go's `filepath.Glob`, which Prometheus uses: `*` (any run of
//! characters within a path component, dot files included), `?` (one character), `[...]`
//! (a class: ranges `a-z`, negated with `^`), `\` to take the next character literally.
//! As Prometheus's configuration requires, `*` may only appear in the last component;
//! `?` and classes may appear anywhere.

use std::path::{Path, PathBuf};

/// `rule_files` patterns (globs with `*`, `?`, `[...]` in the file name part, relative to
/// `base_dir`) → the matching files, sorted and without repeats; a pattern matching nothing
/// is not an error (as Prometheus). A malformed pattern (an unclosed `[`, a `*` in a
/// directory part) is.
pub fn expand_globs(patterns: &[String], base_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for pattern in patterns {
        let p = Path::new(pattern);
        if let Some(dir) = p.parent()
            && dir.to_string_lossy().contains('*')
        {
            return Err(format!(
                "rule file pattern {pattern:?}: '*' is only allowed in the file name part"
            ));
        }
        for c in p.components() {
            check_pattern(&c.as_os_str().to_string_lossy())
                .map_err(|e| format!("rule file pattern {pattern:?}: {e}"))?;
        }
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            base_dir.join(p)
        };
        expand(&full, &mut out);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// Appends the existing paths matching `path` (component by component).
fn expand(path: &Path, out: &mut Vec<PathBuf>) {
    if !has_meta(&path.to_string_lossy()) {
        if path.symlink_metadata().is_ok() {
            out.push(path.to_path_buf());
        }
        return;
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    let mut dirs = Vec::new();
    expand(dir, &mut dirs);
    for d in dirs {
        if !has_meta(&name) {
            let p = d.join(&*name);
            if p.symlink_metadata().is_ok() {
                out.push(p);
            }
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| matches(&name, n))
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| d.join(n)));
    }
}

/// Rejects a pattern component with an unclosed class or a trailing `\`.
fn check_pattern(p: &str) -> Result<(), String> {
    let p: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 == p.len() => return Err("it ends with '\\'".into()),
            '\\' => i += 2,
            '[' => match class(&p, i, None) {
                Some((_, next)) => i = next,
                None => return Err("a '[' is not closed".into()),
            },
            _ => i += 1,
        }
    }
    Ok(())
}

/// Whether one path component `name` matches pattern component `pattern`.
fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_at(&p, &n)
}

fn match_at(p: &[char], n: &[char]) -> bool {
    let Some(&first) = p.first() else {
        return n.is_empty();
    };
    match first {
        // Try every split: patterns are short, and so are file names.
        '*' => (0..=n.len()).any(|k| match_at(&p[1..], &n[k..])),
        '?' => !n.is_empty() && match_at(&p[1..], &n[1..]),
        '[' => match (n.first(), class(p, 0, n.first().copied())) {
            (Some(_), Some((true, next))) => match_at(&p[next..], &n[1..]),
            _ => false,
        },
        '\\' => p.len() > 1 && n.first() == Some(&p[1]) && match_at(&p[2..], &n[1..]),
        c => n.first() == Some(&c) && match_at(&p[1..], &n[1..]),
    }
}

/// The class starting at `p[start] == '['`: whether `c` is in it, and the index after its
/// `]`; `None` if it is not closed.
fn class(p: &[char], start: usize, c: Option<char>) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' {
            // An empty class is malformed, as in Go.
            return (!first).then_some((hit != negated, i + 1));
        }
        first = false;
        let (lo, after) = literal(p, i)?;
        let (hi, after) = if p.get(after) == Some(&'-') && p.get(after + 1) != Some(&']') {
            literal(p, after + 1)?
        } else {
            (lo, after)
        };
        if c.is_some_and(|c| lo <= c && c <= hi) {
            hit = true;
        }
        i = after;
    }
}

/// A class member at `p[i]` (`\x` is `x`) and the index after it.
fn literal(p: &[char], i: usize) -> Option<(char, usize)> {
    match *p.get(i)? {
        '\\' => Some((*p.get(i + 1)?, i + 2)),
        c => Some((c, i + 1)),
    }
}
