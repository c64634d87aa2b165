//! Driver errors onto the domain's: a unique violation is `Conflict(AlreadyExists)`, a lost
//! connection, a full pool or a transient database condition is [`Error::Unavailable`]
//! (retrying works), anything else is [`Error::Storage`] with the driver's error as the source.

use livesessions_core::{Conflict, Error, LiveSession};
use sqlx::migrate::MigrateError;

use crate::dialect::Dialect;

/// Maps a driver error of the database `D` onto the domain's error.
pub(crate) fn map_error<D: Dialect>(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Error::unavailable(error)
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            Error::unavailable(error)
        }
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                let (entity, id) = D::duplicate(db.as_ref());
                return Conflict::AlreadyExists { entity, id }.into();
            }
            let transient = db.code().as_deref().is_some_and(D::is_transient);
            let error = sqlx::Error::Database(db);
            if transient {
                Error::unavailable(error)
            } else {
                Error::storage(error)
            }
        }
        other => Error::storage(other),
    }
}

/// Maps a failed migration: a statement's error as [`map_error`], anything else (a changed
/// or missing migration) as [`Error::Storage`].
pub(crate) fn map_migrate_error<D: Dialect>(error: MigrateError) -> Error {
    match error {
        MigrateError::Execute(e) => map_error::<D>(e),
        other => Error::storage(other),
    }
}

/// A failed health check: the database is unavailable whatever the failure.
pub(crate) fn map_ping_error<D: Dialect>(error: sqlx::Error) -> Error {
    match map_error::<D>(error) {
        Error::Storage(cause) => Error::Unavailable(Some(cause)),
        other => other,
    }
}

/// The outcome of inserting `session`: a unique violation names the session's id.
pub(crate) fn inserted<T>(result: Result<T, Error>, session: &LiveSession) -> Result<(), Error> {
    match result {
        Ok(_) => Ok(()),
        Err(Error::Conflict(Conflict::AlreadyExists { .. })) => Err(Conflict::AlreadyExists {
            entity: "session",
            id: session.id.to_string(),
        }
        .into()),
        Err(other) => Err(other),
    }
}

/// Why a versioned update of `session` matched no row, from the version found in the
/// database (`None`: the session is gone).
pub(crate) fn version_mismatch(session: &LiveSession, found: Result<Option<i64>, Error>) -> Error {
    match found {
        Ok(None) => Error::session_not_found(session.id),
        Ok(Some(actual)) => Conflict::VersionMismatch {
            expected: session.version.saturating_sub(1),
            actual: u64::try_from(actual).ok(),
        }
        .into(),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The driver's own failures map alike on every database: a full or closed pool and a
    /// lost connection are unavailable, anything else is a storage failure.
    fn driver_errors_map_onto_the_domain<D: Dialect>() {
        assert!(matches!(
            map_error::<D>(sqlx::Error::PoolTimedOut),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            map_error::<D>(sqlx::Error::PoolClosed),
            Error::Unavailable(_)
        ));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(matches!(
            map_error::<D>(sqlx::Error::Io(io)),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            map_error::<D>(sqlx::Error::RowNotFound),
            Error::Storage(_)
        ));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn driver_errors_map_onto_the_domain_on_postgres() {
        driver_errors_map_onto_the_domain::<sqlx::Postgres>();
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn driver_errors_map_onto_the_domain_on_sqlite() {
        driver_errors_map_onto_the_domain::<sqlx::Sqlite>();
    }
}
