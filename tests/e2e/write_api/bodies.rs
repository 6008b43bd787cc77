//! Malformed and oversized push bodies: refused with 400, 413 or 415 while the node stays ready
//! and other tenants keep writing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use norn_e2e::remote::{Series, push_raw, push_series, snappy, write_request_v1};
use norn_e2e::request_streaming;

use super::{MINUTE_MS, Node};

/// A varint, as snappy's block format announces the decompressed length.
fn varint(mut value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}

const PROTOBUF_SNAPPY: [(&str, &str); 3] = [
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "snappy"),
    ("X-Scope-OrgID", "broken"),
];

/// What a 413 for the message size says.
const SIZE_ERROR: &str = "(err-norn-distributor-max-write-message-size)";

/// A push the distributor must refuse, and how.
struct BadPush {
    case: &'static str,
    content_type: &'static str,
    encoding: &'static str,
    body: Vec<u8>,
    status: u16,
    /// Text the answer must contain.
    mentions: &'static str,
}

impl BadPush {
    /// A body sent as a snappy-compressed remote write 1.0 request.
    fn snappy(case: &'static str, body: Vec<u8>, status: u16, mentions: &'static str) -> Self {
        Self {
            case,
            content_type: "application/x-protobuf",
            encoding: "snappy",
            body,
            status,
            mentions,
        }
    }
}

#[test]
fn malformed_bodies_are_refused_without_harm() {
    const LIMIT: usize = 1 << 20;
    let node = Node::start(|config, _| config.distributor.max_recv_msg_size = LIMIT as u64);
    let address = node.address;
    let now = norn_e2e::remote::now_ms();

    // A well-behaved tenant keeps writing while the broken requests arrive.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            let start = now - 10 * MINUTE_MS;
            while !stop.load(Ordering::Relaxed) && samples.len() < 500 {
                let sample = (start + samples.len() as i64 * 1000, samples.len() as f64);
                let series = Series::new(&[("__name__", "up"), ("job", "steady")], &[sample]);
                let response = push_series(address, Some("steady"), &[series]);
                assert_eq!(response.status, 200, "{}", response.body);
                samples.push(sample);
            }
            samples
        })
    };

    let valid = write_request_v1(&[Series::new(
        &[("__name__", "up"), ("job", "broken")],
        &[(now - MINUTE_MS, 1.0), (now - MINUTE_MS + 1000, 2.0)],
    )]);
    let huge_value = "a".repeat(LIMIT + LIMIT / 2);
    let expands_past_limit = snappy(&write_request_v1(&[Series::new(
        &[("__name__", "up"), ("job", "broken"), ("blob", &huge_value)],
        &[(now - MINUTE_MS, 1.0)],
    )]));
    let mut announces_too_much = varint(2 * LIMIT as u64);
    announces_too_much.extend_from_slice(b"\x00\x01");
    let too_large_body: Vec<u8> = (0..2 * LIMIT).map(|index| (index % 251) as u8).collect();

    let cases = [
        BadPush::snappy(
            "not snappy",
            b"this is not snappy".to_vec(),
            400,
            "decompress",
        ),
        BadPush::snappy("garbage protobuf", snappy(&[0xff; 64]), 400, "decode"),
        BadPush::snappy(
            "truncated protobuf",
            snappy(&valid[..valid.len() - 5]),
            400,
            "decode",
        ),
        BadPush::snappy("empty body", Vec::new(), 400, ""),
        BadPush::snappy(
            "expands past the limit",
            expands_past_limit,
            413,
            SIZE_ERROR,
        ),
        BadPush::snappy("announces too much", announces_too_much, 413, SIZE_ERROR),
        BadPush::snappy("larger than the limit", too_large_body, 413, SIZE_ERROR),
        BadPush {
            encoding: "gzip",
            ..BadPush::snappy(
                "unsupported encoding",
                snappy(&valid),
                415,
                "Content-Encoding",
            )
        },
        BadPush {
            content_type: "application/json",
            ..BadPush::snappy("JSON content type", snappy(&valid), 415, "")
        },
        BadPush {
            content_type: "application/x-protobuf;proto=io.prometheus.write.v99.Request",
            ..BadPush::snappy("unknown proto message", snappy(&valid), 415, "")
        },
    ];
    let mut failures = Vec::new();
    for BadPush {
        case,
        content_type,
        encoding,
        body,
        status,
        mentions: needle,
    } in cases
    {
        let headers = [
            ("Content-Type", content_type),
            ("Content-Encoding", encoding),
            ("X-Scope-OrgID", "broken"),
        ];
        let response = request_streaming(address, "POST", "/api/v1/push", &headers, body);
        match response {
            // A 413 also names the flag that raises the limit.
            Ok(response)
                if response.status == status
                    && response.body.contains(needle)
                    && (status != 413
                        || response.body.contains("-distributor.max-recv-msg-size")) => {}
            Ok(response) => failures.push(format!(
                "{case}: {} {} (expected {status} mentioning {needle:?})",
                response.status,
                response.body.trim()
            )),
            Err(error) => failures.push(format!("{case}: no response: {error}")),
        }
        node.assert_ready();
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(node.stored("broken"), Vec::<Series>::new());
    assert_eq!(
        node.stored("steady"),
        vec![Series::new(
            &[("__name__", "up"), ("job", "steady")],
            &written
        )]
    );
    // Without Content-Type the body is read as remote write 1.0.
    let untyped = write_request_v1(&[Series::new(
        &[("__name__", "up"), ("job", "untyped")],
        &[(now - MINUTE_MS, 1.0)],
    )]);
    let response = push_raw(
        address,
        &[("Content-Encoding", "snappy"), ("X-Scope-OrgID", "untyped")],
        &snappy(&untyped),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(node.stored("untyped").len(), 1);
    // An empty request (no series) is valid and stores nothing.
    let response = push_raw(address, &PROTOBUF_SNAPPY, &snappy(&[]));
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(node.stored("broken"), Vec::<Series>::new());
    // Still writable, and the valid form of the broken tenant's request is accepted.
    let response = push_raw(address, &PROTOBUF_SNAPPY, &snappy(&valid));
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(node.stored("broken").len(), 1);
}
