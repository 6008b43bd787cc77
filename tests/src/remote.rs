//! Remote write and remote read as a client speaks them, for the end-to-end tests: build a
//! remote write 1.0 or 2.0 request from plain series, push it, and read series back through
//! Prometheus remote read (`/prometheus/api/v1/read`, samples response).

use std::net::SocketAddr;

use norn_proto::Message;
use norn_proto::prometheus::{
    self as pb, label_matcher, metric_metadata::MetricType, read_request::ResponseType,
};
use norn_proto::write_v2;

use crate::{Response, request};

/// A series as the tests write and read it: labels (any order) and (timestamp ms, value).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Label name/value pairs.
    pub labels: Vec<(String, String)>,
    /// Samples in time order.
    pub samples: Vec<(i64, f64)>,
}

impl Series {
    /// Builds a series from string pairs and samples.
    pub fn new(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Self {
        Self {
            labels: labels
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            samples: samples.to_vec(),
        }
    }

    /// Returns the value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Encodes a remote write 1.0 request (protobuf, not compressed).
pub fn write_request_v1(series: &[Series]) -> Vec<u8> {
    pb::WriteRequest {
        timeseries: series
            .iter()
            .map(|one| pb::TimeSeries {
                labels: one
                    .labels
                    .iter()
                    .map(|(name, value)| pb::Label {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                samples: one
                    .samples
                    .iter()
                    .map(|&(timestamp, value)| pb::Sample { value, timestamp })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Adds metadata entries (family, type, help, unit) to an encoded 1.0 request.
pub fn with_metadata_v1(body: &[u8], metadata: &[(&str, MetricType, &str, &str)]) -> Vec<u8> {
    let mut request = pb::WriteRequest::decode(body).unwrap();
    request.metadata = metadata
        .iter()
        .map(|(family, kind, help, unit)| pb::MetricMetadata {
            r#type: *kind as i32,
            metric_family_name: (*family).to_owned(),
            help: (*help).to_owned(),
            unit: (*unit).to_owned(),
        })
        .collect();
    request.encode_to_vec()
}

/// Encodes a remote write 2.0 request (protobuf, not compressed) with a symbol table.
pub fn write_request_v2(series: &[Series]) -> Vec<u8> {
    let mut symbols = vec![String::new()];
    let mut symbol = |text: &str| -> u32 {
        match symbols.iter().position(|known| known == text) {
            Some(index) => index as u32,
            None => {
                symbols.push(text.to_owned());
                (symbols.len() - 1) as u32
            }
        }
    };
    let timeseries = series
        .iter()
        .map(|one| write_v2::TimeSeries {
            labels_refs: one
                .labels
                .iter()
                .flat_map(|(name, value)| [symbol(name), symbol(value)])
                .collect(),
            samples: one
                .samples
                .iter()
                .map(|&(timestamp, value)| write_v2::Sample {
                    value,
                    timestamp,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    write_v2::Request {
        symbols,
        timeseries,
    }
    .encode_to_vec()
}

/// Snappy-compresses (block format) a protobuf body.
pub fn snappy(body: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(body).unwrap()
}

/// Pushes a remote write 1.0 body (already snappy-compressed) as `tenant` (no header when `None`).
pub fn push_v1(address: SocketAddr, tenant: Option<&str>, compressed: &[u8]) -> Response {
    let headers: Vec<(&str, &str)> = tenant
        .map(|tenant| ("X-Scope-OrgID", tenant))
        .into_iter()
        .collect();
    push_compressed_with(address, &headers, compressed)
}

/// Pushes series as remote write 1.0.
pub fn push_series(address: SocketAddr, tenant: Option<&str>, series: &[Series]) -> Response {
    push_v1(address, tenant, &snappy(&write_request_v1(series)))
}

/// Pushes series as remote write 2.0.
pub fn push_series_v2(address: SocketAddr, tenant: Option<&str>, series: &[Series]) -> Response {
    let body = snappy(&write_request_v2(series));
    let mut headers = vec![
        (
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        ),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "2.0.0"),
    ];
    if let Some(tenant) = tenant {
        headers.push(("X-Scope-OrgID", tenant));
    }
    request(address, "POST", "/api/v1/push", &headers, &body).unwrap()
}

/// A matcher for [`read`]: `=`, `!=`, `=~` or `!~`, name, value.
pub type MatcherSpec<'a> = (&'a str, &'a str, &'a str);

/// Reads series matching `matchers` in `[start, end]` (ms) through remote read; an error
/// carries the HTTP response when the status is not 200.
pub fn read(
    address: SocketAddr,
    tenant: Option<&str>,
    matchers: &[MatcherSpec<'_>],
    start: i64,
    end: i64,
) -> Result<Vec<Series>, Response> {
    let headers: Vec<(&str, &str)> = tenant
        .map(|tenant| ("X-Scope-OrgID", tenant))
        .into_iter()
        .collect();
    read_with(address, &headers, matchers, start, end)
}

/// Reads every series of `tenant` in `[start, end]`.
pub fn read_all(
    address: SocketAddr,
    tenant: Option<&str>,
    start: i64,
    end: i64,
) -> Result<Vec<Series>, Response> {
    read(address, tenant, &[("=~", "__name__", ".+")], start, end)
}

/// Returns the current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Pushes series as remote write 1.0 with the given extra headers (tenant, credentials…)
/// instead of a tenant.
pub fn push_series_with(
    address: SocketAddr,
    extra_headers: &[(&str, &str)],
    series: &[Series],
) -> Response {
    push_compressed_with(address, extra_headers, &snappy(&write_request_v1(series)))
}

/// Pushes a snappy-compressed remote write 1.0 body with the given extra headers.
fn push_compressed_with(
    address: SocketAddr,
    extra_headers: &[(&str, &str)],
    compressed: &[u8],
) -> Response {
    let mut headers = vec![
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    headers.extend_from_slice(extra_headers);
    request(address, "POST", "/api/v1/push", &headers, compressed).unwrap()
}

/// Like [`read`], with the given extra headers (tenant, credentials…) instead of a tenant.
pub fn read_with(
    address: SocketAddr,
    extra_headers: &[(&str, &str)],
    matchers: &[MatcherSpec<'_>],
    start: i64,
    end: i64,
) -> Result<Vec<Series>, Response> {
    let query = pb::Query {
        start_timestamp_ms: start,
        end_timestamp_ms: end,
        matchers: matchers
            .iter()
            .map(|(op, name, value)| pb::LabelMatcher {
                r#type: match *op {
                    "=" => label_matcher::Type::Eq,
                    "!=" => label_matcher::Type::Neq,
                    "=~" => label_matcher::Type::Re,
                    "!~" => label_matcher::Type::Nre,
                    other => panic!("unknown matcher operator {other}"),
                } as i32,
                name: (*name).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
        hints: None,
    };
    let body = snappy(
        &pb::ReadRequest {
            queries: vec![query],
            accepted_response_types: vec![ResponseType::Samples as i32],
        }
        .encode_to_vec(),
    );
    let mut headers = vec![
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Read-Version", "0.1.0"),
    ];
    headers.extend_from_slice(extra_headers);
    let response = request(address, "POST", "/prometheus/api/v1/read", &headers, &body).unwrap();
    if response.status != 200 {
        return Err(response);
    }
    let decoded = snap::raw::Decoder::new()
        .decompress_vec(&response.bytes)
        .unwrap();
    let answer = pb::ReadResponse::decode(decoded.as_slice()).unwrap();
    let mut series: Vec<Series> = answer
        .results
        .into_iter()
        .flat_map(|result| result.timeseries)
        .map(|one| Series {
            labels: one
                .labels
                .into_iter()
                .map(|label| (label.name, label.value))
                .collect(),
            samples: one
                .samples
                .into_iter()
                .map(|sample| (sample.timestamp, sample.value))
                .collect(),
        })
        .collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(series)
}

/// Sends an already-encoded body to `/api/v1/push` with exactly `headers` (nothing added), for
/// requests a well-behaved client would not send: odd content types, broken bodies.
pub fn push_raw(address: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> Response {
    request(address, "POST", "/api/v1/push", headers, body).unwrap()
}

/// Pushes series as remote write 1.0 like [`push_series`], but returns connection errors
/// (a server killed mid-request) instead of panicking.
pub fn try_push_series(
    address: SocketAddr,
    tenant: Option<&str>,
    series: &[Series],
) -> std::io::Result<Response> {
    let body = snappy(&write_request_v1(series));
    let mut headers = vec![
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    if let Some(tenant) = tenant {
        headers.push(("X-Scope-OrgID", tenant));
    }
    request(address, "POST", "/api/v1/push", &headers, &body)
}
