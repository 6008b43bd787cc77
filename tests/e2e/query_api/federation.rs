//! Reads over several tenants (`X-Scope-OrgID: a|b`) with tenant federation enabled.

use norn_e2e::remote::Series;
use serde_json::json;

use super::{Node, recent_samples, vector};

#[test]
fn federated_queries_label_series_with_their_tenant() {
    let node = Node::start(|config| config.tenant_federation.enabled = true);
    let (now, samples) = recent_samples(2, |_| 1.0);
    node.push(
        "team-a",
        &[Series::new(&[("__name__", "up"), ("job", "api")], &samples)],
    );
    node.push(
        "team-b",
        &[Series::new(&[("__name__", "up"), ("job", "db")], &samples)],
    );

    let both = node.get(
        Some("team-b|team-a"),
        &format!("/api/v1/query?query=up&time={now}"),
    );
    assert_eq!(
        vector(both.data()),
        [
            (
                json!({"__name__": "up", "__tenant_id__": "team-a", "job": "api"}),
                json!([now, "1"])
            ),
            (
                json!({"__name__": "up", "__tenant_id__": "team-b", "job": "db"}),
                json!([now, "1"])
            ),
        ]
    );
    let summed = node.post_form(
        "team-a|team-b",
        "/api/v1/query",
        &format!("query=sum+by+(__tenant_id__)(up)&time={now}"),
    );
    assert_eq!(vector(summed.data()).len(), 2);
    let one = node.get(
        Some("team-a|team-b"),
        &format!("/api/v1/query?query=up%7B__tenant_id__%3D%22team-b%22%7D&time={now}"),
    );
    assert_eq!(vector(one.data()).len(), 1);
    let tenants = node.get(Some("team-a|team-b"), "/api/v1/label/__tenant_id__/values");
    assert_eq!(tenants.data(), &json!(["team-a", "team-b"]));

    // A single tenant sees only its own series, without the tenant label.
    let own = node.get(
        Some("team-a"),
        &format!("/api/v1/query?query=up&time={now}"),
    );
    assert_eq!(
        vector(own.data()),
        [(json!({"__name__": "up", "job": "api"}), json!([now, "1"]))]
    );
}

#[test]
fn without_federation_several_tenants_are_refused() {
    let node = Node::start(|_| {});
    let answer = node.get(Some("team-a|team-b"), "/api/v1/query?query=up");
    assert_eq!(answer.response.status, 422, "{}", answer.response.body);
    assert!(
        answer.response.body.contains("too many tenant IDs present"),
        "{}",
        answer.response.body
    );
}
