//! The `/distributor/ha_tracker` status page: the elected replica of every (tenant, cluster).
//!
//! The HTML page has the columns of Mimir's page; the JSON form has the shape of Mimir's
//! (`elected[].userID`, `cluster`, `replica`, `lastElectionTime`, `electedLastSeenTime`,
//! `updateDuration` and `failoverDuration` in nanoseconds, as Go encodes durations, and `now`).

use std::fmt::Write as _;

use norn_common::time::format_timestamp;
pub(crate) use norn_ring::status::escape_html;
use serde::Serialize;
use serde_json::json;

/// One elected replica, as shown on the status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ElectedReplica {
    /// The tenant.
    pub tenant: String,
    /// The HA cluster.
    pub cluster: String,
    /// The elected replica.
    pub replica: String,
    /// When the replica was elected (Unix ms).
    pub elected_at_ms: i64,
    /// When a sample from the replica was last recorded in the KV store (Unix ms).
    pub received_at_ms: i64,
    /// When this distributor will next refresh the entry, if the replica keeps sending (Unix ms).
    pub update_time_ms: i64,
    /// When another replica may be elected if this one stays silent (Unix ms).
    pub failover_time_ms: i64,
}

/// Renders the HTML page; every value taken from the KV store is escaped.
pub(crate) fn render_html(elected: &[ElectedReplica], now_ms: i64) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html>\n<head>\n    <meta charset=\"UTF-8\">\n    \
         <title>HA Tracker Status</title>\n</head>\n<body>\n<h1>HA Tracker Status</h1>\n",
    );
    let _ = writeln!(page, "<p>Current time: {}</p>", format_timestamp(now_ms));
    page.push_str(
        "<table width=\"100%\" border=\"1\">\n    <thead>\n    <tr>\n        \
         <th>Tenant</th>\n        <th>Cluster</th>\n        <th>Replica</th>\n        \
         <th>Elected At</th>\n        <th>Last Updated</th>\n        <th>Next Update</th>\n        \
         <th>Failover At</th>\n    </tr>\n    </thead>\n    <tbody>\n",
    );
    for entry in elected {
        let _ = writeln!(
            page,
            "    <tr>\n        <td>{}</td>\n        <td>{}</td>\n        <td>{}</td>\n        \
             <td>{}</td>\n        <td>{}</td>\n        <td>{}</td>\n        <td>{}</td>\n    </tr>",
            escape_html(&entry.tenant),
            escape_html(&entry.cluster),
            escape_html(&entry.replica),
            format_timestamp(entry.elected_at_ms),
            format_timestamp(entry.received_at_ms),
            format_deadline(entry.update_time_ms, now_ms),
            format_deadline(entry.failover_time_ms, now_ms),
        );
    }
    page.push_str("    </tbody>\n</table>\n</body>\n</html>\n");
    page
}

/// Renders the JSON form of the page.
pub(crate) fn render_json(elected: &[ElectedReplica], now_ms: i64) -> serde_json::Value {
    let elected: Vec<serde_json::Value> = elected
        .iter()
        .map(|entry| {
            json!({
                "userID": entry.tenant,
                "cluster": entry.cluster,
                "replica": entry.replica,
                "lastElectionTime": format_timestamp(entry.elected_at_ms),
                "electedLastSeenTime": format_timestamp(entry.received_at_ms),
                "updateDuration": millis_to_nanos(entry.update_time_ms.saturating_sub(now_ms)),
                "failoverDuration": millis_to_nanos(entry.failover_time_ms.saturating_sub(now_ms)),
            })
        })
        .collect();
    json!({ "elected": elected, "now": format_timestamp(now_ms) })
}

fn millis_to_nanos(millis: i64) -> i64 {
    millis.saturating_mul(1_000_000)
}

/// Formats a deadline as its time and how far away it is: `… (in 12.5s)` or `… (3s ago)`.
fn format_deadline(deadline_ms: i64, now_ms: i64) -> String {
    let remaining = deadline_ms.saturating_sub(now_ms);
    let relative = if remaining >= 0 {
        format!("in {}", format_duration(remaining))
    } else {
        format!("{} ago", format_duration(remaining.saturating_neg()))
    };
    format!("{} ({relative})", format_timestamp(deadline_ms))
}

/// Formats milliseconds the way Go prints a duration: `1h2m3.5s`, `12.5s`, `0s`.
pub(crate) fn format_duration(millis: i64) -> String {
    let sign = if millis < 0 { "-" } else { "" };
    let millis = millis.unsigned_abs();
    let hours = millis / 3_600_000;
    let minutes = millis / 60_000 % 60;
    let seconds = millis / 1000 % 60;
    let fraction = trim_fraction(millis % 1000);
    let seconds = format!("{seconds}{fraction}s");
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}")
    } else {
        format!("{sign}{seconds}")
    }
}

/// `.5` for 500ms, `.125` for 125ms, nothing for 0.
fn trim_fraction(millis: u64) -> String {
    if millis == 0 {
        return String::new();
    }
    let digits = format!("{millis:03}");
    format!(".{}", digits.trim_end_matches('0'))
}
