//! Series in SQL, shared by both backends: the statements that list a series' occurrences and
//! compute its attendance summary with `GROUP BY` in the database, and the summary assembled
//! from their rows.

use livesessions_core::{Result, SeriesAttendance, SeriesSummary, SeriesSummaryQuery, UserId};
use sqlx::{Decode, Type};

use crate::dialect::Dialect;
use crate::record::{corrupt, to_u64};

/// The statements of series, for one schema.
#[derive(Debug)]
pub(crate) struct SeriesStatements {
    /// The occurrences of a series, by start then id (parameter: series id).
    pub occurrences: String,
    /// `n` (occurrences) and `ended` (parameter: series id).
    pub counts: String,
    /// A page of students (parameters: series id, threshold percent, after user id or NULL,
    /// limit): `user_id`, `attended`, `watch`, `user_name`, `email`.
    pub students: String,
}

impl SeriesStatements {
    /// The statements on the tables `sessions` and `participants`, selecting a session with
    /// `session` (a select list on the alias `s`).
    pub(crate) fn new<D: Dialect>(sessions: &str, participants: &str, session: &str) -> Self {
        let p = D::PARAMETER;
        // The latest join's `column` of a student in the series (the name and email they gave
        // last).
        let latest = |column: &str| {
            format!(
                "(SELECT p2.{column} FROM {participants} p2 \
                  WHERE p2.session_id IN (SELECT id FROM occ) AND p2.user_id = g.user_id \
                  ORDER BY p2.last_joined_at DESC, p2.session_id LIMIT 1)"
            )
        };
        SeriesStatements {
            occurrences: format!(
                "SELECT {session} FROM {sessions} s WHERE s.series_id = {p}1 \
                 ORDER BY s.start_time, s.id"
            ),
            counts: format!(
                "SELECT count(*) AS n, \
                    CAST(COALESCE(SUM(CASE WHEN status = 'ended' THEN 1 ELSE 0 END), 0) AS BIGINT) \
                      AS ended \
                 FROM {sessions} WHERE series_id = {p}1"
            ),
            // `attended` is the session report's rule, per ended occurrence. The series'
            // sessions are found first (a materialized CTE, from the series index) and their
            // participants by session, so that the work grows with the series, never with the
            // whole participants table (which the planner would otherwise walk in user order
            // to save the sort).
            students: format!(
                "WITH occ AS MATERIALIZED ( \
                   SELECT id, status, live_seconds FROM {sessions} WHERE series_id = {p}1 \
                 ) \
                 SELECT g.user_id, g.attended, g.watch, {name} AS user_name, {email} AS email \
                 FROM ( \
                   SELECT p.user_id AS user_id, \
                     CAST(SUM(CASE WHEN o.status = 'ended' AND o.live_seconds > 0 \
                                    AND p.watch_seconds * 100 >= o.live_seconds * {p}2 \
                                   THEN 1 ELSE 0 END) AS BIGINT) AS attended, \
                     CAST(SUM(p.watch_seconds) AS BIGINT) AS watch \
                   FROM occ o JOIN {participants} p ON p.session_id = o.id \
                   WHERE ({p}3 IS NULL OR p.user_id > {p}3) \
                   GROUP BY p.user_id \
                   ORDER BY p.user_id \
                   LIMIT {p}4 \
                 ) g \
                 ORDER BY g.user_id",
                name = latest("user_name"),
                email = latest("email"),
            ),
        }
    }
}

/// The summary from the `counts` row and the `students` rows (one more than the limit was
/// asked for, to know whether a next page exists). `None` when the series has no session.
pub(crate) fn summary<D: Dialect>(
    query: &SeriesSummaryQuery,
    counts: &D::Row,
    rows: &[D::Row],
) -> Result<Option<SeriesSummary>>
where
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    let occurrences = to_u64(D::get(counts, "n")?, "occurrences")?;
    if occurrences == 0 {
        return Ok(None);
    }
    let ended = to_u64(D::get(counts, "ended")?, "ended")?;
    let limit = query.limit as usize;
    let students = rows
        .iter()
        .take(limit)
        .map(|row| {
            Ok(SeriesAttendance {
                user_id: UserId::parse_field(&D::get::<String>(row, "user_id")?, "user_id")
                    .map_err(corrupt)?,
                user_name: D::get(row, "user_name")?,
                email: D::get(row, "email")?,
                attended: to_u64(D::get(row, "attended")?, "attended")?,
                ended,
                watch_seconds: D::get(row, "watch")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next = if rows.len() > limit {
        students.last().map(|s| s.user_id.clone())
    } else {
        None
    };
    Ok(Some(SeriesSummary {
        series_id: query.series_id,
        occurrences,
        ended,
        threshold_percent: query.threshold_percent,
        students,
        next,
    }))
}
