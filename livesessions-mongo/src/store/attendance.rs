//! [`AttendanceStore`] on `session_participants`: joins (counted once), heartbeats, leaves,
//! and the end of a session crediting everyone present. A first join appends `participants`,
//! an end `ended`; heartbeats, leaves and rejoins append nothing.

use std::time::Duration;

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::{
    AttendanceStore, Error, EventKind, JoinOutcome, JoinRequest, LiveSession, Participant,
    Presence, Result, SessionId, SessionStatus, UserId,
};
use mongodb::action::Action;
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;

use super::capacity::Seat;
use super::transaction::{detached, in_transaction, Failure};
use super::{all_documents, MongoStore};
use crate::codec::{participant_from_document, Reader};
use crate::documents::SESSIONS;
use crate::error::{classify, map_error, ErrorClass};
use crate::queries;

impl MongoStore {
    /// Runs the update `pipeline` on the participant `user_id` of `session_id`: the
    /// participant after it, "participant not found" when there is none.
    async fn update_participant(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        pipeline: Vec<Document>,
    ) -> Result<Participant> {
        let document = self
            .participants
            .find_one_and_update(queries::participant_filter(session_id, user_id), pipeline)
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::participant_not_found(session_id, user_id))?;
        Ok(participant_from_document(&document)?)
    }

    async fn end_steps(
        &self,
        ended: &LiveSession,
        timeout: Duration,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<LiveSession, Failure> {
        let stored = self.replace_session(ended, s.as_deref_mut()).await?;
        let at = ended.ended_at.unwrap_or(ended.updated_at);
        self.participants
            .update_many(
                queries::present_participants(ended.id),
                queries::credit_pipeline(at, timeout),
            )
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        self.append_event(EventKind::Ended, ended.id, s).await?;
        Ok(stored)
    }

    async fn join_steps(
        &self,
        request: &JoinRequest,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<JoinOutcome, Failure> {
        let id = request.session_id;
        let session = self
            .find_session(id, s.as_deref_mut())
            .await?
            .ok_or_else(|| Error::session_not_found(id))?;
        session.check_joinable()?;
        if session.fields.restricted && !request.admin {
            self.require_roster_member(id, &request.joiner.user_id, s.as_deref_mut())
                .await?;
        }
        let filter = queries::participant_filter(id, &request.joiner.user_id);
        // Without a transaction, a first join of a session with a capacity takes its seat
        // before inserting (the filtered `$inc` is the check) and gives it back if it turns
        // out to be a rejoin; a rejoin never asks for one. In a transaction the seat is taken
        // after the upsert, below.
        let mut seat = None;
        if s.is_none() && session.fields.capacity.is_some() {
            let known = self
                .participants
                .find_one(filter.clone())
                .optional(s.as_deref_mut(), |a, s| a.session(s))
                .await?
                .is_some();
            if !known {
                if let Seat::Taken(document) = self
                    .take_seat(id, &request.joiner.user_id, s.as_deref_mut())
                    .await?
                {
                    seat = Some(document);
                }
            }
        }
        let upserted = match self
            .upsert_participant(request, &session, &filter, s.as_deref_mut())
            .await
        {
            Ok(upserted) => upserted,
            Err(failure) => {
                if seat.is_some() && s.is_none() {
                    self.release_seat(id, None).await?;
                }
                return Err(failure);
            }
        };
        let first_join = upserted;
        if let (Some(document), true) = (&seat, first_join) {
            let participant = self
                .participants
                .find_one(filter)
                .optional(s.as_deref_mut(), |a, s| a.session(s))
                .await?
                .ok_or_else(|| Error::session_not_found(id))?;
            let session = self.counted_session(document, s.as_deref_mut()).await?;
            self.stage_participants(id, s).await?;
            return Ok(JoinOutcome {
                participant: participant_from_document(&participant)?,
                session,
                first_join,
            });
        }
        if seat.is_some() {
            self.release_seat(id, s.as_deref_mut()).await?;
        }
        let document = self
            .participants
            .find_one(filter.clone())
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?
            // Only without a transaction: the session was deleted right after the upsert, and
            // its participants with it.
            .ok_or_else(|| Error::session_not_found(id))?;
        let participant = participant_from_document(&document)?;
        if !first_join {
            return Ok(JoinOutcome {
                participant,
                session,
                first_join,
            });
        }
        // In a transaction: the filtered `$inc` conflicts with any concurrent one (the loser
        // runs again), and a full session aborts the transaction, upsert included.
        if s.is_some() && session.fields.capacity.is_some() {
            if let Seat::Taken(document) = self
                .take_seat(id, &request.joiner.user_id, s.as_deref_mut())
                .await?
            {
                let session = self.counted_session(&document, s.as_deref_mut()).await?;
                self.stage_participants(id, s).await?;
                return Ok(JoinOutcome {
                    participant,
                    session,
                    first_join,
                });
            }
        }
        // Without a capacity: one more in a random count shard, and the session read again
        // (its count with it). Without a transaction a session gone by then was deleted after
        // the upsert: its record, written after the delete removed the others, goes too.
        if session.fields.capacity.is_none() && self.count_in_shard(id, s.as_deref_mut()).await? {
            let Some(session) = self.find_session(id, s.as_deref_mut()).await? else {
                self.participants
                    .delete_one(filter)
                    .optional(s, |a, s| a.session(s))
                    .await?;
                return Err(Error::session_not_found(id).into());
            };
            self.stage_participants(id, s).await?;
            return Ok(JoinOutcome {
                participant,
                session,
                first_join,
            });
        }
        // A session inserted before the count shards existed (or deleted): counted on its
        // document.
        let counted = self
            .sessions
            .find_one_and_update(
                queries::session_filter(id),
                queries::increment_participants(),
            )
            .return_document(ReturnDocument::After)
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        match counted {
            Some(document) => {
                let session = self.counted_session(&document, s.as_deref_mut()).await?;
                self.stage_participants(id, s).await?;
                Ok(JoinOutcome {
                    participant,
                    session,
                    first_join,
                })
            }
            None => {
                // Deleted between the two writes (only possible without a transaction):
                // remove the record just created rather than leave it orphaned.
                self.participants
                    .delete_one(filter)
                    .optional(s, |a, s| a.session(s))
                    .await?;
                Err(Error::session_not_found(id).into())
            }
        }
    }

    /// Upserts the participant of a join; answers whether this call inserted it.
    async fn upsert_participant(
        &self,
        request: &JoinRequest,
        session: &LiveSession,
        filter: &Document,
        s: Option<&mut ClientSession>,
    ) -> std::result::Result<bool, Failure> {
        // `update` with `upsert` and then a read, rather than one `findAndModify`: the update's
        // `upserted` id says whether this call inserted the record, on MongoDB and on engines
        // whose `findAndModify` answers a concurrent upsert without its document (SecantusDB
        // 0.7 returns `value: null` for the loser of two simultaneous first joins). In a
        // transaction the read sees exactly this write.
        let upserted = self
            .participants
            .update_one(
                filter.clone(),
                queries::join_pipeline(
                    request.session_id,
                    &request.joiner,
                    request.presence.at,
                    session.live_period_start(),
                    request.presence.timeout,
                ),
            )
            .upsert(true)
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(upserted.upserted_id.is_some())
    }

    /// Whether the session of a join has a capacity (one read of that field only).
    async fn capped(&self, request: &JoinRequest) -> Result<bool> {
        let found = self
            .sessions
            .find_one(queries::session_filter(request.session_id))
            .projection(doc! { "capacity": 1 })
            .await
            .map_err(map_error)?;
        Ok(found.is_some_and(|d| !matches!(d.get("capacity"), None | Some(Bson::Null))))
    }

    /// A join without a transaction: [`MongoStore::join_steps`], run again as a rejoin when a
    /// simultaneous first join of the same user won the unique index (MongoDB retries such an
    /// upsert by itself; other engines answer with a duplicate key error).
    async fn join_without_transaction(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.join_steps(request, None).await {
                Ok(outcome) => return Ok(outcome),
                Err(Failure::Driver(e))
                    if classify(&e) == ErrorClass::DuplicateKey && attempt < 3 => {}
                Err(failure) => return Err(failure.into_error()),
            }
        }
    }

    /// A join or heartbeat that read "live" may open an interval just after an end credited
    /// everyone present (without a transaction, or in one that wrote nothing the end also
    /// wrote). When this call opened the interval (`presentSince` = t) and the session is no
    /// longer live, the interval is credited at the end time (nothing if it opened after the
    /// end) and closed, as the end would have done.
    async fn settle_opened_interval(
        &self,
        participant: Participant,
        t: DateTime<Utc>,
        timeout: Duration,
        known: Option<&LiveSession>,
    ) -> Result<Participant> {
        if participant.present_since != Some(t) {
            return Ok(participant);
        }
        let session = match known {
            Some(session) => Some(session.clone()),
            None => self
                .find_session(participant.session_id, None)
                .await
                .map_err(Failure::into_error)?,
        };
        let ended_at = match session {
            Some(s) if s.status != SessionStatus::Live => s.ended_at.unwrap_or(t),
            // Opened with the period start read before an end and a restart: t belongs to an
            // earlier live period, which its end credited up to `endedAt`.
            Some(s) if s.live_since.is_some_and(|since| t < since) => s.ended_at.unwrap_or(t),
            _ => return Ok(participant),
        };
        let settled = self
            .participants
            .find_one_and_update(
                queries::participant_present_since(participant.session_id, &participant.user_id, t),
                queries::settle_pipeline(t, ended_at, timeout),
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_error)?;
        match settled {
            Some(document) => Ok(participant_from_document(&document)?),
            None => Ok(participant),
        }
    }

    /// After an end committed in a transaction: a join or heartbeat that read "live" may have
    /// opened an interval that the transaction's snapshot did not see, and found the session
    /// still live when it looked again (before the commit), so it did not close the interval
    /// itself. Both happened before this point: close what is still open, as the end would
    /// have. One document at a time, each only if its interval is still the one found (a
    /// multi-document update here can wait indefinitely on a transaction of SecantusDB).
    async fn close_intervals_left_open(
        &self,
        ended: &LiveSession,
        timeout: Duration,
    ) -> Result<()> {
        let at = ended.ended_at.unwrap_or(ended.updated_at);
        let open = all_documents(
            self.participants
                .find(queries::present_participants(ended.id)),
        )
        .await?;
        for document in open {
            let participant = participant_from_document(&document)?;
            let Some(since) = participant.present_since else {
                continue;
            };
            self.participants
                .update_one(
                    queries::participant_present_since(ended.id, &participant.user_id, since),
                    queries::credit_pipeline(at, timeout),
                )
                .await
                .map_err(map_error)?;
        }
        Ok(())
    }
}

#[async_trait]
impl AttendanceStore for MongoStore {
    async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        // A first join of a session with a capacity takes its seat with one filtered `$inc`
        // outside any transaction, as without transactions: in a transaction every first join
        // of the session would write its document, and a stampede of them would keep aborting
        // each other (write conflicts) far longer than the retry budget.
        let outcome = if self.supports_transactions().await? && !self.capped(request).await? {
            in_transaction!(self, |s| self.join_steps(request, s))?
        } else {
            // The upsert and the `$inc` run in a task of their own: a caller that gives up
            // half-way (a request timeout drops its future) must not leave a participant
            // that was never counted. Only a crash between the two writes can, and
            // `reconcile_participant_counts` repairs that.
            let store = self.clone();
            let request = request.clone();
            detached(async move { store.join_without_transaction(&request).await }).await?
        };
        let known = outcome.first_join.then_some(&outcome.session);
        let participant = self
            .settle_opened_interval(
                outcome.participant.clone(),
                request.presence.at,
                request.presence.timeout,
                known,
            )
            .await?;
        Ok(JoinOutcome {
            participant,
            ..outcome
        })
    }

    async fn heartbeat(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let status = self
            .sessions
            .find_one(queries::session_filter(session_id))
            .projection(doc! { "status": 1, "isLive": 1, "liveSince": 1, "micros.liveSince": 1 })
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::session_not_found(session_id))?;
        let status = Reader::new(&status, SESSIONS);
        let live = status.session_status()? == SessionStatus::Live;
        // The start of the current live period (unknown for a session the original
        // application started: then any time counts).
        let period = match live {
            true => Some(
                status
                    .opt_date("liveSince")?
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            ),
            false => None,
        };
        let pipeline = queries::heartbeat_pipeline(at, period, timeout);
        let participant = self
            .update_participant(session_id, user_id, pipeline)
            .await?;
        if !live {
            return Ok(participant);
        }
        self.settle_opened_interval(participant, at, timeout, None)
            .await
    }

    async fn leave(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let pipeline = queries::leave_pipeline(at, timeout);
        self.update_participant(session_id, user_id, pipeline).await
    }

    async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession> {
        if self.supports_transactions().await? {
            let stored = in_transaction!(self, |s| self.end_steps(ended, timeout, s))?;
            self.close_intervals_left_open(ended, timeout).await?;
            Ok(stored)
        } else {
            // The session update and the crediting run to their end even if the caller gives
            // up in between.
            let store = self.clone();
            let ended = ended.clone();
            detached(async move {
                store
                    .end_steps(&ended, timeout, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn get_participant(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<Participant>> {
        let found = self
            .participants
            .find_one(queries::participant_filter(session_id, user_id))
            .await
            .map_err(map_error)?;
        Ok(found.as_ref().map(participant_from_document).transpose()?)
    }

    async fn watching(
        &self,
        session_id: SessionId,
        Presence { at: now, timeout }: Presence,
    ) -> Result<u64> {
        self.participants
            .count_documents(queries::watching_filter(session_id, now, timeout))
            .await
            .map_err(map_error)
    }
}
