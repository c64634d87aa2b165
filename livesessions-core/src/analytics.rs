//! Analytics queries and their results. Stores compute them in the database;
//! none of them loads every participant into memory.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::attendance::Participant;
use crate::error::{Error, FieldError, Result};
use crate::ids::{SessionId, UserId};
use crate::session::SessionStatus;
use crate::values::Title;

/// The share of the live time a participant must have watched to count as having attended,
/// when the caller gives none: 75 %.
pub const DEFAULT_ATTENDANCE_THRESHOLD_PERCENT: u8 = 75;

/// Whether `seconds` of watching meets `threshold_percent` of `live_seconds` (nobody attends a
/// session that has not been live). Stores compute the same in their queries:
/// `live_seconds > 0 AND seconds * 100 >= live_seconds * threshold_percent`.
pub fn attended(seconds: i64, live_seconds: i64, threshold_percent: u8) -> bool {
    live_seconds > 0 && seconds * 100 >= live_seconds * i64::from(threshold_percent)
}

/// What a session report is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportQuery {
    /// The session.
    pub session_id: SessionId,
    /// "Now": open intervals are counted up to here (capped at `last_seen + T`).
    pub now: DateTime<Utc>,
    /// The presence timeout T.
    pub timeout: Duration,
    /// The session's total live time as of `now`, in seconds (from
    /// [`LiveSession::live_duration_at`](crate::LiveSession::live_duration_at)).
    pub live_seconds: i64,
    /// Attendance threshold in percent of `live_seconds` (0–100).
    pub threshold_percent: u8,
    /// A first presence after this instant is late (see
    /// [`StatusRule::late_after`](crate::roster::StatusRule::late_after)).
    pub late_after: Option<DateTime<Utc>>,
}

impl ReportQuery {
    /// The status rule of the report's `statuses`.
    pub fn status_rule(&self) -> crate::roster::StatusRule {
        crate::roster::StatusRule {
            now: self.now,
            timeout: self.timeout,
            live_seconds: self.live_seconds,
            threshold_percent: self.threshold_percent,
            late_after: self.late_after,
        }
    }
}

/// A session's attendance report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionReport {
    /// The session.
    pub session_id: SessionId,
    /// Distinct participants.
    pub participants: u64,
    /// Watching now (present, seen within T).
    pub watching: u64,
    /// Sum of watch seconds (as of now).
    pub total_watch_seconds: i64,
    /// Largest watch seconds.
    pub max_watch_seconds: i64,
    /// Seconds the session has been live.
    pub live_seconds: i64,
    /// The threshold used, in percent.
    pub threshold_percent: u8,
    /// Participants who watched at least `threshold_percent` of `live_seconds`
    /// (with no live time yet, nobody).
    pub attended: u64,
    /// Roster members on the session's roster.
    pub roster_members: u64,
    /// Roster members and participants by attendance status.
    pub statuses: crate::roster::StatusCounts,
}

impl SessionReport {
    /// Average watch seconds per participant (0 without participants).
    pub fn average_watch_seconds(&self) -> f64 {
        average(self.total_watch_seconds, self.participants)
    }
}

/// `total / count`, 0 when there is nothing to average.
fn average(total: i64, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        total as f64 / count as f64
    }
}

/// How an attendance list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttendanceSort {
    /// By first join time.
    #[default]
    JoinTime,
    /// By watch seconds (as of now).
    WatchTime,
    /// By user name (case-insensitive), then user id.
    Name,
}

impl std::str::FromStr for AttendanceSort {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let spellings: &[(Self, &[&str])] = &[
            (Self::JoinTime, &["joinTime", "join_time"]),
            (Self::WatchTime, &["watchTime", "watch_time"]),
            (Self::Name, &["name", "userName"]),
        ];
        choose(
            s,
            spellings,
            (
                "sort",
                "unknown_sort",
                "Use one of joinTime, watchTime, name.",
            ),
        )
    }
}

/// The value one of whose `spellings` is `text`; else a validation error of the query
/// parameter described as `(field, code, message)`.
fn choose<T: Copy>(
    text: &str,
    spellings: &[(T, &[&str])],
    (field, code, message): (&str, &'static str, &str),
) -> Result<T> {
    spellings
        .iter()
        .find(|(_, names)| names.contains(&text))
        .map(|&(value, _)| value)
        .ok_or_else(|| Error::invalid(field, code, message))
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl std::str::FromStr for SortOrder {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let spellings: &[(Self, &[&str])] = &[(Self::Asc, &["asc"]), (Self::Desc, &["desc"])];
        choose(s, spellings, ("order", "unknown_order", "Use asc or desc."))
    }
}

/// A page of a session's attendance list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttendanceQuery {
    /// The session.
    pub session_id: SessionId,
    /// Sort key; ties are broken by user id ascending.
    pub sort: AttendanceSort,
    /// Direction.
    pub order: SortOrder,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return (1–[`AttendanceQuery::MAX_LIMIT`]).
    pub limit: u32,
    /// "Now", for watch seconds of open intervals.
    pub now: DateTime<Utc>,
    /// The presence timeout T.
    pub timeout: Duration,
}

impl AttendanceQuery {
    /// Largest page.
    pub const MAX_LIMIT: u32 = 10_000;
    /// Default page.
    pub const DEFAULT_LIMIT: u32 = 100;
}

/// One row of an attendance list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceRow {
    /// The participant record.
    pub participant: Participant,
    /// Watch seconds as of the query's `now` (credited plus the open interval).
    pub watch_seconds_now: i64,
}

/// A page of an attendance list and the total number of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendancePage {
    /// The rows.
    pub rows: Vec<AttendanceRow>,
    /// Participants in the session.
    pub total: u64,
}

/// Which measure ranks popular sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PopularBy {
    /// Distinct participants.
    #[default]
    Participants,
    /// Total credited watch seconds.
    WatchTime,
}

impl std::str::FromStr for PopularBy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let spellings: &[(Self, &[&str])] = &[
            (Self::Participants, &["participants"]),
            (Self::WatchTime, &["watchTime", "watch_time"]),
        ];
        choose(
            s,
            spellings,
            ("by", "unknown_measure", "Use participants or watchTime."),
        )
    }
}

/// An overview over sessions whose start time is in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverviewQuery {
    /// Start of the range (inclusive).
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub to: DateTime<Utc>,
    /// How many popular sessions to return (0–100).
    pub top: u32,
    /// How to rank them.
    pub by: PopularBy,
}

impl OverviewQuery {
    /// Checks the range and the top count.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        if self.from >= self.to {
            errors.push(FieldError::new(
                "to",
                "invalid_range",
                "Choose a time after the start (from).",
            ));
        }
        if self.top > 100 {
            errors.push(FieldError::new(
                "limit",
                "out_of_range",
                "Use a number from 0 to 100.",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }
}

/// A session in an overview's popular list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PopularSession {
    /// The session.
    pub session_id: SessionId,
    /// Its title.
    pub title: Title,
    /// Its status.
    pub status: SessionStatus,
    /// Its start time.
    pub start_time: DateTime<Utc>,
    /// Distinct participants.
    pub participants: u64,
    /// Total credited watch seconds.
    pub total_watch_seconds: i64,
}

/// Totals over a time range.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// Sessions starting in the range.
    pub sessions: u64,
    /// Participant records of those sessions.
    pub participants: u64,
    /// Sum of credited watch seconds of those records.
    pub total_watch_seconds: i64,
    /// The top sessions, best first; ties by session id.
    pub popular: Vec<PopularSession>,
}

impl Overview {
    /// Average credited watch seconds per participant record (0 without any).
    pub fn average_watch_seconds(&self) -> f64 {
        average(self.total_watch_seconds, self.participants)
    }
}

/// One session in a user's participation history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipationRow {
    /// The session.
    pub session_id: SessionId,
    /// Its title.
    pub title: Title,
    /// Its status.
    pub status: SessionStatus,
    /// Its start time.
    pub start_time: DateTime<Utc>,
    /// The user's first join.
    pub first_joined_at: DateTime<Utc>,
    /// The user's last join.
    pub last_joined_at: DateTime<Utc>,
    /// Credited watch seconds.
    pub watch_seconds: i64,
    /// Joins.
    pub join_count: u64,
    /// The user's attendance status in the session, as of the query's `now`.
    pub attendance: crate::roster::AttendanceStatus,
    /// Whether the user's first presence was late.
    pub late: bool,
}

/// A user's participation (student progress).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participation {
    /// The user.
    pub user_id: UserId,
    /// Sessions joined.
    pub sessions_joined: u64,
    /// Total credited watch seconds.
    pub total_watch_seconds: i64,
    /// The most recent sessions, by first join, newest first (at most the query's limit).
    pub sessions: Vec<ParticipationRow>,
}

/// A participation query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipationQuery {
    /// The user.
    pub user_id: UserId,
    /// Most rows to return (1–1000).
    pub limit: u32,
    /// "Now", for the statuses.
    pub now: DateTime<Utc>,
    /// The presence timeout T.
    pub timeout: Duration,
}
