//! The core of `livesessions`: live classes for e-learning backends.
//!
//! Admins schedule sessions, start and end them; students join and watch; the library counts
//! distinct participants exactly and credits watch time from join, heartbeat and leave events.
//!
//! This crate is the hexagon: the domain ([`LiveSession`], [`Participant`], validating value
//! objects), the lifecycle and watch-time rules, the ports that storage adapters implement
//! ([`SessionStore`], [`AttendanceStore`], [`AnalyticsStore`]), the [`LiveSessions`] service,
//! an in-memory store ([`MemoryStore`], feature `memory`) and a conformance suite every store
//! runs against itself (module [`testing`], feature `testing`). It does no I/O of its own
//! beyond the local-directory [`LocalDirThumbnails`].
//!
//! Module [`webhooks`] delivers the changes of a store's event log to registered endpoints,
//! signed per Standard Webhooks; it resolves endpoint host names to check them (SSRF guard)
//! and leaves the HTTP client to the adapter ([`webhooks::WebhookTransport`]).
//!
//! Module [`roster`] holds who is expected at a session and computes everyone's attendance
//! status (present, partial, late, lobby only, absent).
//!
//! Module [`calendar`] keeps the tokens of users' calendar feed URLs (as hashes) and answers
//! which sessions a calendar feed holds; the HTTP adapter renders them as iCalendar.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use livesessions_core::{
//!     Actor, JoinInput, LiveSessions, ManualClock, MemoryStore, NewSession, SessionInput, UserId,
//! };
//!
//! let clock = ManualClock::new("2025-01-15T10:00:00Z".parse().unwrap());
//! let service = LiveSessions::builder(Arc::new(MemoryStore::new()))
//!     .clock(Arc::new(clock.clone()))
//!     .build();
//!
//! let admin = Actor::admin(UserId::parse("admin")?);
//! let session = service
//!     .create(Some(&admin), NewSession {
//!         fields: SessionInput {
//!             title: Some("Web Development 101".into()),
//!             instructor: Some("Sarah Khan".into()),
//!             video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
//!             start_time: Some("2025-01-15T10:00:00+05:00".into()),
//!             ..Default::default()
//!         },
//!         is_live: true,
//!     }, None)
//!     .await?;
//!
//! let student = Actor::user(UserId::parse("user456")?)
//!     .with_name("Ahmed Ali")
//!     .with_email("ahmed@example.com");
//! service
//!     .join(Some(&student), JoinInput { session_id: session.id.to_string(), ..Default::default() })
//!     .await?;
//! clock.advance_secs(30);
//! service.heartbeat(Some(&student), session.id).await?;
//! clock.advance_secs(15);
//! let participant = service.leave(Some(&student), session.id).await?;
//! assert_eq!(participant.watch_seconds, 45);
//! # Ok::<(), livesessions_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Writing a store
//!
//! Implement the three store traits on one type and run the conformance suite against it
//! from an integration test (feature `testing`):
//!
//! ```ignore
//! // tests/conformance.rs of your adapter
//! async fn fresh_store() -> Option<livesessions_core::testing::Fixture> {
//!     let store = MyStore::connect_to_a_fresh_database().await;
//!     Some(livesessions_core::testing::Fixture::new(std::sync::Arc::new(store)))
//! }
//! livesessions_core::conformance_tests!(fresh_store);
//! ```
//!
//! See [`testing`] for the details.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod actor;
pub mod analytics;
pub mod attendance;
pub mod calendar;
mod clock;
mod error;
pub mod events;
mod field_error;
mod ids;
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub mod memory;
pub mod ports;
mod presence;
pub mod roster;
pub mod series;
mod service;
pub mod session;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod thumbnails;
mod upload;
pub mod values;
pub mod webhooks;

pub use actor::Actor;
pub use analytics::{
    AttendancePage, AttendanceQuery, AttendanceRow, AttendanceSort, Overview, OverviewQuery,
    Participation, ParticipationQuery, ParticipationRow, PopularBy, PopularSession, ReportQuery,
    SessionReport, SortOrder,
};
pub use attendance::{Joiner, Participant, DEFAULT_PRESENCE_TIMEOUT};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{BoxError, Conflict, Error, FieldError, Result};
pub use events::{
    BroadcastEvents, EventFeed, EventId, EventKind, EventLog, EventSink, EventSource, NoEvents,
    SessionEvent,
};
pub use ids::{SeriesId, SessionId, UserId};
#[cfg(feature = "memory")]
pub use memory::MemoryStore;
pub use ports::EmptySession;
pub use ports::{
    AnalyticsStore, AttendanceStore, HealthCheck, JoinOutcome, JoinRequest, SessionStore, Store,
};
pub use presence::Presence;
pub use series::{SeriesAttendance, SeriesLink, SeriesScope, SeriesSummary, SeriesSummaryQuery};
pub use service::{
    JoinInput, LiveSessions, LiveSessionsBuilder, SchedulerTick, ServiceSettings, SessionView,
    SCHEDULER_INTERVAL,
};
pub use session::{
    check_seat, Cursor, ListKey, ListQuery, LiveSession, NewSession, Page, SessionAction,
    SessionFields, SessionInput, SessionPatch, SessionStatus, SessionUpdate, StatusFilter,
    Transition, MAX_SESSION_LENGTH,
};
pub use thumbnails::{LocalDirThumbnails, StoredImage, ThumbnailStore};
pub use upload::{ThumbnailUpload, MAX_THUMBNAIL_BYTES};
pub use values::EmptyMinutes;
pub use values::{AttendanceThreshold, LateMinutes, Registration};
pub use values::{Capacity, Seat};
pub use values::{
    Description, Email, ImageKind, Instructor, Recurrence, Thumbnail, ThumbnailKey, ThumbnailUrl,
    TimeZone, Title, UserName, VideoProvider, VideoUrl,
};
