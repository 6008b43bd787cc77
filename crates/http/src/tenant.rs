//! Tenant extraction from `X-Scope-OrgID`, as Mimir does it.
//!
//! With multitenancy enabled (the default) a request must name its tenant in `X-Scope-OrgID`:
//! a missing header is `401 no org id`, an invalid ID is `401` with the reason. With
//! multitenancy disabled the header is ignored and every request belongs to the no-auth tenant
//! (`anonymous`). Reads may name several tenants as `a|b` when tenant federation is enabled;
//! otherwise several IDs are `422 too many tenant IDs present`.
//!
//! The [`TenantResolver`] holding these settings travels in the request extensions (the server
//! installs it with `axum::Extension`), so any role's router can use the extractors.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use norn_model::tenant::{self, TenantId};

use crate::error::HttpError;

/// The header that carries the tenant.
pub const ORG_ID_HEADER: &str = "X-Scope-OrgID";

/// How requests are mapped to tenants.
#[derive(Clone, Debug)]
pub struct TenantResolver {
    multitenancy_enabled: bool,
    no_auth_tenant: TenantId,
    federation_enabled: bool,
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
        }
    }

    /// Returns the tenants a request names, sorted and de-duplicated (one unless federating).
    pub fn resolve(&self, parts: &Parts) -> Result<Vec<TenantId>, HttpError> {
        if !self.multitenancy_enabled {
            return Ok(vec![self.no_auth_tenant.clone()]);
        }
        let unauthorized = |message: String| HttpError::new(StatusCode::UNAUTHORIZED, message);
        let header = parts
            .headers
            .get(ORG_ID_HEADER)
            .ok_or_else(|| unauthorized("no org id".to_owned()))?;
        let header = header
            .to_str()
            .map_err(|_| unauthorized("tenant ID is not valid ASCII".to_owned()))?;
        let ids =
            tenant::parse_tenant_ids(header).map_err(|error| unauthorized(error.to_string()))?;
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
