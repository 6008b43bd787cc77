//! How roles talk to each other (layer 3): one client trait per remote service with a local
//! implementation (roles in the same process) and a remote one speaking protobuf.
//!
//! - [`ingester`]: the ingester's service as the distributor (push) and the querier (reads)
//!   see it, and the [`ingester::IngesterPool`] that maps ring instances to clients. Selects
//!   answer with a [`SeriesStream`] of chunk batches; the chunk types are the TSDB's
//!   ([`ChunkSeries`], [`ChunkMeta`]), so nothing is re-encoded on the way.
//!
//! A role implements the trait for itself; `norn-server` registers that implementation in the
//! pool for roles in the same process, so a push from the distributor to a local ingester is
//! a function call with no encoding.

pub mod ingester;

pub use ingester::{
    ChunkMeta, ChunkSeries, IngesterClient, IngesterError, IngesterPool, MetricMetadata,
    PushOutcome, PushRequest, PushSeries, Rejection, SERIES_PER_BATCH, Sample, SeriesBatch,
    SeriesSender, SeriesStream, TenantStats,
};
