//! `norn-bench`: Norn's load tool. `norn-bench loadgen --url <remote write URL>` plays
//! simulated node_exporter scrapes into any remote write 1.0 receiver and reports samples/s,
//! latency percentiles and failures by status; `norn-bench query --url <API base>` runs a fixed
//! query set against any Prometheus-compatible API and reports latencies and result
//! fingerprints (see `docs/benchmarks.md`).
//!
//! Exit codes: 0 when the run finished with at most `--max-error-ratio` of its requests failed
//! (`query`: every query answered 200), 1 when more failed or the run could not be carried out,
//! 2 for a bad command line.

use std::io::Write as _;
use std::process::ExitCode;

use norn_benches::loadgen::config::{Command, USAGE, parse_args};
use norn_benches::loadgen::run::run_ingest;
use norn_benches::query::config::{QUERY_USAGE, QueryConfig, parse_query_args};
use norn_benches::query::run::{run_queries, selected};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("query") {
        args.remove(0);
        if args.iter().any(|arg| arg == "-h" || arg == "--help") {
            let _ = std::io::stdout().write_all(QUERY_USAGE.as_bytes());
            return ExitCode::SUCCESS;
        }
        return match parse_query_args(args) {
            Ok(config) => query(&config),
            Err(error) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "norn-bench query: {error}\n\n{QUERY_USAGE}"
                );
                ExitCode::from(2)
            }
        };
    }
    let config = match parse_args(args) {
        Ok(Command::Ingest(config)) => config,
        Ok(Command::Help) => {
            let _ = std::io::stdout().write_all(format!("{USAGE}\n{QUERY_USAGE}").as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let _ = writeln!(
                std::io::stderr(),
                "norn-bench: {error}\n\n{USAGE}\n{QUERY_USAGE}"
            );
            return ExitCode::from(2);
        }
    };
    let report = match run_ingest(&config) {
        Ok(report) => report,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "norn-bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _ = std::io::stdout().write_all(report.to_text().as_bytes());
    if let Some(path) = &config.json {
        let written = report
            .to_json()
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json + "\n"));
        if let Err(error) = written {
            let _ = writeln!(
                std::io::stderr(),
                "norn-bench: cannot write {}: {error}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }
    if report.failed_ratio() > config.max_error_ratio {
        let _ = writeln!(
            std::io::stderr(),
            "norn-bench: {} of {} requests failed (more than {:.1}%)",
            report.requests_failed,
            report.requests,
            config.max_error_ratio * 100.0
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `norn-bench query`: runs the suite (or lists it) and writes the report.
fn query(config: &QueryConfig) -> ExitCode {
    if config.list {
        return match selected(config) {
            Ok(queries) => {
                let mut out = std::io::stdout();
                for query in queries {
                    let _ = writeln!(
                        out,
                        "{:<24} {:<12} {}",
                        query.name,
                        query.kind(),
                        query.text()
                    );
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                let _ = writeln!(std::io::stderr(), "norn-bench: {error}");
                ExitCode::from(2)
            }
        };
    }
    let report = match run_queries(config) {
        Ok(report) => report,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "norn-bench: {error}");
            return ExitCode::from(2);
        }
    };
    let _ = std::io::stdout().write_all(report.to_text().as_bytes());
    if let Some(path) = &config.json {
        let written = report
            .to_json()
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json + "\n"));
        if let Err(error) = written {
            let _ = writeln!(
                std::io::stderr(),
                "norn-bench: cannot write {}: {error}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }
    if report.failures() > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "norn-bench: {} of {} queries failed",
            report.failures(),
            report.queries.len()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
