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
use crate::error::{classify, map_error, ErrorClass};
use crate::queries;

impl MongoStore {
    pub(super) fn roster_members(&self) -> Collection<Document> {
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
    /// answers how many were new. Without a transaction, a duplicate key (a concurrent add
    /// inserted a member first) sends the command again: what the first attempt upserted is
    /// counted, the rest of the members are upserted again (in a transaction the whole
    /// transaction runs again instead).
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
        let mut added = 0;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let reply = self
                .database
                .run_command(queries::roster_upsert_command(id, members))
                .optional(s.as_deref_mut(), |a, s| a.session(s))
                .await?;
            let (upserted, failure) = read_update_reply(&reply)?;
            added += upserted;
            match failure {
                None => return Ok(added),
                Some(error)
                    if s.is_none()
                        && attempt < 3
                        && classify(&error) == ErrorClass::DuplicateKey => {}
                Some(error) => return Err(error.into()),
            }
        }
    }
}

/// What the reply of an `update` command says: how many documents it inserted (`upserted`),
/// and its first write error as the driver's error (so that a duplicate key is one, as for
/// the driver's own writes). A reply that cannot be read is a storage failure.
fn read_update_reply(
    reply: &Document,
) -> std::result::Result<(u64, Option<mongodb::error::Error>), Failure> {
    let upserted = reply
        .get_array("upserted")
        .map_or(0, |upserted| upserted.len() as u64);
    let Some(Bson::Document(first)) = reply
        .get_array("writeErrors")
        .ok()
        .and_then(|errors| errors.first())
    else {
        return Ok((upserted, None));
    };
    let r = Reader::new(first, ROSTER_MEMBERS);
    let code = r.opt_int("code")?.unwrap_or(0);
    let message = r.opt_str("errmsg")?.unwrap_or_default();
    let write: WriteError = bson::from_document(doc! {
        "code": i32::try_from(code).unwrap_or(0),
        "codeName": r.opt_str("codeName")?.unwrap_or_default(),
        "errmsg": message,
    })
    .map_err(|_| {
        Error::storage(std::io::Error::other(format!(
            "adding roster members failed ({code}): {message}"
        )))
    })?;
    Ok((
        upserted,
        Some(ErrorKind::Write(WriteFailure::WriteError(write)).into()),
    ))
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

#[cfg(test)]
mod tests {
    use bson::oid::ObjectId;

    use super::*;

    /// The reply of an ordered `update` that upserted two members and then hit a duplicate
    /// key: both counted, and the error is the driver's duplicate key.
    #[test]
    fn an_update_reply_counts_upserts_and_keeps_its_first_write_error() {
        let reply = doc! {
            "n": 3, "nModified": 1, "ok": 1.0,
            "upserted": [
                { "index": 0, "_id": ObjectId::new() },
                { "index": 2, "_id": ObjectId::new() },
            ],
            "writeErrors": [
                { "index": 3, "code": 11000, "errmsg": "E11000 duplicate key error" },
            ],
        };
        let (upserted, error) = read_update_reply(&reply).unwrap();
        assert_eq!(upserted, 2);
        let error = error.expect("the write error");
        assert_eq!(classify(&error), ErrorClass::DuplicateKey);
        assert!(matches!(
            map_error(error),
            Error::Conflict(livesessions_core::Conflict::AlreadyExists { .. })
        ));

        let clean = doc! { "n": 1, "nModified": 1, "ok": 1.0 };
        let (upserted, error) = read_update_reply(&clean).unwrap();
        assert_eq!((upserted, error.is_none()), (0, true));
    }
}
