//! The conformance suite against the in-memory reference store, and the thumbnail store checks
//! against the local-directory thumbnail store.

use std::sync::Arc;

use livesessions_core::testing::Fixture;
use livesessions_core::{LocalDirThumbnails, MemoryStore};

async fn memory_store() -> Option<Fixture> {
    Some(Fixture::new(Arc::new(MemoryStore::new())))
}

livesessions_core::conformance_tests!(memory_store);

async fn logged_memory_store() -> Option<Fixture> {
    let store = Arc::new(MemoryStore::new());
    Some(Fixture::new(store.clone()).with_event_log(store.clone(), Some(store)))
}

mod event_log {
    use super::*;

    livesessions_core::event_log_tests!(logged_memory_store);
}

#[tokio::test]
async fn local_dir_thumbnails_pass_the_thumbnail_store_checks() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // A directory that does not exist yet: it is created on first use.
    let store = LocalDirThumbnails::new(dir.path().join("thumbnails"));
    livesessions_core::testing::thumbnail_store_cases(&store).await;
}
