//! The webhook conformance suite on PostgreSQL: every case in a schema of its own, dropped
//! afterwards. Needs `LIVESESSIONS_TEST_POSTGRES_URL` (`.ci/run` sets it).

mod common;

livesessions_core::webhook_store_tests!(common::postgres_webhooks);
