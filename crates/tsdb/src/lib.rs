//! Norn's local storage engine (layer 2): WAL, in-memory head, XOR chunks, index v2 and blocks,
//! bit-compatible with Prometheus's TSDB.
//!
//! The engine is synchronous and free of tokio: callers run it on blocking threads. It depends
//! only on `norn-model` and `norn-common`, never on object storage or RPC.
//!
//! Modules so far:
//! - [`chunkenc`]: chunk encodings; today the XOR (Gorilla) float chunk, encoding 1, byte for
//!   byte as Prometheus writes it (`shared/formats/tsdb-block.md` §5).
//! - [`wal`]: the write-ahead log in Prometheus's segment/page/fragment format.
//! - [`error`]: the crate's error type.
//!
//! The head, WAL, index, blocks and query modules follow (see the crate's issue notes).

pub mod chunkenc;
pub mod error;
pub mod wal;

pub use error::{Error, Result};
