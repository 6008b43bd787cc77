//! Finding the HA cluster and replica labels of a series.

/// Finds the values of the cluster and replica labels in a series' labels, as
/// `(cluster, replica)`. The distributor looks only at the first series of a request (Mimir's
/// rule: all series of a Prometheus remote-write request carry the same external labels).
/// Should a name repeat, its last value wins, as in Mimir.
pub fn find_ha_labels<'a>(
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    cluster_label: &str,
    replica_label: &str,
) -> (Option<&'a str>, Option<&'a str>) {
    let mut cluster = None;
    let mut replica = None;
    for (name, value) in labels {
        if name == cluster_label {
            cluster = Some(value);
        }
        if name == replica_label {
            replica = Some(value);
        }
    }
    (cluster, replica)
}
