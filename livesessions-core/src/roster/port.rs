//! The [`RosterStore`] port.

use std::fmt::Debug;

use async_trait::async_trait;

use super::member::RosterMember;
use super::query::{RosterPage, RosterQuery};
use crate::error::Result;
use crate::ids::{SessionId, UserId};

/// A session's roster, and the roster view with attendance statuses.
///
/// The roster conformance cases (`roster_tests!`, feature `testing`) check every rule. Storage
/// failures are `Unavailable` or `Storage`, as for the other ports.
#[async_trait]
pub trait RosterStore: Debug + Send + Sync + 'static {
    /// Adds `members` (distinct user ids) to the session's roster in one atomic operation: all
    /// of them or, on any error, none. A user already on the roster keeps their entry's
    /// `added_at` and `registered`; their name and email are replaced. `NotFound` when the
    /// session does not exist. Returns how many members were new.
    async fn add_roster_members(
        &self,
        session_id: SessionId,
        members: &[RosterMember],
    ) -> Result<u64>;

    /// Removes a member; their participant record, if any, stays (they become a walk-in).
    /// Returns whether they were on the roster.
    async fn remove_roster_member(&self, session_id: SessionId, user_id: &UserId) -> Result<bool>;

    /// One member, or `None`.
    async fn roster_member(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<RosterMember>>;

    /// A page of the roster view, computed by the store (never by loading every member into
    /// the application): every member and every participant not on the roster, each with
    /// [`StatusRule::status`](super::StatusRule::status) under `query.rule`, filtered by
    /// `query.status`, sorted by `query.sort` then user id ascending, `offset`/`limit` applied;
    /// `total` counts the filtered rows, `members` the roster, `counts` every row by status.
    /// `NotFound` when the session does not exist.
    async fn roster(&self, query: &RosterQuery) -> Result<RosterPage>;
}
