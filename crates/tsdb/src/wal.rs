//! The write-ahead log, in Prometheus's `wlog` format (`shared/formats/wal.md`).
//!
//! A WAL is a directory of numbered segment files (`00000000`, `00000001`, …). A segment is a
//! run of 32 KiB pages; each record is optionally snappy-compressed and cut into fragments
//! (7-byte header: type and compression flags, big-endian length, CRC32C of the payload) that
//! never cross a page or segment boundary. Matching Prometheus byte for byte lets its tooling
//! read Norn's WAL and an operator move a Prometheus WAL over.
//!
//! - [`framing`]: records ↔ fragments on pages, pure functions over bytes.

pub mod framing;
