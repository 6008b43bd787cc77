//! Picks the remote write message schema from the request's `Content-Type` header, the way
//! Prometheus' receiver does (`storage/remote/write_handler.go`, `parseProtoMsg`): the media type
//! must be `application/x-protobuf`, parameters must be `key=value`, and `proto=` names the
//! message (absent → 1.0). The `X-Prometheus-Remote-Write-Version` header never decides.

use super::error::DecodeError;

/// The media type every remote write body carries.
const PROTOBUF_MEDIA_TYPE: &str = "application/x-protobuf";
/// `proto=` value naming the remote write 1.0 message.
const V1_MESSAGE: &str = "prometheus.WriteRequest";
/// `proto=` value naming the remote write 2.0 message.
const V2_MESSAGE: &str = "io.prometheus.write.v2.Request";

/// Which remote write protobuf message a body holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum WireVersion {
    /// Remote write 1.0: `prometheus.WriteRequest`.
    #[default]
    V1,
    /// Remote write 2.0: `io.prometheus.write.v2.Request`.
    V2,
}

/// Picks the message schema from the `Content-Type` header.
///
/// Absent (or blank), `application/x-protobuf` and `application/x-protobuf;proto=prometheus.WriteRequest`
/// give [`WireVersion::V1`]; `application/x-protobuf;proto=io.prometheus.write.v2.Request` gives
/// [`WireVersion::V2`]. Any other media type, a parameter that is not `key=value`, or another
/// `proto=` value is [`DecodeError::UnsupportedContentType`] (HTTP 415). Like Prometheus, the
/// first `proto` parameter decides and later parameters are not inspected. Whitespace around
/// parameters is tolerated (RFC 9110 allows it) and the media type is compared
/// case-insensitively; the `proto` value is compared exactly.
pub fn wire_version(content_type: Option<&str>) -> Result<WireVersion, DecodeError> {
    let Some(header) = content_type
        .map(str::trim)
        .filter(|header| !header.is_empty())
    else {
        return Ok(WireVersion::V1);
    };
    let unsupported = || DecodeError::UnsupportedContentType {
        content_type: header.to_owned(),
    };
    let mut parts = header.split(';');
    let media_type = parts.next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE) {
        return Err(unsupported());
    }
    for parameter in parts {
        let Some((key, value)) = parameter.split_once('=') else {
            return Err(unsupported());
        };
        if value.contains('=') {
            return Err(unsupported());
        }
        if key.trim() == "proto" {
            return match value.trim() {
                V1_MESSAGE => Ok(WireVersion::V1),
                V2_MESSAGE => Ok(WireVersion::V2),
                _ => Err(unsupported()),
            };
        }
    }
    Ok(WireVersion::V1)
}
