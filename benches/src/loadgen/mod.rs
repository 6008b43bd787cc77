//! `norn-bench loadgen`: a remote-write load generator that plays simulated node_exporter
//! scrapes into any Prometheus remote write 1.0 receiver (Norn, Prometheus, VictoriaMetrics).
//!
//! The pieces, in the order a run uses them:
//! - [`config`]: the command line (`--url`, `--series`, `--interval`, `--duration`, …).
//! - [`series`]: the simulated targets — node_exporter-like families (counters, gauges,
//!   histogram buckets) with `job`/`instance`/`cpu`/`mode`/`device` labels — and their values.
//! - [`plan`]: which series and which scrape every request carries, in time order, and which
//!   connection sends it (one series always travels on one connection, so it stays in order).
//! - [`encode`]: protobuf + snappy encoding of one request, ahead of the timed part.
//! - [`http`]: a minimal blocking HTTP/1.1 keep-alive client (no async runtime, no new crates).
//! - [`run`]: the producer thread, the sender threads and the clock.
//! - [`report`]: samples/s, latency percentiles and errors by status, as text and JSON.

pub mod config;
pub mod encode;
pub mod http;
pub mod plan;
pub mod report;
pub mod run;
pub mod series;
