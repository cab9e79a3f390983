//! Templates in rule labels and annotations. (Interface placeholder.)

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    pub labels: BTreeMap<String, String>,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
    pub value: f64,
}

pub fn check(_text: &str) -> Result<(), String> {
    Ok(())
}

pub fn expand(
    _name: &str,
    text: &str,
    _data: &TemplateData,
    _t_ms: i64,
    _query: Option<&dyn crate::QueryEngine>,
) -> Result<String, String> {
    Ok(text.to_string())
}
