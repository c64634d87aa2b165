//! The calendar conformance cases on PostgreSQL, every case in a schema of its own, dropped
//! afterwards. Needs `LIVESESSIONS_TEST_POSTGRES_URL` (`.ci/run` sets it).

mod common;

use std::sync::Arc;

use livesessions_core::testing::Fixture;

async fn postgres() -> Option<Fixture> {
    let (store, pool) = common::scratch_postgres().await;
    let teardown_store = store.clone();
    let shared = Arc::new(store);
    Some(
        Fixture::new(shared.clone())
            .with_calendar(shared)
            .with_teardown(async move { common::drop_postgres(&teardown_store, pool).await }),
    )
}

livesessions_core::calendar_feed_tests!(postgres);

#[tokio::test]
async fn roster_members_see_their_sessions_in_their_feed() {
    let (store, pool) = common::scratch_postgres().await;
    common::roster_members_see_their_sessions_in_their_feed(Arc::new(store.clone())).await;
    common::drop_postgres(&store, pool).await;
}
