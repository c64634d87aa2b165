//! The [`CalendarFeedStore`] of the [`MemoryStore`].

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::port::CalendarFeedStore;
use super::query::CalendarQuery;
use super::token::FeedTokenHash;
use crate::error::Result;
use crate::ids::UserId;
use crate::memory::MemoryStore;
use crate::session::LiveSession;

/// The feed tokens a [`MemoryStore`] keeps: each user's hash, and the reverse lookup.
#[derive(Debug, Default)]
pub(crate) struct FeedTokens {
    by_user: HashMap<UserId, FeedTokenHash>,
    by_hash: HashMap<FeedTokenHash, UserId>,
}

#[async_trait]
impl CalendarFeedStore for MemoryStore {
    async fn set_feed_token(
        &self,
        user: &UserId,
        hash: &FeedTokenHash,
        _now: DateTime<Utc>,
    ) -> Result<()> {
        self.with_calendar(|tokens, _, _, _| {
            if let Some(old) = tokens.by_user.insert(user.clone(), *hash) {
                tokens.by_hash.remove(&old);
            }
            tokens.by_hash.insert(*hash, user.clone());
        });
        Ok(())
    }

    async fn feed_user(&self, hash: &FeedTokenHash) -> Result<Option<UserId>> {
        Ok(self.with_calendar(|tokens, _, _, _| tokens.by_hash.get(hash).cloned()))
    }

    async fn revoke_feed_token(&self, user: &UserId) -> Result<bool> {
        Ok(
            self.with_calendar(|tokens, _, _, _| match tokens.by_user.remove(user) {
                Some(old) => {
                    tokens.by_hash.remove(&old);
                    true
                }
                None => false,
            }),
        )
    }

    async fn calendar_sessions(&self, query: &CalendarQuery) -> Result<Vec<LiveSession>> {
        Ok(self.with_calendar(|_, sessions, participants, rosters| {
            let mut found: Vec<LiveSession> = sessions
                .values()
                .filter(|s| query.includes(s))
                .filter(|s| match &query.user {
                    None => true,
                    Some(user) => {
                        participants
                            .get(&s.id)
                            .is_some_and(|joined| joined.contains_key(user))
                            || rosters
                                .get(&s.id)
                                .is_some_and(|roster| roster.contains_key(user))
                    }
                })
                .cloned()
                .collect();
            found.sort_by_key(|s| (s.fields.start_time, s.id));
            found.truncate(query.limit);
            found
        }))
    }
}
