//! The conformance suite on PostgreSQL: every case in a schema of its own, dropped afterwards.
//! Needs `LIVESESSIONS_TEST_POSTGRES_URL` (`.ci/run` sets it); without it every case fails.
//! The thumbnail store checks run on the store's thumbnails, in a schema of their own too.

mod common;

livesessions_core::conformance_tests!(common::postgres_fixture);

mod event_log {
    livesessions_core::event_log_tests!(super::common::postgres_logged_fixture);
}

#[tokio::test]
async fn postgres_thumbnails_pass_the_thumbnail_store_checks() {
    let (store, pool) = common::scratch_postgres().await;
    let thumbnails = store.thumbnails();
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        livesessions_core::testing::thumbnail_store_cases(&thumbnails),
    ))
    .await;
    common::drop_postgres(&store, pool).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
