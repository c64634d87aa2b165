//! The conformance suite of `livesessions-core`, run against a real MongoDB server.
//!
//! Set `LIVESESSIONS_TEST_MONGODB_URI` (for example `mongodb://127.0.0.1:27017`, or the URI
//! `scripts/secantus.sh start` prints) to run it; without it every case is compiled as ignored
//! and `cargo test` counts it so (the crate's build script turns the variable into the
//! `livesessions_test_mongodb` cfg). With the variable set, a server that cannot be reached fails
//! the cases. Each case gets a database of its own, `ls_test_<uuid>`, dropped afterwards.
//!
//! `LIVESESSIONS_TEST_MONGODB_SCALE` (a factor in (0, 1]) scales the sizes of the concurrency
//! cases down for a slow server; CI runs them at 0.1 on SecantusDB.
//!
//! The suite runs twice: with the store's default ([`TransactionMode::Auto`]: transactions on a
//! replica set) and without transactions (the upsert-then-`$inc` path), so that a replica set
//! checks both ways of joining and ending.

mod server;

use std::sync::Arc;

use livesessions_core::testing::Fixture;
use livesessions_mongo::{MongoStore, TransactionMode};

async fn fresh_mongo() -> Option<Fixture> {
    Some(fresh(TransactionMode::Auto).await)
}

async fn fresh_mongo_without_transactions() -> Option<Fixture> {
    Some(fresh(TransactionMode::Never).await)
}

async fn fresh(mode: TransactionMode) -> Fixture {
    let (database, name) = server::scratch_database().await;
    let store = MongoStore::new(database.clone()).with_transactions(mode);
    store
        .ensure_indexes()
        .await
        .unwrap_or_else(|e| panic!("creating the indexes in {name} failed: {e:?}"));
    let fixture = Fixture::new(Arc::new(store)).with_teardown(async move {
        if let Err(e) = database.drop().await {
            eprintln!("could not drop the test database {name}: {e}");
        }
    });
    match server::scale() {
        Some(factor) => fixture.with_scale(factor),
        None => fixture,
    }
}

livesessions_core::conformance_tests!(
    #[cfg_attr(
        not(livesessions_test_mongodb),
        ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB conformance suite (scripts/secantus.sh start prints one)"
    )]
    fresh_mongo
);

mod without_transactions {
    use super::fresh_mongo_without_transactions;

    livesessions_core::conformance_tests!(
        #[cfg_attr(
            not(livesessions_test_mongodb),
            ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB conformance suite (scripts/secantus.sh start prints one)"
        )]
        fresh_mongo_without_transactions
    );
}

/// The thumbnail store checks of `livesessions-core` on the store's GridFS thumbnails, in a
/// database of their own with the store's indexes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB thumbnail store checks (scripts/secantus.sh start prints one)"
)]
async fn mongo_thumbnails_pass_the_thumbnail_store_checks() {
    let (database, name) = server::scratch_database().await;
    let store = MongoStore::new(database.clone());
    store
        .ensure_indexes()
        .await
        .unwrap_or_else(|e| panic!("creating the indexes in {name} failed: {e:?}"));
    let thumbnails = store.thumbnails();
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        livesessions_core::testing::thumbnail_store_cases(&thumbnails),
    ))
    .await;
    if let Err(e) = database.drop().await {
        eprintln!("could not drop the test database {name}: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
