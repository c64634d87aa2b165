//! [`MongoStore`]: the ports of `livesessions-core` on MongoDB.

use livesessions_core::Presence;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use livesessions_core::analytics::{
    AttendancePage, AttendanceQuery, AttendanceRow, Overview, OverviewQuery, Participation,
    ParticipationQuery, ParticipationRow, PopularSession, ReportQuery, SessionReport,
};
use livesessions_core::{
    AnalyticsStore, AttendanceStore, Conflict, Error, HealthCheck, JoinOutcome, JoinRequest,
    ListQuery, LiveSession, Page, Participant, Result, SessionId, SessionStatus, SessionStore,
    UserId,
};
use mongodb::action::Action;
use mongodb::error::{
    Error as DriverError, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
};
use mongodb::options::{ClientOptions, ReturnDocument};
use mongodb::{Client, ClientSession, Collection, Database};
use tokio::sync::OnceCell;

use crate::documents::{
    participant_from_document, session_document, session_from_document, DocumentError, Reader,
    PARTICIPANTS, SESSIONS,
};
use crate::error::{classify, is_unreachable, map_error, to_domain, ErrorClass};
use crate::queries;

/// The database [`MongoStore::connect`] uses when the URI names none.
pub const DEFAULT_DATABASE: &str = "livesessions";

/// How long [`MongoStore::connect`] lets the driver look for a server to send an operation to
/// when the URI sets no `serverSelectionTimeoutMS` (the driver's own default is 30 s). While
/// the deployment is unreachable an operation fails after this long with `Error::Unavailable`
/// instead of holding its request.
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// How long [`MongoStore::connect`] lets the driver open a connection (TCP, TLS and the
/// handshake) when the URI sets no `connectTimeoutMS` (the driver's own default is 10 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a transaction that keeps failing with write conflicts (other joins of the same
/// session) or other "not now" answers of the server is tried again before the failure is
/// reported: the budget MongoDB's drivers give their own `withTransaction` helper.
const TRANSACTION_RETRY_BUDGET: Duration = Duration::from_secs(120);

/// A transaction (or a commit) that failed because the deployment could not be reached is tried
/// once more, and only if that failure came within this long of the start: a connection that
/// broke when the server restarted gets a second chance, a server selection that timed out
/// (after [`DEFAULT_SERVER_SELECTION_TIMEOUT`], say) does not.
const UNREACHABLE_RETRY_WINDOW: Duration = Duration::from_secs(1);

/// The longest pause between two attempts of a transaction.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// Whether joins, ends and deletes run in multi-document transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionMode {
    /// Ask the deployment (`hello`) once: transactions on a replica set or sharded cluster,
    /// none on a standalone server.
    #[default]
    Auto,
    /// Always use transactions (fails on a standalone server).
    Always,
    /// Never use transactions: joins upsert the participant and then `$inc` the session's
    /// counter; run [`MongoStore::reconcile_participant_counts`] after a crash.
    Never,
}

/// A store on a MongoDB database: sessions in `live_sessions`, participants in
/// `session_participants` (see [`documents`](crate::documents) for their shape).
///
/// Clones share the client and its connection pool.
#[derive(Debug, Clone)]
pub struct MongoStore {
    client: Client,
    database: Database,
    sessions: Collection<Document>,
    participants: Collection<Document>,
    mode: TransactionMode,
    transactions: Arc<OnceCell<bool>>,
}

/// Why a step of an operation stopped: a driver error (which a transaction may retry) or an
/// answer of the domain (not found, conflict, unreadable document).
#[derive(Debug)]
enum Failure {
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
    fn into_error(self) -> Error {
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
enum Retry {
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
fn transaction_retry(error: &DriverError, elapsed: Duration, unreachable_retries: u32) -> Retry {
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
async fn backoff(attempt: u32) {
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
async fn detached<T: Send + 'static>(
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
async fn commit(session: &mut ClientSession) -> std::result::Result<(), DriverError> {
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
        let mut owned = $store.client.start_session().await.map_err(map_error)?;
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut unreachable_retries: u32 = 0;
        loop {
            attempt += 1;
            owned.start_transaction().await.map_err(map_error)?;
            let outcome = {
                let $s: Option<&mut ClientSession> = Some(&mut owned);
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

/// Sets the timeouts [`MongoStore::connect`] defaults to where `options` (parsed from a URI)
/// leave them unset.
fn apply_default_timeouts(options: &mut ClientOptions) {
    options
        .server_selection_timeout
        .get_or_insert(DEFAULT_SERVER_SELECTION_TIMEOUT);
    options
        .connect_timeout
        .get_or_insert(DEFAULT_CONNECT_TIMEOUT);
}

impl MongoStore {
    /// A store on `database`. Nothing is sent until the first operation; call
    /// [`MongoStore::ensure_indexes`] once at startup.
    pub fn new(database: Database) -> Self {
        MongoStore {
            client: database.client().clone(),
            sessions: database.collection(SESSIONS),
            participants: database.collection(PARTICIPANTS),
            database,
            mode: TransactionMode::Auto,
            transactions: Arc::new(OnceCell::new()),
        }
    }

    /// A store on the database named in `uri` (`mongodb://host/dbname`), or
    /// [`DEFAULT_DATABASE`] when it names none. The driver connects lazily, so an unreachable
    /// server shows up at the first operation as `Error::Unavailable`.
    ///
    /// Fails fast by default: unless the URI sets them, the server selection timeout is
    /// [`DEFAULT_SERVER_SELECTION_TIMEOUT`] (2 s, not the driver's 30 s) and the connect
    /// timeout [`DEFAULT_CONNECT_TIMEOUT`] (2 s, not 10 s), so while the deployment is down an
    /// operation answers `Error::Unavailable` within about 2 s instead of holding its request.
    /// Set `serverSelectionTimeoutMS` / `connectTimeoutMS` in the URI to wait longer (through
    /// a replica-set election, say), or build the client yourself and use [`MongoStore::new`].
    pub async fn connect(uri: &str) -> Result<Self> {
        let mut options = ClientOptions::parse(uri).await.map_err(map_error)?;
        apply_default_timeouts(&mut options);
        let client = Client::with_options(options).map_err(map_error)?;
        let database = client
            .default_database()
            .unwrap_or_else(|| client.database(DEFAULT_DATABASE));
        Ok(Self::new(database))
    }

    /// Chooses whether to use transactions (default: [`TransactionMode::Auto`]).
    pub fn with_transactions(mut self, mode: TransactionMode) -> Self {
        self.mode = mode;
        self.transactions = Arc::new(OnceCell::new());
        self
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The client (for sharing its pool with the rest of an application).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the indexes: on `live_sessions` the list order and `startTime`; on
    /// `session_participants` the unique {sessionId, userId} and {userId}. Idempotent.
    pub async fn ensure_indexes(&self) -> Result<()> {
        self.sessions
            .create_indexes(queries::session_indexes())
            .await
            .map_err(map_error)?;
        self.participants
            .create_indexes(queries::participant_indexes())
            .await
            .map_err(map_error)?;
        Ok(())
    }

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
                    Ok::<bool, Error>(queries::hello_supports_transactions(&hello))
                })
                .await
                .copied(),
        }
    }

    /// Recomputes every session's `participants` from its participant records, with one
    /// aggregation that finds the sessions whose counter is off. Returns how many it corrected.
    ///
    /// Without transactions a crash between a join's two writes leaves a counter one short;
    /// this repairs it. Run it while no joins are in flight (at startup, say): a join between
    /// its read and its write can make a corrected counter one too high, and a counter that
    /// changed in between is left for the next run.
    pub async fn reconcile_participant_counts(&self) -> Result<u64> {
        let mismatched: Vec<Document> = self
            .sessions
            .aggregate(queries::reconcile_pipeline())
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        let mut corrected = 0;
        for document in mismatched {
            let reader = Reader::new(&document, SESSIONS);
            let id = SessionId::from_uuid(reader.uuid("_id")?);
            let actual = reader.int("actual")?;
            let seen = document.get("participants").cloned().unwrap_or(Bson::Null);
            let (filter, update) = queries::reconcile_update(id, seen, actual);
            let result = self
                .sessions
                .update_one(filter, update)
                .await
                .map_err(map_error)?;
            corrected += result.modified_count;
        }
        Ok(corrected)
    }

    async fn find_session(
        &self,
        id: SessionId,
        s: Option<&mut ClientSession>,
    ) -> std::result::Result<Option<LiveSession>, Failure> {
        let found = self
            .sessions
            .find_one(queries::session_filter(id))
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(found.as_ref().map(session_from_document).transpose()?)
    }

    /// The error for an update whose version filter matched nothing.
    async fn version_failure(
        &self,
        session: &LiveSession,
        s: Option<&mut ClientSession>,
    ) -> Failure {
        let found = self
            .sessions
            .find_one(queries::session_filter(session.id))
            .projection(queries::version_projection())
            .optional(s, |a, s| a.session(s))
            .await;
        match found {
            Err(error) => Failure::Driver(error),
            Ok(None) => Error::session_not_found(session.id).into(),
            Ok(Some(document)) => match Reader::new(&document, SESSIONS).opt_count("version") {
                Err(error) => error.into(),
                Ok(actual) => Conflict::VersionMismatch {
                    expected: session.version.saturating_sub(1),
                    actual: Some(actual.unwrap_or(1)),
                }
                .into(),
            },
        }
    }

    /// Replaces the stored session if it is at `session.version - 1`.
    async fn replace_session(
        &self,
        session: &LiveSession,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<LiveSession, Failure> {
        let updated = self
            .sessions
            .find_one_and_update(
                queries::session_version_filter(session.id, session.version.saturating_sub(1)),
                queries::replace_session_update(session),
            )
            .return_document(ReturnDocument::After)
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        match updated {
            Some(document) => Ok(session_from_document(&document)?),
            None => Err(self.version_failure(session, s).await),
        }
    }

    async fn end_steps(
        &self,
        ended: &LiveSession,
        timeout: Duration,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<LiveSession, Failure> {
        let stored = self.replace_session(ended, s.as_deref_mut()).await?;
        let at = ended.ended_at.unwrap_or(ended.updated_at);
        self.participants
            .update_many(
                queries::present_participants(ended.id),
                queries::credit_pipeline(at, timeout),
            )
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(stored)
    }

    async fn delete_steps(
        &self,
        id: SessionId,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<bool, Failure> {
        // The session goes first so that no join can find it while its participants are
        // being removed.
        let deleted = self
            .sessions
            .delete_one(queries::session_filter(id))
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        self.participants
            .delete_many(queries::participants_of(id))
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(deleted.deleted_count > 0)
    }

    async fn join_steps(
        &self,
        request: &JoinRequest,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<JoinOutcome, Failure> {
        let id = request.session_id;
        let session = self
            .find_session(id, s.as_deref_mut())
            .await?
            .ok_or_else(|| Error::session_not_found(id))?;
        session.check_joinable()?;
        let filter = queries::participant_filter(id, &request.joiner.user_id);
        // `update` with `upsert` and then a read, rather than one `findAndModify`: the update's
        // `upserted` id says whether this call inserted the record, on MongoDB and on engines
        // whose `findAndModify` answers a concurrent upsert without its document (SecantusDB
        // 0.7 returns `value: null` for the loser of two simultaneous first joins). In a
        // transaction the read sees exactly this write.
        let upserted = self
            .participants
            .update_one(
                filter.clone(),
                queries::join_pipeline(
                    id,
                    &request.joiner,
                    request.presence.at,
                    session.live_period_start(),
                    request.presence.timeout,
                ),
            )
            .upsert(true)
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        let first_join = upserted.upserted_id.is_some();
        let document = self
            .participants
            .find_one(filter.clone())
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?
            // Only without a transaction: the session was deleted right after the upsert, and
            // its participants with it.
            .ok_or_else(|| Error::session_not_found(id))?;
        let participant = participant_from_document(&document)?;
        if !first_join {
            return Ok(JoinOutcome {
                participant,
                session,
                first_join,
            });
        }
        let counted = self
            .sessions
            .find_one_and_update(
                queries::session_filter(id),
                queries::increment_participants(),
            )
            .return_document(ReturnDocument::After)
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        match counted {
            Some(document) => Ok(JoinOutcome {
                participant,
                session: session_from_document(&document)?,
                first_join,
            }),
            None => {
                // Deleted between the two writes (only possible without a transaction):
                // remove the record just created rather than leave it orphaned.
                self.participants
                    .delete_one(filter)
                    .optional(s, |a, s| a.session(s))
                    .await?;
                Err(Error::session_not_found(id).into())
            }
        }
    }

    /// A join without a transaction: [`MongoStore::join_steps`], run again as a rejoin when a
    /// simultaneous first join of the same user won the unique index (MongoDB retries such an
    /// upsert by itself; other engines answer with a duplicate key error).
    async fn join_without_transaction(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.join_steps(request, None).await {
                Ok(outcome) => return Ok(outcome),
                Err(Failure::Driver(e))
                    if classify(&e) == ErrorClass::DuplicateKey && attempt < 3 => {}
                Err(failure) => return Err(failure.into_error()),
            }
        }
    }

    /// A join or heartbeat that read "live" may open an interval just after an end credited
    /// everyone present (without a transaction, or in one that wrote nothing the end also
    /// wrote). When this call opened the interval (`presentSince` = t) and the session is no
    /// longer live, the interval is credited at the end time (nothing if it opened after the
    /// end) and closed, as the end would have done.
    async fn settle_opened_interval(
        &self,
        participant: Participant,
        t: DateTime<Utc>,
        timeout: Duration,
        known: Option<&LiveSession>,
    ) -> Result<Participant> {
        if participant.present_since != Some(t) {
            return Ok(participant);
        }
        let session = match known {
            Some(session) => Some(session.clone()),
            None => self
                .find_session(participant.session_id, None)
                .await
                .map_err(Failure::into_error)?,
        };
        let ended_at = match session {
            Some(s) if s.status != SessionStatus::Live => s.ended_at.unwrap_or(t),
            // Opened with the period start read before an end and a restart: t belongs to an
            // earlier live period, which its end credited up to `endedAt`.
            Some(s) if s.live_since.is_some_and(|since| t < since) => s.ended_at.unwrap_or(t),
            _ => return Ok(participant),
        };
        let settled = self
            .participants
            .find_one_and_update(
                queries::participant_present_since(participant.session_id, &participant.user_id, t),
                queries::credit_pipeline(ended_at, timeout),
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_error)?;
        match settled {
            Some(document) => Ok(participant_from_document(&document)?),
            None => Ok(participant),
        }
    }

    /// After an end committed in a transaction: a join or heartbeat that read "live" may have
    /// opened an interval that the transaction's snapshot did not see, and found the session
    /// still live when it looked again (before the commit), so it did not close the interval
    /// itself. Both happened before this point: close what is still open, as the end would
    /// have. One document at a time, each only if its interval is still the one found (a
    /// multi-document update here can wait indefinitely on a transaction of SecantusDB).
    async fn close_intervals_left_open(
        &self,
        ended: &LiveSession,
        timeout: Duration,
    ) -> Result<()> {
        let at = ended.ended_at.unwrap_or(ended.updated_at);
        let open: Vec<Document> = self
            .participants
            .find(queries::present_participants(ended.id))
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        for document in open {
            let participant = participant_from_document(&document)?;
            let Some(since) = participant.present_since else {
                continue;
            };
            self.participants
                .update_one(
                    queries::participant_present_since(ended.id, &participant.user_id, since),
                    queries::credit_pipeline(at, timeout),
                )
                .await
                .map_err(map_error)?;
        }
        Ok(())
    }

    async fn require_session(&self, id: SessionId) -> Result<()> {
        let found = self
            .sessions
            .find_one(queries::session_filter(id))
            .projection(doc! { "_id": 1 })
            .await
            .map_err(map_error)?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::session_not_found(id)),
        }
    }

    async fn aggregate(
        collection: &Collection<Document>,
        pipeline: Vec<Document>,
    ) -> Result<Vec<Document>> {
        collection
            .aggregate(pipeline)
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)
    }
}

#[async_trait]
impl SessionStore for MongoStore {
    async fn insert_session(&self, session: &LiveSession) -> Result<()> {
        let mut document = session_document(session);
        document.insert("participants", 0_i64);
        self.sessions
            .insert_one(document)
            .await
            .map_err(|e| to_domain(e, "session", session.id.to_string()))?;
        Ok(())
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>> {
        self.find_session(id, None)
            .await
            .map_err(Failure::into_error)
    }

    async fn update_session(&self, session: &LiveSession) -> Result<LiveSession> {
        self.replace_session(session, None)
            .await
            .map_err(Failure::into_error)
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool> {
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.delete_steps(id, s))
        } else {
            // Both deletes run to their end even if the caller gives up in between.
            let store = self.clone();
            detached(async move {
                store
                    .delete_steps(id, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>> {
        let limit = query.limit.max(1) as usize;
        let documents: Vec<Document> = self
            .sessions
            .find(queries::list_filter(query))
            .sort(queries::list_sort())
            .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        let more = documents.len() > limit;
        let items = documents
            .iter()
            .take(limit)
            .map(session_from_document)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Page::of_sessions(items, more))
    }
}

#[async_trait]
impl AttendanceStore for MongoStore {
    async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        let outcome = if self.supports_transactions().await? {
            in_transaction!(self, |s| self.join_steps(request, s))?
        } else {
            // The upsert and the `$inc` run in a task of their own: a caller that gives up
            // half-way (a request timeout drops its future) must not leave a participant
            // that was never counted. Only a crash between the two writes can, and
            // `reconcile_participant_counts` repairs that.
            let store = self.clone();
            let request = request.clone();
            detached(async move { store.join_without_transaction(&request).await }).await?
        };
        let known = outcome.first_join.then_some(&outcome.session);
        let participant = self
            .settle_opened_interval(
                outcome.participant.clone(),
                request.presence.at,
                request.presence.timeout,
                known,
            )
            .await?;
        Ok(JoinOutcome {
            participant,
            ..outcome
        })
    }

    async fn heartbeat(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let status = self
            .sessions
            .find_one(queries::session_filter(session_id))
            .projection(doc! { "status": 1, "isLive": 1, "liveSince": 1, "micros.liveSince": 1 })
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::session_not_found(session_id))?;
        let status = Reader::new(&status, SESSIONS);
        let live = status.session_status()? == SessionStatus::Live;
        // The start of the current live period (unknown for a session the original
        // application started: then any time counts).
        let period = match live {
            true => Some(
                status
                    .opt_date("liveSince")?
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            ),
            false => None,
        };
        let document = self
            .participants
            .find_one_and_update(
                queries::participant_filter(session_id, user_id),
                queries::heartbeat_pipeline(at, period, timeout),
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::participant_not_found(session_id, user_id))?;
        let participant = participant_from_document(&document)?;
        if !live {
            return Ok(participant);
        }
        self.settle_opened_interval(participant, at, timeout, None)
            .await
    }

    async fn leave(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let document = self
            .participants
            .find_one_and_update(
                queries::participant_filter(session_id, user_id),
                queries::leave_pipeline(at, timeout),
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::participant_not_found(session_id, user_id))?;
        Ok(participant_from_document(&document)?)
    }

    async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession> {
        if self.supports_transactions().await? {
            let stored = in_transaction!(self, |s| self.end_steps(ended, timeout, s))?;
            self.close_intervals_left_open(ended, timeout).await?;
            Ok(stored)
        } else {
            // The session update and the crediting run to their end even if the caller gives
            // up in between.
            let store = self.clone();
            let ended = ended.clone();
            detached(async move {
                store
                    .end_steps(&ended, timeout, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn get_participant(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<Participant>> {
        let found = self
            .participants
            .find_one(queries::participant_filter(session_id, user_id))
            .await
            .map_err(map_error)?;
        Ok(found.as_ref().map(participant_from_document).transpose()?)
    }

    async fn watching(
        &self,
        session_id: SessionId,
        Presence { at: now, timeout }: Presence,
    ) -> Result<u64> {
        self.participants
            .count_documents(queries::watching_filter(session_id, now, timeout))
            .await
            .map_err(map_error)
    }
}

#[async_trait]
impl AnalyticsStore for MongoStore {
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport> {
        self.require_session(query.session_id).await?;
        let results = Self::aggregate(&self.participants, queries::report_pipeline(query)).await?;
        let mut report = SessionReport {
            session_id: query.session_id,
            participants: 0,
            watching: 0,
            total_watch_seconds: 0,
            max_watch_seconds: 0,
            live_seconds: query.live_seconds,
            threshold_percent: query.threshold_percent,
            attended: 0,
        };
        if let Some(totals) = results.first() {
            let r = Reader::new(totals, PARTICIPANTS);
            report.participants = r.count("participants")?;
            report.watching = r.count("watching")?;
            report.total_watch_seconds = r.int("totalWatchSeconds")?;
            report.max_watch_seconds = r.opt_int("maxWatchSeconds")?.unwrap_or(0);
            report.attended = r.count("attended")?;
        }
        Ok(report)
    }

    async fn attendance(&self, query: &AttendanceQuery) -> Result<AttendancePage> {
        self.require_session(query.session_id).await?;
        let total = self
            .participants
            .count_documents(queries::participants_of(query.session_id))
            .await
            .map_err(map_error)?;
        let documents =
            Self::aggregate(&self.participants, queries::attendance_pipeline(query)).await?;
        let rows = documents
            .iter()
            .map(|document| {
                Ok(AttendanceRow {
                    participant: participant_from_document(document)?,
                    watch_seconds_now: Reader::new(document, PARTICIPANTS)
                        .int("watchSecondsNow")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, DocumentError>>()?;
        Ok(AttendancePage { rows, total })
    }

    async fn overview(&self, query: &OverviewQuery) -> Result<Overview> {
        let results = Self::aggregate(&self.sessions, queries::overview_pipeline(query)).await?;
        let mut overview = Overview {
            sessions: 0,
            participants: 0,
            total_watch_seconds: 0,
            popular: Vec::new(),
        };
        let Some(facets) = results.first() else {
            return Ok(overview);
        };
        if let Some(Bson::Document(totals)) = facets
            .get_array("totals")
            .ok()
            .and_then(|totals| totals.first())
        {
            let r = Reader::new(totals, SESSIONS);
            overview.sessions = r.count("sessions")?;
            overview.participants = r.count("participants")?;
            overview.total_watch_seconds = r.int("watchSeconds")?;
        }
        for row in facets
            .get_array("popular")
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let Bson::Document(row) = row else { continue };
            let r = Reader::new(row, SESSIONS);
            overview.popular.push(PopularSession {
                session_id: SessionId::from_uuid(r.uuid("_id")?),
                title: r.title("title")?,
                status: r.session_status()?,
                start_time: r.date("startTime")?,
                participants: r.count("participants")?,
                total_watch_seconds: r.int("watchSeconds")?,
            });
        }
        Ok(overview)
    }

    async fn participation(&self, query: &ParticipationQuery) -> Result<Participation> {
        let results =
            Self::aggregate(&self.participants, queries::participation_pipeline(query)).await?;
        let mut participation = Participation {
            user_id: query.user_id.clone(),
            sessions_joined: 0,
            total_watch_seconds: 0,
            sessions: Vec::new(),
        };
        let Some(facets) = results.first() else {
            return Ok(participation);
        };
        if let Some(Bson::Document(totals)) = facets
            .get_array("totals")
            .ok()
            .and_then(|totals| totals.first())
        {
            let r = Reader::new(totals, PARTICIPANTS);
            participation.sessions_joined = r.count("sessions")?;
            participation.total_watch_seconds = r.int("watchSeconds")?;
        }
        for row in facets.get_array("rows").map(Vec::as_slice).unwrap_or(&[]) {
            let Bson::Document(row) = row else { continue };
            let participant = participant_from_document(row)?;
            let session = row.get_document("session").map_err(|_| DocumentError {
                collection: PARTICIPANTS,
                field: "session".into(),
                problem: "is missing from the participation lookup".into(),
            })?;
            let s = Reader::new(session, SESSIONS);
            participation.sessions.push(ParticipationRow {
                session_id: participant.session_id,
                title: s.title("title")?,
                status: s.session_status()?,
                start_time: s.date("startTime")?,
                first_joined_at: participant.first_joined_at,
                last_joined_at: participant.last_joined_at,
                watch_seconds: participant.watch_seconds,
                join_count: participant.join_count,
            });
        }
        Ok(participation)
    }
}

#[async_trait]
impl HealthCheck for MongoStore {
    async fn ping(&self) -> Result<()> {
        self.database
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|e| match map_error(e) {
                Error::Storage(cause) => Error::Unavailable(Some(cause)),
                other => other,
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::error::{ErrorKind, WriteError, WriteFailure};

    async fn defaulted(uri: &str) -> ClientOptions {
        let mut options = ClientOptions::parse(uri).await.unwrap();
        apply_default_timeouts(&mut options);
        options
    }

    #[tokio::test]
    async fn timeouts_default_to_two_seconds_unless_the_uri_sets_them() {
        let options = defaulted("mongodb://127.0.0.1:27017/db").await;
        assert_eq!(
            options.server_selection_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(options.connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!(options.default_database.as_deref(), Some("db"));

        let options = defaulted(
            "mongodb://127.0.0.1:27017/?serverSelectionTimeoutMS=30000&connectTimeoutMS=5000",
        )
        .await;
        assert_eq!(
            options.server_selection_timeout,
            Some(Duration::from_secs(30))
        );
        assert_eq!(options.connect_timeout, Some(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn connect_keeps_the_database_and_rejects_a_bad_uri() {
        let store = MongoStore::connect("mongodb://127.0.0.1:1/elearning")
            .await
            .unwrap();
        assert_eq!(store.database().name(), "elearning");
        let store = MongoStore::connect("mongodb://127.0.0.1:1").await.unwrap();
        assert_eq!(store.database().name(), DEFAULT_DATABASE);
        assert!(matches!(
            MongoStore::connect("postgres://nope").await,
            Err(Error::Storage(_))
        ));
    }

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
}
