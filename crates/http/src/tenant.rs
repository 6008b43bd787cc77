//! Tenant extraction from `X-Scope-OrgID`, as Mimir does it, and the built-in credentials check.
//!
//! With multitenancy enabled (the default) a request must name its tenant in `X-Scope-OrgID`:
//! a missing header is `401 no org id`, an invalid ID is `401` with the reason. With
//! multitenancy disabled the header is ignored and every request belongs to the no-auth tenant
//! (`anonymous`). Reads may name several tenants as `a|b` when tenant federation is enabled;
//! otherwise several IDs are `422 too many tenant IDs present`.
//!
//! When credentials are configured ([`crate::auth`]), every request must first present one in
//! `Authorization` (`Basic` or `Bearer`), else `401` with `WWW-Authenticate: Basic realm="norn"`.
//! The credential then decides the tenant: `X-Scope-OrgID` may only name tenants it grants, and
//! may be left out when it grants exactly one. With multitenancy disabled the credential still
//! gates access and the tenant stays the no-auth tenant.
//!
//! The [`TenantResolver`] holding these settings travels in the request extensions (the server
//! installs it with `axum::Extension`), so any role's router can use the extractors.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use norn_model::tenant::{self, TenantId};

use crate::auth::CredentialSource;
use crate::error::HttpError;

/// The header that carries the tenant.
pub const ORG_ID_HEADER: &str = "X-Scope-OrgID";

/// The challenge sent in `WWW-Authenticate` with a `401` caused by credentials.
pub const AUTHENTICATE_CHALLENGE: &str = "Basic realm=\"norn\"";

/// The body of the `401` for a missing or unknown credential.
pub const MISSING_CREDENTIALS: &str = "missing or invalid credentials: send Authorization: Basic <base64 of username:password> or Authorization: Bearer <token>";

/// How requests are mapped to tenants.
#[derive(Clone)]
pub struct TenantResolver {
    multitenancy_enabled: bool,
    no_auth_tenant: TenantId,
    federation_enabled: bool,
    credentials: Option<CredentialSource>,
}

impl fmt::Debug for TenantResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantResolver")
            .field("multitenancy_enabled", &self.multitenancy_enabled)
            .field("no_auth_tenant", &self.no_auth_tenant)
            .field("federation_enabled", &self.federation_enabled)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|source| source()),
            )
            .finish()
    }
}

impl TenantResolver {
    /// Returns a resolver; `no_auth_tenant` is used for every request when multitenancy is off.
    pub fn new(
        multitenancy_enabled: bool,
        no_auth_tenant: TenantId,
        federation_enabled: bool,
    ) -> Self {
        Self {
            multitenancy_enabled,
            no_auth_tenant,
            federation_enabled,
            credentials: None,
        }
    }

    /// Checks credentials from `source`, asked on every request (so it may change at runtime);
    /// while it yields an empty set, requests are resolved as without credentials.
    pub fn with_credentials(mut self, source: CredentialSource) -> Self {
        self.credentials = Some(source);
        self
    }

    /// Returns the tenants a request names, sorted and de-duplicated (one unless federating),
    /// after checking its credentials when any are configured.
    pub fn resolve(&self, parts: &Parts) -> Result<Vec<TenantId>, HttpError> {
        let credentials = self.credentials.as_ref().map(|source| source());
        let granted = match credentials.as_deref() {
            Some(set) if !set.is_empty() => Some(
                set.authenticate(parts.headers.get(AUTHORIZATION))
                    .ok_or_else(|| challenge(MISSING_CREDENTIALS))?,
            ),
            _ => None,
        };
        if !self.multitenancy_enabled {
            return Ok(vec![self.no_auth_tenant.clone()]);
        }
        let unauthorized = |message: String| HttpError::new(StatusCode::UNAUTHORIZED, message);
        let Some(header) = parts.headers.get(ORG_ID_HEADER) else {
            return match granted {
                None => Err(unauthorized("no org id".to_owned())),
                Some([only]) => Ok(vec![only.clone()]),
                Some(several) => Err(challenge(format!(
                    "the credentials grant several tenants ({}): name one of them in the {ORG_ID_HEADER} header",
                    join(several)
                ))),
            };
        };
        let header = header
            .to_str()
            .map_err(|_| unauthorized("tenant ID is not valid ASCII".to_owned()))?;
        let ids =
            tenant::parse_tenant_ids(header).map_err(|error| unauthorized(error.to_string()))?;
        if let Some(granted) = granted
            && let Some(denied) = ids.iter().find(|id| granted.binary_search(id).is_err())
        {
            return Err(challenge(format!(
                "the credentials do not grant tenant {:?} named in {ORG_ID_HEADER}; they grant: {}",
                denied.as_str(),
                join(granted)
            )));
        }
        if ids.len() > 1 && !self.federation_enabled {
            return Err(HttpError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "too many tenant IDs present. max: 1 actual: {} (enable -tenant-federation.enabled to query several tenants)",
                    ids.len()
                ),
            ));
        }
        Ok(ids)
    }
}

/// A `401` that asks for credentials.
fn challenge(message: impl Into<String>) -> HttpError {
    HttpError::new(StatusCode::UNAUTHORIZED, message).with_header(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(AUTHENTICATE_CHALLENGE),
    )
}

fn join(tenants: &[TenantId]) -> String {
    tenants
        .iter()
        .map(TenantId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolver(parts: &Parts) -> Result<&TenantResolver, HttpError> {
    parts
        .extensions
        .get::<TenantResolver>()
        .ok_or_else(|| HttpError::internal("tenant resolver is not installed on this router"))
}

/// The single tenant of a request; writes and per-tenant admin calls use this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant(pub TenantId);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut ids = resolver(parts)?.resolve(parts)?;
        if ids.len() != 1 {
            return Err(HttpError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "too many tenant IDs present. max: 1 actual: {} (this endpoint serves one tenant)",
                    ids.len()
                ),
            ));
        }
        Ok(Tenant(ids.remove(0)))
    }
}

/// The tenants of a read request: one, or several when federation is enabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenants(pub Vec<TenantId>);

impl<S: Send + Sync> FromRequestParts<S> for Tenants {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Tenants(resolver(parts)?.resolve(parts)?))
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

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

    async fn call(router: &Router, path: &str, org: Option<&str>) -> (StatusCode, String) {
        let mut request = Request::get(path);
        if let Some(org) = org {
            request = request.header(ORG_ID_HEADER, org);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).trim().to_owned())
    }

    fn anonymous() -> TenantId {
        TenantId::new("anonymous").unwrap()
    }

    #[tokio::test]
    async fn multitenancy_requires_a_valid_org_id() {
        let router = router(TenantResolver::new(true, anonymous(), false));
        assert_eq!(
            call(&router, "/write", None).await,
            (StatusCode::UNAUTHORIZED, "no org id".into())
        );
        assert_eq!(
            call(&router, "/write", Some("team-a")).await,
            (StatusCode::OK, "team-a".into())
        );
        let (status, body) = call(&router, "/write", Some("bad/tenant")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains("unsupported character '/'"), "{body}");
        let (status, body) = call(&router, "/write", Some("..")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (status, body) = call(&router, "/read", Some("a|b")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body.contains("too many tenant IDs present. max: 1 actual: 2"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn federation_allows_several_tenants_on_reads_only() {
        let router = router(TenantResolver::new(true, anonymous(), true));
        assert_eq!(
            call(&router, "/read", Some("b|a|b")).await,
            (StatusCode::OK, "a,b".into())
        );
        let (status, _) = call(&router, "/write", Some("a|b")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn without_multitenancy_everything_is_the_no_auth_tenant() {
        let router = router(TenantResolver::new(false, anonymous(), false));
        assert_eq!(
            call(&router, "/write", None).await,
            (StatusCode::OK, "anonymous".into())
        );
        assert_eq!(
            call(&router, "/write", Some("ignored")).await,
            (StatusCode::OK, "anonymous".into())
        );
    }

    #[tokio::test]
    async fn a_router_without_resolver_fails_loudly() {
        let router = Router::new().route(
            "/write",
            get(|Tenant(id): Tenant| async move { id.to_string() }),
        );
        let (status, body) = call(&router, "/write", Some("a")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("resolver"), "{body}");
    }
}
