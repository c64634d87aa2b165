//! The handlers: parse the request, call the service, map the result.

use livesessions_core::SessionInput;
use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use futures::Stream;
use livesessions_core::{
    AttendanceQuery, AttendanceSort, Error, FieldError, JoinInput, ListQuery, NewSession,
    PopularBy, SessionEvent, SessionId, SessionUpdate, SortOrder, ThumbnailKey, ThumbnailUpload,
    UserId,
};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};

use crate::csv;
use crate::extract::{body_kind, read_json, BodyKind, Caller, JsonBody, Params};
use crate::json::{
    time, AttendanceJson, CreateSessionJson, JoinRequestJson, JoinResponse, OverviewJson,
    ParticipantJson, ParticipationJson, ReportJson, SessionJson, UpdateSessionJson,
};
use crate::problem::ApiError;
use crate::ratelimit::{ClientKey, STREAM_RETRY_AFTER};
use crate::state::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// A session id from a path: anything that is not a UUID names no session (`404`).
fn session_id(text: &str) -> ApiResult<SessionId> {
    SessionId::parse_field(text, "id")
        .map_err(|_| ApiError::not_found(format!("session {text} not found")))
}

/// Refuses non-admins before an upload is read; the service checks again.
fn require_admin(caller: &Caller) -> ApiResult<()> {
    match caller.actor() {
        None => Err(ApiError::unauthenticated()),
        Some(actor) if !actor.admin => Err(ApiError::from_core(Error::Forbidden, 1)),
        Some(_) => Ok(()),
    }
}

fn require_user(caller: &Caller) -> ApiResult<&livesessions_core::Actor> {
    caller.actor().ok_or_else(ApiError::unauthenticated)
}

/// Query of the session list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// `all` (default), `live`, `scheduled`, `ended` or `cancelled`.
    #[param(pattern = "^(all|live|scheduled|ended|cancelled)$")]
    status: Option<String>,
    /// Text searched in title, instructor and description (case-insensitive), at most 200 characters.
    q: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Where to continue: the `cursor` of the previous answer's `Link: rel="next"`.
    cursor: Option<String>,
}

/// List sessions: live first, then scheduled by start time, then ended and cancelled, most
/// recent first. The video URL is shown to signed-in callers only.
#[utoipa::path(
    get, path = "/api/live-sessions", tag = "sessions",
    params(ListParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of sessions", body = [SessionJson],
         headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` when there are more"))),
    )
)]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<ListParams>,
) -> ApiResult<Response> {
    let query = ListQuery::parse(
        params.status.as_deref(),
        params.q.as_deref(),
        params.limit,
        params.cursor.as_deref(),
    )
    .map_err(|e| state.error(e))?;
    let page = state
        .service()
        .list(caller.actor(), &query)
        .await
        .map_err(|e| state.error(e))?;
    let now = state.service().now();
    let items: Vec<SessionJson> = page
        .items
        .iter()
        .map(|v| state.presenter().view(v, now))
        .collect();
    let mut response = Json(items).into_response();
    if let Some(next) = page.next {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(status) = params.status.as_deref().filter(|s| !s.is_empty()) {
            query.append_pair("status", status);
        }
        if let Some(q) = query_text(&params.q) {
            query.append_pair("q", q);
        }
        query.append_pair("limit", &query_limit(&params.limit));
        query.append_pair("cursor", &next.encode());
        let link = format!(
            "<{}/api/live-sessions?{}>; rel=\"next\"",
            state.presenter().prefix,
            query.finish()
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

fn query_text(q: &Option<String>) -> Option<&str> {
    q.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn query_limit(limit: &Option<u32>) -> String {
    limit.unwrap_or(ListQuery::DEFAULT_LIMIT).to_string()
}

/// One session. The video URL is shown to signed-in callers only.
#[utoipa::path(
    get, path = "/api/live-sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security((), ("bearer" = [])),
    responses((status = 200, description = "The session", body = SessionJson))
)]
pub(crate) async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionJson>> {
    let id = session_id(&id)?;
    let view = state
        .service()
        .get(caller.actor(), id)
        .await
        .map_err(|e| state.error(e))?;
    Ok(Json(state.presenter().view(&view, state.service().now())))
}

/// Join a session as the signed-in user. Joining again is harmless and counts once.
#[utoipa::path(
    post, path = "/api/live-sessions/join", tag = "attendance",
    request_body(content = JoinRequestJson, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "Joined (first join and rejoin alike)", body = JoinResponse))
)]
pub(crate) async fn join(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<JoinRequestJson>,
) -> ApiResult<Json<JoinResponse>> {
    let outcome = state
        .service()
        .join(
            caller.actor(),
            JoinInput {
                session_id: body.session_id,
                user_id: body.user_id,
                user_name: body.user_name,
                email: body.email,
            },
        )
        .await
        .map_err(|e| state.error(e))?;
    let now = state.service().now();
    let video = &outcome.session.fields.video_url;
    Ok(Json(JoinResponse {
        participant: ParticipantJson::new(&outcome.participant),
        session: state.presenter().admin_session(&outcome.session, None, now),
        video_url: video.as_str().to_owned(),
        embed_url: video.embed_url().map(str::to_owned),
    }))
}

/// Tell the server the signed-in user is still watching (every 30 s). Any body is ignored.
#[utoipa::path(
    post, path = "/api/live-sessions/{id}/heartbeat", tag = "attendance",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's attendance record", body = ParticipantJson))
)]
pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ParticipantJson>> {
    let actor = require_user(&caller)?;
    let id = session_id(&id)?;
    let participant = state
        .service()
        .heartbeat(Some(actor), id)
        .await
        .map_err(|e| state.error(e))?;
    Ok(Json(ParticipantJson::new(&participant)))
}

/// Tell the server the signed-in user stopped watching. Any body is ignored.
#[utoipa::path(
    post, path = "/api/live-sessions/{id}/leave", tag = "attendance",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's attendance record", body = ParticipantJson))
)]
pub(crate) async fn leave(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ParticipantJson>> {
    let actor = require_user(&caller)?;
    let id = session_id(&id)?;
    let participant = state
        .service()
        .leave(Some(actor), id)
        .await
        .map_err(|e| state.error(e))?;
    Ok(Json(ParticipantJson::new(&participant)))
}

/// The data of a change event.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventJson {
    /// `created`, `updated`, `deleted`, `live`, `ended` or `participants` (also the SSE event name).
    #[serde(rename = "type")]
    pub kind: String,
    /// The session.
    #[schema(format = "uuid")]
    pub session_id: String,
    /// The session after the change, without its video URL (absent after a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionJson>,
    /// The participant count after the change (absent after a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants: Option<u64>,
    /// When it happened.
    #[schema(format = DateTime)]
    pub at: String,
}

fn event_json(state: &AppState, event: &SessionEvent) -> EventJson {
    EventJson {
        kind: event.kind.as_str().to_owned(),
        session_id: event.session_id.to_string(),
        session: event
            .session
            .as_ref()
            .map(|s| state.presenter().session(s, event.at)),
        participants: event.session.as_ref().map(|s| s.participants),
        at: time(event.at),
    }
}

/// Server-Sent Events: one event per change, named by its kind, with [`EventJson`] data, and a
/// keep-alive comment when idle. A client that falls too far behind is disconnected and should
/// reconnect and reload. A caller may hold a limited number of streams open at once (per user,
/// or per address for anonymous callers); one more is `429`. Streams end when the host shuts down
/// ([`LiveSessionsApi::shutdown_signal`](crate::LiveSessionsApi::shutdown_signal)).
#[utoipa::path(
    get, path = "/api/live-sessions/events", tag = "sessions",
    responses(
        (status = 200, description = "An endless `text/event-stream`; each event's data is an `EventJson`",
         content_type = "text/event-stream", body = String),
        (status = 404, description = "This server publishes no events", body = crate::problem::Problem,
         content_type = "application/problem+json"),
        (status = 429, description = "Rate limited, or the caller (the user; for anonymous callers \
         the address) has too many streams open; retry after `Retry-After` seconds",
         body = crate::problem::Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    key: ClientKey,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let source = state
        .events()
        .ok_or_else(|| ApiError::not_found("this server publishes no events"))?;
    // Held by the stream: the slot is given back when the stream ends or the client goes away.
    let slot = state.limiters().open_stream(key.clone()).ok_or_else(|| {
        tracing::debug!(%key, "too many open event streams");
        ApiError::too_many_streams(STREAM_RETRY_AFTER)
    })?;
    let receiver = source.subscribe();
    let keep_alive = state.settings().sse_keep_alive;
    let stopping = {
        let state = state.clone();
        async move { state.stopping().await }
    };
    let opened = futures::stream::once(async { Ok(Event::default().comment("connected")) });
    let changes = futures::stream::unfold((receiver, state), |(mut receiver, state)| async move {
        match receiver.recv().await {
            Ok(event) => {
                let data = serde_json::to_string(&event_json(&state, &event)).unwrap_or_default();
                let sse = Event::default().event(event.kind.as_str()).data(data);
                Some((Ok(sse), (receiver, state)))
            }
            Err(RecvError::Lagged(missed)) => {
                // Dropping the slow subscriber keeps publishers and everyone else unaffected.
                tracing::debug!(missed, "event subscriber fell behind; closing its stream");
                None
            }
            Err(RecvError::Closed) => None,
        }
    });
    use futures::StreamExt as _;
    // On shutdown the stream ends, so the connection closes and the client reconnects.
    let stream = opened.chain(changes).take_until(stopping).map(move |item| {
        let _held_while_streaming = &slot;
        item
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive)))
}

/// Query of a participation history.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ParticipationParams {
    /// Most sessions to return, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The signed-in user's own participation history.
#[utoipa::path(
    get, path = "/api/live-sessions/me/participation", tag = "attendance",
    params(ParticipationParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's history", body = ParticipationJson))
)]
pub(crate) async fn my_participation(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<ParticipationParams>,
) -> ApiResult<Json<ParticipationJson>> {
    let actor = require_user(&caller)?;
    let participation = state
        .service()
        .participation(Some(actor), &actor.user_id, params.limit.unwrap_or(100))
        .await
        .map_err(|e| state.error(e))?;
    Ok(Json(ParticipationJson::from(&participation)))
}

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
        .map_err(|_| ApiError::not_found(format!("thumbnail {key} not found")))?;
    let image = state
        .service()
        .thumbnail(&key)
        .await
        .map_err(|e| state.error(e))?;
    let headers = [
        (header::CONTENT_TYPE, image.kind.mime()),
        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ),
        (header::CONTENT_DISPOSITION, "inline"),
    ];
    Ok((headers, image.bytes).into_response())
}

/// The fields of a create or update sent as a form.
#[derive(Debug, Default)]
struct Form {
    text: HashMap<String, String>,
    upload: Option<ThumbnailUpload>,
}

const FORM_TEXT_FIELDS: [&str; 10] = [
    "title",
    "description",
    "instructor",
    "videoUrl",
    "startTime",
    "timezone",
    "isLive",
    "thumbnail",
    "thumbnailUrl",
    "version",
];

/// Most parts a form may have (the known fields plus room for a page's extra inputs).
const MAX_FORM_PARTS: usize = 64;

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("the form is too large")
    } else {
        ApiError::malformed(format!("the form could not be read: {}", e.body_text()))
    }
}

async fn read_form(request: Request, state: &AppState) -> ApiResult<Form> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut form = Form::default();
    let mut parts = 0;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        parts += 1;
        if parts > MAX_FORM_PARTS {
            return Err(ApiError::malformed("the form has too many parts"));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if name == "thumbnail" && field.file_name().is_some() {
            // The client's file name is never used: uploads are stored under generated keys.
            let no_file_chosen = field.file_name() == Some("");
            let declared_type = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.map_err(multipart_error)?;
            if no_file_chosen && bytes.is_empty() {
                // What browsers send for a file input left empty.
                continue;
            }
            form.upload = Some(ThumbnailUpload {
                declared_type,
                bytes: bytes.to_vec(),
            });
        } else if FORM_TEXT_FIELDS.contains(&name.as_str()) || name == "timeZone" {
            // `timeZone` is read as `timezone`, as in JSON bodies.
            let name = if name == "timeZone" {
                "timezone".to_owned()
            } else {
                name
            };
            let value = field.text().await.map_err(multipart_error)?;
            form.text.insert(name, value);
        } else {
            // Unknown parts are read and dropped.
            field.bytes().await.map_err(multipart_error)?;
        }
    }
    Ok(form)
}

fn form_bool(value: &str) -> Result<Option<bool>, FieldError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "on" | "1" | "yes" => Ok(Some(true)),
        "false" | "off" | "0" | "no" => Ok(Some(false)),
        _ => Err(FieldError::new(
            "isLive",
            "invalid_boolean",
            "must be true or false",
        )),
    }
}

fn form_version(value: &str) -> Result<Option<u64>, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse::<u64>()
        .map(Some)
        .map_err(|_| FieldError::new("version", "invalid_number", "must be a whole number"))
}

impl Form {
    fn get(&self, name: &str) -> Option<String> {
        self.text.get(name).cloned()
    }

    fn thumbnail_url(&self) -> Option<String> {
        self.get("thumbnail")
            .filter(|t| !t.trim().is_empty())
            .or_else(|| self.get("thumbnailUrl"))
    }
}

/// Create a session. Send JSON, or `multipart/form-data` with a `thumbnail` file as the seed's
/// page does. With `isLive` the session is started right away ("Mark as Live").
#[utoipa::path(
    post, path = "/api/admin/live-sessions", tag = "admin",
    request_body(content(
        (CreateSessionJson = "application/json"),
        (crate::json::SessionForm = "multipart/form-data"),
    )),
    security(("bearer" = [])),
    responses((status = 201, description = "Created", body = SessionJson,
               headers(("Location" = String, description = "The session's URL"))))
)]
pub(crate) async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    let (input, upload) = match body_kind(request.headers()) {
        BodyKind::Json => {
            let limit = state.settings().json_body_limit;
            let body: CreateSessionJson = read_json(request, &state, limit).await?;
            let input = NewSession {
                fields: SessionInput {
                    title: Some(body.title),
                    description: body.description,
                    instructor: Some(body.instructor),
                    video_url: Some(body.video_url),
                    thumbnail_url: body
                        .thumbnail
                        .filter(|t| !t.trim().is_empty())
                        .or(body.thumbnail_url),
                    start_time: Some(body.start_time),
                    timezone: body.timezone,
                },
                is_live: body.is_live,
            };
            (input, None)
        }
        BodyKind::Multipart => {
            let form = read_form(request, &state).await?;
            let is_live = form
                .get("isLive")
                .map(|v| form_bool(&v))
                .transpose()
                .map_err(|e| ApiError::validation(&[e]))?
                .flatten()
                .unwrap_or(false);
            let input = NewSession {
                fields: SessionInput {
                    title: Some(form.get("title").unwrap_or_default()),
                    description: form.get("description"),
                    instructor: Some(form.get("instructor").unwrap_or_default()),
                    video_url: Some(form.get("videoUrl").unwrap_or_default()),
                    thumbnail_url: form.thumbnail_url(),
                    start_time: Some(form.get("startTime").unwrap_or_default()),
                    timezone: form.get("timezone"),
                },
                is_live,
            };
            (input, form.upload)
        }
        BodyKind::Other => {
            return Err(ApiError::unsupported_media_type(
                "send the session as application/json or multipart/form-data",
            ))
        }
    };
    let session = state
        .service()
        .create(caller.actor(), input, upload)
        .await
        .map_err(|e| state.error(e))?;
    let now = state.service().now();
    let location = state.presenter().session_path(session.id);
    let body = state.presenter().admin_session(&session, Some(0), now);
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Change a session: only the fields sent change. `{"isLive": true}` starts it and
/// `{"isLive": false}` ends it. JSON or `multipart/form-data` (to upload a new thumbnail).
#[utoipa::path(
    put, path = "/api/admin/live-sessions/{id}", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)")),
    request_body(content(
        (UpdateSessionJson = "application/json"),
        (crate::json::SessionForm = "multipart/form-data"),
    )),
    security(("bearer" = [])),
    responses((status = 200, description = "The changed session", body = SessionJson))
)]
pub(crate) async fn update_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<Json<SessionJson>> {
    require_admin(&caller)?;
    let id = session_id(&id)?;
    let (update, upload) = match body_kind(request.headers()) {
        BodyKind::Json => {
            let limit = state.settings().json_body_limit;
            let body: UpdateSessionJson = read_json(request, &state, limit).await?;
            let update = SessionUpdate {
                fields: SessionInput {
                    title: body.title,
                    description: body.description,
                    instructor: body.instructor,
                    video_url: body.video_url,
                    thumbnail_url: body.thumbnail.or(body.thumbnail_url),
                    start_time: body.start_time,
                    timezone: body.timezone,
                },
                is_live: body.is_live,
                expected_version: body.version,
            };
            (update, None)
        }
        BodyKind::Multipart => {
            let form = read_form(request, &state).await?;
            let mut errors = Vec::new();
            let is_live = form
                .get("isLive")
                .map(|v| form_bool(&v))
                .transpose()
                .map_err(|e| errors.push(e))
                .ok()
                .flatten()
                .flatten();
            let version = form
                .get("version")
                .map(|v| form_version(&v))
                .transpose()
                .map_err(|e| errors.push(e))
                .ok()
                .flatten()
                .flatten();
            if !errors.is_empty() {
                return Err(ApiError::validation(&errors));
            }
            let thumbnail_url = match (form.get("thumbnail"), form.get("thumbnailUrl")) {
                (Some(t), _) if form.upload.is_none() => Some(t),
                (_, url) => url,
            };
            let update = SessionUpdate {
                fields: SessionInput {
                    title: form.get("title"),
                    description: form.get("description"),
                    instructor: form.get("instructor"),
                    video_url: form.get("videoUrl"),
                    thumbnail_url: if form.upload.is_some() {
                        None
                    } else {
                        thumbnail_url
                    },
                    start_time: form.get("startTime"),
                    timezone: form.get("timezone"),
                },
                is_live,
                expected_version: version,
            };
            (update, form.upload)
        }
        BodyKind::Other => {
            return Err(ApiError::unsupported_media_type(
                "send the changes as application/json or multipart/form-data",
            ))
        }
    };
    let session = state
        .service()
        .update(caller.actor(), id, update, upload)
        .await
        .map_err(|e| state.error(e))?;
    let now = state.service().now();
    Ok(Json(state.presenter().admin_session(&session, None, now)))
}

/// Delete a session, its attendance and its uploaded thumbnail.
#[utoipa::path(
    delete, path = "/api/admin/live-sessions/{id}", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"))
)]
pub(crate) async fn delete_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = session_id(&id)?;
    state
        .service()
        .delete(caller.actor(), id)
        .await
        .map_err(|e| state.error(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancel a scheduled session.
#[utoipa::path(
    post, path = "/api/admin/live-sessions/{id}/cancel", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The cancelled session", body = SessionJson))
)]
pub(crate) async fn cancel_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionJson>> {
    let id = session_id(&id)?;
    let session = state
        .service()
        .cancel(caller.actor(), id)
        .await
        .map_err(|e| state.error(e))?;
    let now = state.service().now();
    Ok(Json(state.presenter().admin_session(&session, None, now)))
}

/// Query of an attendance list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AttendanceParams {
    /// `joinTime` (default), `watchTime` or `name`.
    #[param(pattern = "^(joinTime|watchTime|name)$")]
    sort: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(pattern = "^(asc|desc)$")]
    order: Option<String>,
    /// Rows to skip (default 0).
    offset: Option<u64>,
    /// Rows to return, 1–10000 (default 100; CSV without a limit exports every row).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
    /// `csv` for a CSV download (same as `Accept: text/csv`), or `json`.
    #[param(pattern = "^(json|csv)$")]
    format: Option<String>,
}

/// Keeps a value, or gathers its field errors; other errors pass through.
fn collect<T>(result: Result<T, Error>, errors: &mut Vec<FieldError>) -> Result<Option<T>, Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Error::Validation(mut e)) => {
            errors.append(&mut e);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn wants_csv(headers: &HeaderMap, format: Option<&str>) -> ApiResult<bool> {
    match format {
        Some("csv") => return Ok(true),
        Some("json") => return Ok(false),
        None | Some("") => {}
        Some(_) => {
            return Err(ApiError::validation(&[FieldError::new(
                "format",
                "unknown_format",
                "must be json or csv",
            )]))
        }
    }
    Ok(headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("text/csv")
        }))
}

/// A session's attendance: JSON, or CSV with `Accept: text/csv` (or `format=csv`). CSV cells
/// that start with `=`, `+`, `-` or `@` are prefixed with `'` against formula injection.
#[utoipa::path(
    get, path = "/api/admin/live-sessions/{id}/participants", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)"), AttendanceParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The attendance list",
               content((AttendanceJson = "application/json"), (String = "text/csv"))))
)]
pub(crate) async fn participants(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Params(params): Params<AttendanceParams>,
) -> ApiResult<Response> {
    let id = session_id(&id)?;
    let mut errors = Vec::new();
    let sort = match params.sort.as_deref().filter(|s| !s.is_empty()) {
        None => Some(AttendanceSort::default()),
        Some(s) => collect(s.parse::<AttendanceSort>(), &mut errors).map_err(|e| state.error(e))?,
    };
    let order = match params.order.as_deref().filter(|s| !s.is_empty()) {
        None => Some(SortOrder::default()),
        Some(s) => collect(s.parse::<SortOrder>(), &mut errors).map_err(|e| state.error(e))?,
    };
    let csv = wants_csv(&headers, params.format.as_deref())?;
    let (Some(sort), Some(order)) = (sort, order) else {
        return Err(ApiError::validation(&errors));
    };
    let offset = params.offset.unwrap_or(0);
    let service = state.service();
    let map = |e| state.error(e);
    if !csv {
        let limit = params.limit.unwrap_or(AttendanceQuery::DEFAULT_LIMIT);
        let page = service
            .attendance(caller.actor(), id, sort, order, offset, limit)
            .await
            .map_err(map)?;
        return Ok(Json(AttendanceJson {
            total: page.total,
            participants: page.rows.iter().map(ParticipantJson::row).collect(),
        })
        .into_response());
    }
    let mut body = csv::header();
    match params.limit {
        Some(limit) => {
            let page = service
                .attendance(caller.actor(), id, sort, order, offset, limit)
                .await
                .map_err(map)?;
            for row in &page.rows {
                csv::push_participant(&mut body, &ParticipantJson::row(row));
            }
        }
        None => {
            const CHUNK: u32 = 1000;
            let mut at = offset;
            loop {
                let page = service
                    .attendance(caller.actor(), id, sort, order, at, CHUNK)
                    .await
                    .map_err(map)?;
                for row in &page.rows {
                    csv::push_participant(&mut body, &ParticipantJson::row(row));
                }
                at += page.rows.len() as u64;
                if page.rows.len() < CHUNK as usize || at >= page.total {
                    break;
                }
            }
        }
    }
    let disposition = format!("attachment; filename=\"attendance-{id}.csv\"");
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Query of a session report.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportParams {
    /// Percent of the live time a participant must have watched to count as attending (default 75).
    #[param(minimum = 0, maximum = 100)]
    threshold: Option<u32>,
}

/// A session's attendance report.
#[utoipa::path(
    get, path = "/api/admin/live-sessions/{id}/analytics", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)"), ReportParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The report", body = ReportJson))
)]
pub(crate) async fn session_report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(params): Params<ReportParams>,
) -> ApiResult<Json<ReportJson>> {
    let id = session_id(&id)?;
    let threshold = params.threshold.map(|t| u8::try_from(t).unwrap_or(u8::MAX));
    let report = state
        .service()
        .report(caller.actor(), id, threshold)
        .await
        .map_err(|e| state.error(e))?;
    Ok(Json(ReportJson::from(&report)))
}

/// Query of the overview.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OverviewParams {
    /// Start of the range, RFC 3339 with offset (default: 30 days before `to`).
    #[param(format = DateTime)]
    from: Option<String>,
    /// End of the range, RFC 3339 with offset (default: now).
    #[param(format = DateTime)]
    to: Option<String>,
    /// How many popular sessions, 0–100 (default 10).
    #[param(minimum = 0, maximum = 100)]
    limit: Option<u32>,
    /// Rank popular sessions by `participants` (default) or `watchTime`.
    #[param(pattern = "^(participants|watchTime)$")]
    by: Option<String>,
}

fn range_time(value: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => livesessions_core::values::parse_instant(v, field).map(Some),
    }
}

/// Totals and popular sessions for sessions starting in `[from, to)`.
#[utoipa::path(
    get, path = "/api/admin/analytics", tag = "admin",
    params(OverviewParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The overview", body = OverviewJson))
)]
pub(crate) async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<OverviewParams>,
) -> ApiResult<Json<OverviewJson>> {
    let mut errors = Vec::new();
    let from = range_time(params.from.as_deref(), "from")
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let to = range_time(params.to.as_deref(), "to")
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let by = match params.by.as_deref().filter(|b| !b.is_empty()) {
        None => PopularBy::default(),
        Some(b) => match b.parse::<PopularBy>() {
            Ok(by) => by,
            Err(Error::Validation(mut e)) => {
                errors.append(&mut e);
                PopularBy::default()
            }
            Err(e) => return Err(state.error(e)),
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let to = to.unwrap_or_else(|| state.service().now());
    let from = from.unwrap_or(to - chrono::TimeDelta::days(30));
    let overview = state
        .service()
        .overview(caller.actor(), from, to, params.limit.unwrap_or(10), by)
        .await
        .map_err(|e| state.error(e))?;
    Ok(Json(OverviewJson::new(&overview, from, to)))
}

/// A student's participation history (admin).
#[utoipa::path(
    get, path = "/api/admin/users/{userId}/participation", tag = "admin",
    params(("userId" = String, Path, description = "The user's id"), ParticipationParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The user's history", body = ParticipationJson))
)]
pub(crate) async fn user_participation(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    Params(params): Params<ParticipationParams>,
) -> ApiResult<Json<ParticipationJson>> {
    require_admin(&caller)?;
    let user_id = UserId::parse(&user_id).map_err(|e| state.error(e))?;
    let participation = state
        .service()
        .participation(caller.actor(), &user_id, params.limit.unwrap_or(100))
        .await
        .map_err(|e| state.error(e))?;
    Ok(Json(ParticipationJson::from(&participation)))
}

/// This API's OpenAPI document.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub(crate) async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi().to_owned(),
    )
        .into_response()
}

/// A health answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "Alive", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// Readiness: the store answers (its health check when the service has one, else a read).
#[utoipa::path(
    get, path = "/readyz", tag = "meta",
    responses((status = 200, description = "Ready", body = Health))
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    state.service().ready().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        ApiError::unavailable(state.settings().unavailable_retry_after)
    })?;
    Ok(Json(Health {
        status: "ready".to_owned(),
    }))
}
