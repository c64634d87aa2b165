//! The webhook conformance suite on PostgreSQL: every case in a schema of its own, dropped
//! afterwards. Needs `LIVESESSIONS_TEST_POSTGRES_URL` (`.ci/run` sets it).

mod common;

livesessions_core::webhook_store_tests!(common::postgres_webhooks);

use std::time::Duration;

use chrono::{DateTime, Utc};
use livesessions_core::events::{EventId, EventKind, LoggedEvent};
use livesessions_core::webhooks::{
    EndpointUrl, EnqueueOutcome, EventTypes, WebhookEndpoint, WebhookSecret, WebhookStore,
};
use livesessions_core::SessionId;
use livesessions_sql::sqlx;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000 + secs, 0).expect("a time")
}

fn event(id: i64) -> LoggedEvent {
    LoggedEvent {
        id: EventId::new(id).expect("an id"),
        kind: EventKind::Live,
        session_id: SessionId::new(),
        at: at(0),
    }
}

async fn endpoint(store: &dyn WebhookStore) -> (WebhookEndpoint, WebhookSecret) {
    let url = EndpointUrl::parse("https://93.184.216.34/in", false).expect("a url");
    let endpoint = WebhookEndpoint::new(url, EventTypes::All, None, at(-60));
    let secret = WebhookSecret::generate();
    store
        .insert_endpoint(&endpoint, &secret)
        .await
        .expect("insert_endpoint");
    (endpoint, secret)
}

/// A delivery another transaction holds locked is skipped, not waited for: the claim takes
/// the others at once (`FOR UPDATE SKIP LOCKED`), and the locked one once it is released.
#[tokio::test]
async fn a_claim_skips_deliveries_locked_by_another_transaction() {
    let (store, pool) = common::scratch_postgres().await;
    endpoint(&store).await;
    let outcome = store
        .enqueue_events(EventId::ZERO, &[event(1), event(2)], at(0))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        EnqueueOutcome::Enqueued { deliveries: 2, .. }
    ));

    let mut other = pool.begin().await.unwrap();
    sqlx::query(&format!(
        "SELECT id FROM \"{}\".webhook_deliveries WHERE event_id = 1 FOR UPDATE",
        store.schema()
    ))
    .execute(&mut *other)
    .await
    .unwrap();
    let claimed = tokio::time::timeout(
        Duration::from_secs(5),
        store.claim_due(at(0), 10, at(60), "w1"),
    )
    .await
    .expect("a claim does not wait for a locked delivery")
    .unwrap();
    let ids: Vec<i64> = claimed.iter().map(|c| c.delivery.event.id.get()).collect();
    assert_eq!(ids, [2]);
    other.rollback().await.unwrap();

    let claimed = store.claim_due(at(0), 10, at(60), "w2").await.unwrap();
    let ids: Vec<i64> = claimed.iter().map(|c| c.delivery.event.id.get()).collect();
    assert_eq!(ids, [1]);
    common::drop_postgres(&store, pool).await;
}

/// Secrets are stored as the core writes them, and a rotation keeps the old one in its own
/// column.
#[tokio::test]
async fn secrets_are_stored_in_the_core_s_form() {
    let (store, pool) = common::scratch_postgres().await;
    let (endpoint, first) = endpoint(&store).await;
    let second = WebhookSecret::generate();
    store
        .rotate_secret(endpoint.id, &second, at(86_400), at(0))
        .await
        .unwrap();
    let (current, previous): (String, Option<String>) = sqlx::query_as(&format!(
        "SELECT secret, previous_secret FROM \"{}\".webhook_endpoints",
        store.schema()
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((current, previous), (second.expose(), Some(first.expose())));
    common::drop_postgres(&store, pool).await;
}

#[tokio::test]
async fn a_large_enqueue_creates_every_delivery() {
    let (store, pool) = common::scratch_postgres().await;
    common::a_large_enqueue_creates_every_delivery(&store).await;
    common::drop_postgres(&store, pool).await;
}
