//! The list order of sessions, list requests and pages.

use std::str::FromStr;

use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::error::{Error, FieldError, Result};
use crate::ids::SessionId;

use super::{LiveSession, SessionStatus};

/// The position of a session in the list order: live first, then scheduled by
/// start time (soonest first), then ended and cancelled (most recent start first); ties by id.
///
/// Stores sort by `(rank, time_key, id)` ascending; `time_key` is the start time in
/// microseconds since the epoch, negated for ended and cancelled sessions. SQL stores keep
/// both as columns so that one index serves the order and keyset pagination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListKey {
    /// [`SessionStatus::rank`].
    pub rank: i16,
    /// Start time in microseconds, negated for ended/cancelled sessions.
    pub time_key: i64,
    /// Tie-breaker.
    pub id: SessionId,
}

impl ListKey {
    /// The key of a session with this status, start time and id.
    pub fn new(status: SessionStatus, start_time: DateTime<Utc>, id: SessionId) -> Self {
        let micros = start_time.timestamp_micros();
        let time_key = match status {
            SessionStatus::Live | SessionStatus::Scheduled => micros,
            SessionStatus::Ended | SessionStatus::Cancelled => micros.saturating_neg(),
        };
        ListKey {
            rank: status.rank(),
            time_key,
            id,
        }
    }
}

/// An opaque position in a list: the [`ListKey`] of the last item of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor(pub ListKey);

impl Cursor {
    /// Encodes the cursor as URL-safe text.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(26);
        bytes.extend_from_slice(&self.0.rank.to_be_bytes());
        bytes.extend_from_slice(&self.0.time_key.to_be_bytes());
        bytes.extend_from_slice(self.0.id.as_uuid().as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes text made by [`Cursor::encode`]; anything else is a validation error on `cursor`.
    pub fn decode(text: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid(
                "cursor",
                "invalid_cursor",
                "Use a cursor returned by this API.",
            )
        };
        if text.len() > 64 {
            return Err(invalid());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid())?;
        let bytes: [u8; 26] = bytes.try_into().map_err(|_| invalid())?;
        let rank = i16::from_be_bytes([bytes[0], bytes[1]]);
        if !(0..=3).contains(&rank) {
            return Err(invalid());
        }
        let mut time = [0u8; 8];
        time.copy_from_slice(&bytes[2..10]);
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[10..26]);
        Ok(Cursor(ListKey {
            rank,
            time_key: i64::from_be_bytes(time),
            id: SessionId::from_uuid(uuid::Uuid::from_bytes(id)),
        }))
    }
}

/// Which sessions a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Every status.
    #[default]
    All,
    /// Only this status.
    Only(SessionStatus),
}

impl StatusFilter {
    /// Whether a session with `status` passes the filter.
    pub fn admits(self, status: SessionStatus) -> bool {
        match self {
            StatusFilter::All => true,
            StatusFilter::Only(s) => s == status,
        }
    }
}

impl FromStr for StatusFilter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "all" => Ok(StatusFilter::All),
            other => Ok(StatusFilter::Only(other.parse()?)),
        }
    }
}

/// A list request: filter, search, page size and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Status filter.
    pub status: StatusFilter,
    /// Case-insensitive substring searched in title, instructor and description.
    pub search: Option<String>,
    /// Page size, 1–[`ListQuery::MAX_LIMIT`].
    pub limit: u32,
    /// Continue after this position.
    pub after: Option<Cursor>,
}

impl ListQuery {
    /// Default page size.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// Largest page size.
    pub const MAX_LIMIT: u32 = 100;
    /// Longest search text.
    pub const MAX_SEARCH_CHARS: usize = 200;

    /// Validates a list request from raw query values.
    pub fn parse(
        status: Option<&str>,
        search: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Self> {
        let mut errors = Vec::new();
        let status = match status.unwrap_or("all").parse::<StatusFilter>() {
            Ok(s) => s,
            Err(Error::Validation(mut e)) => {
                errors.append(&mut e);
                StatusFilter::All
            }
            Err(other) => return Err(other),
        };
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if let Some(s) = search {
            if s.chars().count() > Self::MAX_SEARCH_CHARS {
                errors.push(FieldError::too_long("q", Self::MAX_SEARCH_CHARS));
            } else if s.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    "q",
                    "invalid_characters",
                    "Remove control characters.",
                ));
            }
        }
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                "out_of_range",
                format!("Use a number from 1 to {}.", Self::MAX_LIMIT),
            ));
        }
        let after = match cursor.filter(|c| !c.is_empty()).map(Cursor::decode) {
            None => None,
            Some(Ok(c)) => Some(c),
            Some(Err(Error::Validation(mut e))) => {
                errors.append(&mut e);
                None
            }
            Some(Err(other)) => return Err(other),
        };
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(ListQuery {
            status,
            search: search.map(str::to_owned),
            limit,
            after,
        })
    }

    /// Whether `session` matches the filter and the search (not the position).
    pub fn matches(&self, session: &LiveSession) -> bool {
        self.status.admits(session.status)
            && self.search.as_deref().is_none_or(|needle| {
                let needle = needle.to_lowercase();
                [
                    session.fields.title.as_str(),
                    session.fields.instructor.as_str(),
                    session.fields.description.as_str(),
                ]
                .iter()
                .any(|hay| hay.to_lowercase().contains(&needle))
            })
    }
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            status: StatusFilter::All,
            search: None,
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// A page of results and the cursor of the next page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// Where the next page starts.
    pub next: Option<Cursor>,
}

impl Page<LiveSession> {
    /// A page of sessions in list order; when `more` follow, the next page starts after the
    /// last of them. Stores fetch `limit + 1` rows to learn `more`.
    pub fn of_sessions(items: Vec<LiveSession>, more: bool) -> Self {
        let next = if more {
            items.last().map(|s| Cursor(s.list_key()))
        } else {
            None
        };
        Page { items, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn fields() -> super::super::SessionFields {
        super::super::test_fields()
    }

    #[test]
    fn list_order_and_cursor() {
        let mut live = LiveSession::new(fields(), at(0));
        live.start(at(1)).unwrap();
        let mut early = LiveSession::new(fields(), at(0));
        early.fields.start_time = at(100);
        let mut late = LiveSession::new(fields(), at(0));
        late.fields.start_time = at(200);
        let mut ended_old = LiveSession::new(fields(), at(0));
        ended_old.fields.start_time = at(100);
        ended_old.start(at(1)).unwrap();
        ended_old.end(at(2)).unwrap();
        let mut ended_new = ended_old.clone();
        ended_new.id = SessionId::new();
        ended_new.fields.start_time = at(200);
        let mut keys = [&ended_old, &late, &ended_new, &early, &live].map(|s| s.list_key());
        keys.sort();
        let expected = [&live, &early, &late, &ended_new, &ended_old].map(|s| s.list_key());
        assert_eq!(keys, expected);
        for key in keys {
            assert_eq!(Cursor::decode(&Cursor(key).encode()).unwrap().0, key);
        }
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode("").is_err());
    }

    #[test]
    fn list_query_parsing() {
        let q = ListQuery::parse(Some("live"), Some("  rust "), Some(10), None).unwrap();
        assert_eq!(q.status, StatusFilter::Only(SessionStatus::Live));
        assert_eq!(q.search.as_deref(), Some("rust"));
        let Error::Validation(errors) =
            ListQuery::parse(Some("bogus"), None, Some(0), Some("!!")).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(errors.len(), 3);
    }
}
