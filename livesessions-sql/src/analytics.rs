//! Analytics answers assembled from the rows of the aggregate queries, for every
//! [`Dialect`], and the statements that differ by the query's sort key, each built once.

use livesessions_core::analytics::{
    AttendanceRow, AttendanceSort, Overview, Participation, ParticipationQuery, ParticipationRow,
    PopularBy, PopularSession, ReportQuery, SessionReport, SortOrder,
};
use livesessions_core::roster::{AttendanceStatus, StatusCounts};
use livesessions_core::{Result, SessionId};
use sqlx::{Decode, Type};
use uuid::Uuid;

use crate::dialect::{time, Dialect};
use crate::presence::credited;
use crate::record::{
    corrupt, parse_status, participant_from_row, participant_select, required, title, to_u64,
};
use crate::roster::{late, status_rank, TABLE};

/// The select list of a report's counts by attendance status over participant rows with
/// the columns `ws` (watch seconds now) and `first_present_at` qualified by `w` (`w.` or
/// empty), the live seconds `live`, the threshold `threshold` and the late cutoff `cutoff`:
/// `s_present`, `s_partial`, `s_lobby_only` and `s_late` (aggregates).
pub(crate) fn status_counts(w: &str, live: &str, threshold: &str, cutoff: &str) -> String {
    let rank = status_rank(
        "1",
        &format!("{w}first_present_at"),
        &format!("{w}ws"),
        live,
        threshold,
    );
    let of = |status: AttendanceStatus| {
        format!(
            "count(*) FILTER (WHERE {rank} = {}) AS s_{}",
            status.rank(),
            status.as_str()
        )
    };
    format!(
        "{}, {}, {}, count(*) FILTER (WHERE {}) AS s_late",
        of(AttendanceStatus::Present),
        of(AttendanceStatus::Partial),
        of(AttendanceStatus::LobbyOnly),
        late(&format!("{w}first_present_at"), cutoff),
    )
}

/// The select list of a report's roster counts for the session `session` (an SQL
/// expression), on the tables named with `prefix`: `roster_members`, and `s_absent`, the
/// members without a participant record.
pub(crate) fn roster_counts(prefix: &str, session: &str) -> String {
    format!(
        "(SELECT count(*) FROM {prefix}{TABLE} m WHERE m.session_id = {session}) \
            AS roster_members, \
         (SELECT count(*) FROM {prefix}{TABLE} m WHERE m.session_id = {session} \
            AND NOT EXISTS (SELECT 1 FROM {prefix}session_participants q \
                            WHERE q.session_id = m.session_id AND q.user_id = m.user_id)) \
            AS s_absent"
    )
}

/// The report of a row with the columns `n`, `watching`, `total`, `max` and `attended`, the
/// status counts ([`status_counts`]) and the roster's ([`roster_counts`]).
pub(crate) fn report<D: Dialect>(row: &D::Row, query: &ReportQuery) -> Result<SessionReport>
where
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    let count = |column: &str| -> Result<u64> { to_u64(D::get(row, column)?, column) };
    Ok(SessionReport {
        session_id: query.session_id,
        participants: to_u64(D::get(row, "n")?, "participants")?,
        watching: to_u64(D::get(row, "watching")?, "watching")?,
        total_watch_seconds: D::get(row, "total")?,
        max_watch_seconds: D::get(row, "max")?,
        live_seconds: query.live_seconds,
        threshold_percent: query.threshold_percent,
        attended: to_u64(D::get(row, "attended")?, "attended")?,
        roster_members: count("roster_members")?,
        statuses: StatusCounts {
            present: count("s_present")?,
            partial: count("s_partial")?,
            lobby_only: count("s_lobby_only")?,
            absent: count("s_absent")?,
            late: count("s_late")?,
        },
    })
}

/// An attendance row: a participant and its watch seconds now (`ws_now`).
pub(crate) fn attendance_row<D: Dialect>(row: &D::Row) -> Result<AttendanceRow>
where
    for<'r> Uuid: Decode<'r, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    Ok(AttendanceRow {
        participant: required(participant_from_row::<D>(row)?)?,
        watch_seconds_now: D::get(row, "ws_now")?,
    })
}

/// The overview of a totals row (`sessions`, `records`, `watch`) and the popular sessions.
pub(crate) fn overview<D: Dialect>(totals: &D::Row, popular: &[D::Row]) -> Result<Overview>
where
    for<'r> Uuid: Decode<'r, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    Ok(Overview {
        sessions: to_u64(D::get(totals, "sessions")?, "sessions")?,
        participants: to_u64(D::get(totals, "records")?, "participants")?,
        total_watch_seconds: D::get(totals, "watch")?,
        popular: popular
            .iter()
            .map(|row| {
                Ok(PopularSession {
                    session_id: SessionId::from_uuid(D::get(row, "id")?),
                    title: title(D::get(row, "title")?)?,
                    status: parse_status(&D::get::<String>(row, "status")?)?,
                    start_time: time::<D>(row, "start_time")?,
                    participants: to_u64(D::get(row, "participants")?, "participants")?,
                    total_watch_seconds: D::get(row, "watch")?,
                })
            })
            .collect::<Result<Vec<_>>>()?,
    })
}

/// The participation of a user from a totals row (`n`, `w`) and the per-session rows.
pub(crate) fn participation<D: Dialect>(
    query: &ParticipationQuery,
    totals: &D::Row,
    rows: &[D::Row],
) -> Result<Participation>
where
    for<'r> Uuid: Decode<'r, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
    for<'r> bool: Decode<'r, D> + Type<D>,
{
    let sessions = rows
        .iter()
        .map(|row| {
            Ok(ParticipationRow {
                session_id: SessionId::from_uuid(D::get(row, "session_id")?),
                title: title(D::get(row, "title")?)?,
                status: parse_status(&D::get::<String>(row, "status")?)?,
                start_time: time::<D>(row, "start_time")?,
                first_joined_at: time::<D>(row, "first_joined_at")?,
                last_joined_at: time::<D>(row, "last_joined_at")?,
                watch_seconds: D::get(row, "watch_seconds")?,
                join_count: to_u64(D::get(row, "join_count")?, "join_count")?,
                attendance: AttendanceStatus::from_rank(D::get(row, "status_rank")?)
                    .ok_or_else(|| corrupt("unknown status rank"))?,
                late: D::get(row, "late")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Participation {
        user_id: query.user_id.clone(),
        sessions_joined: to_u64(D::get(totals, "n")?, "sessions")?,
        total_watch_seconds: D::get(totals, "w")?,
        sessions,
    })
}

/// A user's participation rows on the tables named with `prefix` (parameters: user, limit,
/// now, timeout as `now` and `timeout` give them): each with the status and late flag of
/// the row's own session's rule, its live seconds as of now (`live_seconds` plus the current
/// period's), its threshold (75 when it has none) and its late cutoff (`started_at` plus
/// `late_after_minutes`).
pub(crate) fn participation_rows<D: Dialect>(prefix: &str, now: &str, timeout: &str) -> String {
    let p = D::PARAMETER;
    let ws = credited::<D>(now, timeout);
    let live = format!(
        "(s.live_seconds + CASE WHEN s.live_since IS NULL THEN 0 ELSE {} END)",
        D::seconds(&format!("{now} - s.live_since"))
    );
    let threshold = format!(
        "COALESCE(s.attendance_threshold, {})",
        livesessions_core::analytics::DEFAULT_ATTENDANCE_THRESHOLD_PERCENT
    );
    let cutoff = format!("s.started_at + {}", D::minutes("s.late_after_minutes"));
    format!(
        "SELECT p.session_id, s.title, s.status, s.start_time, p.first_joined_at, \
            p.last_joined_at, p.watch_seconds, p.join_count, \
            {rank} AS status_rank, {late} AS late \
         FROM {prefix}session_participants p JOIN {prefix}live_sessions s ON s.id = p.session_id \
         WHERE p.user_id = {p}1 \
         ORDER BY p.first_joined_at DESC, p.session_id \
         LIMIT {p}2",
        rank = status_rank("p.session_id", "p.first_present_at", &ws, &live, &threshold),
        late = late("p.first_present_at", &cutoff),
    )
}

/// The attendance page statement for every sort key and order, built once.
#[derive(Debug)]
pub(crate) struct AttendanceStatements(Vec<String>);

const SORTS: [AttendanceSort; 3] = [
    AttendanceSort::JoinTime,
    AttendanceSort::WatchTime,
    AttendanceSort::Name,
];
const ORDERS: [SortOrder; 2] = [SortOrder::Asc, SortOrder::Desc];

impl AttendanceStatements {
    /// Builds the statement of every sort key and order: a page of the participants in
    /// `table`, each with its watch seconds credited at `now` with the presence timeout
    /// `timeout` (SQL expressions of parameters 4 and 5) as `ws_now`. Parameters: session,
    /// offset, limit, now, timeout.
    pub(crate) fn new<D: Dialect>(table: &str, now: &str, timeout: &str) -> Self {
        let ws = credited::<D>(now, timeout);
        let page = |sort, order| {
            let key = match sort {
                AttendanceSort::JoinTime => "p.first_joined_at".to_owned(),
                AttendanceSort::WatchTime => "ws_now".to_owned(),
                AttendanceSort::Name => format!("lower(p.user_name){}", D::BYTE_ORDER),
            };
            let n = D::PARAMETER;
            format!(
                "SELECT {cols}, {ws} AS ws_now FROM {table} p WHERE p.session_id = {n}1 \
                 ORDER BY {key} {dir}, p.user_id ASC LIMIT {n}3 OFFSET {n}2",
                cols = participant_select("p."),
                dir = direction(order),
            )
        };
        AttendanceStatements(
            SORTS
                .iter()
                .flat_map(|&sort| ORDERS.map(|order| page(sort, order)))
                .collect(),
        )
    }

    /// The statement for `sort` and `order`.
    pub(crate) fn get(&self, sort: AttendanceSort, order: SortOrder) -> &str {
        let sort = SORTS.iter().position(|s| *s == sort).unwrap_or(0);
        let order = ORDERS.iter().position(|o| *o == order).unwrap_or(0);
        &self.0[sort * ORDERS.len() + order]
    }
}

fn direction(order: SortOrder) -> &'static str {
    match order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    }
}

/// The popular-sessions statement for every ranking, built once.
#[derive(Debug)]
pub(crate) struct PopularStatements {
    participants: String,
    watch: String,
}

impl PopularStatements {
    /// Builds both statements with `build`, which is given the column to rank by.
    pub(crate) fn new(build: impl Fn(&str) -> String) -> Self {
        PopularStatements {
            participants: build("participants"),
            watch: build("watch"),
        }
    }

    /// The statement ranking by `by`.
    pub(crate) fn get(&self, by: PopularBy) -> &str {
        match by {
            PopularBy::Participants => &self.participants,
            PopularBy::WatchTime => &self.watch,
        }
    }
}
