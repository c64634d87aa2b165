//! The conformance suite on SQLite, in memory and in a temporary file, and the thumbnail store
//! checks on the store's thumbnails in both.

mod common;

use livesessions_sql::sqlite::SqliteStore;

mod in_memory {
    livesessions_core::conformance_tests!(super::common::sqlite_memory_fixture);
}

mod in_file {
    livesessions_core::conformance_tests!(super::common::sqlite_file_fixture);
}

mod event_log_in_memory {
    livesessions_core::event_log_tests!(super::common::sqlite_memory_logged_fixture);
}

mod event_log_in_file {
    livesessions_core::event_log_tests!(super::common::sqlite_file_logged_fixture);
}

#[tokio::test]
async fn sqlite_thumbnails_in_memory_pass_the_thumbnail_store_checks() {
    let store = SqliteStore::in_memory()
        .await
        .expect("in-memory SQLite opens");
    store.migrate().await.expect("migrations apply");
    livesessions_core::testing::thumbnail_store_cases(&store.thumbnails()).await;
}

#[tokio::test]
async fn sqlite_thumbnails_in_a_file_pass_the_thumbnail_store_checks() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("livesessions.db"))
        .await
        .expect("SQLite file opens");
    store.migrate().await.expect("migrations apply");
    livesessions_core::testing::thumbnail_store_cases(&store.thumbnails()).await;
    store.pool().close().await;
}
