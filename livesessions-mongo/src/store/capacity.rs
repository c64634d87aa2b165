//! Seats of a session with a capacity: a first join takes one with a conditional `$inc` on
//! the session document (`participants` below a limit), so the count never passes the
//! capacity, with or without a transaction. What the session's count shards hold (joins
//! counted before it had a capacity) is moved onto the document first.
//!
//! Roster members hold reserved seats (`Capacity::admits`): a roster member's limit is the
//! capacity, a walk-in's the capacity less the seats reserved for members who have not joined,
//! counted just before the `$inc` ([`MongoStore::reserved_seats`], one aggregation, never
//! stored).
//! The `$inc` compares the limit with the live `participants`, so a member who joins between
//! that count and the `$inc` is counted once (their seat left the reserved ones and entered
//! `participants`). What remains:
//!
//! - A member between their seat's `$inc` and their participant record is counted twice for a
//!   moment (in `participants` and among the reserved): a walk-in that counts then may find no
//!   seat. Before refusing, a walk-in checks whether any first join is in that state (the
//!   counter above the records) and, if so, waits for it and counts again
//!   ([`IN_FLIGHT_WAITS`] times at most, so a counter left high by a crash, which
//!   `reconcile_participant_counts` repairs, only delays the refusal).
//! - A roster add between a walk-in's count and its `$inc` is not seen: that walk-in may take
//!   the seat just reserved, and the new member may then find the session full. A roster
//!   removal there makes the walk-in count one seat too many as reserved: it may be refused
//!   one seat early. (The SQL stores and the memory store order roster writes with capped
//!   first joins, PostgreSQL by re-counting the seats under locks in the roster write; a
//!   multi-document transaction here would make a stampede of first joins abort each other,
//!   see `MongoStore::join`.)

use std::collections::HashMap;
use std::time::Duration;

use bson::{Bson, Document};
use futures::TryStreamExt;
use livesessions_core::{Error, LiveSession, Seat as SeatKind, SessionId, UserId};
use mongodb::action::Action;
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;

use super::transaction::Failure;
use super::MongoStore;
use crate::codec::{session_id, Reader};
use crate::documents::ROSTER_MEMBERS;
use crate::queries;

/// How often a seat is tried when the session changed between reading it and taking the seat
/// (its capacity was edited, or another first join took the seat counted free): each try
/// reads it again.
const SEAT_ATTEMPTS: usize = 5;

/// How often a walk-in about to be refused waits for first joins between their seat and their
/// record (see the module's documentation), [`IN_FLIGHT_WAIT`] each time.
pub(super) const IN_FLIGHT_WAITS: usize = 50;

/// The wait of [`IN_FLIGHT_WAITS`].
const IN_FLIGHT_WAIT: Duration = Duration::from_millis(20);

/// The result of [`MongoStore::take_seat`].
pub(super) enum Seat {
    /// The session has no capacity: count the join as usual.
    Unlimited,
    /// A seat was taken: the session document after the `$inc`.
    Taken(Document),
}

/// Whether a refusal on `session`, read after counting `records` participant records, counted
/// nobody twice. A first join takes its seat (`participants`) before it writes its record, so
/// the counter is never below the records; if it read no higher than the records counted
/// before it, no first join was between its seat and its record when the session was read,
/// and the reserved seats (counted after) hold no member who is also in `participants`.
fn refusal_is_sound(session: &LiveSession, records: u64) -> bool {
    session.participants <= records
}

impl MongoStore {
    /// Takes a seat of session `id` for a first join of `user`: `Seat::Unlimited` when it has
    /// no capacity, `Seat::Taken` with the session after adding one to `participants` when
    /// one is left for them (any seat for a roster member; one not reserved for a member who
    /// has not joined, for a walk-in), `Conflict(SessionFull)` when none is, `NotFound` when
    /// the session is gone. In a transaction the update conflicts with any concurrent one of
    /// the document, and the loser runs again; without one the filtered `$inc` itself is the
    /// check.
    pub(super) async fn take_seat(
        &self,
        id: SessionId,
        user: &UserId,
        mut s: Option<&mut ClientSession>,
    ) -> Result<Seat, Failure> {
        let member = self
            .roster_members()
            .find_one(queries::roster_member_filter(id, user))
            .projection(bson::doc! { "_id": 1 })
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?
            .is_some();
        let kind = SeatKind::of(member);
        let (mut misses, mut waits) = (0, 0);
        // The participant records counted just before the session was read, once a walk-in
        // was refused: see `refusal_is_sound`.
        let mut records_before = None;
        loop {
            let session = self
                .find_session(id, s.as_deref_mut())
                .await?
                .ok_or_else(|| Error::session_not_found(id))?;
            let Some(capacity) = session.fields.capacity else {
                return Ok(Seat::Unlimited);
            };
            if let Err(full) = session.check_seat_for_new_participant(kind) {
                // Refused on the counts read. A walk-in may have counted a member whose join
                // is between its seat and its record twice: it counts the records, reads the
                // session again, and refuses only once no first join was in that state.
                if kind == SeatKind::RosterMember || session.reserved_seats == 0 {
                    return Err(full.into());
                }
                match records_before {
                    Some(records) if refusal_is_sound(&session, records) => return Err(full.into()),
                    Some(_) if waits >= IN_FLIGHT_WAITS => return Err(full.into()),
                    Some(_) => {
                        waits += 1;
                        tokio::time::sleep(IN_FLIGHT_WAIT).await;
                    }
                    None => {}
                }
                records_before = Some(self.participant_records(id, s.as_deref_mut()).await?);
                continue;
            }
            records_before = None;
            // Joins counted in the shards (before the capacity was set) move onto the
            // document, which the filter below checks.
            self.fold_count_shards(id, s.as_deref_mut()).await?;
            let limit = match kind {
                SeatKind::RosterMember => u64::from(capacity.get()),
                SeatKind::WalkIn => capacity.seats_left(session.reserved_seats),
            };
            let taken = self
                .sessions
                .find_one_and_update(
                    queries::seat_left_filter(id, capacity.get(), limit),
                    queries::increment_participants(),
                )
                .return_document(ReturnDocument::After)
                .optional(s.as_deref_mut(), |a, s| a.session(s))
                .await?;
            if let Some(document) = taken {
                return Ok(Seat::Taken(document));
            }
            misses += 1;
            if misses >= SEAT_ATTEMPTS {
                return Err(Error::Unavailable(Some(
                    format!("the seats of session {id} kept changing during a join").into(),
                ))
                .into());
            }
        }
    }

    /// The participant records of session `id`.
    async fn participant_records(
        &self,
        id: SessionId,
        s: Option<&mut ClientSession>,
    ) -> Result<u64, Failure> {
        Ok(self
            .participants
            .count_documents(queries::participants_of(id))
            .optional(s, |a, s| a.session(s))
            .await?)
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

    /// Counts the reserved seats of `sessions` (`LiveSession::reserved_seats`): for those with
    /// a capacity, their roster members without a participant record, counted in the database
    /// by one aggregation ([`queries::reserved_seats_pipeline`]), none when no session has a
    /// capacity; never stored.
    pub(super) async fn reserved_seats(
        &self,
        sessions: &mut [LiveSession],
        s: Option<&mut ClientSession>,
    ) -> Result<(), Failure> {
        let capped: Vec<Bson> = sessions
            .iter()
            .filter(|session| session.fields.capacity.is_some())
            .map(|session| session_id(session.id))
            .collect();
        if capped.is_empty() {
            return Ok(());
        }
        let roster = self.roster_members();
        let aggregate = roster.aggregate(queries::reserved_seats_pipeline(capped));
        let counts: Vec<Document> = match s {
            Some(s) => {
                let mut cursor = aggregate.session(&mut *s).await?;
                cursor.stream(s).try_collect().await?
            }
            None => aggregate.await?.try_collect().await?,
        };
        let mut reserved: HashMap<SessionId, u64> = HashMap::with_capacity(counts.len());
        for document in &counts {
            let r = Reader::new(document, ROSTER_MEMBERS);
            reserved.insert(
                SessionId::from_uuid(r.uuid("_id")?),
                u64::try_from(r.int("n")?).unwrap_or(0),
            );
        }
        for session in sessions.iter_mut() {
            session.reserved_seats = reserved.get(&session.id).copied().unwrap_or(0);
        }
        Ok(())
    }
}
