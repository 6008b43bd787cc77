//! The remote read wire format: decoding a snappy-compressed `prometheus.ReadRequest`,
//! turning its matchers into [`Matcher`]s, choosing the response type, and encoding the
//! `prometheus.ReadResponse` (SAMPLES) answer.
//!
//! Every problem with the request is a `400` whose message says what is wrong and where
//! (`query 2: ...`), so a client author can fix the request from the message alone.

use norn_http::HttpError;
use norn_model::{MatchType, Matcher};
use norn_proto::prometheus::{
    Label, QueryResult, ReadRequest, ReadResponse, Sample, TimeSeries, label_matcher,
    read_request::ResponseType,
};
use norn_rpc::ChunkSeries;
use prost::Message;

use crate::error::QueryError;

/// Decodes a remote read body: the snappy block format around a protobuf `ReadRequest`.
/// The decompressed size is held to `limit` bytes (`413` beyond).
pub(crate) fn decode_request(body: &[u8], limit: usize) -> Result<ReadRequest, HttpError> {
    let not_snappy = |error: snap::Error| {
        HttpError::bad_request(format!(
            "the remote read body is not valid snappy: it must be a protobuf prometheus.ReadRequest compressed in the snappy block format (not the framed format): {error}"
        ))
    };
    let announced = snap::raw::decompress_len(body).map_err(not_snappy)?;
    if announced > limit {
        return Err(HttpError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the remote read request decompresses to {announced} bytes, more than the limit of {limit} bytes"
            ),
        ));
    }
    let decompressed = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(not_snappy)?;
    ReadRequest::decode(decompressed.as_slice()).map_err(|error| {
        HttpError::bad_request(format!(
            "the remote read body is not a valid protobuf prometheus.ReadRequest: {error}"
        ))
    })
}

/// Checks that the client accepts the only response type served, SAMPLES.
///
/// An empty list means SAMPLES. Prometheus lists STREAMED_XOR_CHUNKS first and SAMPLES as its
/// fallback, so Prometheus clients get SAMPLES; a client accepting only streamed chunks gets a
/// `400`, as from a Prometheus or Mimir server that supports none of the types asked for.
pub(crate) fn negotiate_response_type(accepted: &[i32]) -> Result<(), HttpError> {
    if accepted.is_empty() || accepted.contains(&(ResponseType::Samples as i32)) {
        return Ok(());
    }
    let named: Vec<String> = accepted
        .iter()
        .map(|&value| match ResponseType::try_from(value) {
            Ok(known) => known.as_str_name().to_owned(),
            Err(_) => value.to_string(),
        })
        .collect();
    Err(HttpError::bad_request(format!(
        "the server does not support any of the requested response types: [{}]; supported: [SAMPLES] (STREAMED_XOR_CHUNKS is not offered yet)",
        named.join(", ")
    )))
}

/// Converts the matchers of query number `index` (counted from 0, for the messages).
pub(crate) fn matchers(
    index: usize,
    query: &norn_proto::prometheus::Query,
) -> Result<Vec<Matcher>, HttpError> {
    if query.matchers.is_empty() {
        return Err(HttpError::bad_request(format!(
            "query {index}: a remote read query needs at least one label matcher"
        )));
    }
    query
        .matchers
        .iter()
        .map(|matcher| {
            let kind = match label_matcher::Type::try_from(matcher.r#type) {
                Ok(label_matcher::Type::Eq) => MatchType::Equal,
                Ok(label_matcher::Type::Neq) => MatchType::NotEqual,
                Ok(label_matcher::Type::Re) => MatchType::Regex,
                Ok(label_matcher::Type::Nre) => MatchType::NotRegex,
                Err(_) => {
                    return Err(HttpError::bad_request(format!(
                        "query {index}: unknown label matcher type {} for label {:?}: expected EQ (0), NEQ (1), RE (2) or NRE (3)",
                        matcher.r#type, matcher.name
                    )));
                }
            };
            Matcher::new(kind, matcher.name.as_str(), matcher.value.as_str())
                .map_err(|error| HttpError::bad_request(format!("query {index}: {error}")))
        })
        .collect()
}

/// Converts selected series into a query result, decoding their samples in
/// `[mint, maxt]`; series without samples there are left out.
pub(crate) fn query_result(
    series: Vec<ChunkSeries>,
    mint: i64,
    maxt: i64,
) -> Result<QueryResult, QueryError> {
    let mut timeseries = Vec::with_capacity(series.len());
    for one in series {
        let samples: Vec<Sample> = one
            .collect_samples(mint, maxt)
            .map_err(|error| QueryError::CorruptChunk {
                series: one.labels.to_string(),
                reason: error.to_string(),
            })?
            .into_iter()
            .map(|(timestamp, value)| Sample { value, timestamp })
            .collect();
        if samples.is_empty() {
            continue;
        }
        timeseries.push(TimeSeries {
            labels: one
                .labels
                .iter()
                .map(|label| Label {
                    name: label.name.to_owned(),
                    value: label.value.to_owned(),
                })
                .collect(),
            samples,
            ..TimeSeries::default()
        });
    }
    Ok(QueryResult { timeseries })
}

/// Encodes a response as protobuf in the snappy block format.
pub(crate) fn encode_response(response: &ReadResponse) -> Result<Vec<u8>, HttpError> {
    snap::raw::Encoder::new()
        .compress_vec(&response.encode_to_vec())
        .map_err(|error| {
            HttpError::internal(format!("cannot compress the remote read response: {error}"))
        })
}

#[cfg(test)]
mod tests {
    use norn_proto::prometheus::{LabelMatcher, Query};
    use proptest::prelude::*;

    use super::*;

    fn compress(bytes: &[u8]) -> Vec<u8> {
        snap::raw::Encoder::new().compress_vec(bytes).unwrap()
    }

    fn query(matchers: Vec<LabelMatcher>) -> Query {
        Query {
            start_timestamp_ms: 0,
            end_timestamp_ms: 10,
            matchers,
            hints: None,
        }
    }

    fn matcher(kind: i32, name: &str, value: &str) -> LabelMatcher {
        LabelMatcher {
            r#type: kind,
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn requests_round_trip_and_size_is_limited() {
        let request = ReadRequest {
            queries: vec![query(vec![matcher(0, "__name__", "up")])],
            accepted_response_types: vec![1, 0],
        };
        let body = compress(&request.encode_to_vec());
        assert_eq!(decode_request(&body, 1 << 20).unwrap(), request);
        let error = decode_request(&body, 4).unwrap_err();
        assert_eq!(error.status, axum::http::StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let error = decode_request(b"\xff\xff\xff\xff\xff", 1 << 20).unwrap_err();
        assert_eq!(error.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(error.message.contains("snappy"), "{}", error.message);
        let error = decode_request(&compress(&[0x0a, 0x50, 0x01]), 1 << 20).unwrap_err();
        assert!(error.message.contains("protobuf"), "{}", error.message);
    }

    #[test]
    fn only_samples_is_negotiated() {
        assert!(negotiate_response_type(&[]).is_ok());
        assert!(negotiate_response_type(&[1, 0]).is_ok());
        let error = negotiate_response_type(&[1, 7]).unwrap_err();
        assert!(
            error.message.contains("[STREAMED_XOR_CHUNKS, 7]"),
            "{}",
            error.message
        );
    }

    #[test]
    fn matchers_convert_and_invalid_ones_are_reported() {
        let converted = matchers(
            0,
            &query(vec![
                matcher(0, "a", "1"),
                matcher(1, "b", "2"),
                matcher(2, "c", "3.*"),
                matcher(3, "d", "4|5"),
            ]),
        )
        .unwrap();
        let kinds: Vec<MatchType> = converted.iter().map(Matcher::kind).collect();
        assert_eq!(
            kinds,
            [
                MatchType::Equal,
                MatchType::NotEqual,
                MatchType::Regex,
                MatchType::NotRegex
            ]
        );
        let error = matchers(2, &query(vec![matcher(2, "job", "(")])).unwrap_err();
        assert!(error.message.starts_with("query 2: "), "{}", error.message);
        assert!(error.message.contains("job"), "{}", error.message);
        let error = matchers(0, &query(vec![matcher(9, "job", "x")])).unwrap_err();
        assert!(error.message.contains("unknown label matcher type 9"));
        let error = matchers(1, &query(vec![])).unwrap_err();
        assert!(error.message.contains("at least one label matcher"));
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_request(&body, 1 << 16);
            let _ = decode_request(&compress(&body), 1 << 16);
        }

        #[test]
        fn responses_round_trip(
            points in proptest::collection::btree_map(-(1i64 << 40)..(1i64 << 40), any::<f64>(), 1..20),
            name in "[a-z_]{1,10}",
        ) {
            let points: Vec<(i64, f64)> = points.into_iter().collect();
            let series = norn_rpc::ChunkSeries::from_samples(
                norn_model::Labels::new([("__name__", name.as_str())]).unwrap(),
                &points,
            )
            .unwrap();
            let result = query_result(vec![series], i64::MIN, i64::MAX).unwrap();
            let response = ReadResponse { results: vec![result] };
            let body = encode_response(&response).unwrap();
            let decoded = ReadResponse::decode(
                snap::raw::Decoder::new().decompress_vec(&body).unwrap().as_slice(),
            )
            .unwrap();
            let timeseries = &decoded.results[0].timeseries[0];
            prop_assert_eq!(&timeseries.labels[0].value, &name);
            prop_assert_eq!(timeseries.samples.len(), points.len());
            for (sample, &(timestamp, value)) in timeseries.samples.iter().zip(&points) {
                prop_assert_eq!(sample.timestamp, timestamp);
                // Proto3 leaves out a zero double, so -0.0 arrives as 0.0 (as with Go's
                // encoder); every other value, NaN payloads included, keeps its bits.
                if value == 0.0 {
                    prop_assert_eq!(sample.value, 0.0);
                } else {
                    prop_assert_eq!(sample.value.to_bits(), value.to_bits());
                }
            }
        }
    }
}
