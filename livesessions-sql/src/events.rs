//! The event log both stores keep ([`EventLog`](livesessions_core::events::EventLog)): its
//! statements, the appends that run inside a change's transaction, reading, bounds and
//! pruning, written once over [`Dialect`].
//!
//! Every change appends its event in its own transaction (or, for the Postgres join, its own
//! statement), so an event exists if and only if its change committed. What differs between
//! the databases is how an event gets its id: SQLite writes one transaction at a time, so its
//! `AUTOINCREMENT` rowid already follows commit order; Postgres numbers committed events in a
//! separate step (`postgres/events.rs`). Both wake the readers waiting in
//! [`EventLog::wait_for_events`](livesessions_core::events::EventLog::wait_for_events) through a
//! [`LogWaker`].
//!
//! # Example
//!
//! Tailing a store's log by hand (an [`EventFeed`](livesessions_core::events::EventFeed) does
//! this, and broadcasts the events with their sessions):
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # async fn example() -> livesessions_core::Result<()> {
//! use std::time::Duration;
//! use livesessions_core::events::{EventId, EventLog as _};
//! use livesessions_sql::sqlite::SqliteStore;
//!
//! let store = SqliteStore::connect("sqlite://livesessions.db").await?;
//! store.migrate().await?;
//! let mut after = store.log_position().await?.last;
//! loop {
//!     for event in store.read_events(after, 500).await? {
//!         println!("{} {} {}", event.id, event.kind, event.session_id);
//!         after = event.id;
//!     }
//!     store.wait_for_events(after, Duration::from_secs(1)).await;
//! #   break;
//! }
//! # let _ = EventId::ZERO;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use livesessions_core::events::{EventId, EventKind, LogPosition, LoggedEvent};
use livesessions_core::{LiveSession, Result, SessionId, SessionStatus};
use sqlx::{Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type};
use tokio::sync::watch;
use uuid::Uuid;

use crate::dialect::{time, Dialect};
use crate::errors::map_error;
use crate::queries::Queries;
use crate::record::{corrupt, session_from_row};

/// The columns an event is read with.
const EVENT_COLUMNS: &str = "id, kind, session_id, at";

/// The statement that appends one event (parameters: kind, session id) at the database's
/// clock, to the table `events`.
pub(crate) fn insert_event<D: Dialect>(events: &str) -> String {
    let p = D::PARAMETER;
    format!(
        "INSERT INTO {events} (kind, session_id, at) VALUES ({p}1, {p}2, {})",
        D::NOW
    )
}

/// The statements on the log's tables that both databases run alike.
#[derive(Debug)]
pub(crate) struct LogStatements {
    /// Numbered events after an id, in id order (parameters: after, limit).
    pub read: String,
    /// The log's bounds: columns `last` and `pruned_through`.
    pub position: String,
    /// Moves the pruned floor up to the greatest id of the events appended before a time
    /// (parameter: the time).
    pub record_prune: String,
    /// Deletes the numbered events appended before a time (parameter: the time).
    pub delete_pruned: String,
}

impl LogStatements {
    /// The statements on the event table `events` and the one-row table `state`.
    pub(crate) fn new<D: Dialect>(events: &str, state: &str) -> Self {
        let p = D::PARAMETER;
        let greatest = D::GREATEST;
        LogStatements {
            read: format!(
                "SELECT {EVENT_COLUMNS} FROM {events} \
                 WHERE id IS NOT NULL AND id > {p}1 ORDER BY id LIMIT {p}2"
            ),
            // Pruned ids count too: `last` stays put when every event was pruned.
            position: format!(
                "SELECT {greatest}(COALESCE((SELECT max(id) FROM {events}), 0), pruned_through) \
                    AS last, pruned_through \
                 FROM {state}"
            ),
            record_prune: format!(
                "UPDATE {state} SET pruned_through = {greatest}(pruned_through, \
                    COALESCE((SELECT max(id) FROM {events} \
                              WHERE id IS NOT NULL AND at < {p}1), 0))"
            ),
            delete_pruned: format!("DELETE FROM {events} WHERE id IS NOT NULL AND at < {p}1"),
        }
    }
}

/// The statements a logged change needs besides its own.
pub(crate) struct LoggedStatements<'s> {
    /// Appends an event (parameters: kind, session id); returns the column `id`, the event's
    /// id where the database numbers events as they are appended, NULL otherwise.
    pub append: &'s str,
    /// The stored version of a session ([`Queries::version_mismatch`]).
    pub version_of: &'s str,
    /// Run in order, with the session id, after a session with a capacity is written and
    /// before its event (PostgreSQL spreads its seat shards again); none on SQLite.
    pub capped: &'s [String],
}

impl<D> Queries<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D> + Type<D>,
    for<'q> Option<Uuid>: Encode<'q, D> + Type<D>,
    for<'q> Option<D::Time>: Encode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i16: Encode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
{
    /// Appends a `kind` event of `session` by `sql` ([`LoggedStatements::append`]); the id
    /// when the database gives it at once.
    pub(crate) async fn append(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        kind: EventKind,
        session: SessionId,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(sql)
            .bind(kind.as_str())
            .bind(*session.as_uuid())
            .fetch_one(executor)
            .await
            .map_err(map_error::<D>)?;
        D::get::<Option<i64>>(&row, "id")
    }

    /// Inserts `session` by `insert` and appends `created` (and `live` for a live session) in
    /// `tx`, then commits; the last event's id as [`Self::append`] gives it. `capped` as
    /// [`LoggedStatements::capped`].
    pub(crate) async fn insert_logged(
        mut tx: Transaction<'static, D>,
        insert: &str,
        append: &str,
        capped: &[String],
        session: &LiveSession,
    ) -> Result<Option<i64>> {
        Self::insert_session(&mut *tx, insert, session).await?;
        Self::written_capped(&mut tx, capped, session).await?;
        let mut last = Self::append(&mut *tx, append, EventKind::Created, session.id).await?;
        if session.status == SessionStatus::Live {
            last = Self::append(&mut *tx, append, EventKind::Live, session.id).await?;
        }
        tx.commit().await.map_err(map_error::<D>)?;
        Ok(last)
    }

    /// Inserts every session of a series by `insert`, each with its `created` (and `live`)
    /// event, in `tx`, then commits: all of them or, on any error, none. The last event's id
    /// as [`Self::append`] gives it. `capped` as [`LoggedStatements::capped`].
    pub(crate) async fn insert_series_logged(
        mut tx: Transaction<'static, D>,
        insert: &str,
        append: &str,
        capped: &[String],
        sessions: &[LiveSession],
    ) -> Result<Option<i64>> {
        let mut last = None;
        for session in sessions {
            Self::insert_session(&mut *tx, insert, session).await?;
            Self::written_capped(&mut tx, capped, session).await?;
            last = Self::append(&mut *tx, append, EventKind::Created, session.id).await?;
            if session.status == SessionStatus::Live {
                last = Self::append(&mut *tx, append, EventKind::Live, session.id).await?;
            }
        }
        tx.commit().await.map_err(map_error::<D>)?;
        Ok(last)
    }

    /// Runs `capped` ([`LoggedStatements::capped`]) in `tx` for `session`, just written, if it
    /// has a capacity.
    async fn written_capped(
        tx: &mut Transaction<'static, D>,
        capped: &[String],
        session: &LiveSession,
    ) -> Result<()> {
        if session.fields.capacity.is_none() {
            return Ok(());
        }
        for statement in capped {
            sqlx::query(statement)
                .bind(*session.id.as_uuid())
                .execute(&mut **tx)
                .await
                .map_err(map_error::<D>)?;
        }
        Ok(())
    }

    /// Writes `session` by the versioned update `update` and appends a `kind` event in `tx`,
    /// then commits. A version mismatch rolls back and is explained from `pool`.
    pub(crate) async fn update_logged(
        mut tx: Transaction<'static, D>,
        pool: &Pool<D>,
        update: &str,
        sql: LoggedStatements<'_>,
        session: &LiveSession,
        kind: EventKind,
    ) -> Result<(LiveSession, Option<i64>)> {
        let Some(row) = Self::update_session(&mut *tx, update, session).await? else {
            drop(tx);
            return Err(Self::version_mismatch(pool, sql.version_of, session).await);
        };
        let updated = session_from_row::<D>(&row)?;
        Self::written_capped(&mut tx, sql.capped, &updated).await?;
        let id = Self::append(&mut *tx, sql.append, kind, session.id).await?;
        tx.commit().await.map_err(map_error::<D>)?;
        Ok((updated, id))
    }

    /// At most `limit` numbered events after `after`, by `sql` ([`LogStatements::read`]).
    pub(crate) async fn read_events(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        after: EventId,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        sqlx::query(sql)
            .bind(after.get())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(executor)
            .await
            .map_err(map_error::<D>)?
            .iter()
            .map(event_from_row::<D>)
            .collect()
    }

    /// The log's bounds, by `sql` ([`LogStatements::position`]).
    pub(crate) async fn log_position(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
    ) -> Result<LogPosition> {
        let row = sqlx::query(sql)
            .fetch_one(executor)
            .await
            .map_err(map_error::<D>)?;
        Ok(LogPosition {
            last: event_id(D::get(&row, "last")?)?,
            pruned_through: event_id(D::get(&row, "pruned_through")?)?,
        })
    }

    /// Deletes the numbered events appended before `before` in `tx`, after moving the pruned
    /// floor up to the greatest of their ids, then commits. The caller's transaction must keep
    /// events from being numbered meanwhile (SQLite's write lock, Postgres's numbering lock), so
    /// that both statements see the same events.
    pub(crate) async fn prune_events(
        mut tx: Transaction<'static, D>,
        sql: &LogStatements,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        sqlx::query(&sql.record_prune)
            .bind(D::store_time(before))
            .execute(&mut *tx)
            .await
            .map_err(map_error::<D>)?;
        let done = sqlx::query(&sql.delete_pruned)
            .bind(D::store_time(before))
            .execute(&mut *tx)
            .await
            .map_err(map_error::<D>)?;
        tx.commit().await.map_err(map_error::<D>)?;
        Ok(D::rows_affected(&done))
    }
}

/// An event id read from the database.
fn event_id(value: i64) -> Result<EventId> {
    EventId::new(value).ok_or_else(|| corrupt(format_args!("negative event id {value}")))
}

/// The event of a row selected with the columns [`EVENT_COLUMNS`].
fn event_from_row<D: Dialect>(row: &D::Row) -> Result<LoggedEvent>
where
    for<'r> Uuid: Decode<'r, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    let kind: String = D::get(row, "kind")?;
    Ok(LoggedEvent {
        id: event_id(D::get(row, "id")?)?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| corrupt(format_args!("unknown event kind {kind:?}")))?,
        session_id: SessionId::from_uuid(D::get(row, "session_id")?),
        at: time::<D>(row, "at")?,
    })
}

/// Wakes the readers waiting in [`EventLog::wait_for_events`](livesessions_core::events::EventLog::wait_for_events):
/// it holds the greatest event id this process knows to exist, and every change to it (or a
/// plain [`LogWaker::wake_all`]) wakes every waiter.
#[derive(Debug)]
pub(crate) struct LogWaker {
    last: watch::Sender<i64>,
}

impl Default for LogWaker {
    fn default() -> Self {
        LogWaker::new()
    }
}

impl LogWaker {
    pub(crate) fn new() -> Self {
        LogWaker {
            last: watch::Sender::new(0),
        }
    }

    /// The event `id` exists: wakes the waiters if it is news.
    pub(crate) fn appended(&self, id: i64) {
        self.last.send_if_modified(|last| {
            let news = id > *last;
            *last = (*last).max(id);
            news
        });
    }

    /// Wakes every waiter (events may have been appended, ids unknown).
    pub(crate) fn wake_all(&self) {
        self.last.send_modify(|_| {});
    }

    /// Returns at once if an event after `after` is known to exist, otherwise on the next wake
    /// or after `max_wait`.
    pub(crate) async fn wait(&self, after: EventId, max_wait: Duration) {
        let mut seen = self.last.subscribe();
        if *seen.borrow_and_update() > after.get() {
            return;
        }
        let _ = tokio::time::timeout(max_wait, seen.changed()).await;
    }
}
