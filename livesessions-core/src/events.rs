//! Change events: the [`EventSink`] port and an in-process broadcast ([`BroadcastEvents`]).
//!
//! Publishing never waits on subscribers. A subscriber that falls more than the channel's
//! capacity behind misses events and learns so ([`tokio::sync::broadcast::error::RecvError::Lagged`]);
//! the HTTP adapter then drops that subscriber. Several server instances need store-backed
//! events (Postgres LISTEN/NOTIFY, MongoDB change streams): such an implementation publishes to
//! the database in [`EventSink::publish`] and feeds a local [`BroadcastEvents`] from it.

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::ids::SessionId;
use crate::session::LiveSession;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A session was created.
    Created,
    /// A session's fields changed (or it was cancelled).
    Updated,
    /// A session was deleted.
    Deleted,
    /// A session went live.
    Live,
    /// A session ended.
    Ended,
    /// A session's participant count changed.
    Participants,
}

impl EventKind {
    /// The lowercase name, used as the SSE event name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Updated => "updated",
            EventKind::Deleted => "deleted",
            EventKind::Live => "live",
            EventKind::Ended => "ended",
            EventKind::Participants => "participants",
        }
    }
}

/// A change to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    /// What happened.
    pub kind: EventKind,
    /// To which session.
    pub session_id: SessionId,
    /// The session after the change (`None` after a delete).
    pub session: Option<LiveSession>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where the service publishes changes.
pub trait EventSink: Debug + Send + Sync + 'static {
    /// Publishes an event. Must not block or wait on subscribers.
    fn publish(&self, event: SessionEvent);
}

/// A source of events to subscribe to (the HTTP adapter's SSE endpoint).
pub trait EventSource: Debug + Send + Sync + 'static {
    /// A new subscription receiving every event published from now on.
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent>;
}

/// An in-process broadcast: both an [`EventSink`] and an [`EventSource`].
#[derive(Debug, Clone)]
pub struct BroadcastEvents {
    sender: broadcast::Sender<SessionEvent>,
}

impl BroadcastEvents {
    /// The default number of events a subscriber may fall behind before it is dropped.
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// A broadcast whose subscribers may fall `capacity` events behind.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        BroadcastEvents { sender }
    }

    /// How many subscribers are connected.
    pub fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}

impl Default for BroadcastEvents {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl EventSink for BroadcastEvents {
    fn publish(&self, event: SessionEvent) {
        // No subscribers is not an error.
        let _ = self.sender.send(event);
    }
}

impl EventSource for BroadcastEvents {
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.sender.subscribe()
    }
}

/// An [`EventSink`] that drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn publish(&self, _event: SessionEvent) {}
}
