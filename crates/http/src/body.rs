//! Reading request bodies under a size limit and undoing their compression.
//!
//! Write endpoints receive compressed payloads: remote write is snappy in the *block* format,
//! OTLP may be gzip. Both the compressed body and the decompressed result are held to the limit
//! the caller passes (the write path will pass Mimir's `-distributor.max-recv-msg-size`), so a
//! small body cannot expand into an unbounded allocation. Exceeding it is `413 Payload Too Large`; a body that fails to
//! decompress is `400 Bad Request` with the decoder's reason.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::error::HttpError;

/// A compression a request body may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// Snappy block format, as remote write uses it.
    Snappy,
}

impl Compression {
    /// Returns the compression named by `Content-Encoding`, or an error naming the unsupported one.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, HttpError> {
        let Some(value) = headers.get(header::CONTENT_ENCODING) else {
            return Ok(Self::Identity);
        };
        match value
            .to_str()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "" | "identity" => Ok(Self::Identity),
            "gzip" => Ok(Self::Gzip),
            "snappy" => Ok(Self::Snappy),
            other => Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Encoding {other:?}: use gzip, snappy or none"),
            )),
        }
    }
}

fn too_large(limit: usize) -> HttpError {
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than the limit of {limit} bytes"),
    )
}

/// Collects `body`, failing with 413 once it exceeds `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, HttpError> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Err(error) => Err(HttpError::bad_request(format!(
            "failed to read the request body: {error}"
        ))),
    }
}

/// Decompresses `bytes` with `compression`, failing with 413 if the result exceeds `limit`.
pub fn decompress(
    bytes: Bytes,
    compression: Compression,
    limit: usize,
) -> Result<Bytes, HttpError> {
    match compression {
        Compression::Identity => Ok(bytes),
        Compression::Snappy => decompress_snappy(&bytes, limit).map(Bytes::from),
        Compression::Gzip => {
            let mut decoder = flate2::read::GzDecoder::new(bytes.as_ref()).take(limit as u64 + 1);
            let mut out = Vec::new();
            decoder.read_to_end(&mut out).map_err(|error| {
                HttpError::bad_request(format!("failed to decompress the gzip body: {error}"))
            })?;
            if out.len() > limit {
                return Err(too_large(limit));
            }
            Ok(Bytes::from(out))
        }
    }
}

/// Decompresses a snappy block, checking the announced length against `limit` first.
pub fn decompress_snappy(bytes: &[u8], limit: usize) -> Result<Vec<u8>, HttpError> {
    let announced = snap::raw::decompress_len(bytes).map_err(|error| {
        HttpError::bad_request(format!(
            "failed to decompress the snappy body (remote write needs the snappy block format): {error}"
        ))
    })?;
    if announced > limit {
        return Err(too_large(limit));
    }
    snap::raw::Decoder::new().decompress_vec(bytes).map_err(|error| {
        HttpError::bad_request(format!(
            "failed to decompress the snappy body (remote write needs the snappy block format): {error}"
        ))
    })
}

/// Reads `body` under `limit` and undoes the compression `headers` announce.
pub async fn read_decoded(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, HttpError> {
    let compression = Compression::from_headers(headers)?;
    let raw = read_limited(body, limit).await?;
    decompress(raw, compression, limit)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn headers(encoding: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, encoding.parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn decodes_gzip_and_snappy() {
        let data = b"hello hello hello hello".repeat(10);
        let body = Body::from(gzip(&data));
        assert_eq!(
            read_decoded(&headers("gzip"), body, 1 << 20).await.unwrap(),
            data
        );
        let snappy = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        let body = Body::from(snappy);
        assert_eq!(
            read_decoded(&headers("snappy"), body, 1 << 20)
                .await
                .unwrap(),
            data
        );
        let body = Body::from(data.clone());
        assert_eq!(
            read_decoded(&HeaderMap::new(), body, 1 << 20)
                .await
                .unwrap(),
            data
        );
    }

    #[tokio::test]
    async fn limits_apply_before_and_after_decompression() {
        let error = read_limited(Body::from(vec![0u8; 2000]), 1000)
            .await
            .unwrap_err();
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        // A tiny gzip body that expands past the limit.
        let bomb = gzip(&vec![0u8; 100_000]);
        assert!(bomb.len() < 1000);
        let error = read_decoded(&headers("gzip"), Body::from(bomb), 1000)
            .await
            .unwrap_err();
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        let snappy = snap::raw::Encoder::new()
            .compress_vec(&vec![0u8; 100_000])
            .unwrap();
        let error = read_decoded(&headers("snappy"), Body::from(snappy), 1000)
            .await
            .unwrap_err();
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn garbage_is_a_bad_request_and_unknown_encodings_are_named() {
        let error = read_decoded(&headers("snappy"), Body::from(vec![0xffu8; 16]), 1000)
            .await
            .unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.message.contains("snappy"), "{}", error.message);
        let error = read_decoded(&headers("gzip"), Body::from("not gzip"), 1000)
            .await
            .unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        let error = read_decoded(&headers("br"), Body::from("x"), 1000)
            .await
            .unwrap_err();
        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(error.message.contains("\"br\""), "{}", error.message);
    }
}
