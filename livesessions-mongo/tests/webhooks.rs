//! The webhook conformance cases of `livesessions-core`, run against a real MongoDB server.
//!
//! Set `LIVESESSIONS_TEST_MONGODB_URI` to run them (see `tests/conformance.rs`); without it
//! every case is compiled as ignored. Each case gets a database of its own, `ls_test_<uuid>`,
//! dropped afterwards.
//!
//! The suite runs twice: with the store's default ([`TransactionMode::Auto`]), which needs a
//! deployment with transactions (on a standalone server those cases print that they are
//! skipped), and without transactions, where enqueuing is best effort: the case that counts
//! what racing enqueuers report needs transactions and is ignored there, every other case runs.

mod server;

use std::sync::Arc;

use livesessions_core::testing::webhooks::WebhookFixture;
use livesessions_mongo::{MongoStore, TransactionMode};

async fn fresh_webhooks() -> Option<WebhookFixture> {
    fresh(TransactionMode::Auto).await
}

async fn fresh_webhooks_without_transactions() -> Option<WebhookFixture> {
    fresh(TransactionMode::Never).await
}

async fn fresh(mode: TransactionMode) -> Option<WebhookFixture> {
    let (database, name) = server::scratch_database().await;
    let store = MongoStore::new(database.clone()).with_transactions(mode);
    if mode == TransactionMode::Auto && !store.supports_transactions().await.expect("hello") {
        eprintln!(
            "skipped: the MongoDB deployment at {} has no transactions, which this webhook \
             suite needs (the without_transactions suite runs the best-effort cases)",
            server::URI_VARIABLE
        );
        return None;
    }
    store
        .ensure_indexes()
        .await
        .unwrap_or_else(|e| panic!("creating the indexes in {name} failed: {e:?}"));
    let fixture = WebhookFixture::new(Arc::new(store)).with_teardown(async move {
        if let Err(e) = database.drop().await {
            eprintln!("could not drop the test database {name}: {e}");
        }
    });
    Some(match server::scale() {
        Some(factor) => fixture.with_scale(factor),
        None => fixture,
    })
}

livesessions_core::webhook_store_tests!(
    #[cfg_attr(
        not(livesessions_test_mongodb),
        ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB webhook suite (scripts/secantus.sh start prints one)"
    )]
    fresh_webhooks
);

/// Every case but the one that needs transactions, on the best-effort path.
mod without_transactions {
    use livesessions_core::testing::webhooks::{cases, run_webhook_case};

    use super::fresh_webhooks_without_transactions;

    macro_rules! best_effort_cases {
        ($($case:ident),* $(,)?) => {
            $(
                #[test]
                #[cfg_attr(
                    not(livesessions_test_mongodb),
                    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB webhook suite (scripts/secantus.sh start prints one)"
                )]
                fn $case() {
                    run_webhook_case(fresh_webhooks_without_transactions, cases::$case);
                }
            )*
        };
    }

    best_effort_cases!(
        endpoints_register_list_get_and_delete,
        secrets_are_kept_apart_from_endpoints,
        rotation_keeps_the_old_secret_for_its_overlap,
        endpoints_disable_and_enable,
        enqueue_matches_enabled_endpoints_and_their_types,
        claims_are_exclusive_under_concurrency,
        deliveries_of_a_session_go_in_order,
        an_expired_lease_makes_a_delivery_claimable_again,
        attempts_follow_the_retry_schedule,
        gone_fails_the_delivery_and_disables_the_endpoint,
        manual_retry_makes_a_delivery_due_again,
        deliveries_page_newest_first,
        deleting_an_endpoint_deletes_its_deliveries,
    );

    #[test]
    #[ignore = "needs transactions: without them racing enqueuers make every delivery once, but may each report only the deliveries they inserted"]
    fn enqueue_is_exactly_once_under_concurrency() {
        run_webhook_case(
            fresh_webhooks_without_transactions,
            cases::enqueue_is_exactly_once_under_concurrency,
        );
    }
}

/// What the store promises beyond the shared cases.
mod mongo {
    use std::collections::HashSet;
    use std::sync::Arc;

    use futures::TryStreamExt;
    use livesessions_core::events::{EventId, EventKind, LoggedEvent};
    use livesessions_core::webhooks::{
        DeliveryQuery, EndpointUrl, EventTypes, WebhookEndpoint, WebhookSecret, WebhookStore,
    };
    use livesessions_core::SessionId;
    use livesessions_mongo::documents::{WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS};
    use livesessions_mongo::mongodb::bson::Document;
    use livesessions_mongo::{MongoStore, TransactionMode};

    use super::server;

    async fn store(mode: TransactionMode) -> (MongoStore, livesessions_mongo::mongodb::Database) {
        let (database, _) = server::scratch_database().await;
        let store = MongoStore::new(database.clone()).with_transactions(mode);
        store.ensure_indexes().await.expect("ensure_indexes");
        (store, database)
    }

    async fn index_names(
        database: &livesessions_mongo::mongodb::Database,
        collection: &str,
    ) -> Vec<String> {
        let mut names: Vec<String> = database
            .collection::<Document>(collection)
            .list_indexes()
            .await
            .expect("list_indexes")
            .try_collect::<Vec<_>>()
            .await
            .expect("indexes")
            .into_iter()
            .filter_map(|index| index.options.and_then(|o| o.name))
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    #[cfg_attr(
        not(livesessions_test_mongodb),
        ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB webhook suite (scripts/secantus.sh start prints one)"
    )]
    async fn ensure_indexes_creates_the_webhook_indexes() {
        let (_store, database) = store(TransactionMode::Auto).await;
        let deliveries = index_names(&database, WEBHOOK_DELIVERIES).await;
        for name in [
            "endpoint_event_unique",
            "endpoint_session_order",
            "state_due",
        ] {
            assert!(
                deliveries.iter().any(|n| n == name),
                "{name} missing from {deliveries:?}"
            );
        }
        let endpoints = index_names(&database, WEBHOOK_ENDPOINTS).await;
        assert!(endpoints.iter().any(|n| n == "enabled"), "{endpoints:?}");
        database.drop().await.expect("drop");
    }

    /// Without transactions, enqueuers racing from the same cursor still make each delivery
    /// once, and the cursor ends at the last event.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[cfg_attr(
        not(livesessions_test_mongodb),
        ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB webhook suite (scripts/secantus.sh start prints one)"
    )]
    async fn best_effort_enqueue_never_makes_a_delivery_twice() {
        let (store, database) = store(TransactionMode::Never).await;
        let store = Arc::new(store);
        let created_at = "2030-03-01T11:00:00Z".parse().unwrap();
        let at = "2030-03-01T12:00:00Z".parse().unwrap();
        let mut endpoints = Vec::new();
        for path in ["a", "b"] {
            let url = EndpointUrl::parse(&format!("https://93.184.216.34/{path}"), false).unwrap();
            let endpoint = WebhookEndpoint::new(url, EventTypes::All, None, created_at);
            store
                .insert_endpoint(&endpoint, &WebhookSecret::generate())
                .await
                .unwrap();
            endpoints.push(endpoint.id);
        }
        let events: Arc<Vec<LoggedEvent>> = Arc::new(
            (1..=20)
                .map(|id| LoggedEvent {
                    id: EventId::new(id).unwrap(),
                    kind: EventKind::Live,
                    session_id: SessionId::new(),
                    at,
                })
                .collect(),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (store, events) = (Arc::clone(&store), Arc::clone(&events));
            tasks.spawn(async move {
                store
                    .enqueue_events(EventId::ZERO, &events, at)
                    .await
                    .expect("enqueue_events")
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("an enqueuing task");
        }
        assert_eq!(
            store.webhook_cursor().await.unwrap(),
            EventId::new(20).unwrap()
        );
        for endpoint in endpoints {
            let page = store
                .list_deliveries(&DeliveryQuery::first(endpoint, DeliveryQuery::MAX_LIMIT))
                .await
                .unwrap();
            let ids: HashSet<EventId> = page.items.iter().map(|d| d.event.id).collect();
            assert_eq!(
                (page.items.len(), ids.len()),
                (20, 20),
                "endpoint {endpoint}"
            );
        }
        database.drop().await.expect("drop");
    }
}
