//! SQL storage adapters of `livesessions`: PostgreSQL ([`postgres::PostgresStore`], feature
//! `postgres`) and SQLite ([`sqlite::SqliteStore`], feature `sqlite`), on [`sqlx`].
//!
//! Both stores implement every port of `livesessions_core` ([`SessionStore`],
//! [`AttendanceStore`], [`AnalyticsStore`], `RosterStore`, [`HealthCheck`]) in SQL, in the
//! database:
//!
//! - a join is one atomic statement (Postgres) or one write transaction (SQLite) that inserts the
//!   participant or records the rejoin, applies the presence rule and counts a user exactly once;
//! - ending a session closes every open presence interval with one `UPDATE`;
//! - lists use one index for the order, the status filter and keyset pagination;
//! - analytics are aggregate queries; no operation loads all participants into memory.
//!
//! Both are also an [`EventLog`]: every change appends its event (`created`, `updated`,
//! `participants`, …) in the same transaction as the change, so a tailer in any instance of a
//! deployment (an [`EventFeed`]) sees every change exactly when it committed.
//!
//! Tables: `live_sessions`, `session_participants` (primary key `(session_id, user_id)`,
//! deleted with their session), `events` and `event_log_state` (the log and its pruned floor)
//! and, on Postgres, `session_participant_counts`: the participant count split over 64 rows per
//! session, so that a class-start stampede of joins does not queue on one hot row.
//! `roster_members` (primary key `(session_id, user_id)`, deleted with their session) holds
//! the sessions' rosters for the stores'
//! [`RosterStore`](livesessions_core::roster::RosterStore).
//! `live_session_thumbnails` keeps uploaded images (`bytea` / BLOB) for the stores'
//! [`ThumbnailStore`]s, `PostgresStore::thumbnails()` and `SqliteStore::thumbnails()`, so that
//! several server instances on one database serve each other's uploads. Migrations are
//! embedded per database and run by `migrate()`.
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # async fn example() -> livesessions_core::Result<()> {
//! use std::sync::Arc;
//! use livesessions_core::LiveSessions;
//! use livesessions_sql::sqlite::SqliteStore;
//!
//! let store = SqliteStore::connect("sqlite://livesessions.db").await?;
//! store.migrate().await?;
//! let service = LiveSessions::builder(Arc::new(store)).build();
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! With Postgres, in a schema of its own:
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # async fn example() -> livesessions_core::Result<()> {
//! use livesessions_sql::postgres::PostgresStore;
//!
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1/app")
//!     .await?
//!     .with_schema("live")?;
//! store.migrate().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Webhooks
//!
//! Both stores also implement [`WebhookStore`] on the same pool, so one store value serves the
//! service and the [webhook worker](livesessions_core::webhooks::WebhookWorker). Endpoints,
//! deliveries and the enqueue cursor live in `webhook_endpoints`, `webhook_deliveries` and
//! `webhook_cursor` (Postgres migration 0005, SQLite 0004). Several instances may enqueue and
//! claim at once: the cursor moves by compare-and-set in the enqueue's transaction, and a
//! claim leases deliveries with `FOR UPDATE SKIP LOCKED` (Postgres) or in a `BEGIN IMMEDIATE`
//! transaction (SQLite). Secrets are stored as the core writes them (`whsec_…`), so the
//! database must be protected like any other credential store.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use livesessions_core::webhooks::{register_endpoint, EndpointInput, TargetPolicy, WebhookStore};
//! use livesessions_sql::sqlite::SqliteStore;
//!
//! let store = Arc::new(SqliteStore::in_memory().await?);
//! store.migrate().await?;
//! let now = "2030-01-15T09:00:00Z".parse().unwrap();
//! let input = EndpointInput {
//!     url: Some("https://93.184.216.34/hooks".into()),
//!     event_types: Some(vec!["session.live".into()]),
//!     description: Some("CRM".into()),
//! };
//! let registered = register_endpoint(&*store, &TargetPolicy::default(), &input, now).await?;
//! assert_eq!(store.list_endpoints().await?, vec![registered.endpoint]);
//! // The same store, shared with the worker and the service:
//! let webhooks: Arc<dyn WebhookStore> = store.clone();
//! # let _ = webhooks;
//! # Ok::<(), livesessions_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! [`WebhookStore`]: livesessions_core::webhooks::WebhookStore
//! [`SessionStore`]: livesessions_core::SessionStore
//! [`AttendanceStore`]: livesessions_core::AttendanceStore
//! [`AnalyticsStore`]: livesessions_core::AnalyticsStore
//! [`HealthCheck`]: livesessions_core::HealthCheck
//! [`EventLog`]: livesessions_core::events::EventLog
//! [`EventFeed`]: livesessions_core::events::EventFeed
//! [`ThumbnailStore`]: livesessions_core::ThumbnailStore
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without both features some of the stores the crate documentation links to are not built.
#![cfg_attr(
    not(all(feature = "postgres", feature = "sqlite")),
    allow(rustdoc::broken_intra_doc_links)
)]

// What both stores share lives in the modules below, written once over `dialect::Dialect`
// (how a database stores times and names its parameters and functions); `postgres` and
// `sqlite` keep only their statements, their connection set-up and what their concurrency
// needs (docs/ARCHITECTURE.md, "Concurrency in the stores").
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod analytics;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod calendar;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod dialect;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod errors;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod events;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod presence;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod queries;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod record;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod roster;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod search;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod series;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod thumbnails;
mod webhooks;

pub use sqlx;
