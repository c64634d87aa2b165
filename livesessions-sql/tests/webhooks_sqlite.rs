//! The webhook conformance suite on SQLite, in memory and in a temporary file (where
//! several connections contend for the write lock).

mod common;

mod in_memory {
    livesessions_core::webhook_store_tests!(super::common::sqlite_memory_webhooks);
}

mod in_file {
    livesessions_core::webhook_store_tests!(super::common::sqlite_file_webhooks);
}

use chrono::{DateTime, Utc};
use livesessions_core::webhooks::{
    EndpointUrl, EventTypes, WebhookEndpoint, WebhookSecret, WebhookStore,
};
use livesessions_sql::sqlite::SqliteStore;
use livesessions_sql::sqlx;

/// Secrets are stored as the core writes them, and a rotation keeps the old one in its own
/// column.
#[tokio::test]
async fn secrets_are_stored_in_the_core_s_form() {
    let at = |secs: i64| DateTime::<Utc>::from_timestamp(1_900_000_000 + secs, 0).unwrap();
    let store = SqliteStore::in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let url = EndpointUrl::parse("https://93.184.216.34/in", false).unwrap();
    let endpoint = WebhookEndpoint::new(url, EventTypes::All, None, at(-60));
    let first = WebhookSecret::generate();
    store.insert_endpoint(&endpoint, &first).await.unwrap();
    let second = WebhookSecret::generate();
    store
        .rotate_secret(endpoint.id, &second, at(86_400), at(0))
        .await
        .unwrap();
    let (current, previous): (String, Option<String>) =
        sqlx::query_as("SELECT secret, previous_secret FROM webhook_endpoints")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!((current, previous), (second.expose(), Some(first.expose())));
}

#[tokio::test]
async fn a_large_enqueue_creates_every_delivery() {
    let store = SqliteStore::in_memory().await.unwrap();
    store.migrate().await.unwrap();
    common::a_large_enqueue_creates_every_delivery(&store).await;
}
