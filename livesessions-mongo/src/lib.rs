//! MongoDB storage for `livesessions`, on the official [`mongodb`] driver.
//!
//! [`MongoStore`] implements every port of `livesessions-core`
//! ([`SessionStore`](livesessions_core::SessionStore),
//! [`AttendanceStore`](livesessions_core::AttendanceStore),
//! [`AnalyticsStore`](livesessions_core::AnalyticsStore),
//! [`HealthCheck`](livesessions_core::HealthCheck), [`EventLog`](livesessions_core::EventLog))
//! on two collections whose documents keep the original application's field names, plus the
//! event log's ([`documents`] describes them all):
//!
//! - `live_sessions`: one document per session, `_id` the session's UUID (BSON binary
//!   subtype 4), dates as BSON dates;
//! - `session_participants`: one document per (session, user), unique on
//!   {sessionId, userId}.
//!
//! [`RosterStore`](livesessions_core::roster::RosterStore) keeps rosters in
//! `live_session_roster_members`, one document per (session, user); the roster view with its
//! attendance statuses is one aggregation.
//!
//! [`MongoThumbnails`] ([`MongoStore::thumbnails`]) keeps uploaded thumbnails in the same
//! database, in the GridFS bucket `live_session_thumbnails`, so that every server instance on it
//! serves every upload.
//!
//! Every filter, update and pipeline is built by a pure function; the store only sends them.
//! A join counts a user once: in a transaction on a replica set or sharded cluster, otherwise
//! with an upsert followed by `$inc` (see [`TransactionMode`] and
//! [`MongoStore::reconcile_participant_counts`]). Ending a session credits every present
//! participant with one `update_many` pipeline update. Analytics are aggregation pipelines.
//!
//! [`MongoStore`] is also the
//! [`WebhookStore`](livesessions_core::webhooks::WebhookStore) of webhook delivery, on three
//! more collections ([`documents`] describes them): endpoints with their secrets, deliveries
//! leased to one worker at a time, and the enqueue cursor, moved with a compare-and-set in the
//! same transaction as the deliveries it creates (best effort without transactions: no
//! delivery is ever made twice).
//! Driver errors are mapped as [`error`] describes.
//!
//! Targets MongoDB 6.0 and newer (nothing newer than 5.0 is used: `$lookup` with `localField`
//! and a pipeline); the crate's README says which engines it has run against.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> livesessions_core::Result<()> {
//! use std::sync::Arc;
//! use livesessions_core::LiveSessions;
//! use livesessions_mongo::MongoStore;
//!
//! let store = MongoStore::connect("mongodb://127.0.0.1:27017/elearning").await?;
//! store.ensure_indexes().await?;
//! let service = LiveSessions::builder(Arc::new(store)).build();
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! # The event log
//!
//! Every change appends its event to `live_session_events` (the table of
//! [`EventLog`](livesessions_core::EventLog) says which). Where the deployment has transactions
//! the append is part of the change's transaction, so an event exists exactly when its change
//! committed. An event's id is one past the greatest id given (the last event's, or the pruned
//! floor in `live_session_log_state`); the unique `_id` index makes concurrent writers that
//! read the same one conflict, and the loser runs again (its transaction, or without one its
//! append). So id N + 1 is only written after N became readable: ids increase in the order
//! events become readable, as the port requires, whichever [`TransactionMode`] each writer
//! uses. The tail of that index is one spot shared by all writers, so the change that comes
//! in stampedes, a first join, does not write there: it stages its `participants` event in
//! `live_session_staged_events` (a document of its own, in the join's transaction), and the
//! staged events get their ids, coalesced to the last one of each session, from whoever comes
//! next: every reader of the log first, and every other change inside its own transaction
//! before its event (so a session's count precedes its `ended`). Joins of different sessions
//! never write the same document; a count reaches the log when a reader next looks (the
//! [`EventFeed`](livesessions_core::events::EventFeed) polls at least once a second).
//!
//! Without transactions (a standalone server, [`TransactionMode::Never`]) the log is
//! best-effort: the append follows its change, and a crash or a failed append in between loses
//! the event (a failed append is reported as the change's failure, though the change took
//! place). Pruning raises the floor before it deletes, so it needs no transaction.
//! [`EventLog::wait_for_events`](livesessions_core::EventLog::wait_for_events) waits on a
//! change stream of the log's inserts where the deployment offers one, and sleeps otherwise (also
//! while the server cannot be reached).
//!
//! Times are BSON dates (milliseconds) with the exact microseconds kept beside them, so every
//! time reads back exactly as written ([`documents`] explains how).
//!
//! docs/ARCHITECTURE.md (section "MongoDB") gives the reasons behind these choices.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
pub mod documents;
pub mod error;
mod queries;
mod store;

pub use mongodb;

pub use store::{
    MongoStore, MongoThumbnails, TransactionMode, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE,
    DEFAULT_SERVER_SELECTION_TIMEOUT,
};
