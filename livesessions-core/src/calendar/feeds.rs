//! [`CalendarFeeds`]: the calendar feeds, with the caller checked.

use std::sync::Arc;

use super::port::CalendarFeedStore;
use super::query::CalendarQuery;
use super::token::FeedToken;
use crate::actor::Actor;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::service::require_user;
use crate::session::LiveSession;

/// The calendar feeds of one store: the public feed, and each user's own feed behind a
/// [`FeedToken`]. Managing a token needs a signed-in caller ([`Error::Unauthenticated`]
/// otherwise, before the store is touched); reading a feed needs nothing but the token.
///
/// ```
/// # #[cfg(feature = "memory")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use livesessions_core::calendar::CalendarFeeds;
/// use livesessions_core::{Actor, Error, MemoryStore, UserId};
///
/// let feeds = CalendarFeeds::new(Arc::new(MemoryStore::new()));
/// let ana = Actor::user(UserId::parse("ana").unwrap());
/// let first = feeds.rotate_token(Some(&ana)).await?;
/// assert!(feeds.user_feed(first.expose()).await?.1.is_empty());
///
/// let second = feeds.rotate_token(Some(&ana)).await?;
/// assert!(matches!(feeds.user_feed(first.expose()).await, Err(Error::NotFound { .. })));
/// feeds.revoke_token(Some(&ana)).await?;
/// assert!(matches!(feeds.user_feed(second.expose()).await, Err(Error::NotFound { .. })));
/// assert!(matches!(feeds.rotate_token(None).await, Err(Error::Unauthenticated)));
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct CalendarFeeds {
    store: Arc<dyn CalendarFeedStore>,
    clock: Arc<dyn Clock>,
}

impl CalendarFeeds {
    /// The feeds of `store`, on the system clock.
    pub fn new(store: Arc<dyn CalendarFeedStore>) -> Self {
        CalendarFeeds {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same on `clock` (tests, or the service's clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn CalendarFeedStore> {
        &self.store
    }

    /// A new feed token for the caller, replacing the caller's previous one (whose URL stops
    /// working at once). The answer is the only time the token is seen: stores keep its hash.
    pub async fn rotate_token(&self, caller: Option<&Actor>) -> Result<FeedToken> {
        let actor = require_user(caller)?;
        let token = FeedToken::generate();
        self.store
            .set_feed_token(&actor.user_id, &token.hash(), self.clock.now())
            .await?;
        Ok(token)
    }

    /// Removes the caller's feed token (nothing happens when there is none).
    pub async fn revoke_token(&self, caller: Option<&Actor>) -> Result<()> {
        let actor = require_user(caller)?;
        self.store.revoke_feed_token(&actor.user_id).await?;
        Ok(())
    }

    /// The public feed's sessions now.
    pub async fn public_feed(&self) -> Result<Vec<LiveSession>> {
        self.store
            .calendar_sessions(&CalendarQuery::public(self.clock.now()))
            .await
    }

    /// The owner of the token `token` (its text from the URL) and the sessions of the owner's
    /// feed now. A malformed, unknown or revoked token is the same [`Error::NotFound`]
    /// (entity `"calendar feed"`, no id), so an answer never tells whether a token existed.
    pub async fn user_feed(&self, token: &str) -> Result<(UserId, Vec<LiveSession>)> {
        let not_found = || Error::NotFound {
            entity: "calendar feed",
            id: String::new(),
        };
        let token = FeedToken::parse(token).ok_or_else(not_found)?;
        let user = self
            .store
            .feed_user(&token.hash())
            .await?
            .ok_or_else(not_found)?;
        let sessions = self
            .store
            .calendar_sessions(&CalendarQuery::of_user(user.clone(), self.clock.now()))
            .await?;
        Ok((user, sessions))
    }
}
