//! The webhook conformance suite on SQLite, in memory and in a temporary file (where
//! several connections contend for the write lock).

mod common;

mod in_memory {
    livesessions_core::webhook_store_tests!(super::common::sqlite_memory_webhooks);
}

mod in_file {
    livesessions_core::webhook_store_tests!(super::common::sqlite_file_webhooks);
}
