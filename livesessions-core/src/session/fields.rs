//! The descriptive fields of a session and partial updates of them.

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{Error, Result};
use crate::field_error::FieldError;
use crate::values::Capacity;
use crate::values::EmptyMinutes;
use crate::values::{AttendanceThreshold, LateMinutes, Registration};
use crate::values::{Description, Instructor, StartTime, Thumbnail, TimeZone, Title, VideoUrl};

/// The descriptive fields of a session, validated: what an admin writes when creating or
/// editing it. [`LiveSession`](super::LiveSession) embeds them; a new field is declared here
/// once (see docs/ARCHITECTURE.md, "Adding a field").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFields {
    /// Title.
    pub title: Title,
    /// Description.
    pub description: Description,
    /// Instructor.
    pub instructor: Instructor,
    /// Video URL.
    pub video_url: VideoUrl,
    /// Thumbnail.
    pub thumbnail: Option<Thumbnail>,
    /// Scheduled start.
    pub start_time: DateTime<Utc>,
    /// Display zone.
    pub timezone: Option<TimeZone>,
    /// Scheduled end: after `start_time`, at most [`MAX_SESSION_LENGTH`] later.
    pub end_time: Option<DateTime<Utc>>,
    /// The scheduler starts the session at `start_time` ([`LiveSessions::tick`](crate::LiveSessions::tick)).
    pub auto_start: bool,
    /// The scheduler ends the session at `end_time` (which it then needs).
    pub auto_end: bool,
    /// The scheduler ends the live session once nobody has watched it for this long
    /// ([`LiveSession::empty_end`](super::LiveSession::empty_end)).
    pub end_when_empty: Option<EmptyMinutes>,
    /// The most distinct participants; a first join beyond it is refused (`None`: no limit).
    pub capacity: Option<Capacity>,
    /// Only roster members (and admins) may join.
    pub restricted: bool,
    /// Whether users may add themselves to the roster.
    pub registration: Registration,
    /// The share of live time that makes a participant `present` (`None`: 75 %).
    pub attendance_threshold: Option<AttendanceThreshold>,
    /// Minutes after the start after which a first presence is `late` (`None`: nobody is late).
    pub late_after: Option<LateMinutes>,
}

impl SessionFields {
    /// The attendance threshold in percent: the session's own, else
    /// [`DEFAULT_ATTENDANCE_THRESHOLD_PERCENT`](crate::analytics::DEFAULT_ATTENDANCE_THRESHOLD_PERCENT).
    pub fn threshold_percent(&self) -> u8 {
        self.attendance_threshold.map_or(
            crate::analytics::DEFAULT_ATTENDANCE_THRESHOLD_PERCENT,
            |t| t.get(),
        )
    }
}

/// The longest a session may be scheduled for: `end_time` is at most this long after
/// `start_time`.
pub const MAX_SESSION_LENGTH: TimeDelta = TimeDelta::hours(24);

/// A validated partial update: `None` leaves a field unchanged; for the optional fields,
/// `Some(None)` clears them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionPatch {
    /// New title.
    pub title: Option<Title>,
    /// New description.
    pub description: Option<Description>,
    /// New instructor.
    pub instructor: Option<Instructor>,
    /// New video URL.
    pub video_url: Option<VideoUrl>,
    /// New thumbnail, or `Some(None)` to remove it.
    pub thumbnail: Option<Option<Thumbnail>>,
    /// New start time, as given: a local time is read in the session's zone when the patch is
    /// applied ([`SessionFields::apply`]).
    pub start_time: Option<StartTime>,
    /// New zone, or `Some(None)` to remove it.
    pub timezone: Option<Option<TimeZone>>,
    /// New end time (read like `start_time`), or `Some(None)` to remove it.
    pub end_time: Option<Option<StartTime>>,
    /// Whether the scheduler starts the session.
    pub auto_start: Option<bool>,
    /// Whether the scheduler ends the session.
    pub auto_end: Option<bool>,
    /// New minutes nobody watching after which the session ends, or `Some(None)` to remove them.
    pub end_when_empty: Option<Option<EmptyMinutes>>,
    /// New capacity, or `Some(None)` to remove the limit.
    pub capacity: Option<Option<Capacity>>,
    /// Whether only roster members may join.
    pub restricted: Option<bool>,
    /// Whether users may register themselves.
    pub registration: Option<Registration>,
    /// New attendance threshold, or `Some(None)` for the default.
    pub attendance_threshold: Option<Option<AttendanceThreshold>>,
    /// New minutes after which a first presence is late, or `Some(None)` for none.
    pub late_after: Option<Option<LateMinutes>>,
}

impl SessionPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == SessionPatch::default()
    }
}

impl SessionFields {
    /// Applies a validated partial update. A new start or end time without an offset is read
    /// in the zone the fields have after the update, else in `default_zone`; if that zone skips
    /// it (a daylight-saving gap) nothing changes and the error names `startTime` (`endTime`).
    /// The schedule after the update must hold ([`SessionFields::check_schedule`]); otherwise
    /// nothing changes either.
    pub fn apply(&mut self, patch: SessionPatch, default_zone: TimeZone) -> Result<()> {
        let zone = match patch.timezone {
            Some(zone) => zone,
            None => self.timezone,
        }
        .unwrap_or(default_zone);
        let mut errors = Vec::new();
        let start_time = patch.start_time.and_then(|start| {
            start
                .resolve(zone, "startTime")
                .map_err(|e| errors.push(e))
                .ok()
        });
        let end_time = patch.end_time.and_then(|end| {
            end.map(|end| end.resolve(zone, "endTime"))
                .transpose()
                .map_err(|e| errors.push(e))
                .ok()
        });
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let SessionPatch {
            title,
            description,
            instructor,
            video_url,
            thumbnail,
            start_time: _,
            timezone,
            end_time: _,
            auto_start,
            auto_end,
            end_when_empty,
            capacity,
            restricted,
            registration,
            attendance_threshold,
            late_after,
        } = patch;
        let mut next = self.clone();
        set(&mut next.title, title);
        set(&mut next.description, description);
        set(&mut next.instructor, instructor);
        set(&mut next.video_url, video_url);
        set(&mut next.thumbnail, thumbnail);
        set(&mut next.start_time, start_time);
        set(&mut next.timezone, timezone);
        set(&mut next.end_time, end_time);
        set(&mut next.auto_start, auto_start);
        set(&mut next.auto_end, auto_end);
        set(&mut next.end_when_empty, end_when_empty);
        set(&mut next.capacity, capacity);
        set(&mut next.restricted, restricted);
        set(&mut next.registration, registration);
        set(&mut next.attendance_threshold, attendance_threshold);
        set(&mut next.late_after, late_after);
        let errors = next.check_schedule();
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        *self = next;
        Ok(())
    }

    /// What is wrong with the schedule, if anything: `endTime` must be after `startTime` and
    /// at most [`MAX_SESSION_LENGTH`] later; `autoEnd` needs an `endTime`.
    pub fn check_schedule(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        match self.end_time {
            Some(end) if end <= self.start_time => errors.push(FieldError::new(
                "endTime",
                "end_before_start",
                "The end time must be after the start time.",
            )),
            Some(end) if end - self.start_time > MAX_SESSION_LENGTH => {
                errors.push(FieldError::new(
                    "endTime",
                    "too_long",
                    "The end time must be at most 24 hours after the start time.",
                ))
            }
            Some(_) => {}
            None if self.auto_end => errors.push(FieldError::new(
                "autoEnd",
                "end_time_required",
                "Ending a session automatically needs an end time.",
            )),
            None => {}
        }
        errors
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}
