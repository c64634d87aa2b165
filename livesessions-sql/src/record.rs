//! The rows of `live_sessions` and `session_participants`: their columns, how a session is
//! bound into a statement and how a row becomes a domain value, for every [`Dialect`].
//! Stored values go back through the domain's constructors, so a row written by something
//! else is reported as a [`CorruptRow`] instead of being trusted.

use std::fmt;

use livesessions_core::Capacity;
use livesessions_core::EmptyMinutes;
use livesessions_core::{AttendanceThreshold, LateMinutes, Registration};
use livesessions_core::{
    Description, Email, Error, FieldError, Instructor, LiveSession, Participant, Recurrence,
    Result, SeriesId, SeriesLink, SessionFields, SessionId, SessionStatus, Thumbnail, ThumbnailKey,
    ThumbnailUrl, TimeZone, Title, UserId, UserName, VideoUrl,
};
use sqlx::query::Query;
use sqlx::{Decode, Encode, Type};
use uuid::Uuid;

use crate::dialect::{opt_time, parameters, time, Dialect};

/// The columns a session is written to, in the order [`bind_session`] binds them: the stored
/// fields ([`SESSION_FIELDS`] of them) and then the list key.
pub(crate) const SESSION_COLUMNS: [&str; 30] = [
    "id",
    "title",
    "description",
    "instructor",
    "video_url",
    "thumbnail_url",
    "thumbnail_key",
    "start_time",
    "timezone",
    "end_time",
    "auto_start",
    "auto_end",
    "series_id",
    "recurrence",
    "end_when_empty_minutes",
    "capacity",
    "restricted",
    "registration",
    "attendance_threshold",
    "late_after_minutes",
    "status",
    "started_at",
    "ended_at",
    "live_since",
    "live_seconds",
    "created_at",
    "updated_at",
    "version",
    "list_rank",
    "list_time_key",
];

/// How many of [`SESSION_COLUMNS`] a session is read from (the list key is not read back).
pub(crate) const SESSION_FIELDS: usize = 28;

/// The parameter number of the expected version in a versioned update (after the columns).
pub(crate) const VERSION_PARAMETER: usize = SESSION_COLUMNS.len() + 1;

/// The columns of a participant; statements return them prefixed `p_` (see
/// [`participant_select`]).
pub(crate) const PARTICIPANT_COLUMNS: [&str; 13] = [
    "session_id",
    "user_id",
    "user_name",
    "email",
    "first_joined_at",
    "last_joined_at",
    "last_seen",
    "left_at",
    "present_since",
    "watch_seconds",
    "join_count",
    "created_at",
    "first_present_at",
];

/// The select list of a session: its stored fields qualified by `qualifier` (`s.` or empty),
/// the participant count `participants` (a column or an expression) and its reserved seats
/// `reserved` (a [`reserved_seats`] expression).
pub(crate) fn session_select(qualifier: &str, participants: &str, reserved: &str) -> String {
    let mut columns: Vec<String> = SESSION_COLUMNS[..SESSION_FIELDS]
        .iter()
        .map(|c| format!("{qualifier}{c}"))
        .collect();
    columns.push(format!("{participants} AS participants"));
    columns.push(format!("{reserved} AS reserved_seats"));
    columns.join(", ")
}

/// Whether user `user` is on the roster of session `session` (an SQL condition; both are
/// expressions), on the tables named with `prefix` (a schema and a dot, or empty).
pub(crate) fn on_roster(prefix: &str, session: &str, user: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM {prefix}roster_members r \
                 WHERE r.session_id = {session} AND r.user_id = {user})"
    )
}

/// The seats held for roster members who have not joined (an SQL expression) of the session
/// whose columns are qualified by `owner` (`s.`, `live_sessions.`): its roster members with no
/// participant record, counted only when it has a capacity (0 without one, so that sessions
/// without a capacity never read their roster for it), less `less` (an expression starting
/// with ` - `, or empty) in that case. Computed on every read, never stored.
pub(crate) fn reserved_seats(prefix: &str, owner: &str, less: &str) -> String {
    format!(
        "CASE WHEN {owner}capacity IS NULL THEN 0 ELSE (SELECT count(*) \
            FROM {prefix}roster_members r WHERE r.session_id = {owner}id \
              AND NOT EXISTS (SELECT 1 FROM {prefix}session_participants q \
                              WHERE q.session_id = r.session_id AND q.user_id = r.user_id)){less} \
         END"
    )
}

/// The select list of a participant: its columns qualified by `qualifier` and named `p_…`.
pub(crate) fn participant_select(qualifier: &str) -> String {
    PARTICIPANT_COLUMNS
        .iter()
        .map(|c| format!("{qualifier}{c} AS p_{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The insert of a session into `table`: every one of [`SESSION_COLUMNS`], numbered as
/// [`bind_session`] binds them.
pub(crate) fn session_insert<D: Dialect>(table: &str) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        SESSION_COLUMNS.join(", "),
        parameters::<D>(1, SESSION_COLUMNS.len()),
    )
}

/// `column = <parameter>` for every session column but the id, numbered as
/// [`bind_session`] binds them (the id being the first parameter).
pub(crate) fn session_assignments<D: Dialect>() -> String {
    SESSION_COLUMNS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = {}{}", D::PARAMETER, i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scheduler's due query on `table` (parameters: now, limit), selecting `session` (a
/// [`session_select`] on the alias `s`): the sessions due to start, earliest start first, then
/// those due to end, earliest end first, at most `limit` of each. `yes` completes a boolean
/// column into a condition (empty, or ` = 1` where booleans are integers); the conditions are
/// those of the partial indexes `live_sessions_due_start_idx` and `live_sessions_due_end_idx`
/// word for word, so that each half reads only its index.
pub(crate) fn due_sessions_select<D: Dialect>(table: &str, session: &str, yes: &str) -> String {
    let p = D::PARAMETER;
    format!(
        "SELECT {session} FROM ( \
           SELECT * FROM (SELECT * FROM {table} \
             WHERE status = 'scheduled' AND auto_start{yes} AND start_time <= {p}1 \
               AND (end_time IS NULL OR end_time > {p}1) \
             ORDER BY start_time LIMIT {p}2) due_start \
           UNION ALL \
           SELECT * FROM (SELECT * FROM {table} \
             WHERE status = 'live' AND auto_end{yes} AND end_time <= {p}1 \
             ORDER BY end_time LIMIT {p}2) due_end \
         ) s \
         ORDER BY s.status = 'live', CASE WHEN s.status = 'live' THEN s.end_time ELSE s.start_time END"
    )
}

/// The scheduler's query for live sessions nobody watches on `table` and its participants
/// `participants` (parameters: now, presence timeout, limit), selecting `session` (a
/// [`session_select`] on the alias `s`) and the latest `last_seen` of the session's
/// participants as `empty_last_seen`: live sessions having `end_when_empty_minutes` (the
/// condition of the partial index `live_sessions_due_empty_idx`, word for word), live for those
/// minutes, whose participants were last seen at least the presence timeout plus those minutes
/// before now (or who have none). The latest `last_seen` is a correlated aggregate, which the
/// databases run per candidate session through an index on `session_id`: never a join that
/// could read every participant.
pub(crate) fn empty_sessions_select<D: Dialect>(
    table: &str,
    participants: &str,
    session: &str,
) -> String {
    let p = D::PARAMETER;
    let minutes = D::minutes("s.end_when_empty_minutes");
    format!(
        "SELECT {session}, s.empty_last_seen FROM ( \
           SELECT s.*, (SELECT MAX(q.last_seen) FROM {participants} q \
                        WHERE q.session_id = s.id) AS empty_last_seen \
           FROM {table} s \
           WHERE s.status = 'live' AND s.end_when_empty_minutes IS NOT NULL \
             AND s.live_since + {minutes} <= {p}1 \
         ) s \
         WHERE s.empty_last_seen IS NULL OR s.empty_last_seen + {p}2 + {minutes} <= {p}1 \
         ORDER BY s.live_since, s.id LIMIT {p}3"
    )
}

/// Binds the [`SESSION_COLUMNS`] of `session`, in order.
pub(crate) fn bind_session<'q, D: Dialect>(
    query: Query<'q, D, D::Arguments<'q>>,
    session: &'q LiveSession,
) -> Result<Query<'q, D, D::Arguments<'q>>>
where
    Uuid: Encode<'q, D> + Type<D>,
    &'q str: Encode<'q, D> + Type<D>,
    Option<&'q str>: Encode<'q, D> + Type<D>,
    Option<Uuid>: Encode<'q, D> + Type<D>,
    Option<D::Time>: Encode<'q, D> + Type<D>,
    i64: Encode<'q, D> + Type<D>,
    Option<i64>: Encode<'q, D> + Type<D>,
    i16: Encode<'q, D> + Type<D>,
    bool: Encode<'q, D> + Type<D>,
{
    let (thumbnail_url, thumbnail_key) = thumbnail_columns(session.fields.thumbnail.as_ref());
    let key = session.list_key();
    Ok(query
        .bind(*session.id.as_uuid())
        .bind(session.fields.title.as_str())
        .bind(session.fields.description.as_str())
        .bind(session.fields.instructor.as_str())
        .bind(session.fields.video_url.as_str())
        .bind(thumbnail_url)
        .bind(thumbnail_key)
        .bind(D::store_time(session.fields.start_time))
        .bind(session.fields.timezone.map(|tz| tz.name()))
        .bind(session.fields.end_time.map(D::store_time))
        .bind(session.fields.auto_start)
        .bind(session.fields.auto_end)
        .bind(session.series.as_ref().map(|link| *link.id.as_uuid()))
        .bind(session.series.as_ref().map(|link| link.recurrence.as_str()))
        .bind(session.fields.end_when_empty.map(|m| i64::from(m.get())))
        .bind(session.fields.capacity.map(|c| i64::from(c.get())))
        .bind(session.fields.restricted)
        .bind(session.fields.registration.as_str())
        .bind(
            session
                .fields
                .attendance_threshold
                .map(|t| i64::from(t.get())),
        )
        .bind(session.fields.late_after.map(|m| i64::from(m.get())))
        .bind(session.status.as_str())
        .bind(session.started_at.map(D::store_time))
        .bind(session.ended_at.map(D::store_time))
        .bind(session.live_since.map(D::store_time))
        .bind(session.live_seconds)
        .bind(D::store_time(session.created_at))
        .bind(D::store_time(session.updated_at))
        .bind(to_i64(session.version, "version")?)
        .bind(key.rank)
        .bind(key.time_key))
}

/// The stored form of a thumbnail: `(thumbnail_url, thumbnail_key)`.
fn thumbnail_columns(thumbnail: Option<&Thumbnail>) -> (Option<&str>, Option<&str>) {
    match thumbnail {
        Some(Thumbnail::Url(url)) => (Some(url.as_str()), None),
        Some(Thumbnail::Uploaded(key)) => (None, Some(key.as_str())),
        None => (None, None),
    }
}

/// The session of a row selected with [`session_select`].
pub(crate) fn session_from_row<D: Dialect>(row: &D::Row) -> Result<LiveSession>
where
    for<'r> Uuid: Decode<'r, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
    for<'r> bool: Decode<'r, D> + Type<D>,
{
    let thumbnail = match (
        D::get::<Option<String>>(row, "thumbnail_url")?,
        D::get::<Option<String>>(row, "thumbnail_key")?,
    ) {
        (Some(url), _) => Some(Thumbnail::Url(checked(ThumbnailUrl::parse(&url))?)),
        (None, Some(key)) => Some(Thumbnail::Uploaded(checked(ThumbnailKey::parse(&key))?)),
        (None, None) => None,
    };
    Ok(LiveSession {
        id: SessionId::from_uuid(D::get(row, "id")?),
        fields: SessionFields {
            title: title(D::get(row, "title")?)?,
            description: checked(Description::parse(&D::get::<String>(row, "description")?))?,
            instructor: checked(Instructor::parse(&D::get::<String>(row, "instructor")?))?,
            video_url: checked(VideoUrl::parse(&D::get::<String>(row, "video_url")?))?,
            thumbnail,
            start_time: time::<D>(row, "start_time")?,
            timezone: D::get::<Option<String>>(row, "timezone")?
                .as_deref()
                .map(TimeZone::parse)
                .transpose()
                .map_err(corrupt)?,
            end_time: opt_time::<D>(row, "end_time")?,
            auto_start: D::get(row, "auto_start")?,
            auto_end: D::get(row, "auto_end")?,
            end_when_empty: D::get::<Option<i64>>(row, "end_when_empty_minutes")?
                .map(EmptyMinutes::new)
                .transpose()
                .map_err(corrupt)?,
            capacity: D::get::<Option<i64>>(row, "capacity")?
                .map(Capacity::new)
                .transpose()
                .map_err(corrupt)?,
            restricted: D::get(row, "restricted")?,
            registration: checked(Registration::parse(&D::get::<String>(row, "registration")?))?,
            attendance_threshold: D::get::<Option<i64>>(row, "attendance_threshold")?
                .map(AttendanceThreshold::new)
                .transpose()
                .map_err(corrupt)?,
            late_after: D::get::<Option<i64>>(row, "late_after_minutes")?
                .map(LateMinutes::new)
                .transpose()
                .map_err(corrupt)?,
        },
        status: parse_status(&D::get::<String>(row, "status")?)?,
        started_at: opt_time::<D>(row, "started_at")?,
        ended_at: opt_time::<D>(row, "ended_at")?,
        live_since: opt_time::<D>(row, "live_since")?,
        live_seconds: D::get(row, "live_seconds")?,
        participants: to_u64(D::get(row, "participants")?, "participants")?,
        reserved_seats: to_u64(D::get(row, "reserved_seats")?, "reserved_seats")?,
        created_at: time::<D>(row, "created_at")?,
        updated_at: time::<D>(row, "updated_at")?,
        version: to_u64(D::get(row, "version")?, "version")?,
        series: series_link::<D>(row)?,
    })
}

/// The series link of a session row: both columns set, or neither.
fn series_link<D: Dialect>(row: &D::Row) -> Result<Option<SeriesLink>>
where
    for<'r> Uuid: Decode<'r, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
{
    match (
        D::get::<Option<Uuid>>(row, "series_id")?,
        D::get::<Option<String>>(row, "recurrence")?,
    ) {
        (Some(id), Some(rule)) => Ok(Some(SeriesLink {
            id: SeriesId::from_uuid(id),
            recurrence: checked(Recurrence::parse(&rule))?,
        })),
        (None, None) => Ok(None),
        _ => Err(corrupt(
            "a series id without its rule, or a rule without its series",
        )),
    }
}

/// The participant of a row selected with [`participant_select`], or `None` when its columns
/// are NULL (an outer join found none).
pub(crate) fn participant_from_row<D: Dialect>(row: &D::Row) -> Result<Option<Participant>>
where
    for<'r> Uuid: Decode<'r, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    let Some(session_id) = D::get::<Option<Uuid>>(row, "p_session_id")? else {
        return Ok(None);
    };
    Ok(Some(Participant {
        session_id: SessionId::from_uuid(session_id),
        user_id: UserId::parse_field(&D::get::<String>(row, "p_user_id")?, "user_id")
            .map_err(corrupt)?,
        user_name: checked(UserName::parse(&D::get::<String>(row, "p_user_name")?))?,
        email: checked(Email::parse(&D::get::<String>(row, "p_email")?))?,
        first_joined_at: time::<D>(row, "p_first_joined_at")?,
        last_joined_at: time::<D>(row, "p_last_joined_at")?,
        last_seen: time::<D>(row, "p_last_seen")?,
        left_at: opt_time::<D>(row, "p_left_at")?,
        present_since: opt_time::<D>(row, "p_present_since")?,
        watch_seconds: D::get(row, "p_watch_seconds")?,
        join_count: to_u64(D::get(row, "p_join_count")?, "join_count")?,
        created_at: time::<D>(row, "p_created_at")?,
        first_present_at: opt_time::<D>(row, "p_first_present_at")?,
    }))
}

/// The participant of a row that must have one.
pub(crate) fn required(participant: Option<Participant>) -> Result<Participant> {
    participant.ok_or_else(|| corrupt("row without participant"))
}

/// A stored value that the domain refuses: the row was written by something else or the
/// schema was changed by hand.
#[derive(Debug)]
pub(crate) struct CorruptRow(pub(crate) String);

impl fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored row is not valid: {}", self.0)
    }
}

impl std::error::Error for CorruptRow {}

/// A storage error for a stored value the domain refuses.
pub(crate) fn corrupt(what: impl fmt::Display) -> Error {
    Error::storage(CorruptRow(what.to_string()))
}

fn checked<T>(result: std::result::Result<T, FieldError>) -> Result<T> {
    result.map_err(corrupt)
}

/// A `u64` from a stored non-negative integer.
pub(crate) fn to_u64(value: i64, column: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| corrupt(format_args!("{column} is negative ({value})")))
}

/// An `i64` for a stored integer.
pub(crate) fn to_i64(value: u64, column: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| corrupt(format_args!("{column} is too large ({value})")))
}

/// The status named in a row.
pub(crate) fn parse_status(text: &str) -> Result<SessionStatus> {
    text.parse()
        .map_err(|_| corrupt(format_args!("unknown status {text:?}")))
}

/// A stored title.
pub(crate) fn title(text: String) -> Result<Title> {
    checked(Title::parse(&text))
}
