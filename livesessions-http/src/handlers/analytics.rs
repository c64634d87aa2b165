//! Reports: a session's attendance (JSON or CSV) and report, the overview, and participation
//! histories.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use livesessions_core::roster::{RosterQuery, RosterRow, RosterSort, RosterView};
use livesessions_core::{
    Actor, AttendanceQuery, AttendanceSort, Error, FieldError, PopularBy, SessionId, SortOrder,
    UserId,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{require_admin, require_user, ApiResult, SessionPath};
use crate::csv;
use crate::extract::{Caller, Params};
use crate::json::{AttendanceJson, OverviewJson, ParticipantJson, ParticipationJson, ReportJson};
use crate::problem::ApiError;
use crate::state::AppState;

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
pub(crate) fn collect<T>(
    result: Result<T, Error>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<T>, Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Error::Validation(mut e)) => {
            errors.append(&mut e);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A query value parsed, or its default when absent or empty; field errors are gathered.
pub(crate) fn parsed_or_default<T>(
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> ApiResult<Option<T>>
where
    T: std::str::FromStr<Err = Error> + Default,
{
    match value.filter(|v| !v.is_empty()) {
        None => Ok(Some(T::default())),
        Some(v) => Ok(collect(v.parse::<T>(), errors)?),
    }
}

/// Whether the caller asks for CSV: `format=csv`, or `Accept: text/csv` without a `format`.
pub(crate) fn wants_csv(headers: &HeaderMap, format: Option<&str>) -> ApiResult<bool> {
    match format {
        Some("csv") => return Ok(true),
        Some("json") => return Ok(false),
        None | Some("") => {}
        Some(_) => {
            return Err(ApiError::validation(&[FieldError::new(
                "format",
                "unknown_format",
                "Use json or csv.",
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

/// A session's attendance: JSON, or CSV with `Accept: text/csv` (or `format=csv`).
///
/// The JSON lists participants. The CSV lists every participant and every roster member who
/// never joined (their times empty); it is UTF-8 with a byte order mark, RFC 4180 with CRLF
/// line ends. Columns: `userId`, `userName`, `email`, `joinTime`, `lastJoinTime`, `lastSeen`,
/// `leftAt` (empty when the participant joined again after leaving), `watchSeconds`,
/// `watchDuration` (whole minutes), `joinCount`, `present`, `watchTime` (`h:mm:ss`), `status`
/// (`present`, `partial`, `lobby_only` or `absent`) and `late` (`true` or `false`). Times are RFC 3339 in whole
/// seconds with the offset of the session's `timezone` (else the server's default zone).
/// Cells that start with `=`, `+`, `-` or `@` are prefixed with `'` against formula
/// injection. `Content-Disposition` names the file `attendance-<title>-<start date>.csv`.
#[utoipa::path(
    get, path = "/api/admin/live-sessions/{id}/participants", tag = "admin",
    params(("id" = String, Path, description = "Session id (UUID)"), AttendanceParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The attendance list",
               content((AttendanceJson = "application/json"), (String = "text/csv")),
               headers(("Content-Disposition" = String,
                        description = "CSV only: `attachment` with `filename` (the title as an \
                                       ASCII slug and the start date in the session's zone) \
                                       and `filename*` (RFC 6266, the real title)"))))
)]
pub(crate) async fn participants(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Params(params): Params<AttendanceParams>,
    SessionPath(id): SessionPath,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let sort = parsed_or_default::<AttendanceSort>(params.sort.as_deref(), &mut errors)?;
    let order = parsed_or_default::<SortOrder>(params.order.as_deref(), &mut errors)?;
    let csv = wants_csv(&headers, params.format.as_deref())?;
    let (Some(sort), Some(order)) = (sort, order) else {
        return Err(ApiError::validation(&errors));
    };
    let list = AttendanceList {
        state: &state,
        caller: caller.actor(),
        id,
        sort,
        order,
    };
    let offset = params.offset.unwrap_or(0);
    if csv {
        list.csv(offset, params.limit).await
    } else {
        let limit = params.limit.unwrap_or(AttendanceQuery::DEFAULT_LIMIT);
        let page = list.page(offset, limit).await?;
        Ok(Json(AttendanceJson {
            total: page.total,
            participants: page.rows.iter().map(ParticipantJson::row).collect(),
        })
        .into_response())
    }
}

/// One session's attendance, in a chosen order, read page by page.
struct AttendanceList<'a> {
    state: &'a AppState,
    caller: Option<&'a Actor>,
    id: SessionId,
    sort: AttendanceSort,
    order: SortOrder,
}

impl AttendanceList<'_> {
    async fn page(&self, offset: u64, limit: u32) -> ApiResult<livesessions_core::AttendancePage> {
        let service = self.state.service();
        let (id, sort, order) = (self.id, self.sort, self.order);
        Ok(service
            .attendance(self.caller, id, sort, order, offset, limit)
            .await?)
    }

    /// The CSV download, built from the roster view so that absent roster members appear
    /// too: `limit` rows from `offset`, or every row from `offset` without one. Times are in
    /// the session's zone, else the service's default zone; the file is named after the
    /// session's title and start date.
    async fn csv(&self, offset: u64, limit: Option<u32>) -> ApiResult<Response> {
        let sort = match self.sort {
            AttendanceSort::JoinTime => RosterSort::JoinTime,
            AttendanceSort::WatchTime => RosterSort::WatchTime,
            AttendanceSort::Name => RosterSort::Name,
        };
        let view = RosterView {
            sort,
            order: self.order,
            ..RosterView::default()
        };
        let rows = roster_rows(self.state, self.caller, self.id, view, offset, limit).await?;
        let service = self.state.service();
        let session = service.get(self.caller, self.id).await?.session;
        let zone = session
            .fields
            .timezone
            .unwrap_or(service.settings().default_time_zone);
        let mut body = csv::header();
        for row in &rows {
            csv::push_attendance(&mut body, row, zone);
        }
        Ok(csv_download(body, "attendance", &session, zone))
    }
}

/// Rows of a roster view: `limit` from `offset`, or every row from `offset` without a limit
/// (read page by page).
pub(crate) async fn roster_rows(
    state: &AppState,
    caller: Option<&Actor>,
    id: SessionId,
    view: RosterView,
    offset: u64,
    limit: Option<u32>,
) -> ApiResult<Vec<RosterRow>> {
    const CHUNK: u32 = RosterQuery::MAX_LIMIT;
    let mut rows = Vec::new();
    let mut at = offset;
    loop {
        let page = state
            .service()
            .roster(
                caller,
                id,
                RosterView {
                    offset: at,
                    limit: limit.unwrap_or(CHUNK),
                    ..view
                },
            )
            .await?;
        let count = page.rows.len();
        rows.extend(page.rows);
        at += count as u64;
        if limit.is_some() || count < CHUNK as usize || at >= page.total {
            break;
        }
    }
    Ok(rows)
}

/// A CSV download named `<kind>-<title>-<start date>.csv`.
pub(crate) fn csv_download(
    body: String,
    kind: &str,
    session: &livesessions_core::LiveSession,
    zone: livesessions_core::TimeZone,
) -> Response {
    let disposition = csv::content_disposition(
        kind,
        session.fields.title.as_str(),
        session.fields.start_time,
        zone,
    );
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
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
    Params(params): Params<ReportParams>,
    SessionPath(id): SessionPath,
) -> ApiResult<Json<ReportJson>> {
    let threshold = params.threshold.map(|t| u8::try_from(t).unwrap_or(u8::MAX));
    let report = state
        .service()
        .report(caller.actor(), id, threshold)
        .await?;
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

/// A time of the overview's range, if given; its error is gathered.
fn range_time(
    value: Option<&str>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    livesessions_core::values::parse_instant(value, field)
        .map_err(|e| errors.push(e))
        .ok()
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
    let from = range_time(params.from.as_deref(), "from", &mut errors);
    let to = range_time(params.to.as_deref(), "to", &mut errors);
    let by = parsed_or_default::<PopularBy>(params.by.as_deref(), &mut errors)?;
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let by = by.unwrap_or_default();
    let to = to.unwrap_or_else(|| state.service().now());
    let from = from.unwrap_or(to - chrono::TimeDelta::days(30));
    let limit = params.limit.unwrap_or(10);
    let overview = state
        .service()
        .overview(caller.actor(), from, to, limit, by)
        .await?;
    Ok(Json(OverviewJson::new(&overview, from, to)))
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
    let limit = params.limit.unwrap_or(100);
    let participation = state
        .service()
        .participation(Some(actor), &actor.user_id, limit)
        .await?;
    Ok(Json(ParticipationJson::from(&participation)))
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
    let user_id = UserId::parse(&user_id)?;
    let limit = params.limit.unwrap_or(100);
    let participation = state
        .service()
        .participation(caller.actor(), &user_id, limit)
        .await?;
    Ok(Json(ParticipationJson::from(&participation)))
}
