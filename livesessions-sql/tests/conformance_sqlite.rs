//! The conformance suite on SQLite, in memory and in a temporary file.

mod common;

mod in_memory {
    livesessions_core::conformance_tests!(super::common::sqlite_memory_fixture);
}

mod in_file {
    livesessions_core::conformance_tests!(super::common::sqlite_file_fixture);
}
