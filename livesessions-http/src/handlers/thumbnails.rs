//! Uploaded thumbnails.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use livesessions_core::ThumbnailKey;

use super::ApiResult;
use crate::problem::ApiError;
use crate::state::AppState;

/// How an uploaded image is served: cached for good, and never read as anything but an image.
const IMAGE_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox",
    ),
    (header::CONTENT_DISPOSITION, "inline"),
];

/// An uploaded thumbnail, with immutable caching and headers that keep browsers from reading
/// it as anything but an image.
#[utoipa::path(
    get, path = "/api/live-sessions/thumbnails/{key}", tag = "sessions",
    params(("key" = String, Path, description = "The key in the session's `thumbnail` URL",
            pattern = "^[a-z0-9-]{1,64}\\.(jpg|png|gif|webp)$")),
    responses((status = 200, description = "The image",
               content(("image/jpeg"), ("image/png"), ("image/gif"), ("image/webp"))))
)]
pub(crate) async fn thumbnail(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let key = ThumbnailKey::parse(&key)
        .map_err(|_| ApiError::not_found(format!("The thumbnail {key} was not found.")))?;
    let image = state.service().thumbnail(&key).await?;
    Ok((
        [(header::CONTENT_TYPE, image.kind.mime())],
        IMAGE_HEADERS,
        image.bytes,
    )
        .into_response())
}
