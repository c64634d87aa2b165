//! Every statement of the PostgreSQL store, built once per schema.

use sqlx::Postgres;

use super::events::EventStatements;
use super::quote_ident;
use super::seats::SettleStatements;
use super::shards::COUNT_SHARDS;
use crate::analytics::{
    participation_rows, roster_counts, status_counts, AttendanceStatements, PopularStatements,
};
use crate::calendar::CalendarStatements;
use crate::presence::{credited, touch_sets, watching};
use crate::record::{
    due_sessions_select, empty_sessions_select, on_roster, participant_select, reserved_seats,
    session_assignments, session_insert, session_select, VERSION_PARAMETER,
};
use crate::roster::RosterStatements;
use crate::search::{matches, text_matches, ListStatements, Search};
use crate::series::SeriesStatements;
use crate::thumbnails::{ThumbnailStatements, TABLE as THUMBNAILS};
use crate::webhooks::{claimed_select, WebhookStatements};

/// A session's participant count: the sum of its count shards (`s` being the session).
fn participants(s: &str) -> String {
    format!(
        "(SELECT COALESCE(SUM(c.count), 0)::bigint FROM {s}.session_participant_counts c \
          WHERE c.session_id = s.id)"
    )
}

/// Every statement, with the schema filled in.
#[derive(Debug)]
pub(super) struct Statements {
    pub insert_session: String,
    pub get_session: String,
    /// The scheduler's due query (parameters: now, limit).
    pub due_sessions: String,
    /// The scheduler's query for sessions nobody watches (parameters: now, timeout, limit).
    pub empty_sessions: String,
    pub update_session: String,
    pub version_of: String,
    pub lock_session: String,
    /// Takes a capped session's row `FOR NO KEY UPDATE` for the locked path of a first join
    /// (ordinary joins hold the row `FOR KEY SHARE`, which this does not wait for); `settled`
    /// tells whether every seat shard is current (see the module `seats`).
    pub lock_seats: String,
    pub delete_session: String,
    pub list: ListStatements,
    pub join: String,
    /// The join of the locked path: a walk-in takes a seat from any shard (see [`join`]).
    pub join_locked: String,
    /// The statements that spread a capped session's seats over its shards again.
    pub settle: SettleStatements,
    pub heartbeat: String,
    pub leave: String,
    pub end_credit: String,
    pub get_participant: String,
    pub watching: String,
    pub watching_many: String,
    pub report: String,
    pub attendance_total: String,
    pub attendance: AttendanceStatements,
    pub overview_totals: String,
    pub popular: PopularStatements,
    pub participation_totals: String,
    pub participation_rows: String,
    pub roster: RosterStatements,
    pub events: EventStatements,
    pub thumbnails: ThumbnailStatements,
    pub webhooks: WebhookStatements,
    pub claim: String,
    pub calendar: CalendarStatements,
    pub series: SeriesStatements,
}

impl Statements {
    /// The statements on the tables of the schema `schema`.
    pub(super) fn new(schema: &str) -> Self {
        let quoted = quote_ident(schema);
        let s = quoted.as_str();
        let prefix = format!("{s}.");
        let reserved = reserved_seats(&prefix, "s.", "");
        let session = session_select("s.", &participants(s), &reserved);
        let settle = SettleStatements::new(s, &reserved);
        // The seats counted before the roster changed are stale after it: the epoch moves and
        // the seats are spread again, in the roster write's transaction.
        let roster_after_write: Vec<String> = std::iter::once(format!(
            "UPDATE {s}.live_sessions SET seat_epoch = seat_epoch + 1 WHERE id = $1"
        ))
        .chain(settle.statements().iter().cloned())
        .collect();
        let roster = RosterStatements::new::<Postgres>(
            &prefix,
            " FOR NO KEY UPDATE",
            &roster_after_write,
            "$2::timestamptz",
            "$3::interval",
        );
        Statements {
            insert_session: session_insert::<Postgres>(&format!("{s}.live_sessions")),
            get_session: format!("SELECT {session} FROM {s}.live_sessions s WHERE s.id = $1"),
            due_sessions: due_sessions_select::<Postgres>(
                &format!("{s}.live_sessions"),
                &session,
                "",
            ),
            empty_sessions: empty_sessions_select::<Postgres>(
                &format!("{s}.live_sessions"),
                &format!("{s}.session_participants"),
                &session,
            ),
            update_session: format!(
                "UPDATE {s}.live_sessions s SET {}, seat_epoch = s.seat_epoch + 1 \
                 WHERE s.id = $1 AND s.version = ${VERSION_PARAMETER} RETURNING {session}",
                session_assignments::<Postgres>(),
            ),
            version_of: format!("SELECT version FROM {s}.live_sessions WHERE id = $1"),
            lock_session: format!("SELECT 1 FROM {s}.live_sessions WHERE id = $1 FOR UPDATE"),
            lock_seats: format!(
                "SELECT (SELECT count(*) FROM {s}.session_participant_counts c \
                         WHERE c.session_id = s.id AND c.epoch = s.seat_epoch) = {COUNT_SHARDS} \
                        AS settled \
                 FROM {s}.live_sessions s WHERE s.id = $1 AND s.capacity IS NOT NULL \
                 FOR NO KEY UPDATE OF s"
            ),
            settle,
            delete_session: format!("DELETE FROM {s}.live_sessions WHERE id = $1"),
            list: ListStatements::new(|status, search, after| {
                list(s, &session, status, search, after)
            }),
            join: join(s, false),
            join_locked: join(s, true),
            heartbeat: heartbeat(s),
            leave: format!(
                "UPDATE {s}.session_participants p SET \
                    watch_seconds = {credit}, present_since = NULL, \
                    left_at = GREATEST(p.left_at, $3::timestamptz) \
                 WHERE p.session_id = $1 AND p.user_id = $2 \
                 RETURNING {p_cols}",
                credit = credited::<Postgres>("$3::timestamptz", "$4::interval"),
                p_cols = participant_select("p."),
            ),
            end_credit: format!(
                "UPDATE {s}.session_participants p SET \
                    watch_seconds = {credit}, present_since = NULL \
                 WHERE p.session_id = $1 AND p.present_since IS NOT NULL",
                credit = credited::<Postgres>("$2::timestamptz", "$3::interval"),
            ),
            get_participant: format!(
                "SELECT {} FROM {s}.session_participants p \
                 WHERE p.session_id = $1 AND p.user_id = $2",
                participant_select("p."),
            ),
            watching: format!(
                "SELECT count(*) AS n FROM {s}.session_participants \
                 WHERE session_id = $1 AND {}",
                watching("", "$2::timestamptz", "$3::interval"),
            ),
            watching_many: format!(
                "SELECT (SELECT count(*) FROM {s}.session_participants p \
                         WHERE p.session_id = w.id AND {}) AS n \
                 FROM unnest($1::uuid[]) WITH ORDINALITY AS w(id, i) ORDER BY w.i",
                watching("p.", "$2::timestamptz", "$3::interval"),
            ),
            report: report(s),
            attendance_total: format!(
                "SELECT s.id, (SELECT count(*) FROM {s}.session_participants p \
                               WHERE p.session_id = s.id) AS total \
                 FROM {s}.live_sessions s WHERE s.id = $1"
            ),
            attendance: AttendanceStatements::new::<Postgres>(
                &format!("{s}.session_participants"),
                "$4::timestamptz",
                "$5::interval",
            ),
            overview_totals: format!(
                "SELECT count(*) AS sessions, COALESCE(sum(a.n), 0)::bigint AS records, \
                    COALESCE(sum(a.w), 0)::bigint AS watch \
                 FROM {s}.live_sessions s LEFT JOIN LATERAL ( \
                    SELECT count(*) AS n, sum(p.watch_seconds) AS w \
                    FROM {s}.session_participants p WHERE p.session_id = s.id) a ON true \
                 WHERE s.start_time >= $1 AND s.start_time < $2"
            ),
            popular: PopularStatements::new(|key| popular(s, key)),
            participation_totals: format!(
                "SELECT count(*) AS n, COALESCE(sum(watch_seconds), 0)::bigint AS w \
                 FROM {s}.session_participants WHERE user_id = $1"
            ),
            participation_rows: participation_rows::<Postgres>(
                &format!("{s}."),
                "$3::timestamptz",
                "$4::interval",
            ),
            roster,
            events: EventStatements::new(schema),
            thumbnails: ThumbnailStatements::new::<Postgres>(&format!("{s}.{THUMBNAILS}")),
            webhooks: WebhookStatements::new::<Postgres>(&format!("{s}.")),
            claim: claim(s),
            calendar: CalendarStatements::new::<Postgres>(&format!("{s}."), &session),
            series: SeriesStatements::new::<Postgres>(
                &format!("{s}.live_sessions"),
                &format!("{s}.session_participants"),
                &session,
            ),
        }
    }
}

/// The claim of due webhook deliveries: one statement that picks them in event-id order with
/// `FOR UPDATE SKIP LOCKED` (concurrent claims skip the rows another has locked, and a row
/// claimed and committed meanwhile is re-checked and no longer due), leases them and returns
/// them with their endpoints. Parameters: now, limit, lease until, worker.
///
/// The order rule (only the oldest pending delivery of an endpoint and session is handed out)
/// is applied by selecting those heads first: `DISTINCT ON` over the pending rows in the order
/// index's order, which any plan does in one pass (the index, or a sort). The due heads, oldest
/// event first, at most four times the limit (room for rows other workers have locked), are
/// collected into an array, and only then are deliveries locked: a scan of one table whose
/// rows are matched against that bounded array. There is no join of pending deliveries against
/// pending deliveries, so no plan can turn quadratic. The previous shape, a `NOT EXISTS` of an
/// earlier pending delivery, was planned as a nested-loop anti join re-scanning the pending
/// rows for every candidate whenever the planner believed the table nearly empty: a generic
/// plan cached by the prepared statement while the table was empty, or statistics taken before
/// a burst. With 8 000 pending deliveries one claim then took 8–13 s instead of 20–30 ms (see
/// BENCHMARKS.md, "Sustained webhook delivery rate").
fn claim(s: &str) -> String {
    let due = |q: &str| {
        format!("{q}next_attempt_at <= $1 AND ({q}lease_until IS NULL OR {q}lease_until <= $1)")
    };
    format!(
        "WITH heads AS MATERIALIZED ( \
            SELECT DISTINCT ON (h.endpoint_id, h.session_id) \
                h.id, h.endpoint_id, h.event_id, h.next_attempt_at, h.lease_until \
            FROM {s}.webhook_deliveries h WHERE h.state = 'pending' \
            ORDER BY h.endpoint_id, h.session_id, h.event_id \
         ), due AS ( \
            SELECT d.id FROM {s}.webhook_deliveries d \
            WHERE d.id = ANY(ARRAY( \
                    SELECT h.id FROM heads h JOIN {s}.webhook_endpoints e ON e.id = h.endpoint_id \
                    WHERE e.enabled AND {due_h} \
                    ORDER BY h.event_id LIMIT 4 * LEAST($2, {most}))) \
              AND d.state = 'pending' AND {due_d} \
            ORDER BY d.event_id LIMIT $2 \
            FOR UPDATE OF d SKIP LOCKED \
         ), claimed AS ( \
            UPDATE {s}.webhook_deliveries d SET lease_owner = $4, lease_until = $3 \
            FROM due WHERE d.id = due.id \
            RETURNING d.* \
         ) \
         SELECT {columns} FROM claimed d JOIN {s}.webhook_endpoints e ON e.id = d.endpoint_id \
         ORDER BY d.event_id",
        // Four times the limit, without overflowing for a limit near i64::MAX.
        most = i64::MAX / 4,
        due_h = due("h."),
        due_d = due("d."),
        columns = claimed_select(),
    )
}

/// The join: one statement that reads the session `FOR KEY SHARE`, records a rejoin or
/// inserts the participant and, only on an insert, adds one to a count shard and appends a
/// `participants` event (see docs/ARCHITECTURE.md, "Count shards" and "A join is one
/// statement"). It sends no NOTIFY: a stampede of joins would serialize its commits on the
/// notification queue's lock; tailers pick the counts up at their next poll. Parameters:
/// session, user id, user name, email, time, timeout, shard, seats checked, admin.
///
/// A first join of a session with a capacity needs a seat (`Capacity::admits`). A walk-in
/// (anyone not on the roster) takes one from the session's seat shards (see the module
/// `seats`): `seat` finds a shard whose `seats` are above 0 and whose `epoch` is the session's
/// `seat_epoch`; the insert happens only if it found one; then `tok` subtracts one from that
/// shard's seats and, when it is the joiner's own shard, adds the joiner to its count in the
/// same row update. Without `locked` the shard is the joiner's own, read in the statement's
/// snapshot without a lock, so a walk-in's first join of a capped session is one statement
/// like any other join. Only `counted` reads `tok`, so it runs after the statement's answer,
/// as the uncapped count bump does, and the shard row is held from there to the commit. If
/// another join took that shard's last seat meanwhile (or a session or roster write
/// re-stamped it), `tok`, which re-reads the row once it holds it, finds no seat: `counted`
/// then calls `seat_taken_meanwhile()` (migration 0016), which raises, the statement is
/// undone and the store runs the join again on the locked path. With `locked` (the statement
/// `join_locked`, run in a transaction that holds the session row from `lock_seats` with the
/// seats settled) `seat` is the first shard with a seat, the joiner's own first, its row
/// locked and re-read, and no seat on any shard means the session is full for walk-ins. A
/// roster member's seat is reserved, so it takes none: with "seats checked" true (the locked
/// path only) it is admitted while the shards' sum is below the capacity, counted in this
/// statement's snapshot, which holds every member's first join committed before the lock was
/// granted. A concurrent first join of the same user makes the insert wait for it and insert
/// nothing, so no seat is taken for what becomes a rejoin.
///
/// A `restricted` session admits (`ok`) only when the joiner is an admin ($9) or on its
/// roster, read in this statement; `admitted` tells a refusal (nothing written) from a lost
/// race. An unrestricted session's check is the column alone: no roster read. `on_roster` and
/// the returned session's `reserved_seats` are read only for a session with a capacity.
fn join(s: &str, locked: bool) -> String {
    let t = "$6::interval";
    let at = "$5::timestamptz";
    let p_cols = crate::record::PARTICIPANT_COLUMNS.join(", ");
    let prefix = format!("{s}.");
    let member = |session: &str| on_roster(&prefix, session, "$2");
    let walk_in = format!(
        "ok.capacity IS NOT NULL AND NOT EXISTS (SELECT 1 FROM upd) AND NOT {}",
        member("ok.id")
    );
    let seat = if locked {
        format!(
            "SELECT x.shard FROM {s}.session_participant_counts x, ok, s \
             WHERE x.session_id = ok.id AND x.seats > 0 AND x.epoch = s.seat_epoch AND {walk_in} \
             ORDER BY x.shard = $7 DESC, x.shard LIMIT 1 FOR UPDATE OF x"
        )
    } else {
        format!(
            "SELECT x.shard FROM {s}.session_participant_counts x, ok, s \
             WHERE x.session_id = ok.id AND x.shard = $7 AND x.seats > 0 \
               AND x.epoch = s.seat_epoch AND {walk_in}"
        )
    };
    format!(
        "WITH s AS ( \
            SELECT * FROM {s}.live_sessions WHERE id = $1 FOR KEY SHARE \
         ), ok AS ( \
            SELECT id, capacity, CASE WHEN status = 'live' THEN live_since END AS period \
            FROM s WHERE status IN ('scheduled', 'live') \
              AND (NOT restricted OR $9::boolean OR {member_s}) \
         ), upd AS ( \
            UPDATE {s}.session_participants p SET \
                user_name = $3, email = $4, join_count = p.join_count + 1, \
                last_joined_at = GREATEST(p.last_joined_at, {at}), {touch} \
            FROM ok WHERE p.session_id = ok.id AND p.user_id = $2 \
            RETURNING {upd_cols}, false AS inserted \
         ), seat AS ( \
            {seat} \
         ), ins AS ( \
            INSERT INTO {s}.session_participants ({p_cols}) \
            SELECT ok.id, $2, $3, $4, {at}, {at}, {at}, NULL, \
                   CASE WHEN {at} >= ok.period THEN {at} END, 0, 1, {at}, \
                   CASE WHEN {at} >= ok.period THEN {at} END \
            FROM ok WHERE NOT EXISTS (SELECT 1 FROM upd) \
              AND (ok.capacity IS NULL OR EXISTS (SELECT 1 FROM seat) \
                OR ($8::boolean AND {member_ok} AND ( \
                  SELECT COALESCE(SUM(c.count), 0) FROM {s}.session_participant_counts c \
                  WHERE c.session_id = ok.id) < ok.capacity)) \
            ON CONFLICT (session_id, user_id) DO NOTHING \
            RETURNING {p_cols}, true AS inserted \
         ), tok AS ( \
            UPDATE {s}.session_participant_counts c SET seats = c.seats - 1, \
                count = c.count + CASE WHEN c.shard = $7 THEN 1 ELSE 0 END \
            FROM seat, s, ins WHERE c.session_id = ins.session_id AND c.shard = seat.shard \
              AND c.seats > 0 AND c.epoch = s.seat_epoch \
            RETURNING c.shard \
         ), counted AS ( \
            INSERT INTO {s}.session_participant_counts (session_id, shard, count) \
            SELECT session_id, $7, 1 FROM ins WHERE NOT EXISTS (SELECT 1 FROM tok WHERE tok.shard = $7) \
              AND CASE WHEN EXISTS (SELECT 1 FROM seat) AND NOT EXISTS (SELECT 1 FROM tok) \
                  THEN {s}.seat_taken_meanwhile() ELSE true END \
            ON CONFLICT (session_id, shard) \
            DO UPDATE SET count = session_participant_counts.count + 1 \
         ), logged AS ( \
            INSERT INTO {s}.events (kind, session_id) \
            SELECT 'participants', session_id FROM ins \
         ) \
         SELECT {session}, EXISTS (SELECT 1 FROM ok) AS admitted, \
            CASE WHEN s.capacity IS NULL THEN false ELSE {member_s} END AS on_roster, \
            pp.inserted, {pp_cols} \
         FROM s LEFT JOIN (SELECT * FROM upd UNION ALL SELECT * FROM ins) pp ON true",
        touch = touch_sets::<Postgres>(at, "ok.period", t),
        upd_cols = crate::record::PARTICIPANT_COLUMNS
            .iter()
            .map(|c| format!("p.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        session = session_select(
            "s.",
            &format!("{} + (SELECT count(*) FROM ins)", participants(s)),
            // The snapshot does not see this statement's insert: a member who just joined no
            // longer holds a reserved seat.
            &reserved_seats(
                &prefix,
                "s.",
                &format!(
                    " - (SELECT count(*) FROM ins WHERE {})",
                    on_roster(&prefix, "ins.session_id", "ins.user_id")
                )
            ),
        ),
        member_s = member("s.id"),
        member_ok = member("ok.id"),
        pp_cols = participant_select("pp."),
    )
}

/// The heartbeat: the presence rule on the participant, with the session read
/// `FOR KEY SHARE` as the join does. Parameters: session, user id, time, timeout.
fn heartbeat(s: &str) -> String {
    format!(
        "WITH s AS ( \
            SELECT id, CASE WHEN status = 'live' THEN live_since END AS period \
            FROM {s}.live_sessions WHERE id = $1 FOR KEY SHARE \
         ), upd AS ( \
            UPDATE {s}.session_participants p SET {touch} \
            FROM s WHERE p.session_id = s.id AND p.user_id = $2 \
            RETURNING {p_cols} \
         ) \
         SELECT s.id AS found, {u_cols} FROM s LEFT JOIN upd u ON true",
        touch = touch_sets::<Postgres>("$3::timestamptz", "s.period", "$4::interval"),
        p_cols = crate::record::PARTICIPANT_COLUMNS
            .iter()
            .map(|c| format!("p.{c} AS {c}"))
            .collect::<Vec<_>>()
            .join(", "),
        u_cols = participant_select("u."),
    )
}

/// A session's report. Parameters: session, now, timeout, live seconds, threshold percent,
/// late cutoff.
fn report(s: &str) -> String {
    format!(
        "SELECT s.id, COALESCE(a.n, 0) AS n, COALESCE(a.watching, 0) AS watching, \
            COALESCE(a.total, 0)::bigint AS total, COALESCE(a.max, 0)::bigint AS max, \
            COALESCE(a.attended, 0) AS attended, a.s_present, a.s_partial, a.s_lobby_only, \
            a.s_late, {roster} \
         FROM {s}.live_sessions s LEFT JOIN LATERAL ( \
            SELECT count(*) AS n, \
                count(*) FILTER (WHERE {watching}) AS watching, \
                sum(w.ws) AS total, max(w.ws) AS max, \
                count(*) FILTER (WHERE $4::bigint > 0 \
                                   AND w.ws * 100 >= $4::bigint * $5::bigint) AS attended, \
                {statuses} \
            FROM (SELECT p.present_since, p.last_seen, p.first_present_at, {ws} AS ws \
                  FROM {s}.session_participants p WHERE p.session_id = s.id) w \
         ) a ON true \
         WHERE s.id = $1",
        watching = watching("w.", "$2::timestamptz", "$3::interval"),
        ws = credited::<Postgres>("$2::timestamptz", "$3::interval"),
        statuses = status_counts("w.", "$4::bigint", "$5::bigint", "$6::timestamptz"),
        roster = roster_counts(&format!("{s}."), "s.id"),
    )
}

/// The list statement for the given filters; parameters are numbered in the order rank
/// filter, search pattern, cursor (rank, time key, id), limit.
///
/// A search through the index adds the condition on the joined text that the trigram index
/// serves ([`text_matches`]); without the index, the per-column condition alone.
fn list(s: &str, session: &str, status: bool, search: Search, after: bool) -> String {
    let mut sql = format!("SELECT {session} FROM {s}.live_sessions s WHERE true");
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if status {
        sql += &format!(" AND s.list_rank = ${}", next());
    }
    if search != Search::None {
        let pattern = format!("${}", next());
        let columns = matches("s.", "ILIKE", &pattern);
        if search == Search::Indexed {
            // The joined text's condition carries the estimate (ANALYZE keeps statistics of
            // the indexed expression); the per-column one, wrapped so that the planner does
            // not multiply its own guess in, only decides. Multiplied, the two made a term of
            // 1 in 45 sessions look like 1 in 1000, and the bitmap plan was chosen over the
            // list walk that finds its first page sooner.
            sql += &format!(
                " AND {} AND coalesce({columns}, false)",
                text_matches("s.", &pattern)
            );
        } else {
            sql += &format!(" AND {columns}");
        }
    }
    if after {
        let (a, b, c) = (next(), next(), next());
        sql += &format!(" AND (s.list_rank, s.list_time_key, s.id) > (${a}, ${b}, ${c})");
    }
    sql += &format!(
        " ORDER BY s.list_rank, s.list_time_key, s.id LIMIT ${}",
        next()
    );
    sql
}

/// Popular sessions of a start-time range, ranked by the column `key`. Parameters: from,
/// to, how many.
fn popular(s: &str, key: &str) -> String {
    format!(
        "SELECT s.id, s.title, s.status, s.start_time, {participants} AS participants, \
            (SELECT COALESCE(SUM(p.watch_seconds), 0)::bigint FROM {s}.session_participants p \
              WHERE p.session_id = s.id) AS watch \
         FROM {s}.live_sessions s \
         WHERE s.start_time >= $1 AND s.start_time < $2 \
         ORDER BY {key} DESC, s.id ASC LIMIT $3",
        participants = participants(s),
    )
}
