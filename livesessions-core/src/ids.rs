//! Identifiers: [`SessionId`] and [`SeriesId`] (UUIDv7) and [`UserId`] (an opaque string owned by the host app).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::{Error, FieldError};

/// The identity of a live session: a time-ordered UUIDv7.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A new, time-ordered identifier.
    pub fn new() -> Self {
        SessionId(Uuid::now_v7())
    }

    /// Wraps an existing UUID (as read back from a store).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        SessionId(uuid)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// Parses the textual form, reporting errors against `field`.
    pub fn parse_field(text: &str, field: &str) -> Result<Self, FieldError> {
        Uuid::parse_str(text.trim())
            .map(SessionId)
            .map_err(|_| FieldError::new(field, "invalid_id", "Enter a session id (a UUID)."))
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for SessionId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_field(s, "sessionId").map_err(|e| Error::Validation(vec![e]))
    }
}

/// The identity of a series of sessions created from one repeat rule: a time-ordered UUIDv7
/// that every occurrence carries.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct SeriesId(Uuid);

impl SeriesId {
    /// A new, time-ordered identifier.
    pub fn new() -> Self {
        SeriesId(Uuid::now_v7())
    }

    /// Wraps an existing UUID (as read back from a store).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        SeriesId(uuid)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// Parses the textual form, reporting errors against `field`.
    pub fn parse_field(text: &str, field: &str) -> Result<Self, FieldError> {
        Uuid::parse_str(text.trim())
            .map(SeriesId)
            .map_err(|_| FieldError::new(field, "invalid_id", "Enter a series id (a UUID)."))
    }
}

impl Default for SeriesId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for SeriesId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_field(s, "seriesId").map_err(|e| Error::Validation(vec![e]))
    }
}

/// The identity of a user, as the host application's identity provider names it
/// (a Firebase uid, a database key, an email-derived id…): non-empty, at most 128 characters,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// The longest accepted user id, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Validates a user id, reporting errors against `field`.
    pub fn parse_field(text: &str, field: &str) -> Result<Self, FieldError> {
        FieldError::check_length(text, field, Self::MAX_CHARS)?;
        if text.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "invalid_characters",
                "Remove control characters.",
            ));
        }
        Ok(UserId(text.to_owned()))
    }

    /// Validates a user id.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::parse_field(text, "userId").map_err(|e| Error::Validation(vec![e]))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UserId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        UserId::parse_field(&text, "userId").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_time_ordered_v7() {
        let a = SessionId::new();
        let b = SessionId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
        assert_eq!(a.to_string().parse::<SessionId>().unwrap(), a);
    }

    #[test]
    fn user_ids_are_checked() {
        assert!(UserId::parse("firebase-uid-123").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(&"x".repeat(129)).is_err());
        assert!(UserId::parse(&"é".repeat(128)).is_ok());
        assert!(UserId::parse("a\u{0}b").is_err());
    }
}
