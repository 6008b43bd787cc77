//! The `norn` binary: parses the command line, sets up logging and runs the modules chosen by
//! `-target` until SIGTERM or SIGINT. Everything else lives in `norn-server`.
//!
//! Exit codes: 0 after a clean shutdown (or `-help`/`-version`), 1 when the configuration is
//! invalid (reported in one line on stderr before anything is bound), when a service fails, or
//! when shutdown overruns `-server.graceful-shutdown-timeout`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use anyhow::Context as _;
use norn_server::config::{Invocation, load_from_args};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let invocation = match load_from_args(std::env::args().skip(1), |name| std::env::var(name).ok())
    {
        Ok(invocation) => invocation,
        Err(error) => {
            eprintln!("error loading config: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = match invocation {
        // Written without `print!`, which panics when the reader has gone (`norn -help | head`).
        Invocation::Help(text) => return write_stdout(&text),
        Invocation::Version(text) => return write_stdout(&format!("{text}\n")),
        Invocation::Run(config) => *config,
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: norn_server::RootConfig) -> anyhow::Result<()> {
    norn_server::logging::init(&config.server.log_level, &config.server.log_format)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("norn")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let stop = CancellationToken::new();
        tokio::spawn(stop_on_signal(stop.clone()));
        tracing::info!(
            version = norn_server::VERSION,
            revision = norn_server::REVISION,
            target = %config.target,
            "starting norn"
        );
        norn_server::run(config, stop).await?;
        tracing::info!("norn stopped");
        Ok(())
    })
}

/// Cancels `stop` on the first SIGTERM or SIGINT.
async fn stop_on_signal(stop: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop norn with SIGKILL");
        return;
    };
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "received signal, shutting down");
    stop.cancel();
}

/// Writes `text` to standard output; a reader that closed the pipe early is not an error.
fn write_stdout(text: &str) -> ExitCode {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error writing to stdout: {error}");
            ExitCode::FAILURE
        }
    }
}
