//! Where groups, rules and their fields start in a rule file, for error messages.
//!
//! serde hands over values without positions, so the positions are found again from the
//! text: rule files are block-style YAML, where a sequence item is a `-` at a fixed column
//! and a mapping's keys share a column. The scan skips comments and block scalar bodies
//! (`expr: |` and the lines below it) and stops at the end of the first document. It does
//! not follow flow style (`rules: [{...}]`) or merge keys; callers compare the counts it
//! finds with the decoded ones and fall back to an enclosing line where they differ.

/// The positions in one file. Lines are 1-based.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Outline {
    /// Top-level keys (`groups`, and any unknown ones) with their lines.
    pub top_keys: Vec<(String, usize)>,
    pub groups: Vec<Item>,
}

/// A sequence item: a group, or a rule of a group.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Item {
    /// The line of the item's `-`.
    pub line: usize,
    /// The item's own keys with their lines.
    pub keys: Vec<(String, usize)>,
    /// For a group, its rules.
    pub rules: Vec<Item>,
}

impl Item {
    pub fn key_line(&self, key: &str) -> Option<usize> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, l)| *l)
    }
}

impl Outline {
    pub fn of(text: &str) -> Outline {
        let lines = lines(text);
        let mut o = Outline::default();
        let Some(first) = lines.first() else {
            return o;
        };
        if first.dash {
            return o;
        }
        let top = first.col;
        for (i, l) in lines.iter().enumerate() {
            if l.col != top || l.dash {
                continue;
            }
            if let Some((key, value)) = key_of(l.text) {
                if key == "groups" && opens_block(value) {
                    o.groups = items(&lines[i + 1..], top, true);
                }
                o.top_keys.push((key, l.no));
            }
        }
        o
    }

    pub fn top_key_line(&self, key: &str) -> Option<usize> {
        self.top_keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, l)| *l)
    }
}

/// A line of content. A line `- key: value` gives two: the `-` and `key: value` at the
/// column where it starts.
#[derive(Debug)]
struct Line<'a> {
    no: usize,
    col: usize,
    text: &'a str,
    dash: bool,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    // Inside a block scalar whose key is at this column: lines indented further are its text.
    let mut block: Option<usize> = None;
    let mut started = false;
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let t = raw.trim_start_matches(' ');
        let mut col = raw.len() - t.len();
        let mut t = t.trim_end();
        if let Some(owner) = block {
            if t.is_empty() || col > owner {
                continue;
            }
            block = None;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if col == 0 {
            let marker = |m: &str| {
                t.strip_prefix(m)
                    .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
            };
            if marker("---") {
                if started {
                    break;
                }
                continue;
            }
            if marker("...") {
                break;
            }
            if t.starts_with('%') {
                continue;
            }
        }
        started = true;
        while t == "-" || t.starts_with("- ") {
            out.push(Line {
                no,
                col,
                text: "-",
                dash: true,
            });
            let rest = &t[1..];
            let r = rest.trim_start_matches(' ');
            col += 1 + rest.len() - r.len();
            t = r;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        out.push(Line {
            no,
            col,
            text: t,
            dash: false,
        });
        let value = key_of(t).map_or(t, |(_, v)| v);
        if is_block_scalar(value) {
            block = Some(col);
        }
    }
    out
}

/// The items of a block sequence that starts right after a key at column `parent` (its
/// `-` may sit at that column or further in). With `rules`, each item's `rules:` is read too.
fn items(lines: &[Line<'_>], parent: usize, rules: bool) -> Vec<Item> {
    let Some(first) = lines.first() else {
        return Vec::new();
    };
    if !first.dash || first.col < parent {
        return Vec::new();
    }
    let c = first.col;
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() && lines[i].col == c && lines[i].dash {
        let end = lines[i + 1..]
            .iter()
            .position(|l| l.col <= c)
            .map_or(lines.len(), |p| i + 1 + p);
        out.push(item(lines[i].no, &lines[i + 1..end], rules));
        i = end;
    }
    out
}

fn item(line: usize, body: &[Line<'_>], rules: bool) -> Item {
    let mut it = Item {
        line,
        ..Item::default()
    };
    // The first key fixes the mapping's column (an anchor such as `- &name` comes before it).
    let Some(k) = body
        .iter()
        .find(|l| !l.dash && key_of(l.text).is_some())
        .map(|l| l.col)
    else {
        return it;
    };
    for (j, l) in body.iter().enumerate() {
        if l.col != k || l.dash {
            continue;
        }
        if let Some((key, value)) = key_of(l.text) {
            if rules && key == "rules" && opens_block(value) {
                it.rules = items(&body[j + 1..], k, false);
            }
            it.keys.push((key, l.no));
        }
    }
    it
}

/// `key: value` (or `key:`): the key without quotes and the rest after the colon.
fn key_of(t: &str) -> Option<(String, &str)> {
    let (key, rest) = match t.chars().next()? {
        q @ ('"' | '\'') => {
            let end = t[1..].find(q)? + 1;
            (t[1..end].to_string(), &t[end + 1..])
        }
        '{' | '[' | '?' | '&' | '!' | '*' | '|' | '>' => return None,
        _ => {
            let end = t
                .match_indices(':')
                .map(|(p, _)| p)
                .find(|&p| t[p + 1..].is_empty() || t[p + 1..].starts_with([' ', '\t']))?;
            (t[..end].trim_end().to_string(), &t[end..])
        }
    };
    let rest = rest.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, rest.trim()))
}

/// The value part of a line, without anchors, tags and a trailing comment.
fn bare(value: &str) -> &str {
    let mut v = value.trim();
    while v.starts_with(['&', '!']) {
        v = v.split_once(' ').map_or("", |(_, r)| r).trim_start();
    }
    if v.starts_with('#') {
        return "";
    }
    match v.find(" #") {
        Some(p) => v[..p].trim_end(),
        None => v,
    }
}

/// Nothing follows the key on its line: its value is the block below.
fn opens_block(value: &str) -> bool {
    bare(value).is_empty()
}

/// `|`, `>`, with optional chomping and indentation indicators.
fn is_block_scalar(value: &str) -> bool {
    let v = bare(value);
    v.starts_with(['|', '>'])
        && v[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_groups_rules_and_keys() {
        let text = "\
# comment
groups:
- name: a
  rules:
  - alert: X
    expr: |
      up
      - not a rule
    for: 5m
  - record: y
    expr: z
- &g
  name: b
  interval: 1m
  rules:
    - record: q   # c
      expr: >-
        w
    -
      record: r
      expr: s
---
groups:
- name: ignored
";
        let o = Outline::of(text);
        assert_eq!(o.top_keys, [("groups".to_string(), 2)]);
        assert_eq!(o.groups.len(), 2);
        let a = &o.groups[0];
        assert_eq!(a.line, 3);
        assert_eq!(a.key_line("rules"), Some(4));
        assert_eq!(a.rules.iter().map(|r| r.line).collect::<Vec<_>>(), [5, 10]);
        assert_eq!(a.rules[0].key_line("expr"), Some(6));
        assert_eq!(a.rules[0].key_line("for"), Some(9));
        let b = &o.groups[1];
        assert_eq!((b.line, b.key_line("name")), (12, Some(13)));
        assert_eq!(b.rules.iter().map(|r| r.line).collect::<Vec<_>>(), [16, 19]);
        assert_eq!(b.rules[1].key_line("record"), Some(20));
    }

    #[test]
    fn flow_style_and_odd_input_give_no_items() {
        assert!(
            Outline::of("groups: [{name: a, rules: []}]")
                .groups
                .is_empty()
        );
        assert!(Outline::of("- a\n- b\n").groups.is_empty());
        assert_eq!(Outline::of(""), Outline::default());
        let o = Outline::of("\"groups\":\n  - \"name\": x\n");
        assert_eq!(o.groups[0].key_line("name"), Some(2));
    }
}
