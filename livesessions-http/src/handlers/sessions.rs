//! Sessions: list and get (anyone), create, update (which also starts and ends), delete and
//! cancel (admins).

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use livesessions_core::{ListQuery, SeriesScope};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{admin_json, is_admin, require_admin, session_id, ApiResult, SessionPath};
use crate::extract::{Caller, Params};
use crate::json::SessionJson;
use crate::problem::ApiError;
use crate::session_input::{
    CreateSessionJson, Purpose, SessionBody, SessionForm, UpdateSessionJson,
};
use crate::state::AppState;

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

impl ListParams {
    /// The query string of the page after this one, which starts at `cursor`.
    fn next_page(&self, cursor: &str) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(status) = self.status.as_deref().filter(|s| !s.is_empty()) {
            query.append_pair("status", status);
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            query.append_pair("q", q);
        }
        let limit = self.limit.unwrap_or(ListQuery::DEFAULT_LIMIT);
        query.append_pair("limit", &limit.to_string());
        query.append_pair("cursor", cursor);
        query.finish()
    }
}

/// Adds a header whose value may not be valid (a generated link); an invalid one is left out.
fn with_header(mut response: Response, name: header::HeaderName, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
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
    )?;
    let page = state.service().list(caller.actor(), &query).await?;
    let now = state.service().now();
    let presenter = state.presenter();
    let admin = is_admin(&caller);
    let items: Vec<SessionJson> = page
        .items
        .iter()
        .map(|v| presenter.view(v, now, admin))
        .collect();
    let response = Json(items).into_response();
    Ok(match page.next {
        Some(next) => {
            let query = params.next_page(&next.encode());
            let link = format!(
                "<{}/api/live-sessions?{query}>; rel=\"next\"",
                presenter.prefix
            );
            with_header(response, header::LINK, &link)
        }
        None => response,
    })
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
    SessionPath(id): SessionPath,
) -> ApiResult<Json<SessionJson>> {
    let view = state.service().get(caller.actor(), id).await?;
    let now = state.service().now();
    Ok(Json(state.presenter().view(&view, now, is_admin(&caller))))
}

/// Create a session. Send JSON, or `multipart/form-data` with a `thumbnail` file as the
/// original app's page does. With `isLive` the session is started right away ("Mark as Live").
#[utoipa::path(
    post, path = "/api/admin/live-sessions", tag = "admin",
    request_body(content(
        (CreateSessionJson = "application/json"),
        (SessionForm = "multipart/form-data"),
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
    let body = SessionBody::read(request, &state, Purpose::Create).await?;
    let (input, upload) = body.into_new();
    let session = state
        .service()
        .create(caller.actor(), input, upload)
        .await?;
    let location = state.presenter().session_path(session.id);
    let body = admin_json(&state, &session, Some(0));
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Some(link) = &session.series {
        let series = format!(
            "<{}/api/live-sessions/series/{}>; rel=\"series\"",
            state.presenter().prefix,
            link.id
        );
        response = with_header(response, header::LINK, &series);
    }
    Ok(with_header(response, header::LOCATION, &location))
}

/// Query of an update.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UpdateParams {
    /// For an occurrence of a series: `this` (default) changes this session only;
    /// `following` changes it and every later occurrence that is still scheduled (live,
    /// ended and cancelled ones are skipped), a new start or end time moving each by the same
    /// local-time offset with this one's new duration. `isLive` is refused with `following`.
    #[param(pattern = "^(this|following)$")]
    scope: Option<String>,
}

/// Change a session: only the fields sent change. `{"isLive": true}` starts it and
/// `{"isLive": false}` ends it. JSON or `multipart/form-data` (to upload a new thumbnail).
/// With `scope=following` the change also reaches the later scheduled occurrences of the
/// session's series (each with its own version check); the answer is this session, and the
/// header `X-Changed-Sessions` says how many sessions changed.
#[utoipa::path(
    put, path = "/api/admin/live-sessions/{id}", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)"), UpdateParams),
    request_body(content(
        (UpdateSessionJson = "application/json"),
        (SessionForm = "multipart/form-data"),
    )),
    security(("bearer" = [])),
    responses((status = 200, description = "The changed session", body = SessionJson,
               headers(("X-Changed-Sessions" = u32, description = "How many sessions changed"))))
)]
pub(crate) async fn update_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(params): Params<UpdateParams>,
    request: Request,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    let id = session_id(&id)?;
    let scope = SeriesScope::parse(params.scope.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::validation(&[e]))?;
    let body = SessionBody::read(request, &state, Purpose::Update).await?;
    let (update, upload) = body.into_update();
    let changed = state
        .service()
        .update_in_scope(caller.actor(), id, update, scope, upload)
        .await?;
    let count = changed.len().to_string();
    let session = changed
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("The session {id} was not found.")))?;
    let response = Json(admin_json(&state, &session, None)).into_response();
    Ok(with_header(
        response,
        header::HeaderName::from_static("x-changed-sessions"),
        &count,
    ))
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
    SessionPath(id): SessionPath,
) -> ApiResult<StatusCode> {
    state.service().delete(caller.actor(), id).await?;
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
    SessionPath(id): SessionPath,
) -> ApiResult<Json<SessionJson>> {
    let session = state.service().cancel(caller.actor(), id).await?;
    Ok(Json(admin_json(&state, &session, None)))
}
