//! [`RosterStore`] on `live_session_roster_members` (one document per session and user,
//! unique on {sessionId, userId}), the restricted sessions' check of a join, and the roster
//! view, computed by one aggregation ([`queries::roster_view_pipeline`]).
//!
//! Adding members is one ordered `update` command of upserts (one per member). Where the
//! deployment has transactions it runs in one with the check that the session exists: all
//! members or none. Without transactions the session is checked first and the command sent
//! next; should it fail part way (the server goes away, a document is refused), the members
//! before the failing one are on the roster, added or updated, and the others are not: the
//! error is reported, and sending the same members again completes the roster (each upsert is
//! idempotent), though its count of new members then leaves out those the failed attempt
//! added.

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use livesessions_core::roster::{
    AttendanceStatus, RosterMember, RosterPage, RosterQuery, RosterRow, RosterStore, StatusCounts,
};
use livesessions_core::{Error, Result, SessionId, UserId};
use mongodb::action::Action;
use mongodb::error::{ErrorKind, WriteError, WriteFailure};
use mongodb::{ClientSession, Collection};

use super::analytics::{facet_first, facet_rows};
use super::transaction::{detached, in_transaction, Failure};
use super::{all_documents, MongoStore};
use crate::codec::{participant_from_document, roster_member_from_document, DocumentError, Reader};
use crate::documents::ROSTER_MEMBERS;
use crate::error::map_error;
use crate::queries;

impl MongoStore {
    fn roster_members(&self) -> Collection<Document> {
        self.database.collection(ROSTER_MEMBERS)
    }

    /// Creates the roster's indexes (part of [`MongoStore::ensure_indexes`]).
    pub(super) async fn ensure_roster_indexes(&self) -> Result<()> {
        self.roster_members()
            .create_indexes(queries::roster_indexes())
            .await
            .map_err(map_error)?;
        Ok(())
    }

    /// The restricted sessions' check of a join (only they pay this read): `NotOnRoster`
    /// unless `user` is on the roster of session `id`. Read in the join's transaction, if any.
    pub(super) async fn require_roster_member(
        &self,
        id: SessionId,
        user: &UserId,
        s: Option<&mut ClientSession>,
    ) -> std::result::Result<(), Failure> {
        let found = self
            .roster_members()
            .find_one(queries::roster_member_filter(id, user))
            .projection(doc! { "_id": 1 })
            .optional(s, |a, s| a.session(s))
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::NotOnRoster.into()),
        }
    }

    /// Deletes the roster of session `id` (part of deleting the session).
    pub(super) async fn delete_roster(
        &self,
        id: SessionId,
        s: Option<&mut ClientSession>,
    ) -> std::result::Result<(), Failure> {
        self.roster_members()
            .delete_many(queries::roster_of(id))
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(())
    }

    /// Checks the session exists, then upserts `members` with one ordered `update` command;
    /// answers how many were new.
    async fn add_roster_steps(
        &self,
        id: SessionId,
        members: &[RosterMember],
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<u64, Failure> {
        let exists = self
            .sessions
            .find_one(queries::session_filter(id))
            .projection(doc! { "_id": 1 })
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?
            .is_some();
        if !exists {
            return Err(Error::session_not_found(id).into());
        }
        let reply = self
            .database
            .run_command(queries::roster_upsert_command(id, members))
            .optional(s, |a, s| a.session(s))
            .await?;
        upserted_count(&reply)
    }
}

/// How many documents the reply of an `update` command inserted (`upserted`), or its first
/// write error as the driver's error (so that a duplicate key is one, as for the driver's
/// own writes).
fn upserted_count(reply: &Document) -> std::result::Result<u64, Failure> {
    if let Ok(errors) = reply.get_array("writeErrors") {
        if let Some(Bson::Document(first)) = errors.first() {
            let r = Reader::new(first, ROSTER_MEMBERS);
            let code = r.opt_int("code")?.unwrap_or(0);
            let message = r.opt_str("errmsg")?.unwrap_or_default();
            let write: std::result::Result<WriteError, _> = bson::from_document(doc! {
                "code": i32::try_from(code).unwrap_or(0),
                "codeName": r.opt_str("codeName")?.unwrap_or_default(),
                "errmsg": message,
            });
            return Err(match write {
                Ok(write) => {
                    Failure::Driver(ErrorKind::Write(WriteFailure::WriteError(write)).into())
                }
                Err(_) => Failure::Domain(Error::storage(std::io::Error::other(format!(
                    "adding roster members failed ({code}): {message}"
                )))),
            });
        }
    }
    Ok(reply
        .get_array("upserted")
        .map_or(0, |upserted| upserted.len() as u64))
}

/// A row of the roster view: the participant document (if the user joined) with the roster
/// entry under `member` (if any) and the computed fields.
fn roster_row(row: &Document) -> std::result::Result<RosterRow, DocumentError> {
    let r = Reader::new(row, ROSTER_MEMBERS);
    let member = match row.get("member") {
        Some(Bson::Document(member)) => Some(roster_member_from_document(member)?),
        _ => None,
    };
    let participant = match row.get("joinTime") {
        None | Some(Bson::Null) => None,
        Some(_) => Some(participant_from_document(row)?),
    };
    let rank = r.int("statusRank")?;
    let status = AttendanceStatus::from_rank(rank)
        .ok_or_else(|| r.error("statusRank", format!("is not a status rank: {rank}")))?;
    let (user_id, user_name, email) = match (&member, &participant) {
        (Some(m), _) => (m.user_id.clone(), m.user_name.clone(), m.email.clone()),
        (None, Some(p)) => (p.user_id.clone(), p.user_name.clone(), p.email.clone()),
        (None, None) => {
            return Err(r.error("member", "is missing from a row without a participant"))
        }
    };
    Ok(RosterRow {
        user_id,
        user_name,
        email,
        member,
        participant,
        watch_seconds_now: r.int("watchSecondsNow")?,
        status,
        late: r.opt_bool("late")?.unwrap_or(false),
    })
}

/// The counts of a roster view's `counts` document (zero without one: no rows).
pub(super) fn status_counts(
    counts: Option<&Document>,
) -> std::result::Result<(StatusCounts, u64), DocumentError> {
    let Some(counts) = counts else {
        return Ok((StatusCounts::default(), 0));
    };
    let r = Reader::new(counts, ROSTER_MEMBERS);
    Ok((
        StatusCounts {
            present: r.count("present")?,
            partial: r.count("partial")?,
            lobby_only: r.count("lobbyOnly")?,
            absent: r.count("absent")?,
            late: r.count("late")?,
        },
        r.count("members")?,
    ))
}

#[async_trait]
impl RosterStore for MongoStore {
    async fn add_roster_members(
        &self,
        session_id: SessionId,
        members: &[RosterMember],
    ) -> Result<u64> {
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.add_roster_steps(session_id, members, s))
        } else {
            // The check and the command run to their end even if the caller gives up.
            let store = self.clone();
            let members = members.to_vec();
            detached(async move {
                store
                    .add_roster_steps(session_id, &members, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn remove_roster_member(&self, session_id: SessionId, user_id: &UserId) -> Result<bool> {
        let deleted = self
            .roster_members()
            .delete_one(queries::roster_member_filter(session_id, user_id))
            .await
            .map_err(map_error)?;
        Ok(deleted.deleted_count > 0)
    }

    async fn roster_member(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<RosterMember>> {
        let found = self
            .roster_members()
            .find_one(queries::roster_member_filter(session_id, user_id))
            .await
            .map_err(map_error)?;
        Ok(found
            .as_ref()
            .map(roster_member_from_document)
            .transpose()?)
    }

    async fn roster(&self, query: &RosterQuery) -> Result<RosterPage> {
        self.require_session(query.session_id).await?;
        let results = all_documents(
            self.roster_members()
                .aggregate(queries::roster_view_pipeline(query)),
        )
        .await?;
        let (counts, members) = status_counts(facet_first(&results, "counts"))?;
        let total = match facet_first(&results, "total") {
            Some(total) => Reader::new(total, ROSTER_MEMBERS).count("n")?,
            None => 0,
        };
        let rows = facet_rows(&results, "rows")
            .map(roster_row)
            .collect::<std::result::Result<Vec<_>, DocumentError>>()?;
        Ok(RosterPage {
            rows,
            total,
            members,
            counts,
        })
    }
}
