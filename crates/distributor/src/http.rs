//! The distributor's HTTP endpoints: `POST /api/v1/push` (remote write 1.0 and 2.0),
//! `/distributor/all_user_stats` and `/distributor/ha_tracker`.
//!
//! The push handler reads the body under `-distributor.max-recv-msg-size` (413 beyond it),
//! undoes snappy into a reused buffer, decodes without per-label allocations and hands the
//! result to the [`Distributor`]. Status codes follow Mimir: 2xx stored (204 with the
//! `X-Prometheus-Remote-Write-*-Written` headers for 2.0), 202 for a deduplicated HA
//! replica, 400 for bad data (the valid rest is stored), 413, 415, 429 with `Retry-After`,
//! 5xx only for retryable faults.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use norn_common::time::now_ms;
use norn_http::body::read_limited;
use norn_http::{HttpError, Tenant};
use norn_limits::ErrorId;
use norn_limits::error_id::limit_error_message;
use norn_ring::ring::Operation;
use norn_ring::status::escape_html;
use rand::Rng;

use crate::decode::{DecodedWrite, WireVersion, wire_version};
use crate::distributor::{Distributor, PushStatus};

/// Response headers remote write 2.0 senders read.
pub const SAMPLES_WRITTEN: &str = "X-Prometheus-Remote-Write-Samples-Written";
/// See [`SAMPLES_WRITTEN`].
pub const HISTOGRAMS_WRITTEN: &str = "X-Prometheus-Remote-Write-Histograms-Written";
/// See [`SAMPLES_WRITTEN`].
pub const EXEMPLARS_WRITTEN: &str = "X-Prometheus-Remote-Write-Exemplars-Written";

/// Returns the distributor's routes.
pub fn routes(distributor: Arc<Distributor>) -> Router {
    Router::new()
        .route("/api/v1/push", post(push))
        .route("/distributor/all_user_stats", get(all_user_stats))
        .route("/distributor/ha_tracker", get(ha_tracker))
        .with_state(distributor)
}

async fn push(
    State(distributor): State<Arc<Distributor>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let version = match wire_version(content_type) {
        Ok(version) => version,
        Err(error) => {
            return HttpError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, error.to_string())
                .into_response();
        }
    };
    let limit = distributor.config().max_recv_msg_size as usize;
    let raw = match read_limited(body, limit).await {
        Ok(raw) => raw,
        Err(error) => return size_error(error, limit).into_response(),
    };
    let (mut decoded, buffer) = distributor.take_decoder();
    let response = match fill(&mut decoded, buffer, &headers, version, &raw, limit) {
        Ok(()) => {
            let result = distributor.push(&tenant, &decoded).await;
            respond(version, result.status, result.samples_written, &headers)
        }
        Err(error) => error.into_response(),
    };
    distributor.return_decoder(decoded);
    response
}

/// Undoes the body's compression into the decoder's buffer and decodes it.
fn fill(
    decoded: &mut DecodedWrite,
    mut buffer: Vec<u8>,
    headers: &HeaderMap,
    version: WireVersion,
    raw: &[u8],
    limit: usize,
) -> Result<(), HttpError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("snappy")
        .trim()
        .to_ascii_lowercase();
    buffer.clear();
    match encoding.as_str() {
        // Remote write is always snappy (block format); Prometheus says so in the header.
        "snappy" | "" => {
            let announced = snap::raw::decompress_len(raw).map_err(snappy_error)?;
            if announced > limit {
                return Err(size_error(
                    HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, ""),
                    limit,
                ));
            }
            buffer.resize(announced, 0);
            let written = snap::raw::Decoder::new()
                .decompress(raw, &mut buffer)
                .map_err(snappy_error)?;
            buffer.truncate(written);
        }
        "identity" => buffer.extend_from_slice(raw),
        other => {
            return Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported Content-Encoding {other:?}: remote write bodies are snappy-compressed (block format)"
                ),
            ));
        }
    }
    decoded.decode(version, buffer).map_err(|error| {
        HttpError::bad_request(format!(
            "failed to decode the remote write request: {error}"
        ))
    })
}

fn snappy_error(error: snap::Error) -> HttpError {
    HttpError::bad_request(format!(
        "failed to decompress the remote write body (it must be snappy-compressed in the block format): {error}"
    ))
}

/// Adds Mimir's error ID and flag to a 413; passes other errors through.
fn size_error(error: HttpError, limit: usize) -> HttpError {
    if error.status != StatusCode::PAYLOAD_TOO_LARGE {
        return error;
    }
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        limit_error_message(
            &format!(
                "the incoming push request has been rejected because its message size is larger than the allowed limit of {limit} bytes"
            ),
            ErrorId::DistributorMaxWriteMessageSize,
        ),
    )
}

fn respond(
    version: WireVersion,
    status: PushStatus,
    samples_written: u64,
    request_headers: &HeaderMap,
) -> Response {
    let (code, message, retry_after) = match status {
        PushStatus::Stored => (
            match version {
                WireVersion::V1 => StatusCode::OK,
                WireVersion::V2 => StatusCode::NO_CONTENT,
            },
            None,
            None,
        ),
        PushStatus::Deduplicated => (StatusCode::ACCEPTED, None, None),
        PushStatus::PartiallyRefused(message) | PushStatus::BadRequest(message) => {
            (StatusCode::BAD_REQUEST, Some(message), None)
        }
        PushStatus::RateLimited(message) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(message),
            Some(retry_after_seconds(request_headers)),
        ),
        PushStatus::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, Some(message), None),
        PushStatus::Internal(message) => (StatusCode::INTERNAL_SERVER_ERROR, Some(message), None),
    };
    let mut response = match message {
        Some(message) => HttpError::new(code, message).into_response(),
        None => code.into_response(),
    };
    let headers = response.headers_mut();
    if version == WireVersion::V2 {
        headers.insert(SAMPLES_WRITTEN, HeaderValue::from(samples_written));
        headers.insert(HISTOGRAMS_WRITTEN, HeaderValue::from(0u64));
        headers.insert(EXEMPLARS_WRITTEN, HeaderValue::from(0u64));
    }
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Mimir's `Retry-After`: grows with the sender's `Retry-Attempt` header, from 6s to 96s,
/// with jitter so senders do not retry in step.
fn retry_after_seconds(headers: &HeaderMap) -> u64 {
    let attempt = headers
        .get("Retry-Attempt")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 5);
    let low = 3u64 << attempt;
    let high = (3u64 << (attempt + 1)).min(96);
    if high <= low {
        return low;
    }
    rand::rng().random_range(low..=high)
}

async fn all_user_stats(
    State(distributor): State<Arc<Distributor>>,
    headers: HeaderMap,
) -> Response {
    let ring = distributor.ingester_ring().ring();
    let replication = ring.replication_factor().max(1) as f64;
    let healthy = ring.get_all_healthy(Operation::Read, now_ms());
    let mut totals: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for instance in &healthy.instances {
        let stats = match distributor.pool().client(instance) {
            Ok(client) => client.tenant_stats().await,
            Err(error) => Err(error),
        };
        match stats {
            Ok(stats) => {
                for tenant in stats {
                    let entry = totals.entry(tenant.tenant).or_default();
                    entry.0 += tenant.series as f64;
                    entry.1 += tenant.ingestion_rate;
                }
            }
            Err(error) => {
                return HttpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "cannot read statistics from ingester {}: {error}",
                        instance.id
                    ),
                )
                .into_response();
            }
        }
    }
    let rows: Vec<serde_json::Value> = totals
        .into_iter()
        .map(|(tenant, (series, rate))| {
            serde_json::json!({
                "userID": tenant,
                "ingestionRate": rate / replication,
                "numSeries": (series / replication).round() as u64,
                "APIIngestionRate": rate / replication,
                "RuleIngestionRate": 0.0,
            })
        })
        .collect();
    if wants_json(&headers) {
        return axum::Json(rows).into_response();
    }
    let mut page = String::from(
        "<!DOCTYPE html><html><head><title>Norn: user statistics</title></head><body><h1>User statistics</h1><table border=\"1\"><tr><th>Tenant</th><th>Series</th><th>Ingestion rate (samples/s)</th></tr>",
    );
    for row in &rows {
        page.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            escape_html(row["userID"].as_str().unwrap_or_default()),
            row["numSeries"],
            row["ingestionRate"].as_f64().unwrap_or_default()
        ));
    }
    page.push_str("</table></body></html>");
    Html(page).into_response()
}

async fn ha_tracker(State(distributor): State<Arc<Distributor>>, headers: HeaderMap) -> Response {
    let Some(tracker) = distributor.ha_tracker() else {
        return Html(
            "<!DOCTYPE html><html><body><h1>HA tracker</h1><p>HA deduplication is disabled (distributor.ha_tracker.enable_ha_tracker).</p></body></html>".to_owned(),
        )
        .into_response();
    };
    if wants_json(&headers) {
        return axum::Json(tracker.render_json(now_ms())).into_response();
    }
    Html(tracker.render_html(now_ms())).into_response()
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}
