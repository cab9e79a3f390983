//! Log output: `tracing` events written to stderr as logfmt or JSON lines.
//!
//! ```text
//! time=2025-01-02T03:04:05.678901Z level=info source=daemon::http msg="HTTP server listening" address=127.0.0.1:9090
//! {"time":"2025-01-02T03:04:05.678901Z","level":"info","source":"daemon::http","msg":"HTTP server listening","address":"127.0.0.1:9090"}
//! ```
//!
//! `source` is the module that logged. Fields keep their order; in JSON, integers, floats and
//! booleans stay numbers and booleans.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `--log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// Installs the global subscriber for `--log.level` (debug, info, warn, error) and
/// `--log.format` (logfmt, json). Fails only if one is already installed.
pub fn init(level: &str, format: &str) -> anyhow::Result<()> {
    let filter = match level {
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    let format = if format == "json" {
        LogFormat::Json
    } else {
        LogFormat::Logfmt
    };
    tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(std::io::stderr)
        .event_format(LineFormat(format))
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

/// Formats one event as one line.
#[derive(Debug, Clone, Copy)]
pub struct LineFormat(pub LogFormat);

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut time = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut time))?;
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let line = Line {
            time: &time,
            level: level_str(*meta.level()),
            source: meta.target(),
            fields: &fields,
        };
        let mut out = String::with_capacity(128);
        match self.0 {
            LogFormat::Logfmt => line.logfmt(&mut out)?,
            LogFormat::Json => line.json(&mut out)?,
        }
        writer.write_str(&out)
    }
}

fn level_str(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// A field value, keeping its type for JSON.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

/// The message and the other fields of an event, in order.
#[derive(Debug, Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, Value)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        match (field.name(), value) {
            ("message", Value::Str(s)) => self.message = s,
            (name, value) => self.pairs.push((name, value)),
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::Str(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Str(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, Value::Str(value.to_string()));
    }
}

struct Line<'a> {
    time: &'a str,
    level: &'static str,
    source: &'a str,
    fields: &'a Fields,
}

impl Line<'_> {
    fn logfmt(&self, out: &mut String) -> fmt::Result {
        write!(out, "time={} level={} source=", self.time, self.level)?;
        logfmt_value(out, self.source);
        out.push_str(" msg=");
        logfmt_value(out, &self.fields.message);
        for (name, value) in &self.fields.pairs {
            write!(out, " {name}=")?;
            match value {
                Value::Str(s) => logfmt_value(out, s),
                Value::I64(v) => write!(out, "{v}")?,
                Value::U64(v) => write!(out, "{v}")?,
                Value::F64(v) => write!(out, "{v}")?,
                Value::Bool(v) => write!(out, "{v}")?,
            }
        }
        out.push('\n');
        Ok(())
    }

    fn json(&self, out: &mut String) -> fmt::Result {
        out.push_str("{\"time\":");
        json_string(out, self.time);
        out.push_str(",\"level\":");
        json_string(out, self.level);
        out.push_str(",\"source\":");
        json_string(out, self.source);
        out.push_str(",\"msg\":");
        json_string(out, &self.fields.message);
        for (name, value) in &self.fields.pairs {
            out.push(',');
            json_string(out, name);
            out.push(':');
            match value {
                Value::Str(s) => json_string(out, s),
                Value::I64(v) => write!(out, "{v}")?,
                Value::U64(v) => write!(out, "{v}")?,
                // JSON has no NaN or infinities: those are written as strings.
                Value::F64(v) if v.is_finite() => write!(out, "{v}")?,
                Value::F64(v) => json_string(out, &v.to_string()),
                Value::Bool(v) => write!(out, "{v}")?,
            }
        }
        out.push_str("}\n");
        Ok(())
    }
}

/// Writes a logfmt value: bare when it is a plain word, otherwise quoted with `"` and `\`
/// escaped and control characters written as escapes.
fn logfmt_value(out: &mut String, s: &str) {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c > ' ' && c != '"' && c != '=' && c != '\\' && !c.is_control());
    if plain {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(message: &str, pairs: Vec<(&'static str, Value)>) -> Fields {
        Fields {
            message: message.to_string(),
            pairs,
        }
    }

    fn render(format: LogFormat, f: &Fields) -> String {
        let line = Line {
            time: "2025-01-02T03:04:05.000001Z",
            level: "info",
            source: "daemon::http",
            fields: f,
        };
        let mut out = String::new();
        match format {
            LogFormat::Logfmt => line.logfmt(&mut out).unwrap(),
            LogFormat::Json => line.json(&mut out).unwrap(),
        }
        out
    }

    #[test]
    fn logfmt_quotes_only_when_needed() {
        let f = fields(
            "HTTP server listening",
            vec![
                ("address", Value::Str("127.0.0.1:9090".into())),
                ("err", Value::Str("bad \"x\" \\ y\nz".into())),
                ("empty", Value::Str(String::new())),
                ("n", Value::U64(3)),
                ("ok", Value::Bool(true)),
            ],
        );
        assert_eq!(
            render(LogFormat::Logfmt, &f),
            "time=2025-01-02T03:04:05.000001Z level=info source=daemon::http \
             msg=\"HTTP server listening\" address=127.0.0.1:9090 \
             err=\"bad \\\"x\\\" \\\\ y\\nz\" empty=\"\" n=3 ok=true\n"
        );
    }

    #[test]
    fn json_keeps_types_and_order() {
        let f = fields(
            "done",
            vec![
                ("path", Value::Str("a\"b".into())),
                ("n", Value::I64(-2)),
                ("ratio", Value::F64(0.5)),
                ("nan", Value::F64(f64::NAN)),
                ("ok", Value::Bool(false)),
            ],
        );
        let out = render(LogFormat::Json, &f);
        assert_eq!(
            out,
            "{\"time\":\"2025-01-02T03:04:05.000001Z\",\"level\":\"info\",\"source\":\"daemon::http\",\
             \"msg\":\"done\",\"path\":\"a\\\"b\",\"n\":-2,\"ratio\":0.5,\"nan\":\"NaN\",\"ok\":false}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(parsed["n"], -2);
    }
}
