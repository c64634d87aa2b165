//! The conformance suite on PostgreSQL: every case in a schema of its own, dropped afterwards.
//! Needs `LIVESESSIONS_TEST_POSTGRES_URL` (`.ci/run` sets it); without it every case fails.

mod common;

livesessions_core::conformance_tests!(common::postgres_fixture);

mod event_log {
    livesessions_core::event_log_tests!(super::common::postgres_logged_fixture);
}
