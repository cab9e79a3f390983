//! Relabeling: `relabel_configs` and `metric_relabel_configs`, with Prometheus's semantics.
//!
//! Every step reads the values of `source_labels` joined by `separator`, matches them against
//! a fully anchored `regex` and acts. Templates (`target_label`, `replacement`) expand `$1`,
//! `${1}`, `$name` and `${name}` from the match; `$$` is a literal `$`.

use std::fmt;

use md5::{Digest, Md5};
use model::{Labels, LabelsBuilder};
use regex::Regex;
use serde::{Deserialize, Deserializer};

use crate::config::LabelName;
use crate::textparse::is_label_name;

/// What a relabel step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[default]
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return None,
        })
    }
}

/// A regex as written in the config, compiled fully anchored.
#[derive(Clone)]
pub struct RelabelRegex {
    source: String,
    re: Regex,
}

impl RelabelRegex {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        Ok(RelabelRegex {
            source: source.to_string(),
            re: Regex::new(&format!("^(?s:{source})$"))?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        RelabelRegex::new("(.*)").expect("the default regex compiles")
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, o: &Self) -> bool {
        self.source == o.source
    }
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RelabelRegex::new(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid regex {s:?}: {e}")))
    }
}

fn action<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
    let s = String::deserialize(d)?;
    Action::parse(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown relabel action {s:?}")))
}

fn default_separator() -> String {
    ";".into()
}
fn default_replacement() -> String {
    "$1".into()
}

/// One relabel step, as written in YAML and checked as Prometheus checks it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawRelabelConfig")]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: RelabelRegex,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: Action,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    #[serde(default)]
    source_labels: Vec<LabelName>,
    #[serde(default = "default_separator")]
    separator: String,
    #[serde(default)]
    regex: RelabelRegex,
    #[serde(default)]
    modulus: u64,
    #[serde(default)]
    target_label: String,
    #[serde(default = "default_replacement")]
    replacement: String,
    #[serde(default, deserialize_with = "action")]
    action: Action,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: default_separator(),
            regex: RelabelRegex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: default_replacement(),
            action: Action::Replace,
        }
    }
}

/// `target_label` of a replace step may hold `$1`-style references.
fn is_label_name_template(s: &str) -> bool {
    // A name made of word characters and `$name` / `${name}` references.
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' => {
                i += 1;
                if i < b.len() && b[i] == b'{' {
                    let end = match s[i..].find('}') {
                        Some(e) => i + e,
                        None => return false,
                    };
                    let inner = &s[i + 1..end];
                    if inner.is_empty()
                        || !inner
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        return false;
                    }
                    i = end + 1;
                } else {
                    let start = i;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                    if i == start {
                        return false;
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => i += 1,
            _ => return false,
        }
    }
    !b[0].is_ascii_digit()
}

impl TryFrom<RawRelabelConfig> for RelabelConfig {
    type Error = String;

    fn try_from(r: RawRelabelConfig) -> Result<Self, String> {
        let c = RelabelConfig {
            source_labels: r.source_labels.into_iter().map(|l| l.0).collect(),
            separator: r.separator,
            regex: r.regex,
            modulus: r.modulus,
            target_label: r.target_label,
            replacement: r.replacement,
            action: r.action,
        };
        c.validate()?;
        Ok(c)
    }
}

impl RelabelConfig {
    /// Prometheus's rules for which fields each action needs and forbids.
    pub fn validate(&self) -> Result<(), String> {
        use Action::*;
        let a = format!("{:?}", self.action).to_lowercase();
        if self.action == HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            self.action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {a} action requires 'target_label' value"
            ));
        }
        match self.action {
            Replace if !is_label_name_template(&self.target_label) => {
                return Err(format!(
                    "{:?} is invalid 'target_label' for {a} action",
                    self.target_label
                ));
            }
            Lowercase | Uppercase | KeepEqual | DropEqual | HashMod
                if !is_label_name(&self.target_label) =>
            {
                return Err(format!(
                    "{:?} is invalid 'target_label' for {a} action",
                    self.target_label
                ));
            }
            LabelMap if !is_label_name_template(&self.replacement) => {
                return Err(format!(
                    "{:?} is invalid 'replacement' for {a} action",
                    self.replacement
                ));
            }
            _ => {}
        }
        if matches!(self.action, Lowercase | Uppercase | KeepEqual | DropEqual)
            && self.replacement != default_replacement()
        {
            return Err(format!("'replacement' can not be set for {a} action"));
        }
        if matches!(self.action, KeepEqual | DropEqual)
            && (self.regex != RelabelRegex::default()
                || self.modulus != 0
                || self.separator != default_separator())
        {
            return Err(format!(
                "'regex', 'modulus' and 'separator' can not be set for {a} action"
            ));
        }
        if matches!(self.action, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != default_separator()
                || self.replacement != default_replacement())
        {
            return Err(format!(
                "{a} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }
}

/// Parses a YAML list of relabel steps, as written under `relabel_configs:`.
pub fn parse_list(yaml: &str) -> Result<Vec<RelabelConfig>, String> {
    yaml_serde::from_str(yaml).map_err(|e| e.to_string())
}

/// Applies `steps` to `lb` in order. Returns false if a step dropped the set or it ended
/// empty; `lb` then holds whatever was left.
pub fn process(lb: &mut LabelsBuilder, steps: &[RelabelConfig]) -> bool {
    for s in steps {
        if !step(lb, s) {
            return false;
        }
    }
    !lb.labels().is_empty()
}

/// Convenience: relabels a whole set; `None` if dropped.
pub fn process_labels(labels: &Labels, steps: &[RelabelConfig]) -> Option<Labels> {
    let mut lb = labels.to_builder();
    process(&mut lb, steps).then(|| lb.build())
}

fn step(lb: &mut LabelsBuilder, s: &RelabelConfig) -> bool {
    let val = {
        let mut v = String::new();
        for (i, n) in s.source_labels.iter().enumerate() {
            if i > 0 {
                v.push_str(&s.separator);
            }
            v.push_str(lb.get(n));
        }
        v
    };
    match s.action {
        Action::Drop => return !s.regex.is_match(&val),
        Action::Keep => return s.regex.is_match(&val),
        Action::DropEqual => return lb.get(&s.target_label) != val,
        Action::KeepEqual => return lb.get(&s.target_label) == val,
        Action::Replace => {
            let Some(caps) = s.regex.re.captures(&val) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&s.target_label, &mut target);
            if !is_label_name(&target) {
                return true;
            }
            let mut res = String::new();
            caps.expand(&s.replacement, &mut res);
            if res.is_empty() {
                lb.del(&target);
            } else {
                lb.set(target, res);
            }
        }
        Action::Lowercase => {
            lb.set(s.target_label.as_str(), val.to_lowercase());
        }
        Action::Uppercase => {
            lb.set(s.target_label.as_str(), val.to_uppercase());
        }
        Action::HashMod => {
            let h = Md5::digest(val.as_bytes());
            let mut tail = [0u8; 8];
            tail.copy_from_slice(&h[8..]);
            let m = u64::from_be_bytes(tail) % s.modulus;
            lb.set(s.target_label.as_str(), m.to_string());
        }
        Action::LabelMap => {
            let mut add = Vec::new();
            for l in lb.labels() {
                if let Some(caps) = s.regex.re.captures(&l.name) {
                    let mut name = String::new();
                    caps.expand(&s.replacement, &mut name);
                    add.push((name, l.value.clone()));
                }
            }
            for (n, v) in add {
                lb.set(n, v);
            }
        }
        Action::LabelDrop => {
            lb.retain(|l| !s.regex.is_match(&l.name));
        }
        Action::LabelKeep => {
            lb.retain(|l| s.regex.is_match(&l.name));
        }
    }
    true
}

#[cfg(test)]
mod tests;
