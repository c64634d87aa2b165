//! [`MongoStore`]: the ports of `livesessions-core` on MongoDB, one file a port
//! ([`sessions`], [`attendance`], [`analytics`], [`roster`], [`event_log`], [`webhooks`]),
//! beside how a store is made ([`connect`]), how its multi-document operations run
//! ([`transaction`]), how a change appends its event ([`append`]), how a reader waits for new
//! events ([`change_stream`]), the participant counts' shards ([`counts`]), the counter repair
//! ([`reconcile`]), the seats of a session with a capacity ([`capacity`]) and how a list page
//! is searched ([`search`]).

use std::future::IntoFuture;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use async_trait::async_trait;
use bson::{doc, Document};
use futures::TryStreamExt;
use livesessions_core::{Error, HealthCheck, LiveSession, Result, SessionId};
use mongodb::action::Action;
use mongodb::{Client, ClientSession, Collection, Cursor, Database};
use tokio::sync::OnceCell;

use crate::documents::{
    EVENTS, LOG_STATE, PARTICIPANTS, PARTICIPANT_COUNTS, SESSIONS, STAGED_EVENTS,
    WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS, WEBHOOK_STATE,
};
use crate::error::map_error;
use crate::queries;

mod analytics;
mod append;
mod attendance;
mod calendar;
mod capacity;
mod change_stream;
mod connect;
mod counts;
mod event_log;
mod reconcile;
mod roster;
mod search;
mod sessions;
mod thumbnails;
mod transaction;
mod webhooks;

pub use connect::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE, DEFAULT_SERVER_SELECTION_TIMEOUT};
pub use thumbnails::MongoThumbnails;
use transaction::Failure;

/// Whether changes run in multi-document transactions: joins, ends and deletes, and every
/// change together with the event it appends to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionMode {
    /// Ask the deployment (`hello`) once: transactions on a replica set or sharded cluster,
    /// none on a standalone server.
    #[default]
    Auto,
    /// Always use transactions (fails on a standalone server).
    Always,
    /// Never use transactions: joins upsert the participant and then `$inc` the session's
    /// counter; run [`MongoStore::reconcile_participant_counts`] after a crash. The event log
    /// is then best-effort: an event is appended after its change, so a crash (or a failed
    /// append) in between loses it.
    Never,
}

/// A store on a MongoDB database: sessions in `live_sessions`, participants in
/// `session_participants`, and the log of their changes in `live_session_events` (see
/// [`documents`](crate::documents) for their shape).
///
/// It is an [`EventLog`](livesessions_core::EventLog): where the deployment has transactions,
/// every change appends its event in the change's own transaction (see
/// [the event log](crate#the-event-log)).
///
/// Clones share the client and its connection pool.
#[derive(Debug, Clone)]
pub struct MongoStore {
    client: Client,
    database: Database,
    sessions: Collection<Document>,
    participants: Collection<Document>,
    participant_counts: Collection<Document>,
    events: Collection<Document>,
    staged_events: Collection<Document>,
    log_state: Collection<Document>,
    webhook_endpoints: Collection<Document>,
    webhook_deliveries: Collection<Document>,
    webhook_state: Collection<Document>,
    mode: TransactionMode,
    transactions: Arc<OnceCell<bool>>,
    /// False once the deployment refused a change stream: readers then poll.
    change_streams: Arc<AtomicBool>,
}

impl MongoStore {
    /// A store on `database`. Nothing is sent until the first operation; call
    /// [`MongoStore::ensure_indexes`] once at startup.
    pub fn new(database: Database) -> Self {
        MongoStore {
            client: database.client().clone(),
            sessions: database.collection(SESSIONS),
            participants: database.collection(PARTICIPANTS),
            participant_counts: database.collection(PARTICIPANT_COUNTS),
            events: database.collection(EVENTS),
            staged_events: database.collection(STAGED_EVENTS),
            log_state: database.collection(LOG_STATE),
            webhook_endpoints: database.collection(WEBHOOK_ENDPOINTS),
            webhook_deliveries: database.collection(WEBHOOK_DELIVERIES),
            webhook_state: database.collection(WEBHOOK_STATE),
            database,
            mode: TransactionMode::Auto,
            transactions: Arc::new(OnceCell::new()),
            change_streams: Arc::new(AtomicBool::new(true)),
        }
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
    /// `session_participants` the unique {sessionId, userId} and {userId}; on
    /// `session_participant_counts` {sessionId}; on
    /// `live_session_events` `at` (for pruning); the thumbnails' unique {filename}
    /// ([`MongoThumbnails::ensure_indexes`]); on the webhook deliveries the unique
    /// {endpointId, eventId} (one delivery per endpoint and event; also the listing), {state,
    /// due time} (claims) and {endpointId, sessionId, state, eventId} (the order check); on the
    /// webhook endpoints {enabled}; the calendar feeds' unique {tokenHash} and the feeds' order
    /// on `live_sessions`; the roster's unique {sessionId, userId} and {userId}; and the search
    /// trigrams on `live_sessions`, after writing them into the session documents that lack them
    /// (written by an earlier version: one read of those documents and one update each, nothing
    /// once every document has them). Also creates `live_session_staged_events`, which joins
    /// write to inside their transactions.
    /// Idempotent.
    pub async fn ensure_indexes(&self) -> Result<()> {
        self.thumbnails().ensure_indexes().await?;
        self.create_staged_events().await?;
        self.backfill_search_grams().await?;
        self.sessions
            .create_indexes(queries::session_indexes())
            .await
            .map_err(map_error)?;
        self.participants
            .create_indexes(queries::participant_indexes())
            .await
            .map_err(map_error)?;
        self.participant_counts
            .create_indexes(queries::count_shard_indexes())
            .await
            .map_err(map_error)?;
        self.events
            .create_indexes(queries::event_indexes())
            .await
            .map_err(map_error)?;
        self.webhook_deliveries
            .create_indexes(queries::delivery_indexes())
            .await
            .map_err(map_error)?;
        self.webhook_endpoints
            .create_indexes(queries::endpoint_indexes())
            .await
            .map_err(map_error)?;
        self.ensure_calendar_indexes().await?;
        self.ensure_roster_indexes().await?;
        Ok(())
    }

    /// The session `id`, its participants counted with its shards.
    async fn find_session(
        &self,
        id: SessionId,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<Option<LiveSession>, Failure> {
        let found = self
            .sessions
            .find_one(queries::session_filter(id))
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        match found {
            Some(document) => Ok(Some(self.counted_session(&document, s).await?)),
            None => Ok(None),
        }
    }
}

/// Sends `query` (a `find` or an `aggregate`) and collects every document it answers with.
async fn all_documents<Q>(query: Q) -> Result<Vec<Document>>
where
    Q: IntoFuture<Output = mongodb::error::Result<Cursor<Document>>>,
    Q::IntoFuture: Send,
{
    query
        .await
        .map_err(map_error)?
        .try_collect()
        .await
        .map_err(map_error)
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
