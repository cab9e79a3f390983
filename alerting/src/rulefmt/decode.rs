//! The first YAML document of a rule file into raw records.
//!
//! Every field is optional here; [`super::validate`] decides what is required. The readers
//! are written by hand (serde seeds) rather than derived, for three things Prometheus's YAML
//! reader does that derived structs would not:
//! * an unknown field does not stop the reader: it is noted with its group and rule so that
//!   every one of them is reported (or, with `ignore_unknown_fields`, skipped);
//! * `null` or an empty value reads as the field's zero value (`expr:` is an empty
//!   expression, `labels:` no labels), and a scalar keeps its text as written (`1.10` stays
//!   `1.10`);
//! * merge keys (`<<: *anchor`, or a list of anchors) fill in the fields the mapping does not
//!   set itself; among merged mappings the first one wins.
//!
//! A key given twice in one mapping is an error, as in Prometheus.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The document: its groups, and the unknown fields met on the way.
#[derive(Debug, Default)]
pub(super) struct RawFile {
    pub groups: Vec<RawGroup>,
    pub unknown: Vec<UnknownField>,
}

#[derive(Debug, Default, Clone)]
pub(super) struct RawGroup {
    pub name: Option<String>,
    pub interval: Option<String>,
    pub query_offset: Option<String>,
    pub limit: Option<i64>,
    pub labels: Option<BTreeMap<String, String>>,
    pub rules: Option<Vec<RawRule>>,
}

#[derive(Debug, Default, Clone)]
pub(super) struct RawRule {
    pub record: Option<String>,
    pub alert: Option<String>,
    pub expr: Option<String>,
    pub for_: Option<String>,
    pub keep_firing_for: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A field the format does not have, with the 0-based group and rule it was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UnknownField {
    pub group: Option<usize>,
    pub rule: Option<usize>,
    pub field: String,
}

#[derive(Debug)]
pub(super) struct Decoded {
    pub file: RawFile,
    /// The text holds further YAML documents (ignored).
    pub more_documents: bool,
}

/// Malformed YAML, or a value of the wrong type.
#[derive(Debug)]
pub(super) struct DecodeError {
    pub line: Option<usize>,
    pub message: String,
}

pub(super) fn decode(text: &str, ignore_unknown_fields: bool) -> Result<Decoded, DecodeError> {
    let ctx = Ctx {
        strict: !ignore_unknown_fields,
        unknown: RefCell::new(Vec::new()),
    };
    let mut docs = yaml_serde::Deserializer::from_str(text);
    let groups = match docs.next() {
        None => Vec::new(),
        Some(doc) => OrDefault(FileSeed(&ctx))
            .deserialize(doc)
            .map_err(decode_error)?,
    };
    let more_documents = docs.next().is_some();
    Ok(Decoded {
        file: RawFile {
            groups,
            unknown: ctx.unknown.into_inner(),
        },
        more_documents,
    })
}

fn decode_error(e: yaml_serde::Error) -> DecodeError {
    let mut message = e.to_string();
    let line = e.location().map(|l| {
        // The position goes into the error's own field; drop the copy at the end.
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if let Some(m) = message.strip_suffix(&suffix) {
            message = m.to_string();
        }
        l.line()
    });
    DecodeError { line, message }
}

struct Ctx {
    strict: bool,
    unknown: RefCell<Vec<UnknownField>>,
}

impl Ctx {
    fn unknown<'de, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        key: String,
        group: Option<usize>,
        rule: Option<usize>,
    ) -> Result<(), A::Error> {
        map.next_value::<IgnoredAny>()?;
        if self.strict {
            self.unknown.borrow_mut().push(UnknownField {
                group,
                rule,
                field: key,
            });
        }
        Ok(())
    }
}

/// Records each key of a mapping; a second occurrence is an error.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn first<E: de::Error>(&mut self, key: &str) -> Result<(), E> {
        if self.0.iter().any(|k| k == key) {
            return Err(E::custom(format_args!(
                "field {key:?} is given more than once"
            )));
        }
        self.0.push(key.to_string());
        Ok(())
    }
}

/// A scalar as its text; `null` or nothing is the empty string.
fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<String>, A::Error> {
    Ok(Some(
        map.next_value::<Option<String>>()?.unwrap_or_default(),
    ))
}

/// Reads `null` (or nothing) as the default value, anything else with the inner seed.
struct OrDefault<S>(S);

impl<'de, S> DeserializeSeed<'de> for OrDefault<S>
where
    S: DeserializeSeed<'de>,
    S::Value: Default,
{
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S> Visitor<'de> for OrDefault<S>
where
    S: DeserializeSeed<'de>,
    S::Value: Default,
{
    type Value = S::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<S::Value, E> {
        Ok(S::Value::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<S::Value, E> {
        Ok(S::Value::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(d)
    }
}

/// A sequence whose `i`th element is read with the seed `make(i)`.
struct SeqOf<F>(F, &'static str);

impl<'de, F, S> DeserializeSeed<'de> for SeqOf<F>
where
    F: Fn(usize) -> S,
    S: DeserializeSeed<'de>,
{
    type Value = Vec<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F, S> Visitor<'de> for SeqOf<F>
where
    F: Fn(usize) -> S,
    S: DeserializeSeed<'de>,
{
    type Value = Vec<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed((self.0)(out.len()))? {
            out.push(v);
        }
        Ok(out)
    }
}

/// The value of a merge key: one mapping or a list of them, each read with the seed.
struct Merge<S>(S);

impl<'de, S> DeserializeSeed<'de> for Merge<S>
where
    S: DeserializeSeed<'de> + Copy,
{
    type Value = Vec<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S> Visitor<'de> for Merge<S>
where
    S: DeserializeSeed<'de> + Copy,
{
    type Value = Vec<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a list of mappings to merge")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(vec![self.0.deserialize(MapAccessDeserializer::new(map))?])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.0)? {
            out.push(v);
        }
        Ok(out)
    }
}

/// The top-level mapping: `groups:`.
#[derive(Clone, Copy)]
struct FileSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = Vec<RawGroup>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = Vec<RawGroup>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with `groups:`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut seen = Seen::default();
        let mut groups = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            seen.first(&key)?;
            match key.as_str() {
                "groups" => {
                    groups = map.next_value_seed(OrDefault(SeqOf(
                        |i| OrDefault(GroupSeed { ctx, group: i }),
                        "a list of rule groups",
                    )))?
                }
                _ => ctx.unknown(&mut map, key, None, None)?,
            }
        }
        Ok(groups)
    }
}

/// One group; `group` is its 0-based index in the file.
#[derive(Clone, Copy)]
struct GroupSeed<'c> {
    ctx: &'c Ctx,
    group: usize,
}

impl<'de> DeserializeSeed<'de> for GroupSeed<'_> {
    type Value = RawGroup;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawGroup, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for GroupSeed<'_> {
    type Value = RawGroup;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a rule group (a mapping with name and rules)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawGroup, A::Error> {
        let (ctx, group) = (self.ctx, self.group);
        let mut g = RawGroup::default();
        let mut merged = Vec::new();
        let mut seen = Seen::default();
        while let Some(key) = map.next_key::<String>()? {
            seen.first(&key)?;
            match key.as_str() {
                "name" => g.name = text(&mut map)?,
                "interval" => g.interval = text(&mut map)?,
                "query_offset" => g.query_offset = text(&mut map)?,
                "limit" => g.limit = Some(map.next_value::<Option<i64>>()?.unwrap_or(0)),
                "labels" => g.labels = Some(map.next_value_seed(OrDefault(LabelsSeed))?),
                "rules" => {
                    g.rules = Some(map.next_value_seed(OrDefault(SeqOf(
                        |rule| OrDefault(RuleSeed { ctx, group, rule }),
                        "a list of rules",
                    )))?)
                }
                "<<" => merged = map.next_value_seed(Merge(self))?,
                _ => ctx.unknown(&mut map, key, Some(group), None)?,
            }
        }
        for m in merged {
            g.name = g.name.or(m.name);
            g.interval = g.interval.or(m.interval);
            g.query_offset = g.query_offset.or(m.query_offset);
            g.limit = g.limit.or(m.limit);
            g.labels = g.labels.or(m.labels);
            g.rules = g.rules.or(m.rules);
        }
        Ok(g)
    }
}

/// One rule: `rule` is its 0-based index in group `group`.
#[derive(Clone, Copy)]
struct RuleSeed<'c> {
    ctx: &'c Ctx,
    group: usize,
    rule: usize,
}

impl<'de> DeserializeSeed<'de> for RuleSeed<'_> {
    type Value = RawRule;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawRule, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RuleSeed<'_> {
    type Value = RawRule;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a rule (a mapping with record or alert, and expr)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRule, A::Error> {
        let mut r = RawRule::default();
        let mut merged = Vec::new();
        let mut seen = Seen::default();
        while let Some(key) = map.next_key::<String>()? {
            seen.first(&key)?;
            match key.as_str() {
                "record" => r.record = text(&mut map)?,
                "alert" => r.alert = text(&mut map)?,
                "expr" => r.expr = text(&mut map)?,
                "for" => r.for_ = text(&mut map)?,
                "keep_firing_for" => r.keep_firing_for = text(&mut map)?,
                "labels" => r.labels = Some(map.next_value_seed(OrDefault(LabelsSeed))?),
                "annotations" => r.annotations = Some(map.next_value_seed(OrDefault(LabelsSeed))?),
                "<<" => merged = map.next_value_seed(Merge(self))?,
                _ => self
                    .ctx
                    .unknown(&mut map, key, Some(self.group), Some(self.rule))?,
            }
        }
        for m in merged {
            r.record = r.record.or(m.record);
            r.alert = r.alert.or(m.alert);
            r.expr = r.expr.or(m.expr);
            r.for_ = r.for_.or(m.for_);
            r.keep_firing_for = r.keep_firing_for.or(m.keep_firing_for);
            r.labels = r.labels.or(m.labels);
            r.annotations = r.annotations.or(m.annotations);
        }
        Ok(r)
    }
}

/// A mapping of names to text values (labels, annotations), merge keys applied.
#[derive(Clone, Copy)]
struct LabelsSeed;

impl<'de> DeserializeSeed<'de> for LabelsSeed {
    type Value = BTreeMap<String, String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LabelsSeed {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut merged = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "<<" {
                merged = map.next_value_seed(Merge(self))?;
                continue;
            }
            let value = map.next_value::<Option<String>>()?.unwrap_or_default();
            if out.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format_args!(
                    "{key:?} is given more than once"
                )));
            }
        }
        for m in merged {
            for (k, v) in m {
                out.entry(k).or_insert(v);
            }
        }
        Ok(out)
    }
}
