use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Request, StatusCode};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use http_body_util::BodyExt;
use norn_common::config;
use norn_model::TenantId;
use proptest::prelude::*;
use tower::ServiceExt;

use super::*;
use crate::tenant::{AUTHENTICATE_CHALLENGE, ORG_ID_HEADER};
use crate::{Tenant, TenantResolver, Tenants};

const CONFIG: &str = "
credentials:
  - tenants: [team-a]
    username: alice
    password: s3cret
  - tenants: [team-b, team-c]
    token: abc123
  - tenants: [team-d]
    username: dave
    password: 'pass:with:colons'
";

/// A root configuration with the `auth:` block, as the server's.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Root {
    auth: AuthConfig,
}

impl ConfigSection for Root {
    fn specs() -> Vec<norn_common::config::FlagSpec> {
        config::nest("auth", AuthConfig::specs())
    }

    fn validate(&self) -> Result<(), String> {
        self.auth.validate()
    }
}

/// Loads `text`, the content of the `auth:` block, as part of a configuration file.
fn load(text: &str) -> Result<AuthConfig, String> {
    let indented: String = text.lines().map(|line| format!("  {line}\n")).collect();
    config::load::<Root>(Some(("norn.yaml", &format!("auth:\n{indented}"))), &[])
        .map(|root| root.auth)
        .map_err(|error| error.to_string())
}

fn credentials() -> Vec<Credential> {
    load(CONFIG).unwrap().credentials
}

fn basic(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{password}"))
    )
}

// ---- configuration ---------------------------------------------------------------------------

#[test]
fn the_yaml_shape_parses_and_round_trips() {
    let auth = load(CONFIG).unwrap();
    assert_eq!(auth.credentials.len(), 3);
    assert_eq!(auth.credentials[0].username(), Some("alice"));
    assert_eq!(auth.credentials[1].username(), None);
    let tenants: Vec<&str> = auth.credentials[1]
        .tenants()
        .iter()
        .map(TenantId::as_str)
        .collect();
    assert_eq!(tenants, ["team-b", "team-c"]);
    // The config loader turns the tree back into YAML when flags are given: nothing is lost.
    let tree = config::to_value(&auth).unwrap();
    let again: AuthConfig = config::from_value(tree).unwrap();
    assert_eq!(again, auth);
    assert_eq!(load("").unwrap(), AuthConfig::default());
}

#[test]
fn invalid_credentials_are_refused_with_their_position_and_reason() {
    let cases = [
        (
            "credentials:\n  - {tenants: [a], username: u, password: p, token: t}\n",
            "not both",
        ),
        ("credentials:\n  - {tenants: [a]}\n", "no secret"),
        (
            "credentials:\n  - {tenants: [], token: t}\n",
            "tenants is empty",
        ),
        ("credentials:\n  - {token: t}\n", "tenants is empty"),
        (
            "credentials:\n  - {tenants: [bad/tenant], token: t}\n",
            "unsupported character '/'",
        ),
        (
            "credentials:\n  - {tenants: ['..'], token: t}\n",
            "'.' or '..'",
        ),
        (
            "credentials:\n  - {tenants: [a], username: 'a:b', password: p}\n",
            "contains ':'",
        ),
        (
            "credentials:\n  - {tenants: [a], username: u}\n",
            "username \"u\" has no password",
        ),
        (
            "credentials:\n  - {tenants: [a], password: p}\n",
            "username is empty",
        ),
        (
            "credentials:\n  - {tenants: [a], token: 'two words'}\n",
            "printable ASCII",
        ),
        (
            "credentials:\n  - {tenants: [a], pasword: p, username: u}\n",
            "pasword",
        ),
    ];
    for (text, expected) in cases {
        let error = load(text).unwrap_err();
        assert!(error.contains(expected), "{text}: {error}");
        assert!(
            error.contains("norn.yaml: auth.credentials") && error.contains("line 3"),
            "{text}: {error}"
        );
    }
}

#[test]
fn usernames_and_tokens_must_be_unique() {
    let error = load(
        "credentials:\n  - {tenants: [a], username: alice, password: p}\n  - {tenants: [b], token: t}\n  - {tenants: [c], username: alice, password: q}\n",
    )
    .unwrap_err();
    assert!(
        error.contains(
            "auth.credentials[2]: username \"alice\" is already used by auth.credentials[0]"
        ),
        "{error}"
    );
    let error = load(
        "credentials:\n  - {tenants: [a], token: sekrit-token}\n  - {tenants: [b], token: sekrit-token}\n",
    )
    .unwrap_err();
    assert!(
        error.contains("auth.credentials[1]: the token is already used by auth.credentials[0]"),
        "{error}"
    );
    assert!(
        !error.contains("sekrit-token"),
        "the message must not show the token: {error}"
    );
}

#[test]
fn passwords_and_tokens_are_secret_specs_matching_the_serialized_keys() {
    let specs = AuthConfig::specs();
    let secret: Vec<&str> = specs
        .iter()
        .filter(|spec| spec.secret)
        .map(|spec| spec.path.as_str())
        .collect();
    assert_eq!(secret, ["credentials[].password", "credentials[].token"]);
    assert!(specs.iter().all(|spec| spec.flag.is_none()), "YAML only");
    // Every element spec names a key a serialized credential really has.
    let tree = config::to_value(&load(CONFIG).unwrap()).unwrap();
    let elements = tree["credentials"].as_sequence().unwrap();
    for spec in &specs {
        let Some(key) = spec.path.strip_prefix("credentials[].") else {
            assert!(tree.get(&spec.path).is_some(), "{}", spec.path);
            continue;
        };
        assert!(
            elements.iter().any(|element| element.get(key).is_some()),
            "{key} is not a serialized key"
        );
    }
}

#[test]
fn redacted_serialization_and_debug_hide_every_secret() {
    #[derive(serde::Serialize)]
    struct Shown {
        #[serde(serialize_with = "serialize_redacted")]
        credentials: Vec<Credential>,
    }
    let shown = Shown {
        credentials: credentials(),
    };
    let text = serde_yaml_ng::to_string(&shown).unwrap();
    for secret in ["s3cret", "abc123", "pass:with:colons"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(text.contains("alice") && text.contains("team-c"), "{text}");
    assert_eq!(text.matches("********").count(), 3, "{text}");
    let debug = format!("{:?} {:?}", shown.credentials, load(CONFIG).unwrap());
    for secret in ["s3cret", "abc123", "pass:with:colons"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

// ---- the credential set ----------------------------------------------------------------------

fn tenants_of(set: &CredentialSet, authorization: &str) -> Option<Vec<String>> {
    let value = HeaderValue::from_str(authorization).ok()?;
    set.authenticate(Some(&value))
        .map(|tenants| tenants.iter().map(|id| id.to_string()).collect())
}

#[test]
fn the_set_accepts_each_form_clients_send() {
    let set = CredentialSet::new(&credentials(), &[]);
    assert_eq!(set.len(), 3);
    let team_a = Some(vec!["team-a".to_owned()]);
    assert_eq!(tenants_of(&set, &basic("alice", "s3cret")), team_a);
    let lower_scheme = basic("alice", "s3cret").replacen("Basic", "basic", 1);
    assert_eq!(tenants_of(&set, &lower_scheme), team_a);
    let unpadded = format!("Basic {}", STANDARD_NO_PAD.encode("alice:s3cret"));
    assert_eq!(tenants_of(&set, &unpadded), team_a);
    assert_eq!(
        tenants_of(&set, &basic("dave", "pass:with:colons")),
        Some(vec!["team-d".to_owned()]),
        "only the first ':' separates the username"
    );
    assert_eq!(
        tenants_of(&set, "Bearer abc123"),
        Some(vec!["team-b".to_owned(), "team-c".to_owned()])
    );
    assert_eq!(
        tenants_of(&set, "BEARER   abc123"),
        tenants_of(&set, "Bearer abc123")
    );
    assert_eq!(set.authenticate(None), None);
    for refused in [
        basic("alice", "wrong"),
        basic("alice", "s3cret2"),
        basic("alice", ""),
        basic("mallory", "s3cret"),
        basic("dave", "pass"),
        "Basic".to_owned(),
        "Basic !!!not-base64!!!".to_owned(),
        format!("Basic {}", STANDARD.encode("no-colon")),
        "Bearer abc1234".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Token abc123".to_owned(),
        "abc123".to_owned(),
        format!("Digest {}", STANDARD.encode("alice:s3cret")),
    ] {
        assert_eq!(tenants_of(&set, &refused), None, "{refused}");
    }
}

#[test]
fn runtime_credentials_add_to_and_replace_static_ones() {
    let runtime = vec![
        Credential::basic(&["team-x"], "alice", "rotated").unwrap(),
        Credential::bearer(&["team-y"], "abc123").unwrap(),
        Credential::bearer(&["team-z"], "new-token").unwrap(),
    ];
    let set = CredentialSet::new(&credentials(), &runtime);
    assert_eq!(
        set.len(),
        4,
        "alice and abc123 are replaced, new-token added"
    );
    assert_eq!(tenants_of(&set, &basic("alice", "s3cret")), None);
    assert_eq!(
        tenants_of(&set, &basic("alice", "rotated")),
        Some(vec!["team-x".to_owned()])
    );
    assert_eq!(
        tenants_of(&set, "Bearer abc123"),
        Some(vec!["team-y".to_owned()])
    );
    assert_eq!(
        tenants_of(&set, "Bearer new-token"),
        Some(vec!["team-z".to_owned()])
    );
    assert_eq!(
        tenants_of(&set, &basic("dave", "pass:with:colons")),
        Some(vec!["team-d".to_owned()])
    );
    assert!(CredentialSet::new(&[], &[]).is_empty());
    let debug = format!("{set:?}");
    assert!(
        debug.contains("alice") && !debug.contains("rotated"),
        "{debug}"
    );
}

proptest! {
    #[test]
    fn any_basic_credential_round_trips_and_nothing_else_matches(
        username in "[^:\\x00]{1,20}",
        password in "\\PC{1,20}",
        other in "\\PC{1,20}",
    ) {
        let set = CredentialSet::new(
            &[Credential::basic(&["t"], &username, &password).unwrap()],
            &[],
        );
        prop_assert_eq!(tenants_of(&set, &basic(&username, &password)), Some(vec!["t".to_owned()]));
        if other != password {
            prop_assert_eq!(tenants_of(&set, &basic(&username, &other)), None);
        }
    }

    #[test]
    fn arbitrary_authorization_values_never_panic(value in proptest::collection::vec(any::<u8>(), 0..64)) {
        let set = CredentialSet::new(&credentials(), &[]);
        let mut prefixed = b"Basic ".to_vec();
        prefixed.extend_from_slice(&value);
        for bytes in [value.clone(), prefixed] {
            if let Ok(header) = HeaderValue::from_bytes(&bytes) {
                let _ = set.authenticate(Some(&header));
            }
        }
    }
}

// ---- enforcement in the resolver -------------------------------------------------------------

type Shared = Arc<RwLock<Arc<CredentialSet>>>;

/// A source whose set the test can swap, as a runtime-file reload does.
fn swappable(set: CredentialSet) -> (CredentialSource, Shared) {
    let shared: Shared = Arc::new(RwLock::new(Arc::new(set)));
    let source: CredentialSource = {
        let shared = Arc::clone(&shared);
        Arc::new(move || Arc::clone(&shared.read().unwrap()))
    };
    (source, shared)
}

fn router(resolver: TenantResolver) -> Router {
    Router::new()
        .route(
            "/write",
            get(|Tenant(id): Tenant| async move { id.to_string() }),
        )
        .route(
            "/read",
            get(|Tenants(ids): Tenants| async move {
                ids.iter()
                    .map(TenantId::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        )
        .layer(axum::Extension(resolver))
}

fn resolver(multitenancy: bool, federation: bool, source: CredentialSource) -> TenantResolver {
    TenantResolver::new(
        multitenancy,
        TenantId::new("anonymous").unwrap(),
        federation,
    )
    .with_credentials(source)
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: String,
}

async fn call(
    router: &Router,
    path: &str,
    org: Option<&str>,
    authorization: Option<&str>,
) -> Answer {
    let mut request = Request::get(path);
    if let Some(org) = org {
        request = request.header(ORG_ID_HEADER, org);
    }
    if let Some(authorization) = authorization {
        request = request.header(AUTHORIZATION, authorization);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        challenge,
        body: String::from_utf8_lossy(&body).trim().to_owned(),
    }
}

fn assert_ok(answer: &Answer, body: &str) {
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, body),
        "{answer:?}"
    );
}

fn assert_challenged(answer: &Answer, body_contains: &str) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    assert_eq!(
        answer.challenge.as_deref(),
        Some(AUTHENTICATE_CHALLENGE),
        "{answer:?}"
    );
    assert!(answer.body.contains(body_contains), "{answer:?}");
}

#[tokio::test]
async fn an_empty_set_changes_nothing() {
    let (source, _) = swappable(CredentialSet::default());
    let router = router(resolver(true, false, source));
    let answer = call(&router, "/write", None, None).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::UNAUTHORIZED, "no org id")
    );
    assert_eq!(answer.challenge, None);
    assert_ok(
        &call(&router, "/write", Some("team-a"), None).await,
        "team-a",
    );
    assert_ok(
        &call(&router, "/write", Some("team-z"), Some("Bearer whatever")).await,
        "team-z",
    );
}

#[tokio::test]
async fn a_valid_credential_selects_its_tenant() {
    let (source, _) = swappable(CredentialSet::new(&credentials(), &[]));
    let router = router(resolver(true, true, source));
    let alice = basic("alice", "s3cret");
    assert_ok(&call(&router, "/write", None, Some(&alice)).await, "team-a");
    assert_ok(
        &call(&router, "/write", Some("team-a"), Some(&alice)).await,
        "team-a",
    );
    assert_ok(
        &call(&router, "/write", Some("team-c"), Some("Bearer abc123")).await,
        "team-c",
    );
    assert_ok(
        &call(
            &router,
            "/read",
            Some("team-c|team-b"),
            Some("Bearer abc123"),
        )
        .await,
        "team-b,team-c",
    );
    assert_ok(
        &call(&router, "/read", Some("team-b"), Some("Bearer abc123")).await,
        "team-b",
    );
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_challenged() {
    let (source, _) = swappable(CredentialSet::new(&credentials(), &[]));
    let router = router(resolver(true, false, source));
    for authorization in [
        None,
        Some(basic("alice", "wrong")),
        Some(basic("nobody", "s3cret")),
        Some("Basic ???".to_owned()),
        Some("Bearer wrong".to_owned()),
        Some("Negotiate abc123".to_owned()),
    ] {
        for path in ["/write", "/read"] {
            let answer = call(&router, path, Some("team-a"), authorization.as_deref()).await;
            assert_challenged(&answer, MISSING_CREDENTIALS_HINT);
        }
    }
}

const MISSING_CREDENTIALS_HINT: &str = "missing or invalid credentials: send Authorization: Basic";

#[tokio::test]
async fn the_org_id_may_only_name_granted_tenants() {
    let (source, _) = swappable(CredentialSet::new(&credentials(), &[]));
    let router = router(resolver(true, true, source));
    let answer = call(
        &router,
        "/write",
        Some("team-b"),
        Some(&basic("alice", "s3cret")),
    )
    .await;
    assert_challenged(&answer, "do not grant tenant \"team-b\"");
    assert!(answer.body.contains("they grant: team-a"), "{answer:?}");
    let answer = call(
        &router,
        "/read",
        Some("team-b|team-x"),
        Some("Bearer abc123"),
    )
    .await;
    assert_challenged(&answer, "do not grant tenant \"team-x\"");
    let answer = call(&router, "/write", Some("bad/tenant"), Some("Bearer abc123")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    assert!(answer.body.contains("unsupported character"), "{answer:?}");
}

#[tokio::test]
async fn a_credential_with_several_tenants_needs_the_org_id() {
    let (source, _) = swappable(CredentialSet::new(&credentials(), &[]));
    let router = router(resolver(true, true, source));
    let answer = call(&router, "/read", None, Some("Bearer abc123")).await;
    assert_challenged(&answer, "grant several tenants (team-b, team-c)");
    assert!(answer.body.contains(ORG_ID_HEADER), "{answer:?}");
}

#[tokio::test]
async fn federation_still_needs_to_be_enabled_and_writes_serve_one_tenant() {
    let (source, _) = swappable(CredentialSet::new(&credentials(), &[]));
    let without_federation = router(resolver(true, false, Arc::clone(&source)));
    let answer = call(
        &without_federation,
        "/read",
        Some("team-b|team-c"),
        Some("Bearer abc123"),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{answer:?}"
    );
    let with_federation = router(resolver(true, true, source));
    let answer = call(
        &with_federation,
        "/write",
        Some("team-b|team-c"),
        Some("Bearer abc123"),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{answer:?}"
    );
}

#[tokio::test]
async fn without_multitenancy_credentials_gate_the_no_auth_tenant() {
    let (source, _) = swappable(CredentialSet::new(&credentials(), &[]));
    let router = router(resolver(false, false, source));
    assert_challenged(
        &call(&router, "/write", None, None).await,
        MISSING_CREDENTIALS_HINT,
    );
    assert_challenged(
        &call(
            &router,
            "/write",
            Some("team-a"),
            Some(&basic("alice", "nope")),
        )
        .await,
        MISSING_CREDENTIALS_HINT,
    );
    assert_ok(
        &call(&router, "/write", None, Some(&basic("alice", "s3cret"))).await,
        "anonymous",
    );
    assert_ok(
        &call(&router, "/read", Some("ignored"), Some("Bearer abc123")).await,
        "anonymous",
    );
}

#[tokio::test]
async fn a_changed_source_takes_effect_on_the_next_request() {
    let (source, shared) = swappable(CredentialSet::default());
    let router = router(resolver(true, false, source));
    assert_ok(
        &call(&router, "/write", Some("team-a"), None).await,
        "team-a",
    );

    *shared.write().unwrap() = Arc::new(CredentialSet::new(&credentials(), &[]));
    assert_challenged(
        &call(&router, "/write", Some("team-a"), None).await,
        MISSING_CREDENTIALS_HINT,
    );
    assert_ok(
        &call(&router, "/write", None, Some(&basic("alice", "s3cret"))).await,
        "team-a",
    );

    let rotated = [Credential::basic(&["team-a"], "alice", "rotated").unwrap()];
    *shared.write().unwrap() = Arc::new(CredentialSet::new(&credentials(), &rotated));
    assert_challenged(
        &call(&router, "/write", None, Some(&basic("alice", "s3cret"))).await,
        MISSING_CREDENTIALS_HINT,
    );
    assert_ok(
        &call(&router, "/write", None, Some(&basic("alice", "rotated"))).await,
        "team-a",
    );

    *shared.write().unwrap() = Arc::new(CredentialSet::default());
    assert_ok(
        &call(&router, "/write", Some("team-q"), None).await,
        "team-q",
    );
}

#[tokio::test]
async fn a_fixed_set_is_a_source_too() {
    let source = CredentialSet::new(&credentials(), &[]).into_source();
    let router = router(resolver(true, false, source));
    assert_challenged(
        &call(&router, "/write", Some("team-a"), None).await,
        MISSING_CREDENTIALS_HINT,
    );
    assert_ok(
        &call(&router, "/write", None, Some(&basic("alice", "s3cret"))).await,
        "team-a",
    );
}
