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
//! The store is an [`EventLog`](livesessions_core::events::EventLog): every change appends its
//! event in its own write transaction (also insert and update, which then run in
//! `BEGIN IMMEDIATE` too), and, one writer committing at a time, the `AUTOINCREMENT` rowid is
//! the event id. `wait_for_events` is woken by this store's own commits (and its clones');
//! another process writing to the same file is seen at the next poll.
//!
//! Search (`LIKE`) and name sorting (`lower()`) fold case for ASCII letters only, as SQLite
//! does without the ICU extension.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use livesessions_core::{Error, Result};
use sqlx::error::DatabaseError;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Decode, Row as _, Sqlite, Type};

use crate::dialect::{timeout_seconds, Dialect};
use crate::errors::map_migrate_error;
use crate::events::LogWaker;
use crate::record::corrupt;

mod calendar;
mod events;
mod roster;
mod statements;
mod store;
mod thumbnails;

pub use thumbnails::SqliteThumbnails;
mod webhooks;

/// The migrations of `migrations/sqlite`, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for the write lock before giving up with [`Error::Unavailable`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A store on SQLite. Clones share the pool and the wake-ups of the event log.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    waker: Arc<LogWaker>,
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
        SqliteStore {
            pool,
            waker: Arc::new(LogWaker::new()),
        }
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
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(map_migrate_error::<Sqlite>)
    }
}

/// Maps a driver error onto the domain's error: a unique or primary-key violation is
/// `Conflict(AlreadyExists)`; a busy or locked database after the busy timeout, a pool timeout
/// or an I/O failure is [`Error::Unavailable`]; anything else is [`Error::Storage`] with the
/// driver's error kept as the source.
pub fn map_error(error: sqlx::Error) -> Error {
    crate::errors::map_error::<Sqlite>(error)
}

impl Dialect for Sqlite {
    type Time = i64;
    type Timeout = i64;

    const PARAMETER: char = '?';
    const PARTICIPANT: &'static str = "";
    const LEAST: &'static str = "MIN";
    const GREATEST: &'static str = "MAX";
    /// Milliseconds are what SQLite's clock gives (`unixepoch('subsec')`, SQLite 3.42+).
    const NOW: &'static str = "CAST(unixepoch('subsec') * 1000000 AS INTEGER)";
    const BYTE_ORDER: &'static str = "";

    fn store_time(time: DateTime<Utc>) -> i64 {
        time.timestamp_micros()
    }

    fn store_timeout(timeout: Duration) -> i64 {
        timeout_seconds(timeout) as i64 * 1_000_000
    }

    fn load_time(value: i64, column: &str) -> Result<DateTime<Utc>> {
        DateTime::from_timestamp_micros(value)
            .ok_or_else(|| corrupt(format_args!("{column} out of range: {value}")))
    }

    fn seconds(span: &str) -> String {
        format!("MAX(0, ({span}) / 1000000)")
    }

    fn minutes(count: &str) -> String {
        format!("({count}) * 60000000")
    }

    fn duplicate(error: &dyn DatabaseError) -> (&'static str, String) {
        let message = error.message();
        let entity = if message.contains("live_sessions.") {
            "session"
        } else if message.contains("session_participants.") {
            "participant"
        } else {
            "record"
        };
        (entity, message.to_owned())
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    /// SQLITE_BUSY (5) and SQLITE_LOCKED (6) with their extended codes: another writer held
    /// the lock past the busy timeout; retrying later works.
    fn is_transient(code: &str) -> bool {
        code.parse::<i32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
    }

    fn get<'r, T>(row: &'r Self::Row, column: &str) -> Result<T>
    where
        T: Decode<'r, Self> + Type<Self>,
    {
        row.try_get(column).map_err(map_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_locked_are_transient() {
        for code in ["5", "6", "261", "517", "262"] {
            assert!(Sqlite::is_transient(code), "{code}");
        }
        for code in ["1", "19", "2067", "1555", "787", "x"] {
            assert!(!Sqlite::is_transient(code), "{code}");
        }
    }
}
