//! Typed access to a document's fields.

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::values::Title;
use livesessions_core::{FieldError, SessionStatus};
use uuid::Uuid;

use super::{DocumentError, MICROS};

/// Typed access to a document's fields, with errors that name the field.
pub(crate) struct Reader<'a> {
    document: &'a Document,
    collection: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(document: &'a Document, collection: &'static str) -> Self {
        Reader {
            document,
            collection,
        }
    }

    pub(crate) fn error(&self, field: &str, problem: impl Into<String>) -> DocumentError {
        DocumentError {
            collection: self.collection,
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    pub(crate) fn invalid(&self, error: FieldError) -> DocumentError {
        self.error(
            &error.field,
            format!("holds an invalid value: {}", error.message),
        )
    }

    pub(super) fn valid<T>(
        &self,
        field: &str,
        parsed: Result<T, FieldError>,
    ) -> Result<T, DocumentError> {
        parsed.map_err(|e| self.invalid(e.for_field(field)))
    }

    /// The value, treating null like a missing field.
    fn get(&self, field: &str) -> Option<&'a Bson> {
        self.document
            .get(field)
            .filter(|v| !matches!(v, Bson::Null))
    }

    fn required(&self, field: &str) -> Result<&'a Bson, DocumentError> {
        self.get(field)
            .ok_or_else(|| self.error(field, "is missing"))
    }

    fn wrong_type(&self, field: &str, expected: &str, found: &Bson) -> DocumentError {
        self.error(
            field,
            format!("must be {expected}, found {:?}", found.element_type()),
        )
    }

    pub(crate) fn str(&self, field: &str) -> Result<&'a str, DocumentError> {
        match self.required(field)? {
            Bson::String(s) => Ok(s),
            other => Err(self.wrong_type(field, "a string", other)),
        }
    }

    pub(crate) fn opt_str(&self, field: &str) -> Result<Option<&'a str>, DocumentError> {
        match self.get(field) {
            None => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(field, "a string", other)),
        }
    }

    pub(crate) fn opt_bool(&self, field: &str) -> Result<Option<bool>, DocumentError> {
        match self.get(field) {
            None => Ok(None),
            Some(Bson::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(field, "a boolean", other)),
        }
    }

    pub(crate) fn date(&self, field: &str) -> Result<DateTime<Utc>, DocumentError> {
        self.opt_date(field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    pub(crate) fn opt_date(&self, field: &str) -> Result<Option<DateTime<Utc>>, DocumentError> {
        let date = match self.get(field) {
            None => return Ok(None),
            Some(Bson::DateTime(d)) => d.to_chrono(),
            // The original application's documents may carry RFC 3339 strings.
            Some(Bson::String(text)) => {
                return DateTime::parse_from_rfc3339(text)
                    .map(|t| Some(t.with_timezone(&Utc)))
                    .map_err(|_| {
                        self.error(field, format!("must be a date, found the string {text:?}"))
                    })
            }
            Some(other) => return Err(self.wrong_type(field, "a date", other)),
        };
        // The exact value, while it agrees with the date.
        let exact = match self.document.get_document(MICROS).map(|m| m.get(field)) {
            Ok(Some(Bson::Int64(us))) if us.div_euclid(1000) == date.timestamp_millis() => {
                DateTime::from_timestamp_micros(*us)
            }
            _ => None,
        };
        Ok(Some(exact.unwrap_or(date)))
    }

    pub(crate) fn opt_int(&self, field: &str) -> Result<Option<i64>, DocumentError> {
        match self.get(field) {
            None => Ok(None),
            Some(Bson::Int32(n)) => Ok(Some(i64::from(*n))),
            Some(Bson::Int64(n)) => Ok(Some(*n)),
            // JavaScript applications store numbers as doubles.
            Some(Bson::Double(x)) if x.is_finite() && x.abs() < 9.0e15 => {
                Ok(Some(x.trunc() as i64))
            }
            Some(other) => Err(self.wrong_type(field, "an integer", other)),
        }
    }

    pub(crate) fn int(&self, field: &str) -> Result<i64, DocumentError> {
        self.opt_int(field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    pub(crate) fn opt_count(&self, field: &str) -> Result<Option<u64>, DocumentError> {
        match self.opt_int(field)? {
            None => Ok(None),
            Some(n) => u64::try_from(n)
                .map(Some)
                .map_err(|_| self.error(field, format!("must not be negative, found {n}"))),
        }
    }

    pub(crate) fn count(&self, field: &str) -> Result<u64, DocumentError> {
        self.opt_count(field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    pub(crate) fn uuid(&self, field: &str) -> Result<Uuid, DocumentError> {
        match self.required(field)? {
            Bson::Binary(Binary {
                subtype: BinarySubtype::Uuid,
                bytes,
            }) => <[u8; 16]>::try_from(bytes.as_slice())
                .map(Uuid::from_bytes)
                .map_err(|_| self.error(field, "must be a 16-byte UUID")),
            other => Err(self.error(
                field,
                format!(
                    "must be a UUID (BSON binary subtype 4), found {:?}; documents written by \
                     another application need migrating to UUID ids",
                    other.element_type()
                ),
            )),
        }
    }

    /// `status`, or for documents without one (the original application's) live or scheduled from `isLive`.
    pub(crate) fn session_status(&self) -> Result<SessionStatus, DocumentError> {
        match self.opt_str("status")? {
            Some(text) => text
                .parse::<SessionStatus>()
                .map_err(|_| self.error("status", format!("has an unknown status {text:?}"))),
            None if self.opt_bool("isLive")?.unwrap_or(false) => Ok(SessionStatus::Live),
            None => Ok(SessionStatus::Scheduled),
        }
    }

    pub(crate) fn title(&self, field: &str) -> Result<Title, DocumentError> {
        self.valid(field, Title::parse(self.str(field)?))
    }
}
