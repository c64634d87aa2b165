//! Errors as RFC 9457 `application/problem+json`.
//!
//! Every error the API answers with is a [`Problem`]. Internal causes (storage failures, failed
//! key downloads) are logged with `tracing` and never sent to the client.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use livesessions_core::{Conflict, Error, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI reference identifying the problem type; `about:blank` means the status says it all.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// An explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A stable, machine-readable code: `malformed` (400); `unauthenticated` or
    /// `invalid_token` (401); `forbidden` or `not_on_roster` (403); `not_found` (404);
    /// `method_not_allowed` (405); `invalid_transition`, `version_mismatch`, `already_exists`,
    /// `session_full` or `registration_closed` (409); `too_large` (413);
    /// `unsupported_media_type` (415); `validation` (422); `rate_limited` (429); `internal`
    /// (500); `unavailable` or `timeout` (503).
    pub code: String,
    /// The invalid fields, for `422` (and for `413`/`415` answers about an upload).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<ProblemField>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field as the client sent it (camelCase).
    pub field: String,
    /// A stable code, e.g. `required`, `too_long`, `invalid_url`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl From<&FieldError> for ProblemField {
    fn from(e: &FieldError) -> Self {
        ProblemField {
            field: e.field.clone(),
            code: e.code.to_owned(),
            message: e.message.clone(),
        }
    }
}

/// An error answer: a [`Problem`] plus the headers that go with its status.
///
/// Core errors convert with `From` (so handlers use `?`); causes that must not be shown are
/// logged on the way. A `503` made that way carries the router's configured `Retry-After`
/// ([`HttpSettings::unavailable_retry_after`](crate::HttpSettings::unavailable_retry_after)),
/// which the router stamps on the response; rendered outside the router it says
/// [`DEFAULT_RETRY_AFTER`] seconds.
#[derive(Debug, Clone)]
pub struct ApiError {
    problem: Box<Problem>,
    retry_after: Option<RetryAfter>,
    www_authenticate: Option<&'static str>,
}

/// The `Retry-After` of a `503` rendered without the router's setting, in seconds.
pub const DEFAULT_RETRY_AFTER: u32 = 5;

/// What an answer's `Retry-After` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryAfter {
    /// This many whole seconds.
    Secs(u64),
    /// The router's configured value, stamped by [`stamp_retry_after`].
    Configured,
}

/// Marks a response whose `Retry-After` is the router's configured value.
#[derive(Debug, Clone, Copy)]
struct ConfiguredRetryAfter;

/// Gives every answer that asked for it the configured `Retry-After` (at least 1 second): the
/// one place that knows the setting.
pub(crate) fn stamp_retry_after(secs: u32, response: &mut Response) {
    if response
        .extensions_mut()
        .remove::<ConfiguredRetryAfter>()
        .is_some()
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
}

impl ApiError {
    /// A problem with `status`, a `code` and a `detail`.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        ApiError {
            problem: Box::new(Problem {
                problem_type: "about:blank".to_owned(),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                status: status.as_u16(),
                detail: Some(detail.into()),
                code: code.to_owned(),
                errors: Vec::new(),
            }),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// `400`: the request could not be read (malformed JSON, wrong types).
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", detail)
    }

    /// `401` with `WWW-Authenticate: Bearer`: no identity where one is needed.
    pub fn unauthenticated() -> Self {
        let detail = "Sign in: this request needs a bearer token.";
        Self::unauthorized("unauthenticated", detail, "Bearer")
    }

    /// `401` with `WWW-Authenticate: Bearer error="invalid_token"`: the token was refused.
    pub fn invalid_token() -> Self {
        let detail = "The bearer token is invalid or expired.";
        Self::unauthorized("invalid_token", detail, "Bearer error=\"invalid_token\"")
    }

    /// `401` with `WWW-Authenticate: Bearer`: `GET /metrics` without the configured metrics
    /// token.
    pub(crate) fn metrics_token_required() -> Self {
        let detail = "This route needs the metrics token as a bearer token.";
        Self::unauthorized("unauthenticated", detail, "Bearer")
    }

    /// `401` with the `WWW-Authenticate` challenge `challenge`.
    fn unauthorized(code: &str, detail: &str, challenge: &'static str) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, code, detail);
        e.www_authenticate = Some(challenge);
        e
    }

    /// `404`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// `405`. The router adds the `Allow` header.
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail)
    }

    /// `413`.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", detail)
    }

    /// `415`.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            detail,
        )
    }

    /// `429` with `Retry-After` (whole seconds, at least 1).
    pub fn rate_limited(wait: Duration) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests: retry later.",
        );
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        e.retry_after = Some(RetryAfter::Secs(secs.max(1)));
        e
    }

    /// `429` with `Retry-After`: the caller has as many event streams open as it may.
    pub fn too_many_streams(wait: Duration) -> Self {
        let mut e = Self::rate_limited(wait);
        e.problem.detail =
            Some("Too many event streams are open: close one or retry later.".to_owned());
        e
    }

    /// `503` with `Retry-After`: the store (or the key server) is unavailable.
    pub fn unavailable(retry_after: u32) -> Self {
        Self::unavailable_now().retry_after_secs(retry_after)
    }

    /// `503` with `Retry-After`: the request took longer than the configured timeout.
    pub fn timeout(retry_after: u32) -> Self {
        Self::timed_out().retry_after_secs(retry_after)
    }

    /// [`ApiError::unavailable`] with the router's configured `Retry-After`.
    pub(crate) fn unavailable_now() -> Self {
        let detail = "The service is temporarily unavailable: retry later.";
        Self::unavailable_for_now("unavailable", detail)
    }

    /// [`ApiError::timeout`] with the router's configured `Retry-After`.
    pub(crate) fn timed_out() -> Self {
        Self::unavailable_for_now("timeout", "The request took too long: retry later.")
    }

    /// `503` with the router's configured `Retry-After`.
    fn unavailable_for_now(code: &str, detail: &str) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail);
        e.retry_after = Some(RetryAfter::Configured);
        e
    }

    /// Replaces a configured `Retry-After` with `secs` (at least 1).
    fn retry_after_secs(mut self, secs: u32) -> Self {
        if self.retry_after.is_some() {
            self.retry_after = Some(RetryAfter::Secs(u64::from(secs.max(1))));
        }
        self
    }

    /// `500` with a generic body (the cause is logged by the caller).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "An internal error occurred.",
        )
    }

    /// The status of this error.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The problem body.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Maps a core error, logging what must not be shown. `retry_after` is used for `503`
    /// (the `From` conversion leaves it to the router's setting).
    pub fn from_core(error: Error, retry_after: u32) -> Self {
        Self::from(error).retry_after_secs(retry_after)
    }

    /// A validation failure. Upload checks choose the status: `too_large` is `413`,
    /// `unsupported_type`/`type_mismatch` are `415`, everything else `422`.
    pub fn validation(errors: &[FieldError]) -> Self {
        let upload_code = |codes: &[&str]| {
            errors
                .iter()
                .any(|e| e.field == "thumbnail" && codes.contains(&e.code))
        };
        let (status, code, detail) = if upload_code(&["too_large"]) {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The uploaded thumbnail is too large.",
            )
        } else if upload_code(&["unsupported_type", "type_mismatch"]) {
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The uploaded thumbnail is not an accepted image.",
            )
        } else {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "The request has invalid fields.",
            )
        };
        let mut e = Self::new(status, code, detail);
        e.problem.errors = errors.iter().map(ProblemField::from).collect();
        e
    }
}

impl From<Error> for ApiError {
    /// Maps a core error, logging what must not be shown; `503` answers carry the router's
    /// configured `Retry-After`.
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound { entity, id } => {
                Self::not_found(format!("The {entity} {id} was not found."))
            }
            Error::Validation(errors) => Self::validation(&errors),
            Error::Conflict(conflict) => {
                let code = match conflict {
                    Conflict::InvalidTransition { .. } => "invalid_transition",
                    Conflict::VersionMismatch { .. } => "version_mismatch",
                    Conflict::AlreadyExists { .. } => "already_exists",
                    Conflict::SessionFull { .. } => "session_full",
                    Conflict::RegistrationClosed => "registration_closed",
                };
                Self::new(StatusCode::CONFLICT, code, conflict.to_string())
            }
            Error::Unauthenticated => Self::unauthenticated(),
            Error::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", "You may not do this.")
            }
            Error::NotOnRoster => Self::new(
                StatusCode::FORBIDDEN,
                "not_on_roster",
                "This session is only for the people on its roster.",
            ),
            Error::Unavailable(cause) => {
                match &cause {
                    Some(cause) => tracing::warn!(error = %cause, "store unavailable"),
                    None => tracing::warn!("store unavailable"),
                }
                Self::unavailable_now()
            }
            Error::Storage(cause) => {
                tracing::error!(error = %cause, source = ?cause, "storage failure");
                Self::internal()
            }
            other => {
                tracing::error!(error = %other, "unexpected error");
                Self::internal()
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.problem.status, self.problem.code)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&*self.problem).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let secs = match self.retry_after {
            Some(RetryAfter::Secs(secs)) => Some(secs),
            Some(RetryAfter::Configured) => {
                response.extensions_mut().insert(ConfiguredRetryAfter);
                Some(u64::from(DEFAULT_RETRY_AFTER))
            }
            None => None,
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_codes_choose_the_status() {
        let e = |code| ApiError::validation(&[FieldError::new("thumbnail", code, "x")]).status();
        assert_eq!(e("too_large"), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(e("unsupported_type"), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(e("type_mismatch"), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(e("empty"), StatusCode::UNPROCESSABLE_ENTITY);
        let other = ApiError::validation(&[FieldError::new("title", "too_large", "x")]);
        assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn storage_causes_stay_out_of_the_body() {
        let e = ApiError::from_core(Error::storage("password=hunter2 at db1"), 5);
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(e.problem()).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
    }

    #[test]
    fn retry_after_rounds_up() {
        let e = ApiError::rate_limited(Duration::from_millis(1500));
        assert_eq!(e.retry_after, Some(RetryAfter::Secs(2)));
        let e = ApiError::rate_limited(Duration::from_millis(10));
        assert_eq!(e.retry_after, Some(RetryAfter::Secs(1)));
    }

    #[test]
    fn unavailable_takes_the_configured_retry_after() {
        let mut response = ApiError::from(Error::Unavailable(None)).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        stamp_retry_after(9, &mut response);
        assert_eq!(response.headers()[header::RETRY_AFTER], "9");
        assert_eq!(
            ApiError::from_core(Error::Unavailable(None), 7).retry_after,
            Some(RetryAfter::Secs(7))
        );
        let mut limited = ApiError::rate_limited(Duration::from_secs(3)).into_response();
        stamp_retry_after(9, &mut limited);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "3");
    }
}
