//! [`CalendarQuery`]: which sessions a calendar feed holds.

use chrono::{DateTime, TimeDelta, Utc};

use crate::ids::UserId;
use crate::session::{LiveSession, SessionStatus, MAX_SESSION_LENGTH};

/// The most sessions a feed holds.
pub const CALENDAR_LIMIT: usize = 500;

/// How long after its start a session that is still scheduled stays in the feeds (a late
/// start is still shown; a session left behind longer is not).
pub const STALE_AFTER: TimeDelta = MAX_SESSION_LENGTH;

/// The sessions of a feed at `now`: see [`CalendarQuery::includes`] for the rule, ordered by
/// start time, then id, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarQuery {
    /// `None` for the public feed; `Some(user)` for the sessions `user` has joined or
    /// is on the roster of.
    pub user: Option<UserId>,
    /// The time the feed is built at.
    pub now: DateTime<Utc>,
    /// The most sessions to return.
    pub limit: usize,
}

impl CalendarQuery {
    /// The public feed at `now`, at most [`CALENDAR_LIMIT`] sessions.
    pub fn public(now: DateTime<Utc>) -> Self {
        CalendarQuery {
            user: None,
            now,
            limit: CALENDAR_LIMIT,
        }
    }

    /// `user`'s feed at `now`, at most [`CALENDAR_LIMIT`] sessions.
    pub fn of_user(user: UserId, now: DateTime<Utc>) -> Self {
        CalendarQuery {
            user: Some(user),
            now,
            limit: CALENDAR_LIMIT,
        }
    }

    /// The earliest start of a scheduled session in the feed: `now - STALE_AFTER`.
    pub fn scheduled_since(&self) -> DateTime<Utc> {
        self.now - STALE_AFTER
    }

    /// Whether `session` belongs in a feed at `now` (membership of the user aside): live; or
    /// scheduled with a start at or after [`scheduled_since`](Self::scheduled_since); or
    /// cancelled with a start after `now`. Ended sessions never do.
    pub fn includes(&self, session: &LiveSession) -> bool {
        let start = session.fields.start_time;
        match session.status {
            SessionStatus::Live => true,
            SessionStatus::Scheduled => start >= self.scheduled_since(),
            SessionStatus::Cancelled => start > self.now,
            SessionStatus::Ended => false,
        }
    }
}
