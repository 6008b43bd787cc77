//! Which tenant a push belongs to: `X-Scope-OrgID` rules, multitenancy disabled, and built-in
//! credentials mapping basic auth and bearer tokens to tenants.

use norn_e2e::remote::{Series, push_series, push_series_with, read_with};
use norn_e2e::{basic_auth, metric_value, request};

use super::{HOUR_MS, MINUTE_MS, Node, normalized};

#[test]
fn multitenancy_requires_a_valid_tenant() {
    let node = Node::start(|_, _| {});
    let now = norn_e2e::remote::now_ms();
    let series = [Series::new(
        &[("__name__", "up"), ("job", "tenancy")],
        &[(now - MINUTE_MS, 1.0)],
    )];

    let response = push_series(node.address, None, &series);
    assert_eq!((response.status, response.body.trim()), (401, "no org id"));
    for (tenant, status, reason) in [
        ("bad/tenant", 401, "unsupported character '/'"),
        ("..", 401, "'.' or '..'"),
        (&*"t".repeat(151), 401, "too long"),
        ("__mimir_cluster", 401, "reserved"),
        ("team-a|team-b", 422, "too many tenant IDs"),
    ] {
        let response = push_series(node.address, Some(tenant), &series);
        assert_eq!(response.status, status, "{tenant}: {}", response.body);
        assert!(
            response.body.contains(reason),
            "{tenant}: {}",
            response.body
        );
    }
    // Nothing was stored for anyone.
    let stats = request(
        node.address,
        "GET",
        "/distributor/all_user_stats",
        &[("Accept", "application/json")],
        b"",
    )
    .unwrap();
    assert_eq!((stats.status, stats.body.trim()), (200, "[]"));
    assert_eq!(node.stored("anonymous"), Vec::<Series>::new());
    assert!(
        !node
            .metrics()
            .contains("cortex_distributor_received_samples_total{"),
        "no push was accepted"
    );
    // Tenants are isolated: what one writes, another does not read.
    let response = push_series(node.address, Some("team-a"), &series);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(node.stored("team-a"), normalized(series.to_vec()));
    assert_eq!(node.stored("team-b"), Vec::<Series>::new());
    // The longest valid tenant ID, with every allowed punctuation character.
    let longest = format!("{}!-_.*'()", "t".repeat(142));
    let response = push_series(node.address, Some(&longest), &series);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(node.stored(&longest), normalized(series.to_vec()));
}

#[test]
fn without_multitenancy_everything_lands_in_the_anonymous_tenant() {
    let node = Node::start(|config, _| config.multitenancy_enabled = false);
    let now = norn_e2e::remote::now_ms();
    let first = Series::new(
        &[("__name__", "up"), ("job", "a")],
        &[(now - MINUTE_MS, 1.0)],
    );
    let second = Series::new(
        &[("__name__", "up"), ("job", "b")],
        &[(now - MINUTE_MS, 2.0)],
    );
    let response = push_series(node.address, None, std::slice::from_ref(&first));
    assert_eq!(response.status, 200, "{}", response.body);
    // A header naming a tenant is ignored.
    let response = push_series(node.address, Some("team-a"), std::slice::from_ref(&second));
    assert_eq!(response.status, 200, "{}", response.body);
    let expected = normalized(vec![first, second]);
    assert_eq!(node.stored_with(&[]), expected);
    assert_eq!(node.stored("someone-else"), expected);
    assert_eq!(
        metric_value(
            &node.metrics(),
            "cortex_distributor_received_samples_total",
            &[("user", "anonymous")]
        ),
        Some(2.0)
    );
}

const AUTH_CONFIG: &str = "auth:
  credentials:
    - tenants: [team-a]
      username: alice
      password: secret
    - tenants: [team-b]
      token: token-of-team-b
    - tenants: [team-a, team-b]
      username: ops
      password: ops-secret
";

#[test]
fn credentials_decide_the_tenant() {
    let node = Node::start_yaml(AUTH_CONFIG);
    let now = norn_e2e::remote::now_ms();
    let series = |job: &str| {
        Series::new(
            &[("__name__", "up"), ("job", job)],
            &[(now - MINUTE_MS, 1.0)],
        )
    };
    let alice = basic_auth("alice", "secret");
    let ops = basic_auth("ops", "ops-secret");
    let wrong = basic_auth("alice", "not-the-password");
    let bearer = "Bearer token-of-team-b";

    let refusals = [
        (
            "no credentials",
            push_series(node.address, Some("team-a"), &[series("x")]),
        ),
        (
            "wrong password",
            push_series_with(node.address, &[("Authorization", &wrong)], &[series("x")]),
        ),
        (
            "unknown token",
            push_series_with(
                node.address,
                &[("Authorization", "Bearer nope")],
                &[series("x")],
            ),
        ),
        (
            "tenant not granted",
            push_series_with(
                node.address,
                &[("Authorization", &alice), ("X-Scope-OrgID", "team-b")],
                &[series("x")],
            ),
        ),
        (
            "several tenants, none named",
            push_series_with(node.address, &[("Authorization", &ops)], &[series("x")]),
        ),
    ];
    for (case, response) in refusals {
        assert_eq!(response.status, 401, "{case}: {}", response.body);
        assert_eq!(
            response.header("www-authenticate"),
            Some("Basic realm=\"norn\""),
            "{case}"
        );
    }

    let response = push_series_with(
        node.address,
        &[("Authorization", &alice)],
        &[series("alice")],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let response = push_series_with(
        node.address,
        &[("Authorization", &alice), ("X-Scope-OrgID", "team-a")],
        &[series("alice-named")],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let response = push_series_with(
        node.address,
        &[("Authorization", bearer)],
        &[series("bearer")],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let response = push_series_with(
        node.address,
        &[("Authorization", &ops), ("X-Scope-OrgID", "team-b")],
        &[series("ops")],
    );
    assert_eq!(response.status, 200, "{}", response.body);

    assert_eq!(
        node.stored_with(&[("Authorization", &alice)]),
        normalized(vec![series("alice"), series("alice-named")])
    );
    assert_eq!(
        node.stored_with(&[("Authorization", bearer)]),
        normalized(vec![series("bearer"), series("ops")])
    );
    assert_eq!(
        node.stored_with(&[("Authorization", &ops), ("X-Scope-OrgID", "team-a")]),
        normalized(vec![series("alice"), series("alice-named")])
    );
    // Reads need credentials too.
    let refused = read_with(
        node.address,
        &[("X-Scope-OrgID", "team-a")],
        &[("=~", "job", ".+")],
        now - HOUR_MS,
        now,
    )
    .unwrap_err();
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Basic realm=\"norn\"")
    );
}
