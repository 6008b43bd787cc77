//! The process's log subscriber: logfmt (default) or JSON lines on stderr.
//!
//! Libraries only emit `tracing` events; this is the one place a subscriber is installed.
//! The logfmt lines follow go-kit's layout, which Mimir writes and Loki's `| logfmt` parses:
//! `ts=2026-01-02T03:04:05.678Z level=info msg="service running" service=ingester`. Values
//! with spaces, `=` or quotes are quoted with Go-style escapes. JSON comes from
//! `tracing-subscriber`'s JSON formatter.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The level is not one of debug, info, warn, error.
    #[error("unknown log level {0:?}: use debug, info, warn or error")]
    Level(String),
    /// The format is not logfmt or json.
    #[error("unknown log format {0:?}: use logfmt or json")]
    Format(String),
    /// A subscriber was already installed.
    #[error("logging is already initialised")]
    AlreadySet,
}

/// Parses `-log.level`.
pub fn parse_level(level: &str) -> Result<LevelFilter, LoggingError> {
    match level {
        "debug" => Ok(LevelFilter::DEBUG),
        "info" => Ok(LevelFilter::INFO),
        "warn" => Ok(LevelFilter::WARN),
        "error" => Ok(LevelFilter::ERROR),
        other => Err(LoggingError::Level(other.to_owned())),
    }
}

/// Installs the global subscriber writing to stderr at `level` in `format`.
pub fn init(level: &str, format: &str) -> Result<(), LoggingError> {
    let level = parse_level(level)?;
    let result = match format {
        "logfmt" => tracing_subscriber::fmt()
            .event_format(Logfmt)
            .with_writer(std::io::stderr)
            .with_max_level(level)
            .try_init(),
        "json" => tracing_subscriber::fmt()
            .json()
            .with_target(false)
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .with_max_level(level)
            .try_init(),
        other => return Err(LoggingError::Format(other.to_owned())),
    };
    result.map_err(|_| LoggingError::AlreadySet)
}

/// Formats events as go-kit style logfmt lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str("ts=")?;
        SystemTime.format_time(&mut writer)?;
        let level = match *event.metadata().level() {
            Level::TRACE => "debug",
            Level::DEBUG => "debug",
            Level::INFO => "info",
            Level::WARN => "warn",
            Level::ERROR => "error",
        };
        write!(writer, " level={level}")?;
        let mut fields = LogfmtFields::default();
        event.record(&mut fields);
        if let Some(message) = &fields.message {
            writer.write_str(" msg=")?;
            write_value(&mut writer, message)?;
        }
        writer.write_str(&fields.rest)?;
        writeln!(writer)
    }
}

#[derive(Default)]
struct LogfmtFields {
    message: Option<String>,
    rest: String,
}

impl LogfmtFields {
    fn push(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
            return;
        }
        self.rest.push(' ');
        self.rest.push_str(field.name());
        self.rest.push('=');
        let _ = write_value(&mut self.rest, value);
    }
}

impl Visit for LogfmtFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, &value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"));
    }
}

/// Writes `value` bare when it is a plain token, else quoted with `\"`, `\\`, `\n` escapes.
fn write_value(out: &mut impl fmt::Write, value: &str) -> fmt::Result {
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c == '\\' || c.is_control());
    if !needs_quotes {
        return out.write_str(value);
    }
    out.write_char('"')?;
    for c in value.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if c.is_control() => write!(out, "\\u{:04x}", u32::from(c))?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_go_kit_style_lines() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(Logfmt)
            .with_writer(move || writer.clone())
            .with_max_level(LevelFilter::INFO)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                service = "ingester",
                count = 3,
                ok = true,
                "service running"
            );
            tracing::warn!(error = "a \"quoted\" = thing\nnext", "failed");
            tracing::debug!("filtered out");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("ts=20"), "{text}");
        assert!(
            lines[0]
                .ends_with(r#" level=info msg="service running" service=ingester count=3 ok=true"#),
            "{text}"
        );
        assert!(
            lines[1].ends_with(r#" level=warn msg=failed error="a \"quoted\" = thing\nnext""#),
            "{text}"
        );
    }

    #[test]
    fn rejects_unknown_levels() {
        assert!(parse_level("verbose").is_err());
        assert_eq!(parse_level("warn").unwrap(), LevelFilter::WARN);
    }
}
