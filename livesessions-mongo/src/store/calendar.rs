//! [`CalendarFeedStore`] on `live_session_calendar_feeds` (one document per user, unique on
//! the token's hash) and the feeds' queries: a `find` on `live_sessions` for the public feed,
//! an aggregation from the user's participant records for a user's feed, both filtered,
//! sorted and limited in the server.

use async_trait::async_trait;
use bson::{doc, Document};
use chrono::{DateTime, Utc};
use livesessions_core::calendar::{CalendarFeedStore, CalendarQuery, FeedTokenHash};
use livesessions_core::{Error, LiveSession, Result, UserId};
use mongodb::Collection;

use super::transaction::Failure;
use super::{all_documents, MongoStore};
use crate::documents::CALENDAR_FEEDS;
use crate::error::map_error;
use crate::queries;

impl MongoStore {
    fn calendar_feeds(&self) -> Collection<Document> {
        self.database.collection(CALENDAR_FEEDS)
    }

    /// Creates the calendar feeds' indexes (part of [`MongoStore::ensure_indexes`]).
    pub(super) async fn ensure_calendar_indexes(&self) -> Result<()> {
        self.calendar_feeds()
            .create_indexes(queries::calendar_feed_indexes())
            .await
            .map_err(map_error)?;
        self.sessions
            .create_indexes(queries::calendar_session_indexes())
            .await
            .map_err(map_error)?;
        Ok(())
    }
}

#[async_trait]
impl CalendarFeedStore for MongoStore {
    async fn set_feed_token(
        &self,
        user: &UserId,
        hash: &FeedTokenHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let update = doc! { "$set": {
            "tokenHash": hash.to_hex(),
            "createdAt": bson::DateTime::from_millis(now.timestamp_millis()),
        } };
        self.calendar_feeds()
            .update_one(queries::feed_user_filter(user), update)
            .upsert(true)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn feed_user(&self, hash: &FeedTokenHash) -> Result<Option<UserId>> {
        let Some(found) = self
            .calendar_feeds()
            .find_one(queries::feed_hash_filter(hash))
            .await
            .map_err(map_error)?
        else {
            return Ok(None);
        };
        let user = found.get_str("_id").map_err(|_| {
            Error::storage(std::io::Error::other(format!(
                "{CALENDAR_FEEDS}: a document without a string _id"
            )))
        })?;
        UserId::parse(user)
            .map(Some)
            .map_err(|e| Error::storage(std::io::Error::other(format!("{CALENDAR_FEEDS}: {e}"))))
    }

    async fn revoke_feed_token(&self, user: &UserId) -> Result<bool> {
        let result = self
            .calendar_feeds()
            .delete_one(queries::feed_user_filter(user))
            .await
            .map_err(map_error)?;
        Ok(result.deleted_count > 0)
    }

    async fn calendar_sessions(&self, query: &CalendarQuery) -> Result<Vec<LiveSession>> {
        let documents = match &query.user {
            None => {
                all_documents(
                    self.sessions
                        .find(queries::calendar_filter(query))
                        .sort(queries::calendar_sort())
                        .limit(i64::try_from(query.limit).unwrap_or(i64::MAX)),
                )
                .await?
            }
            Some(user) => {
                all_documents(
                    self.participants
                        .aggregate(queries::user_calendar_pipeline(user, query)),
                )
                .await?
            }
        };
        self.counted_sessions(&documents, None)
            .await
            .map_err(Failure::into_error)
    }
}
