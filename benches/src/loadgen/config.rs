//! The `norn-bench loadgen` command line: flags, their defaults and their validation.
//!
//! Flags take `--name value` or `--name=value`. Durations use Prometheus's notation (`500ms`,
//! `15s`, `2m`, `1h30m`, `1d`). Everything is checked before any request is built, so a typo
//! fails in one line instead of after a minute of encoding.

use std::path::PathBuf;
use std::time::Duration;

use crate::loadgen::http::{Endpoint, UrlError};

/// Usage text printed by `--help`.
pub const USAGE: &str = "\
Usage: norn-bench loadgen --url <remote write URL> [flags]

Plays simulated node_exporter scrapes into a Prometheus remote write 1.0 receiver.

  --url URL            remote write endpoint, e.g. http://127.0.0.1:8080/api/v1/push (required)
  --mode ingest        what to generate; only `ingest` exists today
  --series N           active series, spread over simulated hosts (default 100000)
  --interval D         scrape interval of the simulated targets (default 15s)
  --duration D         simulated time to send, a multiple of the interval (default 2m);
                       --window is the same flag
  --scrapes N          number of scrapes to send instead of --duration
  --rate R             samples per second to send; 0 sends back to back as fast as the
                       receiver takes them (max throughput); `realtime` = series/interval
                       (default 0)
  --concurrency N      HTTP/1.1 keep-alive connections (default 4)
  --batch N            series per request, like Prometheus's max_samples_per_send (default 2000)
  --tenant ID          X-Scope-OrgID header (default: none)
  --churn N            series replaced per hour of simulated time (default 0)
  --seed N             seed of the simulated values (default 1)
  --start-ms T         timestamp of the first scrape, Unix milliseconds (default: chosen so
                       that no sample is in the future when it is sent)
  --prebuffer-mib N    memory for requests encoded before the clock starts; beyond it a
                       producer thread encodes while the senders run (default 1024)
  --max-error-ratio F  fail (exit 1) when more than this fraction of requests failed
                       (default 0.01)
  --json FILE          also write the report as JSON to FILE
  --quiet              no progress lines on stderr
";

/// How fast samples are offered to the receiver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Send scrapes back to back; timestamps still advance by the interval.
    Unlimited,
    /// Samples per second, over all connections.
    SamplesPerSecond(f64),
    /// One scrape of every series per interval of wall-clock time.
    RealTime,
}

/// Everything one ingest run needs.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Where requests go.
    pub endpoint: Endpoint,
    /// Number of simulated active series.
    pub series: usize,
    /// Scrape interval of the simulated targets.
    pub interval: Duration,
    /// Number of scrapes of every series to send.
    pub scrapes: usize,
    /// Offered load.
    pub rate: Rate,
    /// Number of connections (and sender threads).
    pub concurrency: usize,
    /// Series per request.
    pub batch: usize,
    /// Value of the `X-Scope-OrgID` header, if any.
    pub tenant: Option<String>,
    /// Series replaced per hour of simulated time.
    pub churn_per_hour: u64,
    /// Seed of the simulated values.
    pub seed: u64,
    /// Timestamp of the first scrape in Unix milliseconds; `None` picks one.
    pub start_ms: Option<i64>,
    /// Bytes of encoded requests to prepare before the clock starts.
    pub prebuffer_bytes: usize,
    /// Largest tolerated fraction of failed requests.
    pub max_error_ratio: f64,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// Suppresses progress lines.
    pub quiet: bool,
}

impl IngestConfig {
    /// Samples per second the run should offer, or `None` for as fast as possible.
    pub fn samples_per_second(&self) -> Option<f64> {
        match self.rate {
            Rate::Unlimited => None,
            Rate::SamplesPerSecond(rate) => Some(rate),
            Rate::RealTime => Some(self.series as f64 / self.interval.as_secs_f64()),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Command {
    /// Print the usage text.
    Help,
    /// Run the ingest load.
    Ingest(Box<IngestConfig>),
}

/// A command line that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// No subcommand or an unknown one.
    #[error("unknown command {0:?}; the commands are `loadgen` and `query` (see --help)")]
    UnknownCommand(String),
    /// A flag this tool does not have.
    #[error("unknown flag {0}")]
    UnknownFlag(String),
    /// A flag without its value.
    #[error("flag {0} needs a value")]
    MissingValue(String),
    /// A value that does not parse or is out of range.
    #[error("invalid value {value:?} for {flag}: {reason}")]
    InvalidValue {
        /// The flag.
        flag: String,
        /// What was given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// `--url` was not given.
    #[error("--url is required")]
    MissingUrl,
    /// The URL is not a plain `http://` URL.
    #[error("--url: {0}")]
    Url(#[from] UrlError),
}

/// Parses the arguments after the program name.
pub fn parse_args<I>(args: I) -> Result<Command, ArgsError>
where
    I: IntoIterator<Item = String>,
{
    let mut args = args.into_iter();
    match args.next().as_deref() {
        None | Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("loadgen") => {}
        Some(other) => return Err(ArgsError::UnknownCommand(other.to_owned())),
    }
    let mut builder = Builder::default();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        if arg == "--quiet" {
            builder.quiet = true;
            continue;
        }
        let Some(stripped) = arg.strip_prefix("--") else {
            return Err(ArgsError::UnknownFlag(arg));
        };
        let (name, value) = match stripped.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => {
                let value = args
                    .next()
                    .ok_or_else(|| ArgsError::MissingValue(arg.clone()))?;
                (stripped.to_owned(), value)
            }
        };
        builder.set(&name, value)?;
    }
    builder
        .build()
        .map(|config| Command::Ingest(Box::new(config)))
}

/// Flag values as given, before the checks that involve several flags.
#[derive(Debug)]
struct Builder {
    url: Option<String>,
    series: usize,
    interval: Duration,
    duration: Duration,
    scrapes: Option<usize>,
    rate: Rate,
    concurrency: usize,
    batch: usize,
    tenant: Option<String>,
    churn_per_hour: u64,
    seed: u64,
    start_ms: Option<i64>,
    prebuffer_mib: usize,
    max_error_ratio: f64,
    json: Option<PathBuf>,
    quiet: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            url: None,
            series: 100_000,
            interval: Duration::from_secs(15),
            duration: Duration::from_secs(120),
            scrapes: None,
            rate: Rate::Unlimited,
            concurrency: 4,
            batch: 2000,
            tenant: None,
            churn_per_hour: 0,
            seed: 1,
            start_ms: None,
            prebuffer_mib: 1024,
            max_error_ratio: 0.01,
            json: None,
            quiet: false,
        }
    }
}

impl Builder {
    fn set(&mut self, name: &str, value: String) -> Result<(), ArgsError> {
        let flag = format!("--{name}");
        match name {
            "url" => self.url = Some(value),
            "mode" if value == "ingest" => {}
            "mode" => {
                return Err(invalid(&flag, &value, "only `ingest` is implemented"));
            }
            "series" => self.series = positive(&flag, &value)?,
            "interval" => self.interval = duration_flag(&flag, &value)?,
            "duration" | "window" => self.duration = duration_flag(&flag, &value)?,
            "scrapes" => self.scrapes = Some(positive(&flag, &value)?),
            "rate" => self.rate = parse_rate(&flag, &value)?,
            "concurrency" => self.concurrency = positive(&flag, &value)?,
            "batch" => self.batch = positive(&flag, &value)?,
            "tenant" if value.is_empty() => self.tenant = None,
            "tenant" => self.tenant = Some(value),
            "churn" => self.churn_per_hour = number(&flag, &value)?,
            "seed" => self.seed = number(&flag, &value)?,
            "start-ms" => self.start_ms = Some(number(&flag, &value)?),
            "prebuffer-mib" => self.prebuffer_mib = number(&flag, &value)?,
            "max-error-ratio" => {
                let ratio: f64 = number(&flag, &value)?;
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(invalid(&flag, &value, "must be between 0 and 1"));
                }
                self.max_error_ratio = ratio;
            }
            "json" => self.json = Some(PathBuf::from(value)),
            _ => return Err(ArgsError::UnknownFlag(flag)),
        }
        Ok(())
    }

    fn build(self) -> Result<IngestConfig, ArgsError> {
        let endpoint = Endpoint::parse(self.url.as_deref().ok_or(ArgsError::MissingUrl)?)?;
        let interval_ms = self.interval.as_millis();
        if interval_ms == 0 {
            return Err(invalid("--interval", "0", "must be at least 1ms"));
        }
        let scrapes = match self.scrapes {
            Some(scrapes) => scrapes,
            None => {
                let duration_ms = self.duration.as_millis();
                if duration_ms < interval_ms || !duration_ms.is_multiple_of(interval_ms) {
                    return Err(invalid(
                        "--duration",
                        &format!("{duration_ms}ms"),
                        "must be a positive multiple of --interval",
                    ));
                }
                usize::try_from(duration_ms / interval_ms).unwrap_or(usize::MAX)
            }
        };
        Ok(IngestConfig {
            endpoint,
            series: self.series,
            interval: self.interval,
            scrapes,
            rate: self.rate,
            concurrency: self.concurrency,
            batch: self.batch,
            tenant: self.tenant,
            churn_per_hour: self.churn_per_hour,
            seed: self.seed,
            start_ms: self.start_ms,
            prebuffer_bytes: self.prebuffer_mib.saturating_mul(1 << 20),
            max_error_ratio: self.max_error_ratio,
            json: self.json,
            quiet: self.quiet,
        })
    }
}

fn invalid(flag: &str, value: &str, reason: &str) -> ArgsError {
    ArgsError::InvalidValue {
        flag: flag.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, ArgsError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|error: T::Err| invalid(flag, value, &error.to_string()))
}

fn positive(flag: &str, value: &str) -> Result<usize, ArgsError> {
    match number::<usize>(flag, value)? {
        0 => Err(invalid(flag, value, "must be at least 1")),
        parsed => Ok(parsed),
    }
}

fn parse_rate(flag: &str, value: &str) -> Result<Rate, ArgsError> {
    if value == "realtime" {
        return Ok(Rate::RealTime);
    }
    let rate: f64 = number(flag, value)?;
    if !rate.is_finite() || rate < 0.0 {
        return Err(invalid(
            flag,
            value,
            "must be 0, a positive number or `realtime`",
        ));
    }
    Ok(if rate == 0.0 {
        Rate::Unlimited
    } else {
        Rate::SamplesPerSecond(rate)
    })
}

fn duration_flag(flag: &str, value: &str) -> Result<Duration, ArgsError> {
    parse_duration(value).map_err(|reason| invalid(flag, value, &reason))
}

/// Parses a Prometheus-style duration such as `15s`, `2m`, `1h30m` or `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".to_owned());
    }
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("{text:?} lacks a unit (ms, s, m, h, d)"))?;
        if digits == 0 {
            return Err(format!("{text:?} is not a duration"));
        }
        let amount: u64 = rest[..digits]
            .parse()
            .map_err(|error| format!("{text:?}: {error}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            other => return Err(format!("unknown unit {other:?} in {text:?}")),
        };
        rest = &rest[unit_len..];
        total_ms = amount
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| format!("{text:?} is too long"))?;
    }
    Ok(Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, ArgsError> {
        parse_args(args.iter().map(|arg| (*arg).to_owned()))
    }

    fn ingest(args: &[&str]) -> IngestConfig {
        match parse(args).unwrap() {
            Command::Ingest(config) => *config,
            Command::Help => panic!("expected a run"),
        }
    }

    #[test]
    fn durations_follow_prometheus_notation() {
        assert_eq!(parse_duration("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3w").is_err());
    }

    #[test]
    fn defaults_match_the_usage_text() {
        let config = ingest(&["loadgen", "--url", "http://127.0.0.1:9/api/v1/push"]);
        assert_eq!(config.series, 100_000);
        assert_eq!(config.scrapes, 8);
        assert_eq!(config.concurrency, 4);
        assert_eq!(config.batch, 2000);
        assert_eq!(config.rate, Rate::Unlimited);
        assert!(config.tenant.is_none());
    }

    #[test]
    fn flags_accept_both_spellings() {
        let config = ingest(&[
            "loadgen",
            "--url=http://localhost:8428/api/v1/write",
            "--series",
            "500",
            "--window=1h",
            "--interval",
            "30s",
            "--rate",
            "realtime",
            "--tenant=team-a",
        ]);
        assert_eq!(config.series, 500);
        assert_eq!(config.scrapes, 120);
        assert_eq!(config.tenant.as_deref(), Some("team-a"));
        assert_eq!(config.samples_per_second(), Some(500.0 / 30.0));
    }

    #[test]
    fn scrapes_override_duration() {
        let config = ingest(&["loadgen", "--url", "http://h:1/", "--scrapes", "20"]);
        assert_eq!(config.scrapes, 20);
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert!(matches!(parse(&["loadgen"]), Err(ArgsError::MissingUrl)));
        assert!(matches!(
            parse(&["query"]),
            Err(ArgsError::UnknownCommand(_))
        ));
        assert!(matches!(
            parse(&["loadgen", "--url", "http://h:1/", "--bogus", "1"]),
            Err(ArgsError::UnknownFlag(_))
        ));
        assert!(matches!(
            parse(&["loadgen", "--url", "http://h:1/", "--duration", "20s"]),
            Err(ArgsError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse(&["loadgen", "--url", "https://h:1/"]),
            Err(ArgsError::Url(_))
        ));
        assert!(matches!(
            parse(&["loadgen", "--url", "http://h:1/", "--series"]),
            Err(ArgsError::MissingValue(_))
        ));
    }
}
