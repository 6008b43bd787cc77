//! Why a ring operation failed: an empty ring, too few healthy replicas, a KV failure, a
//! descriptor that does not decode, or an unknown instance.

use crate::kv::KvError;

/// What went wrong in the ring.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    /// No instance owns a token, so no key can be placed (dskit's `ErrEmptyRing`).
    #[error("empty ring: no instance has registered tokens")]
    EmptyRing,
    /// Fewer healthy instances than a quorum of the replication set.
    #[error("{}", too_many_unhealthy_message(*.required, *.healthy, *.zone_aware, .unhealthy))]
    TooManyUnhealthy {
        /// The healthy instances the operation needs.
        required: usize,
        /// The healthy instances found.
        healthy: usize,
        /// Whether replicas had to be in distinct availability zones.
        zone_aware: bool,
        /// The addresses of the unhealthy instances of the set (may be empty).
        unhealthy: Vec<String>,
    },
    /// The KV store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A ring descriptor could not be encoded or decoded.
    #[error("invalid ring descriptor: {0}")]
    InvalidDesc(String),
    /// The instance is not registered in the ring.
    #[error("instance {0:?} not found in the ring")]
    InstanceNotFound(String),
}

/// Formats the quorum failure as dskit's default replication strategy does, so operators
/// searching for Mimir's message find this one too.
fn too_many_unhealthy_message(
    required: usize,
    healthy: usize,
    zone_aware: bool,
    unhealthy: &[String],
) -> String {
    let zones = if zone_aware {
        " across different availability zones"
    } else {
        ""
    };
    let listed = if unhealthy.is_empty() {
        String::new()
    } else {
        format!(" - unhealthy instances: {}", unhealthy.join(","))
    };
    format!(
        "too many unhealthy instances in the ring: at least {required} live replicas required{zones}, could only find {healthy}{listed}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_message_names_counts_and_instances() {
        let error = RingError::TooManyUnhealthy {
            required: 2,
            healthy: 1,
            zone_aware: true,
            unhealthy: vec!["10.0.0.1:9095".into()],
        };
        let text = error.to_string();
        assert!(text.contains("at least 2 live replicas required"), "{text}");
        assert!(
            text.contains("across different availability zones"),
            "{text}"
        );
        assert!(text.contains("could only find 1"), "{text}");
        assert!(text.contains("10.0.0.1:9095"), "{text}");
    }
}
