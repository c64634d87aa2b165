//! Mapping between domain values and the BSON documents described in
//! [`documents`](crate::documents): writing them whole, reading them back exactly, and reading
//! the original application's documents with defaults. Sessions (and their attendance rules),
//! participants, roster members and logged events each have a file.

use std::fmt;

use bson::spec::BinarySubtype;
use bson::{Binary, Bson};
use chrono::{DateTime, Utc};
use livesessions_core::SessionId;

mod attendance_rules;
mod event;
mod participant;
mod reader;
mod roster;
mod session;
#[cfg(test)]
mod tests;
mod webhooks;

pub(crate) use attendance_rules::AttendanceRules;
pub(crate) use event::{
    event_document, event_from_document, event_id, read_event_id, staged_event_document,
    staged_event_from_document, StagedEvent,
};
#[cfg(test)]
pub(crate) use participant::participant_document;
pub(crate) use participant::participant_from_document;
pub(crate) use reader::Reader;
#[cfg(test)]
pub(crate) use roster::roster_member_document;
pub(crate) use roster::roster_member_from_document;
pub(crate) use session::{session_document, session_fields, session_from_document};
pub(crate) use webhooks::{
    attempt_document, delivery_document, delivery_from_document, endpoint_document,
    endpoint_from_document, reason_name, secrets_from_document, state_name,
};

/// A stored document that cannot be read as a domain value: which collection, which field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentError {
    /// The collection the document came from.
    pub collection: &'static str,
    /// The offending field.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} document: field `{}` {}",
            self.collection, self.field, self.problem
        )
    }
}

impl std::error::Error for DocumentError {}

impl From<DocumentError> for livesessions_core::Error {
    fn from(error: DocumentError) -> Self {
        livesessions_core::Error::storage(error)
    }
}

/// The name of the sub-document that holds every time in microseconds since the epoch.
pub(crate) const MICROS: &str = "micros";

/// A time as a BSON date (truncated to the millisecond).
pub(crate) fn date(time: DateTime<Utc>) -> Bson {
    Bson::DateTime(bson::DateTime::from_chrono(time))
}

pub(crate) fn opt_date(time: Option<DateTime<Utc>>) -> Bson {
    time.map(date).unwrap_or(Bson::Null)
}

/// A time as microseconds since the epoch (the exact value kept in `micros`).
pub(crate) fn micros(time: DateTime<Utc>) -> Bson {
    Bson::Int64(time.timestamp_micros())
}

pub(crate) fn opt_micros(time: Option<DateTime<Utc>>) -> Bson {
    time.map(micros).unwrap_or(Bson::Null)
}

/// A session id as BSON: a UUID, binary subtype 4.
pub(crate) fn session_id(id: SessionId) -> Bson {
    uuid(*id.as_uuid())
}

/// A UUID as BSON: binary subtype 4.
pub(crate) fn uuid(id: uuid::Uuid) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Uuid,
        bytes: id.as_bytes().to_vec(),
    })
}

/// A count as a BSON long (saturating; counts never come near `i64::MAX`).
pub(crate) fn long(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
