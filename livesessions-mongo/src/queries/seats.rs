//! Seats of a session with a capacity: the filter that takes one only while one is left,
//! the update that gives one back, and the aggregation that counts the seats held for roster
//! members who have not joined.

use bson::{doc, Bson, Document};
use livesessions_core::SessionId;

use crate::codec::session_id;
use crate::documents::PARTICIPANTS;

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

/// The reserved seats of the sessions `ids`, counted in the database (run on
/// `live_session_roster_members`): their roster entries and their participant records (brought
/// by `$unionWith`, both read by their {sessionId, userId} indexes) grouped by session and
/// user, the users with an entry and no record counted per session. One document
/// `{_id: sessionId, n}` per session with at least one such member.
pub fn reserved_seats_pipeline(ids: Vec<Bson>) -> Vec<Document> {
    let side = |member: i32| {
        doc! { "$project": { "_id": 0, "sessionId": 1, "userId": 1, "m": { "$literal": member } } }
    };
    vec![
        doc! { "$match": { "sessionId": { "$in": ids.clone() } } },
        side(1),
        doc! { "$unionWith": { "coll": PARTICIPANTS, "pipeline": [
            { "$match": { "sessionId": { "$in": ids } } },
            side(0),
        ] } },
        doc! { "$group": {
            "_id": { "s": "$sessionId", "u": "$userId" },
            "m": { "$max": "$m" },
            "n": { "$sum": 1 },
        } },
        doc! { "$match": { "m": 1, "n": 1 } },
        doc! { "$group": { "_id": "$_id.s", "n": { "$sum": 1 } } },
    ]
}
