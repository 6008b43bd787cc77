//! The Prometheus query API over HTTP, as Grafana and PromQL clients use it: a whole node
//! in-process, data pushed with remote write, then read back through `/prometheus/api/v1/…`.
//!
//! - `grafana`: the request sequence Grafana's Prometheus data source sends (health check,
//!   buildinfo, metrics browser, panels), answers checked field by field.
//! - `federation`: `X-Scope-OrgID: a|b` reads labelled with `__tenant_id__`.
//! - `cancellation`: a client that goes away mid-query stops the evaluation; timeouts.

mod cancellation;
mod federation;
mod grafana;

use std::net::SocketAddr;

use norn_e2e::remote::{Series, push_series};
use norn_e2e::{Response, get, request};
use norn_server::RootConfig;

use crate::in_process::InProcessNode;
use serde_json::Value as Json;

const PREFIX: &str = "/prometheus";
const FORM: &str = "application/x-www-form-urlencoded";

/// A `-target=all` node running in-process (see [`InProcessNode`]).
struct Node {
    address: SocketAddr,
    _node: InProcessNode,
}

impl Node {
    /// Starts a `-target=all` node with the default configuration changed by `configure`.
    fn start(configure: impl FnOnce(&mut RootConfig)) -> Self {
        let node = InProcessNode::start(RootConfig::default(), |config, _| configure(config));
        Self {
            address: node.address,
            _node: node,
        }
    }

    /// Pushes `series` for `tenant` and checks it was accepted.
    fn push(&self, tenant: &str, series: &[Series]) {
        let response = push_series(self.address, Some(tenant), series);
        assert_eq!(response.status, 200, "push failed: {}", response.body);
    }

    /// `GET <prefix><path_and_query>` as `tenant`.
    fn get(&self, tenant: Option<&str>, path_and_query: &str) -> Answer {
        let headers: Vec<(&str, &str)> = tenant
            .map(|tenant| ("X-Scope-OrgID", tenant))
            .into_iter()
            .collect();
        let path = format!("{PREFIX}{path_and_query}");
        Answer::from(request(self.address, "GET", &path, &headers, b"").unwrap())
    }

    /// `POST <prefix><path>` with a form body as `tenant`.
    fn post_form(&self, tenant: &str, path: &str, form: &str) -> Answer {
        let headers = [("X-Scope-OrgID", tenant), ("Content-Type", FORM)];
        let path = format!("{PREFIX}{path}");
        Answer::from(request(self.address, "POST", &path, &headers, form.as_bytes()).unwrap())
    }

    /// The value of a metric without labels on `/metrics` (0 when absent).
    fn metric(&self, name: &str) -> f64 {
        let metrics = get(self.address, "/metrics").unwrap();
        norn_e2e::metric_value(&metrics.body, name, &[]).unwrap_or(0.0)
    }
}

/// An API answer: the HTTP response and its JSON body.
struct Answer {
    response: Response,
    json: Json,
}

impl From<Response> for Answer {
    fn from(response: Response) -> Self {
        let json = serde_json::from_str(&response.body).unwrap_or(Json::Null);
        Self { response, json }
    }
}

impl Answer {
    /// Checks a 200 success envelope and returns `data`.
    #[track_caller]
    fn data(&self) -> &Json {
        assert_eq!(self.response.status, 200, "{}", self.response.body);
        assert_eq!(self.json["status"], "success", "{}", self.response.body);
        assert_eq!(
            self.response.header("content-type"),
            Some("application/json")
        );
        &self.json["data"]
    }

    /// Checks an error envelope.
    #[track_caller]
    fn assert_error(&self, status: u16, error_type: &str, contains: &str) {
        assert_eq!(self.response.status, status, "{}", self.response.body);
        assert_eq!(self.json["status"], "error", "{}", self.response.body);
        assert_eq!(self.json["errorType"], error_type, "{}", self.response.body);
        let message = self.json["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(contains),
            "{contains:?} not in {message:?}"
        );
    }
}

/// Percent-encodes a form or query value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The current time in whole seconds, and samples every 15s over the last `minutes` minutes
/// ending at that second.
fn recent_samples(minutes: i64, value: impl Fn(i64) -> f64) -> (i64, Vec<(i64, f64)>) {
    let now_s = norn_e2e::remote::now_ms() / 1000 - 1;
    let count = minutes * 4 + 1;
    let samples = (0..count)
        .map(|i| ((now_s - (count - 1 - i) * 15) * 1000, value(i)))
        .collect();
    (now_s, samples)
}

/// The `(metric labels, [t, "v"])` of a vector result, sorted by labels.
fn vector(data: &Json) -> Vec<(Json, Json)> {
    assert_eq!(data["resultType"], "vector", "{data}");
    let mut samples: Vec<(Json, Json)> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sample| (sample["metric"].clone(), sample["value"].clone()))
        .collect();
    samples.sort_by_key(|(metric, _)| metric.to_string());
    samples
}
