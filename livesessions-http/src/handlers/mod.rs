//! The handlers, one module per resource: each parses the request, calls the service and maps
//! the answer, with core errors converted by `?`.

pub(crate) mod analytics;
pub(crate) mod attendance;
pub(crate) mod events;
pub(crate) mod meta;
pub(crate) mod sessions;
pub(crate) mod thumbnails;

use livesessions_core::{Actor, Error, SessionId};

use crate::extract::Caller;
use crate::problem::ApiError;

pub use events::EventJson;
pub use meta::Health;

type ApiResult<T> = Result<T, ApiError>;

/// A session id from a path: anything that is not a UUID names no session (`404`).
fn session_id(text: &str) -> ApiResult<SessionId> {
    SessionId::parse_field(text, "id")
        .map_err(|_| ApiError::not_found(format!("session {text} not found")))
}

/// Refuses non-admins before a body is read; the service checks again.
fn require_admin(caller: &Caller) -> ApiResult<()> {
    match caller.actor() {
        None => Err(ApiError::unauthenticated()),
        Some(actor) if !actor.admin => Err(Error::Forbidden.into()),
        Some(_) => Ok(()),
    }
}

/// The signed-in caller, or `401`.
fn require_user(caller: &Caller) -> ApiResult<&Actor> {
    caller.actor().ok_or_else(ApiError::unauthenticated)
}
