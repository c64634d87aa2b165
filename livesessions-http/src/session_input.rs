//! The body of a session create or update: one type, [`SessionBody`], read from JSON or from a
//! `multipart/form-data` form, that becomes a [`NewSession`] or a [`SessionUpdate`].
//!
//! Create and update read the same fields under the same names (`timeZone` is read as
//! `timezone`, in JSON and forms alike). They differ in a few rules, which [`Purpose`] carries:
//!
//! - JSON creates refuse `null` for `title`, `instructor`, `videoUrl`, `startTime` and
//!   `isLive` (`400`); updates read `null` as "not sent".
//! - `version` is read by updates only; creates ignore it like any unknown field.
//! - A form's `isLive` and `version` are text; a create reports only a bad `isLive`, an update
//!   both (`422`).
//! - A create takes `thumbnail` unless it is blank, else `thumbnailUrl`; an update takes
//!   `thumbnail` when sent (empty removes the thumbnail), else `thumbnailUrl`, and neither when
//!   a file is uploaded.
//!
//! Unknown JSON fields and form parts are ignored; a field sent twice in JSON is `400`, in a
//! form the last part wins.
//!
//! The OpenAPI schemas of the two JSON bodies and of the form are at the end of this file; a
//! test checks that they name exactly the fields the readers know.

use std::fmt;

use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use livesessions_core::{FieldError, NewSession, SessionInput, SessionUpdate, ThumbnailUpload};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use utoipa::ToSchema;

use crate::extract::{body_kind, parse_json_seed, read_json_bytes, BodyKind};
use crate::problem::ApiError;
use crate::state::AppState;

/// What a session body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A new session.
    Create,
    /// A change to a session.
    Update,
}

/// A field of a session body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    Description,
    Instructor,
    VideoUrl,
    Thumbnail,
    ThumbnailUrl,
    StartTime,
    Timezone,
    EndTime,
    AutoStart,
    AutoEnd,
    EndWhenEmptyMinutes,
    IsLive,
    Version,
    Recurrence,
    Capacity,
    Restricted,
    Registration,
    AttendanceThreshold,
    LateAfterMinutes,
}

impl Field {
    const ALL: [Field; 20] = [
        Field::Title,
        Field::Description,
        Field::Instructor,
        Field::VideoUrl,
        Field::Thumbnail,
        Field::ThumbnailUrl,
        Field::StartTime,
        Field::Timezone,
        Field::EndTime,
        Field::AutoStart,
        Field::AutoEnd,
        Field::EndWhenEmptyMinutes,
        Field::IsLive,
        Field::Version,
        Field::Recurrence,
        Field::Capacity,
        Field::Restricted,
        Field::Registration,
        Field::AttendanceThreshold,
        Field::LateAfterMinutes,
    ];

    /// The name in JSON and forms.
    fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
            Field::Instructor => "instructor",
            Field::VideoUrl => "videoUrl",
            Field::Thumbnail => "thumbnail",
            Field::ThumbnailUrl => "thumbnailUrl",
            Field::StartTime => "startTime",
            Field::Timezone => "timezone",
            Field::EndTime => "endTime",
            Field::AutoStart => "autoStart",
            Field::AutoEnd => "autoEnd",
            Field::EndWhenEmptyMinutes => "endWhenEmptyMinutes",
            Field::IsLive => "isLive",
            Field::Version => "version",
            Field::Recurrence => "recurrence",
            Field::Capacity => "capacity",
            Field::Restricted => "restricted",
            Field::Registration => "registration",
            Field::AttendanceThreshold => "attendanceThreshold",
            Field::LateAfterMinutes => "lateAfterMinutes",
        }
    }

    /// The field `name` names, if any; `timeZone` is read as `timezone`.
    fn named(name: &str) -> Option<Field> {
        if name == "timeZone" {
            return Some(Field::Timezone);
        }
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether a JSON body for `purpose` reads the field (`version` is for updates only).
    fn read_for(self, purpose: Purpose) -> bool {
        self != Field::Version || purpose == Purpose::Update
    }

    /// Whether a JSON create refuses `null` for the field.
    fn not_null_on_create(self) -> bool {
        matches!(
            self,
            Field::Title | Field::Instructor | Field::VideoUrl | Field::StartTime | Field::IsLive
        )
    }
}

/// A session as a create or update request sends it, before the service validates it.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionBody {
    /// The text fields; `thumbnail_url` holds `thumbnailUrl`.
    fields: SessionInput,
    /// `thumbnail` sent as text (a link).
    thumbnail: Option<String>,
    is_live: Option<bool>,
    version: Option<u64>,
    /// `thumbnail` sent as a file.
    upload: Option<ThumbnailUpload>,
}

impl SessionBody {
    /// Reads a JSON or `multipart/form-data` body; any other content type is `415`.
    pub(crate) async fn read(
        request: Request,
        state: &AppState,
        purpose: Purpose,
    ) -> Result<SessionBody, ApiError> {
        match body_kind(request.headers()) {
            BodyKind::Json => {
                let limit = state.settings().json_body_limit;
                let bytes = read_json_bytes(request, state, limit).await?;
                parse_json_seed(&bytes, JsonSeed(purpose))
            }
            BodyKind::Multipart => read_form(request, state, purpose).await,
            BodyKind::Other => Err(ApiError::unsupported_media_type(match purpose {
                Purpose::Create => "send the session as application/json or multipart/form-data",
                Purpose::Update => "send the changes as application/json or multipart/form-data",
            })),
        }
    }

    /// The new session, and its uploaded thumbnail.
    pub(crate) fn into_new(self) -> (NewSession, Option<ThumbnailUpload>) {
        let mut fields = self.fields;
        fields.thumbnail_url = self
            .thumbnail
            .filter(|t| !t.trim().is_empty())
            .or(fields.thumbnail_url);
        let is_live = self.is_live.unwrap_or(false);
        (NewSession { fields, is_live }, self.upload)
    }

    /// The change, and the new uploaded thumbnail.
    pub(crate) fn into_update(self) -> (SessionUpdate, Option<ThumbnailUpload>) {
        let mut fields = self.fields;
        fields.thumbnail_url = match self.upload {
            Some(_) => None,
            None => self.thumbnail.or(fields.thumbnail_url),
        };
        let update = SessionUpdate {
            fields,
            is_live: self.is_live,
            expected_version: self.version,
        };
        (update, self.upload)
    }

    /// Where a yes/no field goes; `None` for the others.
    fn flag_mut(&mut self, field: Field) -> Option<&mut Option<bool>> {
        match field {
            Field::IsLive => Some(&mut self.is_live),
            Field::AutoStart => Some(&mut self.fields.auto_start),
            Field::AutoEnd => Some(&mut self.fields.auto_end),
            Field::Restricted => Some(&mut self.fields.restricted),
            _ => None,
        }
    }

    /// Where a text field goes; `None` for the yes/no fields and `version`.
    fn text_mut(&mut self, field: Field) -> Option<&mut Option<String>> {
        Some(match field {
            Field::Title => &mut self.fields.title,
            Field::Description => &mut self.fields.description,
            Field::Instructor => &mut self.fields.instructor,
            Field::VideoUrl => &mut self.fields.video_url,
            Field::Thumbnail => &mut self.thumbnail,
            Field::ThumbnailUrl => &mut self.fields.thumbnail_url,
            Field::StartTime => &mut self.fields.start_time,
            Field::Timezone => &mut self.fields.timezone,
            Field::EndTime => &mut self.fields.end_time,
            Field::Recurrence => &mut self.fields.recurrence,
            Field::EndWhenEmptyMinutes => &mut self.fields.end_when_empty_minutes,
            Field::Capacity => &mut self.fields.capacity,
            Field::Registration => &mut self.fields.registration,
            Field::AttendanceThreshold => &mut self.fields.attendance_threshold,
            Field::LateAfterMinutes => &mut self.fields.late_after_minutes,
            Field::IsLive
            | Field::AutoStart
            | Field::AutoEnd
            | Field::Restricted
            | Field::Version => return None,
        })
    }
}

/// Reads a JSON object into a [`SessionBody`] by the rules of its [`Purpose`].
struct JsonSeed(Purpose);

impl<'de> DeserializeSeed<'de> for JsonSeed {
    type Value = SessionBody;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<SessionBody, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed {
    type Value = SessionBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SessionBody, A::Error> {
        let mut body = SessionBody::default();
        let mut seen = Vec::with_capacity(Field::ALL.len());
        while let Some(key) = map.next_key::<String>()? {
            let field = match Field::named(&key) {
                Some(field) if field.read_for(self.0) => field,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if seen.contains(&field) {
                return Err(de::Error::duplicate_field(field.name()));
            }
            seen.push(field);
            let not_null = self.0 == Purpose::Create && field.not_null_on_create();
            match field {
                Field::IsLive if not_null => body.is_live = Some(map.next_value()?),
                Field::IsLive | Field::AutoStart | Field::AutoEnd | Field::Restricted => {
                    let value = map.next_value()?;
                    if let Some(slot) = body.flag_mut(field) {
                        *slot = value;
                    }
                }
                Field::Version => body.version = map.next_value()?,
                Field::EndWhenEmptyMinutes
                | Field::Capacity
                | Field::AttendanceThreshold
                | Field::LateAfterMinutes => {
                    // A number, or its text: what it holds is checked with the other fields
                    // (a `422` naming it), not here.
                    let value = map.next_value::<Option<serde_json::Value>>()?;
                    if let Some(slot) = body.text_mut(field) {
                        *slot = value.map(|v| match v {
                            serde_json::Value::String(text) => text,
                            other => other.to_string(),
                        });
                    }
                }
                text => {
                    let value = if not_null {
                        Some(map.next_value::<String>()?)
                    } else {
                        map.next_value::<Option<String>>()?
                    };
                    if let Some(slot) = body.text_mut(text) {
                        *slot = value;
                    }
                }
            }
        }
        Ok(body)
    }
}

/// Most parts a form may have (the known fields plus room for a page's extra inputs).
const MAX_FORM_PARTS: usize = 64;

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("The form is too large.")
    } else {
        ApiError::malformed(format!("The form could not be read: {}.", e.body_text()))
    }
}

/// Reads a form: text parts by name, `thumbnail` as a file when the part has a file name.
async fn read_form(
    request: Request,
    state: &AppState,
    purpose: Purpose,
) -> Result<SessionBody, ApiError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut body = SessionBody::default();
    let mut flags: Vec<(Field, String)> = Vec::new();
    let mut version = None;
    let mut parts = 0;
    while let Some(part) = multipart.next_field().await.map_err(multipart_error)? {
        parts += 1;
        if parts > MAX_FORM_PARTS {
            return Err(ApiError::malformed("The form has too many parts."));
        }
        let name = part.name().unwrap_or_default().to_owned();
        if name == "thumbnail" && part.file_name().is_some() {
            // The client's file name is never used: uploads are stored under generated keys.
            let no_file_chosen = part.file_name() == Some("");
            let declared_type = part.content_type().map(str::to_owned);
            let bytes = part.bytes().await.map_err(multipart_error)?;
            if no_file_chosen && bytes.is_empty() {
                // What browsers send for a file input left empty.
                continue;
            }
            body.upload = Some(ThumbnailUpload {
                declared_type,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let Some(field) = Field::named(&name) else {
            // Unknown parts are read and dropped.
            part.bytes().await.map_err(multipart_error)?;
            continue;
        };
        let value = part.text().await.map_err(multipart_error)?;
        match body.text_mut(field) {
            Some(slot) => *slot = Some(value),
            None if field == Field::Version => version = Some(value),
            None => {
                // The last part of a name wins.
                flags.retain(|(f, _)| *f != field);
                flags.push((field, value));
            }
        }
    }
    let mut errors = Vec::new();
    for (field, value) in flags {
        let flag = form_bool(field, &value)
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        if let Some(slot) = body.flag_mut(field) {
            *slot = flag;
        }
    }
    if purpose == Purpose::Update {
        body.version = version
            .and_then(|v| form_version(&v).map_err(|e| errors.push(e)).ok())
            .flatten();
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(ApiError::validation(&errors))
    }
}

/// A yes/no form field: empty is "not sent"; the error names `field`.
fn form_bool(field: Field, value: &str) -> Result<Option<bool>, FieldError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "on" | "1" | "yes" => Ok(Some(true)),
        "false" | "off" | "0" | "no" => Ok(Some(false)),
        _ => Err(FieldError::new(
            field.name(),
            "invalid_boolean",
            "Use true or false.",
        )),
    }
}

fn form_version(value: &str) -> Result<Option<u64>, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse::<u64>()
        .map(Some)
        .map_err(|_| FieldError::new("version", "invalid_number", "Enter a whole number."))
}

// The OpenAPI schemas of the bodies. They describe what `SessionBody` reads and drive no code.

/// A new session as JSON.
#[derive(Debug, Clone, Default, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateSessionJson {
    /// Title, 1–200 characters.
    #[schema(required = true)]
    pub title: String,
    /// Description, at most 5000 characters.
    pub description: Option<String>,
    /// Instructor, 1–100 characters.
    #[schema(required = true)]
    pub instructor: String,
    /// An https video URL (YouTube and Vimeo links get an embed URL).
    #[schema(required = true)]
    pub video_url: String,
    /// An https link to a thumbnail image.
    pub thumbnail: Option<String>,
    /// Same as `thumbnail`.
    pub thumbnail_url: Option<String>,
    /// Start: RFC 3339 with an offset (`Z` or `±hh:mm`), or a local date-time without one
    /// (`2025-01-15T10:00`, as a `datetime-local` input sends it) read in `timezone`, else in
    /// the server's default zone.
    #[schema(required = true)]
    pub start_time: String,
    /// IANA time zone to display the start in (`timeZone` is read as the same field).
    pub timezone: Option<String>,
    /// Scheduled end, written like `startTime`: after the start, at most 24 hours later
    /// (otherwise `422` naming `endTime`).
    pub end_time: Option<String>,
    /// Start the session automatically at `startTime` (default `false`).
    pub auto_start: Option<bool>,
    /// End the session automatically at `endTime`, which it then needs (default `false`).
    pub auto_end: Option<bool>,
    /// End the live session automatically once nobody has watched it for this many minutes,
    /// 1–1440 (otherwise `422` naming `endWhenEmptyMinutes`); absent or empty: never.
    #[schema(minimum = 1, maximum = 1440)]
    pub end_when_empty_minutes: Option<u16>,
    /// The most distinct participants, 1–1000000 (otherwise `422` naming `capacity`); a
    /// first join beyond it is `409` `session_full`. Absent or empty: no limit.
    #[schema(minimum = 1, maximum = 1000000)]
    pub capacity: Option<u32>,
    /// Only people on the session's roster (and admins) may join; anyone else's join is `403`
    /// `not_on_roster` (default `false`).
    pub restricted: Option<bool>,
    /// `open` lets signed-in users add themselves to the roster
    /// (`POST /api/live-sessions/{id}/register`); `closed` (the default) does not.
    #[schema(pattern = "^(open|closed)$")]
    pub registration: Option<String>,
    /// Percent of the live time, 1–100, a participant must watch to be `present` rather than
    /// `partial` (otherwise `422` naming `attendanceThreshold`). Absent or empty: 75.
    #[schema(minimum = 1, maximum = 100)]
    pub attendance_threshold: Option<u8>,
    /// Minutes, 0–1440, after the start after which a first presence is `late` (otherwise
    /// `422` naming `lateAfterMinutes`). Absent or empty: nobody is late.
    #[schema(minimum = 0, maximum = 1440)]
    pub late_after_minutes: Option<u16>,
    /// "Mark as Live": start right away.
    #[serde(default)]
    pub is_live: bool,
    /// A repeat rule (RFC 5545 `RRULE`: `FREQ` `DAILY`, `WEEKLY` or `MONTHLY`, `INTERVAL`,
    /// `BYDAY`, `COUNT`, `UNTIL`; e.g. `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`) read in the
    /// session's zone: creates a series, one session per occurrence (at most 200, within a
    /// year), each with the first one's duration. The answer is the first occurrence, its
    /// `seriesId` naming the series. Anything else is `422` naming `recurrence`.
    #[schema(example = "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10")]
    pub recurrence: Option<String>,
}

/// A partial update as JSON: absent fields stay as they are; an empty `thumbnail` or
/// `timezone` removes it; `isLive` starts (`true`) or ends (`false`) the session.
#[derive(Debug, Clone, Default, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateSessionJson {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New instructor.
    pub instructor: Option<String>,
    /// New video URL.
    pub video_url: Option<String>,
    /// New thumbnail link; empty removes the thumbnail.
    pub thumbnail: Option<String>,
    /// Same as `thumbnail`.
    pub thumbnail_url: Option<String>,
    /// New start: RFC 3339 with an offset, or a local date-time without one read in the new
    /// `timezone`, else in the session's zone, else in the server's default zone.
    pub start_time: Option<String>,
    /// New time zone; empty removes it (`timeZone` is read as the same field).
    pub timezone: Option<String>,
    /// New scheduled end, written like `startTime`; empty removes it. After the update it
    /// must be after the start and at most 24 hours later (otherwise `422` naming `endTime`).
    pub end_time: Option<String>,
    /// Start the session automatically at its start time.
    pub auto_start: Option<bool>,
    /// End the session automatically at its end time.
    pub auto_end: Option<bool>,
    /// New minutes, 1–1440, after which the live session ends once nobody watches it; `""`
    /// removes them (`null` leaves them as they are).
    #[schema(minimum = 1, maximum = 1440)]
    pub end_when_empty_minutes: Option<u16>,
    /// New capacity, 1–1000000 and not below the current `participants` (otherwise `422`
    /// naming `capacity`); `""` removes the limit (`null` leaves it as it is).
    #[schema(minimum = 1, maximum = 1000000)]
    pub capacity: Option<u32>,
    /// Whether only roster members (and admins) may join.
    pub restricted: Option<bool>,
    /// `open` or `closed`: whether users may register themselves.
    #[schema(pattern = "^(open|closed)$")]
    pub registration: Option<String>,
    /// New attendance threshold in percent, 1–100; `""` goes back to the default 75 (`null`
    /// leaves it as it is).
    #[schema(minimum = 1, maximum = 100)]
    pub attendance_threshold: Option<u8>,
    /// New minutes, 0–1440, after which a first presence is late; `""` removes the rule
    /// (`null` leaves it as it is).
    #[schema(minimum = 0, maximum = 1440)]
    pub late_after_minutes: Option<u16>,
    /// Start (`true`) or end (`false`).
    pub is_live: Option<bool>,
    /// Refuse with `409` unless the session is at this version.
    #[schema(minimum = 1)]
    pub version: Option<u64>,
    /// A series' rule is set when it is created: anything but empty is `422` naming
    /// `recurrence` (change the occurrences with `scope=following` instead).
    pub recurrence: Option<String>,
}

/// A new session or an update as `multipart/form-data`, as the original app's page sends it.
/// Every field is text except `thumbnail`, which may be a file (JPEG, PNG, GIF or WebP, at most
/// 5 MiB; the client's file name is ignored) or a link. Unknown fields are ignored.
#[derive(Debug, Clone, Default, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionForm {
    /// Title (required when creating).
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Instructor (required when creating).
    pub instructor: Option<String>,
    /// Video URL (required when creating).
    pub video_url: Option<String>,
    /// Start (required when creating): RFC 3339 with an offset, or a local date-time without
    /// one read in `timezone`, else in the session's zone, else in the server's default zone.
    pub start_time: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Scheduled end, written like `startTime`; empty removes it.
    pub end_time: Option<String>,
    /// `true`, `on` or `1` to start the session automatically at its start time; `false`,
    /// `off` or `0` not to.
    pub auto_start: Option<String>,
    /// `true`, `on` or `1` to end the session automatically at its end time; `false`, `off`
    /// or `0` not to.
    pub auto_end: Option<String>,
    /// Minutes, 1–1440, after which the live session ends once nobody watches it; empty: never
    /// (or, in an update, removes them).
    pub end_when_empty_minutes: Option<String>,
    /// The most distinct participants, 1–1000000; empty: no limit (or, in an update, removes
    /// it).
    pub capacity: Option<String>,
    /// `true`, `on` or `1`: only roster members (and admins) may join; `false`, `off` or `0`:
    /// anyone signed in may.
    pub restricted: Option<String>,
    /// `open` or `closed`: whether users may register themselves.
    pub registration: Option<String>,
    /// Attendance threshold in percent, 1–100; empty: 75 (or, in an update, back to 75).
    pub attendance_threshold: Option<String>,
    /// Minutes, 0–1440, after the start after which a first presence is late; empty: nobody
    /// is late (or, in an update, removes the rule).
    pub late_after_minutes: Option<String>,
    /// `true`, `on` or `1` to start; `false`, `off` or `0` (or absent, when creating) not to.
    pub is_live: Option<String>,
    /// The image file, or a link to an image.
    #[schema(value_type = Option<String>, format = Binary, content_media_type = "application/octet-stream")]
    pub thumbnail: Option<Vec<u8>>,
    /// A link to an image.
    pub thumbnail_url: Option<String>,
    /// Updates only: refuse with `409` unless the session is at this version.
    pub version: Option<String>,
    /// Creates only: a repeat rule that makes a series (see the JSON create body).
    pub recurrence: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn read(json: &str, purpose: Purpose) -> Result<SessionBody, ApiError> {
        crate::extract::parse_json_seed(json.as_bytes(), JsonSeed(purpose))
    }

    fn properties<T: utoipa::PartialSchema>() -> BTreeSet<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    fn names(purpose: Purpose) -> BTreeSet<String> {
        Field::ALL
            .into_iter()
            .filter(|f| f.read_for(purpose))
            .map(|f| f.name().to_owned())
            .collect()
    }

    #[test]
    fn the_schemas_document_the_fields_the_readers_know() {
        assert_eq!(properties::<CreateSessionJson>(), names(Purpose::Create));
        assert_eq!(properties::<UpdateSessionJson>(), names(Purpose::Update));
        assert_eq!(properties::<SessionForm>(), names(Purpose::Update));
    }

    #[test]
    fn creates_refuse_null_where_updates_read_it_as_absent() {
        for field in ["title", "instructor", "videoUrl", "startTime", "isLive"] {
            let json = format!("{{\"{field}\": null}}");
            let error = read(&json, Purpose::Create).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{field}");
            let body = read(&json, Purpose::Update).unwrap();
            let (update, _) = body.into_update();
            assert_eq!(update, SessionUpdate::default(), "{field}");
        }
        let (new, _) = read(
            r#"{"description": null, "timeZone": "UTC"}"#,
            Purpose::Create,
        )
        .unwrap()
        .into_new();
        assert_eq!(new.fields.description, None);
        assert_eq!(new.fields.timezone.as_deref(), Some("UTC"));
    }

    #[test]
    fn version_is_read_by_updates_only() {
        let (new, _) = read(r#"{"version": "x", "version": 1}"#, Purpose::Create)
            .unwrap()
            .into_new();
        assert!(!new.is_live);
        let (update, _) = read(r#"{"version": 3}"#, Purpose::Update)
            .unwrap()
            .into_update();
        assert_eq!(update.expected_version, Some(3));
        assert!(read(r#"{"version": "3"}"#, Purpose::Update).is_err());
    }

    #[test]
    fn duplicates_are_refused_with_aliases_counted_once() {
        let error = read(r#"{"timezone": "UTC", "timeZone": "UTC"}"#, Purpose::Update).unwrap_err();
        assert!(error
            .problem()
            .detail
            .as_deref()
            .unwrap()
            .contains("duplicate field `timezone`"));
    }

    #[test]
    fn thumbnail_and_thumbnail_url_combine_by_purpose() {
        let json = r#"{"thumbnail": " ", "thumbnailUrl": "https://x.test/a.png"}"#;
        let (new, _) = read(json, Purpose::Create).unwrap().into_new();
        assert_eq!(
            new.fields.thumbnail_url.as_deref(),
            Some("https://x.test/a.png")
        );
        let (update, _) = read(json, Purpose::Update).unwrap().into_update();
        assert_eq!(update.fields.thumbnail_url.as_deref(), Some(" "));
    }
}
