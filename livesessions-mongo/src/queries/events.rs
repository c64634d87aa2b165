//! Filters, sorts and updates of the event log (`live_session_events`) and of its state
//! document (`live_session_log_state`).

use bson::oid::ObjectId;
use bson::{doc, Document};
use chrono::{DateTime, Utc};
use livesessions_core::EventId;

use crate::codec::{date, event_id};

/// The `_id` of the log's state document.
const STATE_ID: &str = "events";

/// The events after `after`. Event ids are longs, so the comparison matches events only.
pub fn events_after(after: EventId) -> Document {
    doc! { "_id": { "$gt": event_id(after) } }
}

/// Id order.
pub fn event_order() -> Document {
    doc! { "_id": 1 }
}

/// Greatest id first: with a limit of one, the last event.
pub fn last_event_first() -> Document {
    doc! { "_id": -1 }
}

/// What the store reads of an event when it only needs its id.
pub fn event_id_projection() -> Document {
    doc! { "_id": 1 }
}

/// The events appended before `before`, up to id `through`: what pruning deletes.
pub fn prunable_events(before: DateTime<Utc>, through: EventId) -> Document {
    doc! { "at": { "$lt": date(before) }, "_id": { "$lte": event_id(through) } }
}

/// The events appended before `before`.
fn events_before(before: DateTime<Utc>) -> Document {
    doc! { "at": { "$lt": date(before) } }
}

/// The greatest id among the events appended before `before` (`through`), as one document,
/// or none when there are no such events. Reads only those events (through the `at` index).
pub fn prunable_summary(before: DateTime<Utc>) -> Vec<Document> {
    vec![
        doc! { "$match": events_before(before) },
        doc! { "$group": { "_id": null, "through": { "$max": "$_id" } } },
    ]
}

/// Every staged event.
pub fn all_staged_events() -> Document {
    doc! {}
}

/// What the store reads of a staged event when it only asks whether there is one.
pub fn staged_id_projection() -> Document {
    doc! { "_id": 1 }
}

/// Staging order (the staged events' ObjectIds).
pub fn staging_order() -> Document {
    doc! { "_id": 1 }
}

/// The staged events with these ids.
pub fn staged_events_in(ids: impl IntoIterator<Item = ObjectId>) -> Document {
    let ids: Vec<ObjectId> = ids.into_iter().collect();
    doc! { "_id": { "$in": ids } }
}

/// The log's state document.
pub fn log_state_filter() -> Document {
    doc! { "_id": STATE_ID }
}

/// Raises the pruned floor to `through` (never lowers it); with `upsert`, creates the state
/// document on the first prune.
pub fn raise_pruned_through(through: EventId) -> Document {
    doc! { "$max": { "prunedThrough": event_id(through) } }
}

/// Only the inserted events wake a waiting reader (a change stream's pipeline).
pub fn inserted_events() -> Vec<Document> {
    vec![doc! { "$match": { "operationType": "insert" } }]
}
