//! Every statement of the SQLite store, built once. Times are integer microseconds.

use std::sync::LazyLock;

use sqlx::Sqlite;

use crate::analytics::{
    participation_rows, roster_counts, status_counts, AttendanceStatements, PopularStatements,
};
use crate::calendar::CalendarStatements;
use crate::events::{insert_event, LogStatements};
use crate::presence::{credited, touch_sets, watching};
use crate::record::{
    due_sessions_select, empty_sessions_select, on_roster, participant_select, reserved_seats,
    session_assignments, session_insert, session_select, VERSION_PARAMETER,
};
use crate::roster::RosterStatements;
use crate::search::{matches, ListStatements, Search};
use crate::series::SeriesStatements;
use crate::thumbnails::{ThumbnailStatements, TABLE as THUMBNAILS};
use crate::webhooks::{claimed_select, due_condition, WebhookStatements};

/// The statements, built on first use.
pub(super) static SQL: LazyLock<Statements> = LazyLock::new(Statements::new);

/// Every statement.
#[derive(Debug)]
pub(super) struct Statements {
    pub insert_session: String,
    pub get_session: String,
    /// The scheduler's due query (parameters: now, limit).
    pub due_sessions: String,
    /// The scheduler's query for sessions nobody watches (parameters: now, timeout, limit).
    pub empty_sessions: String,
    pub update_session: String,
    pub version_of: &'static str,
    pub session_exists: &'static str,
    pub delete_participants: &'static str,
    pub delete_roster: &'static str,
    pub delete_session: &'static str,
    pub list: ListStatements,
    /// What a join checks, in its write transaction (parameters: session, user): status,
    /// start of the live period, capacity, participants, whether the session is open to the
    /// user (unrestricted, or they are on its roster), and, with a capacity only, whether they
    /// are on its roster and how many seats are reserved.
    pub join_status: String,
    pub rejoin: String,
    pub first_join: String,
    pub count_join: &'static str,
    pub heartbeat: String,
    pub leave: String,
    pub end_credit: String,
    pub get_participant: String,
    pub watching: String,
    pub report: String,
    pub attendance_total: &'static str,
    pub attendance: AttendanceStatements,
    pub overview_totals: &'static str,
    pub popular: PopularStatements,
    pub participation_totals: &'static str,
    pub participation_rows: String,
    pub roster: RosterStatements,
    /// Appends an event (kind, session id) and returns its id.
    pub append: String,
    pub log: LogStatements,
    pub thumbnails: ThumbnailStatements,
    pub webhooks: WebhookStatements,
    /// The due webhook deliveries with their endpoints, in event-id order (parameters: now,
    /// limit); run in the claim's write transaction.
    pub due_deliveries: String,
    /// Leases one delivery (parameters: id, lease until, worker).
    pub lease_delivery: &'static str,
    pub calendar: CalendarStatements,
    /// The series statements.
    pub series: SeriesStatements,
}

impl Statements {
    fn new() -> Self {
        let session = session_select(
            "",
            "participants",
            &reserved_seats("", "live_sessions.", ""),
        );
        let aliased = session_select("s.", "s.participants", &reserved_seats("", "s.", ""));
        let participant = participant_select("");
        Statements {
            insert_session: session_insert::<Sqlite>("live_sessions"),
            get_session: format!("SELECT {session} FROM live_sessions WHERE id = ?1"),
            due_sessions: due_sessions_select::<Sqlite>(
                "live_sessions",
                &aliased,
                " = 1",
            ),
            empty_sessions: empty_sessions_select::<Sqlite>(
                "live_sessions",
                "session_participants",
                &aliased,
            ),
            update_session: format!(
                "UPDATE live_sessions SET {} WHERE id = ?1 AND version = ?{VERSION_PARAMETER} RETURNING {session}",
                session_assignments::<Sqlite>(),
            ),
            version_of: "SELECT version FROM live_sessions WHERE id = ?1",
            session_exists: "SELECT 1 FROM live_sessions WHERE id = ?1",
            delete_participants: "DELETE FROM session_participants WHERE session_id = ?1",
            delete_roster: "DELETE FROM roster_members WHERE session_id = ?1",
            delete_session: "DELETE FROM live_sessions WHERE id = ?1",
            list: ListStatements::new(|status, search, after| {
                list(&session, status, search, after)
            }),
            join_status: format!(
                "SELECT status, live_since, capacity, participants, \
                    restricted = 0 OR {member} AS open_to_user, \
                    CASE WHEN capacity IS NULL THEN 0 ELSE {member} END AS on_roster, \
                    {reserved} AS reserved \
                 FROM live_sessions WHERE id = ?1",
                member = on_roster("", "?1", "?2"),
                reserved = reserved_seats("", "live_sessions.", ""),
            ),
            rejoin: format!(
                "UPDATE session_participants SET user_name = ?3, email = ?4, \
                    join_count = join_count + 1, last_joined_at = MAX(last_joined_at, ?5), {touch} \
                 WHERE session_id = ?1 AND user_id = ?2 RETURNING {participant}",
                touch = touch_sets::<Sqlite>("?5", "?6", "?7"),
            ),
            first_join: format!(
                "INSERT INTO session_participants ({}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5, NULL, \
                    CASE WHEN ?6 IS NOT NULL AND ?5 >= ?6 THEN ?5 END, 0, 1, ?5, \
                    CASE WHEN ?6 IS NOT NULL AND ?5 >= ?6 THEN ?5 END) \
                 RETURNING {participant}",
                crate::record::PARTICIPANT_COLUMNS.join(", "),
            ),
            count_join: "UPDATE live_sessions SET participants = participants + 1 WHERE id = ?1",
            // One statement: it holds the write lock while it reads the status and the start
            // of the current live period and updates.
            heartbeat: format!(
                "UPDATE session_participants SET {touch} \
                 WHERE session_id = ?1 AND user_id = ?2 RETURNING {participant}",
                touch = touch_sets::<Sqlite>(
                    "?3",
                    "(SELECT live_since FROM live_sessions WHERE id = ?1 AND status = 'live')",
                    "?4"
                ),
            ),
            leave: format!(
                "UPDATE session_participants SET watch_seconds = {credit}, present_since = NULL, \
                    left_at = MAX(COALESCE(left_at, ?3), ?3) \
                 WHERE session_id = ?1 AND user_id = ?2 RETURNING {participant}",
                credit = credited::<Sqlite>("?3", "?4"),
            ),
            end_credit: format!(
                "UPDATE session_participants SET watch_seconds = {credit}, present_since = NULL \
                 WHERE session_id = ?1 AND present_since IS NOT NULL",
                credit = credited::<Sqlite>("?2", "?3"),
            ),
            get_participant: format!(
                "SELECT {participant} FROM session_participants \
                 WHERE session_id = ?1 AND user_id = ?2"
            ),
            watching: format!(
                "SELECT count(*) AS n FROM session_participants WHERE session_id = ?1 AND {}",
                watching("", "?2", "?3"),
            ),
            report: format!(
                "SELECT (SELECT 1 FROM live_sessions WHERE id = ?1) AS found, \
                    count(*) AS n, \
                    count(*) FILTER (WHERE {watching}) AS watching, \
                    COALESCE(sum(ws), 0) AS total, COALESCE(max(ws), 0) AS max, \
                    count(*) FILTER (WHERE ?4 > 0 AND ws * 100 >= ?4 * ?5) AS attended, \
                    {statuses}, {roster} \
                 FROM (SELECT present_since, last_seen, first_present_at, {ws} AS ws \
                       FROM session_participants WHERE session_id = ?1)",
                watching = watching("", "?2", "?3"),
                ws = credited::<Sqlite>("?2", "?3"),
                statuses = status_counts("", "?4", "?5", "?6"),
                roster = roster_counts("", "?1"),
            ),
            attendance_total: "SELECT (SELECT 1 FROM live_sessions WHERE id = ?1) AS found, \
                (SELECT count(*) FROM session_participants WHERE session_id = ?1) AS total",
            attendance: AttendanceStatements::new::<Sqlite>("session_participants", "?4", "?5"),
            overview_totals: "SELECT count(*) AS sessions, COALESCE(sum(n), 0) AS records, \
                    COALESCE(sum(w), 0) AS watch \
                 FROM (SELECT \
                    (SELECT count(*) FROM session_participants p WHERE p.session_id = s.id) AS n, \
                    (SELECT COALESCE(sum(p.watch_seconds), 0) FROM session_participants p \
                      WHERE p.session_id = s.id) AS w \
                   FROM live_sessions s WHERE s.start_time >= ?1 AND s.start_time < ?2)",
            popular: PopularStatements::new(popular),
            participation_totals: "SELECT count(*) AS n, COALESCE(sum(watch_seconds), 0) AS w \
                 FROM session_participants WHERE user_id = ?1",
            participation_rows: participation_rows::<Sqlite>("", "?3", "?4"),
            roster: RosterStatements::new::<Sqlite>("", "", &[], "?2", "?3"),
            append: format!("{} RETURNING id", insert_event::<Sqlite>("events")),
            log: LogStatements::new::<Sqlite>("events", "event_log_state"),
            thumbnails: ThumbnailStatements::new::<Sqlite>(THUMBNAILS),
            webhooks: WebhookStatements::new::<Sqlite>(""),
            due_deliveries: format!(
                "SELECT {} FROM webhook_deliveries d \
                 JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE {} ORDER BY d.event_id LIMIT ?2",
                claimed_select(),
                due_condition::<Sqlite>(""),
            ),
            lease_delivery: "UPDATE webhook_deliveries SET lease_until = ?2, lease_owner = ?3 \
                             WHERE id = ?1",
            calendar: CalendarStatements::new::<Sqlite>("", &aliased),
            series: SeriesStatements::new::<Sqlite>(
                "live_sessions",
                "session_participants",
                &aliased,
            ),
        }
    }
}

/// How many sessions, at most, the trigram index may propose for a search to be run from its
/// candidates. A term with more candidates matches at least this many sessions: walking the
/// list index fills a page sooner than fetching and sorting every candidate (SQLite has no
/// cost model for FTS5 to make that choice itself).
pub(super) const SEARCH_CANDIDATES: i64 = 1000;

/// The number of the trigram index's candidates for a search, up to a limit (parameters:
/// trigram query, limit): a cheap probe, FTS5 stops at the limit.
pub(super) const COUNT_CANDIDATES: &str =
    "SELECT count(*) FROM (SELECT 1 FROM live_sessions_search \
     WHERE live_sessions_search MATCH ?1 LIMIT ?2)";

/// The list statement for the given filters. Every parameter is numbered and always bound
/// (rank, search pattern, cursor rank, time key and id, limit), the ones a filter does not
/// use simply not referenced. The statements that search through the index take the trigram
/// query as ?6 and the limit as ?7.
fn list(session: &str, status: bool, search: Search, after: bool) -> String {
    let mut sql = format!("SELECT {session} FROM live_sessions WHERE 1");
    if status {
        sql += " AND list_rank = ?1";
    }
    if search == Search::Indexed {
        // The trigram index narrows the candidates (migration 0009); `LIKE` decides.
        sql += " AND id IN (SELECT m.id FROM live_sessions_search \
                 JOIN live_sessions_search_ids m ON m.docid = live_sessions_search.rowid \
                 WHERE live_sessions_search MATCH ?6)";
    }
    if search != Search::None {
        sql += &format!(" AND {}", matches("", "LIKE", "?2"));
    }
    if after {
        sql += " AND (list_rank, list_time_key, id) > (?3, ?4, ?5)";
    }
    let limit = if search == Search::Indexed { 7 } else { 6 };
    sql += &format!(" ORDER BY list_rank, list_time_key, id LIMIT ?{limit}");
    sql
}

/// Popular sessions of a start-time range, ranked by the column `key`. Parameters: from, to,
/// how many.
fn popular(key: &str) -> String {
    format!(
        "SELECT s.id, s.title, s.status, s.start_time, s.participants, \
            (SELECT COALESCE(sum(p.watch_seconds), 0) FROM session_participants p \
              WHERE p.session_id = s.id) AS watch \
         FROM live_sessions s WHERE s.start_time >= ?1 AND s.start_time < ?2 \
         ORDER BY {key} DESC, s.id ASC LIMIT ?3"
    )
}
