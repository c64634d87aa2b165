//! Schema names and the mapping of driver errors.
use std::fmt;

use livesessions_core::{Conflict, Error};
use sqlx::Postgres;

use super::{map_error, quote_ident, validate_schema_name};
use crate::dialect::Dialect;

fn is_transient_sqlstate(code: &str) -> bool {
    <Postgres as Dialect>::is_transient(code)
}

#[test]
fn schema_names_are_plain_identifiers() {
    for good in ["public", "live", "ls_test_0123abcd", "_x", &"a".repeat(63)] {
        assert!(validate_schema_name(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "Live",
        "1abc",
        "a-b",
        "a b",
        "a\"b",
        "x;drop table y",
        "pg_catalog",
        &"a".repeat(64),
        "é",
    ] {
        let err = validate_schema_name(bad).unwrap_err();
        assert!(
            matches!(&err, Error::Validation(f) if f[0].field == "schema"),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(quote_ident("live"), "\"live\"");
}

#[test]
fn sqlstates_that_mean_try_again() {
    for code in [
        "08000", "08003", "08006", "57P01", "57P02", "57P03", "53300", "40001",
    ] {
        assert!(is_transient_sqlstate(code), "{code}");
    }
    for code in ["23505", "23503", "42P01", "22001", "XX000"] {
        assert!(!is_transient_sqlstate(code), "{code}");
    }
}

#[derive(Debug)]
struct FakeDbError {
    code: &'static str,
    constraint: Option<&'static str>,
    kind: sqlx::error::ErrorKind,
}

impl fmt::Display for FakeDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fake {}", self.code)
    }
}

impl std::error::Error for FakeDbError {}

impl sqlx::error::DatabaseError for FakeDbError {
    fn message(&self) -> &str {
        "fake"
    }
    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.into())
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn constraint(&self) -> Option<&str> {
        self.constraint
    }
    fn kind(&self) -> sqlx::error::ErrorKind {
        match &self.kind {
            sqlx::error::ErrorKind::UniqueViolation => sqlx::error::ErrorKind::UniqueViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

fn db(code: &'static str, constraint: Option<&'static str>, unique: bool) -> sqlx::Error {
    sqlx::Error::Database(Box::new(FakeDbError {
        code,
        constraint,
        kind: if unique {
            sqlx::error::ErrorKind::UniqueViolation
        } else {
            sqlx::error::ErrorKind::Other
        },
    }))
}

#[test]
fn driver_errors_map_onto_the_domain() {
    let conflict = map_error(db("23505", Some("live_sessions_pkey"), true));
    assert!(matches!(
        conflict,
        Error::Conflict(Conflict::AlreadyExists {
            entity: "session",
            ..
        })
    ));
    let conflict = map_error(db("23505", Some("session_participants_pkey"), true));
    assert!(matches!(
        conflict,
        Error::Conflict(Conflict::AlreadyExists {
            entity: "participant",
            ..
        })
    ));
    assert!(matches!(
        map_error(db("57P01", None, false)),
        Error::Unavailable(Some(_))
    ));
    assert!(matches!(
        map_error(db("08006", None, false)),
        Error::Unavailable(Some(_))
    ));
    // Any other database error is a storage failure that keeps its cause (the driver's own
    // errors are in `crate::errors`' tests).
    let err = map_error(db("42P01", None, false));
    let Error::Storage(cause) = &err else {
        panic!("{err:?}")
    };
    assert!(cause.to_string().contains("fake 42P01"), "{cause}");
}
