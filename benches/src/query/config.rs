//! The `norn-bench query` command line.

use std::path::PathBuf;
use std::time::Duration;

use crate::loadgen::config::{ArgsError, parse_duration};
use crate::loadgen::http::Endpoint;

/// Usage text of the `query` subcommand.
pub const QUERY_USAGE: &str = "\
Usage: norn-bench query --url <Prometheus API base URL> [flags]

Runs a fixed set of PromQL queries and label/series calls (see `--list` and
docs/benchmarks.md) against any Prometheus-compatible API and reports median/p99 latency and a
result fingerprint per query (equal fingerprints = equal answers).

  --url URL            API base, e.g. http://127.0.0.1:9090 (Prometheus),
                       http://127.0.0.1:8080/prometheus (Norn), http://127.0.0.1:8428 (VM)
  --time T             evaluation time, Unix seconds: the end of the data, so every target
                       sees the same window (default: now, rounded down to a second)
  --repeat N           timed runs of every query (default 5)
  --warmup N           untimed runs of every query first (default 1)
  --header 'K: V'      extra request header, repeatable (e.g. 'X-Scope-OrgID: tenant')
  --only A,B           run only the named queries
  --timeout D          per-request socket timeout (default 120s)
  --json FILE          also write the report as JSON to FILE
  --list               print the query set and exit
  --quiet              no progress lines on stderr
";

/// Everything a query run needs.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// The API base (host, port and base path).
    pub endpoint: Endpoint,
    /// Evaluation time in Unix seconds; `None` means now.
    pub time: Option<i64>,
    /// Timed runs per query.
    pub repeat: usize,
    /// Untimed runs per query before the timed ones.
    pub warmup: usize,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Names of the queries to run; empty runs all.
    pub only: Vec<String>,
    /// Socket timeout per request.
    pub timeout: Duration,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// Print the query set instead of running it.
    pub list: bool,
    /// No progress lines.
    pub quiet: bool,
}

/// Parses the arguments after `query`.
pub fn parse_query_args<I>(args: I) -> Result<QueryConfig, ArgsError>
where
    I: IntoIterator<Item = String>,
{
    let mut url = None;
    let mut config = QueryConfig {
        endpoint: Endpoint {
            host: String::new(),
            port: 0,
            path: String::new(),
            authority: String::new(),
        },
        time: None,
        repeat: 5,
        warmup: 1,
        headers: Vec::new(),
        only: Vec::new(),
        timeout: Duration::from_secs(120),
        json: None,
        list: false,
        quiet: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => {
                config.list = true;
                continue;
            }
            "--quiet" => {
                config.quiet = true;
                continue;
            }
            _ => {}
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
        let flag = format!("--{name}");
        match name.as_str() {
            "url" => url = Some(value),
            "time" => config.time = Some(number(&flag, &value)?),
            "repeat" => config.repeat = positive(&flag, &value)?,
            "warmup" => config.warmup = number(&flag, &value)?,
            "header" => {
                let (header, content) = value
                    .split_once(':')
                    .filter(|(header, _)| !header.trim().is_empty())
                    .ok_or_else(|| invalid(&flag, &value, "expected 'Name: value'"))?;
                config
                    .headers
                    .push((header.trim().to_owned(), content.trim().to_owned()));
            }
            "only" => {
                config.only = value
                    .split(',')
                    .map(|name| name.trim().to_owned())
                    .collect()
            }
            "timeout" => {
                config.timeout =
                    parse_duration(&value).map_err(|reason| invalid(&flag, &value, &reason))?;
                if config.timeout.is_zero() {
                    return Err(invalid(&flag, &value, "must be positive"));
                }
            }
            "json" => config.json = Some(PathBuf::from(value)),
            _ => return Err(ArgsError::UnknownFlag(flag)),
        }
    }
    if !config.list {
        config.endpoint = Endpoint::parse(url.as_deref().ok_or(ArgsError::MissingUrl)?)?;
    } else if let Some(url) = url {
        config.endpoint = Endpoint::parse(&url)?;
    }
    Ok(config)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<QueryConfig, ArgsError> {
        parse_query_args(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn flags_parse_with_defaults() {
        let config = parse(&[
            "--url",
            "http://127.0.0.1:8080/prometheus",
            "--time=1700000000",
            "--header",
            "X-Scope-OrgID: team-a",
            "--only",
            "labels, http_p99",
        ])
        .unwrap();
        assert_eq!(config.endpoint.path, "/prometheus");
        assert_eq!(config.time, Some(1_700_000_000));
        assert_eq!(
            config.headers,
            vec![("X-Scope-OrgID".to_owned(), "team-a".to_owned())]
        );
        assert_eq!(
            config.only,
            vec!["labels".to_owned(), "http_p99".to_owned()]
        );
        assert_eq!((config.repeat, config.warmup), (5, 1));
        assert_eq!(config.timeout, Duration::from_secs(120));
        assert!(parse(&["--list"]).unwrap().list);
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(matches!(parse(&[]), Err(ArgsError::MissingUrl)));
        assert!(matches!(
            parse(&["--url", "http://h:1", "--repeat", "0"]),
            Err(ArgsError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse(&["--url", "http://h:1", "--header", "novalue"]),
            Err(ArgsError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse(&["--url", "http://h:1", "--bogus=1"]),
            Err(ArgsError::UnknownFlag(_))
        ));
        assert!(matches!(
            parse(&["--url", "http://h:1", "--time"]),
            Err(ArgsError::MissingValue(_))
        ));
        assert!(matches!(
            parse(&["--url", "https://h:1"]),
            Err(ArgsError::Url(_))
        ));
    }
}
