//! [`RosterStore`] on PostgreSQL: the shared statements of `crate::roster` on the store's
//! schema. Roster writes take the session row `FOR NO KEY UPDATE` (joins go on), and before
//! their commit move its `seat_epoch` and spread a capped session's seat shards again (see the
//! module `seats`).

use async_trait::async_trait;
use livesessions_core::roster::{RosterMember, RosterPage, RosterQuery, RosterStore};
use livesessions_core::{Result, SessionId, UserId};
use sqlx::Postgres;

use super::{map_error, PostgresStore};
use crate::roster::Roster;

/// The shared roster operations on Postgres.
type R = Roster<Postgres>;

#[async_trait]
impl RosterStore for PostgresStore {
    async fn add_roster_members(
        &self,
        session_id: SessionId,
        members: &[RosterMember],
    ) -> Result<u64> {
        let tx = self.pool.begin().await.map_err(map_error)?;
        R::add(tx, &self.sql.roster, session_id, members).await
    }

    async fn remove_roster_member(&self, session_id: SessionId, user_id: &UserId) -> Result<bool> {
        let tx = self.pool.begin().await.map_err(map_error)?;
        R::remove(tx, &self.sql.roster, session_id, user_id).await
    }

    async fn roster_member(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<RosterMember>> {
        R::member(&self.pool, &self.sql.roster, session_id, user_id).await
    }

    async fn roster(&self, query: &RosterQuery) -> Result<RosterPage> {
        R::page(&self.pool, &self.sql.roster, query).await
    }
}
