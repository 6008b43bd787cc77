//! The ring status page (`/ingester/ring`, `/distributor/ring`, ...) and its "forget" action.
//!
//! Mirrors dskit's ring page (`ring/ring_http.go`, `ring_status.gohtml`): one row per
//! instance, sorted by ID, with its zone, state (`UNHEALTHY` when its heartbeat is older than
//! the timeout), address, registration time, read-only flag, last heartbeat, token count and
//! share of the token space, and a "Forget" button that POSTs `forget=<id>`. The JSON variant
//! (served when the client accepts `application/json`) has dskit's `httpResponse` shape:
//! `{"shards": [{"id", "state", "address", "timestamp", "registered_timestamp", "read_only",
//! "zone", "tokens"}], "now"}` with RFC 3339 times. The HTTP routing lives with the roles; this
//! module only renders and edits.

use std::fmt::Write as _;

use norn_common::time::format_timestamp;
use serde_json::{Value, json};

use crate::desc::{InstanceDesc, RingDesc, decode_kv_value, encode_kv_value};
use crate::error::RingError;
use crate::kv::Kv;
use crate::ring::Ring;

/// The state shown for an instance whose heartbeat is older than the timeout.
const UNHEALTHY: &str = "UNHEALTHY";

/// Returns the state shown for `instance`: its state, or `UNHEALTHY` past the timeout.
fn shown_state(instance: &InstanceDesc, ring: &Ring, now_ms: i64) -> &'static str {
    if instance.is_heartbeat_healthy(ring.options().heartbeat_timeout, now_ms) {
        instance.state.as_str()
    } else {
        UNHEALTHY
    }
}

/// Renders the ring page: a self-contained HTML document titled `title`. `ring` supplies the
/// heartbeat timeout and token ownership; `desc` the rows.
pub fn render_html(title: &str, desc: &RingDesc, ring: &Ring, now_ms: i64) -> String {
    let ownership = ring.token_ownership();
    let title = escape_html(title);
    let mut page = String::with_capacity(2048 + desc.instances.len() * 512);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"UTF-8\">\n<title>{title}</title>\n\
         <style>body{{font-family:sans-serif}}table{{border-collapse:collapse;width:100%}}\
         th,td{{border:1px solid #999;padding:4px 8px;text-align:left}}\
         tbody tr:nth-child(even){{background:#eee}}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p>Current time: {now}</p>\n",
        now = format_timestamp(now_ms),
    );
    if desc.instances.is_empty() {
        page.push_str("<p>No instance is registered in the ring.</p>\n</body>\n</html>\n");
        return page;
    }
    page.push_str(
        "<table>\n<thead>\n<tr><th>Instance ID</th><th>Availability Zone</th><th>State</th>\
         <th>Address</th><th>Registered At</th><th>Read-Only</th><th>Last Heartbeat</th>\
         <th>Tokens</th><th>Ownership</th><th>Actions</th></tr>\n</thead>\n<tbody>\n",
    );
    for (id, instance) in &desc.instances {
        let registered = if instance.registered_ms > 0 {
            format_timestamp(instance.registered_ms)
        } else {
            String::new()
        };
        let share = ownership.get(id).copied().unwrap_or(0.0) * 100.0;
        let id = escape_html(id);
        let _ = writeln!(
            page,
            "<tr><td>{id}</td><td>{zone}</td><td>{state}</td><td>{addr}</td><td>{registered}</td>\
             <td>{read_only}</td><td>{age} ago ({heartbeat})</td><td>{tokens}</td>\
             <td>{share:.2}%</td><td><form method=\"POST\">\
             <input type=\"hidden\" name=\"forget\" value=\"{id}\">\
             <button type=\"submit\">Forget</button></form></td></tr>",
            zone = escape_html(&instance.zone),
            state = shown_state(instance, ring, now_ms),
            addr = escape_html(&instance.addr),
            read_only = instance.read_only,
            age = format_age(now_ms.saturating_sub(instance.heartbeat_ms)),
            heartbeat = format_timestamp(instance.heartbeat_ms),
            tokens = instance.tokens.len(),
        );
    }
    page.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    page
}

/// Renders the ring as JSON, in the shape of dskit's ring page response.
pub fn render_json(desc: &RingDesc, ring: &Ring, now_ms: i64) -> Value {
    let shards: Vec<Value> = desc
        .instances
        .iter()
        .map(|(id, instance)| {
            json!({
                "id": id,
                "state": shown_state(instance, ring, now_ms),
                "address": instance.addr,
                "timestamp": format_timestamp(instance.heartbeat_ms),
                "registered_timestamp": if instance.registered_ms > 0 {
                    format_timestamp(instance.registered_ms)
                } else {
                    GO_ZERO_TIME.to_owned()
                },
                "read_only": instance.read_only,
                "zone": instance.zone,
                "tokens": instance.tokens,
            })
        })
        .collect();
    json!({ "shards": shards, "now": format_timestamp(now_ms) })
}

/// Removes `instance_id` from the ring under `ring_key`; returns whether it was there. This is
/// the page's "Forget" button: for instances that died without unregistering.
pub async fn forget(kv: &dyn Kv, ring_key: &str, instance_id: &str) -> Result<bool, RingError> {
    let mut removed = false;
    kv.cas(ring_key, &mut |current| {
        removed = false;
        let mut desc = decode_kv_value(ring_key, current)?;
        if desc.remove_instance(instance_id).is_none() {
            return Ok(None);
        }
        removed = true;
        encode_kv_value(ring_key, &desc)
    })
    .await?;
    Ok(removed)
}

/// How Go's JSON writes an unset `time.Time`, which dskit emits for unknown registrations.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Formats an age in milliseconds as Go prints a duration truncated to seconds (`1h2m3s`).
fn format_age(age_ms: i64) -> String {
    let sign = if age_ms < 0 { "-" } else { "" };
    let total = age_ms.unsigned_abs() / 1000;
    let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60);
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}s")
    } else {
        format!("{sign}{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desc::InstanceState;
    use crate::desc::tests::instance;
    use crate::kv::InMemoryKv;
    use crate::ring::RingOptions;
    use std::sync::Arc;

    const NOW: i64 = 1_000_000;

    fn sample() -> (RingDesc, Ring) {
        let mut desc = RingDesc::new();
        desc.add_instance(instance("ing-1", "zone-a", &[100, 200]));
        let mut stale = instance("<script>alert('x')</script>", "z&\"q\"", &[300]);
        stale.heartbeat_ms = NOW - 120_000;
        stale.state = InstanceState::Leaving;
        desc.add_instance(stale);
        let ring = Ring::new(Arc::new(desc.clone()), RingOptions::default());
        (desc, ring)
    }

    #[test]
    fn html_has_a_row_per_instance_and_escapes_everything() {
        let (desc, ring) = sample();
        let page = render_html("Ingester <ring>", &desc, &ring, NOW);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(
            page.contains("<title>Ingester &lt;ring&gt;</title>"),
            "{page}"
        );
        assert_eq!(page.matches("<tr><td>").count(), 2);
        assert!(page.contains("<td>ing-1</td><td>zone-a</td><td>ACTIVE</td><td>ing-1:9095</td>"));
        assert!(page.contains("name=\"forget\" value=\"ing-1\""));
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(page.contains("z&amp;&quot;q&quot;"));
        assert!(
            page.contains("<td>UNHEALTHY</td>"),
            "stale heartbeat shown as unhealthy"
        );
        assert!(page.contains("2m0s ago"), "{page}");
        assert!(page.contains("<td>2</td>"), "token count");
        assert!(page.contains('%'));
    }

    #[test]
    fn empty_ring_page_says_so() {
        let desc = RingDesc::new();
        let ring = Ring::empty(RingOptions::default());
        let page = render_html("Ring", &desc, &ring, NOW);
        assert!(page.contains("No instance is registered"));
        assert!(!page.contains("<table>"));
    }

    #[test]
    fn json_has_dskit_shape() {
        let (desc, ring) = sample();
        let value = render_json(&desc, &ring, NOW);
        let shards = value["shards"].as_array().unwrap();
        assert_eq!(shards.len(), 2);
        let healthy = shards.iter().find(|s| s["id"] == "ing-1").unwrap();
        assert_eq!(healthy["state"], "ACTIVE");
        assert_eq!(healthy["address"], "ing-1:9095");
        assert_eq!(healthy["zone"], "zone-a");
        assert_eq!(healthy["tokens"], json!([100, 200]));
        assert_eq!(healthy["timestamp"], "1970-01-01T00:16:40Z");
        assert_eq!(healthy["registered_timestamp"], "1970-01-01T00:00:01Z");
        assert_eq!(healthy["read_only"], false);
        let stale = shards.iter().find(|s| s["id"] != "ing-1").unwrap();
        assert_eq!(stale["state"], "UNHEALTHY");
        assert_eq!(value["now"], "1970-01-01T00:16:40Z");
    }

    #[tokio::test]
    async fn forget_removes_only_the_named_instance() {
        let kv = InMemoryKv::new();
        let (desc, _) = sample();
        let bytes = desc.to_bytes().unwrap();
        kv.cas("ring", &mut |_| Ok(Some(bytes.clone())))
            .await
            .unwrap();
        assert!(forget(&kv, "ring", "ing-1").await.unwrap());
        assert!(!forget(&kv, "ring", "ing-1").await.unwrap());
        assert!(!forget(&kv, "missing-ring", "ing-1").await.unwrap());
        assert!(
            kv.get("missing-ring").await.unwrap().is_none(),
            "nothing written"
        );
        let left = RingDesc::from_bytes(&kv.get("ring").await.unwrap().unwrap()).unwrap();
        assert_eq!(left.instances.len(), 1);
        assert!(!left.instances.contains_key("ing-1"));
    }

    #[test]
    fn times_format_like_go() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_timestamp(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(format_timestamp(951_782_400_500), "2000-02-29T00:00:00.5Z");
        assert_eq!(format_timestamp(-1_000), "1969-12-31T23:59:59Z");
        assert_eq!(format_age(0), "0s");
        assert_eq!(format_age(59_999), "59s");
        assert_eq!(format_age(3_723_000), "1h2m3s");
        assert_eq!(format_age(-5_000), "-5s");
    }
}
