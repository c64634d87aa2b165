//! The one error type of the domain and what every port returns.

use std::fmt;

pub use crate::field_error::FieldError;
use crate::session::status::{SessionAction, SessionStatus};

/// A boxed error that keeps the cause of a storage failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a request conflicts with the current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The lifecycle forbids `action` while the session is in `status`.
    InvalidTransition {
        /// The session's status when the action was attempted.
        status: SessionStatus,
        /// The refused action.
        action: SessionAction,
    },
    /// The stored version differs from the one the caller expected (optimistic concurrency).
    VersionMismatch {
        /// The version the caller expected.
        expected: u64,
        /// The version found in the store, when known.
        actual: Option<u64>,
    },
    /// A record with the same identity already exists.
    AlreadyExists {
        /// What kind of record ("session", "participant", "thumbnail").
        entity: &'static str,
        /// Its identity.
        id: String,
    },
    /// A first join found every seat taken (the session's capacity reached).
    SessionFull {
        /// The session's capacity.
        capacity: u32,
    },
    /// Self-registration is closed: the session's `registration` is not `open`, or it ended
    /// or was cancelled.
    RegistrationClosed,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::InvalidTransition { status, action } => {
                write!(f, "You cannot {action} a session that is {status}.")
            }
            Conflict::VersionMismatch { expected, actual } => match actual {
                Some(actual) => write!(
                    f,
                    "The session was changed concurrently (expected version {expected}, found {actual})."
                ),
                None => write!(
                    f,
                    "The session was changed concurrently (expected version {expected})."
                ),
            },
            Conflict::AlreadyExists { entity, id } => write!(f, "The {entity} {id} already exists."),
            Conflict::SessionFull { capacity } => {
                write!(f, "The session is full: all {capacity} seats are taken.")
            }
            Conflict::RegistrationClosed => {
                f.write_str("Registration for this session is closed.")
            }
        }
    }
}

/// The error of every operation of the domain, its ports and its service.
///
/// Adapters map their driver errors onto it: unique-key and version conflicts become
/// [`Error::Conflict`], lost connections and pool timeouts [`Error::Unavailable`], anything else
/// [`Error::Storage`] with the driver's error kept as the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The addressed record does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What kind of record ("session", "participant", "thumbnail").
        entity: &'static str,
        /// Its identity.
        id: String,
    },
    /// The request has invalid fields; every one of them is listed.
    #[error("invalid request: {}", join_fields(.0))]
    Validation(Vec<FieldError>),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(Conflict),
    /// The caller is not signed in but the use case needs an identity.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is signed in but may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The session is restricted to its roster and the caller is not on it.
    #[error("not on the roster of this session")]
    NotOnRoster,
    /// A transient failure: the store is down, unreachable or timed out. Retrying later may work.
    #[error("storage unavailable")]
    Unavailable(#[source] Option<BoxError>),
    /// A permanent storage failure; the cause is kept for logs and never shown to clients.
    #[error("storage failure")]
    Storage(#[source] BoxError),
}

fn join_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A [`Error::NotFound`] for a session.
    pub fn session_not_found(id: impl fmt::Display) -> Self {
        Error::NotFound {
            entity: "session",
            id: id.to_string(),
        }
    }

    /// A [`Error::NotFound`] for a participant of a session.
    pub fn participant_not_found(session: impl fmt::Display, user: impl fmt::Display) -> Self {
        Error::NotFound {
            entity: "participant",
            id: format!("{user} in session {session}"),
        }
    }

    /// A [`Error::Validation`] with a single field error.
    pub fn invalid(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Error::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A [`Error::Storage`] wrapping any error as its cause.
    pub fn storage(cause: impl Into<BoxError>) -> Self {
        Error::Storage(cause.into())
    }

    /// A [`Error::Unavailable`] wrapping a cause.
    pub fn unavailable(cause: impl Into<BoxError>) -> Self {
        Error::Unavailable(Some(cause.into()))
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}

impl From<FieldError> for Error {
    fn from(error: FieldError) -> Self {
        Error::Validation(vec![error])
    }
}

impl From<Conflict> for Error {
    fn from(conflict: Conflict) -> Self {
        Error::Conflict(conflict)
    }
}
