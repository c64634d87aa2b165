//! What the webhook cases share: times, endpoints and events written by hand.

use chrono::{DateTime, TimeDelta, Utc};

use crate::events::{EventId, EventKind, LoggedEvent};
use crate::ids::SessionId;
use crate::webhooks::{
    Delivery, DeliveryQuery, EndpointId, EndpointUrl, EnqueueOutcome, EventTypes, WebhookEndpoint,
    WebhookSecret, WebhookStore,
};

/// Time zero of every case.
pub(crate) fn t0() -> DateTime<Utc> {
    "2030-03-01T12:00:00Z".parse().expect("a time")
}

/// `secs` seconds after time zero.
pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

/// An enabled endpoint registered an hour before time zero, stored with a new secret.
pub(crate) async fn endpoint(
    store: &dyn WebhookStore,
    path: &str,
    types: EventTypes,
) -> (WebhookEndpoint, WebhookSecret) {
    let url = EndpointUrl::parse(&format!("https://93.184.216.34/{path}"), false).expect("a url");
    let endpoint = WebhookEndpoint::new(url, types, None, at(-3600));
    let secret = WebhookSecret::generate();
    store
        .insert_endpoint(&endpoint, &secret)
        .await
        .expect("insert_endpoint");
    (endpoint, secret)
}

/// An event of the log, at time zero.
pub(crate) fn event(id: i64, kind: EventKind, session_id: SessionId) -> LoggedEvent {
    LoggedEvent {
        id: EventId::new(id).expect("an id"),
        kind,
        session_id,
        at: t0(),
    }
}

/// Enqueues `events` from the store's cursor at time zero; returns how many deliveries.
pub(crate) async fn enqueue(store: &dyn WebhookStore, events: &[LoggedEvent]) -> u64 {
    let cursor = store.webhook_cursor().await.expect("webhook_cursor");
    match store
        .enqueue_events(cursor, events, t0())
        .await
        .expect("enqueue_events")
    {
        EnqueueOutcome::Enqueued {
            deliveries,
            cursor: after,
        } => {
            let greatest = events
                .iter()
                .map(|e| e.id)
                .max()
                .unwrap_or(cursor)
                .max(cursor);
            assert_eq!(after, greatest, "the cursor after enqueuing {events:?}");
            deliveries
        }
        EnqueueOutcome::Stale { cursor: now } => {
            panic!("enqueue_events from the store's own cursor {cursor} was stale (now {now})")
        }
    }
}

/// Every delivery of an endpoint, newest first.
pub(crate) async fn deliveries(store: &dyn WebhookStore, endpoint: EndpointId) -> Vec<Delivery> {
    let mut all = Vec::new();
    let mut query = DeliveryQuery::first(endpoint, DeliveryQuery::MAX_LIMIT);
    loop {
        let page = store
            .list_deliveries(&query)
            .await
            .expect("list_deliveries");
        all.extend(page.items);
        match page.next {
            Some(before) => query.before = Some(before),
            None => return all,
        }
    }
}
