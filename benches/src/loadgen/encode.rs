//! Encoding of remote write 1.0 requests (protobuf `WriteRequest`, snappy block format).
//!
//! The protobuf is written by hand rather than through prost structs: each series' label
//! fields are encoded once and kept as bytes, so a request is a copy of those bytes plus one
//! 18-byte sample per series. That keeps the producer far ahead of the senders even when it
//! encodes while the clock runs. A test decodes the output with `norn-proto`'s prost types.
//!
//! Field numbers (from `proto/prometheus/{remote,types}.proto`): `WriteRequest.timeseries = 1`;
//! `TimeSeries.labels = 1`, `samples = 2`; `Label.name = 1`, `value = 2`;
//! `Sample.value = 1` (double), `timestamp = 2` (int64).

use crate::loadgen::plan::{Plan, RequestSpec};
use crate::loadgen::series::Fleet;

/// Wire type 2 (length-delimited) tag of field 1.
const TAG_FIELD1_BYTES: u8 = 0x0a;
/// Wire type 2 (length-delimited) tag of field 2.
const TAG_FIELD2_BYTES: u8 = 0x12;
/// Wire type 1 (64-bit) tag of field 1.
const TAG_FIELD1_FIXED64: u8 = 0x09;
/// Wire type 0 (varint) tag of field 2.
const TAG_FIELD2_VARINT: u8 = 0x10;

/// One request ready to send.
#[derive(Debug, Clone)]
pub struct EncodedRequest {
    /// Snappy-compressed protobuf body.
    pub body: Vec<u8>,
    /// Samples in the request.
    pub samples: u32,
    /// Sender (connection) that sends it.
    pub sender: usize,
}

/// A failure to compress a request body.
#[derive(Debug, thiserror::Error)]
#[error("snappy compression failed: {0}")]
pub struct EncodeError(#[from] snap::Error);

/// Builds the requests of a [`Plan`] in order, caching each series' encoded labels.
#[derive(Debug)]
pub struct RequestEncoder {
    fleet: Fleet,
    plan: Plan,
    /// Encoded `TimeSeries.labels` fields of each slot, for `generations[slot]`.
    labels: Vec<Vec<u8>>,
    generations: Vec<u64>,
    raw: Vec<u8>,
    compressed: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl RequestEncoder {
    /// An encoder for `plan`'s requests of `fleet`'s series.
    pub fn new(fleet: Fleet, plan: Plan) -> Self {
        let labels = (0..plan.series)
            .map(|slot| encode_labels(&fleet, slot, 0))
            .collect();
        let generations = vec![0; plan.series];
        Self {
            fleet,
            plan,
            labels,
            generations,
            raw: Vec::new(),
            compressed: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }

    /// The plan this encoder follows.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Encodes request `index` of the plan. Requests must be asked for in increasing order
    /// when churn is on (a replaced series' labels are re-encoded once, then kept).
    pub fn encode(&mut self, index: usize) -> Result<EncodedRequest, EncodeError> {
        let spec = self.plan.request(index);
        self.write_protobuf(&spec);
        self.compressed
            .resize(snap::raw::max_compress_len(self.raw.len()), 0);
        let length = self.snappy.compress(&self.raw, &mut self.compressed)?;
        Ok(EncodedRequest {
            body: self.compressed[..length].to_vec(),
            samples: u32::try_from(spec.slots.len()).unwrap_or(u32::MAX),
            sender: spec.sender,
        })
    }

    /// Writes the uncompressed `WriteRequest` of `spec` into `self.raw`.
    fn write_protobuf(&mut self, spec: &RequestSpec) {
        self.raw.clear();
        for slot in spec.slots.clone() {
            let generation = self.plan.generation(slot, spec.scrape);
            if generation != self.generations[slot] {
                self.generations[slot] = generation;
                self.labels[slot] = encode_labels(&self.fleet, slot, generation);
            }
            let value = self.fleet.value(slot, generation, spec.scrape as u64);
            let mut sample = [0u8; 20];
            let sample_len = encode_sample(&mut sample, value, spec.timestamp_ms);
            let labels = &self.labels[slot];
            let series_len = labels.len() + 1 + varint_len(sample_len as u64) + sample_len;
            self.raw.push(TAG_FIELD1_BYTES);
            put_varint(&mut self.raw, series_len as u64);
            self.raw.extend_from_slice(labels);
            self.raw.push(TAG_FIELD2_BYTES);
            put_varint(&mut self.raw, sample_len as u64);
            self.raw.extend_from_slice(&sample[..sample_len]);
        }
    }
}

/// Encodes the repeated `TimeSeries.labels` fields of one series.
fn encode_labels(fleet: &Fleet, slot: usize, generation: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    for (name, value) in fleet.labels(slot, generation) {
        let label_len = 1
            + varint_len(name.len() as u64)
            + name.len()
            + 1
            + varint_len(value.len() as u64)
            + value.len();
        out.push(TAG_FIELD1_BYTES);
        put_varint(&mut out, label_len as u64);
        out.push(TAG_FIELD1_BYTES);
        put_varint(&mut out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
        out.push(TAG_FIELD2_BYTES);
        put_varint(&mut out, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// Encodes a `Sample` message into `out`; returns its length (at most 20 bytes).
fn encode_sample(out: &mut [u8; 20], value: f64, timestamp_ms: i64) -> usize {
    out[0] = TAG_FIELD1_FIXED64;
    out[1..9].copy_from_slice(&value.to_le_bytes());
    out[9] = TAG_FIELD2_VARINT;
    // int64 fields use the two's-complement varint of the 64-bit value.
    let mut rest = timestamp_ms as u64;
    let mut at = 10;
    while rest >= 0x80 {
        out[at] = (rest as u8) | 0x80;
        rest >>= 7;
        at += 1;
    }
    out[at] = rest as u8;
    at + 1
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use norn_proto::Message;
    use norn_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
    use proptest::prelude::*;

    use super::*;

    fn decode(body: &[u8]) -> WriteRequest {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        WriteRequest::decode(raw.as_slice()).unwrap()
    }

    fn expected(fleet: &Fleet, plan: &Plan, index: usize) -> WriteRequest {
        let spec = plan.request(index);
        WriteRequest {
            timeseries: spec
                .slots
                .map(|slot| {
                    let generation = plan.generation(slot, spec.scrape);
                    TimeSeries {
                        labels: fleet
                            .labels(slot, generation)
                            .into_iter()
                            .map(|(name, value)| Label {
                                name: name.to_owned(),
                                value,
                            })
                            .collect(),
                        samples: vec![Sample {
                            value: fleet.value(slot, generation, spec.scrape as u64),
                            timestamp: spec.timestamp_ms,
                        }],
                        ..Default::default()
                    }
                })
                .collect(),
            metadata: vec![],
        }
    }

    proptest! {
        #[test]
        fn requests_decode_to_the_planned_series_and_samples(
            series in 1usize..400,
            batch in 1usize..150,
            scrapes in 1usize..4,
            churn in prop_oneof![Just(0u64), 1u64..2_000_000],
            start_ms in prop_oneof![Just(0i64), 1i64..4_000_000_000_000, Just(-5_000i64)],
            seed in any::<u64>(),
        ) {
            let plan = Plan {
                series,
                scrapes,
                batch,
                concurrency: 3,
                start_ms,
                interval_ms: 15_000,
                churn_per_hour: churn,
            };
            let fleet = Fleet::new(series, 15.0, seed);
            let mut encoder = RequestEncoder::new(fleet.clone(), plan.clone());
            let mut samples = 0u64;
            for index in 0..plan.total_requests() {
                let request = encoder.encode(index).unwrap();
                prop_assert_eq!(request.sender, plan.request(index).sender);
                samples += u64::from(request.samples);
                prop_assert_eq!(decode(&request.body), expected(&fleet, &plan, index));
            }
            prop_assert_eq!(samples, plan.total_samples());
        }

        #[test]
        fn varint_length_matches_the_encoding(value in any::<u64>()) {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            prop_assert_eq!(out.len(), varint_len(value));
        }
    }
}
