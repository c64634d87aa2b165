//! Multi-document operations: running them in a transaction with retries, or, without
//! transactions, in a task of their own that the caller cannot cut short; and whether the
//! deployment has transactions at all.

use std::time::{Duration, Instant};

use bson::{doc, Bson, Document};
use livesessions_core::{Conflict, Error, Result};
use mongodb::error::{
    Error as DriverError, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
};
use mongodb::ClientSession;

use super::{MongoStore, TransactionMode};
use crate::codec::DocumentError;
use crate::error::{classify, is_unreachable, map_error, ErrorClass};

/// How long a transaction that keeps failing with write conflicts (other joins of the same
/// session) or other "not now" answers of the server is tried again before the failure is
/// reported: the budget MongoDB's drivers give their own `withTransaction` helper.
pub(super) const TRANSACTION_RETRY_BUDGET: Duration = Duration::from_secs(120);

/// A transaction (or a commit) that failed because the deployment could not be reached is tried
/// once more, and only if that failure came within this long of the start: a connection that
/// broke when the server restarted gets a second chance, a server selection that timed out
/// (after [`DEFAULT_SERVER_SELECTION_TIMEOUT`](super::DEFAULT_SERVER_SELECTION_TIMEOUT), say) does not.
const UNREACHABLE_RETRY_WINDOW: Duration = Duration::from_secs(1);

/// The longest pause between two attempts of a transaction.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// Why a step of an operation stopped: a driver error (which a transaction may retry) or an
/// answer of the domain (not found, conflict, unreadable document).
#[derive(Debug)]
pub(super) enum Failure {
    Driver(DriverError),
    Domain(Error),
}

impl From<DriverError> for Failure {
    fn from(error: DriverError) -> Self {
        Failure::Driver(error)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Domain(error)
    }
}

impl From<DocumentError> for Failure {
    fn from(error: DocumentError) -> Self {
        Failure::Domain(error.into())
    }
}

impl From<Conflict> for Failure {
    fn from(conflict: Conflict) -> Self {
        Failure::Domain(conflict.into())
    }
}

impl Failure {
    /// The domain's error for this failure.
    pub(super) fn into_error(self) -> Error {
        match self {
            Failure::Driver(error) => map_error(error),
            Failure::Domain(error) => error,
        }
    }
}

/// Whether a failed transaction may be run again from the start: the driver or the server
/// says it did not commit and may succeed if tried again, or a concurrent insert took a key.
fn retry_transaction(error: &DriverError) -> bool {
    error.contains_label(TRANSIENT_TRANSACTION_ERROR) || classify(error) == ErrorClass::DuplicateKey
}

/// What to do after an attempt of a transaction failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Report the error.
    No,
    /// Contention (a write conflict, a duplicate key): pause ([`backoff`]) and try again.
    Contention,
    /// The deployment could not be reached, soon after the start: try once more at once, in a
    /// fresh session.
    Unreachable,
}

/// Decides on a retry of a transaction that failed with `error`, `elapsed` after its first
/// attempt started, having retried `unreachable_retries` unreachable-deployment errors already.
/// Contention is retried for [`TRANSACTION_RETRY_BUDGET`]; an unreachable deployment (the
/// driver labels a failed server selection inside a transaction as transient too) once at most,
/// within [`UNREACHABLE_RETRY_WINDOW`], so a request fails fast with `Error::Unavailable` while
/// the database is down.
pub(super) fn transaction_retry(
    error: &DriverError,
    elapsed: Duration,
    unreachable_retries: u32,
) -> Retry {
    if !retry_transaction(error) {
        Retry::No
    } else if is_unreachable(error) {
        if unreachable_retries == 0 && elapsed < UNREACHABLE_RETRY_WINDOW {
            Retry::Unreachable
        } else {
            Retry::No
        }
    } else if elapsed < TRANSACTION_RETRY_BUDGET {
        Retry::Contention
    } else {
        Retry::No
    }
}

/// A pause between transaction attempts that doubles with every attempt up to
/// [`MAX_BACKOFF`], drawn at random below that bound ("full jitter"): joins contending for
/// one session document spread out instead of colliding again at once, and the more of them
/// there are, the wider they spread. The first retries come within a few milliseconds.
pub(super) async fn backoff(attempt: u32) {
    let bound = Duration::from_millis(2)
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    let random = uuid::Uuid::new_v4().as_u128() % 1_000_000;
    let pause = bound.mul_f64(random as f64 / 1_000_000.0);
    tokio::time::sleep(pause).await;
}

/// Runs `work` as a task of its own and waits for it: if the caller's future is dropped (a
/// request timeout), the work still runs to its end, so a sequence of writes that no
/// transaction protects is never cut in the middle by the caller.
pub(super) async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // The runtime is shutting down.
        Err(error) => Err(Error::unavailable(error)),
    }
}

/// Commits, retrying the commit itself while its outcome is unknown (as the driver
/// specification recommends): up to three times, but when the deployment could not be reached
/// only once, and only if that first commit failed within [`UNREACHABLE_RETRY_WINDOW`].
pub(super) async fn commit(session: &mut ClientSession) -> std::result::Result<(), DriverError> {
    let started = Instant::now();
    let mut tries = 0;
    loop {
        match session.commit_transaction().await {
            Ok(()) => return Ok(()),
            Err(error)
                if error.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && tries < 3
                    && (!is_unreachable(&error)
                        || (tries == 0 && started.elapsed() < UNREACHABLE_RETRY_WINDOW)) =>
            {
                tries += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Runs `$body` (an expression using `$s: Option<&mut ClientSession>` and evaluating to a
/// future of `Result<T, Failure>`) in a transaction, retrying transient failures as
/// [`transaction_retry`] decides.
///
/// After an unreachable-deployment error the transaction is not aborted here (that would wait
/// for another server selection): dropping its session aborts it in the background, and a
/// retry runs in a fresh session.
macro_rules! in_transaction {
    ($store:expr, |$s:ident| $body:expr) => {{
        use $crate::error::{is_unreachable, map_error};
        use $crate::store::transaction::{backoff, commit, transaction_retry, Failure, Retry};
        let mut owned = $store.client.start_session().await.map_err(map_error)?;
        let started = ::std::time::Instant::now();
        let mut attempt: u32 = 0;
        let mut unreachable_retries: u32 = 0;
        loop {
            attempt += 1;
            owned.start_transaction().await.map_err(map_error)?;
            let outcome = {
                let $s: Option<&mut ::mongodb::ClientSession> = Some(&mut owned);
                $body.await
            };
            let error = match outcome {
                Ok(value) => match commit(&mut owned).await {
                    Ok(()) => break Ok(value),
                    Err(error) => error,
                },
                Err(failure) => {
                    let reachable = match &failure {
                        Failure::Driver(error) => !is_unreachable(error),
                        Failure::Domain(_) => true,
                    };
                    if reachable {
                        // The server discards an unfinished transaction by itself; aborting
                        // only frees it sooner, so its own failure changes nothing.
                        let _ = owned.abort_transaction().await;
                    }
                    match failure {
                        Failure::Driver(error) => error,
                        Failure::Domain(error) => break Err(error),
                    }
                }
            };
            match transaction_retry(&error, started.elapsed(), unreachable_retries) {
                Retry::Contention => backoff(attempt).await,
                Retry::Unreachable => {
                    unreachable_retries += 1;
                    owned = $store.client.start_session().await.map_err(map_error)?;
                }
                Retry::No => break Err(map_error(error)),
            }
        }
    }};
}
pub(super) use in_transaction;

impl MongoStore {
    /// Whether this store runs its multi-document operations in transactions: the configured
    /// mode, or for [`TransactionMode::Auto`] the deployment's answer to `hello` (asked once).
    pub async fn supports_transactions(&self) -> Result<bool> {
        match self.mode {
            TransactionMode::Always => Ok(true),
            TransactionMode::Never => Ok(false),
            TransactionMode::Auto => self
                .transactions
                .get_or_try_init(|| async {
                    let hello = self
                        .client
                        .database("admin")
                        .run_command(doc! { "hello": 1 })
                        .await
                        .map_err(map_error)?;
                    Ok::<bool, Error>(hello_supports_transactions(&hello))
                })
                .await
                .copied(),
        }
    }
}

/// Whether a `hello` reply comes from a deployment with multi-document transactions: a
/// replica-set member (`setName`) or a sharded cluster's router (`msg: "isdbgrid"`), with
/// sessions (`logicalSessionTimeoutMinutes`). A standalone server has neither.
fn hello_supports_transactions(hello: &Document) -> bool {
    let replica_set = hello.get_str("setName").is_ok();
    let sharded = hello.get_str("msg") == Ok("isdbgrid");
    let sessions = !matches!(
        hello.get("logicalSessionTimeoutMinutes"),
        None | Some(Bson::Null)
    );
    (replica_set || sharded) && sessions
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use livesessions_core::{SessionId, SessionStore};
    use mongodb::error::{ErrorKind, WriteError, WriteFailure};

    use super::*;
    use crate::store::DEFAULT_SERVER_SELECTION_TIMEOUT;

    fn duplicate_key() -> DriverError {
        let write: WriteError = bson::from_document(doc! {
            "code": 11000, "codeName": "DuplicateKey", "errmsg": "E11000 duplicate key error",
        })
        .unwrap();
        ErrorKind::Write(WriteFailure::WriteError(write)).into()
    }

    #[test]
    fn contention_is_retried_for_the_long_budget() {
        let error = duplicate_key();
        assert_eq!(
            transaction_retry(&error, Duration::ZERO, 0),
            Retry::Contention
        );
        assert_eq!(
            transaction_retry(&error, Duration::from_secs(60), 1),
            Retry::Contention
        );
        assert_eq!(
            transaction_retry(&error, TRANSACTION_RETRY_BUDGET, 0),
            Retry::No
        );
        assert_eq!(
            transaction_retry(&DriverError::custom("bug"), Duration::ZERO, 0),
            Retry::No
        );
        // A broken connection outside a transaction carries no transient-transaction label:
        // nothing says the transaction did not commit.
        let io: DriverError = ErrorKind::Io(Arc::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )))
        .into();
        assert_eq!(transaction_retry(&io, Duration::ZERO, 0), Retry::No);
    }

    /// A transaction (a delete) against an unreachable deployment with the default timeouts
    /// answers `Unavailable` after one server selection (the driver's 30 s before).
    #[tokio::test]
    async fn a_transaction_fails_fast_when_the_deployment_is_unreachable() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let store = MongoStore::connect(&format!("mongodb://127.0.0.1:{port}/db"))
            .await
            .unwrap()
            .with_transactions(TransactionMode::Always);
        let started = Instant::now();
        let error = store.delete_session(SessionId::new()).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(error, Error::Unavailable(_)), "{error:?}");
        assert!(took < DEFAULT_SERVER_SELECTION_TIMEOUT * 2, "took {took:?}");
    }

    #[test]
    fn transactions_are_detected_from_hello() {
        let standalone = doc! { "isWritablePrimary": true, "logicalSessionTimeoutMinutes": 30 };
        assert!(!hello_supports_transactions(&standalone));
        let replica = doc! { "isWritablePrimary": true, "setName": "rs0", "logicalSessionTimeoutMinutes": 30 };
        assert!(hello_supports_transactions(&replica));
        let mongos = doc! { "isWritablePrimary": true, "msg": "isdbgrid", "logicalSessionTimeoutMinutes": 30 };
        assert!(hello_supports_transactions(&mongos));
        let no_sessions = doc! { "setName": "rs0", "logicalSessionTimeoutMinutes": Bson::Null };
        assert!(!hello_supports_transactions(&no_sessions));
    }
}
