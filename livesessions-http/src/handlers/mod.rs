//! The handlers, one module per resource: each parses the request, calls the service and maps
//! the answer, with core errors converted by `?`.

pub(crate) mod analytics;
pub(crate) mod attendance;
pub(crate) mod calendar;
pub(crate) mod events;
pub(crate) mod meta;
pub(crate) mod roster;
pub(crate) mod series;
pub(crate) mod sessions;
pub(crate) mod thumbnails;
pub(crate) mod webhooks;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use livesessions_core::{Actor, Error, LiveSession, SessionId};

use crate::extract::Caller;
use crate::json::SessionJson;
use crate::problem::ApiError;
use crate::state::AppState;

pub use events::{EventJson, ResetJson};
pub use meta::Health;

type ApiResult<T> = Result<T, ApiError>;

/// A session id from a path: anything that is not a UUID names no session (`404`).
fn session_id(text: &str) -> ApiResult<SessionId> {
    SessionId::parse_field(text, "id")
        .map_err(|_| ApiError::not_found(format!("The session {text} was not found.")))
}

/// The session id of a route's `{id}`, parsed as [`session_id`] does (`404` when it is not a
/// UUID). Handlers take it where they would parse the id first.
pub(crate) struct SessionPath(pub(crate) SessionId);

impl<S: Send + Sync> FromRequestParts<S> for SessionPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        session_id(&id)
            .map(SessionPath)
            .map_err(IntoResponse::into_response)
    }
}

/// A session as admins see it, at the service's current time.
fn admin_json(state: &AppState, session: &LiveSession, watching: Option<u64>) -> SessionJson {
    let now = state.service().now();
    state.presenter().admin_session(session, watching, now)
}

/// Refuses non-admins before a body is read; the service checks again.
fn require_admin(caller: &Caller) -> ApiResult<()> {
    match caller.actor() {
        None => Err(ApiError::unauthenticated()),
        Some(actor) if !actor.admin => Err(Error::Forbidden.into()),
        Some(_) => Ok(()),
    }
}

/// Whether the caller is a signed-in admin (who sees a session's attendance rules).
fn is_admin(caller: &Caller) -> bool {
    caller.actor().is_some_and(|a| a.admin)
}

/// The signed-in caller, or `401`.
fn require_user(caller: &Caller) -> ApiResult<&Actor> {
    caller.actor().ok_or_else(ApiError::unauthenticated)
}
