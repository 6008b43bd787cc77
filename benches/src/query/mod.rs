//! `norn-bench query`: a fixed, documented set of PromQL queries and label/series calls run
//! against any Prometheus-compatible HTTP API (Norn under `/prometheus`, Prometheus,
//! VictoriaMetrics), reporting median/p99 latency and a result fingerprint per query so that
//! targets can be compared for speed and for equal answers.
//!
//! The pieces:
//! - [`config`]: the command line (`--url`, `--time`, `--repeat`, `--header`, …).
//! - [`suite`]: the queries, their names and the request each one sends.
//! - [`client`]: a blocking keep-alive `GET` client that keeps whole bodies.
//! - [`fingerprint`]: an order- and formatting-insensitive hash of an answer.
//! - [`run`]: warm-up and timed runs, one query after the other.
//! - [`report`]: the text table and the JSON.

pub mod client;
pub mod config;
pub mod fingerprint;
pub mod report;
pub mod run;
pub mod suite;
