//! The SQLite store.
//!
//! ```no_run
//! # async fn example() -> livesessions_core::Result<()> {
//! use livesessions_sql::sqlite::SqliteStore;
//!
//! // A file (created if missing), in WAL mode with a 5 s busy timeout ...
//! let store = SqliteStore::connect("sqlite://livesessions.db").await?;
//! store.migrate().await?;
//! // ... or a private in-memory database (tests, demos).
//! let scratch = SqliteStore::in_memory().await?;
//! scratch.migrate().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every write that reads first (join, end, delete) runs in a `BEGIN IMMEDIATE` transaction,
//! which takes the database's write lock up front: concurrent writers queue on the busy timeout
//! instead of failing with "database is locked" when a read lock cannot be upgraded, and no
//! count is lost. Times are stored as integer microseconds since the Unix epoch.
//!
//! Search (`LIKE`) and name sorting (`lower()`) fold case for ASCII letters only, as SQLite
//! does without the ICU extension.

use livesessions_core::Presence;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use livesessions_core::analytics::{
    AttendancePage, AttendanceQuery, AttendanceRow, AttendanceSort, Overview, OverviewQuery,
    Participation, ParticipationQuery, ParticipationRow, PopularBy, PopularSession, ReportQuery,
    SessionReport, SortOrder,
};
use livesessions_core::{
    AnalyticsStore, AttendanceStore, Conflict, Cursor, Error, HealthCheck, JoinOutcome,
    JoinRequest, ListQuery, LiveSession, Page, Participant, Result, SessionAction, SessionId,
    SessionStatus, SessionStore, StatusFilter, Title, UserId,
};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Row as _, Sqlite};
use uuid::Uuid;

use crate::common::{
    contains_pattern, parse_status, thumbnail_columns, to_i64, to_u64, CorruptRow,
    EmbeddedMigrations, ParticipantRecord, SessionRecord,
};

const MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations(&[(
    1,
    "live sessions",
    include_str!("../migrations/sqlite/0001_live_sessions.sql"),
)]);

/// How long a writer waits for the write lock before giving up with [`Error::Unavailable`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A store on SQLite. Clones share the pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// A store on `pool`. The pool's connections should enforce foreign keys (sqlx's default)
    /// and, for files, use WAL and a busy timeout, as [`SqliteStore::connect`] sets up.
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore { pool }
    }

    /// Opens `url` (`sqlite://path/to/file.db`, `sqlite::memory:`, or any URL sqlx accepts),
    /// creating the file if missing. Files get WAL, `synchronous = NORMAL`, foreign keys and a
    /// [`BUSY_TIMEOUT`], with a pool of 8 connections; an in-memory database gets one
    /// connection that is kept open (the data lives as long as the store).
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(map_error)?
            .create_if_missing(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        Self::connect_with(options, in_memory).await
    }

    /// A private in-memory database (one connection, kept open).
    pub async fn in_memory() -> Result<Self> {
        Self::connect("sqlite::memory:").await
    }

    /// Opens a database file at `path`, creating it if missing (settings as
    /// [`SqliteStore::connect`]).
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::connect_with(options, false).await
    }

    async fn connect_with(options: SqliteConnectOptions, in_memory: bool) -> Result<Self> {
        let options = options.foreign_keys(true).busy_timeout(BUSY_TIMEOUT);
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
        } else {
            SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(
                    options
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal),
                )
                .await
        }
        .map_err(map_error)?;
        Ok(Self::from_pool(pool))
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Applies the embedded migrations (`migrations/sqlite`). Safe to run repeatedly.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = sqlx::migrate::Migrator::new(MIGRATIONS)
            .await
            .map_err(map_migrate_error)?;
        migrator.run(&self.pool).await.map_err(map_migrate_error)
    }
}

/// Maps a driver error onto the domain's error: a unique or primary-key violation is
/// `Conflict(AlreadyExists)`; a busy or locked database after the busy timeout, a pool timeout
/// or an I/O failure is [`Error::Unavailable`]; anything else is [`Error::Storage`] with the
/// driver's error kept as the source.
pub fn map_error(error: sqlx::Error) -> Error {
    let error = match crate::common::map_common(error) {
        Ok(mapped) => return mapped,
        Err(database) => database,
    };
    let Some(db) = error.as_database_error() else {
        return Error::storage(error);
    };
    if db.is_unique_violation() {
        let message = db.message();
        let entity = if message.contains("live_sessions.") {
            "session"
        } else if message.contains("session_participants.") {
            "participant"
        } else {
            "record"
        };
        return Conflict::AlreadyExists {
            entity,
            id: message.to_owned(),
        }
        .into();
    }
    if db.code().as_deref().is_some_and(is_transient_code) {
        return Error::unavailable(error);
    }
    Error::storage(error)
}

/// SQLITE_BUSY (5) and SQLITE_LOCKED (6) with their extended codes: another writer held the
/// lock past the busy timeout; retrying later works.
fn is_transient_code(code: &str) -> bool {
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

fn map_migrate_error(error: sqlx::migrate::MigrateError) -> Error {
    match error {
        sqlx::migrate::MigrateError::Execute(e) => map_error(e),
        other => Error::storage(other),
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn timeout_micros(timeout: Duration) -> i64 {
    // Whole seconds, as the domain's rules use (`timeout_delta`).
    timeout.as_secs().min(365 * 24 * 3600) as i64 * 1_000_000
}

fn secs(micros: &str) -> String {
    format!("MAX(0, ({micros}) / 1000000)")
}

/// `SET` clauses of the presence rule ([`Participant::touch`]); `at`, `period` and `t` are SQL
/// expressions in microseconds, `period` being the start of the current live period (NULL when
/// the session is not live). An `at` older than `last_seen` or the last leave changes nothing;
/// one before the period's start opens nothing.
fn touch_sets(at: &str, period: &str, t: &str) -> String {
    let gap = format!("{at} - last_seen > {t}");
    let ignored = format!("({at} < last_seen OR (left_at IS NOT NULL AND {at} < left_at))");
    let opens = format!("(NOT {ignored} AND {period} IS NOT NULL AND {at} >= {period})");
    format!(
        "watch_seconds = watch_seconds + CASE \
            WHEN {opens} AND present_since IS NOT NULL AND {gap} \
            THEN {credit} ELSE 0 END, \
         present_since = CASE WHEN {opens} THEN CASE \
            WHEN present_since IS NULL THEN {at} \
            WHEN {gap} THEN {at} \
            ELSE present_since END \
            ELSE present_since END, \
         last_seen = CASE WHEN {ignored} THEN last_seen ELSE {at} END",
        credit = secs(&format!("last_seen + {t} - present_since")),
    )
}

/// Watch seconds if the open interval were credited at `c` ([`Participant::credit`]).
fn credited(c: &str, t: &str) -> String {
    format!(
        "watch_seconds + CASE WHEN present_since IS NULL THEN 0 ELSE {} END",
        secs(&format!("MIN({c}, last_seen + {t}) - present_since"))
    )
}

const SESSION_COLUMNS: &str = "id, title, description, instructor, video_url, thumbnail_url, \
     thumbnail_key, start_time, timezone, status, started_at, ended_at, live_since, live_seconds, \
     created_at, updated_at, version, list_rank, list_time_key";

const SESSION_SELECT: &str = "id, title, description, instructor, video_url, thumbnail_url, \
     thumbnail_key, start_time, timezone, status, started_at, ended_at, live_since, live_seconds, \
     participants, created_at, updated_at, version";

const PARTICIPANT_SELECT: &str = "session_id, user_id, user_name, email, first_joined_at, \
     last_joined_at, last_seen, left_at, present_since, watch_seconds, join_count, created_at";

fn update_session_sql() -> String {
    let assignments = SESSION_COLUMNS
        .split(", ")
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE live_sessions SET {assignments} WHERE id = ?1 AND version = ?20 \
         RETURNING {SESSION_SELECT}"
    )
}

fn bind_session<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    session: &'q LiveSession,
) -> Result<Query<'q, Sqlite, SqliteArguments<'q>>> {
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
        .bind(micros(session.fields.start_time))
        .bind(session.fields.timezone.map(|tz| tz.name()))
        .bind(session.status.as_str())
        .bind(session.started_at.map(micros))
        .bind(session.ended_at.map(micros))
        .bind(session.live_since.map(micros))
        .bind(session.live_seconds)
        .bind(micros(session.created_at))
        .bind(micros(session.updated_at))
        .bind(to_i64(session.version, "version")?)
        .bind(key.rank)
        .bind(key.time_key))
}

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(map_error)
}

fn time(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>> {
    let value: i64 = get(row, column)?;
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| Error::storage(CorruptRow(format!("{column} out of range: {value}"))))
}

fn opt_time(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>> {
    match get::<Option<i64>>(row, column)? {
        None => Ok(None),
        Some(_) => time(row, column).map(Some),
    }
}

fn session_from_row(row: &SqliteRow) -> Result<LiveSession> {
    SessionRecord {
        id: get(row, "id")?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        instructor: get(row, "instructor")?,
        video_url: get(row, "video_url")?,
        thumbnail_url: get(row, "thumbnail_url")?,
        thumbnail_key: get(row, "thumbnail_key")?,
        start_time: time(row, "start_time")?,
        timezone: get(row, "timezone")?,
        status: get(row, "status")?,
        started_at: opt_time(row, "started_at")?,
        ended_at: opt_time(row, "ended_at")?,
        live_since: opt_time(row, "live_since")?,
        live_seconds: get(row, "live_seconds")?,
        participants: get(row, "participants")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        version: get(row, "version")?,
    }
    .into_domain()
}

fn participant_from_row(row: &SqliteRow) -> Result<Participant> {
    ParticipantRecord {
        session_id: get(row, "session_id")?,
        user_id: get(row, "user_id")?,
        user_name: get(row, "user_name")?,
        email: get(row, "email")?,
        first_joined_at: time(row, "first_joined_at")?,
        last_joined_at: time(row, "last_joined_at")?,
        last_seen: time(row, "last_seen")?,
        left_at: opt_time(row, "left_at")?,
        present_since: opt_time(row, "present_since")?,
        watch_seconds: get(row, "watch_seconds")?,
        join_count: get(row, "join_count")?,
        created_at: time(row, "created_at")?,
    }
    .into_domain()
}

fn title(text: String) -> Result<Title> {
    Title::parse(&text).map_err(|e| Error::storage(CorruptRow(e.to_string())))
}

impl SqliteStore {
    async fn version_mismatch(&self, session: &LiveSession) -> Error {
        let found: std::result::Result<Option<i64>, _> =
            sqlx::query_scalar("SELECT version FROM live_sessions WHERE id = ?1")
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

    async fn session_exists(&self, id: SessionId) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM live_sessions WHERE id = ?1")
            .bind(*id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, session: &LiveSession) -> Result<()> {
        let placeholders = (1..=19)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO live_sessions ({SESSION_COLUMNS}) VALUES ({placeholders})");
        let result = bind_session(sqlx::query(&sql), session)?
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
        sqlx::query(&format!(
            "SELECT {SESSION_SELECT} FROM live_sessions WHERE id = ?1"
        ))
        .bind(*id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?
        .as_ref()
        .map(session_from_row)
        .transpose()
    }

    async fn update_session(&self, session: &LiveSession) -> Result<LiveSession> {
        let expected = to_i64(session.version.saturating_sub(1), "version")?;
        let sql = update_session_sql();
        let row = bind_session(sqlx::query(&sql), session)?
            .bind(expected)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        match row {
            Some(row) => session_from_row(&row),
            None => Err(self.version_mismatch(session).await),
        }
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_error)?;
        // Explicit rather than ON DELETE CASCADE alone: a pool from `from_pool` may have
        // foreign keys switched off.
        sqlx::query("DELETE FROM session_participants WHERE session_id = ?1")
            .bind(*id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        let done = sqlx::query("DELETE FROM live_sessions WHERE id = ?1")
            .bind(*id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        tx.commit().await.map_err(map_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>> {
        let mut sql = format!("SELECT {SESSION_SELECT} FROM live_sessions WHERE 1");
        let rank = match query.status {
            StatusFilter::All => None,
            StatusFilter::Only(status) => Some(status.rank()),
        };
        let pattern = query.search.as_deref().map(contains_pattern);
        if rank.is_some() {
            sql += " AND list_rank = ?1";
        }
        if pattern.is_some() {
            sql += " AND (title LIKE ?2 ESCAPE '\\' OR instructor LIKE ?2 ESCAPE '\\' \
                    OR description LIKE ?2 ESCAPE '\\')";
        }
        // Every parameter is numbered and always bound; the ones a filter does not use are
        // simply not referenced.
        if query.after.is_some() {
            sql += " AND (list_rank, list_time_key, id) > (?3, ?4, ?5)";
        }
        sql += " ORDER BY list_rank, list_time_key, id LIMIT ?6";
        let limit = i64::from(query.limit);
        let (after_rank, after_time, after_id) = match query.after {
            Some(Cursor(key)) => (key.rank, key.time_key, Some(*key.id.as_uuid())),
            None => (0, 0, None),
        };
        let rows = sqlx::query(&sql)
            .bind(rank.unwrap_or(0))
            .bind(pattern.as_deref().unwrap_or(""))
            .bind(after_rank)
            .bind(after_time)
            .bind(after_id)
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
impl AttendanceStore for SqliteStore {
    async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        let sid = *request.session_id.as_uuid();
        let at = micros(request.presence.at);
        let t = timeout_micros(request.presence.timeout);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_error)?;
        let (status, live_since): (String, Option<i64>) =
            sqlx::query_as("SELECT status, live_since FROM live_sessions WHERE id = ?1")
                .bind(sid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_error)?
                .ok_or_else(|| Error::session_not_found(request.session_id))?;
        let status = parse_status(&status)?;
        if !status.accepts_joins() {
            return Err(Conflict::InvalidTransition {
                status,
                action: SessionAction::Join,
            }
            .into());
        }
        // The start of the current live period; intervals open only from there on.
        let period = if status == SessionStatus::Live {
            live_since
        } else {
            None
        };
        let rejoin = sqlx::query(&format!(
            "UPDATE session_participants SET user_name = ?3, email = ?4, \
                join_count = join_count + 1, last_joined_at = MAX(last_joined_at, ?5), {touch} \
             WHERE session_id = ?1 AND user_id = ?2 RETURNING {PARTICIPANT_SELECT}",
            touch = touch_sets("?5", "?6", "?7"),
        ))
        .bind(sid)
        .bind(request.joiner.user_id.as_str())
        .bind(request.joiner.user_name.as_str())
        .bind(request.joiner.email.as_str())
        .bind(at)
        .bind(period)
        .bind(t)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_error)?;
        let (row, first_join) = match rejoin {
            Some(row) => (row, false),
            None => {
                let row = sqlx::query(&format!(
                    "INSERT INTO session_participants ({PARTICIPANT_SELECT}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5, NULL, \
                        CASE WHEN ?6 IS NOT NULL AND ?5 >= ?6 THEN ?5 END, 0, 1, ?5) \
                     RETURNING {PARTICIPANT_SELECT}"
                ))
                .bind(sid)
                .bind(request.joiner.user_id.as_str())
                .bind(request.joiner.user_name.as_str())
                .bind(request.joiner.email.as_str())
                .bind(at)
                .bind(period)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_error)?;
                sqlx::query(
                    "UPDATE live_sessions SET participants = participants + 1 WHERE id = ?1",
                )
                .bind(sid)
                .execute(&mut *tx)
                .await
                .map_err(map_error)?;
                (row, true)
            }
        };
        let session = sqlx::query(&format!(
            "SELECT {SESSION_SELECT} FROM live_sessions WHERE id = ?1"
        ))
        .bind(sid)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_error)?;
        tx.commit().await.map_err(map_error)?;
        Ok(JoinOutcome {
            participant: participant_from_row(&row)?,
            session: session_from_row(&session)?,
            first_join,
        })
    }

    async fn heartbeat(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        // One statement: it holds the write lock while it reads the status and the start of
        // the current live period and updates.
        let row = sqlx::query(&format!(
            "UPDATE session_participants SET {touch} \
             WHERE session_id = ?1 AND user_id = ?2 RETURNING {PARTICIPANT_SELECT}",
            touch = touch_sets(
                "?3",
                "(SELECT live_since FROM live_sessions WHERE id = ?1 AND status = 'live')",
                "?4"
            ),
        ))
        .bind(*session_id.as_uuid())
        .bind(user_id.as_str())
        .bind(micros(at))
        .bind(timeout_micros(timeout))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        match row {
            Some(row) => participant_from_row(&row),
            None if self.session_exists(session_id).await? => {
                Err(Error::participant_not_found(session_id, user_id))
            }
            None => Err(Error::session_not_found(session_id)),
        }
    }

    async fn leave(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let row = sqlx::query(&format!(
            "UPDATE session_participants SET watch_seconds = {credit}, present_since = NULL, \
                left_at = MAX(COALESCE(left_at, ?3), ?3) \
             WHERE session_id = ?1 AND user_id = ?2 RETURNING {PARTICIPANT_SELECT}",
            credit = credited("?3", "?4"),
        ))
        .bind(*session_id.as_uuid())
        .bind(user_id.as_str())
        .bind(micros(at))
        .bind(timeout_micros(timeout))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        match row {
            Some(row) => participant_from_row(&row),
            None => Err(Error::participant_not_found(session_id, user_id)),
        }
    }

    async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession> {
        let at = ended.ended_at.unwrap_or(ended.updated_at);
        let expected = to_i64(ended.version.saturating_sub(1), "version")?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_error)?;
        let sql = update_session_sql();
        let row = bind_session(sqlx::query(&sql), ended)?
            .bind(expected)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_error)?;
        let Some(row) = row else {
            drop(tx);
            return Err(self.version_mismatch(ended).await);
        };
        sqlx::query(&format!(
            "UPDATE session_participants SET watch_seconds = {credit}, present_since = NULL \
             WHERE session_id = ?1 AND present_since IS NOT NULL",
            credit = credited("?2", "?3"),
        ))
        .bind(*ended.id.as_uuid())
        .bind(micros(at))
        .bind(timeout_micros(timeout))
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
        sqlx::query(&format!(
            "SELECT {PARTICIPANT_SELECT} FROM session_participants \
             WHERE session_id = ?1 AND user_id = ?2"
        ))
        .bind(*session_id.as_uuid())
        .bind(user_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?
        .as_ref()
        .map(participant_from_row)
        .transpose()
    }

    async fn watching(
        &self,
        session_id: SessionId,
        Presence { at: now, timeout }: Presence,
    ) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM session_participants \
             WHERE session_id = ?1 AND present_since IS NOT NULL AND last_seen >= ?2 - ?3",
        )
        .bind(*session_id.as_uuid())
        .bind(micros(now))
        .bind(timeout_micros(timeout))
        .fetch_one(&self.pool)
        .await
        .map_err(map_error)?;
        to_u64(n, "watching")
    }
}

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport> {
        let row = sqlx::query(&format!(
            "SELECT (SELECT 1 FROM live_sessions WHERE id = ?1) AS found, \
                count(*) AS n, \
                count(*) FILTER (WHERE present_since IS NOT NULL AND last_seen >= ?2 - ?3) \
                    AS watching, \
                COALESCE(sum(ws), 0) AS total, COALESCE(max(ws), 0) AS max, \
                count(*) FILTER (WHERE ?4 > 0 AND ws * 100 >= ?4 * ?5) AS attended \
             FROM (SELECT present_since, last_seen, {ws} AS ws \
                   FROM session_participants WHERE session_id = ?1)",
            ws = credited("?2", "?3"),
        ))
        .bind(*query.session_id.as_uuid())
        .bind(micros(query.now))
        .bind(timeout_micros(query.timeout))
        .bind(query.live_seconds)
        .bind(i64::from(query.threshold_percent))
        .fetch_one(&self.pool)
        .await
        .map_err(map_error)?;
        if get::<Option<i64>>(&row, "found")?.is_none() {
            return Err(Error::session_not_found(query.session_id));
        }
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
        let sid = *query.session_id.as_uuid();
        let total_row = sqlx::query(
            "SELECT (SELECT 1 FROM live_sessions WHERE id = ?1) AS found, \
                (SELECT count(*) FROM session_participants WHERE session_id = ?1) AS total",
        )
        .bind(sid)
        .fetch_one(&self.pool)
        .await
        .map_err(map_error)?;
        if get::<Option<i64>>(&total_row, "found")?.is_none() {
            return Err(Error::session_not_found(query.session_id));
        }
        let total = to_u64(get(&total_row, "total")?, "total")?;
        let dir = match query.order {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        };
        let key = match query.sort {
            AttendanceSort::JoinTime => "first_joined_at",
            AttendanceSort::WatchTime => "ws_now",
            AttendanceSort::Name => "lower(user_name)",
        };
        let rows = sqlx::query(&format!(
            "SELECT {PARTICIPANT_SELECT}, {ws} AS ws_now FROM session_participants \
             WHERE session_id = ?1 ORDER BY {key} {dir}, user_id ASC LIMIT ?3 OFFSET ?2",
            ws = credited("?4", "?5"),
        ))
        .bind(sid)
        .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
        .bind(i64::from(query.limit))
        .bind(micros(query.now))
        .bind(timeout_micros(query.timeout))
        .fetch_all(&self.pool)
        .await
        .map_err(map_error)?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok(AttendanceRow {
                    participant: participant_from_row(row)?,
                    watch_seconds_now: get(row, "ws_now")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AttendancePage { rows, total })
    }

    async fn overview(&self, query: &OverviewQuery) -> Result<Overview> {
        let totals = sqlx::query(
            "SELECT count(*) AS sessions, COALESCE(sum(n), 0) AS records, \
                COALESCE(sum(w), 0) AS watch \
             FROM (SELECT \
                (SELECT count(*) FROM session_participants p WHERE p.session_id = s.id) AS n, \
                (SELECT COALESCE(sum(p.watch_seconds), 0) FROM session_participants p \
                  WHERE p.session_id = s.id) AS w \
               FROM live_sessions s WHERE s.start_time >= ?1 AND s.start_time < ?2)",
        )
        .bind(micros(query.from))
        .bind(micros(query.to))
        .fetch_one(&self.pool)
        .await
        .map_err(map_error)?;
        let records = to_u64(get(&totals, "records")?, "participants")?;
        let watch: i64 = get(&totals, "watch")?;
        let key = match query.by {
            PopularBy::Participants => "participants",
            PopularBy::WatchTime => "watch",
        };
        let popular = if query.top == 0 {
            Vec::new()
        } else {
            sqlx::query(&format!(
                "SELECT s.id, s.title, s.status, s.start_time, s.participants, \
                    (SELECT COALESCE(sum(p.watch_seconds), 0) FROM session_participants p \
                      WHERE p.session_id = s.id) AS watch \
                 FROM live_sessions s WHERE s.start_time >= ?1 AND s.start_time < ?2 \
                 ORDER BY {key} DESC, s.id ASC LIMIT ?3"
            ))
            .bind(micros(query.from))
            .bind(micros(query.to))
            .bind(i64::from(query.top))
            .fetch_all(&self.pool)
            .await
            .map_err(map_error)?
            .iter()
            .map(|row| {
                Ok(PopularSession {
                    session_id: SessionId::from_uuid(get::<Uuid>(row, "id")?),
                    title: title(get(row, "title")?)?,
                    status: parse_status(&get::<String>(row, "status")?)?,
                    start_time: time(row, "start_time")?,
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
        let totals = sqlx::query(
            "SELECT count(*) AS n, COALESCE(sum(watch_seconds), 0) AS w \
             FROM session_participants WHERE user_id = ?1",
        )
        .bind(query.user_id.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(map_error)?;
        let rows = sqlx::query(
            "SELECT p.session_id, s.title, s.status, s.start_time, p.first_joined_at, \
                p.last_joined_at, p.watch_seconds, p.join_count \
             FROM session_participants p JOIN live_sessions s ON s.id = p.session_id \
             WHERE p.user_id = ?1 \
             ORDER BY p.first_joined_at DESC, p.session_id LIMIT ?2",
        )
        .bind(query.user_id.as_str())
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_error)?;
        let sessions = rows
            .iter()
            .map(|row| {
                Ok(ParticipationRow {
                    session_id: SessionId::from_uuid(get::<Uuid>(row, "session_id")?),
                    title: title(get(row, "title")?)?,
                    status: parse_status(&get::<String>(row, "status")?)?,
                    start_time: time(row, "start_time")?,
                    first_joined_at: time(row, "first_joined_at")?,
                    last_joined_at: time(row, "last_joined_at")?,
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

#[async_trait]
impl HealthCheck for SqliteStore {
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
mod tests {
    use super::*;

    #[test]
    fn busy_and_locked_are_transient() {
        for code in ["5", "6", "261", "517", "262"] {
            assert!(is_transient_code(code), "{code}");
        }
        for code in ["1", "19", "2067", "1555", "787", "x"] {
            assert!(!is_transient_code(code), "{code}");
        }
    }

    #[test]
    fn common_driver_errors_map_onto_the_domain() {
        assert!(matches!(
            map_error(sqlx::Error::PoolTimedOut),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            map_error(sqlx::Error::RowNotFound),
            Error::Storage(_)
        ));
    }
}
