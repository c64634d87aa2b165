//! Series: the occurrences of a series (anyone) and its attendance summary (admins), as JSON
//! or CSV. Creating a series is a create with `recurrence`; changing "this and following" is
//! an update with `scope=following`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use livesessions_core::{FieldError, SeriesId, SeriesSummaryQuery, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

use super::analytics::wants_csv;
use super::ApiResult;
use crate::csv;
use crate::extract::{Caller, Params};
use crate::json::{SeriesSummaryJson, SessionJson};
use crate::problem::ApiError;
use crate::state::AppState;

/// A series id from a path: anything that is not a UUID names no series (`404`).
fn series_id(text: &str) -> ApiResult<SeriesId> {
    SeriesId::parse_field(text, "seriesId")
        .map_err(|_| ApiError::not_found(format!("The series {text} was not found.")))
}

/// The occurrences of a series, earliest first, each a session as `GET
/// /api/live-sessions/{id}` shows it (the video URL for signed-in callers only).
#[utoipa::path(
    get, path = "/api/live-sessions/series/{seriesId}", tag = "sessions",
    params(("seriesId" = String, Path, description = "Series id (UUID), a session's `seriesId`")),
    security((), ("bearer" = [])),
    responses((status = 200, description = "The occurrences, by start time", body = [SessionJson]))
)]
pub(crate) async fn series_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<SessionJson>>> {
    let id = series_id(&id)?;
    let views = state.service().series(caller.actor(), id).await?;
    let now = state.service().now();
    let presenter = state.presenter();
    let admin = super::is_admin(&caller);
    Ok(Json(
        views
            .iter()
            .map(|v| presenter.view(v, now, admin))
            .collect(),
    ))
}

/// Query of a series summary.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SummaryParams {
    /// Percent of an occurrence's live time a student must have watched to count as attending
    /// it (default 75, the session report's rule).
    #[param(minimum = 0, maximum = 100)]
    threshold: Option<u32>,
    /// Students per page, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Where to continue: the previous page's `next` (a user id).
    after: Option<String>,
    /// `csv` for a CSV download (same as `Accept: text/csv`), or `json`.
    #[param(pattern = "^(json|csv)$")]
    format: Option<String>,
}

/// The attendance summary of a series: for each student who joined any occurrence, by user
/// id, the ended occurrences they attended out of all ended ones ("attended N of M") and
/// their credited watch seconds, computed in the database. JSON pages by `after`/`next`; CSV
/// (`Accept: text/csv` or `format=csv`; columns `userId`, `userName`, `email`, `attended`,
/// `ended`, `watchSeconds`, same encoding as the attendance CSV) holds every student.
#[utoipa::path(
    get, path = "/api/admin/series/{seriesId}/summary", tag = "admin",
    params(("seriesId" = String, Path, description = "Series id (UUID)"), SummaryParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The summary",
               content((SeriesSummaryJson = "application/json"), (String = "text/csv"))))
)]
pub(crate) async fn series_summary(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Params(params): Params<SummaryParams>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = series_id(&id)?;
    let csv = wants_csv(&headers, params.format.as_deref())?;
    let mut query = SeriesSummaryQuery::new(id);
    let mut errors = Vec::new();
    if let Some(threshold) = params.threshold {
        match u8::try_from(threshold) {
            Ok(t) if t <= 100 => query.threshold_percent = t,
            _ => errors.push(FieldError::new(
                "threshold",
                "out_of_range",
                "Use a percentage from 0 to 100.",
            )),
        }
    }
    if let Some(limit) = params.limit {
        query.limit = limit;
    }
    if let Some(after) = params.after.as_deref().filter(|a| !a.is_empty()) {
        match UserId::parse_field(after, "after") {
            Ok(after) => query.after = Some(after),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let service = state.service();
    if !csv {
        let summary = service.series_summary(caller.actor(), &query).await?;
        return Ok(Json(SeriesSummaryJson::from(&summary)).into_response());
    }
    query.limit = livesessions_core::series::MAX_SUMMARY_PAGE;
    let mut body = csv::series_header();
    loop {
        let page = service.series_summary(caller.actor(), &query).await?;
        for row in &page.students {
            csv::push_series_row(&mut body, row);
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    let disposition = format!("attachment; filename=\"series-{id}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
