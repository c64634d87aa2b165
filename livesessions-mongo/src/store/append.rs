//! How a change appends its event to `live_session_events`.
//!
//! An event's id is one past the greatest id the log has given: the greatest `_id` in the
//! collection, or the pruned floor when pruning left nothing above it. The unique `_id` index
//! makes a writer that read the same greatest id as another fail (a write conflict in a
//! transaction, a duplicate key without), and it tries again. So id N + 1 is only written by a
//! writer that saw N, after N became readable: ids increase in the order events become
//! readable, with no gaps (except where pruning removed events).
//!
//! - In a transaction, the append is part of the change's transaction: both commit or neither
//!   does, and a conflicting append makes the store run the whole transaction again (the
//!   retry of [`in_transaction!`](super::transaction)).
//! - Without one, the append follows the change and is retried on its own; a failure in
//!   between loses the event (the change is reported as failed, but it took place).
//!
//! The tail of the `_id` index is one spot shared by every writer, so first joins, the one
//! change that comes in stampedes, do not write there: a first join stages its `participants`
//! event in `live_session_staged_events` (a document of its own, with no id), and the staged
//! events get their ids later, coalesced to the last one of each session, by whoever comes
//! next: every reader of the log ([`MongoStore::number_staged_events`]) and every other change
//! (inside its own transaction, before its event, so that a session's count comes before, say,
//! its `ended`). Joins of different sessions then never write the same document; joins of one
//! session already conflict on its counter.

use std::collections::HashMap;
use std::time::Instant;

use bson::Document;
use chrono::Utc;
use futures::TryStreamExt;
use livesessions_core::Result;
use livesessions_core::{Error, EventId, EventKind, SessionId};
use mongodb::action::Action;
use mongodb::ClientSession;

use super::transaction::{backoff, detached, in_transaction, Failure, TRANSACTION_RETRY_BUDGET};
use super::MongoStore;
use crate::codec::{
    event_document, read_event_id, staged_event_document, staged_event_from_document, Reader,
    StagedEvent,
};
use crate::documents::{EVENTS, LOG_STATE};
use crate::error::{classify, map_error, ErrorClass};
use crate::queries;

/// The most staged events one numbering step moves; the rest wait for the next one.
const STAGED_BATCH: i64 = 10_000;

impl MongoStore {
    /// The greatest id the log has given: its last event's, or the pruned floor if greater.
    /// Reads the events before the floor, so that a prune running meanwhile (which raises the
    /// floor before it deletes) cannot make both reads miss the events it removes.
    pub(super) async fn last_event_id(
        &self,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<EventId, Failure> {
        let last = self
            .events
            .find_one(queries::events_after(EventId::ZERO))
            .sort(queries::last_event_first())
            .projection(queries::event_id_projection())
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        let last = match last {
            Some(document) => read_event_id(&Reader::new(&document, EVENTS), "_id")?,
            None => EventId::ZERO,
        };
        Ok(last.max(self.pruned_through(s).await?))
    }

    /// The pruned floor: the greatest id pruning deleted.
    pub(super) async fn pruned_through(
        &self,
        s: Option<&mut ClientSession>,
    ) -> std::result::Result<EventId, Failure> {
        let state = self
            .log_state
            .find_one(queries::log_state_filter())
            .optional(s, |a, s| a.session(s))
            .await?;
        let Some(state) = state else {
            return Ok(EventId::ZERO);
        };
        let reader = Reader::new(&state, LOG_STATE);
        Ok(match reader.opt_int("prunedThrough")? {
            Some(_) => read_event_id(&reader, "prunedThrough")?,
            None => EventId::ZERO,
        })
    }

    /// Appends `kind` for `session`, after numbering what is staged: in the transaction `s`,
    /// or on its own when `s` is `None`.
    pub(super) async fn append_event(
        &self,
        kind: EventKind,
        session: SessionId,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<(), Failure> {
        self.number_staged(s.as_deref_mut()).await?;
        self.append_numbered(kind, session, s).await
    }

    /// Appends `kind` for `session` with the log's next id.
    async fn append_numbered(
        &self,
        kind: EventKind,
        session: SessionId,
        s: Option<&mut ClientSession>,
    ) -> std::result::Result<(), Failure> {
        match s {
            Some(s) => {
                let id = next(self.last_event_id(Some(&mut *s)).await?)?;
                self.events
                    .insert_one(event_document(id, kind, session, Utc::now()))
                    .session(&mut *s)
                    .await?;
                Ok(())
            }
            None => self.append_alone(kind, session).await,
        }
    }

    /// Stages a first join's `participants` event for `session` (in the transaction `s`, if
    /// any): one insert of a document of its own, which the next numbering step moves into
    /// the log.
    pub(super) async fn stage_participants(
        &self,
        session: SessionId,
        s: Option<&mut ClientSession>,
    ) -> std::result::Result<(), Failure> {
        self.staged_events
            .insert_one(staged_event_document(
                EventKind::Participants,
                session,
                Utc::now(),
            ))
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(())
    }

    /// Moves the staged events into the log: in one transaction where the deployment has
    /// them (two readers doing it at once conflict, and the second then finds nothing
    /// staged), step by step otherwise (a failure in between, or two readers at once, may
    /// append a session's `participants` event twice, which only repeats its count).
    /// Nothing is started when nothing is staged (one indexed read).
    pub(super) async fn number_staged_events(&self) -> Result<()> {
        let any = self
            .staged_events
            .find_one(queries::all_staged_events())
            .projection(queries::staged_id_projection())
            .await
            .map_err(map_error)?;
        if any.is_none() {
            return Ok(());
        }
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.number_staged(s))
        } else {
            let store = self.clone();
            detached(async move { store.number_staged(None).await.map_err(Failure::into_error) })
                .await
        }
    }

    /// Appends the last staged event of each session, in the order they were staged, and
    /// deletes everything staged that it read.
    async fn number_staged(
        &self,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<(), Failure> {
        let documents = self.staged(s.as_deref_mut()).await?;
        if documents.is_empty() {
            return Ok(());
        }
        let staged = documents
            .iter()
            .map(staged_event_from_document)
            .collect::<std::result::Result<Vec<StagedEvent>, _>>()?;
        for event in coalesced(&staged) {
            self.append_numbered(event.kind, event.session_id, s.as_deref_mut())
                .await?;
        }
        self.staged_events
            .delete_many(queries::staged_events_in(
                staged.iter().map(|event| event.staged_id),
            ))
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(())
    }

    /// The staged events, oldest first, at most [`STAGED_BATCH`].
    async fn staged(
        &self,
        s: Option<&mut ClientSession>,
    ) -> std::result::Result<Vec<Document>, Failure> {
        let find = self
            .staged_events
            .find(queries::all_staged_events())
            .sort(queries::staging_order())
            .limit(STAGED_BATCH);
        Ok(match s {
            Some(s) => {
                let mut cursor = find.session(&mut *s).await?;
                cursor.stream(s).try_collect().await?
            }
            None => find.await?.try_collect().await?,
        })
    }

    /// Creates `live_session_staged_events` if it does not exist (a transaction may not be
    /// able to create a collection by inserting into it).
    pub(super) async fn create_staged_events(&self) -> Result<()> {
        match self
            .database
            .create_collection(self.staged_events.name())
            .await
        {
            Ok(()) => Ok(()),
            Err(error) if is_namespace_exists(&error) => Ok(()),
            Err(error) => Err(map_error(error)),
        }
    }

    /// Appends without a transaction: takes the next id and inserts, again while another
    /// writer took that id first, for at most the transactions' retry budget.
    async fn append_alone(
        &self,
        kind: EventKind,
        session: SessionId,
    ) -> std::result::Result<(), Failure> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let id = next(self.last_event_id(None).await?)?;
            match self
                .events
                .insert_one(event_document(id, kind, session, Utc::now()))
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) if classify(&error) == ErrorClass::DuplicateKey => {
                    if started.elapsed() >= TRANSACTION_RETRY_BUDGET {
                        // Not a duplicate key for the caller to act on: contention outlasted
                        // the budget.
                        return Err(Error::unavailable(error).into());
                    }
                    backoff(attempt.min(4)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// The last staged event of each session (and kind), in the order they were staged.
fn coalesced(staged: &[StagedEvent]) -> Vec<&StagedEvent> {
    let mut last = HashMap::new();
    for (at, event) in staged.iter().enumerate() {
        last.insert((event.session_id, event.kind), at);
    }
    staged
        .iter()
        .enumerate()
        .filter(|(at, event)| last[&(event.session_id, event.kind)] == *at)
        .map(|(_, event)| event)
        .collect()
}

/// Whether creating a collection failed because it exists (`NamespaceExists`).
fn is_namespace_exists(error: &mongodb::error::Error) -> bool {
    matches!(
        error.kind.as_ref(),
        mongodb::error::ErrorKind::Command(command) if command.code == 48
    )
}

/// The id after `last`.
fn next(last: EventId) -> std::result::Result<EventId, Failure> {
    last.get()
        .checked_add(1)
        .and_then(EventId::new)
        .ok_or_else(|| Error::storage(std::io::Error::other("the event log ran out of ids")).into())
}
