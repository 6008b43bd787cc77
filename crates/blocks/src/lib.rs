//! TSDB blocks in object storage (layer 2): the shipper, deletion and no-compact markers, the
//! bucket index and index-headers, in Mimir's bucket layout.
//!
//! Today it holds [`BlocksStorageConfig`], the `blocks_storage:` configuration block shared by
//! the ingester (local TSDB directory), the store-gateway (index-header sync directory) and the
//! bucket client.

pub mod config;

pub use config::BlocksStorageConfig;
