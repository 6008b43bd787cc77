//! The two servers of the differential test — a real Prometheus 2.42 (Debian package) with its
//! remote-write receiver and a `norn` child process — and how the test writes to them and asks
//! them queries over HTTP.

use std::net::SocketAddr;
use std::path::Path;

use norn_e2e::remote::{Series, snappy, write_request_v1};
use norn_e2e::{CapturedOutput, NornProcess, Response, norn_binary, request};

use super::compare::Answer;
use super::queries::{Query, QueryKind};

/// The tenant Norn's data and queries belong to.
pub(crate) const TENANT: &str = "query-diff";

/// Prometheus with `--web.enable-remote-write-receiver` in a fresh directory; killed by PID on
/// drop (also when the test panics). Started by the write-clients tests' starter.
pub(crate) struct Prometheus {
    inner: crate::write_clients::clients::Prometheus,
    address: SocketAddr,
}

impl Prometheus {
    /// Starts `binary` on a free loopback port and waits (up to 30s) until it is ready.
    pub(crate) fn start(binary: &Path) -> Self {
        // No scrapes: the only data is what the test writes.
        let inner = crate::write_clients::clients::Prometheus::start_with_args(
            binary,
            "prometheus",
            "global:\n  evaluation_interval: 1m\nscrape_configs: []\n",
            &["--web.enable-remote-write-receiver"],
        );
        let address = inner.address();
        Self { inner, address }
    }

    /// The query API of this server.
    pub(crate) fn api(&self) -> Api {
        Api {
            address: self.address,
            prefix: "",
            headers: Vec::new(),
        }
    }

    /// Writes `series` through remote write 1.0 (`/api/v1/write`).
    pub(crate) fn write(&self, series: &[Series]) -> Response {
        request(
            self.address,
            "POST",
            "/api/v1/write",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "snappy"),
                ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ],
            &snappy(&write_request_v1(series)),
        )
        .unwrap()
    }

    /// What Prometheus logged (for failure messages).
    pub(crate) fn output(&self) -> String {
        self.inner.output()
    }
}

/// A `norn -target=all` child process in a fresh directory; killed on drop.
pub(crate) struct Norn {
    process: NornProcess,
    output: CapturedOutput,
}

impl Norn {
    /// Starts the `norn` binary (see [`norn_binary`]) and waits until it is ready.
    pub(crate) fn start() -> Self {
        let binary = norn_binary();
        let mut process = NornProcess::start(binary.to_str().unwrap(), &[], |_| {});
        let output = process.capture_output();
        assert!(
            process.wait_ready(),
            "norn never became ready\n{}",
            output.text()
        );
        Self { process, output }
    }

    /// The query API of this server (under `/prometheus`, as tenant [`TENANT`]).
    pub(crate) fn api(&self) -> Api {
        Api {
            address: self.process.address,
            prefix: "/prometheus",
            headers: vec![("X-Scope-OrgID", TENANT)],
        }
    }

    /// Writes `series` through remote write 1.0 (`/api/v1/push`) as [`TENANT`].
    pub(crate) fn write(&self, series: &[Series]) -> Response {
        norn_e2e::remote::push_series_with(
            self.process.address,
            &[("X-Scope-OrgID", TENANT)],
            series,
        )
    }

    /// What Norn logged (for failure messages).
    pub(crate) fn output(&self) -> String {
        self.output.text()
    }
}

/// A Prometheus-compatible query API: where it is and what every request carries.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    address: SocketAddr,
    prefix: &'static str,
    headers: Vec<(&'static str, &'static str)>,
}

impl Api {
    /// The API's base URL (for messages).
    pub(crate) fn base(&self) -> String {
        format!("http://{}{}", self.address, self.prefix)
    }

    /// Asks `query`: instant queries as `GET` with URL parameters, range queries as a
    /// form-encoded `POST` (Grafana's default), so both request forms are exercised. Returns
    /// the parsed answer and the raw body (for failure reports).
    pub(crate) fn ask(&self, query: &Query) -> (Answer, String) {
        let outcome = match query.kind {
            QueryKind::Instant { time } => {
                let path = format!(
                    "{}/api/v1/query?query={}&time={time}",
                    self.prefix,
                    url_encode(&query.expr)
                );
                request(self.address, "GET", &path, &self.headers, b"")
            }
            QueryKind::Range { start, end, step } => {
                let body = format!(
                    "query={}&start={start}&end={end}&step={step}",
                    url_encode(&query.expr)
                );
                let mut headers = self.headers.clone();
                headers.push(("Content-Type", "application/x-www-form-urlencoded"));
                let path = format!("{}/api/v1/query_range", self.prefix);
                request(self.address, "POST", &path, &headers, body.as_bytes())
            }
        };
        match outcome {
            Ok(response) => (
                Answer::parse(response.status, &response.body),
                response.body,
            ),
            Err(error) => {
                let why = format!("request failed: {error}");
                (Answer::Unusable(why.clone()), why)
            }
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (valid in a URL query and
/// in a form body alike).
pub(crate) fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
