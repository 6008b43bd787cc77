//! The real remote-write clients the tests run — Prometheus and vmagent as child processes on
//! 127.0.0.1 with their own temporary directories — and the bits of Prometheus's HTTP API
//! (`/api/v1/series`, `/api/v1/query`) the tests compare Norn against.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use norn_e2e::remote::Series;
use norn_e2e::{ChildProcess, find_program, free_port, get, wait_for_every};
use serde_json::Value;

use super::exposition::LabelSet;

/// Samples by series, as both Norn and Prometheus answer them.
pub(crate) type SamplesBySeries = BTreeMap<LabelSet, Vec<(i64, f64)>>;

/// Returns the external binary `name`, or prints why the test is skipped and returns `None`.
#[allow(
    clippy::print_stdout,
    reason = "a skipped test says so in the test output"
)]
pub(crate) fn external_binary(name: &str, package: &str) -> Option<std::path::PathBuf> {
    let found = find_program(name);
    if found.is_none() {
        println!(
            "SKIPPED: `{name}` is not installed (Debian package `{package}`; scripts/test.sh installs it)"
        );
    }
    found
}

/// A Prometheus server scraping and remote-writing as its config says.
pub(crate) struct Prometheus {
    process: ChildProcess,
    address: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `binary` with `config` (YAML) in a fresh directory and waits until it is ready.
    pub(crate) fn start(binary: &Path, name: &str, config: &str) -> Self {
        Self::start_with_args(binary, name, config, &[])
    }

    /// Like [`Prometheus::start`], with extra command-line arguments (e.g.
    /// `--web.enable-remote-write-receiver`).
    pub(crate) fn start_with_args(
        binary: &Path,
        name: &str,
        config: &str,
        extra_args: &[&str],
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let port = free_port();
        let process = ChildProcess::spawn(
            name,
            Command::new(binary)
                .current_dir(dir.path())
                .arg(format!("--config.file={}", config_file.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .args(extra_args),
        )
        .unwrap();
        let mut prometheus = Self {
            process,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        };
        let address = prometheus.address;
        let ready = wait_for_every(Duration::from_secs(30), Duration::from_millis(100), || {
            if !prometheus.process.is_running() {
                return Some(false);
            }
            get(address, "/-/ready")
                .ok()
                .filter(|response| response.status == 200)
                .map(|_| true)
        });
        assert_eq!(
            ready,
            Some(true),
            "Prometheus never became ready\n{}",
            prometheus.output()
        );
        prometheus
    }

    /// The address Prometheus listens on.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// The series Prometheus holds for `selector` (`GET /api/v1/series`).
    pub(crate) fn series(&self, selector: &str) -> Vec<LabelSet> {
        let path = format!("/api/v1/series?match[]={}", url_encode(selector));
        let data = api_data(self.address, &path);
        data.as_array()
            .unwrap()
            .iter()
            .map(label_set_from_json)
            .collect()
    }

    /// Every sample of `selector` in the `window` before `at_ms` (`GET /api/v1/query` of a
    /// range selector, which answers raw samples).
    pub(crate) fn raw_samples(&self, selector: &str, window: &str, at_ms: i64) -> SamplesBySeries {
        let query = format!("{selector}[{window}]");
        let path = format!(
            "/api/v1/query?query={}&time={}.{:03}",
            url_encode(&query),
            at_ms / 1000,
            at_ms % 1000
        );
        let data = api_data(self.address, &path);
        assert_eq!(data["resultType"], "matrix", "{data}");
        data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|series| {
                let samples = series["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|pair| {
                        let seconds = pair[0].as_f64().unwrap();
                        let value: f64 = pair[1].as_str().unwrap().parse().unwrap();
                        ((seconds * 1000.0).round() as i64, value)
                    })
                    .collect();
                (label_set_from_json(&series["metric"]), samples)
            })
            .collect()
    }

    /// Kills Prometheus (SIGKILL by PID).
    pub(crate) fn kill(&mut self) {
        self.process.kill();
    }

    /// What Prometheus logged (for assertion messages).
    pub(crate) fn output(&self) -> String {
        self.process.output()
    }
}

/// A vmagent scraping as its config says and remote-writing to one URL.
pub(crate) struct VmAgent {
    process: ChildProcess,
    _dir: tempfile::TempDir,
}

impl VmAgent {
    /// Starts `binary` with scrape config `config` (YAML), pushing to `push_url` with `headers`
    /// (`Name:value`, joined by `^^` as vmagent wants), and waits until it is healthy.
    pub(crate) fn start(binary: &Path, config: &str, push_url: &str, headers: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("scrape.yml");
        std::fs::write(&config_file, config).unwrap();
        let port = free_port();
        let process = ChildProcess::spawn(
            "vmagent",
            Command::new(binary)
                .current_dir(dir.path())
                .arg(format!("-promscrape.config={}", config_file.display()))
                .arg(format!("-remoteWrite.url={push_url}"))
                .arg(format!("-remoteWrite.headers={headers}"))
                .arg(format!(
                    "-remoteWrite.tmpDataPath={}",
                    dir.path().join("buffer").display()
                ))
                .arg("-remoteWrite.flushInterval=500ms")
                .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
                .arg("-loggerLevel=WARN"),
        )
        .unwrap();
        let mut agent = Self { process, _dir: dir };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let healthy = wait_for_every(Duration::from_secs(30), Duration::from_millis(100), || {
            if !agent.process.is_running() {
                return Some(false);
            }
            get(address, "/health")
                .ok()
                .filter(|response| response.status == 200)
                .map(|_| true)
        });
        assert_eq!(
            healthy,
            Some(true),
            "vmagent never became healthy\n{}",
            agent.output()
        );
        agent
    }

    /// What vmagent logged (for assertion messages).
    pub(crate) fn output(&self) -> String {
        self.process.output()
    }
}

/// Groups series read from Norn by label set.
pub(crate) fn by_label_set(series: Vec<Series>) -> SamplesBySeries {
    series
        .into_iter()
        .map(|one| (one.labels.into_iter().collect(), one.samples))
        .collect()
}

/// Calls a Prometheus API path and returns its `data`, asserting `status: success`.
fn api_data(address: SocketAddr, path: &str) -> Value {
    let response = get(address, path).unwrap();
    assert_eq!(response.status, 200, "{path}: {}", response.body);
    let mut body: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(body["status"], "success", "{path}: {}", response.body);
    body["data"].take()
}

fn label_set_from_json(object: &Value) -> LabelSet {
    object
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
