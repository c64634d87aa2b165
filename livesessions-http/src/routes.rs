//! The route table: the single list the router is built from and the OpenAPI document is
//! checked against.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{from_fn_with_state, map_response_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};
use axum::Router;

use crate::gate;
use crate::handlers::calendar;
use crate::handlers::{
    analytics, attendance, events, meta, roster, series, sessions, thumbnails, webhooks,
};
use crate::problem::{self, ApiError};
use crate::ratelimit::Bucket;
use crate::settings::HttpSettings;
use crate::state::AppState;

/// Every route of the API: method and path, handler, rate-limit bucket, the body it reads, and
/// the error statuses it answers with besides the common ones (see `openapi::error_statuses`).
#[rustfmt::skip]
pub(crate) fn table() -> Vec<RouteSpec> {
    use Bucket::{AdminWrites, Attendance, Reads};
    vec![
        get("/api/live-sessions", sessions::list_sessions)
            .limit(Reads).errors(&[422]),
        get("/api/live-sessions/{id}", sessions::get_session)
            .limit(Reads).errors(&[404]),
        post("/api/live-sessions/join", attendance::join)
            .limit(Attendance).json().errors(&[403, 404, 409, 413, 415, 422]),
        post("/api/live-sessions/{id}/heartbeat", attendance::heartbeat)
            .limit(Attendance).errors(&[404]),
        post("/api/live-sessions/{id}/leave", attendance::leave)
            .limit(Attendance).errors(&[404]),
        get("/api/live-sessions/events", events::events)
            .limit(Reads).no_timeout().errors(&[404]),
        get("/api/live-sessions/me/participation", analytics::my_participation)
            .limit(Reads).errors(&[403, 422]),
        get("/api/live-sessions/thumbnails/{key}", thumbnails::thumbnail)
            .limit(Reads).errors(&[404]),
        get("/api/live-sessions/calendar.ics", calendar::public_feed)
            .limit(Reads).errors(&[404]),
        post("/api/live-sessions/{id}/register", roster::register)
            .limit(Attendance).json().errors(&[404, 409, 413, 415, 422]),
        get("/api/live-sessions/{id}/register", roster::my_registration)
            .limit(Reads).errors(&[404]),
        delete("/api/live-sessions/{id}/register", roster::unregister)
            .limit(Attendance).errors(&[403, 404]),
        get("/api/live-sessions/{id}/calendar.ics", calendar::session_event)
            .limit(Reads).errors(&[404]),
        get("/api/live-sessions/me/calendar-feed", calendar::my_feed)
            .limit(Reads).errors(&[404]),
        delete("/api/live-sessions/me/calendar-feed", calendar::revoke_my_feed)
            .limit(Reads).errors(&[404]),
        get("/api/calendar/{feedToken}", calendar::user_feed)
            .limit(Reads).errors(&[404]),
        post("/api/admin/live-sessions", sessions::create_session)
            .limit(AdminWrites).json_or_form().errors(&[403, 409, 413, 415, 422]),
        put("/api/admin/live-sessions/{id}", sessions::update_session)
            .limit(AdminWrites).json_or_form().errors(&[403, 404, 409, 413, 415, 422]),
        delete("/api/admin/live-sessions/{id}", sessions::delete_session)
            .limit(AdminWrites).errors(&[403, 404]),
        post("/api/admin/live-sessions/{id}/cancel", sessions::cancel_session)
            .limit(AdminWrites).errors(&[403, 404, 409]),
        post("/api/admin/live-sessions/{id}/roster", roster::upload_roster)
            .limit(AdminWrites).roster_upload().errors(&[403, 404, 413, 415, 422]),
        get("/api/admin/live-sessions/{id}/roster", roster::roster)
            .limit(Reads).errors(&[403, 404, 422]),
        delete("/api/admin/live-sessions/{id}/roster/{userId}", roster::remove_member)
            .limit(AdminWrites).errors(&[403, 404, 422]),
        get("/api/admin/live-sessions/{id}/participants", analytics::participants)
            .limit(Reads).errors(&[403, 404, 422]),
        get("/api/admin/live-sessions/{id}/analytics", analytics::session_report)
            .limit(Reads).errors(&[403, 404, 422]),
        get("/api/admin/analytics", analytics::overview)
            .limit(Reads).errors(&[403, 422]),
        get("/api/admin/users/{userId}/participation", analytics::user_participation)
            .limit(Reads).errors(&[403, 422]),
        get("/api/live-sessions/series/{seriesId}", series::series_sessions)
            .limit(Reads).errors(&[404]),
        get("/api/admin/series/{seriesId}/summary", series::series_summary)
            .limit(Reads).errors(&[403, 404, 422]),
        post("/api/admin/webhooks", webhooks::create_endpoint)
            .webhooks().limit(AdminWrites).json().errors(&[403, 413, 415, 422]),
        get("/api/admin/webhooks", webhooks::list_endpoints)
            .webhooks().limit(Reads).errors(&[403]),
        get("/api/admin/webhooks/{id}", webhooks::get_endpoint)
            .webhooks().limit(Reads).errors(&[403, 404]),
        delete("/api/admin/webhooks/{id}", webhooks::delete_endpoint)
            .webhooks().limit(AdminWrites).errors(&[403, 404]),
        post("/api/admin/webhooks/{id}/disable", webhooks::disable_endpoint)
            .webhooks().limit(AdminWrites).errors(&[403, 404]),
        post("/api/admin/webhooks/{id}/enable", webhooks::enable_endpoint)
            .webhooks().limit(AdminWrites).errors(&[403, 404]),
        post("/api/admin/webhooks/{id}/rotate-secret", webhooks::rotate_secret)
            .webhooks().limit(AdminWrites).errors(&[403, 404]),
        get("/api/admin/webhooks/{id}/deliveries", webhooks::list_deliveries)
            .webhooks().limit(Reads).errors(&[403, 404, 422]),
        post("/api/admin/webhooks/deliveries/{deliveryId}/retry", webhooks::retry_delivery)
            .webhooks().limit(AdminWrites).errors(&[403, 404]),
        get("/api/openapi.json", meta::openapi)
            .limit(Reads),
        get("/healthz", meta::healthz),
        get("/readyz", meta::readyz),
        get("/metrics", meta::metrics)
            .only_if(|settings| settings.metrics).errors(&[401]),
    ]
}

/// What kind of body a route reads (and so which body limit applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    None,
    Json,
    JsonOrMultipart,
    /// A roster upload: JSON or CSV, up to the roster's own limit.
    Roster,
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
    /// Whether the settings let the route be served (and documented).
    pub enabled: fn(&HttpSettings) -> bool,
    /// Served (and documented) only when the API was given a webhook store.
    pub needs_webhooks: bool,
    pub handler: MethodRouter<AppState>,
}

impl RouteSpec {
    fn new(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Self {
        RouteSpec {
            method,
            path,
            bucket: None,
            timeout: true,
            body: Body::None,
            errors: &[],
            enabled: |_| true,
            needs_webhooks: false,
            handler,
        }
    }

    /// Whether the route is served by an API with `settings`, given a webhook store or not.
    pub(crate) fn served(&self, settings: &HttpSettings, webhooks: bool) -> bool {
        (self.enabled)(settings) && (webhooks || !self.needs_webhooks)
    }

    /// Served only when the API was given a webhook store.
    fn webhooks(self) -> Self {
        RouteSpec {
            needs_webhooks: true,
            ..self
        }
    }

    /// Served only when `enabled` says so for the settings.
    fn only_if(self, enabled: fn(&HttpSettings) -> bool) -> Self {
        RouteSpec { enabled, ..self }
    }

    /// Rate-limited in `bucket`.
    fn limit(self, bucket: Bucket) -> Self {
        RouteSpec {
            bucket: Some(bucket),
            ..self
        }
    }

    /// Reads a JSON body.
    fn json(self) -> Self {
        RouteSpec {
            body: Body::Json,
            ..self
        }
    }

    /// Reads a JSON or `multipart/form-data` body (the larger body limit).
    fn json_or_form(self) -> Self {
        RouteSpec {
            body: Body::JsonOrMultipart,
            ..self
        }
    }

    /// Reads a roster upload (JSON or CSV, the roster's body limit).
    fn roster_upload(self) -> Self {
        RouteSpec {
            body: Body::Roster,
            ..self
        }
    }

    /// Exempt from the request timeout.
    fn no_timeout(self) -> Self {
        RouteSpec {
            timeout: false,
            ..self
        }
    }

    /// Answers with these error statuses besides the common ones.
    fn errors(self, errors: &'static [u16]) -> Self {
        RouteSpec { errors, ..self }
    }
}

/// A `GET` route.
fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> RouteSpec {
    RouteSpec::new(Method::GET, path, routing::get(handler))
}

/// A `POST` route.
fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> RouteSpec {
    RouteSpec::new(Method::POST, path, routing::post(handler))
}

/// A `PUT` route.
fn put<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> RouteSpec {
    RouteSpec::new(Method::PUT, path, routing::put(handler))
}

/// A `DELETE` route.
fn delete<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> RouteSpec {
    RouteSpec::new(Method::DELETE, path, routing::delete(handler))
}

/// Answers `503` when the handler takes longer than the configured timeout.
async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?limit, "request timed out");
            ApiError::timed_out().into_response()
        }
    }
}

/// Builds the router from the table.
pub(crate) fn router(state: AppState) -> Router {
    let settings = state.settings().clone();
    let webhooks = state.webhooks().is_some();
    let mut router = Router::new();
    for route in table() {
        if !route.served(&settings, webhooks) {
            continue;
        }
        let mut handler = route.handler;
        handler = handler.layer(DefaultBodyLimit::max(match route.body {
            Body::None | Body::Json => settings.json_body_limit,
            Body::JsonOrMultipart => settings.multipart_body_limit,
            Body::Roster => crate::roster_input::ROSTER_BODY_LIMIT,
        }));
        if let Some(bucket) = route.bucket {
            handler = handler.layer(from_fn_with_state((state.clone(), bucket), gate::admit));
        }
        // Outermost, so the time spent verifying the token counts too.
        if route.timeout {
            handler = handler.layer(from_fn_with_state(settings.request_timeout, timeout));
        }
        router = router.route(route.path, handler);
    }
    // Around every route: `503` answers get the configured `Retry-After` here.
    let retry_after = settings.unavailable_retry_after;
    router
        .layer(map_response_with_state(
            retry_after,
            |State(secs): State<u32>, mut response: Response| async move {
                problem::stamp_retry_after(secs, &mut response);
                response
            },
        ))
        .with_state(state)
}

/// `404` for every path the router does not know.
pub(crate) async fn unknown_path() -> ApiError {
    ApiError::not_found("There is no such resource.")
}

/// `405` for a method a path does not serve; axum adds the `Allow` header.
pub(crate) async fn wrong_method(method: Method) -> ApiError {
    ApiError::method_not_allowed(format!(
        "{method} is not allowed here: see the Allow header."
    ))
}
