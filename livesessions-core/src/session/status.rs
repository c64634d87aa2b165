//! Where a session is in its lifecycle and the actions that move it.

use std::fmt;
use std::str::FromStr;

use crate::field_error::FieldError;

/// Where a session is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Created, not started yet.
    Scheduled,
    /// Being streamed now.
    Live,
    /// Was live, has ended (it may be restarted).
    Ended,
    /// Called off before it started.
    Cancelled,
}

impl SessionStatus {
    /// Every status, in list order.
    pub const ALL: [SessionStatus; 4] = [
        SessionStatus::Live,
        SessionStatus::Scheduled,
        SessionStatus::Ended,
        SessionStatus::Cancelled,
    ];

    /// The lowercase name used in JSON, query strings and stores.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::Live => "live",
            SessionStatus::Ended => "ended",
            SessionStatus::Cancelled => "cancelled",
        }
    }

    /// The position of the status in the list order: live, scheduled, ended, cancelled.
    pub fn rank(self) -> i16 {
        match self {
            SessionStatus::Live => 0,
            SessionStatus::Scheduled => 1,
            SessionStatus::Ended => 2,
            SessionStatus::Cancelled => 3,
        }
    }

    /// Whether participants may join in this status.
    pub fn accepts_joins(self) -> bool {
        matches!(self, SessionStatus::Scheduled | SessionStatus::Live)
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionStatus {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s {
            "scheduled" => Ok(SessionStatus::Scheduled),
            "live" => Ok(SessionStatus::Live),
            "ended" => Ok(SessionStatus::Ended),
            "cancelled" => Ok(SessionStatus::Cancelled),
            _ => Err(FieldError::new(
                "status",
                "unknown_status",
                "Use one of scheduled, live, ended, cancelled.",
            )),
        }
    }
}

/// An action of the lifecycle, named in [`Conflict::InvalidTransition`](crate::Conflict::InvalidTransition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionAction {
    /// Go live.
    Start,
    /// Stop being live.
    End,
    /// Call off a scheduled session.
    Cancel,
    /// Join as a participant.
    Join,
}

impl fmt::Display for SessionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionAction::Start => "start",
            SessionAction::End => "end",
            SessionAction::Cancel => "cancel",
            SessionAction::Join => "join",
        })
    }
}
