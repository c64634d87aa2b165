//! Rosters: an admin's upload, view (JSON or CSV) and removal of members, and a user's own
//! registration.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use livesessions_core::roster::{AttendanceStatus, RosterSort, RosterView};
use livesessions_core::{SortOrder, UserId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::analytics::{csv_download, parsed_or_default, roster_rows, wants_csv};
use super::{require_admin, require_user, session_id, ApiResult, SessionPath};
use crate::csv;
use crate::extract::{body_kind, read_json, BodyKind, Caller, Params};
use crate::json::{RegistrationJson, RosterAddedJson, RosterJson, RosterMemberJson};
use crate::problem::ApiError;
use crate::roster_input::{self, RosterUploadJson};
use crate::state::AppState;

/// Add members to a session's roster, all or nothing: JSON `{"members": [...]}`, or a CSV file
/// (`text/csv`) whose first line is the header `userId,userName,email` (other columns are
/// ignored, so a roster export can be uploaded again). At most 10000 members and 8 MiB. Any
/// invalid row makes the whole upload `422`, nothing stored, with one error per problem naming
/// `rows[N].userId`, `rows[N].userName` or `rows[N].email` (N from 1: the first member, or the
/// first line after the CSV header); a user id twice is `duplicate`; a missing or wrong header
/// names `header`, a count outside 1–10000 names `rows`. A user already on the roster keeps
/// their entry, with the new name and email.
#[utoipa::path(
    post, path = "/api/admin/live-sessions/{id}/roster", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)")),
    request_body(content(
        (RosterUploadJson = "application/json"),
        (String = "text/csv", example = "userId,userName,email\r\nu1,Ada Lovelace,ada@example.com\r\n"),
    )),
    security(("bearer" = [])),
    responses((status = 200, description = "Added", body = RosterAddedJson))
)]
pub(crate) async fn upload_roster(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<Json<RosterAddedJson>> {
    require_admin(&caller)?;
    let id = session_id(&id)?;
    let rows = roster_input::read(request, &state).await?;
    let service = state.service();
    let added = service.add_to_roster(caller.actor(), id, &rows).await?;
    let view = RosterView {
        limit: 1,
        ..RosterView::default()
    };
    let page = service.roster(caller.actor(), id, view).await?;
    Ok(Json(RosterAddedJson {
        added,
        members: page.members,
    }))
}

/// Query of a roster view.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RosterParams {
    /// Only rows with this status: `present`, `partial`, `lobby_only` or `absent`.
    #[param(pattern = "^(present|partial|lobby_only|absent)$")]
    status: Option<String>,
    /// `name` (default), `status`, `watchTime` or `joinTime`; ties by user id.
    #[param(pattern = "^(name|status|watchTime|joinTime)$")]
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

/// A session's roster with everyone's attendance status: every roster member and every
/// participant not on the roster (a walk-in). JSON, or CSV with `Accept: text/csv` (or
/// `format=csv`), UTF-8 with a byte order mark, columns `userId`, `userName`, `email`,
/// `status`, `late`, `onRoster`, `registered`, `joinTime`, `watchSeconds`, `watchTime`,
/// `joinCount`; `Content-Disposition` names it `roster-<title>-<start date>.csv`. Statuses
/// follow the session's `attendanceThreshold` and `lateAfterMinutes`: `present` (watched at
/// least the threshold of the live time), `partial` (less), `lobby_only` (joined, never while
/// live), `absent` (on the roster, never joined); `late` flags a first presence after the
/// late rule.
#[utoipa::path(
    get, path = "/api/admin/live-sessions/{id}/roster", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)"), RosterParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The roster view",
               content((RosterJson = "application/json"), (String = "text/csv")),
               headers(("Content-Disposition" = String,
                        description = "CSV only: `attachment`, named after the title and the start date"))))
)]
pub(crate) async fn roster(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Params(params): Params<RosterParams>,
    SessionPath(id): SessionPath,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    let mut errors = Vec::new();
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => super::analytics::collect(text.parse::<AttendanceStatus>(), &mut errors)?,
    };
    let sort = parsed_or_default::<RosterSort>(params.sort.as_deref(), &mut errors)?;
    let order = parsed_or_default::<SortOrder>(params.order.as_deref(), &mut errors)?;
    let csv = wants_csv(&headers, params.format.as_deref())?;
    let (Some(sort), Some(order), true) = (sort, order, errors.is_empty()) else {
        return Err(ApiError::validation(&errors));
    };
    let view = RosterView {
        status,
        sort,
        order,
        offset: params.offset.unwrap_or(0),
        limit: params.limit.unwrap_or(RosterView::default().limit),
    };
    if !csv {
        let page = state.service().roster(caller.actor(), id, view).await?;
        return Ok(Json(RosterJson::from(&page)).into_response());
    }
    let rows = roster_rows(&state, caller.actor(), id, view, view.offset, params.limit).await?;
    let service = state.service();
    let session = service.get(caller.actor(), id).await?.session;
    let zone = session
        .fields
        .timezone
        .unwrap_or(service.settings().default_time_zone);
    let mut body = csv::roster_header();
    for row in &rows {
        csv::push_roster_row(&mut body, row, zone);
    }
    Ok(csv_download(body, "roster", &session, zone))
}

/// Remove a member from a session's roster. Their attendance, if any, stays (they become a
/// walk-in).
#[utoipa::path(
    delete, path = "/api/admin/live-sessions/{id}/roster/{userId}", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)"),
           ("userId" = String, Path, description = "The member's user id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"))
)]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    let id = session_id(&id)?;
    let user_id = UserId::parse(&user_id)?;
    state
        .service()
        .remove_from_roster(caller.actor(), id, &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A self-registration: the name and email are used only when the caller's token has none.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegisterJson {
    /// Display name, used when the token has none.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Email, used when the token has none.
    #[serde(default)]
    pub email: Option<String>,
}

/// Register the signed-in user for a session whose `registration` is `open` (else `409`
/// `registration_closed`, as for a session that has ended or was cancelled). Registering again
/// changes nothing. The body is optional.
#[utoipa::path(
    post, path = "/api/live-sessions/{id}/register", tag = "attendance",
    params(("id" = String, Path, description = "Session id (UUID)")),
    request_body(content = Option<RegisterJson>, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Registered: the caller's roster entry", body = RosterMemberJson),
        (status = 409, description = "`registration_closed`: the session does not take registrations (or has ended or was cancelled)", body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<Json<RosterMemberJson>> {
    require_user(&caller)?;
    let id = session_id(&id)?;
    let body = if body_kind(request.headers()) == BodyKind::Json {
        let limit = state.settings().json_body_limit;
        read_json::<RegisterJson>(request, &state, limit).await?
    } else {
        RegisterJson::default()
    };
    let member = state
        .service()
        .register(
            caller.actor(),
            id,
            body.user_name.as_deref(),
            body.email.as_deref(),
        )
        .await?;
    Ok(Json(RosterMemberJson::from(&member)))
}

/// Whether the signed-in user is on a session's roster, with their entry (`onRoster: false`
/// and no entry when they are not; `404` only for an unknown session), so that a page can show
/// "Registered" without a failed request.
#[utoipa::path(
    get, path = "/api/live-sessions/{id}/register", tag = "attendance",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "Whether the caller is on the roster", body = RegistrationJson))
)]
pub(crate) async fn my_registration(
    State(state): State<AppState>,
    caller: Caller,
    SessionPath(id): SessionPath,
) -> ApiResult<Json<RegistrationJson>> {
    require_user(&caller)?;
    let entry = state.service().my_roster_entry(caller.actor(), id).await?;
    Ok(Json(RegistrationJson::from(entry.as_ref())))
}

/// Cancel the signed-in user's own registration (`404` when there is none; `403` when an
/// admin put them on the roster: only an admin removes them).
#[utoipa::path(
    delete, path = "/api/live-sessions/{id}/register", tag = "attendance",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security(("bearer" = [])),
    responses((status = 204, description = "Unregistered"))
)]
pub(crate) async fn unregister(
    State(state): State<AppState>,
    caller: Caller,
    SessionPath(id): SessionPath,
) -> ApiResult<StatusCode> {
    require_user(&caller)?;
    if state.service().unregister(caller.actor(), id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "You are not registered for this session.",
        ))
    }
}
