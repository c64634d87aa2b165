//! Calendar feeds (iCalendar): the public feed, one session's event, and each user's own
//! feed at a URL carrying a feed token, which calendar applications fetch without any other
//! credentials. The feeds are served when the API was given a calendar store
//! ([`LiveSessionsApi::calendar`](crate::LiveSessionsApi::calendar)); one session's event
//! always is.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use livesessions_core::calendar::CalendarFeeds;
use livesessions_core::{Error, LiveSession};
use serde::Serialize;
use utoipa::ToSchema;

use super::{require_user, ApiResult, SessionPath};
use crate::extract::Caller;
use crate::ics::{self, Links, TEXT_CALENDAR};
use crate::origin::origin;
use crate::problem::ApiError;
use crate::state::AppState;

/// The suffix of a feed URL's last segment.
const ICS_SUFFIX: &str = ".ics";

/// Where users' feeds are served; what follows is a secret.
const FEED_PATH: &str = "/api/calendar/";

/// `path` as the request log may show it: a user's feed token replaced by `…`, so that the
/// logs do not hold working feed URLs.
pub(crate) fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.find(FEED_PATH) {
        Some(at) => format!("{}…", &path[..at + FEED_PATH.len()]).into(),
        None => path.into(),
    }
}

/// The caller's own calendar feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarFeedJson {
    /// The feed (`https://…/api/calendar/<token>.ics`). Anyone with it can read the feed:
    /// it is shown here only, and a new one replaces it.
    pub url: String,
    /// The same feed as a `webcal://` link, which opens the subscription dialog of calendar
    /// applications.
    pub webcal_url: String,
}

/// The calendar feeds, or `404` when the API has none.
fn feeds(state: &AppState) -> ApiResult<&CalendarFeeds> {
    state.calendar().ok_or_else(no_such_feed)
}

/// The one answer for every feed token that does not open a feed (unknown, rotated,
/// revoked, malformed) and for the feed routes of an API without calendar store: the same as
/// for a path the router does not know.
fn no_such_feed() -> ApiError {
    ApiError::not_found("There is no such resource.")
}

/// A calendar response: `text/calendar`, cacheable for the feed's refresh interval, `private`
/// when it is one user's or its links come from the request's `Host`.
fn calendar_response(body: String, private: bool, download: Option<String>) -> Response {
    let max_age = ics::REFRESH.num_seconds();
    let cache = if private {
        format!("private, max-age={max_age}")
    } else {
        format!("public, max-age={max_age}")
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TEXT_CALENDAR),
    );
    if let Ok(value) = HeaderValue::from_str(&cache) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(value) = download.and_then(|name| HeaderValue::from_str(&name).ok()) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn links(state: &AppState, headers: &HeaderMap) -> ApiResult<(Links, bool)> {
    let origin = origin(state.settings(), headers)?;
    Ok((origin.links, origin.from_request))
}

/// A feed of `sessions`: the occurrences of a series as one recurring event where they can be.
fn render(state: &AppState, name: &str, sessions: &[LiveSession], links: &Links) -> String {
    let zone = state.service().settings().default_time_zone;
    ics::render(name, &ics::entries(sessions, zone), links)
}

/// The public calendar: live sessions, scheduled ones (up to a day after a start that has
/// not happened), and cancelled ones still ahead (`STATUS:CANCELLED`, so subscribed calendars
/// drop them), by start time, at most 500. The occurrences of a series are one recurring event
/// (`RRULE` in the series' zone, `EXDATE` for cancelled or changed occurrences; an occurrence
/// changed on its own is also its own event). Subscribe with the `webcal://` form of this link.
#[utoipa::path(
    get, path = "/api/live-sessions/calendar.ics", tag = "calendar",
    security(()),
    responses((
        status = 200, description = "The feed (iCalendar, RFC 5545)",
        content_type = "text/calendar", body = String,
        headers(("Cache-Control" = String, description = "`public, max-age=900` (`private` when the links come from the request's `Host`)"))
    ))
)]
pub(crate) async fn public_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let feeds = feeds(&state)?;
    let (links, from_request) = links(&state, &headers)?;
    let sessions = feeds.public_feed().await?;
    let body = render(&state, "Live sessions", &sessions, &links);
    Ok(calendar_response(body, from_request, None))
}

/// One session as a calendar event, to add it to a calendar ("Add to calendar"); any
/// session, whatever its status.
#[utoipa::path(
    get, path = "/api/live-sessions/{id}/calendar.ics", tag = "calendar",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security((), ("bearer" = [])),
    responses((
        status = 200, description = "The session's event (iCalendar, RFC 5545), as a download",
        content_type = "text/calendar", body = String,
    ))
)]
pub(crate) async fn session_event(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    SessionPath(id): SessionPath,
) -> ApiResult<Response> {
    let view = state.service().get(caller.actor(), id).await?;
    let session = view.session;
    let (links, from_request) = links(&state, &headers)?;
    // One event, also for an occurrence of a series.
    let body = ics::render(
        session.fields.title.as_str(),
        &[ics::Entry::Single(&session)],
        &links,
    );
    let download = format!("attachment; filename=\"session-{}.ics\"", session.id);
    Ok(calendar_response(body, from_request, Some(download)))
}

/// The caller's own calendar feed URL. Every call makes a new token: the previous URL stops
/// working at once (this is how a leaked link is replaced). The feed holds the sessions the
/// caller has joined (also while they were scheduled) that are live, upcoming, or cancelled
/// and still ahead.
#[utoipa::path(
    get, path = "/api/live-sessions/me/calendar-feed", tag = "calendar",
    security(("bearer" = [])),
    responses((
        status = 200, description = "The feed's new URL", body = CalendarFeedJson,
        headers(("Cache-Control" = String, description = "`no-store`"))
    ))
)]
pub(crate) async fn my_feed(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let actor = require_user(&caller)?;
    let feeds = feeds(&state)?;
    let (links, _) = links(&state, &headers)?;
    let token = feeds.rotate_token(Some(actor)).await?;
    let url = links.api(&format!("{FEED_PATH}{}{ICS_SUFFIX}", token.expose()));
    let webcal_url = match url.split_once("://") {
        Some((_, rest)) => format!("webcal://{rest}"),
        None => url.clone(),
    };
    let mut response = Json(CalendarFeedJson { url, webcal_url }).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Revokes the caller's calendar feed URL: it answers `404` from now on, like any unknown
/// one. Nothing happens when there is none.
#[utoipa::path(
    delete, path = "/api/live-sessions/me/calendar-feed", tag = "calendar",
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked"))
)]
pub(crate) async fn revoke_my_feed(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let actor = require_user(&caller)?;
    feeds(&state)?.revoke_token(Some(actor)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's calendar feed, by the token in its URL (`<token>.ics`): the sessions the user has
/// joined that are live, upcoming or cancelled and still ahead, a series' occurrences as one
/// recurring event as in the public feed. An unknown, rotated or revoked
/// token answers the same `404` as a path the router does not know.
#[utoipa::path(
    get, path = "/api/calendar/{feedToken}", tag = "calendar",
    params(("feedToken" = String, Path, description = "The feed token followed by `.ics`")),
    security(()),
    responses((
        status = 200, description = "The feed (iCalendar, RFC 5545)",
        content_type = "text/calendar", body = String,
        headers(("Cache-Control" = String, description = "`private, max-age=900`"))
    ))
)]
pub(crate) async fn user_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> ApiResult<Response> {
    let feeds = feeds(&state)?;
    let token = segment.strip_suffix(ICS_SUFFIX).ok_or_else(no_such_feed)?;
    let (_, sessions) = match feeds.user_feed(token).await {
        Ok(found) => found,
        Err(Error::NotFound { .. }) => return Err(no_such_feed()),
        Err(other) => return Err(other.into()),
    };
    let (links, _) = links(&state, &headers)?;
    let body = render(&state, "My live sessions", &sessions, &links);
    let mut response = calendar_response(body, true, None);
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_tokens_are_kept_out_of_the_request_log() {
        assert_eq!(
            loggable_path("/api/calendar/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics"),
            "/api/calendar/…"
        );
        assert_eq!(
            loggable_path("/lms/api/calendar/x.ics"),
            "/lms/api/calendar/…"
        );
        assert_eq!(
            loggable_path("/api/live-sessions/calendar.ics"),
            "/api/live-sessions/calendar.ics"
        );
    }
}
