//! Attendance use cases: joining, heartbeats and leaving, as the signed-in caller.

use super::{require_user, LiveSessions};
use crate::actor::Actor;
use crate::attendance::{Joiner, Participant};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::SessionId;
use crate::ports::{JoinOutcome, JoinRequest};
use crate::values::{Email, UserName};

/// A join as a client asks for it. Identity comes from the [`Actor`]; `user_id`, if given,
/// must equal the actor's (else [`Error::Forbidden`]). `user_name` and `email` are used only
/// when the actor's token carries none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinInput {
    /// The session.
    pub session_id: String,
    /// The user id the client believes it has.
    pub user_id: Option<String>,
    /// Display name, when the token has none.
    pub user_name: Option<String>,
    /// Email, when the token has none.
    pub email: Option<String>,
}

impl LiveSessions {
    /// Joins a session as the signed-in caller. Counts the user once however often they join.
    pub async fn join(&self, caller: Option<&Actor>, input: JoinInput) -> Result<JoinOutcome> {
        let actor = require_user(caller)?;
        let mut errors = Vec::new();
        let session_id = SessionId::parse_field(&input.session_id, "sessionId")
            .map_err(|e| errors.push(e))
            .ok();
        if let Some(claimed) = input.user_id.as_deref() {
            if claimed != actor.user_id.as_str() {
                return Err(Error::Forbidden);
            }
        }
        let name = actor
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .or(input.user_name.as_deref());
        let email = actor
            .email
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .or(input.email.as_deref());
        let user_name = UserName::parse(name.unwrap_or_default())
            .map_err(|e| errors.push(e))
            .ok();
        let email = Email::parse(email.unwrap_or_default())
            .map_err(|e| errors.push(e))
            .ok();
        let (Some(session_id), Some(user_name), Some(email)) = (session_id, user_name, email)
        else {
            return Err(Error::Validation(errors));
        };
        let outcome = self
            .store
            .join(&JoinRequest {
                session_id,
                joiner: Joiner {
                    user_id: actor.user_id.clone(),
                    user_name,
                    email,
                },
                presence: self.presence(),
                admin: actor.admin,
            })
            .await?;
        if outcome.first_join {
            self.publish(EventKind::Participants, &outcome.session);
        }
        Ok(outcome)
    }

    /// Records that the signed-in caller is still watching.
    pub async fn heartbeat(&self, caller: Option<&Actor>, id: SessionId) -> Result<Participant> {
        let actor = require_user(caller)?;
        self.store
            .heartbeat(id, &actor.user_id, self.presence())
            .await
    }

    /// Records that the signed-in caller left.
    pub async fn leave(&self, caller: Option<&Actor>, id: SessionId) -> Result<Participant> {
        let actor = require_user(caller)?;
        self.store.leave(id, &actor.user_id, self.presence()).await
    }
}
