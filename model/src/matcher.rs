//! PromQL label matchers: `=`, `!=`, `=~`, `!~`.
//!
//! Regexes are fully anchored as Prometheus anchors them (`^(?s:<re>)$`), so `a.*` matches
//! `abc` but not `xabc`, and `.` matches a newline. A label that is absent has the value `""`,
//! so matchers that match the empty string also select series without the label.

use std::fmt;

use regex::Regex;

/// The kind of a label matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchType {
    Equal,
    NotEqual,
    RegexMatch,
    RegexNoMatch,
}

impl MatchType {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::RegexMatch => "=~",
            MatchType::RegexNoMatch => "!~",
        }
    }
}

/// A label matcher. Construct with [`Matcher::new`], which compiles regexes once.
#[derive(Clone)]
pub struct Matcher {
    pub kind: MatchType,
    pub name: String,
    pub value: String,
    re: Option<Regex>,
    /// For regexes that are a plain alternation of literals (`a|b|c`), the literals: the
    /// index can look them up directly instead of testing every value.
    set: Option<Vec<String>>,
}

impl Matcher {
    /// Builds a matcher; a regex that does not compile is an error naming the pattern.
    pub fn new(
        kind: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, String> {
        let name = name.into();
        let value = value.into();
        let (re, set) = match kind {
            MatchType::RegexMatch | MatchType::RegexNoMatch => {
                let re = Regex::new(&format!("^(?s:{value})$"))
                    .map_err(|e| format!("invalid regular expression {value:?}: {e}"))?;
                (Some(re), literal_alternation(&value))
            }
            _ => (None, None),
        };
        Ok(Matcher {
            kind,
            name,
            value,
            re,
            set,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(MatchType::Equal, name, value).expect("equality matchers always build")
    }

    /// True if the label value `v` (`""` when absent) satisfies the matcher.
    #[inline]
    pub fn matches(&self, v: &str) -> bool {
        match self.kind {
            MatchType::Equal => self.value == v,
            MatchType::NotEqual => self.value != v,
            MatchType::RegexMatch => self.regex_matches(v),
            MatchType::RegexNoMatch => !self.regex_matches(v),
        }
    }

    #[inline]
    fn regex_matches(&self, v: &str) -> bool {
        if let Some(set) = &self.set {
            return set.iter().any(|s| s == v);
        }
        self.re.as_ref().is_some_and(|re| re.is_match(v))
    }

    /// True if this matcher selects series that do not have the label at all.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=` the one value, and for `=~` a plain alternation of literals, the values the
    /// matcher accepts; `None` when it cannot be listed.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match self.kind {
            MatchType::Equal => Some(vec![self.value.as_str()]),
            MatchType::RegexMatch => self
                .set
                .as_ref()
                .map(|s| s.iter().map(|s| s.as_str()).collect()),
            _ => None,
        }
    }

    /// The inverse matcher (`=` ↔ `!=`, `=~` ↔ `!~`).
    pub fn inverse(&self) -> Matcher {
        let kind = match self.kind {
            MatchType::Equal => MatchType::NotEqual,
            MatchType::NotEqual => MatchType::Equal,
            MatchType::RegexMatch => MatchType::RegexNoMatch,
            MatchType::RegexNoMatch => MatchType::RegexMatch,
        };
        Matcher {
            kind,
            ..self.clone()
        }
    }
}

/// `a|b|c` with only literal characters (letters, digits, `_`, `-`, `:`, `/`, space) is a
/// set of exact strings. Anything with regex metacharacters returns `None`.
fn literal_alternation(re: &str) -> Option<Vec<String>> {
    if re.is_empty() {
        return Some(vec![String::new()]);
    }
    let mut out = Vec::new();
    for part in re.split('|') {
        if !part
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '/' | ' ' | ','))
        {
            return None;
        }
        out.push(part.to_string());
    }
    Some(out)
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.kind.as_str(), self.value)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.name == other.name && self.value == other.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MatchType, v: &str) -> Matcher {
        Matcher::new(kind, "l", v).unwrap()
    }

    #[test]
    fn regexes_are_fully_anchored() {
        let r = m(MatchType::RegexMatch, "a.*");
        assert!(r.matches("abc"));
        assert!(!r.matches("xabc"));
        let r = m(MatchType::RegexMatch, "b");
        assert!(!r.matches("abc"));
        let r = m(MatchType::RegexMatch, "a|b");
        assert!(r.matches("a") && r.matches("b") && !r.matches("ab"));
        // `.` matches newlines, as with Prometheus's (?s) flag.
        assert!(m(MatchType::RegexMatch, "a.b").matches("a\nb"));
    }

    #[test]
    fn empty_matching() {
        assert!(m(MatchType::Equal, "").matches_empty());
        assert!(!m(MatchType::NotEqual, "").matches_empty());
        assert!(m(MatchType::RegexMatch, ".*").matches_empty());
        assert!(!m(MatchType::RegexMatch, ".+").matches_empty());
        assert!(m(MatchType::RegexNoMatch, ".+").matches_empty());
        assert!(m(MatchType::RegexMatch, "").matches_empty());
        assert!(m(MatchType::NotEqual, "x").matches_empty());
    }

    #[test]
    fn literal_sets() {
        assert_eq!(
            m(MatchType::RegexMatch, "foo|bar").set_matches(),
            Some(vec!["foo", "bar"])
        );
        assert_eq!(m(MatchType::RegexMatch, "foo.*").set_matches(), None);
        assert_eq!(m(MatchType::RegexNoMatch, "foo").set_matches(), None);
    }

    #[test]
    fn bad_regex_is_an_error() {
        let e = Matcher::new(MatchType::RegexMatch, "l", "(").unwrap_err();
        assert!(e.contains("invalid regular expression"), "{e}");
    }
}
