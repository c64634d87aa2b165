//! Attendance status: [`AttendanceStatus`], the rule that computes it ([`StatusRule`]) and
//! [`StatusCounts`].

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::analytics::attended;
use crate::attendance::Participant;
use crate::error::{Error, Result};
use crate::session::LiveSession;

/// Where a roster member or walk-in stands, computed when asked (never stored).
///
/// | status | rule |
/// | --- | --- |
/// | `present` | was present while live and watched at least the threshold of the live time |
/// | `partial` | was present while live and watched less |
/// | `lobby_only` | joined, but never present while the session was live |
/// | `absent` | on the roster, never joined |
///
/// `late` is a separate flag of `present` and `partial`: the first presence came more than
/// `lateAfterMinutes` after `startedAt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceStatus {
    /// Watched at least the threshold.
    Present,
    /// Watched, less than the threshold.
    Partial,
    /// Joined, never present while live.
    LobbyOnly,
    /// On the roster, never joined.
    Absent,
}

impl AttendanceStatus {
    /// Every status, in the order of [`AttendanceStatus::rank`].
    pub const ALL: [AttendanceStatus; 4] = [
        AttendanceStatus::Present,
        AttendanceStatus::Partial,
        AttendanceStatus::LobbyOnly,
        AttendanceStatus::Absent,
    ];

    /// The name used in JSON, CSV and query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            AttendanceStatus::Present => "present",
            AttendanceStatus::Partial => "partial",
            AttendanceStatus::LobbyOnly => "lobby_only",
            AttendanceStatus::Absent => "absent",
        }
    }

    /// The position when sorting by status: present 0, partial 1, lobby only 2, absent 3.
    /// Stores sort by this number.
    pub fn rank(self) -> i32 {
        self as i32
    }

    /// The status of a rank ([`AttendanceStatus::rank`]), as stores give it back.
    pub fn from_rank(rank: i64) -> Option<Self> {
        Self::ALL.get(usize::try_from(rank).ok()?).copied()
    }
}

impl std::str::FromStr for AttendanceStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s || (s == "lobbyOnly" && *status == Self::LobbyOnly))
            .ok_or_else(|| {
                Error::invalid(
                    "status",
                    "unknown_status",
                    "Use one of present, partial, lobby_only, absent.",
                )
            })
    }
}

impl std::fmt::Display for AttendanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a status is computed from: the session's rules and "now". Stores mirror
/// [`StatusRule::status`] in their queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRule {
    /// "Now": watch time of open intervals counts up to here (capped at `last_seen + T`).
    pub now: DateTime<Utc>,
    /// The presence timeout T.
    pub timeout: Duration,
    /// The session's live time as of `now`, in seconds.
    pub live_seconds: i64,
    /// The share of `live_seconds` that makes a participant present, in percent.
    pub threshold_percent: u8,
    /// A first presence after this instant is late (`startedAt + lateAfterMinutes`); `None`
    /// when the session has no late rule or never started.
    pub late_after: Option<DateTime<Utc>>,
}

impl StatusRule {
    /// The rule of `session` at `now`: its live time as of `now`, its threshold (75 % when it
    /// has none) and its late rule (`started_at + late_after`).
    pub fn for_session(session: &LiveSession, now: DateTime<Utc>, timeout: Duration) -> Self {
        StatusRule {
            now,
            timeout,
            live_seconds: session.live_duration_at(now),
            threshold_percent: session.fields.threshold_percent(),
            late_after: session
                .started_at
                .zip(session.fields.late_after)
                .map(|(started, late)| started + late.delta()),
        }
    }

    /// The status and late flag of a roster member or walk-in: `participant` is `None` for
    /// a roster member who never joined.
    ///
    /// ```
    /// # use livesessions_core::roster::{AttendanceStatus, StatusRule};
    /// # use chrono::Utc;
    /// let rule = StatusRule {
    ///     now: Utc::now(),
    ///     timeout: std::time::Duration::from_secs(90),
    ///     live_seconds: 3600,
    ///     threshold_percent: 75,
    ///     late_after: None,
    /// };
    /// assert_eq!(rule.status(None), (AttendanceStatus::Absent, false));
    /// ```
    pub fn status(&self, participant: Option<&Participant>) -> (AttendanceStatus, bool) {
        let Some(p) = participant else {
            return (AttendanceStatus::Absent, false);
        };
        let Some(first_present) = p.first_present_at else {
            return (AttendanceStatus::LobbyOnly, false);
        };
        let late = self.late_after.is_some_and(|after| first_present > after);
        let seconds = p.watch_seconds_at(self.now, self.timeout);
        if attended(seconds, self.live_seconds, self.threshold_percent) {
            (AttendanceStatus::Present, late)
        } else {
            (AttendanceStatus::Partial, late)
        }
    }
}

/// How many roster members and walk-ins have each status, and how many are late.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCounts {
    /// `present`.
    pub present: u64,
    /// `partial`.
    pub partial: u64,
    /// `lobby_only`.
    pub lobby_only: u64,
    /// `absent`.
    pub absent: u64,
    /// Present or partial and late.
    pub late: u64,
}

impl StatusCounts {
    /// Counts one status.
    pub fn add(&mut self, status: AttendanceStatus, late: bool) {
        match status {
            AttendanceStatus::Present => self.present += 1,
            AttendanceStatus::Partial => self.partial += 1,
            AttendanceStatus::LobbyOnly => self.lobby_only += 1,
            AttendanceStatus::Absent => self.absent += 1,
        }
        if late {
            self.late += 1;
        }
    }

    /// The count of one status.
    pub fn get(&self, status: AttendanceStatus) -> u64 {
        match status {
            AttendanceStatus::Present => self.present,
            AttendanceStatus::Partial => self.partial,
            AttendanceStatus::LobbyOnly => self.lobby_only,
            AttendanceStatus::Absent => self.absent,
        }
    }
}
