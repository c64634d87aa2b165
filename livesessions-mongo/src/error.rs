//! Mapping driver errors onto the domain's [`Error`].
//!
//! - a duplicate key (codes 11000, 11001, 12582) → [`Error::Conflict`] (`AlreadyExists`);
//! - server selection, network and pool errors, a client that was shut down, and the server's
//!   "try again" answers (not primary, shutting down, interrupted, write conflict, time limit,
//!   write-concern timeout, and anything labelled as a transient transaction error) →
//!   [`Error::Unavailable`];
//! - everything else → [`Error::Storage`] with the driver's error as the cause.
//!
//! Among the transient errors, [`is_unreachable`] singles out those that say the deployment
//! cannot be reached (or is going away), as opposed to a server that answered "not now" (a
//! write conflict): the store retries the former once at most, so a request fails fast while
//! the database is down, and the latter for as long as contention lasts.

use livesessions_core::{Conflict, Error};
use mongodb::error::{
    Error as DriverError, ErrorKind, WriteFailure, RETRYABLE_WRITE_ERROR,
    TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
};

/// How the store treats a driver error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A unique index refused the write.
    DuplicateKey,
    /// Transient: the deployment is unreachable, electing, overloaded or timed out.
    Unavailable,
    /// Anything else: a bug, a misconfiguration, an invalid document.
    Other,
}

/// Server codes that mean "the server could not do it now": not primary / recovering
/// (10107, 13435, 10058, 11600, 11602, 13436, 189, 91), interrupted (11601), network trouble seen by the server
/// (6, 7, 89, 9001), time limits (50, 262), write conflicts (112), write-concern timeouts (64)
/// and majority reads not yet available (134).
const TRANSIENT_CODES: [i32; 18] = [
    6, 7, 50, 64, 89, 91, 112, 134, 189, 262, 9001, 10058, 10107, 11600, 11601, 11602, 13435, 13436,
];

/// Duplicate-key codes, including those of old servers.
const DUPLICATE_KEY_CODES: [i32; 3] = [11000, 11001, 12582];

/// Server codes that mean the server is not (or no longer) the one to talk to: not primary /
/// recovering / shutting down (10107, 13435, 10058, 11600, 11602, 13436, 189, 91) and network
/// trouble seen by the server (6, 7, 89, 9001).
const UNREACHABLE_CODES: [i32; 12] = [
    6, 7, 89, 91, 189, 9001, 10058, 10107, 11600, 11602, 13435, 13436,
];

/// Classifies a server error code.
pub fn classify_code(code: i32) -> ErrorClass {
    if DUPLICATE_KEY_CODES.contains(&code) {
        ErrorClass::DuplicateKey
    } else if TRANSIENT_CODES.contains(&code) {
        ErrorClass::Unavailable
    } else {
        ErrorClass::Other
    }
}

/// Classifies a driver error.
pub fn classify(error: &DriverError) -> ErrorClass {
    let by_kind = match error.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => ErrorClass::Unavailable,
        ErrorKind::Command(command) => classify_code(command.code),
        ErrorKind::Write(WriteFailure::WriteError(write)) => classify_code(write.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => {
            match classify_code(concern.code) {
                ErrorClass::DuplicateKey => ErrorClass::Other,
                class => class,
            }
        }
        ErrorKind::InsertMany(insert) => insert
            .write_errors
            .iter()
            .flatten()
            .map(|e| classify_code(e.code))
            .find(|class| *class != ErrorClass::Other)
            .unwrap_or(ErrorClass::Other),
        _ => ErrorClass::Other,
    };
    if by_kind != ErrorClass::Other {
        return by_kind;
    }
    let transient_label = [
        TRANSIENT_TRANSACTION_ERROR,
        UNKNOWN_TRANSACTION_COMMIT_RESULT,
        RETRYABLE_WRITE_ERROR,
    ]
    .iter()
    .any(|label| error.contains_label(label));
    if transient_label {
        ErrorClass::Unavailable
    } else {
        ErrorClass::Other
    }
}

/// Whether `error` says the deployment could not be reached: no server could be selected, a
/// connection failed or was cleared, the host name did not resolve, the client was shut down,
/// or the server answered that it is not primary, recovering or shutting down.
///
/// Such an error is [`ErrorClass::Unavailable`] too, but unlike a write conflict or a time
/// limit, trying again at once mostly waits for the same outage: the driver labels a failed
/// server selection inside a transaction as a transient transaction error, yet retrying it for
/// long would hold every request for as long as the database is down.
pub fn is_unreachable(error: &DriverError) -> bool {
    match error.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => true,
        ErrorKind::Command(command) => UNREACHABLE_CODES.contains(&command.code),
        ErrorKind::Write(WriteFailure::WriteError(write)) => {
            UNREACHABLE_CODES.contains(&write.code)
        }
        ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => {
            UNREACHABLE_CODES.contains(&concern.code)
        }
        _ => false,
    }
}

/// Maps a driver error onto the domain error. A duplicate key becomes
/// `Conflict(AlreadyExists)` for `entity`/`id`.
pub fn to_domain(error: DriverError, entity: &'static str, id: impl Into<String>) -> Error {
    match classify(&error) {
        ErrorClass::DuplicateKey => Conflict::AlreadyExists {
            entity,
            id: id.into(),
        }
        .into(),
        ErrorClass::Unavailable => Error::unavailable(error),
        ErrorClass::Other => Error::storage(error),
    }
}

/// Maps a driver error where no unique key is expected to be hit: a duplicate key there is a
/// conflict on an unnamed record.
pub fn map_error(error: DriverError) -> Error {
    to_domain(error, "record", "(duplicate key)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use bson::doc;
    use mongodb::error::{CommandError, WriteConcernError, WriteError};

    fn write_error(code: i32) -> DriverError {
        let write: WriteError = bson::from_document(doc! {
            "code": code,
            "codeName": "X",
            "errmsg": "E11000 duplicate key error collection: test.live_sessions index: _id_",
        })
        .unwrap();
        ErrorKind::Write(WriteFailure::WriteError(write)).into()
    }

    fn command_error(code: i32) -> DriverError {
        let command: CommandError =
            bson::from_document(doc! { "code": code, "codeName": "X", "errmsg": "failed" })
                .unwrap();
        ErrorKind::Command(command).into()
    }

    #[test]
    fn duplicate_keys_are_conflicts() {
        assert_eq!(classify(&write_error(11000)), ErrorClass::DuplicateKey);
        assert_eq!(classify(&command_error(11000)), ErrorClass::DuplicateKey);
        assert_eq!(classify(&write_error(11001)), ErrorClass::DuplicateKey);
        match to_domain(write_error(11000), "session", "abc") {
            Error::Conflict(Conflict::AlreadyExists { entity, id }) => {
                assert_eq!((entity, id.as_str()), ("session", "abc"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn network_and_election_errors_are_unavailable() {
        let io: DriverError = ErrorKind::Io(Arc::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )))
        .into();
        assert_eq!(classify(&io), ErrorClass::Unavailable);
        assert!(to_domain(io, "session", "x").is_transient());
        assert_eq!(
            classify(&ErrorKind::Shutdown.into()),
            ErrorClass::Unavailable
        );
        for code in [10107, 13435, 11600, 189, 91, 89, 112, 50] {
            assert_eq!(
                classify(&command_error(code)),
                ErrorClass::Unavailable,
                "{code}"
            );
        }
        let concern: WriteConcernError =
            bson::from_document(doc! { "code": 64, "codeName": "WriteConcernFailed", "errmsg": "waiting for replication timed out" })
                .unwrap();
        let wtimeout: DriverError =
            ErrorKind::Write(WriteFailure::WriteConcernError(concern)).into();
        assert_eq!(classify(&wtimeout), ErrorClass::Unavailable);
    }

    #[test]
    fn other_errors_keep_their_cause() {
        for error in [
            command_error(2),
            write_error(121),
            DriverError::custom("anything"),
        ] {
            assert_eq!(classify(&error), ErrorClass::Other);
            let text = error.to_string();
            match map_error(error) {
                Error::Storage(cause) => assert_eq!(cause.to_string(), text),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            classify(&ErrorKind::SessionsNotSupported.into()),
            ErrorClass::Other
        );
    }

    #[test]
    fn unreachable_is_told_apart_from_contention() {
        let io: DriverError = ErrorKind::Io(Arc::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )))
        .into();
        assert!(is_unreachable(&io));
        assert!(is_unreachable(&ErrorKind::Shutdown.into()));
        for code in [91, 189, 10107, 11600, 13435, 6, 89] {
            assert!(is_unreachable(&command_error(code)), "{code}");
            assert_eq!(classify(&command_error(code)), ErrorClass::Unavailable);
        }
        // A write conflict, a time limit, a duplicate key, a bad command: the server answered.
        // (A failed server selection is checked against a real driver below.)
        for code in [112, 50, 262, 11000, 2] {
            assert!(!is_unreachable(&command_error(code)), "{code}");
        }
        assert!(!is_unreachable(&DriverError::custom("anything")));
    }

    #[test]
    fn codes_are_classified() {
        assert_eq!(classify_code(11000), ErrorClass::DuplicateKey);
        assert_eq!(classify_code(10107), ErrorClass::Unavailable);
        assert_eq!(classify_code(26), ErrorClass::Other);
    }

    /// A real driver error: nothing listens on the port, so server selection times out.
    #[tokio::test]
    async fn an_unreachable_server_is_unavailable() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let uri = format!(
            "mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=200&connectTimeoutMS=200"
        );
        let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
        let error = client
            .database("test")
            .run_command(doc! { "ping": 1 })
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind.as_ref(), ErrorKind::ServerSelection { .. }),
            "{error:?}"
        );
        assert_eq!(classify(&error), ErrorClass::Unavailable);
        assert!(is_unreachable(&error));
        assert!(map_error(error).is_transient());
    }
}
