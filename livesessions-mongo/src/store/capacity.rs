//! Seats of a session with a capacity: a first join takes one with a conditional `$inc` on
//! the session document (`participants` below `capacity`), so the count never passes the
//! capacity, with or without a transaction. What the session's count shards hold (joins
//! counted before it had a capacity) is moved onto the document first.

use bson::Document;
use livesessions_core::{Error, SessionId};
use mongodb::action::Action;
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;

use super::transaction::Failure;
use super::MongoStore;
use crate::queries;

/// How often a seat is tried when the session changed between reading it and taking the seat
/// (its capacity was edited): each try reads it again.
const SEAT_ATTEMPTS: usize = 3;

/// The result of [`MongoStore::take_seat`].
pub(super) enum Seat {
    /// The session has no capacity: count the join as usual.
    Unlimited,
    /// A seat was taken: the session document after the `$inc`.
    Taken(Document),
}

impl MongoStore {
    /// Takes a seat of session `id` for a first join: `Seat::Unlimited` when it has no
    /// capacity, `Seat::Taken` with the session after adding one to `participants` when one
    /// was left, `Conflict(SessionFull)` when none is, `NotFound` when the session is gone.
    /// In a transaction the update conflicts with any concurrent one of the document, and
    /// the loser runs again; without one the filtered `$inc` itself is the check.
    pub(super) async fn take_seat(
        &self,
        id: SessionId,
        mut s: Option<&mut ClientSession>,
    ) -> Result<Seat, Failure> {
        for _ in 0..SEAT_ATTEMPTS {
            let session = self
                .find_session(id, s.as_deref_mut())
                .await?
                .ok_or_else(|| Error::session_not_found(id))?;
            let Some(capacity) = session.fields.capacity else {
                return Ok(Seat::Unlimited);
            };
            session.check_seat_for_new_participant()?;
            // Joins counted in the shards (before the capacity was set) move onto the
            // document, which the filter below checks.
            self.fold_count_shards(id, s.as_deref_mut()).await?;
            let taken = self
                .sessions
                .find_one_and_update(
                    queries::seat_left_filter(id, capacity.get()),
                    queries::increment_participants(),
                )
                .return_document(ReturnDocument::After)
                .optional(s.as_deref_mut(), |a, s| a.session(s))
                .await?;
            if let Some(document) = taken {
                return Ok(Seat::Taken(document));
            }
        }
        Err(Error::Unavailable(Some(
            format!("the capacity of session {id} kept changing during a join").into(),
        ))
        .into())
    }

    /// Gives back a seat taken by [`MongoStore::take_seat`] for a join that turned out to be a
    /// rejoin, or (without a transaction) that failed before inserting.
    pub(super) async fn release_seat(
        &self,
        id: SessionId,
        s: Option<&mut ClientSession>,
    ) -> Result<(), Failure> {
        self.sessions
            .update_one(queries::session_filter(id), queries::release_seat())
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(())
    }
}
