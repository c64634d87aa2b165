//! The JSON shapes of the API: the original app's camelCase names, RFC 3339 UTC times.

use chrono::{DateTime, SecondsFormat, Utc};
use livesessions_core::roster::{RosterMember, RosterPage, RosterRow, StatusCounts};
use livesessions_core::{
    AttendanceRow, LiveSession, Overview, Participant, Participation, SessionReport, SessionView,
    Thumbnail,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Formats a time as RFC 3339 in UTC (`2025-01-15T10:00:00Z`, with fractions only when present).
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A live session as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionJson {
    /// The session id (a UUID).
    #[schema(format = "uuid")]
    pub id: String,
    /// The same id under the original app's MongoDB name.
    #[serde(rename = "_id")]
    #[schema(format = "uuid")]
    pub mongo_id: String,
    /// Title.
    pub title: String,
    /// Description (may be empty).
    pub description: String,
    /// Instructor's name.
    pub instructor: String,
    /// The video URL; present only for signed-in callers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// The player URL for YouTube and Vimeo videos; present only for signed-in callers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_url: Option<String>,
    /// `youtube`, `vimeo` or `custom`; present only for signed-in callers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(youtube|vimeo|custom)$")]
    pub video_provider: Option<String>,
    /// The thumbnail's URL (a link, or this API's URL of an uploaded image); `null` without one.
    pub thumbnail: Option<String>,
    /// Scheduled start (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub start_time: String,
    /// IANA time zone to display the start in, if the admin gave one.
    pub timezone: Option<String>,
    /// Scheduled end (RFC 3339, UTC), if the admin gave one.
    #[schema(format = DateTime)]
    pub end_time: Option<String>,
    /// Whether the session starts by itself at `startTime`.
    pub auto_start: bool,
    /// Whether the session ends by itself at `endTime`.
    pub auto_end: bool,
    /// Minutes (1–1440) after which the live session ends by itself once nobody watches it;
    /// `null` when it does not.
    #[schema(minimum = 1, maximum = 1440)]
    pub end_when_empty_minutes: Option<u16>,
    /// The most distinct participants (1–1000000); `null` without a limit.
    #[schema(minimum = 1, maximum = 1000000)]
    pub capacity: Option<u32>,
    /// Seats left for a walk-in (anyone not on the roster): `capacity` − `participants` −
    /// `reservedSeats` (never below 0); `null` without a capacity. A roster member who has not
    /// joined yet has a seat held (see `reservedSeats`) whatever this says.
    #[schema(minimum = 0)]
    pub seats_left: Option<u64>,
    /// Seats held for roster members who have not joined yet (roster members hold reserved
    /// seats: a walk-in's first join is admitted only while `participants` + `reservedSeats`
    /// < `capacity`); counted by the store when it read the session. `null` without a
    /// capacity.
    #[schema(minimum = 0)]
    pub reserved_seats: Option<u64>,
    /// Whether only people on the session's roster (and admins) may join; anyone else's join
    /// is `403` `not_on_roster`.
    pub restricted: bool,
    /// `open` when signed-in users may register themselves
    /// (`POST /api/live-sessions/{id}/register`), else `closed`.
    #[schema(pattern = "^(open|closed)$")]
    pub registration: String,
    /// Admins only: the percent of the live time (1–100) that makes a participant `present`;
    /// `null` for the default 75. Absent for other callers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 100)]
    pub attendance_threshold: Option<Option<u8>>,
    /// Admins only: minutes (0–1440) after the start after which a first presence is `late`;
    /// `null` when nobody is late. Absent for other callers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u16>, minimum = 0, maximum = 1440)]
    pub late_after_minutes: Option<Option<u16>>,
    /// Whether the session is live now (`status == "live"`).
    pub is_live: bool,
    /// `scheduled`, `live`, `ended` or `cancelled`.
    #[schema(pattern = "^(scheduled|live|ended|cancelled)$")]
    pub status: String,
    /// When it first went live.
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    /// When it last ended.
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    /// Distinct users who joined.
    #[schema(minimum = 0)]
    pub participants: u64,
    /// Participants watching now. Absent in events, which carry no live counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub watching: Option<u64>,
    /// Seconds the session has been live in total.
    #[schema(minimum = 0)]
    pub live_seconds: i64,
    /// Creation time.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last change.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Version for optimistic concurrency (send it back as `version` in an update).
    #[schema(minimum = 1)]
    pub version: u64,
    /// The series this session is an occurrence of (`GET /api/live-sessions/series/{seriesId}`
    /// lists them); `null` for a single session.
    #[schema(format = "uuid")]
    pub series_id: Option<String>,
    /// The repeat rule the series was created from; `null` for a single session.
    pub recurrence: Option<String>,
}

/// Builds JSON from domain values, knowing where uploaded thumbnails are served.
#[derive(Debug, Clone)]
pub(crate) struct Presenter {
    /// The prefix of this router's paths (empty when merged at the root).
    pub prefix: String,
}

impl Presenter {
    pub(crate) fn thumbnail_url(&self, thumbnail: &Thumbnail) -> String {
        match thumbnail {
            Thumbnail::Url(url) => url.as_str().to_owned(),
            Thumbnail::Uploaded(key) => {
                format!("{}/api/live-sessions/thumbnails/{}", self.prefix, key)
            }
        }
    }

    pub(crate) fn session_path(&self, id: impl std::fmt::Display) -> String {
        format!("{}/api/live-sessions/{id}", self.prefix)
    }

    /// A session with its video (when the caller may see it) and live count, and with its
    /// attendance rules for an admin.
    pub(crate) fn view(&self, view: &SessionView, now: DateTime<Utc>, admin: bool) -> SessionJson {
        let mut json = self.session(&view.session, now);
        if admin {
            json.with_rules(&view.session);
        }
        json.watching = Some(view.watching);
        if let Some(video) = view.video() {
            json.video_url = Some(video.as_str().to_owned());
            json.embed_url = video.embed_url().map(str::to_owned);
            json.video_provider = Some(provider(video));
        }
        json
    }

    /// A session for an admin who just changed it: with the video, without a live count
    /// unless given.
    pub(crate) fn admin_session(
        &self,
        session: &LiveSession,
        watching: Option<u64>,
        now: DateTime<Utc>,
    ) -> SessionJson {
        let mut json = self.session(session, now);
        json.with_rules(session);
        json.watching = watching;
        json.video_url = Some(session.fields.video_url.as_str().to_owned());
        json.embed_url = session.fields.video_url.embed_url().map(str::to_owned);
        json.video_provider = Some(provider(&session.fields.video_url));
        json
    }

    /// A session without its video and without a live count (events, anonymous callers).
    pub(crate) fn session(&self, s: &LiveSession, now: DateTime<Utc>) -> SessionJson {
        SessionJson {
            id: s.id.to_string(),
            mongo_id: s.id.to_string(),
            title: s.fields.title.as_str().to_owned(),
            description: s.fields.description.as_str().to_owned(),
            instructor: s.fields.instructor.as_str().to_owned(),
            video_url: None,
            embed_url: None,
            video_provider: None,
            thumbnail: s.fields.thumbnail.as_ref().map(|t| self.thumbnail_url(t)),
            start_time: time(s.fields.start_time),
            timezone: s.fields.timezone.as_ref().map(|tz| tz.name().to_owned()),
            end_time: s.fields.end_time.map(time),
            auto_start: s.fields.auto_start,
            auto_end: s.fields.auto_end,
            end_when_empty_minutes: s.fields.end_when_empty.map(|m| m.get()),
            capacity: s.fields.capacity.map(|c| c.get()),
            seats_left: s.seats_left(),
            reserved_seats: s.fields.capacity.map(|_| s.reserved_seats),
            restricted: s.fields.restricted,
            registration: s.fields.registration.as_str().to_owned(),
            attendance_threshold: None,
            late_after_minutes: None,
            is_live: s.is_live(),
            status: s.status.as_str().to_owned(),
            started_at: s.started_at.map(time),
            ended_at: s.ended_at.map(time),
            participants: s.participants,
            watching: None,
            live_seconds: s.live_duration_at(now),
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
            version: s.version,
            series_id: s.series.as_ref().map(|link| link.id.to_string()),
            recurrence: s
                .series
                .as_ref()
                .map(|link| link.recurrence.as_str().to_owned()),
        }
    }
}

impl SessionJson {
    /// Adds the attendance rules, which only admins see.
    pub(crate) fn with_rules(&mut self, s: &LiveSession) {
        self.attendance_threshold = Some(s.fields.attendance_threshold.map(|t| t.get()));
        self.late_after_minutes = Some(s.fields.late_after.map(|m| m.get()));
    }

    /// Takes the admin-only attendance rules off.
    pub(crate) fn without_rules(mut self) -> Self {
        self.attendance_threshold = None;
        self.late_after_minutes = None;
        self
    }
}

fn provider(video: &livesessions_core::VideoUrl) -> String {
    match video.provider() {
        livesessions_core::VideoProvider::YouTube => "youtube",
        livesessions_core::VideoProvider::Vimeo => "vimeo",
        livesessions_core::VideoProvider::Custom => "custom",
    }
    .to_owned()
}

/// One user's attendance of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantJson {
    /// The session.
    #[schema(format = "uuid")]
    pub session_id: String,
    /// The user.
    pub user_id: String,
    /// Display name at the last join.
    pub user_name: String,
    /// Email at the last join.
    pub email: String,
    /// First join.
    #[schema(format = DateTime)]
    pub join_time: String,
    /// Most recent join.
    #[schema(format = DateTime)]
    pub last_join_time: String,
    /// Most recent join or heartbeat.
    #[schema(format = DateTime)]
    pub last_seen: String,
    /// Most recent leave.
    #[schema(format = DateTime)]
    pub left_at: Option<String>,
    /// Watch time in seconds (in attendance lists: as of now, including the open interval).
    #[schema(minimum = 0)]
    pub watch_seconds: i64,
    /// Watch time in whole minutes, rounded down (the original app's `watchDuration`).
    #[schema(minimum = 0)]
    pub watch_duration: i64,
    /// How many times the user joined.
    #[schema(minimum = 1)]
    pub join_count: u64,
    /// Whether the user is watching (has an open presence interval).
    pub present: bool,
    /// When the record was created.
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl ParticipantJson {
    pub(crate) fn new(p: &Participant) -> Self {
        Self::with_seconds(p, p.watch_seconds)
    }

    pub(crate) fn row(row: &AttendanceRow) -> Self {
        Self::with_seconds(&row.participant, row.watch_seconds_now)
    }

    fn with_seconds(p: &Participant, watch_seconds: i64) -> Self {
        ParticipantJson {
            session_id: p.session_id.to_string(),
            user_id: p.user_id.to_string(),
            user_name: p.user_name.as_str().to_owned(),
            email: p.email.as_str().to_owned(),
            join_time: time(p.first_joined_at),
            last_join_time: time(p.last_joined_at),
            last_seen: time(p.last_seen),
            left_at: p.left_at.map(time),
            watch_seconds,
            watch_duration: watch_seconds / 60,
            join_count: p.join_count,
            present: p.is_present(),
            created_at: time(p.created_at),
        }
    }
}

/// What a join answers.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinResponse {
    /// The caller's attendance record.
    pub participant: ParticipantJson,
    /// The session after the join.
    pub session: SessionJson,
    /// The video to open; `null` while the session is scheduled (the lobby), given once it
    /// is live.
    pub video_url: Option<String>,
    /// The player URL for YouTube and Vimeo videos; `null` in the lobby too.
    pub embed_url: Option<String>,
}

/// A page of a session's attendance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceJson {
    /// Participants in the session.
    #[schema(minimum = 0)]
    pub total: u64,
    /// This page.
    pub participants: Vec<ParticipantJson>,
}

/// A session's attendance report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportJson {
    /// The session.
    #[schema(format = "uuid")]
    pub session_id: String,
    /// Distinct participants.
    pub participants: u64,
    /// Watching now.
    pub watching: u64,
    /// Sum of watch seconds.
    pub total_watch_seconds: i64,
    /// Average watch seconds per participant.
    pub average_watch_seconds: f64,
    /// Longest watch time, in seconds.
    pub max_watch_seconds: i64,
    /// Seconds the session has been live.
    pub live_seconds: i64,
    /// The attendance threshold used, in percent.
    pub threshold_percent: u8,
    /// Participants who watched at least the threshold.
    pub attended: u64,
    /// People on the session's roster.
    #[schema(minimum = 0)]
    pub roster_members: u64,
    /// Roster members and walk-ins by attendance status (under the session's own threshold
    /// and late rule).
    pub statuses: StatusCountsJson,
}

/// How many roster members and walk-ins have each attendance status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusCountsJson {
    /// `present`: watched at least the threshold of the live time.
    #[schema(minimum = 0)]
    pub present: u64,
    /// `partial`: present while live, watched less than the threshold.
    #[schema(minimum = 0)]
    pub partial: u64,
    /// `lobby_only`: joined, never present while live.
    #[schema(minimum = 0)]
    pub lobby_only: u64,
    /// `absent`: on the roster, never joined.
    #[schema(minimum = 0)]
    pub absent: u64,
    /// Present or partial, and first present more than `lateAfterMinutes` after the start.
    #[schema(minimum = 0)]
    pub late: u64,
}

impl From<&StatusCounts> for StatusCountsJson {
    fn from(c: &StatusCounts) -> Self {
        StatusCountsJson {
            present: c.present,
            partial: c.partial,
            lobby_only: c.lobby_only,
            absent: c.absent,
            late: c.late,
        }
    }
}

impl From<&SessionReport> for ReportJson {
    fn from(r: &SessionReport) -> Self {
        ReportJson {
            session_id: r.session_id.to_string(),
            participants: r.participants,
            watching: r.watching,
            total_watch_seconds: r.total_watch_seconds,
            average_watch_seconds: r.average_watch_seconds(),
            max_watch_seconds: r.max_watch_seconds,
            live_seconds: r.live_seconds,
            threshold_percent: r.threshold_percent,
            attended: r.attended,
            roster_members: r.roster_members,
            statuses: StatusCountsJson::from(&r.statuses),
        }
    }
}

/// A session among the most popular ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PopularSessionJson {
    /// The session.
    #[schema(format = "uuid")]
    pub session_id: String,
    /// Its title.
    pub title: String,
    /// Its status.
    pub status: String,
    /// Its start.
    #[schema(format = DateTime)]
    pub start_time: String,
    /// Distinct participants.
    pub participants: u64,
    /// Total watch seconds.
    pub total_watch_seconds: i64,
}

/// Totals over a time range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverviewJson {
    /// Start of the range (inclusive).
    #[schema(format = DateTime)]
    pub from: String,
    /// End of the range (exclusive).
    #[schema(format = DateTime)]
    pub to: String,
    /// Sessions starting in the range.
    pub sessions: u64,
    /// Participant records of those sessions.
    pub participants: u64,
    /// Average watch seconds per participant record.
    pub average_watch_seconds: f64,
    /// The most popular sessions, best first.
    pub popular: Vec<PopularSessionJson>,
}

impl OverviewJson {
    pub(crate) fn new(o: &Overview, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        OverviewJson {
            from: time(from),
            to: time(to),
            sessions: o.sessions,
            participants: o.participants,
            average_watch_seconds: o.average_watch_seconds(),
            popular: o
                .popular
                .iter()
                .map(|p| PopularSessionJson {
                    session_id: p.session_id.to_string(),
                    title: p.title.as_str().to_owned(),
                    status: p.status.as_str().to_owned(),
                    start_time: time(p.start_time),
                    participants: p.participants,
                    total_watch_seconds: p.total_watch_seconds,
                })
                .collect(),
        }
    }
}

/// One session in a user's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipationRowJson {
    /// The session.
    #[schema(format = "uuid")]
    pub session_id: String,
    /// Its title.
    pub title: String,
    /// Its status.
    pub status: String,
    /// Its start.
    #[schema(format = DateTime)]
    pub start_time: String,
    /// The user's first join.
    #[schema(format = DateTime)]
    pub join_time: String,
    /// The user's last join.
    #[schema(format = DateTime)]
    pub last_join_time: String,
    /// Watch seconds.
    pub watch_seconds: i64,
    /// Watch time in whole minutes.
    pub watch_duration: i64,
    /// Joins.
    pub join_count: u64,
    /// The user's attendance status in the session: `present`, `partial` or `lobby_only`.
    #[schema(pattern = "^(present|partial|lobby_only|absent)$")]
    pub attendance: String,
    /// Whether the user was first present more than the session's `lateAfterMinutes` after
    /// its start.
    pub late: bool,
}

/// A user's participation (student progress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipationJson {
    /// The user.
    pub user_id: String,
    /// Sessions joined.
    pub sessions_joined: u64,
    /// Total watch seconds.
    pub total_watch_seconds: i64,
    /// The most recent sessions, newest first.
    pub sessions: Vec<ParticipationRowJson>,
}

impl From<&Participation> for ParticipationJson {
    fn from(p: &Participation) -> Self {
        ParticipationJson {
            user_id: p.user_id.to_string(),
            sessions_joined: p.sessions_joined,
            total_watch_seconds: p.total_watch_seconds,
            sessions: p
                .sessions
                .iter()
                .map(|r| ParticipationRowJson {
                    session_id: r.session_id.to_string(),
                    title: r.title.as_str().to_owned(),
                    status: r.status.as_str().to_owned(),
                    start_time: time(r.start_time),
                    join_time: time(r.first_joined_at),
                    last_join_time: time(r.last_joined_at),
                    watch_seconds: r.watch_seconds,
                    watch_duration: r.watch_seconds / 60,
                    join_count: r.join_count,
                    attendance: r.attendance.as_str().to_owned(),
                    late: r.late,
                })
                .collect(),
        }
    }
}

/// A join request, as the original app's page sends it. Identity comes from the token:
/// `userId`, if sent, must be the token's subject; `userName` and `email` are used only when the
/// token has none; `joinTime` is ignored (the server's clock decides).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequestJson {
    /// The session to join.
    #[serde(default)]
    #[schema(required = true)]
    pub session_id: String,
    /// The caller's user id (optional; must match the token).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Display name, used when the token has none.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Email, used when the token has none.
    #[serde(default)]
    pub email: Option<String>,
    /// Ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub join_time: Option<serde::de::IgnoredAny>,
}

/// One student of a series: attended `attended` of `ended` occurrences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesStudentJson {
    /// The student's user id.
    pub user_id: String,
    /// Their name, as of their latest join.
    pub user_name: String,
    /// Their email, as of their latest join.
    pub email: String,
    /// Ended occurrences they watched at least `thresholdPercent` of (N).
    #[schema(minimum = 0)]
    pub attended: u64,
    /// Ended occurrences of the series (M).
    #[schema(minimum = 0)]
    pub ended: u64,
    /// Credited watch seconds over every occurrence they joined.
    #[schema(minimum = 0)]
    pub watch_seconds: i64,
}

/// The attendance summary of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesSummaryJson {
    /// The series id.
    #[schema(format = "uuid")]
    pub series_id: String,
    /// Occurrences of the series.
    #[schema(minimum = 0)]
    pub occurrences: u64,
    /// Occurrences that have ended (M).
    #[schema(minimum = 0)]
    pub ended: u64,
    /// The threshold used, in percent.
    #[schema(minimum = 0, maximum = 100)]
    pub threshold_percent: u8,
    /// This page's students, by user id.
    pub students: Vec<SeriesStudentJson>,
    /// Send as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

impl From<&livesessions_core::SeriesSummary> for SeriesSummaryJson {
    fn from(s: &livesessions_core::SeriesSummary) -> Self {
        SeriesSummaryJson {
            series_id: s.series_id.to_string(),
            occurrences: s.occurrences,
            ended: s.ended,
            threshold_percent: s.threshold_percent,
            students: s
                .students
                .iter()
                .map(|r| SeriesStudentJson {
                    user_id: r.user_id.as_str().to_owned(),
                    user_name: r.user_name.clone(),
                    email: r.email.clone(),
                    attended: r.attended,
                    ended: r.ended,
                    watch_seconds: r.watch_seconds,
                })
                .collect(),
            next: s.next.as_ref().map(|u| u.as_str().to_owned()),
        }
    }
}

/// A roster member: a user expected at a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterMemberJson {
    /// The user.
    pub user_id: String,
    /// Display name.
    pub user_name: String,
    /// Email.
    pub email: String,
    /// Whether the user registered themself (rather than an admin adding them).
    pub registered: bool,
    /// When the member was first added.
    #[schema(format = DateTime)]
    pub added_at: String,
}

/// Whether the signed-in user is on a session's roster, and their entry if so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationJson {
    /// Whether the user is on the roster (added by an admin or registered).
    pub on_roster: bool,
    /// The user's roster entry; `null` when they are not on the roster.
    pub member: Option<RosterMemberJson>,
}

impl From<Option<&RosterMember>> for RegistrationJson {
    fn from(member: Option<&RosterMember>) -> Self {
        RegistrationJson {
            on_roster: member.is_some(),
            member: member.map(RosterMemberJson::from),
        }
    }
}

impl From<&RosterMember> for RosterMemberJson {
    fn from(m: &RosterMember) -> Self {
        RosterMemberJson {
            user_id: m.user_id.to_string(),
            user_name: m.user_name.as_str().to_owned(),
            email: m.email.as_str().to_owned(),
            registered: m.registered,
            added_at: time(m.added_at),
        }
    }
}

/// What a roster upload answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterAddedJson {
    /// Members who were not on the roster before (the others had their name and email
    /// replaced).
    #[schema(minimum = 0)]
    pub added: u64,
    /// Members on the roster now.
    #[schema(minimum = 0)]
    pub members: u64,
}

/// One person of a roster view: a roster member, a walk-in (joined without being on the
/// roster), or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterRowJson {
    /// The user.
    pub user_id: String,
    /// Name (the roster's for members, the latest join's for walk-ins).
    pub user_name: String,
    /// Email, chosen like the name.
    pub email: String,
    /// `present`, `partial`, `lobby_only` or `absent`.
    #[schema(pattern = "^(present|partial|lobby_only|absent)$")]
    pub status: String,
    /// Whether the first presence came more than `lateAfterMinutes` after the start.
    pub late: bool,
    /// Whether the user is on the roster (`false`: a walk-in).
    pub on_roster: bool,
    /// Whether the user registered themself.
    pub registered: bool,
    /// When the member was added; `null` for a walk-in.
    #[schema(format = DateTime)]
    pub added_at: Option<String>,
    /// First join; `null` when they never joined.
    #[schema(format = DateTime)]
    pub join_time: Option<String>,
    /// Watch seconds as of now (0 when they never joined).
    #[schema(minimum = 0)]
    pub watch_seconds: i64,
    /// Joins.
    #[schema(minimum = 0)]
    pub join_count: u64,
    /// Whether they are watching now.
    pub present: bool,
}

impl From<&RosterRow> for RosterRowJson {
    fn from(r: &RosterRow) -> Self {
        RosterRowJson {
            user_id: r.user_id.to_string(),
            user_name: r.user_name.as_str().to_owned(),
            email: r.email.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            late: r.late,
            on_roster: r.member.is_some(),
            registered: r.member.as_ref().is_some_and(|m| m.registered),
            added_at: r.member.as_ref().map(|m| time(m.added_at)),
            join_time: r.first_joined_at().map(time),
            watch_seconds: r.watch_seconds_now,
            join_count: r.participant.as_ref().map_or(0, |p| p.join_count),
            present: r.participant.as_ref().is_some_and(Participant::is_present),
        }
    }
}

/// A page of a session's roster view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterJson {
    /// Rows matching the status filter (all pages).
    #[schema(minimum = 0)]
    pub total: u64,
    /// Members on the roster.
    #[schema(minimum = 0)]
    pub members: u64,
    /// Every row of the view by status, whatever the filter.
    pub counts: StatusCountsJson,
    /// This page.
    pub rows: Vec<RosterRowJson>,
}

impl From<&RosterPage> for RosterJson {
    fn from(p: &RosterPage) -> Self {
        RosterJson {
            total: p.total,
            members: p.members,
            counts: StatusCountsJson::from(&p.counts),
            rows: p.rows.iter().map(RosterRowJson::from).collect(),
        }
    }
}
