//! The route table: the single list the router is built from and the OpenAPI document is
//! checked against.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;

use crate::gate;
use crate::handlers;
use crate::problem::ApiError;
use crate::ratelimit::Bucket;
use crate::state::AppState;

/// What kind of body a route reads (and so which body limit applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    None,
    Json,
    JsonOrMultipart,
}

/// One route.
pub(crate) struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    /// The rate-limit bucket, if limited.
    pub bucket: Option<Bucket>,
    /// Whether the request timeout applies (not for the event stream).
    pub timeout: bool,
    pub body: Body,
    /// The error statuses the route can answer with besides the common ones.
    pub errors: &'static [u16],
    pub handler: MethodRouter<AppState>,
}

fn spec(
    method: Method,
    path: &'static str,
    bucket: Option<Bucket>,
    body: Body,
    errors: &'static [u16],
    handler: MethodRouter<AppState>,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        bucket,
        timeout: true,
        body,
        errors,
        handler,
    }
}

/// Every route of the API.
pub(crate) fn table() -> Vec<RouteSpec> {
    use Bucket::*;
    vec![
        spec(
            Method::GET,
            "/api/live-sessions",
            Some(Reads),
            Body::None,
            &[422],
            get(handlers::list_sessions),
        ),
        spec(
            Method::GET,
            "/api/live-sessions/{id}",
            Some(Reads),
            Body::None,
            &[404],
            get(handlers::get_session),
        ),
        spec(
            Method::POST,
            "/api/live-sessions/join",
            Some(Attendance),
            Body::Json,
            &[403, 404, 409, 413, 415, 422],
            post(handlers::join),
        ),
        spec(
            Method::POST,
            "/api/live-sessions/{id}/heartbeat",
            Some(Attendance),
            Body::None,
            &[404],
            post(handlers::heartbeat),
        ),
        spec(
            Method::POST,
            "/api/live-sessions/{id}/leave",
            Some(Attendance),
            Body::None,
            &[404],
            post(handlers::leave),
        ),
        RouteSpec {
            timeout: false,
            ..spec(
                Method::GET,
                "/api/live-sessions/events",
                Some(Reads),
                Body::None,
                &[404],
                get(handlers::events),
            )
        },
        spec(
            Method::GET,
            "/api/live-sessions/me/participation",
            Some(Reads),
            Body::None,
            &[403, 422],
            get(handlers::my_participation),
        ),
        spec(
            Method::GET,
            "/api/live-sessions/thumbnails/{key}",
            Some(Reads),
            Body::None,
            &[404],
            get(handlers::thumbnail),
        ),
        spec(
            Method::POST,
            "/api/admin/live-sessions",
            Some(AdminWrites),
            Body::JsonOrMultipart,
            &[403, 409, 413, 415, 422],
            post(handlers::create_session),
        ),
        spec(
            Method::PUT,
            "/api/admin/live-sessions/{id}",
            Some(AdminWrites),
            Body::JsonOrMultipart,
            &[403, 404, 409, 413, 415, 422],
            put(handlers::update_session),
        ),
        spec(
            Method::DELETE,
            "/api/admin/live-sessions/{id}",
            Some(AdminWrites),
            Body::None,
            &[403, 404],
            delete(handlers::delete_session),
        ),
        spec(
            Method::POST,
            "/api/admin/live-sessions/{id}/cancel",
            Some(AdminWrites),
            Body::None,
            &[403, 404, 409],
            post(handlers::cancel_session),
        ),
        spec(
            Method::GET,
            "/api/admin/live-sessions/{id}/participants",
            Some(Reads),
            Body::None,
            &[403, 404, 422],
            get(handlers::participants),
        ),
        spec(
            Method::GET,
            "/api/admin/live-sessions/{id}/analytics",
            Some(Reads),
            Body::None,
            &[403, 404, 422],
            get(handlers::session_report),
        ),
        spec(
            Method::GET,
            "/api/admin/analytics",
            Some(Reads),
            Body::None,
            &[403, 422],
            get(handlers::overview),
        ),
        spec(
            Method::GET,
            "/api/admin/users/{userId}/participation",
            Some(Reads),
            Body::None,
            &[403, 422],
            get(handlers::user_participation),
        ),
        spec(
            Method::GET,
            "/api/openapi.json",
            Some(Reads),
            Body::None,
            &[],
            get(handlers::openapi),
        ),
        spec(
            Method::GET,
            "/healthz",
            None,
            Body::None,
            &[],
            get(handlers::healthz),
        ),
        spec(
            Method::GET,
            "/readyz",
            None,
            Body::None,
            &[],
            get(handlers::readyz),
        ),
    ]
}

/// Answers `503` when the handler takes longer than the configured timeout.
async fn timeout(
    State((limit, retry_after)): State<(Duration, u32)>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?limit, "request timed out");
            ApiError::timeout(retry_after).into_response()
        }
    }
}

/// Builds the router from the table.
pub(crate) fn router(state: AppState) -> Router {
    let settings = state.settings().clone();
    let mut router = Router::new();
    for route in table() {
        let mut handler = route.handler;
        handler = handler.layer(DefaultBodyLimit::max(match route.body {
            Body::None | Body::Json => settings.json_body_limit,
            Body::JsonOrMultipart => settings.multipart_body_limit,
        }));
        if let Some(bucket) = route.bucket {
            handler = handler.layer(from_fn_with_state((state.clone(), bucket), gate::admit));
        }
        // Outermost, so the time spent verifying the token counts too.
        if route.timeout {
            handler = handler.layer(from_fn_with_state(
                (settings.request_timeout, settings.unavailable_retry_after),
                timeout,
            ));
        }
        router = router.route(route.path, handler);
    }
    router.with_state(state)
}

/// `404` for every path the router does not know.
pub(crate) async fn unknown_path() -> ApiError {
    ApiError::not_found("no such resource")
}

/// `405` for a method a path does not serve; axum adds the `Allow` header.
pub(crate) async fn wrong_method(method: Method) -> ApiError {
    ApiError::method_not_allowed(format!(
        "{method} is not allowed here; see the Allow header"
    ))
}
