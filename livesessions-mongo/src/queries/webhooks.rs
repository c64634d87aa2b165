//! The filters, updates and indexes of the webhook collections. Due times and leases are
//! compared on the exact microseconds of the `micros` sub-document.

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::events::EventId;
use livesessions_core::webhooks::{
    AttemptNext, AttemptRecord, DeliveryId, DeliveryState, DisabledReason, EndpointId,
    WebhookSecret,
};
use livesessions_core::SessionId;
use mongodb::IndexModel;

use super::indexes::index;
use crate::codec::{attempt_document, date, micros, reason_name, session_id, state_name, uuid};

/// The `_id` of the cursor's document in `live_session_webhook_state`.
pub const CURSOR_ID: &str = "cursor";

/// The cursor's document.
pub fn cursor_filter() -> Document {
    doc! { "_id": CURSOR_ID }
}

/// Creates the cursor's document at 0 if it is missing (an upsert).
pub fn cursor_init() -> Document {
    doc! { "$setOnInsert": { "eventId": 0_i64 } }
}

/// The cursor's document while it is at `expected`.
pub fn cursor_at(expected: EventId) -> Document {
    doc! { "_id": CURSOR_ID, "eventId": expected.get() }
}

/// Moves the cursor to `cursor`.
pub fn cursor_set(cursor: EventId) -> Document {
    doc! { "$set": { "eventId": cursor.get() } }
}

/// One endpoint.
pub fn endpoint_filter(id: EndpointId) -> Document {
    doc! { "_id": uuid(id.as_uuid()) }
}

/// Leaves the secrets out of an endpoint document.
pub fn endpoint_without_secrets() -> Document {
    doc! { "secret": 0, "previousSecret": 0, "previousSecretValidUntil": 0 }
}

/// The enabled endpoints.
pub fn enabled_endpoints() -> Document {
    doc! { "enabled": true }
}

/// Enables (`None`) or disables an endpoint, at `now`.
pub fn endpoint_enabled_update(reason: Option<DisabledReason>, now: DateTime<Utc>) -> Document {
    doc! { "$set": {
        "enabled": reason.is_none(),
        "disabledReason": reason.map(reason_name),
        "updatedAt": date(now),
        "micros.updatedAt": micros(now),
    } }
}

/// Makes `new` the current secret and keeps the current one as the previous secret until
/// `valid_until`: a pipeline update, so it reads the current secret in the same write.
pub fn rotate_secret_update(
    new: &WebhookSecret,
    valid_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Document> {
    vec![doc! { "$set": {
        "previousSecret": "$secret",
        "secret": { "$literal": new.expose() },
        "previousSecretValidUntil": date(valid_until),
        "micros.previousSecretValidUntil": micros(valid_until),
        "updatedAt": date(now),
        "micros.updatedAt": micros(now),
    } }]
}

/// One delivery.
pub fn delivery_filter(id: DeliveryId) -> Document {
    doc! { "_id": uuid(id.as_uuid()) }
}

/// Every delivery of an endpoint.
pub fn deliveries_of(endpoint: EndpointId) -> Document {
    doc! { "endpointId": uuid(endpoint.as_uuid()) }
}

/// A pending delivery that is due at `now` and not leased (no lease, or one that ended at or
/// before `now`).
fn due_and_free(now: DateTime<Utc>) -> Document {
    let now = micros(now);
    doc! {
        "state": state_name(DeliveryState::Pending),
        "micros.nextAttemptAt": { "$lte": now.clone() },
        "$or": [
            { "leaseUntil": Bson::Null },
            { "micros.leaseUntil": { "$lte": now } },
        ],
    }
}

/// The claim candidates: due, free deliveries of the enabled `endpoints`, in event order
/// ([`candidates_sort`]).
pub fn claim_candidates(now: DateTime<Utc>, endpoints: &[EndpointId]) -> Document {
    let mut filter = due_and_free(now);
    let ids: Vec<Bson> = endpoints.iter().map(|id| uuid(id.as_uuid())).collect();
    filter.insert("endpointId", doc! { "$in": ids });
    filter
}

/// Event order.
pub fn candidates_sort() -> Document {
    doc! { "eventId": 1 }
}

/// A pending delivery of `endpoint` about `session` before event `before`: one that holds the
/// candidate back.
pub fn earlier_pending(endpoint: EndpointId, session: SessionId, before: EventId) -> Document {
    doc! {
        "endpointId": uuid(endpoint.as_uuid()),
        "sessionId": session_id(session),
        "state": state_name(DeliveryState::Pending),
        "eventId": { "$lt": before.get() },
    }
}

/// The candidate `id`, while it is still due and free at `now`.
pub fn claim_filter(id: DeliveryId, now: DateTime<Utc>) -> Document {
    let mut filter = due_and_free(now);
    filter.insert("_id", uuid(id.as_uuid()));
    filter
}

/// Leases a delivery to `worker` until `until`.
pub fn claim_update(worker: &str, until: DateTime<Utc>) -> Document {
    doc! { "$set": {
        "leaseOwner": worker,
        "leaseUntil": date(until),
        "micros.leaseUntil": micros(until),
    } }
}

/// The delivery `id` while it is pending and its lease was last given to `worker`.
pub fn leased_filter(id: DeliveryId, worker: &str) -> Document {
    doc! {
        "_id": uuid(id.as_uuid()),
        "state": state_name(DeliveryState::Pending),
        "leaseOwner": worker,
    }
}

/// Records an attempt and releases the lease: a pipeline update, so that the first attempt's
/// time is set only when unset. The attempt is a `$literal`, so no text of it is read as a
/// field path.
pub fn attempt_update(attempt: &AttemptRecord, next: AttemptNext) -> Vec<Document> {
    let mut set = doc! {
        "attempts": { "$add": [ { "$ifNull": ["$attempts", 0_i64] }, 1_i64 ] },
        "firstAttemptAt": { "$ifNull": ["$firstAttemptAt", date(attempt.at)] },
        "micros.firstAttemptAt": { "$ifNull": ["$micros.firstAttemptAt", micros(attempt.at)] },
        "lastAttempt": { "$literal": attempt_document(attempt) },
        "leaseOwner": { "$literal": Bson::Null },
        "leaseUntil": { "$literal": Bson::Null },
        "micros.leaseUntil": { "$literal": Bson::Null },
    };
    match next {
        AttemptNext::RetryAt(at) => {
            set.insert("nextAttemptAt", date(at));
            set.insert("micros.nextAttemptAt", micros(at));
        }
        AttemptNext::Delivered => {
            set.insert("state", state_name(DeliveryState::Delivered));
        }
        AttemptNext::Failed | AttemptNext::EndpointGone => {
            set.insert("state", state_name(DeliveryState::Failed));
        }
    }
    vec![doc! { "$set": set }]
}

/// A manual retry: pending, due at `now`, a fresh retry window, no lease.
pub fn retry_update(now: DateTime<Utc>) -> Document {
    doc! { "$set": {
        "state": state_name(DeliveryState::Pending),
        "attempts": 0_i64,
        "firstAttemptAt": Bson::Null,
        "nextAttemptAt": date(now),
        "leaseOwner": Bson::Null,
        "leaseUntil": Bson::Null,
        "micros.firstAttemptAt": Bson::Null,
        "micros.nextAttemptAt": micros(now),
        "micros.leaseUntil": Bson::Null,
    } }
}

/// A page of an endpoint's deliveries before event `before`, with [`page_sort`].
pub fn page_filter(endpoint: EndpointId, before: Option<EventId>) -> Document {
    let mut filter = deliveries_of(endpoint);
    if let Some(before) = before {
        filter.insert("eventId", doc! { "$lt": before.get() });
    }
    filter
}

/// Newest event first.
pub fn page_sort() -> Document {
    doc! { "eventId": -1 }
}

/// The indexes of `live_session_webhook_deliveries`: unique {endpointId, eventId} (one delivery
/// per endpoint and event, even when two enqueuers race without a transaction; it also serves
/// the listing, newest first, and deleting an endpoint's deliveries); {state, due time} for
/// the claims; {endpointId, sessionId, state, eventId} for the order check.
pub fn delivery_indexes() -> Vec<IndexModel> {
    vec![
        index(
            doc! { "endpointId": 1, "eventId": 1 },
            "endpoint_event_unique",
            true,
        ),
        index(
            doc! { "state": 1, "micros.nextAttemptAt": 1 },
            "state_due",
            false,
        ),
        index(
            doc! { "endpointId": 1, "sessionId": 1, "state": 1, "eventId": 1 },
            "endpoint_session_order",
            false,
        ),
    ]
}

/// The indexes of `live_session_webhook_endpoints`: {enabled} for claims and enqueues.
pub fn endpoint_indexes() -> Vec<IndexModel> {
    vec![index(doc! { "enabled": 1 }, "enabled", false)]
}
