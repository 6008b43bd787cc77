//! The write-ahead log, in Prometheus's `wlog` format (`shared/formats/wal.md`).
//!
//! A WAL is a directory of numbered segment files (`00000000`, `00000001`, …). A segment is a
//! run of 32 KiB pages; each record is optionally snappy-compressed and cut into fragments
//! (7-byte header: type and compression flags, big-endian length, CRC32C of the payload) that
//! never cross a page or segment boundary. Matching Prometheus byte for byte lets its tooling
//! read Norn's WAL and an operator move a Prometheus WAL over.
//!
//! - [`framing`]: records ↔ fragments on pages, pure functions over bytes.
//! - [`record`]: what is inside a record — the series, samples, tombstones and metadata codecs.
//! - [`writer`]: [`Wal`], the segment writer shared by appender threads, with optional group
//!   commit fsync ([`SyncPolicy`]).
//! - [`replay`](mod@replay): reading a WAL directory back on startup ([`replay()`]): checkpoint, then
//!   segments, cutting off a torn tail and refusing anything that looks like real corruption.
//! - [`checkpoint`](mod@checkpoint): folding old segments into `checkpoint.N`
//!   ([`checkpoint()`]) so they can be deleted.
//! - [`segments`]: file naming and directory listing shared by the above.
//!
//! Lifecycle, as the head uses it: [`replay()`] the directory, then [`Wal::open`] it (which
//! always starts a new segment), [`Wal::log`] encoded records from the appenders, call
//! [`checkpoint()`] after each head truncation, and [`Wal::close`] on shutdown.

pub mod checkpoint;
pub mod framing;
pub mod record;
pub mod replay;
pub mod segments;
pub mod writer;

pub use checkpoint::{CheckpointStats, checkpoint};
pub use record::{Record, RefMetadata, RefSample, RefSeries, Stone};
pub use replay::{ReplayStats, TailRepair, replay};
pub use writer::{SyncPolicy, Wal, WalOptions, WalStats};
