//! The [`CalendarFeedStore`] port.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::query::CalendarQuery;
use super::token::FeedTokenHash;
use crate::error::Result;
use crate::ids::UserId;
use crate::session::LiveSession;

/// Calendar feed tokens, kept as hashes, and the sessions of the feeds.
///
/// A user has at most one token hash; a hash belongs to at most one user (stores keep it
/// unique). Storage failures are `Unavailable` or `Storage`, as for the other ports. The
/// calendar conformance cases (`calendar_feed_tests!`, feature `testing`) check every rule.
#[async_trait]
pub trait CalendarFeedStore: Debug + Send + Sync + 'static {
    /// Gives `user` the token hash `hash`, replacing (and so invalidating at once) the one the
    /// user had. `now` is recorded as the token's creation time.
    async fn set_feed_token(
        &self,
        user: &UserId,
        hash: &FeedTokenHash,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// The user whose token has this hash, or `None`.
    async fn feed_user(&self, hash: &FeedTokenHash) -> Result<Option<UserId>>;

    /// Removes `user`'s token. Returns whether there was one.
    async fn revoke_feed_token(&self, user: &UserId) -> Result<bool>;

    /// The sessions of a feed ([`CalendarQuery::includes`]; for a user, only the sessions the
    /// user has a participant record in or is on the roster of), ordered by start time then id, at most
    /// `query.limit`. Computed by the store (filtered, ordered and bounded in the database),
    /// with each session's participant count as
    /// [`SessionStore::get_session`](crate::SessionStore::get_session) gives it.
    async fn calendar_sessions(&self, query: &CalendarQuery) -> Result<Vec<LiveSession>>;
}
