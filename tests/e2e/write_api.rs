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

use norn_e2e::remote::{Series, read_with};
use norn_e2e::{Response, get, request};
use norn_server::RootConfig;

use crate::in_process::InProcessNode;
use norn_server::config::{Invocation, load_from_args};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// A node running in-process (see [`InProcessNode`]).
struct Node {
    address: SocketAddr,
    _node: InProcessNode,
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

    fn start_from(config: RootConfig, configure: impl FnOnce(&mut RootConfig, &Path)) -> Self {
        let node = InProcessNode::start(config, configure);
        Self {
            address: node.address,
            _node: node,
        }
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
