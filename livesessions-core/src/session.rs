//! The [`LiveSession`] aggregate, its lifecycle and its list order.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::error::{Conflict, Error, FieldError, Result};
use crate::ids::SessionId;
use crate::values::{
    Description, Instructor, StartTime, Thumbnail, ThumbnailUrl, TimeZone, Title, VideoUrl,
};

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
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "scheduled" => Ok(SessionStatus::Scheduled),
            "live" => Ok(SessionStatus::Live),
            "ended" => Ok(SessionStatus::Ended),
            "cancelled" => Ok(SessionStatus::Cancelled),
            _ => Err(Error::invalid(
                "status",
                "unknown_status",
                "must be one of scheduled, live, ended, cancelled",
            )),
        }
    }
}

/// An action of the lifecycle, named in [`Conflict::InvalidTransition`].
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

/// Whether a lifecycle action changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The status (or its times) changed.
    Changed,
    /// The action was a no-op (start while live, end while ended).
    Unchanged,
}

/// A scheduled live class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Identity (UUIDv7).
    pub id: SessionId,
    /// Title.
    pub title: Title,
    /// Description (may be empty).
    pub description: Description,
    /// Instructor's name.
    pub instructor: Instructor,
    /// Where the video is streamed.
    pub video_url: VideoUrl,
    /// Preview image, if any.
    pub thumbnail: Option<Thumbnail>,
    /// Scheduled start, UTC.
    pub start_time: DateTime<Utc>,
    /// IANA zone to display the time in, if the admin gave one.
    pub timezone: Option<TimeZone>,
    /// Lifecycle status.
    pub status: SessionStatus,
    /// When it first went live.
    pub started_at: Option<DateTime<Utc>>,
    /// When it last ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Start of the current live period (set while live).
    pub live_since: Option<DateTime<Utc>>,
    /// Seconds spent live in finished live periods (restarts add up).
    pub live_seconds: i64,
    /// Distinct users who joined.
    pub participants: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, starting at 1 and bumped by every change.
    pub version: u64,
}

impl LiveSession {
    /// A new scheduled session created at `now` from validated fields.
    pub fn new(fields: SessionFields, now: DateTime<Utc>) -> Self {
        LiveSession {
            id: SessionId::new(),
            title: fields.title,
            description: fields.description,
            instructor: fields.instructor,
            video_url: fields.video_url,
            thumbnail: fields.thumbnail,
            start_time: fields.start_time,
            timezone: fields.timezone,
            status: SessionStatus::Scheduled,
            started_at: None,
            ended_at: None,
            live_since: None,
            live_seconds: 0,
            participants: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Whether the session is live (`isLive` in JSON).
    pub fn is_live(&self) -> bool {
        self.status == SessionStatus::Live
    }

    /// Starts the session at `now`: scheduled or ended → live; live → no-op.
    pub fn start(&mut self, now: DateTime<Utc>) -> Result<Transition> {
        match self.status {
            SessionStatus::Live => Ok(Transition::Unchanged),
            SessionStatus::Scheduled | SessionStatus::Ended => {
                self.status = SessionStatus::Live;
                self.started_at.get_or_insert(now);
                self.live_since = Some(now);
                self.touch(now);
                Ok(Transition::Changed)
            }
            SessionStatus::Cancelled => Err(self.refuse(SessionAction::Start)),
        }
    }

    /// Ends the session at `now`: live → ended; ended → no-op.
    ///
    /// Closing the participants' open presence intervals is the store's part of ending
    /// ([`AttendanceStore::end_session`](crate::AttendanceStore::end_session)).
    pub fn end(&mut self, now: DateTime<Utc>) -> Result<Transition> {
        match self.status {
            SessionStatus::Ended => Ok(Transition::Unchanged),
            SessionStatus::Live => {
                let since = self.live_since.take().unwrap_or(now);
                self.live_seconds += (now - since).num_seconds().max(0);
                self.status = SessionStatus::Ended;
                self.ended_at = Some(now);
                self.touch(now);
                Ok(Transition::Changed)
            }
            SessionStatus::Scheduled | SessionStatus::Cancelled => {
                Err(self.refuse(SessionAction::End))
            }
        }
    }

    /// Cancels a scheduled session.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<Transition> {
        match self.status {
            SessionStatus::Scheduled => {
                self.status = SessionStatus::Cancelled;
                self.touch(now);
                Ok(Transition::Changed)
            }
            _ => Err(self.refuse(SessionAction::Cancel)),
        }
    }

    /// Checks that participants may join now.
    pub fn check_joinable(&self) -> Result<()> {
        if self.status.accepts_joins() {
            Ok(())
        } else {
            Err(self.refuse(SessionAction::Join))
        }
    }

    /// Where the current live period began: `live_since` while live, `None` otherwise. The
    /// presence rule opens intervals only from here on ([`Participant::touch`](crate::Participant::touch)).
    /// A live session stored without `live_since` (written by another application) gives the
    /// earliest time there is, so that any time counts.
    pub fn live_period_start(&self) -> Option<DateTime<Utc>> {
        if self.is_live() {
            Some(self.live_since.unwrap_or(DateTime::<Utc>::MIN_UTC))
        } else {
            None
        }
    }

    /// Seconds the session has been live in total, as of `now`.
    pub fn live_duration_at(&self, now: DateTime<Utc>) -> i64 {
        let current = self
            .live_since
            .map(|since| (now - since).num_seconds().max(0))
            .unwrap_or(0);
        self.live_seconds + current
    }

    /// Applies a validated partial update of the descriptive fields. A new start time without
    /// an offset is read in the zone the session has after the update, else in `default_zone`;
    /// if that zone skips it (a daylight-saving gap) nothing changes and the error names
    /// `startTime`.
    pub fn apply(
        &mut self,
        patch: SessionPatch,
        now: DateTime<Utc>,
        default_zone: TimeZone,
    ) -> Result<()> {
        let zone = match patch.timezone {
            Some(zone) => zone,
            None => self.timezone,
        }
        .unwrap_or(default_zone);
        let start_time = patch
            .start_time
            .map(|start| start.resolve(zone, "startTime"))
            .transpose()
            .map_err(|e| Error::Validation(vec![e]))?;
        let SessionPatch {
            title,
            description,
            instructor,
            video_url,
            thumbnail,
            start_time: _,
            timezone,
        } = patch;
        if let Some(v) = title {
            self.title = v;
        }
        if let Some(v) = description {
            self.description = v;
        }
        if let Some(v) = instructor {
            self.instructor = v;
        }
        if let Some(v) = video_url {
            self.video_url = v;
        }
        if let Some(v) = thumbnail {
            self.thumbnail = v;
        }
        if let Some(v) = start_time {
            self.start_time = v;
        }
        if let Some(v) = timezone {
            self.timezone = v;
        }
        self.touch(now);
        Ok(())
    }

    /// The key that orders this session in lists.
    pub fn list_key(&self) -> ListKey {
        ListKey::new(self.status, self.start_time, self.id)
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
        self.version += 1;
    }

    fn refuse(&self, action: SessionAction) -> Error {
        Error::Conflict(Conflict::InvalidTransition {
            status: self.status,
            action,
        })
    }
}

/// The validated descriptive fields of a new session.
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
}

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
    /// applied ([`LiveSession::apply`]).
    pub start_time: Option<StartTime>,
    /// New zone, or `Some(None)` to remove it.
    pub timezone: Option<Option<TimeZone>>,
}

impl SessionPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == SessionPatch::default()
    }
}

/// A request to create a session, as raw text from a client; [`NewSession::validate`] checks
/// every field and reports all errors at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSession {
    /// Title (required).
    pub title: String,
    /// Description (optional).
    pub description: Option<String>,
    /// Instructor (required).
    pub instructor: String,
    /// Video URL (required).
    pub video_url: String,
    /// A thumbnail link (an uploaded thumbnail is passed to the service separately).
    pub thumbnail_url: Option<String>,
    /// Start time (required): RFC 3339 with an offset, or a local date-time without one
    /// (`2025-01-15T10:00`) read in `timezone`, else in the service's default zone.
    pub start_time: String,
    /// IANA zone (optional).
    pub timezone: Option<String>,
    /// "Mark as Live": start right after creating.
    pub is_live: bool,
}

impl NewSession {
    /// Validates every field; a start time without an offset is read in `timezone`, else UTC.
    pub fn validate(&self) -> Result<SessionFields> {
        self.validate_in(TimeZone::UTC)
    }

    /// Validates every field; a start time without an offset is read in `timezone`, else in
    /// `default_zone`.
    pub fn validate_in(&self, default_zone: TimeZone) -> Result<SessionFields> {
        let mut errors = Vec::new();
        let title = collect(Title::parse(&self.title), &mut errors);
        let description = collect(
            Description::parse(self.description.as_deref().unwrap_or_default()),
            &mut errors,
        );
        let instructor = collect(Instructor::parse(&self.instructor), &mut errors);
        let video_url = collect(VideoUrl::parse(&self.video_url), &mut errors);
        let thumbnail = match self.thumbnail_url.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(url) => {
                collect(ThumbnailUrl::parse(url), &mut errors).map(|u| Some(Thumbnail::Url(u)))
            }
        };
        let start_time = collect(StartTime::parse(&self.start_time, "startTime"), &mut errors);
        let timezone = match self.timezone.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(tz) => collect(TimeZone::parse(tz), &mut errors).map(Some),
        };
        // Reading a local time needs a known zone; with an unknown one only the zone is wrong.
        let start_time = match (start_time, timezone) {
            (Some(start), Some(zone)) => collect(
                start.resolve(zone.unwrap_or(default_zone), "startTime"),
                &mut errors,
            ),
            _ => None,
        };
        match (
            title,
            description,
            instructor,
            video_url,
            thumbnail,
            start_time,
            timezone,
        ) {
            (
                Some(title),
                Some(description),
                Some(instructor),
                Some(video_url),
                Some(thumbnail),
                Some(start_time),
                Some(timezone),
            ) if errors.is_empty() => Ok(SessionFields {
                title,
                description,
                instructor,
                video_url,
                thumbnail,
                start_time,
                timezone,
            }),
            _ => Err(Error::Validation(errors)),
        }
    }
}

/// A request to change a session, as raw text from a client: `None` leaves a field unchanged;
/// an empty `thumbnail_url` or `timezone` removes it. `is_live` starts (`true`) or ends
/// (`false`) the session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionUpdate {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New instructor.
    pub instructor: Option<String>,
    /// New video URL.
    pub video_url: Option<String>,
    /// New thumbnail link; empty removes the thumbnail.
    pub thumbnail_url: Option<String>,
    /// New start time: RFC 3339 with an offset, or a local date-time without one read in the
    /// new `timezone`, else the session's zone, else the service's default zone.
    pub start_time: Option<String>,
    /// New zone; empty removes it.
    pub timezone: Option<String>,
    /// Start (`true`) or end (`false`).
    pub is_live: Option<bool>,
    /// Refuse the update with a conflict unless the session is at this version.
    pub expected_version: Option<u64>,
}

impl SessionUpdate {
    /// Validates every present field. A start time without an offset is read in the update's
    /// `timezone` right away when it names one, else when the patch is applied.
    pub fn validate(&self) -> Result<SessionPatch> {
        let mut errors = Vec::new();
        let mut patch = SessionPatch {
            title: self
                .title
                .as_deref()
                .and_then(|v| collect(Title::parse(v), &mut errors)),
            description: self
                .description
                .as_deref()
                .and_then(|v| collect(Description::parse(v), &mut errors)),
            instructor: self
                .instructor
                .as_deref()
                .and_then(|v| collect(Instructor::parse(v), &mut errors)),
            video_url: self
                .video_url
                .as_deref()
                .and_then(|v| collect(VideoUrl::parse(v), &mut errors)),
            thumbnail: self.thumbnail_url.as_deref().and_then(|v| {
                if v.trim().is_empty() {
                    Some(None)
                } else {
                    collect(ThumbnailUrl::parse(v), &mut errors).map(|u| Some(Thumbnail::Url(u)))
                }
            }),
            start_time: self
                .start_time
                .as_deref()
                .and_then(|v| collect(StartTime::parse(v, "startTime"), &mut errors)),
            timezone: self.timezone.as_deref().and_then(|v| {
                if v.trim().is_empty() {
                    Some(None)
                } else {
                    collect(TimeZone::parse(v), &mut errors).map(Some)
                }
            }),
        };
        if let (Some(start @ StartTime::Local(_)), Some(Some(zone))) =
            (patch.start_time, patch.timezone)
        {
            patch.start_time =
                collect(start.resolve(zone, "startTime"), &mut errors).map(StartTime::Instant);
        }
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(Error::Validation(errors))
        }
    }
}

fn collect<T>(
    result: std::result::Result<T, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

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
        let invalid =
            || Error::invalid("cursor", "invalid_cursor", "is not a cursor from this API");
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
            other => other.parse().map(StatusFilter::Only),
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
                errors.push(FieldError::new(
                    "q",
                    "too_long",
                    format!("must be at most {} characters", Self::MAX_SEARCH_CHARS),
                ));
            } else if s.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    "q",
                    "invalid_characters",
                    "must not contain control characters",
                ));
            }
        }
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                "out_of_range",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
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
                    session.title.as_str(),
                    session.instructor.as_str(),
                    session.description.as_str(),
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

    fn fields() -> SessionFields {
        NewSession {
            title: "Rust".into(),
            instructor: "Ferris".into(),
            video_url: "https://youtu.be/abc".into(),
            start_time: "2025-01-15T10:00:00Z".into(),
            ..Default::default()
        }
        .validate()
        .unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn conflict(result: Result<Transition>) -> (SessionStatus, SessionAction) {
        match result {
            Err(Error::Conflict(Conflict::InvalidTransition { status, action })) => {
                (status, action)
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn lifecycle_table() {
        let mut s = LiveSession::new(fields(), at(0));
        assert_eq!(s.status, SessionStatus::Scheduled);
        assert_eq!(s.version, 1);
        assert_eq!(
            conflict(s.end(at(1))),
            (SessionStatus::Scheduled, SessionAction::End)
        );
        assert_eq!(s.start(at(10)).unwrap(), Transition::Changed);
        assert_eq!(s.started_at, Some(at(10)));
        assert_eq!(s.start(at(11)).unwrap(), Transition::Unchanged);
        assert_eq!(
            conflict(s.cancel(at(12))),
            (SessionStatus::Live, SessionAction::Cancel)
        );
        assert_eq!(s.end(at(70)).unwrap(), Transition::Changed);
        assert_eq!(s.ended_at, Some(at(70)));
        assert_eq!(s.end(at(80)).unwrap(), Transition::Unchanged);
        assert_eq!(s.live_duration_at(at(1000)), 60);
        // A restart keeps the first start time and adds up live time.
        assert_eq!(s.start(at(100)).unwrap(), Transition::Changed);
        assert_eq!(s.started_at, Some(at(10)));
        assert_eq!(s.live_duration_at(at(130)), 90);
        s.end(at(140)).unwrap();
        assert_eq!(s.live_seconds, 100);
        assert_eq!(
            conflict(s.cancel(at(150))),
            (SessionStatus::Ended, SessionAction::Cancel)
        );

        let mut c = LiveSession::new(fields(), at(0));
        assert_eq!(c.cancel(at(1)).unwrap(), Transition::Changed);
        assert_eq!(
            conflict(c.start(at(2))),
            (SessionStatus::Cancelled, SessionAction::Start)
        );
        assert_eq!(
            conflict(c.end(at(2))),
            (SessionStatus::Cancelled, SessionAction::End)
        );
        assert_eq!(
            conflict(c.cancel(at(2))),
            (SessionStatus::Cancelled, SessionAction::Cancel)
        );
        assert!(c.check_joinable().is_err());
    }

    #[test]
    fn validation_reports_every_field() {
        let err = NewSession {
            title: " ".into(),
            instructor: "".into(),
            video_url: "javascript:alert(1)".into(),
            start_time: "2025-01-15 10:00".into(),
            timezone: Some("Nowhere/City".into()),
            thumbnail_url: Some("ftp://x".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
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
        NewSession {
            title: "Rust".into(),
            instructor: "Ferris".into(),
            video_url: "https://youtu.be/abc".into(),
            start_time: start.into(),
            timezone: timezone.map(Into::into),
            ..Default::default()
        }
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
        let update = |start: &str, timezone: Option<&str>| SessionUpdate {
            start_time: Some(start.into()),
            timezone: timezone.map(Into::into),
            ..Default::default()
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
        assert_eq!(s.start_time, utc("2025-02-01T04:00:00Z"));
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
        assert_eq!(s.start_time, utc("2025-02-01T08:00:00Z"));
        assert_eq!(s.timezone, Some(zone("Europe/Berlin")));
        // No zone after the update: the default.
        let mut s = stored();
        s.apply(
            update("2025-02-01T09:00", Some("")).validate().unwrap(),
            at(1),
            default,
        )
        .unwrap();
        assert_eq!(s.start_time, utc("2025-02-01T14:00:00Z"));
        assert_eq!(s.timezone, None);
        // A gap in the update's zone is found while validating, with the other errors.
        let Error::Validation(errors) = SessionUpdate {
            title: Some(" ".into()),
            ..update("2025-03-30T02:30", Some("Europe/Berlin"))
        }
        .validate()
        .unwrap_err() else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "startTime"]);
        // A gap in the stored zone is found when applying, and changes nothing.
        let mut s = stored();
        s.timezone = Some(zone("Europe/Berlin"));
        let before = s.clone();
        let patch = SessionUpdate {
            title: Some("Renamed".into()),
            ..update("2025-03-30T02:30", None)
        }
        .validate()
        .unwrap();
        let gap = only_error(s.apply(patch, at(1), default));
        assert_eq!(
            (gap.field.as_str(), gap.code),
            ("startTime", "invalid_local_time")
        );
        assert_eq!(s, before);
    }

    #[test]
    fn list_order_and_cursor() {
        let mut live = LiveSession::new(fields(), at(0));
        live.start(at(1)).unwrap();
        let mut early = LiveSession::new(fields(), at(0));
        early.start_time = at(100);
        let mut late = LiveSession::new(fields(), at(0));
        late.start_time = at(200);
        let mut ended_old = LiveSession::new(fields(), at(0));
        ended_old.start_time = at(100);
        ended_old.start(at(1)).unwrap();
        ended_old.end(at(2)).unwrap();
        let mut ended_new = ended_old.clone();
        ended_new.id = SessionId::new();
        ended_new.start_time = at(200);
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
