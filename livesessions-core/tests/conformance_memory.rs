//! The conformance suite against the in-memory reference store.

use std::sync::Arc;

use livesessions_core::testing::Fixture;
use livesessions_core::MemoryStore;

async fn memory_store() -> Option<Fixture> {
    Some(Fixture::new(Arc::new(MemoryStore::new())))
}

livesessions_core::conformance_tests!(memory_store);
