//! Norn's local storage engine (layer 2): WAL, in-memory head, XOR chunks, index v2 and blocks,
//! bit-compatible with Prometheus's TSDB.
//!
//! The engine is synchronous and free of tokio: callers run it on blocking threads. It depends
//! only on `norn-model` and `norn-common`, never on object storage or RPC.
//!
//! Modules:
//! - [`chunkenc`]: chunk encodings; today the XOR (Gorilla) float chunk, encoding 1, byte for
//!   byte as Prometheus writes it (`shared/formats/tsdb-block.md` §5).
//! - [`encoding`]: the byte primitives (varints, big-endian integers, strings) of the formats.
//! - [`series`]: chunk metadata and series-of-chunks, the currency between head, blocks and
//!   queries, with the sample iterator that merges overlapping chunks.
//! - [`postings`]: the index lookups head and blocks share and the matcher algebra over them.
//! - [`wal`]: the write-ahead log in Prometheus's segment/page/fragment format, its record
//!   codecs, replay with tail repair, and checkpoints.
//! - [`index`]: the block index file (format v2): writer and memory-mapped reader.
//! - [`chunks`]: the block chunk segment files (`chunks/000001`, ...).
//! - [`block`]: block directories: `meta.json`, tombstones, writing, opening, merging.
//! - [`head`]: the in-memory head: striped series, postings, appender with commit/rollback.
//! - [`db`]: a TSDB directory: head + WAL + blocks, replay on open, head compaction, queries.
//! - [`metrics`]: per-TSDB stats snapshots and the collector that exports their sums.
//! - [`error`]: the crate's error type.

pub mod block;
pub mod chunkenc;
pub mod chunks;
pub mod db;
pub mod encoding;
pub mod error;
pub mod head;
pub mod index;
pub mod metrics;
pub mod postings;
pub mod series;
pub mod wal;

pub use error::{Error, Result};
