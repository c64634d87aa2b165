//! Deliveries: created from log events exactly once, listed newest first, retried by hand,
//! deleted with their endpoint.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::Error;
use crate::events::{EventId, EventKind, LoggedEvent};
use crate::ids::SessionId;
use crate::testing::harness::scaled;
use crate::webhooks::{
    AttemptNext, AttemptRecord, DeliveryId, DeliveryQuery, DeliveryState, DisabledReason,
    EndpointUrl, EnqueueOutcome, EventTypes, WebhookEndpoint, WebhookSecret, WebhookStore,
};

use super::support::{at, deliveries, endpoint, enqueue, event, t0};

/// Each event makes one pending delivery per endpoint that is enabled, takes its kind and
/// existed at the event; the cursor moves to the last event, a stale cursor changes nothing
/// and events at or below the cursor are ignored.
pub async fn enqueue_matches_enabled_endpoints_and_their_types(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    assert_eq!(store.webhook_cursor().await.unwrap(), EventId::ZERO);
    let (all, _) = endpoint(store, "all", EventTypes::All).await;
    let (live, _) = endpoint(store, "live", EventTypes::only([EventKind::Live])).await;
    let (off, _) = endpoint(store, "off", EventTypes::All).await;
    store
        .disable_endpoint(off.id, DisabledReason::Manual, at(-1))
        .await
        .unwrap();
    let url = EndpointUrl::parse("https://93.184.216.34/later", false).unwrap();
    let later = WebhookEndpoint::new(url, EventTypes::All, None, at(100));
    store
        .insert_endpoint(&later, &WebhookSecret::generate())
        .await
        .unwrap();

    let (s1, s2) = (SessionId::new(), SessionId::new());
    let events = [
        event(1, EventKind::Created, s1),
        event(2, EventKind::Live, s1),
        event(3, EventKind::Ended, s2),
    ];
    assert_eq!(
        enqueue(store, &events).await,
        4,
        "3 for `all`, 1 for `live`"
    );
    let made = deliveries(store, all.id).await;
    let kinds: Vec<EventKind> = made.iter().map(|d| d.event.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Ended, EventKind::Live, EventKind::Created]
    );
    for (delivery, event) in made.iter().zip(events.iter().rev()) {
        assert_eq!(delivery.event, *event);
        assert_eq!(delivery.endpoint_id, all.id);
        assert_eq!(delivery.state, DeliveryState::Pending);
        assert_eq!(delivery.attempts, 0);
        assert_eq!(delivery.first_attempt_at, None);
        assert_eq!(delivery.last_attempt, None);
        assert_eq!(
            (delivery.next_attempt_at, delivery.created_at),
            (t0(), t0())
        );
        assert_eq!(
            store.get_delivery(delivery.id).await.unwrap().as_ref(),
            Some(delivery)
        );
    }
    let live_only = deliveries(store, live.id).await;
    assert_eq!(live_only.len(), 1);
    assert_eq!(live_only[0].event, events[1]);
    assert!(
        deliveries(store, off.id).await.is_empty(),
        "a disabled endpoint gets nothing"
    );
    assert!(
        deliveries(store, later.id).await.is_empty(),
        "an endpoint registered after the events gets none of them"
    );
    assert_eq!(store.get_delivery(DeliveryId::new()).await.unwrap(), None);

    let stale = store
        .enqueue_events(EventId::ZERO, &events, t0())
        .await
        .unwrap();
    assert_eq!(
        stale,
        EnqueueOutcome::Stale {
            cursor: EventId::new(3).unwrap()
        }
    );
    assert_eq!(
        deliveries(store, all.id).await.len(),
        3,
        "a stale enqueue changes nothing"
    );

    let overlap = [events[2], event(4, EventKind::Updated, s2)];
    assert_eq!(
        enqueue(store, &overlap).await,
        1,
        "event 3 was enqueued already; event 4 goes to `all` only"
    );
    assert_eq!(enqueue(store, &[]).await, 0);
    assert_eq!(
        store.webhook_cursor().await.unwrap(),
        EventId::new(4).unwrap()
    );
}

/// Several instances enqueuing the same log at once create each delivery exactly once.
pub async fn enqueue_is_exactly_once_under_concurrency(store: Arc<dyn WebhookStore>) {
    let events_count = scaled(60, 10) as i64;
    let mut endpoints = Vec::new();
    for path in ["a", "b", "c"] {
        endpoints.push(endpoint(&*store, path, EventTypes::All).await.0);
    }
    let log: Arc<Vec<LoggedEvent>> = Arc::new(
        (1..=events_count)
            .map(|id| event(id, EventKind::Participants, SessionId::new()))
            .collect(),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let log = Arc::clone(&log);
        tasks.spawn(async move {
            let mut created = 0;
            loop {
                let cursor = store.webhook_cursor().await.expect("webhook_cursor");
                let batch: Vec<LoggedEvent> = log
                    .iter()
                    .filter(|e| e.id > cursor)
                    .take(7)
                    .copied()
                    .collect();
                if batch.is_empty() {
                    return created;
                }
                match store
                    .enqueue_events(cursor, &batch, t0())
                    .await
                    .expect("enqueue")
                {
                    EnqueueOutcome::Enqueued { deliveries, .. } => created += deliveries,
                    EnqueueOutcome::Stale { cursor: now } => {
                        assert!(now > cursor, "a stale answer must report a later cursor");
                    }
                }
                tokio::task::yield_now().await;
            }
        });
    }
    let mut created = 0;
    while let Some(done) = tasks.join_next().await {
        created += done.expect("an enqueuing task");
    }
    let expected = 3 * events_count as u64;
    assert_eq!(created, expected, "deliveries reported created");
    for endpoint in &endpoints {
        let made = deliveries(&*store, endpoint.id).await;
        let ids: HashSet<EventId> = made.iter().map(|d| d.event.id).collect();
        assert_eq!(
            (made.len(), ids.len()),
            (events_count as usize, events_count as usize),
            "one delivery per event for endpoint {}",
            endpoint.id
        );
    }
}

/// A manual retry makes any delivery pending and due at once, with a fresh retry window,
/// and releases its lease.
pub async fn manual_retry_makes_a_delivery_due_again(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    let (a, _) = endpoint(store, "a", EventTypes::All).await;
    enqueue(store, &[event(1, EventKind::Live, SessionId::new())]).await;
    let claimed = store.claim_due(t0(), 10, at(60), "w1").await.unwrap();
    let id = claimed[0].delivery.id;
    let attempt = AttemptRecord {
        at: t0(),
        status: Some(500),
        latency: std::time::Duration::from_millis(40),
        error: None,
    };
    assert!(store
        .record_attempt(id, "w1", &attempt, AttemptNext::Failed)
        .await
        .unwrap());
    assert!(store
        .claim_due(at(500), 10, at(560), "w1")
        .await
        .unwrap()
        .is_empty());

    let retried = store.retry_delivery(id, at(500)).await.unwrap();
    assert_eq!(retried.state, DeliveryState::Pending);
    assert_eq!((retried.attempts, retried.first_attempt_at), (0, None));
    assert_eq!(retried.next_attempt_at, at(500));
    assert_eq!(
        retried.last_attempt,
        Some(attempt),
        "the last attempt stays visible"
    );
    assert_eq!(store.get_delivery(id).await.unwrap(), Some(retried));
    assert!(store
        .claim_due(at(499), 10, at(560), "w1")
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_due(at(500), 10, at(1000), "w1").await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].endpoint.id, a.id);

    // Retrying a leased delivery releases the lease.
    store.retry_delivery(id, at(600)).await.unwrap();
    let claimed = store.claim_due(at(600), 10, at(1000), "w2").await.unwrap();
    assert_eq!(
        claimed.len(),
        1,
        "the retried delivery is free for another worker"
    );

    let missing = store.retry_delivery(DeliveryId::new(), at(600)).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
}

/// An endpoint's deliveries come in pages, newest event first, without gaps or repeats, and
/// without other endpoints' deliveries.
pub async fn deliveries_page_newest_first(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    let (a, _) = endpoint(store, "a", EventTypes::All).await;
    let (b, _) = endpoint(store, "b", EventTypes::only([EventKind::Live])).await;
    let session = SessionId::new();
    let events: Vec<LoggedEvent> = (1..=7)
        .map(|id| {
            let kind = if id % 2 == 0 {
                EventKind::Live
            } else {
                EventKind::Updated
            };
            event(id, kind, session)
        })
        .collect();
    enqueue(store, &events).await;
    let mut query = DeliveryQuery::first(a.id, 3);
    let mut pages = Vec::new();
    loop {
        let page = store.list_deliveries(&query).await.unwrap();
        assert!(page.items.len() <= 3);
        pages.push(
            page.items
                .iter()
                .map(|d| d.event.id.get())
                .collect::<Vec<_>>(),
        );
        match page.next {
            Some(before) => {
                assert_eq!(Some(before), page.items.last().map(|d| d.event.id));
                query.before = Some(before);
            }
            None => break,
        }
    }
    let flat: Vec<i64> = pages.concat();
    assert_eq!(flat, [7, 6, 5, 4, 3, 2, 1], "pages {pages:?}");
    let b_ids: Vec<i64> = deliveries(store, b.id)
        .await
        .iter()
        .map(|d| d.event.id.get())
        .collect();
    assert_eq!(b_ids, [6, 4, 2]);
    let none = store
        .list_deliveries(&DeliveryQuery::first(
            crate::webhooks::EndpointId::new(),
            10,
        ))
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}

/// Deleting an endpoint deletes its deliveries and leaves the others.
pub async fn deleting_an_endpoint_deletes_its_deliveries(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    let (a, _) = endpoint(store, "a", EventTypes::All).await;
    let (b, _) = endpoint(store, "b", EventTypes::All).await;
    enqueue(store, &[event(1, EventKind::Live, SessionId::new())]).await;
    let gone = deliveries(store, a.id).await[0].id;
    assert!(store.delete_endpoint(a.id).await.unwrap());
    assert_eq!(store.get_delivery(gone).await.unwrap(), None);
    assert!(deliveries(store, a.id).await.is_empty());
    assert_eq!(deliveries(store, b.id).await.len(), 1);
    let claimed = store.claim_due(t0(), 10, at(60), "w").await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].endpoint.id, b.id);
}
