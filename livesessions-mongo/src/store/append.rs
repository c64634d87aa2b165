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
//! The tail of the `_id` index is one hot spot shared by every writer: during a join stampede
//! (only a first join appends) concurrent joins of different sessions conflict on it as joins
//! of one session already do on its counter, and are retried with jittered pauses.

use std::time::Instant;

use chrono::Utc;
use livesessions_core::{Error, EventId, EventKind, SessionId};
use mongodb::action::Action;
use mongodb::ClientSession;

use super::transaction::{backoff, Failure, TRANSACTION_RETRY_BUDGET};
use super::MongoStore;
use crate::codec::{event_document, read_event_id, Reader};
use crate::documents::{EVENTS, LOG_STATE};
use crate::error::{classify, ErrorClass};
use crate::queries;

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

    /// Appends `kind` for `session`: in the transaction `s`, or on its own when `s` is `None`.
    pub(super) async fn append_event(
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

/// The id after `last`.
fn next(last: EventId) -> std::result::Result<EventId, Failure> {
    last.get()
        .checked_add(1)
        .and_then(EventId::new)
        .ok_or_else(|| Error::storage(std::io::Error::other("the event log ran out of ids")).into())
}
