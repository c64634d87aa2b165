//! The event log port: what a store with a durable log of its changes offers.

use std::fmt::{self, Debug};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::EventKind;
use crate::error::Result;
use crate::ids::SessionId;

/// The id of an event in a store's log: positive, increasing in the order events become
/// readable. [`EventId::ZERO`] is the position before every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventId(i64);

impl EventId {
    /// The position before every event.
    pub const ZERO: EventId = EventId(0);

    /// The id `value`, or `None` when it is negative.
    pub fn new(value: i64) -> Option<EventId> {
        (value >= 0).then_some(EventId(value))
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The error of parsing an [`EventId`]: the text is not a non-negative decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an event id")]
pub struct InvalidEventId;

impl FromStr for EventId {
    type Err = InvalidEventId;

    /// Parses the decimal form [`EventId`] displays as (an SSE `Last-Event-ID`).
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidEventId);
        }
        text.parse::<i64>()
            .ok()
            .and_then(EventId::new)
            .ok_or(InvalidEventId)
    }
}

/// An event as the log holds it: what happened to which session, and when it was appended.
/// Readers load the session itself when they need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its id.
    pub id: EventId,
    /// What happened.
    pub kind: EventKind,
    /// To which session.
    pub session_id: SessionId,
    /// When it was appended, by the store's clock.
    pub at: DateTime<Utc>,
}

/// The bounds of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogPosition {
    /// The id of the last readable event ([`EventId::ZERO`] when there is none yet).
    pub last: EventId,
    /// Events up to this id may have been pruned: a reader that last saw an older id may have
    /// missed events and must start over ([`EventId::ZERO`] when nothing was pruned).
    pub pruned_through: EventId,
}

/// A durable log of a store's changes (an outbox).
///
/// A store implementing it appends one event per change of its other ports, in the same
/// transaction as the change:
///
/// | change | event |
/// | --- | --- |
/// | [`insert_session`](crate::SessionStore::insert_session) | `created`, then `live` when the session is live |
/// | [`update_session`](crate::SessionStore::update_session) | the kind it is given |
/// | [`delete_session`](crate::SessionStore::delete_session) that deleted | `deleted` |
/// | [`join`](crate::AttendanceStore::join) that counted a new participant | `participants` |
/// | [`end_session`](crate::AttendanceStore::end_session) | `ended` |
///
/// A change that fails appends nothing, and a failed append fails the change. Several
/// `participants` events of one session may be coalesced into the last of them before they
/// become readable. The [event-log conformance cases](crate::event_log_tests) check all of it.
#[async_trait]
pub trait EventLog: Debug + Send + Sync + 'static {
    /// At most `limit` events with ids greater than `after`, in id order. Every event of a
    /// change that committed before the call is readable by it, and no event can later become
    /// readable with an id at or below the greatest one returned.
    async fn read_events(&self, after: EventId, limit: usize) -> Result<Vec<LoggedEvent>>;

    /// The log's bounds.
    async fn log_position(&self) -> Result<LogPosition>;

    /// Deletes the events appended before `before` and moves
    /// [`LogPosition::pruned_through`] up to the greatest id deleted. Returns how many were
    /// deleted.
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Waits until events after `after` may have been appended, or at most `max_wait`.
    /// Returning early without new events is allowed. The default sleeps `max_wait` (polling);
    /// stores that can be woken (Postgres `LISTEN/NOTIFY`, MongoDB change streams, a process's
    /// own writes) override it.
    async fn wait_for_events(&self, after: EventId, max_wait: Duration) {
        let _ = after;
        tokio::time::sleep(max_wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_from_their_decimal_form_only() {
        assert_eq!("42".parse::<EventId>(), Ok(EventId(42)));
        assert_eq!("0".parse::<EventId>(), Ok(EventId::ZERO));
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1.0",
            "abc",
            "99999999999999999999",
            "9223372036854775808",
        ] {
            assert_eq!(bad.parse::<EventId>(), Err(InvalidEventId), "{bad:?}");
        }
        assert_eq!(EventId(7).to_string(), "7");
    }
}
