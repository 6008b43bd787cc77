//! `norn-bench`: Norn's load tool. `norn-bench loadgen --url <remote write URL>` plays
//! simulated node_exporter scrapes into any remote write 1.0 receiver and reports samples/s,
//! latency percentiles and failures by status (see `docs/benchmarks.md`).
//!
//! Exit codes: 0 when the run finished with at most `--max-error-ratio` of its requests failed,
//! 1 when more failed or the run could not be carried out, 2 for a bad command line.

use std::io::Write as _;
use std::process::ExitCode;

use norn_benches::loadgen::config::{Command, USAGE, parse_args};
use norn_benches::loadgen::run::run_ingest;

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Ingest(config)) => config,
        Ok(Command::Help) => {
            let _ = std::io::stdout().write_all(USAGE.as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "norn-bench: {error}\n\n{USAGE}");
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
