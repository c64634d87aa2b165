//! The calendar conformance cases against `MemoryStore`.

use std::sync::Arc;

use livesessions_core::testing::Fixture;
use livesessions_core::MemoryStore;

async fn memory() -> Option<Fixture> {
    let store = Arc::new(MemoryStore::new());
    Some(Fixture::new(store.clone()).with_calendar(store))
}

livesessions_core::calendar_feed_tests!(memory);
