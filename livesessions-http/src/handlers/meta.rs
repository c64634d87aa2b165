//! Health checks and the OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiResult;
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
