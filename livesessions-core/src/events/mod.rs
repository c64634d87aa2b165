//! Change events: the durable [`EventLog`] port, the [`EventFeed`] that tails it, and the
//! in-process [`EventSink`] / [`EventSource`] broadcast ([`BroadcastEvents`]).
//!
//! A store with an event log appends an event for every change in the same transaction as the
//! change (an outbox): a change never commits without its event and no event exists for a change
//! that rolled back. Event ids increase in the order events become readable, so a reader that
//! remembers the last id it saw ([`EventId`]) can resume exactly where it stopped, also in
//! another process. Each server instance runs one [`EventFeed`]: it tails the log (woken by the
//! store's [`EventLog::wait_for_events`]: Postgres `LISTEN/NOTIFY`, MongoDB change streams,
//! in-process wake-ups, or a short timer), reads the session each event is about, and
//! broadcasts the result to the instance's subscribers; [`EventFeed::replay`] serves a client
//! that reconnects with the last id it saw.
//!
//! Publishing never waits on subscribers. A subscriber that falls more than the channel's
//! capacity behind misses events and learns so ([`tokio::sync::broadcast::error::RecvError::Lagged`]);
//! the HTTP adapter then drops that subscriber, which reconnects and resumes from its last id.
//!
//! Stores without a log can still feed subscribers of one process: give the service a
//! [`BroadcastEvents`] as its [`EventSink`]; such events carry no id and cannot be replayed.

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::ids::SessionId;
use crate::session::LiveSession;

mod feed;
mod log;

pub use feed::{EventFeed, EventFeedSettings, Replay};
pub use log::{EventId, EventLog, LogPosition, LoggedEvent};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A session was created.
    Created,
    /// A session's fields changed.
    Updated,
    /// A scheduled session was cancelled.
    Cancelled,
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
            EventKind::Cancelled => "cancelled",
            EventKind::Deleted => "deleted",
            EventKind::Live => "live",
            EventKind::Ended => "ended",
            EventKind::Participants => "participants",
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 7] = [
        EventKind::Created,
        EventKind::Updated,
        EventKind::Cancelled,
        EventKind::Deleted,
        EventKind::Live,
        EventKind::Ended,
        EventKind::Participants,
    ];

    /// The kind named `name` ([`EventKind::as_str`]), or `None`.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    /// Its id in the store's event log (`None` for events published in process only).
    pub id: Option<EventId>,
    /// What happened.
    pub kind: EventKind,
    /// To which session.
    pub session_id: SessionId,
    /// The session after the change (`None` after a delete). Events read from a log carry the
    /// session as it is when the event is read, so a burst of changes shows its latest state.
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
