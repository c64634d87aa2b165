//! The calendar feeds' filters, pipeline and indexes.

use bson::{doc, Document};
use livesessions_core::calendar::{CalendarQuery, FeedTokenHash};
use livesessions_core::UserId;
use mongodb::IndexModel;

use super::indexes::index;
use crate::documents::{ROSTER_MEMBERS, SESSIONS};

/// The sessions a feed holds ([`CalendarQuery::includes`]), on the exact start times
/// (`micros.startTime`).
pub fn calendar_filter(query: &CalendarQuery) -> Document {
    let since = query.scheduled_since().timestamp_micros();
    let now = query.now.timestamp_micros();
    doc! {
        "$or": [
            { "status": "live" },
            { "status": "scheduled", "micros.startTime": { "$gte": since } },
            { "status": "cancelled", "micros.startTime": { "$gt": now } },
        ]
    }
}

/// The feeds' order: start time, then id.
pub fn calendar_sort() -> Document {
    doc! { "micros.startTime": 1, "_id": 1 }
}

/// A user's feed, as an aggregation on `session_participants`: the sessions of the user's
/// records and of their roster entries (both on their {userId} index, `$unionWith`), each
/// once, joined to its session, filtered by [`calendar_filter`], sorted and limited in the
/// server.
pub fn user_calendar_pipeline(user: &UserId, query: &CalendarQuery) -> Vec<Document> {
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let sessions_of_user = vec![
        doc! { "$match": { "userId": user.as_str() } },
        doc! { "$project": { "_id": 0, "sessionId": 1 } },
    ];
    let mut pipeline = sessions_of_user.clone();
    pipeline.extend([
        doc! { "$unionWith": { "coll": ROSTER_MEMBERS, "pipeline": sessions_of_user } },
        doc! { "$group": { "_id": "$sessionId" } },
        doc! { "$lookup": {
            "from": SESSIONS,
            "localField": "_id",
            "foreignField": "_id",
            "as": "session",
        } },
        doc! { "$unwind": "$session" },
        doc! { "$replaceRoot": { "newRoot": "$session" } },
        doc! { "$match": calendar_filter(query) },
        doc! { "$sort": calendar_sort() },
        doc! { "$limit": limit },
    ]);
    pipeline
}

/// The feed token document of a user: `{ _id: userId }`.
pub fn feed_user_filter(user: &UserId) -> Document {
    doc! { "_id": user.as_str() }
}

/// The feed token document with the hash `hash`.
pub fn feed_hash_filter(hash: &FeedTokenHash) -> Document {
    doc! { "tokenHash": hash.to_hex() }
}

/// The index of `live_session_calendar_feeds`: unique {tokenHash} (a hash names one user; the
/// lookup of a feed URL).
pub fn calendar_feed_indexes() -> Vec<IndexModel> {
    vec![index(doc! { "tokenHash": 1 }, "token_hash_unique", true)]
}

/// The index of `live_sessions` the public feed is read in: its sort order.
pub fn calendar_session_indexes() -> Vec<IndexModel> {
    vec![index(calendar_sort(), "calendar_order", false)]
}
