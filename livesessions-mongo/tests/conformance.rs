//! The conformance suite of `livesessions-core`, run against a real MongoDB server.
//!
//! Set `LIVESESSIONS_TEST_MONGODB_URI` (for example `mongodb://127.0.0.1:27017`) to run it;
//! without it every case prints that it was skipped and passes. Each case gets a database of
//! its own, `ls_test_<uuid>`, dropped afterwards.
//!
//! The suite runs twice: with the store's default ([`TransactionMode::Auto`]: transactions on a
//! replica set) and without transactions (the upsert-then-`$inc` path), so that a replica set
//! checks both ways of joining and ending.

use std::sync::Arc;

use livesessions_core::testing::Fixture;
use livesessions_mongo::mongodb::Database;
use livesessions_mongo::{MongoStore, TransactionMode};

const URI_VARIABLE: &str = "LIVESESSIONS_TEST_MONGODB_URI";

async fn fresh_mongo() -> Option<Fixture> {
    fresh(TransactionMode::Auto).await
}

async fn fresh_mongo_without_transactions() -> Option<Fixture> {
    fresh(TransactionMode::Never).await
}

/// A scratch database, or `None` (after saying why) when no server is configured.
async fn scratch_database() -> Option<(Database, String)> {
    let Ok(uri) = std::env::var(URI_VARIABLE) else {
        eprintln!(
            "skipped: set {URI_VARIABLE} to run the conformance suite against a MongoDB server"
        );
        return None;
    };
    let client = livesessions_mongo::mongodb::Client::with_uri_str(&uri)
        .await
        .unwrap_or_else(|e| panic!("{URI_VARIABLE}={uri} is not a usable MongoDB URI: {e}"));
    let name = format!("ls_test_{}", uuid::Uuid::new_v4().simple());
    Some((client.database(&name), name))
}

async fn fresh(mode: TransactionMode) -> Option<Fixture> {
    let (database, name) = scratch_database().await?;
    let store = MongoStore::new(database.clone()).with_transactions(mode);
    store
        .ensure_indexes()
        .await
        .unwrap_or_else(|e| panic!("creating the indexes in {name} failed: {e:?}"));
    Some(Fixture::new(Arc::new(store)).with_teardown(async move {
        if let Err(e) = database.drop().await {
            eprintln!("could not drop the test database {name}: {e}");
        }
    }))
}

livesessions_core::conformance_tests!(fresh_mongo);

mod without_transactions {
    use super::fresh_mongo_without_transactions;

    livesessions_core::conformance_tests!(fresh_mongo_without_transactions);
}
