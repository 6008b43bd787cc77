//! The process's log subscriber: logfmt (default) or JSON lines on stderr.
//!
//! Libraries only emit `tracing` events; this is the one place a subscriber is installed. The
//! logfmt output comes from `tracing-logfmt`, which writes `ts=… level=… msg=… key=value` lines
//! that Loki and Mimir operators already parse; JSON comes from `tracing-subscriber`.

use tracing::level_filters::LevelFilter;

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
        "logfmt" => tracing_logfmt::builder()
            .with_target(false)
            .with_span_name(false)
            .with_span_path(false)
            .subscriber_builder()
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
