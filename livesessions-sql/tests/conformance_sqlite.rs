//! The conformance suite on SQLite, in memory and in a temporary file.

mod common;

mod in_memory {
    livesessions_core::conformance_tests!(super::common::sqlite_memory_fixture);
}

mod in_file {
    livesessions_core::conformance_tests!(super::common::sqlite_file_fixture);
}

mod event_log_in_memory {
    livesessions_core::event_log_tests!(super::common::sqlite_memory_logged_fixture);
}

mod event_log_in_file {
    livesessions_core::event_log_tests!(super::common::sqlite_file_logged_fixture);
}
