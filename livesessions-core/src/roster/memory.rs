//! The [`RosterStore`] of the [`MemoryStore`].

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::member::RosterMember;
use super::port::RosterStore;
use super::query::{RosterPage, RosterQuery, RosterRow};
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::memory::MemoryStore;

#[async_trait]
impl RosterStore for MemoryStore {
    async fn add_roster_members(
        &self,
        session_id: SessionId,
        members: &[RosterMember],
    ) -> Result<u64> {
        self.with_rosters(|rosters, sessions, _| {
            if !sessions.contains_key(&session_id) {
                return Err(Error::session_not_found(session_id));
            }
            let roster = rosters.entry(session_id).or_default();
            let mut added = 0;
            for member in members {
                match roster.get_mut(&member.user_id) {
                    Some(existing) => {
                        existing.user_name = member.user_name.clone();
                        existing.email = member.email.clone();
                    }
                    None => {
                        roster.insert(member.user_id.clone(), member.clone());
                        added += 1;
                    }
                }
            }
            Ok(added)
        })
    }

    async fn remove_roster_member(&self, session_id: SessionId, user_id: &UserId) -> Result<bool> {
        Ok(self.with_rosters(|rosters, _, _| {
            rosters
                .get_mut(&session_id)
                .is_some_and(|roster| roster.remove(user_id).is_some())
        }))
    }

    async fn roster_member(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<RosterMember>> {
        Ok(self.with_rosters(|rosters, _, _| {
            rosters
                .get(&session_id)
                .and_then(|roster| roster.get(user_id))
                .cloned()
        }))
    }

    async fn roster(&self, query: &RosterQuery) -> Result<RosterPage> {
        self.with_rosters(|rosters, sessions, participants| {
            if !sessions.contains_key(&query.session_id) {
                return Err(Error::session_not_found(query.session_id));
            }
            let empty_roster = BTreeMap::new();
            let empty_participants = BTreeMap::new();
            let roster = rosters.get(&query.session_id).unwrap_or(&empty_roster);
            let participants = participants
                .get(&query.session_id)
                .unwrap_or(&empty_participants);
            let mut rows: Vec<RosterRow> = roster
                .values()
                .filter_map(|m| {
                    RosterRow::new(
                        Some(m.clone()),
                        participants.get(&m.user_id).cloned(),
                        &query.rule,
                    )
                })
                .collect();
            rows.extend(
                participants
                    .values()
                    .filter(|p| !roster.contains_key(&p.user_id))
                    .filter_map(|p| RosterRow::new(None, Some(p.clone()), &query.rule)),
            );
            Ok(RosterPage::from_rows(rows, query))
        })
    }
}
