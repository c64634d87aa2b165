//! Rosters in SQL, shared by both backends: the statements of the
//! [`RosterStore`](livesessions_core::roster::RosterStore) (built per database and table
//! prefix), the attendance status rule as SQL ([`status_rank`], [`late`]), which the roster
//! view, the session report and the participation history share, and the operations.
//!
//! Roster writes (adds and removes) take the session row first (`FOR NO KEY UPDATE` on
//! Postgres, which joins and heartbeats holding it `FOR KEY SHARE` do not wait for; SQLite's
//! write transaction holds the only write lock): they run one at a time per session, so that
//! an upload counts its new members exactly, as the roster grew in its own transaction. Before
//! the commit they run the store's `after_write` statements (on Postgres: the session's
//! `seat_epoch` moved and a capped session's seat shards spread again).

use std::marker::PhantomData;

use livesessions_core::analytics::SortOrder;
use livesessions_core::roster::{
    AttendanceStatus, RosterMember, RosterPage, RosterQuery, RosterRow, RosterSort, StatusCounts,
};
use livesessions_core::{Email, Error, Result, SessionId, UserId, UserName};
use sqlx::{Decode, Encode, Executor, IntoArguments, Transaction, Type};
use uuid::Uuid;

use crate::dialect::{parameters, time, Dialect};
use crate::errors::map_error;
use crate::presence::credited;
use crate::record::{corrupt, participant_from_row, participant_select, to_u64};

/// The roster table (without prefix).
pub(crate) const TABLE: &str = "roster_members";

/// The largest offset the view is given: any larger one returns the same empty page, and the
/// view adds the limit to it (sorting by name) without overflowing a 64-bit integer.
const MAX_OFFSET: i64 = i64::MAX / 2;

/// Members written by one statement of an upload: 5 parameters each plus the session, far
/// below either database's limit on parameters (65 535 on Postgres, 32 766 on SQLite).
const CHUNK: usize = 1000;

/// The attendance status rank ([`AttendanceStatus::rank`]) as SQL, mirroring
/// [`StatusRule::status`](livesessions_core::roster::StatusRule::status): `participant` is
/// NULL without a participant record (absent), `first_present` the record's
/// `first_present_at` (NULL: lobby only), `seconds` its watch seconds as of now, `live` the
/// live seconds and `threshold` the percent (present when
/// [`attended`](livesessions_core::analytics::attended), else partial). A `BIGINT`.
pub(crate) fn status_rank(
    participant: &str,
    first_present: &str,
    seconds: &str,
    live: &str,
    threshold: &str,
) -> String {
    let rank = |status: AttendanceStatus| status.rank();
    format!(
        "CAST(CASE WHEN {participant} IS NULL THEN {absent} \
              WHEN {first_present} IS NULL THEN {lobby} \
              WHEN ({live}) > 0 AND ({seconds}) * 100 >= ({live}) * ({threshold}) \
              THEN {present} \
              ELSE {partial} END AS BIGINT)",
        absent = rank(AttendanceStatus::Absent),
        lobby = rank(AttendanceStatus::LobbyOnly),
        present = rank(AttendanceStatus::Present),
        partial = rank(AttendanceStatus::Partial),
    )
}

/// Whether a first presence at `first_present` is late for the cutoff `cutoff` (either may be
/// NULL: then not late), as a boolean.
pub(crate) fn late(first_present: &str, cutoff: &str) -> String {
    format!("COALESCE({first_present} > {cutoff}, false)")
}

/// The roster statements of one database.
#[derive(Debug)]
pub(crate) struct RosterStatements {
    /// Takes the session row for a roster write; no row when the session does not exist
    /// (parameter: session).
    pub lock: String,
    /// Run in order, with the session id, after a roster write and before its commit
    /// (PostgreSQL moves the session's `seat_epoch` and spreads a capped session's seat shards
    /// again).
    pub after_write: Vec<String>,
    /// The number of members, `n` (parameter: session).
    pub count: String,
    /// Removes a member (parameters: session, user).
    pub remove: String,
    /// One member (parameters: session, user).
    pub member: String,
    /// The roster view, per sort key and order ([`RosterStatements::view`]).
    views: Vec<String>,
    /// The roster table, with its prefix.
    table: String,
}

const SORTS: [RosterSort; 4] = [
    RosterSort::Name,
    RosterSort::Status,
    RosterSort::WatchTime,
    RosterSort::JoinTime,
];
const ORDERS: [SortOrder; 2] = [SortOrder::Asc, SortOrder::Desc];

impl RosterStatements {
    /// The statements on the tables named with `prefix` (a schema and a dot, or empty).
    /// `lock` ends the statement that takes the session row (`FOR NO KEY UPDATE`, or empty);
    /// `after_write` as [`RosterStatements::after_write`]; `now` and `timeout` are the view's
    /// parameters 2 and 3 as the dialect's SQL wants them.
    pub(crate) fn new<D: Dialect>(
        prefix: &str,
        lock: &str,
        after_write: &[String],
        now: &str,
        timeout: &str,
    ) -> Self {
        let p = D::PARAMETER;
        let t = format!("{prefix}{TABLE}");
        RosterStatements {
            lock: format!("SELECT 1 AS found FROM {prefix}live_sessions WHERE id = {p}1{lock}"),
            after_write: after_write.to_vec(),
            count: format!("SELECT count(*) AS n FROM {t} WHERE session_id = {p}1"),
            remove: format!("DELETE FROM {t} WHERE session_id = {p}1 AND user_id = {p}2"),
            member: format!(
                "SELECT user_id, user_name, email, registered, added_at FROM {t} \
                 WHERE session_id = {p}1 AND user_id = {p}2"
            ),
            views: SORTS
                .iter()
                .flat_map(|&sort| ORDERS.map(|order| view::<D>(prefix, sort, order, now, timeout)))
                .collect(),
            table: t,
        }
    }

    /// The view sorted by `sort` in `order`.
    pub(crate) fn view(&self, sort: RosterSort, order: SortOrder) -> &str {
        let sort = SORTS.iter().position(|s| *s == sort).unwrap_or(0);
        let order = ORDERS.iter().position(|o| *o == order).unwrap_or(0);
        &self.views[sort * ORDERS.len() + order]
    }

    /// The upsert of `rows` members (parameters: session, then user id, name, email,
    /// registered and added at of each): a new member is inserted, one already on the roster
    /// keeps `registered` and `added_at` and gets the new name and email.
    fn upsert<D: Dialect>(&self, rows: usize) -> String {
        let values = (0..rows)
            .map(|i| format!("({}1, {})", D::PARAMETER, parameters::<D>(2 + i * 5, 5)))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} (session_id, user_id, user_name, email, registered, added_at) \
             VALUES {values} \
             ON CONFLICT (session_id, user_id) DO UPDATE \
             SET user_name = excluded.user_name, email = excluded.email",
            self.table
        )
    }
}

/// The roster view (parameters: session, now, timeout, live seconds, threshold percent, late
/// cutoff or NULL, status rank or NULL, offset, limit). One statement:
///
/// - `scored`: the session's members (their keys only, by the roster's key) fully joined with
///   its participants (by the participants' key), one narrow row per person: the user id, the
///   status, the late flag and the sort key (sorting by name, only a walk-in's lower-cased
///   name; by watch time, the watch seconds as of now; by join time, the first join), each
///   computed once. A full join is only ever a hash or merge join: whatever the planner
///   believes of a session's size (a generic plan, or statistics taken before a class filled),
///   it never loops over one side per row of the other;
/// - `totals`: the counts over all of them;
/// - the page's keys: sorted by name, the first `offset + limit` members in the order of the
///   roster's name index (`roster_members_name_idx`: no sort, and no name lowered but those
///   read; a status filter reads each one's participant by key) merged with the first
///   `offset + limit` walk-ins of `scored`; sorted otherwise, `scored` itself; filtered,
///   sorted and bounded;
/// - the page's rows: each key's member and participant read back by the whole key taken from
///   the row (never from the parameter: so the only plans are a lookup per page row, or a hash
///   of the table, and never a scan of the session's participants repeated per page row), and
///   its status, watch seconds and late flag computed from them as in `scored`.
///
/// The totals come back on every row, and on one row of NULL page columns when the page is
/// empty.
fn view<D: Dialect>(
    prefix: &str,
    sort: RosterSort,
    order: SortOrder,
    now: &str,
    timeout: &str,
) -> String {
    let p = D::PARAMETER;
    let members = format!("{prefix}{TABLE}");
    let participants = format!("{prefix}session_participants");
    // Watch seconds as of now of the participant row `p`.
    let ws = credited::<D>(now, timeout);
    let (live, threshold, cutoff) = (format!("{p}4"), format!("{p}5"), format!("{p}6"));
    let rank = |participant: &str, first_present: &str, seconds: &str| {
        status_rank(participant, first_present, seconds, &live, &threshold)
    };
    let scored_rank = rank("a.user_id", "a.first_present_at", "COALESCE(a.ws, 0)");
    let scored_late = late("a.first_present_at", &cutoff);
    let ws_now = format!("COALESCE({ws}, 0)");
    let row_rank = rank("p.user_id", "p.first_present_at", &ws_now);
    let row_late = late("p.first_present_at", &cutoff);
    let byte = D::BYTE_ORDER;
    // Never joined: last ascending, first descending (the reference order).
    let dir = match order {
        SortOrder::Asc => "ASC NULLS LAST",
        SortOrder::Desc => "DESC NULLS FIRST",
    };
    let filter = format!("({p}7 IS NULL OR status_rank = {p}7)");
    let (key_column, keys) = match sort {
        RosterSort::Name => {
            // A member's status, read only under a status filter: their participant's, else
            // absent.
            let member_rank = format!(
                "COALESCE((SELECT {row_rank} FROM {participants} p \
                  WHERE p.session_id = m.session_id AND p.user_id = m.user_id), {absent})",
                absent = AttendanceStatus::Absent.rank(),
            );
            (
                "CASE WHEN m.user_id IS NULL THEN lower(a.user_name) END AS walk_in_key, ",
                format!(
                    "SELECT * FROM ( \
                        SELECT m.session_id, m.user_id, lower(m.user_name) AS sort_key \
                        FROM {members} m \
                        WHERE m.session_id = {p}1 AND ({p}7 IS NULL OR {member_rank} = {p}7) \
                        ORDER BY lower(m.user_name){byte} {dir}, m.user_id{byte} ASC \
                        LIMIT {p}8 + {p}9 \
                     ) first_members \
                     UNION ALL \
                     SELECT * FROM ( \
                        SELECT session_id, user_id, walk_in_key AS sort_key FROM scored \
                        WHERE NOT is_member AND {filter} \
                        ORDER BY walk_in_key{byte} {dir}, user_id{byte} ASC LIMIT {p}8 + {p}9 \
                     ) first_walk_ins"
                ),
            )
        }
        RosterSort::Status | RosterSort::WatchTime | RosterSort::JoinTime => {
            let (key_column, column) = match sort {
                RosterSort::Status => ("", "status_rank"),
                RosterSort::WatchTime => ("COALESCE(a.ws, 0) AS ws_now, ", "ws_now"),
                _ => ("a.first_joined_at AS first_joined_at, ", "first_joined_at"),
            };
            (
                key_column,
                format!(
                    "SELECT session_id, user_id, {column} AS sort_key FROM scored WHERE {filter}"
                ),
            )
        }
    };
    // Names compare byte by byte; the other keys are numbers and times.
    let key_byte = if sort == RosterSort::Name { byte } else { "" };
    let order_by = format!("sort_key{key_byte} {dir}, user_id{byte} ASC");
    format!(
        "WITH members AS ( \
            SELECT session_id, user_id FROM {members} WHERE session_id = {p}1 \
         ), attendees AS ( \
            SELECT p.session_id, p.user_id, p.user_name, p.first_joined_at, \
                p.first_present_at, {ws} AS ws \
            FROM {participants} p WHERE p.session_id = {p}1 \
         ), scored AS ( \
            SELECT COALESCE(m.session_id, a.session_id) AS session_id, \
                COALESCE(m.user_id, a.user_id) AS user_id, {key_column}\
                m.user_id IS NOT NULL AS is_member, {scored_rank} AS status_rank, \
                {scored_late} AS late \
            FROM members m FULL JOIN attendees a ON a.user_id = m.user_id \
         ), totals AS ( \
            SELECT EXISTS (SELECT 1 FROM {prefix}live_sessions WHERE id = {p}1) AS found, \
                count(*) FILTER (WHERE status_rank = 0) AS c_present, \
                count(*) FILTER (WHERE status_rank = 1) AS c_partial, \
                count(*) FILTER (WHERE status_rank = 2) AS c_lobby_only, \
                count(*) FILTER (WHERE status_rank = 3) AS c_absent, \
                count(*) FILTER (WHERE late) AS c_late, \
                count(*) FILTER (WHERE is_member) AS c_members, \
                count(*) FILTER (WHERE {filter}) AS c_total \
            FROM scored \
         ) \
         SELECT totals.*, page.* FROM totals LEFT JOIN ( \
            SELECT s.user_id, s.sort_key, mm.user_id IS NOT NULL AS is_member, \
                {ws_now} AS ws_now, {row_rank} AS status_rank, {row_late} AS late, \
                COALESCE(mm.user_name, p.user_name) AS user_name, \
                COALESCE(mm.email, p.email) AS email, \
                mm.registered AS m_registered, mm.added_at AS m_added_at, {p_cols} \
            FROM (SELECT * FROM ({keys}) k ORDER BY {order_by} LIMIT {p}9 OFFSET {p}8) s \
            LEFT JOIN {members} mm \
              ON mm.session_id = s.session_id AND mm.user_id = s.user_id \
            LEFT JOIN {participants} p \
              ON p.session_id = s.session_id AND p.user_id = s.user_id \
         ) page ON true \
         ORDER BY {order_by}",
        p_cols = participant_select("p."),
    )
}

/// The shared roster operations on the database `D`.
pub(crate) struct Roster<D>(PhantomData<D>);

impl<D> Roster<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<Uuid>: Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> String: Decode<'q, D> + Type<D>,
    for<'q> Option<String>: Decode<'q, D> + Type<D>,
    for<'q> D::Time: Encode<'q, D> + Type<D>,
    for<'q> Option<D::Time>: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<bool>: Decode<'q, D> + Type<D>,
{
    /// Takes the session row in `tx` ([`RosterStatements::lock`]); `false` when the session
    /// does not exist.
    async fn lock(
        tx: &mut Transaction<'static, D>,
        sql: &RosterStatements,
        session: SessionId,
    ) -> Result<bool> {
        let row = sqlx::query(&sql.lock)
            .bind(*session.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_error::<D>)?;
        Ok(row.is_some())
    }

    /// Runs [`RosterStatements::after_write`] in `tx`.
    async fn after_write(
        tx: &mut Transaction<'static, D>,
        sql: &RosterStatements,
        session: SessionId,
    ) -> Result<()> {
        for statement in &sql.after_write {
            sqlx::query(statement)
                .bind(*session.as_uuid())
                .execute(&mut **tx)
                .await
                .map_err(map_error::<D>)?;
        }
        Ok(())
    }

    async fn count(
        tx: &mut Transaction<'static, D>,
        sql: &RosterStatements,
        session: SessionId,
    ) -> Result<u64> {
        let row = sqlx::query(&sql.count)
            .bind(*session.as_uuid())
            .fetch_one(&mut **tx)
            .await
            .map_err(map_error::<D>)?;
        to_u64(D::get(&row, "n")?, "members")
    }

    /// [`RosterStore::add_roster_members`](livesessions_core::roster::RosterStore::add_roster_members)
    /// in `tx` (a write transaction the caller began): the session row taken, the members
    /// upserted [`CHUNK`] at a time, counted before and after, then the commit. On any error
    /// nothing is written (the transaction is dropped, so rolled back).
    pub(crate) async fn add(
        mut tx: Transaction<'static, D>,
        sql: &RosterStatements,
        session: SessionId,
        members: &[RosterMember],
    ) -> Result<u64> {
        if !Self::lock(&mut tx, sql, session).await? {
            return Err(Error::session_not_found(session));
        }
        let before = Self::count(&mut tx, sql, session).await?;
        for chunk in members.chunks(CHUNK) {
            let upsert = sql.upsert::<D>(chunk.len());
            let mut statement = sqlx::query(&upsert).bind(*session.as_uuid());
            for member in chunk {
                statement = statement
                    .bind(member.user_id.as_str())
                    .bind(member.user_name.as_str())
                    .bind(member.email.as_str())
                    .bind(member.registered)
                    .bind(D::store_time(member.added_at));
            }
            statement.execute(&mut *tx).await.map_err(map_error::<D>)?;
        }
        let after = Self::count(&mut tx, sql, session).await?;
        Self::after_write(&mut tx, sql, session).await?;
        tx.commit().await.map_err(map_error::<D>)?;
        Ok(after.saturating_sub(before))
    }

    /// [`RosterStore::remove_roster_member`](livesessions_core::roster::RosterStore::remove_roster_member)
    /// in `tx`, the session row taken first.
    pub(crate) async fn remove(
        mut tx: Transaction<'static, D>,
        sql: &RosterStatements,
        session: SessionId,
        user: &UserId,
    ) -> Result<bool> {
        if !Self::lock(&mut tx, sql, session).await? {
            return Ok(false);
        }
        let done = sqlx::query(&sql.remove)
            .bind(*session.as_uuid())
            .bind(user.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_error::<D>)?;
        Self::after_write(&mut tx, sql, session).await?;
        tx.commit().await.map_err(map_error::<D>)?;
        Ok(D::rows_affected(&done) > 0)
    }

    /// [`RosterStore::roster_member`](livesessions_core::roster::RosterStore::roster_member).
    pub(crate) async fn member(
        executor: impl Executor<'_, Database = D>,
        sql: &RosterStatements,
        session: SessionId,
        user: &UserId,
    ) -> Result<Option<RosterMember>> {
        let row = sqlx::query(&sql.member)
            .bind(*session.as_uuid())
            .bind(user.as_str())
            .fetch_optional(executor)
            .await
            .map_err(map_error::<D>)?;
        row.map(|row| {
            Ok(RosterMember {
                user_id: user_id(D::get(&row, "user_id")?)?,
                user_name: UserName::parse(&D::get::<String>(&row, "user_name")?)
                    .map_err(corrupt)?,
                email: Email::parse(&D::get::<String>(&row, "email")?).map_err(corrupt)?,
                registered: D::get(&row, "registered")?,
                added_at: time::<D>(&row, "added_at")?,
            })
        })
        .transpose()
    }

    /// [`RosterStore::roster`](livesessions_core::roster::RosterStore::roster): one statement.
    pub(crate) async fn page(
        executor: impl Executor<'_, Database = D>,
        sql: &RosterStatements,
        query: &RosterQuery,
    ) -> Result<RosterPage> {
        let rule = &query.rule;
        let rows = sqlx::query(sql.view(query.sort, query.order))
            .bind(*query.session_id.as_uuid())
            .bind(D::store_time(rule.now))
            .bind(D::store_timeout(rule.timeout))
            .bind(rule.live_seconds)
            .bind(i64::from(rule.threshold_percent))
            .bind(rule.late_after.map(D::store_time))
            .bind(query.status.map(|s| i64::from(s.rank())))
            .bind(i64::try_from(query.offset).map_or(MAX_OFFSET, |o| o.min(MAX_OFFSET)))
            .bind(i64::from(query.limit))
            .fetch_all(executor)
            .await
            .map_err(map_error::<D>)?;
        let Some(first) = rows.first() else {
            return Err(corrupt("the roster view returned no row"));
        };
        if !D::get::<bool>(first, "found")? {
            return Err(Error::session_not_found(query.session_id));
        }
        let count = |column: &str| -> Result<u64> { to_u64(D::get(first, column)?, column) };
        let counts = StatusCounts {
            present: count("c_present")?,
            partial: count("c_partial")?,
            lobby_only: count("c_lobby_only")?,
            absent: count("c_absent")?,
            late: count("c_late")?,
        };
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(user) = D::get::<Option<String>>(row, "user_id")? else {
                continue;
            };
            page.push(roster_row::<D>(row, user)?);
        }
        Ok(RosterPage {
            rows: page,
            total: count("c_total")?,
            members: count("c_members")?,
            counts,
        })
    }
}

/// A stored user id.
fn user_id(text: String) -> Result<UserId> {
    UserId::parse_field(&text, "user_id").map_err(corrupt)
}

/// A row of the roster view whose user is `user`.
fn roster_row<D: Dialect>(row: &D::Row, user: String) -> Result<RosterRow>
where
    for<'r> Uuid: Decode<'r, D> + Type<D>,
    for<'r> Option<Uuid>: Decode<'r, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
    for<'r> bool: Decode<'r, D> + Type<D>,
    for<'r> Option<D::Time>: Decode<'r, D> + Type<D>,
{
    let user_id = user_id(user)?;
    let user_name = UserName::parse(&D::get::<String>(row, "user_name")?).map_err(corrupt)?;
    let email = Email::parse(&D::get::<String>(row, "email")?).map_err(corrupt)?;
    let member = if D::get::<bool>(row, "is_member")? {
        Some(RosterMember {
            user_id: user_id.clone(),
            user_name: user_name.clone(),
            email: email.clone(),
            registered: D::get(row, "m_registered")?,
            added_at: time::<D>(row, "m_added_at")?,
        })
    } else {
        None
    };
    let rank: i64 = D::get(row, "status_rank")?;
    Ok(RosterRow {
        user_id,
        user_name,
        email,
        member,
        participant: participant_from_row::<D>(row)?,
        watch_seconds_now: D::get(row, "ws_now")?,
        status: AttendanceStatus::from_rank(rank)
            .ok_or_else(|| corrupt(format_args!("unknown status rank {rank}")))?,
        late: D::get(row, "late")?,
    })
}
