//! [`RosterStore`] on SQLite: the shared statements of `crate::roster`. Roster writes run in
//! `BEGIN IMMEDIATE`, as the join that reads the roster does.

use async_trait::async_trait;
use livesessions_core::roster::{RosterMember, RosterPage, RosterQuery, RosterStore};
use livesessions_core::{Result, SessionId, UserId};
use sqlx::Sqlite;

use super::statements::SQL;
use super::SqliteStore;
use crate::roster::Roster;

/// The shared roster operations on SQLite.
type R = Roster<Sqlite>;

#[async_trait]
impl RosterStore for SqliteStore {
    async fn add_roster_members(
        &self,
        session_id: SessionId,
        members: &[RosterMember],
    ) -> Result<u64> {
        R::add(self.write().await?, &SQL.roster, session_id, members).await
    }

    async fn remove_roster_member(&self, session_id: SessionId, user_id: &UserId) -> Result<bool> {
        R::remove(self.write().await?, &SQL.roster, session_id, user_id).await
    }

    async fn roster_member(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<RosterMember>> {
        R::member(&self.pool, &SQL.roster, session_id, user_id).await
    }

    async fn roster(&self, query: &RosterQuery) -> Result<RosterPage> {
        R::page(&self.pool, &SQL.roster, query).await
    }
}
