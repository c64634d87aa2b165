//! The document of a logged event.

use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::events::LoggedEvent;
use livesessions_core::{EventId, EventKind, SessionId};

use super::{date, session_id, DocumentError, Reader};
use crate::documents::{EVENTS, STAGED_EVENTS};

/// The document of event `id`: what happened (`kind`) to which session, appended `at`.
pub(crate) fn event_document(
    id: EventId,
    kind: EventKind,
    session: SessionId,
    at: DateTime<Utc>,
) -> Document {
    doc! {
        "_id": id.get(),
        "kind": kind.as_str(),
        "sessionId": session_id(session),
        "at": date(at),
    }
}

/// An event id as the log stores it (`_id`, a long).
pub(crate) fn event_id(id: EventId) -> Bson {
    Bson::Int64(id.get())
}

/// Reads an event id stored as a number (`_id` of an event, `prunedThrough`).
pub(crate) fn read_event_id(reader: &Reader<'_>, field: &str) -> Result<EventId, DocumentError> {
    let value = reader.int(field)?;
    EventId::new(value)
        .ok_or_else(|| reader.error(field, format!("must not be negative, found {value}")))
}

/// Reads an event document.
pub(crate) fn event_from_document(document: &Document) -> Result<LoggedEvent, DocumentError> {
    let r = Reader::new(document, EVENTS);
    let name = r.str("kind")?;
    Ok(LoggedEvent {
        id: read_event_id(&r, "_id")?,
        kind: EventKind::parse(name)
            .ok_or_else(|| r.error("kind", format!("names no event kind: {name:?}")))?,
        session_id: SessionId::from_uuid(r.uuid("sessionId")?),
        at: r.date("at")?,
    })
}

/// An event staged without an id (`live_session_staged_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StagedEvent {
    /// The staged document's `_id`: staging order.
    pub staged_id: ObjectId,
    pub kind: EventKind,
    pub session_id: SessionId,
}

/// The document staging `kind` for `session`, staged `at`; its `_id`, made here, orders it
/// after what this process staged before.
pub(crate) fn staged_event_document(
    kind: EventKind,
    session: SessionId,
    at: DateTime<Utc>,
) -> Document {
    doc! {
        "_id": ObjectId::new(),
        "kind": kind.as_str(),
        "sessionId": session_id(session),
        "at": date(at),
    }
}

/// Reads a staged event's document.
pub(crate) fn staged_event_from_document(
    document: &Document,
) -> Result<StagedEvent, DocumentError> {
    let r = Reader::new(document, STAGED_EVENTS);
    let name = r.str("kind")?;
    Ok(StagedEvent {
        staged_id: document
            .get_object_id("_id")
            .map_err(|_| r.error("_id", "must be an ObjectId"))?,
        kind: EventKind::parse(name)
            .ok_or_else(|| r.error("kind", format!("names no event kind: {name:?}")))?,
        session_id: SessionId::from_uuid(r.uuid("sessionId")?),
    })
}
