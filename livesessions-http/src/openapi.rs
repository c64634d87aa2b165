//! The OpenAPI document (utoipa): every route, body, response and error.

use axum::http::Method;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi as Document, Ref, ResponseBuilder,
    Server, Type,
};
use utoipa::OpenApi;

use crate::handlers;
use crate::routes::{self, RouteSpec};
use crate::settings::HttpSettings;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "livesessions",
        description = "Live sessions for e-learning: schedule, start and end live classes; join, \
                       watch and track attendance; reports and analytics. Errors are RFC 9457 \
                       `application/problem+json`, unknown paths (`404`) and methods a path does \
                       not serve (`405`, with `Allow`) included. Rate limits are kept per signed-in \
                       user, and per client address for anonymous requests and requests whose \
                       token is refused; reads, attendance (join, heartbeat, leave) and admin \
                       writes have separate buckets, and open event streams are capped per user \
                       and per anonymous address.",
    ),
    paths(
        handlers::sessions::list_sessions,
        handlers::sessions::get_session,
        handlers::attendance::join,
        handlers::attendance::heartbeat,
        handlers::attendance::leave,
        handlers::events::events,
        handlers::analytics::my_participation,
        handlers::thumbnails::thumbnail,
        handlers::calendar::public_feed,
        handlers::roster::register,
        handlers::roster::my_registration,
        handlers::roster::unregister,
        handlers::calendar::session_event,
        handlers::calendar::my_feed,
        handlers::calendar::revoke_my_feed,
        handlers::calendar::user_feed,
        handlers::sessions::create_session,
        handlers::sessions::update_session,
        handlers::sessions::delete_session,
        handlers::sessions::cancel_session,
        handlers::roster::upload_roster,
        handlers::roster::roster,
        handlers::roster::remove_member,
        handlers::analytics::participants,
        handlers::analytics::session_report,
        handlers::analytics::overview,
        handlers::analytics::user_participation,
        handlers::series::series_sessions,
        handlers::series::series_summary,
        handlers::webhooks::create_endpoint,
        handlers::webhooks::list_endpoints,
        handlers::webhooks::get_endpoint,
        handlers::webhooks::delete_endpoint,
        handlers::webhooks::disable_endpoint,
        handlers::webhooks::enable_endpoint,
        handlers::webhooks::rotate_secret,
        handlers::webhooks::list_deliveries,
        handlers::webhooks::retry_delivery,
        handlers::meta::openapi,
        handlers::meta::healthz,
        handlers::meta::readyz,
        handlers::meta::metrics,
    ),
    components(schemas(
        crate::problem::Problem,
        crate::problem::ProblemField,
        handlers::EventJson,
        handlers::ResetJson,
        handlers::Health,
    )),
    tags(
        (name = "sessions", description = "Browsing sessions (anyone)"),
        (name = "attendance", description = "Joining and watching (signed-in users)"),
        (name = "admin", description = "Managing sessions and reports (admins)"),
        (name = "webhooks", description = "Webhook endpoints and their deliveries (admins; served when the API has a webhook store)"),
        (name = "calendar", description = "Calendar feeds (iCalendar): the public feed, one session's event, and each user's feed at a URL with a revocable token (feeds served when the API has a calendar store)"),
        (name = "meta", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

/// Takes the operation off the document, dropping its path when nothing else is left on it.
fn remove_operation(doc: &mut Document, method: &Method, path: &str) {
    let Some(item) = doc.paths.paths.get_mut(path) else {
        return;
    };
    match *method {
        Method::GET => item.get = None,
        Method::POST => item.post = None,
        Method::PUT => item.put = None,
        Method::DELETE => item.delete = None,
        _ => {}
    }
    if [&item.get, &item.post, &item.put, &item.delete]
        .iter()
        .all(|o| o.is_none())
    {
        doc.paths.paths.remove(path);
    }
}

fn operation_mut<'a>(
    doc: &'a mut Document,
    method: &Method,
    path: &str,
) -> Option<&'a mut Operation> {
    let item = doc.paths.paths.get_mut(path)?;
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        _ => None,
    }
}

fn describe(status: u16) -> &'static str {
    match status {
        400 => "Malformed request: unreadable JSON, form or query parameters of the wrong type",
        401 => "No valid bearer token (`WWW-Authenticate: Bearer`)",
        403 => {
            "Signed in, but not allowed (not an admin, a `userId` that is not the caller's, or \
             `not_on_roster`: a restricted session the caller is not on the roster of)"
        }
        404 => {
            "No such session (or thumbnail, participant, roster member, registration, webhook \
             endpoint or delivery)"
        }
        409 => "The session's state does not allow this (or it changed concurrently)",
        413 => "The body or the uploaded thumbnail is too large",
        415 => "Wrong content type, or a thumbnail that is not a JPEG, PNG, GIF or WebP image",
        422 => "Invalid fields, listed in `errors`",
        429 => {
            "Rate limited (per signed-in user; per client address when anonymous); retry after \
             `Retry-After` seconds"
        }
        500 => "Internal error (details are logged, never sent)",
        503 => {
            "The store is unavailable or the request timed out; retry after `Retry-After` seconds"
        }
        _ => "Error",
    }
}

fn problem_response(status: u16) -> utoipa::openapi::Response {
    let integer_header = || {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Seconds to wait"))
            .build()
    };
    let mut response = ResponseBuilder::new()
        .description(describe(status))
        .content(
            crate::problem::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
    match status {
        401 => {
            response = response.header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("`Bearer` challenge"))
                    .build(),
            )
        }
        429 | 503 => response = response.header("Retry-After", integer_header()),
        _ => {}
    }
    response.build()
}

/// The error statuses a route can answer with: its own, plus `400`/`401` for routes that read
/// a token or parameters, `429` when rate limited, and `500`/`503` everywhere but `/healthz`.
fn error_statuses(route: &RouteSpec) -> Vec<u16> {
    let mut statuses: Vec<u16> = route.errors.to_vec();
    let meta = matches!(
        route.path,
        "/healthz" | "/readyz" | "/api/openapi.json" | "/metrics"
    );
    if !meta
        && !route.path.starts_with("/api/live-sessions/thumbnails")
        && route.path != "/api/live-sessions/events"
    {
        statuses.extend([400, 401]);
    }
    if route.bucket.is_some() {
        statuses.push(429);
    }
    if route.path != "/healthz" {
        statuses.extend([500, 503]);
    }
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}

/// The complete document of a router with `settings` (and a webhook store or not): the routes
/// it serves, with the settings' path prefix as the server.
pub(crate) fn document(settings: &HttpSettings, webhooks: bool) -> Document {
    let prefix = settings.path_prefix.trim_end_matches('/');
    let mut doc = ApiDoc::openapi();
    for route in routes::table() {
        if !route.served(settings, webhooks) {
            remove_operation(&mut doc, &route.method, route.path);
            continue;
        }
        let statuses = error_statuses(&route);
        if let Some(operation) = operation_mut(&mut doc, &route.method, route.path) {
            for status in statuses {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| problem_response(status).into());
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT".to_owned());
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    if !prefix.is_empty() {
        doc.servers = Some(vec![Server::new(prefix)]);
    }
    doc
}

/// The document as JSON text.
pub(crate) fn render(settings: &HttpSettings, webhooks: bool) -> String {
    document(settings, webhooks)
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_errors() {
        let doc = document(&HttpSettings::default(), true);
        let table = routes::table();
        assert_eq!(
            doc.paths
                .paths
                .values()
                .map(count_operations)
                .sum::<usize>(),
            table.len()
        );
        let mut doc = doc;
        for route in &table {
            let statuses = error_statuses(route);
            let operation = operation_mut(&mut doc, &route.method, route.path)
                .unwrap_or_else(|| panic!("{} {} is not documented", route.method, route.path));
            for status in statuses {
                assert!(
                    operation
                        .responses
                        .responses
                        .contains_key(&status.to_string()),
                    "{} {} lacks {status}",
                    route.method,
                    route.path
                );
            }
        }
    }

    #[test]
    fn routes_the_settings_switch_off_are_not_documented() {
        let off = HttpSettings {
            metrics: false,
            ..Default::default()
        };
        let doc = document(&off, false);
        assert!(!doc.paths.paths.contains_key("/metrics"));
        assert!(doc.paths.paths.contains_key("/healthz"));
        assert!(!doc.paths.paths.contains_key("/api/admin/webhooks"));
        let full = document(&HttpSettings::default(), true);
        assert!(full.paths.paths.contains_key("/metrics"));
        assert!(full.paths.paths.contains_key("/api/admin/webhooks"));
    }

    fn count_operations(item: &utoipa::openapi::PathItem) -> usize {
        [
            &item.get,
            &item.post,
            &item.put,
            &item.delete,
            &item.patch,
            &item.head,
            &item.options,
        ]
        .iter()
        .filter(|o| o.is_some())
        .count()
    }
}
