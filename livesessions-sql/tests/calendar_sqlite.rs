//! The calendar conformance cases on SQLite, in memory and in a temporary file.

mod common;

use std::sync::Arc;

use livesessions_core::testing::Fixture;
use livesessions_sql::sqlite::SqliteStore;

async fn in_memory() -> Option<Fixture> {
    let store = SqliteStore::in_memory()
        .await
        .expect("in-memory SQLite opens");
    store.migrate().await.expect("migrations apply");
    let store = Arc::new(store);
    Some(Fixture::new(store.clone()).with_calendar(store))
}

async fn in_file() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("livesessions.db"))
        .await
        .expect("SQLite file opens");
    store.migrate().await.expect("migrations apply");
    let pool = store.pool().clone();
    let store = Arc::new(store);
    Some(
        Fixture::new(store.clone())
            .with_calendar(store)
            .with_teardown(async move {
                pool.close().await;
                drop(dir);
            }),
    )
}

mod memory {
    livesessions_core::calendar_feed_tests!(super::in_memory);
}

mod file {
    livesessions_core::calendar_feed_tests!(super::in_file);
}

/// The feeds' query reads the partial index, not the whole table.
#[tokio::test]
async fn the_public_feed_query_uses_the_calendar_index() {
    let store = SqliteStore::in_memory()
        .await
        .expect("in-memory SQLite opens");
    store.migrate().await.expect("migrations apply");
    let plan: Vec<(i64, i64, i64, String)> = livesessions_sql::sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT s.id FROM live_sessions s \
         WHERE s.status IN ('scheduled', 'live', 'cancelled') \
         AND (s.status = 'live' OR (s.status = 'scheduled' AND s.start_time >= ?1) \
              OR (s.status = 'cancelled' AND s.start_time > ?2)) \
         ORDER BY s.start_time, s.id LIMIT ?3",
    )
    .bind(0_i64)
    .bind(0_i64)
    .bind(500_i64)
    .fetch_all(store.pool())
    .await
    .expect("the plan");
    let text: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
    assert!(
        text.iter()
            .any(|line| line.contains("live_sessions_calendar_idx")),
        "{text:?}"
    );
    assert!(
        !text.iter().any(|line| line.contains("TEMP B-TREE")),
        "{text:?}"
    );
}

#[tokio::test]
async fn roster_members_see_their_sessions_in_their_feed() {
    let store = SqliteStore::in_memory()
        .await
        .expect("in-memory SQLite opens");
    store.migrate().await.expect("migrations apply");
    common::roster_members_see_their_sessions_in_their_feed(Arc::new(store)).await;
}
