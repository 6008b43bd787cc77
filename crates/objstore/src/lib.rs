//! Object storage for Norn: one `Bucket` handle over a filesystem directory, S3 or Azure Blob,
//! with tenant prefixing, retries and instrumentation (layer 1).
//!
//! Filled in by the long-term storage work; the crate exists now so the dependency direction of
//! the roles above it is fixed.
