//! The event log on SQLite: one writer at a time, so events are numbered in commit order by
//! their `AUTOINCREMENT` rowid as they are appended, and readers need no numbering step.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use livesessions_core::events::{EventId, EventLog, LogPosition, LoggedEvent};
use livesessions_core::Result;
use sqlx::Sqlite;

use super::statements::SQL;
use super::SqliteStore;
use crate::queries::Queries;

/// The shared statements' runners on Sqlite.
type Q = Queries<Sqlite>;

impl SqliteStore {
    /// Wakes this store's waiting readers after a commit that appended `event`.
    pub(super) fn appended(&self, event: Option<i64>) {
        match event {
            Some(id) => self.waker.appended(id),
            None => self.waker.wake_all(),
        }
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn read_events(&self, after: EventId, limit: usize) -> Result<Vec<LoggedEvent>> {
        Q::read_events(&self.pool, &SQL.log.read, after, limit).await
    }

    async fn log_position(&self) -> Result<LogPosition> {
        Q::log_position(&self.pool, &SQL.log.position).await
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        Q::prune_events(self.write().await?, &SQL.log, before).await
    }

    /// Woken by this store's own commits (and its clones'); changes made by another process
    /// are seen after `max_wait`.
    async fn wait_for_events(&self, after: EventId, max_wait: Duration) {
        self.waker.wait(after, max_wait).await;
    }
}
