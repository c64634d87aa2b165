//! The PostgreSQL store.
//!
//! ```no_run
//! # async fn example() -> livesessions_core::Result<()> {
//! use livesessions_sql::postgres::PostgresStore;
//! use livesessions_sql::sqlx::postgres::PgPoolOptions;
//!
//! // From a URL (a pool of 10 connections, 2 s acquire timeout) ...
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1/app").await?;
//! // ... or from a pool the application already has, in a schema of its own.
//! let pool = PgPoolOptions::new()
//!     .max_connections(32)
//!     .connect_lazy("postgres://postgres@127.0.0.1/app")
//!     .map_err(livesessions_sql::postgres::map_error)?;
//! let store = PostgresStore::from_pool(pool).with_schema("live")?;
//! store.migrate().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # How a join counts
//!
//! A join is one statement (a data-modifying CTE) and so one round trip: it reads the session
//! row `FOR KEY SHARE`, the lock the foreign-key checks of its inserts take anyway; ending and
//! deleting a session take `FOR UPDATE`, which conflicts with it, so they wait for joins in
//! flight, and a join that waited re-reads the row and sees the new status. It then updates the
//! participant on a rejoin or inserts it on a first join, and, only when it inserted, adds one to
//! the session's count. The count lives in `session_participant_counts`, 64 rows per session
//! (`COUNT_SHARDS`) chosen by a hash of the user id and summed on read, so concurrent first joins
//! of one session spread over 64 rows instead of queueing on one. The count stays exact: it
//! changes in the same statement as the insert.

use livesessions_core::Presence;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use livesessions_core::analytics::{
    AttendancePage, AttendanceQuery, AttendanceRow, AttendanceSort, Overview, OverviewQuery,
    Participation, ParticipationQuery, ParticipationRow, PopularBy, PopularSession, ReportQuery,
    SessionReport, SortOrder,
};
use livesessions_core::{
    AnalyticsStore, AttendanceStore, Conflict, Cursor, Error, HealthCheck, JoinOutcome,
    JoinRequest, ListQuery, LiveSession, Page, Participant, Result, SessionId, SessionStore,
    StatusFilter, Title, UserId,
};
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Connection as _, Executor as _, Postgres, Row as _};
use uuid::Uuid;

use crate::common::{
    contains_pattern, parse_status, shard_of, thumbnail_columns, to_i64, to_u64, CorruptRow,
    EmbeddedMigrations, ParticipantRecord, SessionRecord,
};

const MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations(&[
    (
        1,
        "live sessions",
        include_str!("../migrations/postgres/0001_live_sessions.sql"),
    ),
    (
        2,
        "more count shards",
        include_str!("../migrations/postgres/0002_more_count_shards.sql"),
    ),
]);

/// The schema used when none is configured.
pub const DEFAULT_SCHEMA: &str = "public";

/// How often a join is retried when a concurrent first join of the same user won the insert
/// after this join's snapshot was taken (the retry sees it and records a rejoin).
const JOIN_ATTEMPTS: usize = 3;

/// A store on PostgreSQL. Clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: Arc<str>,
    sql: Arc<Statements>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// A store on `pool`, in the schema [`DEFAULT_SCHEMA`] (`public`).
    pub fn from_pool(pool: PgPool) -> Self {
        PostgresStore {
            pool,
            schema: Arc::from(DEFAULT_SCHEMA),
            sql: Arc::new(Statements::new(&quote_ident(DEFAULT_SCHEMA))),
        }
    }

    /// Connects to `url` with a pool of 10 connections whose acquire timeout is 2 seconds
    /// (a database outage then fails requests with [`Error::Unavailable`] quickly).
    /// For other settings build the pool yourself and use [`PostgresStore::from_pool`].
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await
            .map_err(map_error)?;
        Ok(Self::from_pool(pool))
    }

    /// The same store in another schema. The name must be a plain lowercase SQL identifier
    /// (`[a-z_][a-z0-9_]*`, at most 63 bytes, not starting with `pg_`); anything else is a
    /// validation error on the field `schema`.
    pub fn with_schema(self, schema: &str) -> Result<Self> {
        validate_schema_name(schema)?;
        Ok(PostgresStore {
            pool: self.pool,
            schema: Arc::from(schema),
            sql: Arc::new(Statements::new(&quote_ident(schema))),
        })
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema the tables live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Creates the schema if needed and applies the embedded migrations
    /// (`migrations/postgres`) inside it. The migrations' bookkeeping table
    /// (`_sqlx_migrations`) lives in the same schema, so several schemas in one database
    /// migrate independently. Safe to run concurrently and repeatedly.
    pub async fn migrate(&self) -> Result<()> {
        // A connection of its own: its search_path is changed for the migrations and must not
        // go back into the pool.
        let mut conn = self.pool.acquire().await.map_err(map_error)?.detach();
        let result = self.migrate_on(&mut conn).await;
        // Closing politely can only fail if the connection is already gone.
        let _ = conn.close().await;
        result
    }

    async fn migrate_on(&self, conn: &mut PgConnection) -> Result<()> {
        let schema = quote_ident(&self.schema);
        // Concurrent `CREATE SCHEMA IF NOT EXISTS` of one name can still collide on the
        // catalog's unique index; the schema then exists, which is all we need.
        if let Err(error) = conn
            .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
            .await
        {
            let exists = error
                .as_database_error()
                .is_some_and(|e| e.is_unique_violation());
            if !exists {
                return Err(map_error(error));
            }
        }
        conn.execute(format!("SET search_path TO {schema}").as_str())
            .await
            .map_err(map_error)?;
        let migrator = sqlx::migrate::Migrator::new(MIGRATIONS)
            .await
            .map_err(map_migrate_error)?;
        migrator.run(&mut *conn).await.map_err(map_migrate_error)
    }
}

/// Checks a schema name (see [`PostgresStore::with_schema`]).
pub fn validate_schema_name(schema: &str) -> Result<()> {
    let mut bytes = schema.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if first_ok && rest_ok && schema.len() <= 63 && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(Error::invalid(
            "schema",
            "invalid_schema",
            "must be a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes, not pg_*)",
        ))
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Maps a driver error onto the domain's error: a unique violation is
/// `Conflict(AlreadyExists)`; a lost or refused connection, a pool timeout, a server shutting
/// down or out of connections (SQLSTATE classes `08`, `57P01`–`57P03`, `53300`) and
/// serialization failures or deadlocks (`40001`, `40P01`: retrying works) are
/// [`Error::Unavailable`]; anything else is [`Error::Storage`] with the driver's error kept as
/// the source.
pub fn map_error(error: sqlx::Error) -> Error {
    let error = match crate::common::map_common(error) {
        Ok(mapped) => return mapped,
        Err(database) => database,
    };
    let Some(db) = error.as_database_error() else {
        return Error::storage(error);
    };
    if db.is_unique_violation() {
        let entity = entity_of_constraint(db.constraint());
        let id = db.constraint().unwrap_or_default().to_owned();
        return Conflict::AlreadyExists { entity, id }.into();
    }
    let code = db.code();
    if code.as_deref().is_some_and(is_transient_sqlstate) {
        return Error::unavailable(error);
    }
    Error::storage(error)
}

fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
        )
}

fn entity_of_constraint(constraint: Option<&str>) -> &'static str {
    match constraint {
        Some(c) if c.starts_with("live_sessions") => "session",
        Some(c) if c.starts_with("session_participants") => "participant",
        _ => "record",
    }
}

fn map_migrate_error(error: sqlx::migrate::MigrateError) -> Error {
    match error {
        sqlx::migrate::MigrateError::Execute(e) => map_error(e),
        other => Error::storage(other),
    }
}

/// The seconds of an interval, floored, never negative. `date_part` gives a double, which is
/// exact here (whole microseconds divided by 10^6, far below 2^53) and much cheaper per row
/// than `EXTRACT`'s numeric.
fn secs(interval: &str) -> String {
    format!("GREATEST(0, FLOOR(date_part('epoch', {interval})))::bigint")
}

/// `SET` clauses of the presence rule ([`Participant::touch`]) on the participant `p` at `at`,
/// `period` (the start of the session's current live period, NULL when it is not live) and
/// timeout `t` being SQL expressions. Every right-hand side reads the old row. An `at` older
/// than `last_seen` or the last leave changes nothing; one before the period's start opens
/// nothing.
fn touch_sets(at: &str, period: &str, t: &str) -> String {
    let gap = format!("{at} - p.last_seen > {t}");
    let ignored = format!("({at} < p.last_seen OR {at} < COALESCE(p.left_at, '-infinity'))");
    let opens = format!("(NOT {ignored} AND {at} >= COALESCE({period}, 'infinity'))");
    format!(
        "watch_seconds = p.watch_seconds + CASE \
            WHEN {opens} AND p.present_since IS NOT NULL AND {gap} \
            THEN {credit} ELSE 0 END, \
         present_since = CASE WHEN {opens} THEN CASE \
            WHEN p.present_since IS NULL THEN {at} \
            WHEN {gap} THEN {at} \
            ELSE p.present_since END \
            ELSE p.present_since END, \
         last_seen = CASE WHEN {ignored} THEN p.last_seen ELSE {at} END",
        credit = secs(&format!("p.last_seen + {t} - p.present_since")),
    )
}

/// Watch seconds of `p` if its open interval were credited at `c` ([`Participant::credit`]).
fn credited(c: &str, t: &str) -> String {
    format!(
        "p.watch_seconds + CASE WHEN p.present_since IS NULL THEN 0 ELSE {} END",
        secs(&format!("LEAST({c}, p.last_seen + {t}) - p.present_since"))
    )
}

const SESSION_COLUMNS: &str = "id, title, description, instructor, video_url, thumbnail_url, \
     thumbnail_key, start_time, timezone, status, started_at, ended_at, live_since, live_seconds, \
     created_at, updated_at, version, list_rank, list_time_key";

const PARTICIPANT_COLUMNS: [&str; 12] = [
    "session_id",
    "user_id",
    "user_name",
    "email",
    "first_joined_at",
    "last_joined_at",
    "last_seen",
    "left_at",
    "present_since",
    "watch_seconds",
    "join_count",
    "created_at",
];

fn columns_of(alias: &str, columns: &[&str], prefix: &str) -> String {
    columns
        .iter()
        .map(|c| format!("{alias}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn participant_columns(alias: &str, prefix: &str) -> String {
    columns_of(alias, &PARTICIPANT_COLUMNS, prefix)
}

/// Every statement, with the schema filled in.
#[derive(Debug)]
struct Statements {
    schema: String,
    /// `s.<columns>, <participants>` for a session aliased `s`.
    session_select: String,
    insert_session: String,
    get_session: String,
    update_session: String,
    version_of: String,
    lock_session: String,
    delete_session: String,
    join: String,
    heartbeat: String,
    leave: String,
    end_credit: String,
    get_participant: String,
    watching: String,
    watching_many: String,
    report: String,
    attendance_total: String,
    overview_totals: String,
    participation_totals: String,
    participation_rows: String,
}

impl Statements {
    fn new(schema: &str) -> Self {
        let s = schema;
        let participants = format!(
            "(SELECT COALESCE(SUM(c.count), 0)::bigint FROM {s}.session_participant_counts c \
              WHERE c.session_id = s.id) AS participants"
        );
        let session_cols = SESSION_COLUMNS
            .split(", ")
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let session_select = format!("{session_cols}, {participants}");
        let placeholders = (1..=19)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let assignments = SESSION_COLUMNS
            .split(", ")
            .enumerate()
            .skip(1)
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let t = "$6::interval";
        let at = "$5::timestamptz";
        let p_cols = PARTICIPANT_COLUMNS.join(", ");
        let join = format!(
            "WITH s AS ( \
                SELECT * FROM {s}.live_sessions WHERE id = $1 FOR KEY SHARE \
             ), ok AS ( \
                SELECT id, CASE WHEN status = 'live' THEN live_since END AS period \
                FROM s WHERE status IN ('scheduled', 'live') \
             ), upd AS ( \
                UPDATE {s}.session_participants p SET \
                    user_name = $3, email = $4, join_count = p.join_count + 1, \
                    last_joined_at = GREATEST(p.last_joined_at, {at}), {touch} \
                FROM ok WHERE p.session_id = ok.id AND p.user_id = $2 \
                RETURNING {upd_cols}, false AS inserted \
             ), ins AS ( \
                INSERT INTO {s}.session_participants ({p_cols}) \
                SELECT ok.id, $2, $3, $4, {at}, {at}, {at}, NULL, \
                       CASE WHEN {at} >= ok.period THEN {at} END, 0, 1, {at} \
                FROM ok WHERE NOT EXISTS (SELECT 1 FROM upd) \
                ON CONFLICT (session_id, user_id) DO NOTHING \
                RETURNING {p_cols}, true AS inserted \
             ), counted AS ( \
                INSERT INTO {s}.session_participant_counts (session_id, shard, count) \
                SELECT session_id, $7, 1 FROM ins \
                ON CONFLICT (session_id, shard) \
                DO UPDATE SET count = session_participant_counts.count + 1 \
             ) \
             SELECT {session_cols}, \
                (SELECT COALESCE(SUM(c.count), 0)::bigint FROM {s}.session_participant_counts c \
                  WHERE c.session_id = s.id) + (SELECT count(*) FROM ins) AS participants, \
                pp.inserted, {pp_cols} \
             FROM s LEFT JOIN (SELECT * FROM upd UNION ALL SELECT * FROM ins) pp ON true",
            touch = touch_sets(at, "ok.period", t),
            upd_cols = PARTICIPANT_COLUMNS
                .iter()
                .map(|c| format!("p.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            pp_cols = participant_columns("pp", "p_"),
        );
        let heartbeat = format!(
            "WITH s AS ( \
                SELECT id, CASE WHEN status = 'live' THEN live_since END AS period \
                FROM {s}.live_sessions WHERE id = $1 FOR KEY SHARE \
             ), upd AS ( \
                UPDATE {s}.session_participants p SET {touch} \
                FROM s WHERE p.session_id = s.id AND p.user_id = $2 \
                RETURNING {p_cols_p} \
             ) \
             SELECT s.id AS found, {u_cols} FROM s LEFT JOIN upd u ON true",
            touch = touch_sets("$3::timestamptz", "s.period", "$4::interval"),
            p_cols_p = participant_columns("p", ""),
            u_cols = participant_columns("u", "p_"),
        );
        let leave = format!(
            "UPDATE {s}.session_participants p SET \
                watch_seconds = {credit}, present_since = NULL, \
                left_at = GREATEST(p.left_at, $3::timestamptz) \
             WHERE p.session_id = $1 AND p.user_id = $2 \
             RETURNING {p_cols}",
            credit = credited("$3::timestamptz", "$4::interval"),
            p_cols = participant_columns("p", "p_"),
        );
        let end_credit = format!(
            "UPDATE {s}.session_participants p SET \
                watch_seconds = {credit}, present_since = NULL \
             WHERE p.session_id = $1 AND p.present_since IS NOT NULL",
            credit = credited("$2::timestamptz", "$3::interval"),
        );
        let report = format!(
            "SELECT s.id, COALESCE(a.n, 0) AS n, COALESCE(a.watching, 0) AS watching, \
                COALESCE(a.total, 0)::bigint AS total, COALESCE(a.max, 0)::bigint AS max, \
                COALESCE(a.attended, 0) AS attended \
             FROM {s}.live_sessions s LEFT JOIN LATERAL ( \
                SELECT count(*) AS n, \
                    count(*) FILTER (WHERE w.present_since IS NOT NULL \
                                       AND w.last_seen >= $2::timestamptz - $3::interval) AS watching, \
                    sum(w.ws) AS total, max(w.ws) AS max, \
                    count(*) FILTER (WHERE $4::bigint > 0 \
                                       AND w.ws * 100 >= $4::bigint * $5::bigint) AS attended \
                FROM (SELECT p.present_since, p.last_seen, {ws} AS ws \
                      FROM {s}.session_participants p WHERE p.session_id = s.id) w \
             ) a ON true \
             WHERE s.id = $1",
            ws = credited("$2::timestamptz", "$3::interval"),
        );
        Statements {
            schema: s.to_owned(),
            insert_session: format!(
                "INSERT INTO {s}.live_sessions ({SESSION_COLUMNS}) VALUES ({placeholders})"
            ),
            get_session: format!(
                "SELECT {session_select} FROM {s}.live_sessions s WHERE s.id = $1"
            ),
            update_session: format!(
                "UPDATE {s}.live_sessions s SET {assignments} WHERE s.id = $1 AND s.version = $20 \
                 RETURNING {session_select}"
            ),
            version_of: format!("SELECT version FROM {s}.live_sessions WHERE id = $1"),
            lock_session: format!("SELECT 1 FROM {s}.live_sessions WHERE id = $1 FOR UPDATE"),
            delete_session: format!("DELETE FROM {s}.live_sessions WHERE id = $1"),
            join,
            heartbeat,
            leave,
            end_credit,
            get_participant: format!(
                "SELECT {} FROM {s}.session_participants p \
                 WHERE p.session_id = $1 AND p.user_id = $2",
                participant_columns("p", "p_")
            ),
            watching: format!(
                "SELECT count(*) FROM {s}.session_participants \
                 WHERE session_id = $1 AND present_since IS NOT NULL \
                   AND last_seen >= $2::timestamptz - $3::interval"
            ),
            watching_many: format!(
                "SELECT (SELECT count(*) FROM {s}.session_participants p \
                         WHERE p.session_id = w.id AND p.present_since IS NOT NULL \
                           AND p.last_seen >= $2::timestamptz - $3::interval) AS n \
                 FROM unnest($1::uuid[]) WITH ORDINALITY AS w(id, i) ORDER BY w.i"
            ),
            report,
            attendance_total: format!(
                "SELECT s.id, (SELECT count(*) FROM {s}.session_participants p \
                               WHERE p.session_id = s.id) AS total \
                 FROM {s}.live_sessions s WHERE s.id = $1"
            ),
            overview_totals: format!(
                "SELECT count(*) AS sessions, COALESCE(sum(a.n), 0)::bigint AS records, \
                    COALESCE(sum(a.w), 0)::bigint AS watch \
                 FROM {s}.live_sessions s LEFT JOIN LATERAL ( \
                    SELECT count(*) AS n, sum(p.watch_seconds) AS w \
                    FROM {s}.session_participants p WHERE p.session_id = s.id) a ON true \
                 WHERE s.start_time >= $1 AND s.start_time < $2"
            ),
            participation_totals: format!(
                "SELECT count(*) AS n, COALESCE(sum(watch_seconds), 0)::bigint AS w \
                 FROM {s}.session_participants WHERE user_id = $1"
            ),
            participation_rows: format!(
                "SELECT p.session_id, s.title, s.status, s.start_time, p.first_joined_at, \
                    p.last_joined_at, p.watch_seconds, p.join_count \
                 FROM {s}.session_participants p JOIN {s}.live_sessions s ON s.id = p.session_id \
                 WHERE p.user_id = $1 \
                 ORDER BY p.first_joined_at DESC, p.session_id \
                 LIMIT $2"
            ),
            session_select,
        }
    }

    /// The list query for the given filters; parameters are numbered in the order
    /// rank filter, search pattern, cursor (rank, time key, id), limit.
    fn list(&self, status: bool, search: bool, after: bool) -> String {
        let s = &self.schema;
        let mut sql = format!(
            "SELECT {} FROM {s}.live_sessions s WHERE true",
            self.session_select
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if status {
            sql += &format!(" AND s.list_rank = ${}", next());
        }
        if search {
            let p = next();
            sql += &format!(
                " AND (s.title ILIKE ${p} ESCAPE '\\' OR s.instructor ILIKE ${p} ESCAPE '\\' \
                 OR s.description ILIKE ${p} ESCAPE '\\')"
            );
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

    /// An attendance page ordered by `sort`/`order`, then user id.
    fn attendance(&self, sort: AttendanceSort, order: SortOrder) -> String {
        let s = &self.schema;
        let dir = match order {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        };
        let key = match sort {
            AttendanceSort::JoinTime => "p.first_joined_at",
            AttendanceSort::WatchTime => "ws_now",
            // Byte order of the lowercased name, as the domain compares strings.
            AttendanceSort::Name => "lower(p.user_name) COLLATE \"C\"",
        };
        format!(
            "SELECT {cols}, {ws} AS ws_now FROM {s}.session_participants p \
             WHERE p.session_id = $1 \
             ORDER BY {key} {dir}, p.user_id ASC OFFSET $2 LIMIT $3",
            cols = participant_columns("p", "p_"),
            ws = credited("$4::timestamptz", "$5::interval"),
        )
    }

    /// Popular sessions of a start-time range.
    fn popular(&self, by: PopularBy) -> String {
        let s = &self.schema;
        let key = match by {
            PopularBy::Participants => "participants",
            PopularBy::WatchTime => "watch",
        };
        format!(
            "SELECT s.id, s.title, s.status, s.start_time, \
                (SELECT COALESCE(SUM(c.count), 0)::bigint FROM {s}.session_participant_counts c \
                  WHERE c.session_id = s.id) AS participants, \
                (SELECT COALESCE(SUM(p.watch_seconds), 0)::bigint FROM {s}.session_participants p \
                  WHERE p.session_id = s.id) AS watch \
             FROM {s}.live_sessions s \
             WHERE s.start_time >= $1 AND s.start_time < $2 \
             ORDER BY {key} DESC, s.id ASC LIMIT $3"
        )
    }
}

fn bind_session<'q>(
    query: Query<'q, Postgres, PgArguments>,
    session: &'q LiveSession,
) -> Result<Query<'q, Postgres, PgArguments>> {
    let (thumbnail_url, thumbnail_key) = thumbnail_columns(session.fields.thumbnail.as_ref());
    let key = session.list_key();
    Ok(query
        .bind(*session.id.as_uuid())
        .bind(session.fields.title.as_str())
        .bind(session.fields.description.as_str())
        .bind(session.fields.instructor.as_str())
        .bind(session.fields.video_url.as_str())
        .bind(thumbnail_url)
        .bind(thumbnail_key)
        .bind(session.fields.start_time)
        .bind(session.fields.timezone.map(|tz| tz.name()))
        .bind(session.status.as_str())
        .bind(session.started_at)
        .bind(session.ended_at)
        .bind(session.live_since)
        .bind(session.live_seconds)
        .bind(session.created_at)
        .bind(session.updated_at)
        .bind(to_i64(session.version, "version")?)
        .bind(key.rank)
        .bind(key.time_key))
}

fn session_from_row(row: &PgRow) -> Result<LiveSession> {
    SessionRecord {
        id: get(row, "id")?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        instructor: get(row, "instructor")?,
        video_url: get(row, "video_url")?,
        thumbnail_url: get(row, "thumbnail_url")?,
        thumbnail_key: get(row, "thumbnail_key")?,
        start_time: get(row, "start_time")?,
        timezone: get(row, "timezone")?,
        status: get(row, "status")?,
        started_at: get(row, "started_at")?,
        ended_at: get(row, "ended_at")?,
        live_since: get(row, "live_since")?,
        live_seconds: get(row, "live_seconds")?,
        participants: get(row, "participants")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: get(row, "version")?,
    }
    .into_domain()
}

/// The participant in columns prefixed `p_`, or `None` when they are NULL (an outer join
/// found none).
fn participant_from_row(row: &PgRow) -> Result<Option<Participant>> {
    let Some(session_id) = get::<Option<Uuid>>(row, "p_session_id")? else {
        return Ok(None);
    };
    ParticipantRecord {
        session_id,
        user_id: get(row, "p_user_id")?,
        user_name: get(row, "p_user_name")?,
        email: get(row, "p_email")?,
        first_joined_at: get(row, "p_first_joined_at")?,
        last_joined_at: get(row, "p_last_joined_at")?,
        last_seen: get(row, "p_last_seen")?,
        left_at: get(row, "p_left_at")?,
        present_since: get(row, "p_present_since")?,
        watch_seconds: get(row, "p_watch_seconds")?,
        join_count: get(row, "p_join_count")?,
        created_at: get(row, "p_created_at")?,
    }
    .into_domain()
    .map(Some)
}

fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(map_error)
}

fn interval(timeout: Duration) -> Duration {
    // Whole seconds, as the domain's rules use (`timeout_delta`).
    Duration::from_secs(timeout.as_secs().min(365 * 24 * 3600))
}

impl PostgresStore {
    async fn version_mismatch(&self, session: &LiveSession) -> Error {
        let found: std::result::Result<Option<i64>, _> = sqlx::query_scalar(&self.sql.version_of)
            .bind(*session.id.as_uuid())
            .fetch_optional(&self.pool)
            .await;
        match found {
            Ok(None) => Error::session_not_found(session.id),
            Ok(Some(actual)) => Conflict::VersionMismatch {
                expected: session.version.saturating_sub(1),
                actual: u64::try_from(actual).ok(),
            }
            .into(),
            Err(e) => map_error(e),
        }
    }

    async fn update_in<'c, E>(&self, executor: E, session: &LiveSession) -> Result<Option<PgRow>>
    where
        E: sqlx::Executor<'c, Database = Postgres>,
    {
        let expected = to_i64(session.version.saturating_sub(1), "version")?;
        bind_session(sqlx::query(&self.sql.update_session), session)?
            .bind(expected)
            .fetch_optional(executor)
            .await
            .map_err(map_error)
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn insert_session(&self, session: &LiveSession) -> Result<()> {
        let result = bind_session(sqlx::query(&self.sql.insert_session), session)?
            .execute(&self.pool)
            .await;
        match result.map_err(map_error) {
            Ok(_) => Ok(()),
            Err(Error::Conflict(Conflict::AlreadyExists { .. })) => Err(Conflict::AlreadyExists {
                entity: "session",
                id: session.id.to_string(),
            }
            .into()),
            Err(other) => Err(other),
        }
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>> {
        sqlx::query(&self.sql.get_session)
            .bind(*id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?
            .as_ref()
            .map(session_from_row)
            .transpose()
    }

    async fn update_session(&self, session: &LiveSession) -> Result<LiveSession> {
        match self.update_in(&self.pool, session).await? {
            Some(row) => session_from_row(&row),
            None => Err(self.version_mismatch(session).await),
        }
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool> {
        let done = sqlx::query(&self.sql.delete_session)
            .bind(*id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>> {
        let rank = match query.status {
            StatusFilter::All => None,
            StatusFilter::Only(status) => Some(status.rank()),
        };
        let pattern = query.search.as_deref().map(contains_pattern);
        let sql = self
            .sql
            .list(rank.is_some(), pattern.is_some(), query.after.is_some());
        let mut q = sqlx::query(&sql);
        if let Some(rank) = rank {
            q = q.bind(rank);
        }
        if let Some(pattern) = &pattern {
            q = q.bind(pattern.as_str());
        }
        if let Some(Cursor(key)) = query.after {
            q = q.bind(key.rank).bind(key.time_key).bind(*key.id.as_uuid());
        }
        let limit = i64::from(query.limit);
        let rows = q
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(map_error)?;
        let more = rows.len() as i64 > limit;
        let items = rows
            .iter()
            .take(query.limit as usize)
            .map(session_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::of_sessions(items, more))
    }
}

#[async_trait]
impl AttendanceStore for PostgresStore {
    async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        let shard = shard_of(&request.joiner.user_id);
        for _ in 0..JOIN_ATTEMPTS {
            let row = sqlx::query(&self.sql.join)
                .bind(*request.session_id.as_uuid())
                .bind(request.joiner.user_id.as_str())
                .bind(request.joiner.user_name.as_str())
                .bind(request.joiner.email.as_str())
                .bind(request.presence.at)
                .bind(interval(request.presence.timeout))
                .bind(shard)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_error)?
                .ok_or_else(|| Error::session_not_found(request.session_id))?;
            let session = session_from_row(&row)?;
            session.check_joinable()?;
            if let Some(participant) = participant_from_row(&row)? {
                let first_join: bool = get(&row, "inserted")?;
                return Ok(JoinOutcome {
                    participant,
                    session,
                    first_join,
                });
            }
            // Joinable but neither updated nor inserted: a concurrent first join of this user
            // committed after this statement's snapshot. Run again to record a rejoin.
        }
        Err(Error::storage(CorruptRow(format!(
            "join of {} to session {} found no participant after {JOIN_ATTEMPTS} attempts",
            request.joiner.user_id, request.session_id
        ))))
    }

    async fn heartbeat(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let row = sqlx::query(&self.sql.heartbeat)
            .bind(*session_id.as_uuid())
            .bind(user_id.as_str())
            .bind(at)
            .bind(interval(timeout))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::session_not_found(session_id))?;
        participant_from_row(&row)?.ok_or_else(|| Error::participant_not_found(session_id, user_id))
    }

    async fn leave(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let row = sqlx::query(&self.sql.leave)
            .bind(*session_id.as_uuid())
            .bind(user_id.as_str())
            .bind(at)
            .bind(interval(timeout))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        match row {
            Some(row) => participant_from_row(&row)?
                .ok_or_else(|| Error::participant_not_found(session_id, user_id)),
            None => Err(Error::participant_not_found(session_id, user_id)),
        }
    }

    async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession> {
        let at = ended.ended_at.unwrap_or(ended.updated_at);
        let mut tx = self.pool.begin().await.map_err(map_error)?;
        // Lock the session row first, FOR UPDATE: that waits for joins and heartbeats in flight
        // (they hold it FOR KEY SHARE, which a plain UPDATE would not wait for) and makes later
        // ones wait and then see `ended`. The credit below, a new statement with a new snapshot,
        // then sees every participant they wrote.
        sqlx::query(&self.sql.lock_session)
            .bind(*ended.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        let Some(row) = self.update_in(&mut *tx, ended).await? else {
            drop(tx);
            return Err(self.version_mismatch(ended).await);
        };
        sqlx::query(&self.sql.end_credit)
            .bind(*ended.id.as_uuid())
            .bind(at)
            .bind(interval(timeout))
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        tx.commit().await.map_err(map_error)?;
        session_from_row(&row)
    }

    async fn get_participant(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<Participant>> {
        let row = sqlx::query(&self.sql.get_participant)
            .bind(*session_id.as_uuid())
            .bind(user_id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        match row {
            Some(row) => participant_from_row(&row),
            None => Ok(None),
        }
    }

    async fn watching(
        &self,
        session_id: SessionId,
        Presence { at: now, timeout }: Presence,
    ) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(&self.sql.watching)
            .bind(*session_id.as_uuid())
            .bind(now)
            .bind(interval(timeout))
            .fetch_one(&self.pool)
            .await
            .map_err(map_error)?;
        to_u64(n, "watching")
    }

    async fn watching_many(
        &self,
        session_ids: &[SessionId],
        Presence { at: now, timeout }: Presence,
    ) -> Result<Vec<u64>> {
        let ids: Vec<Uuid> = session_ids.iter().map(|id| *id.as_uuid()).collect();
        let counts: Vec<i64> = sqlx::query_scalar(&self.sql.watching_many)
            .bind(ids)
            .bind(now)
            .bind(interval(timeout))
            .fetch_all(&self.pool)
            .await
            .map_err(map_error)?;
        counts.into_iter().map(|n| to_u64(n, "watching")).collect()
    }
}

#[async_trait]
impl AnalyticsStore for PostgresStore {
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport> {
        let row = sqlx::query(&self.sql.report)
            .bind(*query.session_id.as_uuid())
            .bind(query.now)
            .bind(interval(query.timeout))
            .bind(query.live_seconds)
            .bind(i64::from(query.threshold_percent))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::session_not_found(query.session_id))?;
        let participants = to_u64(get(&row, "n")?, "participants")?;
        let total: i64 = get(&row, "total")?;
        Ok(SessionReport {
            session_id: query.session_id,
            participants,
            watching: to_u64(get(&row, "watching")?, "watching")?,
            total_watch_seconds: total,
            max_watch_seconds: get(&row, "max")?,
            live_seconds: query.live_seconds,
            threshold_percent: query.threshold_percent,
            attended: to_u64(get(&row, "attended")?, "attended")?,
        })
    }

    async fn attendance(&self, query: &AttendanceQuery) -> Result<AttendancePage> {
        let total_row = sqlx::query(&self.sql.attendance_total)
            .bind(*query.session_id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::session_not_found(query.session_id))?;
        let total = to_u64(get(&total_row, "total")?, "total")?;
        let rows = sqlx::query(&self.sql.attendance(query.sort, query.order))
            .bind(*query.session_id.as_uuid())
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .bind(i64::from(query.limit))
            .bind(query.now)
            .bind(interval(query.timeout))
            .fetch_all(&self.pool)
            .await
            .map_err(map_error)?;
        let rows = rows
            .iter()
            .map(|row| {
                let participant = participant_from_row(row)?.ok_or_else(|| {
                    Error::storage(CorruptRow("attendance row without participant".into()))
                })?;
                Ok(AttendanceRow {
                    participant,
                    watch_seconds_now: get(row, "ws_now")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AttendancePage { rows, total })
    }

    async fn overview(&self, query: &OverviewQuery) -> Result<Overview> {
        let totals = sqlx::query(&self.sql.overview_totals)
            .bind(query.from)
            .bind(query.to)
            .fetch_one(&self.pool)
            .await
            .map_err(map_error)?;
        let records = to_u64(get(&totals, "records")?, "participants")?;
        let watch: i64 = get(&totals, "watch")?;
        let popular = if query.top == 0 {
            Vec::new()
        } else {
            sqlx::query(&self.sql.popular(query.by))
                .bind(query.from)
                .bind(query.to)
                .bind(i64::from(query.top))
                .fetch_all(&self.pool)
                .await
                .map_err(map_error)?
                .iter()
                .map(|row| {
                    Ok(PopularSession {
                        session_id: SessionId::from_uuid(get(row, "id")?),
                        title: title(get(row, "title")?)?,
                        status: parse_status(&get::<String>(row, "status")?)?,
                        start_time: get(row, "start_time")?,
                        participants: to_u64(get(row, "participants")?, "participants")?,
                        total_watch_seconds: get(row, "watch")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        };
        Ok(Overview {
            sessions: to_u64(get(&totals, "sessions")?, "sessions")?,
            participants: records,
            total_watch_seconds: watch,
            popular,
        })
    }

    async fn participation(&self, query: &ParticipationQuery) -> Result<Participation> {
        let totals = sqlx::query(&self.sql.participation_totals)
            .bind(query.user_id.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(map_error)?;
        let rows = sqlx::query(&self.sql.participation_rows)
            .bind(query.user_id.as_str())
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_error)?;
        let sessions = rows
            .iter()
            .map(|row| {
                Ok(ParticipationRow {
                    session_id: SessionId::from_uuid(get(row, "session_id")?),
                    title: title(get(row, "title")?)?,
                    status: parse_status(&get::<String>(row, "status")?)?,
                    start_time: get(row, "start_time")?,
                    first_joined_at: get(row, "first_joined_at")?,
                    last_joined_at: get(row, "last_joined_at")?,
                    watch_seconds: get(row, "watch_seconds")?,
                    join_count: to_u64(get(row, "join_count")?, "join_count")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Participation {
            user_id: query.user_id.clone(),
            sessions_joined: to_u64(get(&totals, "n")?, "sessions")?,
            total_watch_seconds: get(&totals, "w")?,
            sessions,
        })
    }
}

fn title(text: String) -> Result<Title> {
    Title::parse(&text).map_err(|e| Error::storage(CorruptRow(e.to_string())))
}

#[async_trait]
impl HealthCheck for PostgresStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| match map_error(e) {
                Error::Storage(cause) => Error::Unavailable(Some(cause)),
                other => other,
            })
    }
}

#[cfg(test)]
#[path = "postgres_explain.rs"]
mod explain;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["public", "live", "ls_test_0123abcd", "_x", &"a".repeat(63)] {
            assert!(validate_schema_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Live",
            "1abc",
            "a-b",
            "a b",
            "a\"b",
            "x;drop table y",
            "pg_catalog",
            &"a".repeat(64),
            "é",
        ] {
            let err = validate_schema_name(bad).unwrap_err();
            assert!(
                matches!(&err, Error::Validation(f) if f[0].field == "schema"),
                "{bad}: {err:?}"
            );
        }
        assert_eq!(quote_ident("live"), "\"live\"");
    }

    #[test]
    fn sqlstates_that_mean_try_again() {
        for code in [
            "08000", "08003", "08006", "57P01", "57P02", "57P03", "53300", "40001",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22001", "XX000"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[derive(Debug)]
    struct FakeDbError {
        code: &'static str,
        constraint: Option<&'static str>,
        kind: sqlx::error::ErrorKind,
    }

    impl fmt::Display for FakeDbError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "fake {}", self.code)
        }
    }

    impl std::error::Error for FakeDbError {}

    impl sqlx::error::DatabaseError for FakeDbError {
        fn message(&self) -> &str {
            "fake"
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.code.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn constraint(&self) -> Option<&str> {
            self.constraint
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            match &self.kind {
                sqlx::error::ErrorKind::UniqueViolation => sqlx::error::ErrorKind::UniqueViolation,
                _ => sqlx::error::ErrorKind::Other,
            }
        }
    }

    fn db(code: &'static str, constraint: Option<&'static str>, unique: bool) -> sqlx::Error {
        sqlx::Error::Database(Box::new(FakeDbError {
            code,
            constraint,
            kind: if unique {
                sqlx::error::ErrorKind::UniqueViolation
            } else {
                sqlx::error::ErrorKind::Other
            },
        }))
    }

    #[test]
    fn driver_errors_map_onto_the_domain() {
        let conflict = map_error(db("23505", Some("live_sessions_pkey"), true));
        assert!(matches!(
            conflict,
            Error::Conflict(Conflict::AlreadyExists {
                entity: "session",
                ..
            })
        ));
        let conflict = map_error(db("23505", Some("session_participants_pkey"), true));
        assert!(matches!(
            conflict,
            Error::Conflict(Conflict::AlreadyExists {
                entity: "participant",
                ..
            })
        ));
        assert!(matches!(
            map_error(db("57P01", None, false)),
            Error::Unavailable(Some(_))
        ));
        assert!(matches!(
            map_error(db("08006", None, false)),
            Error::Unavailable(Some(_))
        ));
        assert!(matches!(
            map_error(sqlx::Error::PoolTimedOut),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            map_error(sqlx::Error::PoolClosed),
            Error::Unavailable(_)
        ));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(matches!(
            map_error(sqlx::Error::Io(io)),
            Error::Unavailable(_)
        ));
        // Anything else is a storage failure that keeps its cause.
        let err = map_error(db("42P01", None, false));
        let Error::Storage(cause) = &err else {
            panic!("{err:?}")
        };
        assert!(cause.to_string().contains("fake 42P01"), "{cause}");
        assert!(matches!(
            map_error(sqlx::Error::RowNotFound),
            Error::Storage(_)
        ));
    }
}
