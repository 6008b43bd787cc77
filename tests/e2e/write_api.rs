//! The write API's rules, limits and error handling, end to end: a whole node in-process,
//! remote write pushed over HTTP, and what was stored read back through remote read.
//!
//! Every refusal is checked three ways: the status code, the error ID (`err-norn-<id>`) and,
//! for limits, the flag named in the body, and what remote read returns afterwards (the valid
//! rest of a request stored, the refused part not). The expectations are Mimir's
//! (`pkg/distributor`, `pkg/ingester`, `pkg/util/globalerror`) with Norn's error-ID prefix.

mod bodies;
mod limits;
mod observability;
mod protocol;
mod tenancy;
mod validation;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use norn_e2e::remote::{Series, read_with};
use norn_e2e::{Response, get, request, wait_for};
use norn_server::RootConfig;
use norn_server::config::{Invocation, load_from_args};
use norn_server::run::assemble;
use tokio_util::sync::CancellationToken;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// A node running in-process on its own runtime; stopped (and its directory removed) on drop.
struct Node {
    address: SocketAddr,
    stop: CancellationToken,
    running: Option<tokio::task::JoinHandle<Result<(), norn_server::RunError>>>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// Points every directory of `config` into `dir` and listens on a free loopback port.
fn place_in(config: &mut RootConfig, dir: &Path) {
    config.server.http_listen_address = "127.0.0.1".into();
    config.server.http_listen_port = 0;
    config.blocks_storage.filesystem.dir = dir.join("blocks").display().to_string();
    config.blocks_storage.tsdb.dir = dir.join("tsdb").display().to_string();
    config.blocks_storage.bucket_store.sync_dir = dir.join("tsdb-sync").display().to_string();
    config.compactor.data_dir = dir.join("data-compactor").display().to_string();
}

impl Node {
    /// Starts a node with the default configuration changed by `configure` (which may write
    /// files, such as a runtime configuration, into the node's directory).
    fn start(configure: impl FnOnce(&mut RootConfig, &Path)) -> Self {
        Self::start_from(RootConfig::default(), configure)
    }

    /// Starts a node from a YAML configuration file, loaded as `-config.file` loads it.
    fn start_yaml(yaml: &str) -> Self {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), yaml).unwrap();
        let argument = format!("-config.file={}", file.path().display());
        let Invocation::Run(config) = load_from_args([argument], |_| None).unwrap() else {
            panic!("the configuration file was not loaded as a run");
        };
        Self::start_from(*config, |_, _| {})
    }

    fn start_from(mut config: RootConfig, configure: impl FnOnce(&mut RootConfig, &Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        place_in(&mut config, dir.path());
        configure(&mut config, dir.path());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let stop = CancellationToken::new();
        let (status, http, running) = {
            let _entered = runtime.enter();
            let node = assemble(config).unwrap();
            let status = node.status();
            let http = node.http();
            let running = runtime.spawn(node.run(stop.clone()));
            (status, http, running)
        };
        assert!(
            runtime.block_on(status.wait_until_running()),
            "node did not start: {:?}",
            status.states()
        );
        let address = http.local_address().expect("bound once running");
        let node = Self {
            address,
            stop,
            running: Some(running),
            runtime,
            _dir: dir,
        };
        let active = wait_for(Duration::from_secs(10), || {
            let ring = request(
                address,
                "GET",
                "/ingester/ring",
                &[("Accept", "application/json")],
                b"",
            )
            .ok()?;
            ring.body.contains("\"state\":\"ACTIVE\"").then_some(())
        });
        assert!(active.is_some(), "the ingester never became ACTIVE");
        node
    }

    /// Every series of `tenant` with a `job` label between 3h ago and 2h ahead, labels and
    /// series sorted.
    fn stored(&self, tenant: &str) -> Vec<Series> {
        self.stored_with(&[("X-Scope-OrgID", tenant)])
    }

    /// Like [`Node::stored`], authenticating with `headers`.
    fn stored_with(&self, headers: &[(&str, &str)]) -> Vec<Series> {
        let now = norn_e2e::remote::now_ms();
        match read_with(
            self.address,
            headers,
            &[("=~", "job", ".+")],
            now - 3 * HOUR_MS,
            now + 2 * HOUR_MS,
        ) {
            Ok(series) => normalized(series),
            Err(response) => panic!("remote read failed: {} {}", response.status, response.body),
        }
    }

    fn metrics(&self) -> String {
        let response = get(self.address, "/metrics").unwrap();
        assert_eq!(response.status, 200, "{}", response.body);
        response.body
    }

    fn assert_ready(&self) {
        let ready = get(self.address, "/ready").unwrap();
        assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    }

    /// `/api/v1/user_limits` of `tenant`, as JSON text.
    fn user_limits(&self, tenant: &str) -> String {
        let response = request(
            self.address,
            "GET",
            "/api/v1/user_limits",
            &[("X-Scope-OrgID", tenant)],
            b"",
        )
        .unwrap();
        assert_eq!(response.status, 200, "{}", response.body);
        response.body
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(running) = self.running.take() {
            let stopped = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(20), running).await });
            if !std::thread::panicking() {
                let result = stopped.expect("node stopped within 20s").unwrap();
                assert!(result.is_ok(), "node failed: {result:?}");
            }
        }
    }
}

/// Sorts each series' labels, then the series, so reads and expectations compare as sets.
fn normalized(mut series: Vec<Series>) -> Vec<Series> {
    for one in &mut series {
        one.labels.sort();
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    series
}

/// Checks a refusal: status, error ID and (for limits) the flag; returns what is wrong.
fn refusal_problem(
    response: &Response,
    status: u16,
    id: &str,
    flag: Option<&str>,
) -> Option<String> {
    let mut problems = Vec::new();
    if response.status != status {
        problems.push(format!("status {} (expected {status})", response.status));
    }
    if !response.body.contains(&format!("(err-norn-{id})")) {
        problems.push(format!("no (err-norn-{id})"));
    }
    if let Some(flag) = flag
        && !response.body.contains(&format!("-{flag}"))
    {
        problems.push(format!("flag -{flag} not named"));
    }
    (!problems.is_empty())
        .then(|| format!("{}; body: {}", problems.join(", "), response.body.trim()))
}

#[track_caller]
fn assert_refused(response: &Response, status: u16, id: &str, flag: Option<&str>) {
    if let Some(problem) = refusal_problem(response, status, id, flag) {
        panic!("{problem}");
    }
}

fn header_number(response: &Response, name: &str) -> Option<u64> {
    response.header(name).and_then(|value| value.parse().ok())
}

/// Two valid series for mixing with an invalid one.
fn valid_pair(t0: i64) -> [Series; 2] {
    [
        Series::new(
            &[("__name__", "up"), ("job", "good-a")],
            &[(t0, 1.0), (t0 + 1000, 2.0)],
        ),
        Series::new(&[("__name__", "up"), ("job", "good-b")], &[(t0, 3.0)]),
    ]
}
