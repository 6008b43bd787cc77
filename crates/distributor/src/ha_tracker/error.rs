//! Why the HA tracker refused a sample batch, or could not decide.

use norn_ring::kv::KvError;

/// The error id (after `err-mimir-`) of [`HaError::TooManyClusters`], as Mimir's catalog names it.
pub const TOO_MANY_HA_CLUSTERS_ERROR_ID: &str = "tenant-too-many-ha-clusters";

fn too_many_clusters_message(limit: u64) -> String {
    norn_limits::error_id::limit_error_message(
        &format!(
            "the write request has been rejected because the maximum number of high-availability (HA) clusters has been reached for this tenant (limit: {limit})"
        ),
        norn_limits::ErrorId::TenantTooManyHaClusters,
    )
}

/// The flag that sets the per-tenant HA cluster limit.
pub const MAX_CLUSTERS_FLAG: &str = "distributor.ha-tracker.max-clusters";

/// The outcome of an HA check that does not accept the samples.
#[derive(Debug, thiserror::Error)]
pub enum HaError {
    /// The samples come from a replica other than the elected one: the distributor drops them
    /// and still answers 202, so the sender does not retry.
    #[error("replicas did not match, rejecting sample: replica={replica}, elected={elected}")]
    ReplicasNotMatch {
        /// The replica the samples come from.
        replica: String,
        /// The replica currently elected for the cluster.
        elected: String,
    },
    /// The samples would add a cluster beyond the tenant's `ha_max_clusters` (answered 400).
    #[error("{}", too_many_clusters_message(*.limit))]
    TooManyClusters {
        /// The tenant's cluster limit.
        limit: u64,
    },
    /// The KV store failed; the distributor cannot tell which replica is elected.
    #[error("HA tracker: {0}")]
    Kv(#[from] KvError),
}

impl HaError {
    /// True when the samples come from a non-elected replica (drop them, answer 202).
    pub fn is_rejected_replica(&self) -> bool {
        matches!(self, HaError::ReplicasNotMatch { .. })
    }

    /// True when the tenant has too many HA clusters (answer 400).
    pub fn is_too_many_clusters(&self) -> bool {
        matches!(self, HaError::TooManyClusters { .. })
    }

    /// The HTTP status Mimir answers a push with for this error: 202 for a non-elected
    /// replica, 400 for too many clusters, 500 when the KV store failed.
    pub fn http_status(&self) -> u16 {
        match self {
            HaError::ReplicasNotMatch { .. } => 202,
            HaError::TooManyClusters { .. } => 400,
            HaError::Kv(_) => 500,
        }
    }
}
