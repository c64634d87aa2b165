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
//!
//! The event-log cases run the same two ways. Without transactions a change and its event
//! cannot commit together, so the outbox case (`an_event_exists_iff_its_change_committed`) is
//! compiled as ignored there; the others hold either way. Its fault injection is a validator
//! on `live_session_events` that no document passes: the append fails inside the change's
//! transaction, which must then undo the change.

mod server;

use std::sync::Arc;

use livesessions_core::testing::{EventLogFaults, Fixture};
use livesessions_mongo::documents::{EVENTS, STAGED_EVENTS};
use livesessions_mongo::mongodb::bson::doc;
use livesessions_mongo::{MongoStore, TransactionMode};

async fn fresh_mongo() -> Option<Fixture> {
    Some(fresh(TransactionMode::Auto).await)
}

async fn fresh_mongo_without_transactions() -> Option<Fixture> {
    Some(fresh(TransactionMode::Never).await)
}

async fn fresh(mode: TransactionMode) -> Fixture {
    fresh_store(mode).await.1
}

/// A store on a scratch database of its own, with its indexes, and the fixture that drops the
/// database afterwards.
async fn fresh_store(mode: TransactionMode) -> (Arc<MongoStore>, Fixture) {
    let (database, name) = server::scratch_database().await;
    let store = Arc::new(MongoStore::new(database.clone()).with_transactions(mode));
    store
        .ensure_indexes()
        .await
        .unwrap_or_else(|e| panic!("creating the indexes in {name} failed: {e:?}"));
    let fixture = Fixture::new(store.clone()).with_teardown(async move {
        if let Err(e) = database.drop().await {
            eprintln!("could not drop the test database {name}: {e}");
        }
    });
    let fixture = match server::scale() {
        Some(factor) => fixture.with_scale(factor),
        None => fixture,
    };
    (store, fixture)
}

async fn logged_mongo() -> Option<Fixture> {
    Some(fresh_logged(TransactionMode::Auto).await)
}

async fn logged_mongo_without_transactions() -> Option<Fixture> {
    Some(fresh_logged(TransactionMode::Never).await)
}

async fn fresh_logged(mode: TransactionMode) -> Fixture {
    let (store, fixture) = fresh_store(mode).await;
    let faults = RefusingValidator {
        store: store.clone(),
    };
    fixture.with_event_log(store, Some(Arc::new(faults)))
}

/// Makes every insert into `live_session_events` and `live_session_staged_events` (where first
/// joins stage their events) fail: a validator no document passes
/// (`$expr: false`, `validationAction: "error"`), set with `collMod` and removed again. The
/// failure comes from the server inside the change's transaction, as a real one would.
struct RefusingValidator {
    store: Arc<MongoStore>,
}

#[async_trait::async_trait]
impl EventLogFaults for RefusingValidator {
    async fn fail_appends(&self, fail: bool) {
        if fail {
            let transactions = self
                .store
                .supports_transactions()
                .await
                .expect("asking the deployment about transactions");
            assert!(
                transactions,
                "skipped on a deployment without transactions: a change and its event cannot \
                 commit together there (run the suite against a replica set)"
            );
        }
        let validator = if fail {
            doc! { "$expr": false }
        } else {
            doc! {}
        };
        for collection in [EVENTS, STAGED_EVENTS] {
            self.store
                .database()
                .run_command(doc! {
                    "collMod": collection,
                    "validator": validator.clone(),
                    "validationAction": "error",
                })
                .await
                .unwrap_or_else(|e| {
                    panic!("collMod {collection} (appends fail: {fail}) failed: {e}")
                });
        }
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

mod event_log {
    use super::logged_mongo;

    livesessions_core::event_log_tests!(
        #[cfg_attr(
            not(livesessions_test_mongodb),
            ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB conformance suite (scripts/secantus.sh start prints one)"
        )]
        logged_mongo
    );
}

/// The event-log cases without transactions, one `#[test]` each as `event_log_tests!` makes
/// them, listed by hand so that the outbox case can carry its own reason to be ignored.
mod event_log_without_transactions {
    use super::logged_mongo_without_transactions;

    /// `cases!(#[attr] .. ; case, ..)`: one test per case, each with the attributes.
    macro_rules! cases {
        ($(#[$attr:meta])* ; $($case:ident),+ $(,)?) => {
            cases!(@list [$(#[$attr])*] $($case),+);
        };
        (@list $attrs:tt $($case:ident),+) => {
            $( cases!(@one $attrs $case); )+
        };
        (@one [$($attrs:tt)*] $case:ident) => {
            #[test]
            $($attrs)*
            fn $case() {
                livesessions_core::testing::run_logged_case(
                    logged_mongo_without_transactions,
                    livesessions_core::testing::cases::$case,
                );
            }
        };
    }

    cases!(
        #[cfg_attr(
            not(livesessions_test_mongodb),
            ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB conformance suite (scripts/secantus.sh start prints one)"
        )];
        every_change_appends_its_event,
        failed_changes_append_nothing,
        reading_from_an_id_returns_exactly_what_followed,
        concurrent_writers_lose_nothing,
        pruning_moves_the_floor,
    );

    cases!(
        #[ignore = "skipped on a deployment without transactions: a change and its event cannot commit together, so the log is best-effort there"];
        an_event_exists_iff_its_change_committed,
    );
}
