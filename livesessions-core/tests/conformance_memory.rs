//! The conformance suite against the in-memory reference store.

use std::sync::Arc;

use livesessions_core::testing::Fixture;
use livesessions_core::MemoryStore;

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
