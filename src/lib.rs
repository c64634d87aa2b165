//! `livesessions`: a complete "live sessions" feature for e-learning backends.
//!
//! Admins schedule live classes (title, description, instructor, YouTube/Vimeo/custom video
//! URL, thumbnail, start time), start and end them; students join and watch; the library counts
//! distinct participants exactly, credits watch time from presence events, and answers
//! attendance reports and analytics.
//!
//! This crate is a facade: it re-exports the domain from [`livesessions_core`] at its root and
//! each adapter as a module behind a feature.
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `memory` (default) | [`MemoryStore`], an in-process store |
//! | `sqlite` | [`sql`] with the SQLite store |
//! | `postgres` | [`sql`] with the PostgreSQL store |
//! | `mongo` | [`mongo`], the MongoDB store |
//! | `http` | [`http`], the axum router with auth, limits, uploads, events and OpenAPI |
//! | `ui` | the web page at `/live-sessions` in [`http`] |
//! | `testing` | [`testing`], the conformance suite for stores of your own |
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use livesessions::{Actor, JoinInput, LiveSessions, MemoryStore, NewSession, SessionInput, UserId};
//!
//! let service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
//! let admin = Actor::admin(UserId::parse("admin")?);
//! let session = service
//!     .create(Some(&admin), NewSession {
//!         fields: SessionInput {
//!             title: Some("JavaScript Basics".into()),
//!             instructor: Some("John Doe".into()),
//!             video_url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into()),
//!             start_time: Some("2025-01-15T10:00:00Z".into()),
//!             ..Default::default()
//!         },
//!         is_live: false,
//!     }, None)
//!     .await?;
//! let student = Actor::user(UserId::parse("user456")?)
//!     .with_name("Ahmed Ali")
//!     .with_email("ahmed@example.com");
//! let joined = service
//!     .join(Some(&student), JoinInput { session_id: session.id.to_string(), ..Default::default() })
//!     .await?;
//! assert_eq!(joined.session.participants, 1);
//! # Ok::<(), livesessions::Error>(())
//! # }).unwrap();
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use livesessions_core::*;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub use livesessions_sql as sql;

#[cfg(feature = "mongo")]
#[cfg_attr(docsrs, doc(cfg(feature = "mongo")))]
pub use livesessions_mongo as mongo;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use livesessions_http as http;
