//! The [`LiveSessions`] service: one method per use case, each authorizing its caller.
//!
//! Callers are `Option<&Actor>`: `None` is an anonymous visitor. Admin use cases answer
//! [`Error::Unauthenticated`] to anonymous callers and [`Error::Forbidden`] to users.
//!
//! This module holds the service, its builder and settings and what the use cases share; the
//! use cases are in `sessions` (scheduling and the lifecycle), `attendance` (joins, heartbeats,
//! leaves), `analytics` (reports) and `thumbnails` (uploads).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::attendance::DEFAULT_PRESENCE_TIMEOUT;
use crate::clock::{Clock, SystemClock};
use crate::error::{Conflict, Error, Result};
use crate::events::{EventKind, EventSink, NoEvents, SessionEvent};
use crate::ids::SessionId;
use crate::ports::{HealthCheck, Store};
use crate::presence::Presence;
use crate::session::{LiveSession, SessionStatus};
use crate::thumbnails::ThumbnailStore;
use crate::values::TimeZone;

mod analytics;
mod attendance;
mod roster;
mod scheduler;
mod series;
mod sessions;
mod thumbnails;

pub use attendance::JoinInput;
pub use scheduler::{SchedulerTick, SCHEDULER_INTERVAL};
pub use sessions::SessionView;

/// How often a change is tried in all when a concurrent change keeps refusing its write.
const UPDATE_RETRIES: usize = 3;

/// Settings of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSettings {
    /// Presence timeout T (default 90 s).
    pub presence_timeout: Duration,
    /// The zone a start time without an offset (`2025-01-15T10:00`, as an HTML
    /// `datetime-local` input sends it) is read in when the session names no `timeZone`
    /// (default UTC).
    pub default_time_zone: TimeZone,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            presence_timeout: DEFAULT_PRESENCE_TIMEOUT,
            default_time_zone: TimeZone::UTC,
        }
    }
}

/// The live-sessions service. Cheap to clone; share one per application.
///
/// ```
/// # #[cfg(feature = "memory")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use livesessions_core::{Actor, LiveSessions, MemoryStore, NewSession, SessionInput, UserId};
///
/// let service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
/// let admin = Actor::admin(UserId::parse("admin-1")?);
/// let session = service
///     .create(Some(&admin), NewSession {
///         fields: SessionInput {
///             title: Some("JavaScript Basics".into()),
///             instructor: Some("John Doe".into()),
///             video_url: Some("https://youtube.com/watch?v=dQw4w9WgXcQ".into()),
///             start_time: Some("2025-01-15T10:00:00Z".into()),
///             ..Default::default()
///         },
///         is_live: true,
///     }, None)
///     .await?;
/// assert!(session.is_live());
/// # Ok::<(), livesessions_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct LiveSessions {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    thumbnails: Option<Arc<dyn ThumbnailStore>>,
    health: Option<Arc<dyn HealthCheck>>,
    settings: ServiceSettings,
}

/// Builds a [`LiveSessions`].
#[derive(Debug)]
pub struct LiveSessionsBuilder {
    service: LiveSessions,
}

impl LiveSessionsBuilder {
    /// The clock (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.service.clock = clock;
        self
    }

    /// Where changes are published (default: nowhere).
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.service.events = events;
        self
    }

    /// Where uploads go (default: none; uploads are then refused).
    pub fn thumbnails(mut self, thumbnails: Arc<dyn ThumbnailStore>) -> Self {
        self.service.thumbnails = Some(thumbnails);
        self
    }

    /// A readiness check of the store's backend (default: [`LiveSessions::ready`] reads a
    /// session that does not exist).
    pub fn health(mut self, health: Arc<dyn HealthCheck>) -> Self {
        self.service.health = Some(health);
        self
    }

    /// Settings.
    pub fn settings(mut self, settings: ServiceSettings) -> Self {
        self.service.settings = settings;
        self
    }

    /// The service.
    pub fn build(self) -> LiveSessions {
        self.service
    }
}

/// The caller, who must be signed in.
pub(crate) fn require_user(caller: Option<&Actor>) -> Result<&Actor> {
    caller.ok_or(Error::Unauthenticated)
}

/// The caller, who must be a signed-in admin.
pub(crate) fn require_admin(caller: Option<&Actor>) -> Result<&Actor> {
    let actor = require_user(caller)?;
    if actor.admin {
        Ok(actor)
    } else {
        Err(Error::Forbidden)
    }
}

impl LiveSessions {
    /// Starts building a service on `store`.
    pub fn builder(store: Arc<dyn Store>) -> LiveSessionsBuilder {
        LiveSessionsBuilder {
            service: LiveSessions {
                store,
                clock: Arc::new(SystemClock),
                events: Arc::new(NoEvents),
                thumbnails: None,
                health: None,
                settings: ServiceSettings::default(),
            },
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// The current time of the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The service's clock, for components that must keep its time (a
    /// [`WebhookAdmin`](crate::webhooks::WebhookAdmin), say).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Publishes a change of `session`, stamped now.
    fn publish(&self, kind: EventKind, session: &LiveSession) {
        self.events.publish(SessionEvent {
            id: None,
            kind,
            session_id: session.id,
            session: Some(session.clone()),
            at: self.clock.now(),
        });
    }

    /// Now, with the configured presence timeout.
    fn presence(&self) -> Presence {
        Presence::new(self.clock.now(), self.settings.presence_timeout)
    }

    /// The stored session, or `NotFound`.
    async fn load(&self, id: SessionId) -> Result<LiveSession> {
        self.store
            .get_session(id)
            .await?
            .ok_or_else(|| Error::session_not_found(id))
    }

    /// Whether the store's backend answers: the [`HealthCheck`] when one was given, otherwise
    /// a read of a session that does not exist (any answer, found or not, shows that the
    /// backend is reachable; its errors are returned).
    pub async fn ready(&self) -> Result<()> {
        match &self.health {
            Some(health) => health.ping().await,
            None => self.store.get_session(SessionId::new()).await.map(|_| ()),
        }
    }

    /// Whether the session exists and is in `status` (a helper for adapters and tests).
    pub async fn status_of(&self, id: SessionId) -> Result<SessionStatus> {
        Ok(self.load(id).await?.status)
    }
}

/// Runs `attempt` (read a session, change it, write it) again while its write is refused by a
/// concurrent change ([`Conflict::VersionMismatch`]), up to [`UPDATE_RETRIES`] tries in all, and
/// only when `retry` is set (a caller that named the version it expects is told of the conflict
/// instead). `attempt` answers `Err` for a failure that ends the change at once (a failed read,
/// a refused change) and `Ok` with the outcome of its write otherwise.
async fn with_retries<T, F, Fut>(retry: bool, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T>>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await? {
            Err(Error::Conflict(Conflict::VersionMismatch { .. }))
                if retry && tries < UPDATE_RETRIES => {}
            written => return written,
        }
    }
}
