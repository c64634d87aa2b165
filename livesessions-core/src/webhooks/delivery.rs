//! Deliveries: one event for one endpoint, its attempts and its state.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::endpoint::{EndpointId, EndpointSecrets, WebhookEndpoint};
use crate::events::{EventId, LoggedEvent};

/// The identity of a delivery: a time-ordered UUIDv7, chosen by the store.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct DeliveryId(Uuid);

impl DeliveryId {
    /// A new id.
    pub fn new() -> Self {
        DeliveryId(Uuid::now_v7())
    }

    /// The id of a stored UUID.
    pub fn from_uuid(uuid: Uuid) -> Self {
        DeliveryId(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for DeliveryId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not delivered yet: due at its `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: the retry window ran out, or the endpoint answered 410 Gone.
    Failed,
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// When it started (the worker's clock).
    pub at: DateTime<Utc>,
    /// The HTTP status of the answer, if one came.
    pub status: Option<u16>,
    /// How long it took.
    pub latency: Duration,
    /// What went wrong without an answer (timeout, connection refused, refused target, …).
    pub error: Option<String>,
}

/// What an attempt leaves the delivery as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptNext {
    /// Still pending, due again at this time.
    RetryAt(DateTime<Utc>),
    /// Delivered.
    Delivered,
    /// Failed for good (the retry window ran out).
    Failed,
    /// Failed, and the endpoint is disabled with [`DisabledReason::Gone`](super::DisabledReason::Gone)
    /// (the receiver answered 410).
    EndpointGone,
}

/// One event to deliver to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// To which endpoint.
    pub endpoint_id: EndpointId,
    /// Which event (its id is the `webhook-id`).
    pub event: LoggedEvent,
    /// Where it stands.
    pub state: DeliveryState,
    /// How many attempts were recorded (since the last manual retry).
    pub attempts: u32,
    /// When the first of those attempts was made: the retry window counts from here.
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// When it is due, while pending.
    pub next_attempt_at: DateTime<Utc>,
    /// The latest attempt, if any.
    pub last_attempt: Option<AttemptRecord>,
    /// When it was created (from the log).
    pub created_at: DateTime<Utc>,
}

/// A delivery a worker claimed, with what it needs to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery, as it was before the claim.
    pub delivery: Delivery,
    /// Its endpoint.
    pub endpoint: WebhookEndpoint,
    /// The endpoint's secrets.
    pub secrets: EndpointSecrets,
}

/// Which deliveries of an endpoint to list: newest (highest event id) first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// The endpoint.
    pub endpoint_id: EndpointId,
    /// Only deliveries of events before this one (the `next` of the previous page).
    pub before: Option<EventId>,
    /// At most this many (1 to [`DeliveryQuery::MAX_LIMIT`]).
    pub limit: usize,
}

impl DeliveryQuery {
    /// The largest page.
    pub const MAX_LIMIT: usize = 100;

    /// The first page of `limit` (clamped to 1..=[`DeliveryQuery::MAX_LIMIT`]) deliveries of
    /// `endpoint_id`.
    pub fn first(endpoint_id: EndpointId, limit: usize) -> Self {
        DeliveryQuery {
            endpoint_id,
            before: None,
            limit: limit.clamp(1, Self::MAX_LIMIT),
        }
    }
}

/// A page of deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPage {
    /// The deliveries, newest first.
    pub items: Vec<Delivery>,
    /// The `before` of the next page, when more may follow.
    pub next: Option<EventId>,
}

/// What [`WebhookStore::enqueue_events`](super::WebhookStore::enqueue_events) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// Deliveries were created and the cursor moved.
    Enqueued {
        /// The cursor now.
        cursor: EventId,
        /// How many deliveries were created.
        deliveries: u64,
    },
    /// The cursor was not where the caller expected: another instance enqueued these events
    /// first. Nothing changed; read on from `cursor`.
    Stale {
        /// The cursor now.
        cursor: EventId,
    },
}
