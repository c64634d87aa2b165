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
//! changes in the same statement as the insert, and so does the join's `participants` event.
//! A capped session's walk-in seats are spread over the same rows (the module `seats`): a
//! walk-in's first join takes one from its shard in the row update that counts it.
//! The rationale, with the join/end interlock, is in docs/ARCHITECTURE.md ("Concurrency in the
//! stores").
//!
//! # The event log
//!
//! The store is an [`EventLog`](livesessions_core::events::EventLog). Changes append their
//! events with no id; readers first number the committed ones in a short transaction under an
//! advisory lock, so ids follow the order events became visible (coalescing waiting
//! `participants` events to the last of each session). Changes other than joins `NOTIFY` a
//! channel of the schema at commit, and `wait_for_events` listens on it with one connection
//! per store, outside its pool. Details in the module `events`.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use livesessions_core::{Error, Result};
use sqlx::error::DatabaseError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Connection as _, Decode, Executor as _, Postgres, Row as _, Type};

use crate::dialect::{timeout_seconds, Dialect};
use crate::errors::map_migrate_error;

mod calendar;
mod events;
mod roster;
mod search_index;
mod seats;
mod shards;
mod statements;
mod store;
mod thumbnails;
mod webhooks;

pub use thumbnails::PostgresThumbnails;

use events::Listener;
use search_index::SearchIndex;
use statements::Statements;

/// The migrations of `migrations/postgres`, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The statements on the default schema, shared by every store that uses it.
static DEFAULT_STATEMENTS: LazyLock<Arc<Statements>> =
    LazyLock::new(|| Arc::new(Statements::new(DEFAULT_SCHEMA)));

/// The schema used when none is configured.
pub const DEFAULT_SCHEMA: &str = "public";

/// A store on PostgreSQL. Clones share the pool and the listener of the event log.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: Arc<str>,
    sql: Arc<Statements>,
    listener: Arc<Listener>,
    search_index: Arc<SearchIndex>,
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
            sql: Arc::clone(&DEFAULT_STATEMENTS),
            listener: Arc::new(Listener::default()),
            search_index: Arc::default(),
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
            sql: Arc::new(Statements::new(schema)),
            listener: Arc::new(Listener::default()),
            search_index: Arc::default(),
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
    ///
    /// Search is indexed by a `pg_trgm` trigram index (migration `0010_search.sql`). When
    /// the role may not create that extension, the server logs a WARNING and search stays
    /// unindexed (correct, slower on many sessions); after `CREATE EXTENSION pg_trgm` by a
    /// superuser, the next `migrate` creates the index.
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
        MIGRATOR
            .run(&mut *conn)
            .await
            .map_err(map_migrate_error::<Postgres>)?;
        // The search index needs the pg_trgm extension, which migration 0010 may have been
        // unable to install; it is created on a later run once it is there (a no-op when
        // it exists, a WARNING from the server while the extension is still missing).
        let indexed: bool = sqlx::query_scalar("SELECT livesessions_search_indexes()")
            .fetch_one(&mut *conn)
            .await
            .map_err(map_error)?;
        self.search_index.set(indexed);
        Ok(())
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
    crate::errors::map_error::<Postgres>(error)
}

impl Dialect for Postgres {
    type Time = DateTime<Utc>;
    type Timeout = Duration;

    const PARAMETER: char = '$';
    const PARTICIPANT: &'static str = "p.";
    const LEAST: &'static str = "LEAST";
    const GREATEST: &'static str = "GREATEST";
    const NOW: &'static str = "now()";
    const BYTE_ORDER: &'static str = " COLLATE \"C\"";

    fn store_time(time: DateTime<Utc>) -> DateTime<Utc> {
        time
    }

    fn store_timeout(timeout: Duration) -> Duration {
        Duration::from_secs(timeout_seconds(timeout))
    }

    fn load_time(value: DateTime<Utc>, _column: &str) -> Result<DateTime<Utc>> {
        Ok(value)
    }

    /// `date_part` gives a double, which is exact here (whole microseconds divided by 10^6,
    /// far below 2^53) and much cheaper per row than `EXTRACT`'s numeric.
    fn seconds(span: &str) -> String {
        format!("GREATEST(0, FLOOR(date_part('epoch', {span})))::bigint")
    }

    fn minutes(count: &str) -> String {
        format!("({count}) * interval '1 minute'")
    }

    fn duplicate(error: &dyn DatabaseError) -> (&'static str, String) {
        let entity = match error.constraint() {
            Some(c) if c.starts_with("live_sessions") => "session",
            Some(c) if c.starts_with("session_participants") => "participant",
            _ => "record",
        };
        (entity, error.constraint().unwrap_or_default().to_owned())
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    fn is_transient(code: &str) -> bool {
        code.starts_with("08")
            || matches!(
                code,
                "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
            )
    }

    fn get<'r, T>(row: &'r Self::Row, column: &str) -> Result<T>
    where
        T: Decode<'r, Self> + Type<Self>,
    {
        row.try_get(column).map_err(map_error)
    }
}

#[cfg(test)]
mod explain;
#[cfg(test)]
mod pgbench;

#[cfg(test)]
mod tests;
