//! The [`WebhookStore`] port: what a store keeps for webhook delivery.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::delivery::{
    AttemptNext, AttemptRecord, ClaimedDelivery, Delivery, DeliveryId, DeliveryPage, DeliveryQuery,
    EnqueueOutcome,
};
use super::endpoint::{DisabledReason, EndpointId, EndpointSecrets, WebhookEndpoint};
use super::secret::WebhookSecret;
use crate::error::Result;
use crate::events::{EventId, LoggedEvent};

/// Webhook endpoints and their deliveries.
///
/// Endpoints are registered with a secret that only
/// [`endpoint_secrets`](WebhookStore::endpoint_secrets) and
/// [`claim_due`](WebhookStore::claim_due) give back; every other read returns the endpoint
/// without it. A missing endpoint or delivery is `NotFound` (entity `"webhook endpoint"` or
/// `"webhook delivery"`) where a method says so. Storage failures are `Unavailable` or
/// `Storage`, as for the other ports.
///
/// Deliveries are created from the [event log](crate::events::EventLog) by
/// [`enqueue_events`](WebhookStore::enqueue_events), at most one per (endpoint, event), and
/// delivered by workers that lease them with [`claim_due`](WebhookStore::claim_due) and report
/// with [`record_attempt`](WebhookStore::record_attempt). Several server instances may run
/// both at once: every event becomes deliveries exactly once and every delivery is leased to
/// one worker at a time. The [webhook conformance cases](crate::testing::webhooks) check all
/// of it.
///
/// Order: deliveries of one endpoint about one session are delivered in event order. A
/// pending delivery blocks the later deliveries of the same endpoint and session (they are not
/// claimable) until it is delivered or failed.
#[async_trait]
pub trait WebhookStore: Debug + Send + Sync + 'static {
    /// Stores a new endpoint and its secret. An existing id is `Conflict(AlreadyExists)`.
    async fn insert_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &WebhookSecret,
    ) -> Result<()>;

    /// Every endpoint, oldest registered first (by id).
    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>>;

    /// The endpoint, or `None`.
    async fn get_endpoint(&self, id: EndpointId) -> Result<Option<WebhookEndpoint>>;

    /// Disables the endpoint with `reason` and sets `updated_at = now` (also when it was
    /// disabled already). Returns the endpoint after the change; a missing one is `NotFound`.
    /// A disabled endpoint's pending deliveries are not claimable, and events enqueued while
    /// it is disabled make no deliveries for it.
    async fn disable_endpoint(
        &self,
        id: EndpointId,
        reason: DisabledReason,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint>;

    /// Enables the endpoint (`disabled_reason` cleared) and sets `updated_at = now`. Returns
    /// the endpoint after the change; a missing one is `NotFound`. Its pending deliveries are
    /// claimable again.
    async fn enable_endpoint(&self, id: EndpointId, now: DateTime<Utc>) -> Result<WebhookEndpoint>;

    /// Deletes the endpoint, its secrets and all its deliveries. Returns whether it existed.
    async fn delete_endpoint(&self, id: EndpointId) -> Result<bool>;

    /// Atomically makes `new` the current secret and keeps the replaced one as the previous
    /// secret until `previous_valid_until` (an older previous secret is forgotten); sets
    /// `updated_at = now`. A missing endpoint is `NotFound`.
    async fn rotate_secret(
        &self,
        id: EndpointId,
        new: &WebhookSecret,
        previous_valid_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// The endpoint's secrets, or `None` when it does not exist.
    async fn endpoint_secrets(&self, id: EndpointId) -> Result<Option<EndpointSecrets>>;

    /// The id of the last log event turned into deliveries ([`EventId::ZERO`] at first).
    async fn webhook_cursor(&self) -> Result<EventId>;

    /// Turns log events into deliveries, exactly once across every caller, in one atomic
    /// operation: if the stored cursor is not `expected_cursor`, changes nothing and returns
    /// [`EnqueueOutcome::Stale`] with the stored cursor. Otherwise, for every event of
    /// `events` with an id above `expected_cursor` (the caller passes them in id order, as
    /// [`EventLog::read_events`](crate::events::EventLog::read_events) returns them) and every
    /// endpoint that is enabled, whose [`EventTypes`](super::EventTypes) match the event's
    /// kind and that was registered at or before the event (`created_at <= event.at`: an
    /// endpoint does not receive what happened before it existed), creates a pending delivery (`attempts` 0, no first attempt, `next_attempt_at` and
    /// `created_at` = `now`); then sets the cursor to the greatest event id given (unchanged
    /// when there is none above it) and returns [`EnqueueOutcome::Enqueued`].
    async fn enqueue_events(
        &self,
        expected_cursor: EventId,
        events: &[LoggedEvent],
        now: DateTime<Utc>,
    ) -> Result<EnqueueOutcome>;

    /// Leases up to `limit` due deliveries to `worker` until `lease_until` and returns them
    /// with their endpoints and secrets, in event-id order. A delivery is due when it is
    /// pending, its `next_attempt_at <= now`, it is not leased (no lease, or one that ended at
    /// or before `now`), its endpoint is enabled, and no pending delivery of the same endpoint
    /// and session has a smaller event id. Atomic with respect to other claims: concurrent
    /// callers never get the same delivery while its lease runs. The returned deliveries are
    /// as before the claim.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
        worker: &str,
    ) -> Result<Vec<ClaimedDelivery>>;

    /// Records an attempt of a delivery `worker` leased. Only when the delivery exists, is
    /// pending and its lease was last given to `worker` (expired or not), atomically:
    /// `attempts += 1`; `first_attempt_at` set to `attempt.at` if unset; `last_attempt =
    /// attempt`; the lease released; then by `next`: [`AttemptNext::RetryAt`] keeps it pending
    /// with that `next_attempt_at`, [`AttemptNext::Delivered`] marks it delivered,
    /// [`AttemptNext::Failed`] failed, and [`AttemptNext::EndpointGone`] failed and the endpoint
    /// disabled with [`DisabledReason::Gone`] (`updated_at = attempt.at`). Returns `true`;
    /// otherwise changes nothing and returns `false` (the lease was lost to another worker).
    async fn record_attempt(
        &self,
        id: DeliveryId,
        worker: &str,
        attempt: &AttemptRecord,
        next: AttemptNext,
    ) -> Result<bool>;

    /// The delivery, or `None`.
    async fn get_delivery(&self, id: DeliveryId) -> Result<Option<Delivery>>;

    /// A page of the endpoint's deliveries, newest (greatest event id) first, with event ids
    /// below `query.before` when given; at most `query.limit`. `next` is the last item's event
    /// id when the page is full. An endpoint without deliveries (or a missing one) gives an
    /// empty page.
    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage>;

    /// Retries a delivery by hand: makes it pending and due at `now` with a fresh retry window
    /// (`attempts` 0, no first attempt; `last_attempt` kept) and releases any lease. Returns it
    /// after the change; a missing one is `NotFound`.
    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<Delivery>;
}
