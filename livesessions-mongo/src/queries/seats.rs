//! Seats of a session with a capacity: the filter that takes one only while one is left,
//! the update that gives one back, and the reads that count the seats held for roster members
//! who have not joined.

use bson::{doc, Bson, Document};
use livesessions_core::SessionId;

use crate::codec::session_id;

/// The session with a seat left below `limit` at `capacity`: its capacity still `capacity` and
/// its `participants` below `limit`. With [`increment_participants`] it takes a seat in one
/// document update, so concurrent first joins never count past the limit. A roster member's
/// limit is the capacity; a walk-in's is the capacity less the reserved seats read just before
/// (the rule of reserved seats, `Capacity::admits`).
///
/// [`increment_participants`]: super::increment_participants
pub fn seat_left_filter(id: SessionId, capacity: u32, limit: u64) -> Document {
    let capacity = i64::from(capacity);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    doc! { "_id": session_id(id), "capacity": capacity, "participants": { "$lt": limit } }
}

/// Gives back a seat taken for a first join that turned out to be a rejoin.
pub fn release_seat() -> Document {
    doc! { "$inc": { "participants": -1_i64 } }
}

/// The roster entries of the sessions `ids` (on `live_session_roster_members`, served by its
/// unique {sessionId, userId} index): the first read of their reserved seats.
pub fn roster_entries_of(ids: Vec<Bson>) -> Document {
    doc! { "sessionId": { "$in": ids } }
}

/// The participant records of the sessions `ids` whose users are among `users` (on
/// `session_participants`, served by its unique {sessionId, userId} index): the roster members
/// who have joined, the second read of the reserved seats.
pub fn joined_members_of(ids: Vec<Bson>, users: Vec<Bson>) -> Document {
    doc! { "sessionId": { "$in": ids }, "userId": { "$in": users } }
}

/// The projection of both reads: the session and the user only.
pub fn session_and_user() -> Document {
    doc! { "_id": 0, "sessionId": 1, "userId": 1 }
}
