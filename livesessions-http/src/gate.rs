//! What a rate-limited request goes through before its handler: the caller is identified once
//! (the token verified), the request is charged to the caller's bucket, and both answers are
//! left in the request's extensions for the handler.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::extract::Identity;
use crate::problem::ApiError;
use crate::ratelimit::{Bucket, ClientKey};
use crate::state::AppState;

fn key_of(
    state: &AppState,
    identity: &Identity,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> ClientKey {
    match identity {
        Identity::User(actor) => ClientKey::User(actor.user_id.clone()),
        // Anonymous callers, and callers whose token was refused: by address.
        Identity::Anonymous | Identity::Refused(_) => {
            let peer = extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr);
            ClientKey::Ip(state.limiters().client_ip(headers, peer))
        }
    }
}

/// The middleware: answers `429` with `Retry-After` when the caller's bucket is empty.
pub(crate) async fn admit(
    State((state, bucket)): State<(AppState, Bucket)>,
    mut request: Request,
    next: Next,
) -> Response {
    let identity = Identity::of(request.headers(), &state).await;
    let key = key_of(&state, &identity, request.headers(), request.extensions());
    if let Err(wait) = state.limiters().check(bucket, &key) {
        tracing::debug!(%key, ?bucket, ?wait, "rate limited");
        return ApiError::rate_limited(wait).into_response();
    }
    request.extensions_mut().insert(identity);
    request.extensions_mut().insert(key);
    next.run(request).await
}

impl FromRequestParts<AppState> for ClientKey {
    type Rejection = ApiError;

    /// The key [`admit`] chose, or the same choice made here for routes it does not guard.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(key) = parts.extensions.get::<ClientKey>() {
            return Ok(key.clone());
        }
        let identity = Identity::of_parts(parts, state).await;
        Ok(key_of(state, &identity, &parts.headers, &parts.extensions))
    }
}
