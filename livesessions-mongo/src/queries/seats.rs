//! Seats of a session with a capacity: the filter that takes one only while one is left,
//! and the update that gives one back.

use bson::{doc, Document};
use livesessions_core::SessionId;

use crate::codec::session_id;

/// The session with a seat left at `capacity`: its capacity still `capacity` and its
/// `participants` below it. With [`increment_participants`] it takes a seat in one document
/// update, so concurrent first joins never count past the capacity.
pub fn seat_left_filter(id: SessionId, capacity: u32) -> Document {
    let capacity = i64::from(capacity);
    doc! { "_id": session_id(id), "capacity": capacity, "participants": { "$lt": capacity } }
}

/// Gives back a seat taken for a first join that turned out to be a rejoin.
pub fn release_seat() -> Document {
    doc! { "$inc": { "participants": -1_i64 } }
}
