//! Requests that create and change a session, as raw text from a client, and their validation.

use crate::error::{Error, FieldError, Result};
use crate::values::Capacity;
use crate::values::EmptyMinutes;
use crate::values::{AttendanceThreshold, LateMinutes, Registration};
use crate::values::{
    Description, Instructor, Recurrence, StartTime, Thumbnail, ThumbnailUrl, TimeZone, Title,
    VideoUrl,
};

use super::{SessionFields, SessionPatch};

/// A session's descriptive fields as a client sends them, for creating and for changing a
/// session alike. `None` means "not given": required when creating
/// ([`SessionInput::validate_new`]), unchanged when updating ([`SessionInput::validate_patch`]).
/// An empty `thumbnail_url` or `timezone` means "none".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionInput {
    /// Title (required when creating).
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Instructor (required when creating).
    pub instructor: Option<String>,
    /// Video URL (required when creating).
    pub video_url: Option<String>,
    /// A thumbnail link (an uploaded thumbnail is passed to the service separately); empty
    /// removes the thumbnail.
    pub thumbnail_url: Option<String>,
    /// Start time (required when creating): RFC 3339 with an offset, or a local date-time
    /// without one (`2025-01-15T10:00`) read in `timezone`, else the session's zone, else the
    /// service's default zone.
    pub start_time: Option<String>,
    /// IANA zone; empty removes it.
    pub timezone: Option<String>,
    /// Scheduled end, read like `start_time`; empty removes it. After the start time, at most
    /// 24 hours later ([`MAX_SESSION_LENGTH`](super::MAX_SESSION_LENGTH)).
    pub end_time: Option<String>,
    /// Whether the scheduler starts the session at its start time (default off).
    pub auto_start: Option<bool>,
    /// Whether the scheduler ends the session at its end time (default off; needs an end time).
    pub auto_end: Option<bool>,
    /// A repeat rule ([`Recurrence`]): creating a session with one creates a series. Only
    /// when creating; empty means none.
    pub recurrence: Option<String>,
    /// Minutes, 1 to 1440, after which a live session nobody watches ends (default off);
    /// empty removes them.
    pub end_when_empty_minutes: Option<String>,
    /// The most distinct participants, 1 to 1 000 000 (default: no limit); empty removes it.
    pub capacity: Option<String>,
    /// Whether only roster members (and admins) may join (default off).
    pub restricted: Option<bool>,
    /// `open` lets users add themselves to the roster; `closed` (the default) does not.
    pub registration: Option<String>,
    /// Percent of live time, 1 to 100, that makes a participant `present` (default 75); empty
    /// removes it.
    pub attendance_threshold: Option<String>,
    /// Minutes, 0 to 1440, after the start after which a first presence is `late` (default:
    /// nobody is late); empty removes them.
    pub late_after_minutes: Option<String>,
}

impl SessionInput {
    /// Validates the fields of a new session, reporting every error at once; a missing
    /// required field is `required`. A start time without an offset is read in `timezone`,
    /// else in `default_zone`.
    pub fn validate_new(&self, default_zone: TimeZone) -> Result<SessionFields> {
        let mut errors = Vec::new();
        let text = |v: &Option<String>| v.as_deref().unwrap_or_default().to_owned();
        let title = collect(Title::parse(&text(&self.title)), &mut errors);
        let description = collect(Description::parse(&text(&self.description)), &mut errors);
        let instructor = collect(Instructor::parse(&text(&self.instructor)), &mut errors);
        let video_url = collect(VideoUrl::parse(&text(&self.video_url)), &mut errors);
        let thumbnail = optional(self.thumbnail_url.as_deref(), thumbnail_link, &mut errors);
        let start_time = collect(
            StartTime::parse(&text(&self.start_time), "startTime"),
            &mut errors,
        );
        let timezone = optional(self.timezone.as_deref(), TimeZone::parse, &mut errors);
        let end_time = optional(
            self.end_time.as_deref(),
            |v| StartTime::parse(v, "endTime"),
            &mut errors,
        );
        // The rule's own errors come with the others; its expansion needs the valid fields.
        collect(self.validate_recurrence(), &mut errors);
        let end_when_empty = optional(
            self.end_when_empty_minutes.as_deref(),
            EmptyMinutes::parse,
            &mut errors,
        );
        let capacity = optional(self.capacity.as_deref(), Capacity::parse, &mut errors);
        let registration = given(
            self.registration.as_deref(),
            Registration::parse,
            &mut errors,
        );
        let attendance_threshold = optional(
            self.attendance_threshold.as_deref(),
            AttendanceThreshold::parse,
            &mut errors,
        );
        let late_after = optional(
            self.late_after_minutes.as_deref(),
            LateMinutes::parse,
            &mut errors,
        );
        // Reading a local time needs a known zone; with an unknown one only the zone is wrong.
        let start_time = match (start_time, timezone) {
            (Some(start), Some(zone)) => collect(
                start.resolve(zone.unwrap_or(default_zone), "startTime"),
                &mut errors,
            ),
            _ => None,
        };
        let end_time = match (end_time, timezone) {
            (Some(Some(end)), Some(zone)) => collect(
                end.resolve(zone.unwrap_or(default_zone), "endTime"),
                &mut errors,
            )
            .map(Some),
            (Some(None), _) => Some(None),
            _ => None,
        };
        let fields = || {
            Some(SessionFields {
                title: title?,
                description: description?,
                instructor: instructor?,
                video_url: video_url?,
                thumbnail: thumbnail?,
                start_time: start_time?,
                timezone: timezone?,
                end_time: end_time?,
                auto_start: self.auto_start.unwrap_or(false),
                auto_end: self.auto_end.unwrap_or(false),
                end_when_empty: end_when_empty?,
                capacity: capacity?,
                restricted: self.restricted.unwrap_or(false),
                registration: match (&self.registration, registration) {
                    (None, _) => Registration::default(),
                    (Some(_), registration) => registration?,
                },
                attendance_threshold: attendance_threshold?,
                late_after: late_after?,
            })
        };
        let fields = fields();
        if let Some(fields) = &fields {
            errors.extend(fields.check_schedule());
        }
        match fields {
            Some(fields) if errors.is_empty() => Ok(fields),
            _ => Err(Error::Validation(errors)),
        }
    }

    /// The repeat rule, if one is given ([`Recurrence::parse`]; blank means none).
    pub fn validate_recurrence(&self) -> std::result::Result<Option<Recurrence>, FieldError> {
        match self.recurrence.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => Recurrence::parse(text).map(Some),
        }
    }

    /// Validates every given field of a change. A start time without an offset is read in the
    /// input's `timezone` right away when it names one, else when the patch is applied
    /// ([`SessionFields::apply`]).
    pub fn validate_patch(&self) -> Result<SessionPatch> {
        let mut errors = Vec::new();
        let mut patch = SessionPatch {
            title: given(self.title.as_deref(), Title::parse, &mut errors),
            description: given(self.description.as_deref(), Description::parse, &mut errors),
            instructor: given(self.instructor.as_deref(), Instructor::parse, &mut errors),
            video_url: given(self.video_url.as_deref(), VideoUrl::parse, &mut errors),
            thumbnail: self
                .thumbnail_url
                .as_deref()
                .and_then(|v| optional(Some(v), thumbnail_link, &mut errors)),
            start_time: given(
                self.start_time.as_deref(),
                |v| StartTime::parse(v, "startTime"),
                &mut errors,
            ),
            timezone: self
                .timezone
                .as_deref()
                .and_then(|v| optional(Some(v), TimeZone::parse, &mut errors)),
            end_time: self
                .end_time
                .as_deref()
                .and_then(|v| optional(Some(v), |v| StartTime::parse(v, "endTime"), &mut errors)),
            auto_start: self.auto_start,
            auto_end: self.auto_end,
            end_when_empty: self
                .end_when_empty_minutes
                .as_deref()
                .and_then(|v| optional(Some(v), EmptyMinutes::parse, &mut errors)),
            capacity: self
                .capacity
                .as_deref()
                .and_then(|v| optional(Some(v), Capacity::parse, &mut errors)),
            restricted: self.restricted,
            registration: given(
                self.registration.as_deref(),
                Registration::parse,
                &mut errors,
            ),
            attendance_threshold: self
                .attendance_threshold
                .as_deref()
                .and_then(|v| optional(Some(v), AttendanceThreshold::parse, &mut errors)),
            late_after: self
                .late_after_minutes
                .as_deref()
                .and_then(|v| optional(Some(v), LateMinutes::parse, &mut errors)),
        };
        if self
            .recurrence
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
        {
            errors.push(FieldError::new(
                "recurrence",
                "not_editable",
                "The repeat rule of a series is set when it is created; edit its sessions instead.",
            ));
        }
        if let (Some(start @ StartTime::Local(_)), Some(Some(zone))) =
            (patch.start_time, patch.timezone)
        {
            patch.start_time =
                collect(start.resolve(zone, "startTime"), &mut errors).map(StartTime::Instant);
        }
        if let (Some(Some(end @ StartTime::Local(_))), Some(Some(zone))) =
            (patch.end_time, patch.timezone)
        {
            patch.end_time = collect(end.resolve(zone, "endTime"), &mut errors)
                .map(|end| Some(StartTime::Instant(end)));
        }
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(Error::Validation(errors))
        }
    }
}

/// A request to create a session: its fields and whether to start it right away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSession {
    /// The session's fields.
    pub fields: SessionInput,
    /// "Mark as Live": start right after creating.
    pub is_live: bool,
}

impl NewSession {
    /// A request with the four required fields; the optional ones are left out (set them on
    /// `fields`) and the session is not started.
    ///
    /// ```
    /// # use livesessions_core::NewSession;
    /// let mut request = NewSession::new("Rust", "Ferris", "https://youtu.be/abc", "2025-01-15T10:00");
    /// request.fields.timezone = Some("Europe/Berlin".into());
    /// assert!(request.validate().is_ok());
    /// ```
    pub fn new(
        title: impl Into<String>,
        instructor: impl Into<String>,
        video_url: impl Into<String>,
        start_time: impl Into<String>,
    ) -> Self {
        NewSession {
            fields: SessionInput {
                title: Some(title.into()),
                instructor: Some(instructor.into()),
                video_url: Some(video_url.into()),
                start_time: Some(start_time.into()),
                ..SessionInput::default()
            },
            is_live: false,
        }
    }

    /// Validates every field; a start time without an offset is read in `timezone`, else UTC.
    pub fn validate(&self) -> Result<SessionFields> {
        self.validate_in(TimeZone::UTC)
    }

    /// Validates every field; a start time without an offset is read in `timezone`, else in
    /// `default_zone`.
    pub fn validate_in(&self, default_zone: TimeZone) -> Result<SessionFields> {
        self.fields.validate_new(default_zone)
    }
}

/// A request to change a session: the fields to change, a lifecycle action, and the version
/// the caller saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionUpdate {
    /// The fields to change (`None` leaves a field unchanged).
    pub fields: SessionInput,
    /// Start (`true`) or end (`false`).
    pub is_live: Option<bool>,
    /// Refuse the update with a conflict unless the session is at this version.
    pub expected_version: Option<u64>,
}

impl SessionUpdate {
    /// Validates every given field ([`SessionInput::validate_patch`]).
    pub fn validate(&self) -> Result<SessionPatch> {
        self.fields.validate_patch()
    }
}

fn thumbnail_link(text: &str) -> std::result::Result<Thumbnail, FieldError> {
    ThumbnailUrl::parse(text).map(Thumbnail::Url)
}

/// A given field parsed; `None` when not given or invalid (the error is collected).
fn given<T>(
    text: Option<&str>,
    parse: impl FnOnce(&str) -> std::result::Result<T, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    text.and_then(|v| collect(parse(v), errors))
}

/// An optional field: `Some(None)` when absent or blank, `Some(Some(v))` when valid, `None`
/// when invalid (the error is collected).
fn optional<T>(
    text: Option<&str>,
    parse: impl FnOnce(&str) -> std::result::Result<T, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<T>> {
    match text.map(str::trim) {
        None | Some("") => Some(None),
        Some(v) => collect(parse(v), errors).map(Some),
    }
}

fn collect<T>(
    result: std::result::Result<T, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::LiveSession;
    use chrono::{DateTime, TimeZone as _, Utc};
    use std::fmt;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn validation_reports_every_field() {
        let mut new = NewSession::new(" ", "", "javascript:alert(1)", "2025-01-15 10:00");
        new.fields.timezone = Some("Nowhere/City".into());
        new.fields.thumbnail_url = Some("ftp://x".into());
        let err = new.validate().unwrap_err();
        let Error::Validation(errors) = err else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "title",
                "instructor",
                "videoUrl",
                "thumbnail",
                "startTime",
                "timezone"
            ]
        );
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    fn new_at(start: &str, timezone: Option<&str>) -> NewSession {
        let mut new = NewSession::new("Rust", "Ferris", "https://youtu.be/abc", start);
        new.fields.timezone = timezone.map(Into::into);
        new
    }

    fn only_error(result: Result<impl fmt::Debug>) -> FieldError {
        match result {
            Err(Error::Validation(errors)) if errors.len() == 1 => errors[0].clone(),
            other => panic!("expected one field error, got {other:?}"),
        }
    }

    #[test]
    fn local_start_times_are_read_in_the_session_zone_else_the_default() {
        let karachi = new_at("2025-01-15T10:00", Some("Asia/Karachi"));
        for default in [TimeZone::UTC, zone("America/New_York")] {
            let fields = karachi.validate_in(default).unwrap();
            assert_eq!(fields.start_time, utc("2025-01-15T05:00:00Z"));
        }
        let plain = new_at("2025-01-15T10:00:00", None);
        assert_eq!(
            plain.validate().unwrap().start_time,
            utc("2025-01-15T10:00:00Z")
        );
        assert_eq!(
            plain
                .validate_in(zone("America/New_York"))
                .unwrap()
                .start_time,
            utc("2025-01-15T15:00:00Z")
        );
        // An offset wins over every zone.
        let offset = new_at("2025-01-15T10:00:00+01:00", Some("Asia/Karachi"));
        assert_eq!(
            offset
                .validate_in(zone("America/New_York"))
                .unwrap()
                .start_time,
            utc("2025-01-15T09:00:00Z")
        );
        // A time the zone skips names startTime; with an unknown zone only the zone is wrong.
        let gap = only_error(new_at("2025-03-30T02:30", Some("Europe/Berlin")).validate());
        assert_eq!(
            (gap.field.as_str(), gap.code),
            ("startTime", "invalid_local_time")
        );
        let gap = only_error(new_at("2025-03-30T02:30", None).validate_in(zone("Europe/Berlin")));
        assert_eq!(gap.field, "startTime");
        let unknown = only_error(new_at("2025-03-30T02:30", Some("Nowhere/City")).validate());
        assert_eq!(unknown.field, "timezone");
    }

    #[test]
    fn an_update_reads_a_local_start_in_the_new_zone_else_the_stored_one_else_the_default() {
        let default = zone("America/New_York");
        let update = |start: &str, timezone: Option<&str>| {
            let mut update = SessionUpdate::default();
            update.fields.start_time = Some(start.into());
            update.fields.timezone = timezone.map(Into::into);
            update
        };
        let stored = || {
            LiveSession::new(
                new_at("2025-01-15T10:00:00Z", Some("Asia/Karachi"))
                    .validate()
                    .unwrap(),
                at(0),
            )
        };
        // The stored zone.
        let mut s = stored();
        let patch = update("2025-02-01T09:00", None).validate().unwrap();
        s.apply(patch, at(1), default).unwrap();
        assert_eq!(s.fields.start_time, utc("2025-02-01T04:00:00Z"));
        assert_eq!(s.version, 2);
        // The zone the update gives, resolved while validating.
        let patch = update("2025-02-01T09:00", Some("Europe/Berlin"))
            .validate()
            .unwrap();
        assert_eq!(
            patch.start_time,
            Some(StartTime::Instant(utc("2025-02-01T08:00:00Z")))
        );
        let mut s = stored();
        s.apply(patch, at(1), default).unwrap();
        assert_eq!(s.fields.start_time, utc("2025-02-01T08:00:00Z"));
        assert_eq!(s.fields.timezone, Some(zone("Europe/Berlin")));
        // No zone after the update: the default.
        let mut s = stored();
        s.apply(
            update("2025-02-01T09:00", Some("")).validate().unwrap(),
            at(1),
            default,
        )
        .unwrap();
        assert_eq!(s.fields.start_time, utc("2025-02-01T14:00:00Z"));
        assert_eq!(s.fields.timezone, None);
        // A gap in the update's zone is found while validating, with the other errors.
        let mut blank_title = update("2025-03-30T02:30", Some("Europe/Berlin"));
        blank_title.fields.title = Some(" ".into());
        let Error::Validation(errors) = blank_title.validate().unwrap_err() else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "startTime"]);
        // A gap in the stored zone is found when applying, and changes nothing.
        let mut s = stored();
        s.fields.timezone = Some(zone("Europe/Berlin"));
        let before = s.clone();
        let mut renamed = update("2025-03-30T02:30", None);
        renamed.fields.title = Some("Renamed".into());
        let patch = renamed.validate().unwrap();
        let gap = only_error(s.apply(patch, at(1), default));
        assert_eq!(
            (gap.field.as_str(), gap.code),
            ("startTime", "invalid_local_time")
        );
        assert_eq!(s, before);
    }

    #[test]
    fn the_schedule_is_checked_when_creating_and_after_every_update() {
        let scheduled = |end: Option<&str>, auto_end: bool| {
            let mut new = new_at("2025-01-15T10:00", Some("Europe/Berlin"));
            new.fields.end_time = end.map(Into::into);
            new.fields.auto_start = Some(true);
            new.fields.auto_end = Some(auto_end);
            new
        };
        // A local end time is read in the session's zone, like the start.
        let fields = scheduled(Some("2025-01-15T11:30"), true)
            .validate()
            .unwrap();
        assert_eq!(fields.end_time, Some(utc("2025-01-15T10:30:00Z")));
        assert!(fields.auto_start && fields.auto_end);
        // Defaults: no end, no automatic start or end.
        let plain = new_at("2025-01-15T10:00", None).validate().unwrap();
        assert_eq!(
            (plain.end_time, plain.auto_start, plain.auto_end),
            (None, false, false)
        );
        let code = |new: NewSession| {
            let error = only_error(new.validate());
            (error.field, error.code)
        };
        assert_eq!(
            code(scheduled(Some("2025-01-15T10:00"), false)),
            ("endTime".to_owned(), "end_before_start")
        );
        assert_eq!(
            code(scheduled(Some("2025-01-15T10:00:00+01:00"), false)),
            ("endTime".to_owned(), "end_before_start")
        );
        assert_eq!(
            code(scheduled(Some("2025-01-16T10:00:00.000001"), false)),
            ("endTime".to_owned(), "too_long")
        );
        assert!(scheduled(Some("2025-01-16T10:00"), false)
            .validate()
            .is_ok());
        assert_eq!(
            code(scheduled(None, true)),
            ("autoEnd".to_owned(), "end_time_required")
        );
        assert_eq!(
            code(scheduled(Some("soon"), false)),
            ("endTime".to_owned(), "invalid_time")
        );
        assert_eq!(
            code(scheduled(Some("2025-03-30T02:30"), false)),
            ("endTime".to_owned(), "invalid_local_time")
        );

        // Updates: the schedule after the update must hold; nothing changes otherwise.
        let stored = || {
            LiveSession::new(
                scheduled(Some("2025-01-15T11:00"), true)
                    .validate()
                    .unwrap(),
                at(0),
            )
        };
        let apply = |change: fn(&mut SessionInput)| {
            let mut update = SessionUpdate::default();
            change(&mut update.fields);
            let mut s = stored();
            let before = s.clone();
            let result = update
                .validate()
                .and_then(|patch| s.apply(patch, at(1), TimeZone::UTC));
            (result, s, before)
        };
        // Moving the start past the stored end names endTime.
        let (result, s, before) = apply(|f| f.start_time = Some("2025-01-15T12:00".into()));
        assert_eq!(only_error(result).field, "endTime");
        assert_eq!(s, before);
        // Removing the end while the session ends automatically names autoEnd.
        let (result, _, _) = apply(|f| f.end_time = Some(String::new()));
        assert_eq!(only_error(result).field, "autoEnd");
        // Both together, and a reschedule of both times, are fine.
        let (result, s, _) = apply(|f| {
            f.end_time = Some(String::new());
            f.auto_end = Some(false);
        });
        result.unwrap();
        assert_eq!((s.fields.end_time, s.fields.auto_end), (None, false));
        let (result, s, _) = apply(|f| {
            f.start_time = Some("2025-01-16T10:00".into());
            f.end_time = Some("2025-01-16T12:00".into());
        });
        result.unwrap();
        assert_eq!(s.fields.start_time, utc("2025-01-16T09:00:00Z"));
        assert_eq!(s.fields.end_time, Some(utc("2025-01-16T11:00:00Z")));
        assert_eq!(s.version, 2);
    }
}
