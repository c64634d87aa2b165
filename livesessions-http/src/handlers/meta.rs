//! Health checks, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiResult;
use crate::metrics::Metrics;
use crate::problem::ApiError;
use crate::state::AppState;

/// This API's OpenAPI document.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub(crate) async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi().to_owned(),
    )
        .into_response()
}

/// A health answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "Alive", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// Readiness: the store answers (its health check when the service has one, else a read).
#[utoipa::path(
    get, path = "/readyz", tag = "meta",
    responses((status = 200, description = "Ready", body = Health))
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    state.service().ready().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        ApiError::unavailable_now()
    })?;
    Ok(Json(Health {
        status: "ready".to_owned(),
    }))
}

/// Metrics in the Prometheus text format (version 0.0.4): requests by route template, method and
/// status, joins, heartbeats, leaves, open event streams. Served only when the server enables
/// it; when it is configured with a metrics token, send that token as a bearer token (not a
/// user's JWT).
#[utoipa::path(
    get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "The metrics",
               content_type = "text/plain; version=0.0.4; charset=utf-8", body = String))
)]
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings().metrics_token {
        if !bearer_token_is(&headers, expected) {
            return ApiError::metrics_token_required().into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, Metrics::CONTENT_TYPE)],
        state.metrics().render(),
    )
        .into_response()
}

/// Whether the request's `Authorization: Bearer` token is `expected`, compared in constant time.
/// An empty `expected` matches nothing.
fn bearer_token_is(headers: &HeaderMap, expected: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let Some(space) = value.iter().position(|b| *b == b' ') else {
        return false;
    };
    let (scheme, token) = value.split_at(space);
    let token = token.trim_ascii();
    scheme.eq_ignore_ascii_case(b"bearer")
        && !expected.is_empty()
        && bool::from(token.ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn only_the_configured_bearer_token_opens_the_metrics() {
        assert!(bearer_token_is(
            &with_authorization("Bearer s3cret"),
            "s3cret"
        ));
        assert!(bearer_token_is(
            &with_authorization("bearer  s3cret "),
            "s3cret"
        ));
        assert!(!bearer_token_is(&HeaderMap::new(), "s3cret"));
        assert!(!bearer_token_is(
            &with_authorization("Bearer s3cre"),
            "s3cret"
        ));
        assert!(!bearer_token_is(
            &with_authorization("Bearer s3cretX"),
            "s3cret"
        ));
        assert!(!bearer_token_is(
            &with_authorization("Basic s3cret"),
            "s3cret"
        ));
        assert!(!bearer_token_is(&with_authorization("s3cret"), "s3cret"));
        // An empty token lets nobody in, not even a request with an empty token.
        assert!(!bearer_token_is(&with_authorization("Bearer "), ""));
        assert!(!bearer_token_is(&with_authorization("Bearer x"), ""));
    }
}
