//! Roster use cases: an admin's roster with statuses, adding and removing members, and a
//! user's self-registration.

use super::{require_admin, require_user, LiveSessions};
use crate::actor::Actor;
use crate::error::{Conflict, Error, Result};
use crate::ids::{SessionId, UserId};
use crate::roster::{MemberInput, RosterMember, RosterPage, RosterQuery, RosterView, StatusRule};
use crate::session::{LiveSession, SessionStatus};
use crate::values::{Email, UserName};

impl LiveSessions {
    /// The status rule of `session` now: its live time, its threshold and its late rule.
    pub fn status_rule(&self, session: &LiveSession) -> StatusRule {
        StatusRule::for_session(session, self.clock.now(), self.settings.presence_timeout)
    }

    /// Adds members to a session's roster (admin), all or nothing
    /// ([`MemberInput::validate_all`]). Returns how many were new.
    pub async fn add_to_roster(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        rows: &[MemberInput],
    ) -> Result<u64> {
        require_admin(caller)?;
        let members = MemberInput::validate_all(rows, self.clock.now())?;
        self.store.add_roster_members(id, &members).await
    }

    /// Removes a member from a session's roster (admin); `NotFound` when they are not on it.
    /// Their attendance, if any, stays.
    pub async fn remove_from_roster(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        user_id: &UserId,
    ) -> Result<()> {
        require_admin(caller)?;
        if self.store.remove_roster_member(id, user_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound {
                entity: "roster member",
                id: user_id.to_string(),
            })
        }
    }

    /// A page of a session's roster view with statuses (admin).
    pub async fn roster(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        view: RosterView,
    ) -> Result<RosterPage> {
        require_admin(caller)?;
        if !(1..=RosterQuery::MAX_LIMIT).contains(&view.limit) {
            return Err(Error::invalid(
                "limit",
                "out_of_range",
                format!("Use a number from 1 to {}.", RosterQuery::MAX_LIMIT),
            ));
        }
        let session = self.load(id).await?;
        self.store
            .roster(&RosterQuery {
                session_id: id,
                rule: self.status_rule(&session),
                status: view.status,
                sort: view.sort,
                order: view.order,
                offset: view.offset,
                limit: view.limit,
            })
            .await
    }

    /// Adds the signed-in caller to a session's roster where its `registration` is `open` and
    /// it has neither ended nor been cancelled (else `Conflict(RegistrationClosed)`). The name
    /// and email come from the caller's token, else from `user_name` and `email`. Registering
    /// again changes nothing. Returns the caller's roster entry.
    pub async fn register(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        user_name: Option<&str>,
        email: Option<&str>,
    ) -> Result<RosterMember> {
        let actor = require_user(caller)?;
        let session = self.load(id).await?;
        if !session.fields.registration.is_open()
            || matches!(
                session.status,
                SessionStatus::Ended | SessionStatus::Cancelled
            )
        {
            return Err(Error::Conflict(Conflict::RegistrationClosed));
        }
        if let Some(member) = self.store.roster_member(id, &actor.user_id).await? {
            return Ok(member);
        }
        let pick = |token: &Option<String>, given: Option<&str>| {
            token
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .or(given)
                .unwrap_or_default()
                .to_owned()
        };
        let mut errors = Vec::new();
        let user_name = UserName::parse(&pick(&actor.name, user_name))
            .map_err(|e| errors.push(e))
            .ok();
        let email = Email::parse(&pick(&actor.email, email))
            .map_err(|e| errors.push(e))
            .ok();
        let (Some(user_name), Some(email)) = (user_name, email) else {
            return Err(Error::Validation(errors));
        };
        let member = RosterMember {
            user_id: actor.user_id.clone(),
            user_name,
            email,
            registered: true,
            added_at: self.clock.now(),
        };
        self.store
            .add_roster_members(id, std::slice::from_ref(&member))
            .await?;
        Ok(self
            .store
            .roster_member(id, &actor.user_id)
            .await?
            .unwrap_or(member))
    }

    /// The signed-in caller's roster entry in a session, or `None` (to show "Registered").
    pub async fn my_roster_entry(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
    ) -> Result<Option<RosterMember>> {
        let actor = require_user(caller)?;
        self.load(id).await?;
        self.store.roster_member(id, &actor.user_id).await
    }

    /// Removes the signed-in caller's own registration (only one they made themself: an
    /// admin's roster entry stays, `Forbidden`). Returns whether there was one.
    pub async fn unregister(&self, caller: Option<&Actor>, id: SessionId) -> Result<bool> {
        let actor = require_user(caller)?;
        match self.store.roster_member(id, &actor.user_id).await? {
            None => {
                self.load(id).await?;
                Ok(false)
            }
            Some(member) if member.registered => {
                self.store.remove_roster_member(id, &actor.user_id).await
            }
            Some(_) => Err(Error::Forbidden),
        }
    }
}
