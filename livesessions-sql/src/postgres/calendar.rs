//! [`CalendarFeedStore`] on PostgreSQL: the shared statements of `crate::calendar` on the
//! store's schema.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use livesessions_core::calendar::{CalendarFeedStore, CalendarQuery, FeedTokenHash};
use livesessions_core::{LiveSession, Result, UserId};
use sqlx::Postgres;

use super::PostgresStore;
use crate::calendar::Calendar;

/// The shared calendar operations on Postgres.
type C = Calendar<Postgres>;

#[async_trait]
impl CalendarFeedStore for PostgresStore {
    async fn set_feed_token(
        &self,
        user: &UserId,
        hash: &FeedTokenHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        C::set_token(&self.pool, &self.sql.calendar, user, hash, now).await
    }

    async fn feed_user(&self, hash: &FeedTokenHash) -> Result<Option<UserId>> {
        C::feed_user(&self.pool, &self.sql.calendar, hash).await
    }

    async fn revoke_feed_token(&self, user: &UserId) -> Result<bool> {
        C::revoke(&self.pool, &self.sql.calendar, user).await
    }

    async fn calendar_sessions(&self, query: &CalendarQuery) -> Result<Vec<LiveSession>> {
        C::sessions(&self.pool, &self.sql.calendar, query).await
    }
}
