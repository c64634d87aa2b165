//! Extractors whose rejections are problem documents.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts, HeaderMap};
use livesessions_core::Actor;
use serde::de::{DeserializeOwned, DeserializeSeed};

use crate::auth::AuthError;
use crate::problem::ApiError;
use crate::state::AppState;

/// What a request's bearer token says, worked out once per request: the rate-limit middleware
/// verifies the token to choose the caller's bucket and leaves the answer in the request's
/// extensions, where [`Caller`] picks it up.
#[derive(Debug, Clone)]
pub(crate) enum Identity {
    /// No `Authorization` header.
    Anonymous,
    /// A token that verified.
    User(Actor),
    /// A header that was refused: `401`, or `503` when the keys could not be fetched.
    Refused(ApiError),
}

impl Identity {
    /// Verifies the request's `Authorization` header, if any.
    pub(crate) async fn of(headers: &HeaderMap, state: &AppState) -> Identity {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Identity::Anonymous;
        };
        let Some(token) = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
            })
            .map(|(_, token)| token.trim())
        else {
            return Identity::Refused(ApiError::invalid_token());
        };
        match state.auth().authenticate(token).await {
            Ok(actor) => Identity::User(actor),
            Err(AuthError::Unavailable(reason)) => {
                tracing::warn!(%reason, "token could not be checked");
                Identity::Refused(ApiError::unavailable_now())
            }
            Err(error) => {
                tracing::debug!(%error, "token refused");
                Identity::Refused(ApiError::invalid_token())
            }
        }
    }

    /// The identity in the request's extensions, else the one its headers give.
    pub(crate) async fn of_parts(parts: &Parts, state: &AppState) -> Identity {
        match parts.extensions.get::<Identity>() {
            Some(identity) => identity.clone(),
            None => Identity::of(&parts.headers, state).await,
        }
    }
}

/// The caller: `None` without an `Authorization` header; a header whose token does not verify
/// is refused with `401` (or `503` when the keys cannot be fetched).
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub Option<Actor>);

impl Caller {
    pub(crate) fn actor(&self) -> Option<&Actor> {
        self.0.as_ref()
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Identity::of_parts(parts, state).await {
            Identity::Anonymous => Ok(Caller(None)),
            Identity::User(actor) => Ok(Caller(Some(actor))),
            Identity::Refused(error) => Err(error),
        }
    }
}

/// Query parameters; unreadable ones (wrong types) are `400`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e| ApiError::malformed(e.body_text()))
    }
}

/// What a request body is, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    Multipart,
    Other,
}

pub(crate) fn body_kind(headers: &HeaderMap) -> BodyKind {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return BodyKind::Other;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        BodyKind::Json
    } else if essence == "multipart/form-data" {
        BodyKind::Multipart
    } else {
        BodyKind::Other
    }
}

/// Reads a JSON body of at most `limit` bytes: a wrong content type is `415`, a larger body
/// `413`, unreadable JSON `400`.
pub(crate) async fn read_json<T: DeserializeOwned>(
    request: Request,
    state: &AppState,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes = read_json_bytes(request, state, limit).await?;
    parse_json_seed(&bytes, std::marker::PhantomData::<T>)
}

/// The body of [`read_json`], not yet parsed (for [`parse_json_seed`]).
pub(crate) async fn read_json_bytes(
    request: Request,
    state: &AppState,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if body_kind(request.headers()) != BodyKind::Json {
        return Err(ApiError::unsupported_media_type(
            "Send the body as application/json.",
        ));
    }
    let too_large = || ApiError::too_large(format!("The body must be at most {limit} bytes."));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = Bytes::from_request(request, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::malformed(e.body_text())
        }
    })?;
    if bytes.len() > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Parses a JSON object; errors are `400` naming where the text went wrong. Every request body
/// of the API is an object: serde would otherwise read a struct whose fields are all optional
/// from an array (`[]` as an empty update).
pub(crate) fn parse_json_seed<S, T>(bytes: &[u8], seed: S) -> Result<T, ApiError>
where
    S: for<'de> DeserializeSeed<'de, Value = T>,
{
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|&b| b != b'{') {
        return Err(ApiError::malformed("The body must be a JSON object."));
    }
    // What `serde_json::from_slice` does, for a `DeserializeSeed`.
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    seed.deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| {
            ApiError::malformed(format!("The body is not valid JSON for this request: {e}."))
        })
}

/// A JSON request body (with the route's body limit); see [`read_json`].
#[derive(Debug, Clone)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.settings().json_body_limit;
        read_json(request, state, limit).await.map(JsonBody)
    }
}
