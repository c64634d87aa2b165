//! The calendar conformance cases of `livesessions-core`, run against a real MongoDB server.
//!
//! Set `LIVESESSIONS_TEST_MONGODB_URI` to run them (see `tests/conformance.rs`); without it
//! every case is compiled as ignored. Each case gets a database of its own, `ls_test_<uuid>`,
//! dropped afterwards.

mod server;

use std::sync::Arc;

use livesessions_core::testing::Fixture;
use livesessions_mongo::MongoStore;

async fn fresh_calendar() -> Option<Fixture> {
    let (database, name) = server::scratch_database().await;
    let store = Arc::new(MongoStore::new(database.clone()));
    store
        .ensure_indexes()
        .await
        .unwrap_or_else(|e| panic!("creating the indexes in {name} failed: {e:?}"));
    Some(
        Fixture::new(store.clone())
            .with_calendar(store)
            .with_teardown(async move {
                if let Err(e) = database.drop().await {
                    eprintln!("could not drop the test database {name}: {e}");
                }
            }),
    )
}

livesessions_core::calendar_feed_tests!(
    #[cfg_attr(
        not(livesessions_test_mongodb),
        ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB calendar cases (scripts/secantus.sh start prints one)"
    )]
    fresh_calendar
);
