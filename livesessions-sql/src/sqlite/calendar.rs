//! [`CalendarFeedStore`] on SQLite: the shared statements of `crate::calendar`. The token
//! writes are single statements, each its own write transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use livesessions_core::calendar::{CalendarFeedStore, CalendarQuery, FeedTokenHash};
use livesessions_core::{LiveSession, Result, UserId};
use sqlx::Sqlite;

use super::statements::SQL;
use super::SqliteStore;
use crate::calendar::Calendar;

/// The shared calendar operations on SQLite.
type C = Calendar<Sqlite>;

#[async_trait]
impl CalendarFeedStore for SqliteStore {
    async fn set_feed_token(
        &self,
        user: &UserId,
        hash: &FeedTokenHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        C::set_token(&self.pool, &SQL.calendar, user, hash, now).await
    }

    async fn feed_user(&self, hash: &FeedTokenHash) -> Result<Option<UserId>> {
        C::feed_user(&self.pool, &SQL.calendar, hash).await
    }

    async fn revoke_feed_token(&self, user: &UserId) -> Result<bool> {
        C::revoke(&self.pool, &SQL.calendar, user).await
    }

    async fn calendar_sessions(&self, query: &CalendarQuery) -> Result<Vec<LiveSession>> {
        C::sessions(&self.pool, &SQL.calendar, query).await
    }
}
