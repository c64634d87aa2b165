//! The BSON documents of the two collections and their mapping to the domain.
//!
//! `live_sessions` keeps the seed's field names (`title`, `description`, `instructor`,
//! `videoUrl`, `thumbnail`, `startTime`, `isLive`, `participants`, `createdAt`) and adds ours in
//! the same camelCase style:
//!
//! ```text
//! { _id: UUID (binary subtype 4), title, description, instructor, videoUrl,
//!   thumbnail: "https://…" | null, thumbnailKey: "<key>.png" | null,
//!   startTime: Date, timezone: "Asia/Karachi" | null, isLive: bool, status: "live",
//!   startedAt: Date | null, endedAt: Date | null, liveSince: Date | null, liveSeconds: long,
//!   participants: long, createdAt: Date, updatedAt: Date, version: long,
//!   listRank: int, listTimeKey: long,
//!   micros: { startTime, startedAt, endedAt, liveSince, createdAt, updatedAt } }
//! ```
//!
//! `session_participants` likewise (`sessionId`, `userId`, `userName`, `email`, `joinTime`,
//! `watchDuration`, `createdAt` from the seed):
//!
//! ```text
//! { _id: ObjectId, sessionId: UUID, userId, userName, email, joinTime: Date,
//!   lastJoinTime: Date, lastSeen: Date, leftAt: Date | null, presentSince: Date | null,
//!   watchSeconds: long, watchDuration: long (whole minutes), joinCount: long, createdAt: Date,
//!   micros: { joinTime, lastJoinTime, lastSeen, leftAt, presentSince, createdAt } }
//! ```
//!
//! # Precision
//!
//! BSON dates hold milliseconds, the domain's times microseconds. Every time is therefore
//! written twice: as a BSON date under its own name (what the original application and ad-hoc
//! queries read) and as microseconds since the epoch in the `micros` sub-document
//! (`micros: { startTime: long, … }`), which the store's pipelines compute with and which makes
//! every time read back exactly. A `micros` value is only used while it agrees with its date
//! (same millisecond): if another program changes a date without it, the date wins.
//!
//! # Reading documents the original application wrote
//!
//! Reading is tolerant of representation and strict about identity:
//! - dates may be BSON dates or RFC 3339 strings; numbers may be int32, int64 or double;
//! - fields the seed did not have get defaults derived from the seed's fields (`status` from
//!   `isLive`, `watchSeconds` from `watchDuration` × 60, `lastJoinTime` and `lastSeen` from
//!   `joinTime`, `joinCount` 1, `version` 1, `updatedAt` from `createdAt`);
//! - but a session `_id` or a participant `sessionId` that is not a UUID (the seed used
//!   ObjectIds and strings) cannot name a session of ours: such a document is reported as a
//!   [`DocumentError`] naming the field (surfacing as `Error::Storage`). Those documents need
//!   migrating to UUID ids before this store can serve them.

use std::fmt;

use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::values::{
    Description, Email, Instructor, Thumbnail, ThumbnailKey, ThumbnailUrl, TimeZone, Title,
    UserName, VideoUrl,
};
use livesessions_core::{
    FieldError, LiveSession, Participant, SessionFields, SessionId, SessionStatus, UserId,
};
use uuid::Uuid;

/// The collection of sessions.
pub const SESSIONS: &str = "live_sessions";
/// The collection of participants.
pub const PARTICIPANTS: &str = "session_participants";

/// A stored document that cannot be read as a domain value: which collection, which field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    /// The collection the document came from.
    pub collection: &'static str,
    /// The offending field.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} document: field `{}` {}",
            self.collection, self.field, self.problem
        )
    }
}

impl std::error::Error for DocumentError {}

impl From<DocumentError> for livesessions_core::Error {
    fn from(error: DocumentError) -> Self {
        livesessions_core::Error::storage(error)
    }
}

/// The name of the sub-document that holds every time in microseconds since the epoch.
pub const MICROS: &str = "micros";

/// A time as a BSON date (truncated to the millisecond).
pub fn date(time: DateTime<Utc>) -> Bson {
    Bson::DateTime(bson::DateTime::from_chrono(time))
}

fn opt_date(time: Option<DateTime<Utc>>) -> Bson {
    time.map(date).unwrap_or(Bson::Null)
}

/// A time as microseconds since the epoch (the exact value kept in `micros`).
pub fn micros(time: DateTime<Utc>) -> Bson {
    Bson::Int64(time.timestamp_micros())
}

fn opt_micros(time: Option<DateTime<Utc>>) -> Bson {
    time.map(micros).unwrap_or(Bson::Null)
}

/// A session id as BSON: a UUID, binary subtype 4.
pub fn session_id(id: SessionId) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Uuid,
        bytes: id.as_uuid().as_bytes().to_vec(),
    })
}

/// A count as a BSON long (saturating; counts never come near `i64::MAX`).
pub(crate) fn long(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The fields of a session document other than `_id` and `participants` (the store's counter):
/// what an update replaces.
pub fn session_fields(session: &LiveSession) -> Document {
    let key = session.list_key();
    let (thumbnail, thumbnail_key) = match &session.fields.thumbnail {
        Some(Thumbnail::Url(url)) => (Bson::String(url.as_str().to_owned()), Bson::Null),
        Some(Thumbnail::Uploaded(key)) => (Bson::Null, Bson::String(key.as_str().to_owned())),
        None => (Bson::Null, Bson::Null),
    };
    doc! {
        "title": session.fields.title.as_str(),
        "description": session.fields.description.as_str(),
        "instructor": session.fields.instructor.as_str(),
        "videoUrl": session.fields.video_url.as_str(),
        "thumbnail": thumbnail,
        "thumbnailKey": thumbnail_key,
        "startTime": date(session.fields.start_time),
        "timezone": session.fields.timezone.map(|tz| Bson::String(tz.name().to_owned())).unwrap_or(Bson::Null),
        "isLive": session.is_live(),
        "status": session.status.as_str(),
        "startedAt": opt_date(session.started_at),
        "endedAt": opt_date(session.ended_at),
        "liveSince": opt_date(session.live_since),
        "liveSeconds": session.live_seconds,
        "createdAt": date(session.created_at),
        "updatedAt": date(session.updated_at),
        "version": long(session.version),
        "listRank": i32::from(key.rank),
        "listTimeKey": key.time_key,
        MICROS: {
            "startTime": micros(session.fields.start_time),
            "startedAt": opt_micros(session.started_at),
            "endedAt": opt_micros(session.ended_at),
            "liveSince": opt_micros(session.live_since),
            "createdAt": micros(session.created_at),
            "updatedAt": micros(session.updated_at),
        },
    }
}

/// The complete document of a session.
pub fn session_document(session: &LiveSession) -> Document {
    let mut document = doc! { "_id": session_id(session.id) };
    document.extend(session_fields(session));
    document.insert("participants", long(session.participants));
    document
}

/// The complete document of a participant (without `_id`, which MongoDB assigns).
pub fn participant_document(participant: &Participant) -> Document {
    doc! {
        "sessionId": session_id(participant.session_id),
        "userId": participant.user_id.as_str(),
        "userName": participant.user_name.as_str(),
        "email": participant.email.as_str(),
        "joinTime": date(participant.first_joined_at),
        "lastJoinTime": date(participant.last_joined_at),
        "lastSeen": date(participant.last_seen),
        "leftAt": opt_date(participant.left_at),
        "presentSince": opt_date(participant.present_since),
        "watchSeconds": participant.watch_seconds,
        "watchDuration": participant.watch_minutes(),
        "joinCount": long(participant.join_count),
        "createdAt": date(participant.created_at),
        MICROS: {
            "joinTime": micros(participant.first_joined_at),
            "lastJoinTime": micros(participant.last_joined_at),
            "lastSeen": micros(participant.last_seen),
            "leftAt": opt_micros(participant.left_at),
            "presentSince": opt_micros(participant.present_since),
            "createdAt": micros(participant.created_at),
        },
    }
}

/// Reads a session document.
pub fn session_from_document(document: &Document) -> Result<LiveSession, DocumentError> {
    let r = Reader::new(document, SESSIONS);
    let id = SessionId::from_uuid(r.uuid("_id")?);
    let thumbnail = match (r.opt_str("thumbnailKey")?, r.opt_str("thumbnail")?) {
        (Some(key), _) if !key.is_empty() => Some(Thumbnail::Uploaded(
            r.valid("thumbnailKey", ThumbnailKey::parse(key))?,
        )),
        (_, Some(url)) if !url.trim().is_empty() => Some(Thumbnail::Url(
            r.valid("thumbnail", ThumbnailUrl::parse(url))?,
        )),
        _ => None,
    };
    let status = r.session_status()?;
    let created_at = r.date("createdAt")?;
    Ok(LiveSession {
        id,
        fields: SessionFields {
            title: r.valid("title", Title::parse(r.str("title")?))?,
            description: r.valid(
                "description",
                Description::parse(r.opt_str("description")?.unwrap_or_default()),
            )?,
            instructor: r.valid("instructor", Instructor::parse(r.str("instructor")?))?,
            video_url: r.valid("videoUrl", VideoUrl::parse(r.str("videoUrl")?))?,
            thumbnail,
            start_time: r.date("startTime")?,
            timezone: r
                .opt_str("timezone")?
                .filter(|tz| !tz.is_empty())
                .map(|tz| r.valid("timezone", TimeZone::parse(tz)))
                .transpose()?,
        },
        status,
        started_at: r.opt_date("startedAt")?,
        ended_at: r.opt_date("endedAt")?,
        live_since: r.opt_date("liveSince")?,
        live_seconds: r.opt_int("liveSeconds")?.unwrap_or(0),
        participants: r.opt_count("participants")?.unwrap_or(0),
        created_at,
        updated_at: r.opt_date("updatedAt")?.unwrap_or(created_at),
        version: r.opt_count("version")?.unwrap_or(1),
    })
}

/// Reads a participant document.
pub fn participant_from_document(document: &Document) -> Result<Participant, DocumentError> {
    let r = Reader::new(document, PARTICIPANTS);
    let first_joined_at = r.date("joinTime")?;
    let last_joined_at = r.opt_date("lastJoinTime")?.unwrap_or(first_joined_at);
    let watch_seconds = match r.opt_int("watchSeconds")? {
        Some(seconds) => seconds,
        None => r.opt_int("watchDuration")?.unwrap_or(0).saturating_mul(60),
    };
    Ok(Participant {
        session_id: SessionId::from_uuid(r.uuid("sessionId")?),
        user_id: UserId::parse_field(r.str("userId")?, "userId").map_err(|e| r.invalid(e))?,
        user_name: r.valid("userName", UserName::parse(r.str("userName")?))?,
        email: r.valid("email", Email::parse(r.str("email")?))?,
        first_joined_at,
        last_joined_at,
        last_seen: r.opt_date("lastSeen")?.unwrap_or(last_joined_at),
        left_at: r.opt_date("leftAt")?,
        present_since: r.opt_date("presentSince")?,
        watch_seconds,
        join_count: r.opt_count("joinCount")?.unwrap_or(1),
        created_at: r.opt_date("createdAt")?.unwrap_or(first_joined_at),
    })
}

/// Typed access to a document's fields, with errors that name the field.
pub(crate) struct Reader<'a> {
    document: &'a Document,
    collection: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(document: &'a Document, collection: &'static str) -> Self {
        Reader {
            document,
            collection,
        }
    }

    pub(crate) fn error(&self, field: &str, problem: impl Into<String>) -> DocumentError {
        DocumentError {
            collection: self.collection,
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    fn invalid(&self, error: FieldError) -> DocumentError {
        self.error(
            &error.field,
            format!("holds an invalid value: {}", error.message),
        )
    }

    fn valid<T>(&self, field: &str, parsed: Result<T, FieldError>) -> Result<T, DocumentError> {
        parsed.map_err(|e| self.invalid(e.for_field(field)))
    }

    /// The value, treating null like a missing field.
    fn get(&self, field: &str) -> Option<&'a Bson> {
        self.document
            .get(field)
            .filter(|v| !matches!(v, Bson::Null))
    }

    fn required(&self, field: &str) -> Result<&'a Bson, DocumentError> {
        self.get(field)
            .ok_or_else(|| self.error(field, "is missing"))
    }

    fn wrong_type(&self, field: &str, expected: &str, found: &Bson) -> DocumentError {
        self.error(
            field,
            format!("must be {expected}, found {:?}", found.element_type()),
        )
    }

    pub(crate) fn str(&self, field: &str) -> Result<&'a str, DocumentError> {
        match self.required(field)? {
            Bson::String(s) => Ok(s),
            other => Err(self.wrong_type(field, "a string", other)),
        }
    }

    pub(crate) fn opt_str(&self, field: &str) -> Result<Option<&'a str>, DocumentError> {
        match self.get(field) {
            None => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(field, "a string", other)),
        }
    }

    fn opt_bool(&self, field: &str) -> Result<Option<bool>, DocumentError> {
        match self.get(field) {
            None => Ok(None),
            Some(Bson::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(field, "a boolean", other)),
        }
    }

    pub(crate) fn date(&self, field: &str) -> Result<DateTime<Utc>, DocumentError> {
        self.opt_date(field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    pub(crate) fn opt_date(&self, field: &str) -> Result<Option<DateTime<Utc>>, DocumentError> {
        let date = match self.get(field) {
            None => return Ok(None),
            Some(Bson::DateTime(d)) => d.to_chrono(),
            // The original application's documents may carry RFC 3339 strings.
            Some(Bson::String(text)) => {
                return DateTime::parse_from_rfc3339(text)
                    .map(|t| Some(t.with_timezone(&Utc)))
                    .map_err(|_| {
                        self.error(field, format!("must be a date, found the string {text:?}"))
                    })
            }
            Some(other) => return Err(self.wrong_type(field, "a date", other)),
        };
        // The exact value, while it agrees with the date.
        let exact = match self.document.get_document(MICROS).map(|m| m.get(field)) {
            Ok(Some(Bson::Int64(us))) if us.div_euclid(1000) == date.timestamp_millis() => {
                DateTime::from_timestamp_micros(*us)
            }
            _ => None,
        };
        Ok(Some(exact.unwrap_or(date)))
    }

    pub(crate) fn opt_int(&self, field: &str) -> Result<Option<i64>, DocumentError> {
        match self.get(field) {
            None => Ok(None),
            Some(Bson::Int32(n)) => Ok(Some(i64::from(*n))),
            Some(Bson::Int64(n)) => Ok(Some(*n)),
            // JavaScript applications store numbers as doubles.
            Some(Bson::Double(x)) if x.is_finite() && x.abs() < 9.0e15 => {
                Ok(Some(x.trunc() as i64))
            }
            Some(other) => Err(self.wrong_type(field, "an integer", other)),
        }
    }

    pub(crate) fn int(&self, field: &str) -> Result<i64, DocumentError> {
        self.opt_int(field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    pub(crate) fn opt_count(&self, field: &str) -> Result<Option<u64>, DocumentError> {
        match self.opt_int(field)? {
            None => Ok(None),
            Some(n) => u64::try_from(n)
                .map(Some)
                .map_err(|_| self.error(field, format!("must not be negative, found {n}"))),
        }
    }

    pub(crate) fn count(&self, field: &str) -> Result<u64, DocumentError> {
        self.opt_count(field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    pub(crate) fn uuid(&self, field: &str) -> Result<Uuid, DocumentError> {
        match self.required(field)? {
            Bson::Binary(Binary {
                subtype: BinarySubtype::Uuid,
                bytes,
            }) => <[u8; 16]>::try_from(bytes.as_slice())
                .map(Uuid::from_bytes)
                .map_err(|_| self.error(field, "must be a 16-byte UUID")),
            other => Err(self.error(
                field,
                format!(
                    "must be a UUID (BSON binary subtype 4), found {:?}; documents written by \
                     another application need migrating to UUID ids",
                    other.element_type()
                ),
            )),
        }
    }

    /// `status`, or for documents without one (the seed's) live or scheduled from `isLive`.
    pub(crate) fn session_status(&self) -> Result<SessionStatus, DocumentError> {
        match self.opt_str("status")? {
            Some(text) => text
                .parse::<SessionStatus>()
                .map_err(|_| self.error("status", format!("has an unknown status {text:?}"))),
            None if self.opt_bool("isLive")?.unwrap_or(false) => Ok(SessionStatus::Live),
            None => Ok(SessionStatus::Scheduled),
        }
    }

    pub(crate) fn title(&self, field: &str) -> Result<Title, DocumentError> {
        self.valid(field, Title::parse(self.str(field)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::oid::ObjectId;
    use chrono::TimeZone as _;
    use livesessions_core::SessionInput;
    use livesessions_core::{Joiner, NewSession};

    fn at(secs: i64, micros: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(1_736_935_200 + secs, micros * 1000)
            .unwrap()
    }

    fn session() -> LiveSession {
        let fields = NewSession {
            fields: SessionInput {
                title: Some("JavaScript Basics".into()),
                description: Some("Learn fundamentals".into()),
                instructor: Some("John Doe".into()),
                video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
                thumbnail_url: Some("https://example.com/thumb.png".into()),
                start_time: Some("2025-01-15T10:00:00.123456Z".into()),
                timezone: Some("Asia/Karachi".into()),
            },
            is_live: false,
        }
        .validate()
        .unwrap();
        let mut session = LiveSession::new(fields, at(-3600, 250_500));
        session.start(at(0, 999_999)).unwrap();
        session.participants = 25;
        session
    }

    fn participant(session_id: SessionId) -> Participant {
        let mut p = Participant::first_join(
            session_id,
            Joiner {
                user_id: UserId::parse("user456").unwrap(),
                user_name: UserName::parse("Ahmed Ali").unwrap(),
                email: Email::parse("ahmed@example.com").unwrap(),
            },
            at(120, 1),
        );
        p.touch(
            at(120, 1),
            Some(at(0, 999_999)),
            std::time::Duration::from_secs(90),
        );
        p.watch_seconds = 2725;
        p
    }

    #[test]
    fn session_document_has_the_seed_and_our_fields() {
        let s = session();
        let d = session_document(&s);
        let expected = doc! {
            "_id": session_id(s.id),
            "title": "JavaScript Basics",
            "description": "Learn fundamentals",
            "instructor": "John Doe",
            "videoUrl": "https://youtu.be/dQw4w9WgXcQ",
            "thumbnail": "https://example.com/thumb.png",
            "thumbnailKey": Bson::Null,
            "startTime": bson::DateTime::from_millis(1_736_935_200_123),
            "timezone": "Asia/Karachi",
            "isLive": true,
            "status": "live",
            "startedAt": bson::DateTime::from_millis(1_736_935_200_999),
            "endedAt": Bson::Null,
            "liveSince": bson::DateTime::from_millis(1_736_935_200_999),
            "liveSeconds": 0_i64,
            "createdAt": bson::DateTime::from_millis(1_736_931_600_250),
            "updatedAt": bson::DateTime::from_millis(1_736_935_200_999),
            "version": 2_i64,
            "listRank": 0_i32,
            "listTimeKey": 1_736_935_200_123_456_i64,
            "micros": {
                "startTime": 1_736_935_200_123_456_i64,
                "startedAt": 1_736_935_200_999_999_i64,
                "endedAt": Bson::Null,
                "liveSince": 1_736_935_200_999_999_i64,
                "createdAt": 1_736_931_600_250_500_i64,
                "updatedAt": 1_736_935_200_999_999_i64,
            },
            "participants": 25_i64,
        };
        assert_eq!(d, expected);
        match d.get("_id") {
            Some(Bson::Binary(b)) => {
                assert_eq!(b.subtype, BinarySubtype::Uuid);
                assert_eq!(b.bytes, s.id.as_uuid().as_bytes());
            }
            other => panic!("_id is {other:?}"),
        }
    }

    #[test]
    fn sessions_round_trip_to_the_microsecond() {
        let mut s = session();
        let back = session_from_document(&session_document(&s)).unwrap();
        assert_eq!(back, s);
        // Ended, uploaded thumbnail, no zone.
        s.end(at(4000, 7)).unwrap();
        s.fields.thumbnail = Some(Thumbnail::Uploaded(
            ThumbnailKey::parse("0a1b2c3d.webp").unwrap(),
        ));
        s.fields.timezone = None;
        let d = session_document(&s);
        assert_eq!(d.get("thumbnail"), Some(&Bson::Null));
        assert_eq!(d.get_str("thumbnailKey").unwrap(), "0a1b2c3d.webp");
        assert_eq!(d.get("timezone"), Some(&Bson::Null));
        assert_eq!(d.get_str("status").unwrap(), "ended");
        assert!(!d.get_bool("isLive").unwrap());
        assert_eq!(d.get_i32("listRank").unwrap(), 2);
        assert_eq!(d.get_i64("listTimeKey").unwrap(), -1_736_935_200_123_456);
        let back = session_from_document(&d).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.list_key(), s.list_key());
        // Without a thumbnail.
        s.fields.thumbnail = None;
        let back = session_from_document(&session_document(&s)).unwrap();
        assert_eq!(back.fields.thumbnail, None);
    }

    #[test]
    fn participants_round_trip() {
        let s = session();
        let mut p = participant(s.id);
        let d = participant_document(&p);
        assert_eq!(
            d,
            doc! {
                "sessionId": session_id(s.id),
                "userId": "user456",
                "userName": "Ahmed Ali",
                "email": "ahmed@example.com",
                "joinTime": bson::DateTime::from_millis(1_736_935_320_000),
                "lastJoinTime": bson::DateTime::from_millis(1_736_935_320_000),
                "lastSeen": bson::DateTime::from_millis(1_736_935_320_000),
                "leftAt": Bson::Null,
                "presentSince": bson::DateTime::from_millis(1_736_935_320_000),
                "watchSeconds": 2725_i64,
                "watchDuration": 45_i64,
                "joinCount": 1_i64,
                "createdAt": bson::DateTime::from_millis(1_736_935_320_000),
                "micros": {
                    "joinTime": 1_736_935_320_000_001_i64,
                    "lastJoinTime": 1_736_935_320_000_001_i64,
                    "lastSeen": 1_736_935_320_000_001_i64,
                    "leftAt": Bson::Null,
                    "presentSince": 1_736_935_320_000_001_i64,
                    "createdAt": 1_736_935_320_000_001_i64,
                },
            }
        );
        assert_eq!(participant_from_document(&d).unwrap(), p);

        p.leave(at(300, 0), std::time::Duration::from_secs(90));
        p.join_count = 3;
        let back = participant_from_document(&participant_document(&p)).unwrap();
        assert_eq!(back.left_at, Some(at(300, 0)));
        assert_eq!(back.present_since, None);
        assert_eq!(back.join_count, 3);
        assert_eq!(back.watch_seconds, p.watch_seconds);
    }

    /// The seed's LiveSession example, field for field.
    fn seed_session(id: Bson) -> Document {
        doc! {
            "_id": id,
            "title": "JavaScript Basics",
            "description": "Learn fundamentals",
            "instructor": "John Doe",
            "videoUrl": "https://youtube.com/...",
            "thumbnail": "https://...",
            "startTime": "2025-01-15T10:00:00Z",
            "isLive": true,
            "participants": 25,
            "createdAt": "2025-01-14T09:00:00Z",
        }
    }

    /// The seed's SessionParticipant example, field for field.
    fn seed_participant(session: Bson) -> Document {
        doc! {
            "_id": ObjectId::new(),
            "sessionId": session,
            "userId": "user456...",
            "userName": "Ahmed Ali",
            "email": "ahmed@example.com",
            "joinTime": "2025-01-15T10:02:00Z",
            "watchDuration": 45,
            "createdAt": "2025-01-15T10:02:00Z",
        }
    }

    #[test]
    fn seed_documents_with_object_ids_are_refused_naming_the_field() {
        let err =
            session_from_document(&seed_session(Bson::ObjectId(ObjectId::new()))).unwrap_err();
        assert_eq!(err.collection, "live_sessions");
        assert_eq!(err.field, "_id");
        assert!(err.problem.contains("ObjectId"), "{err}");
        let err = participant_from_document(&seed_participant(Bson::String("abc123...".into())))
            .unwrap_err();
        assert_eq!(err.collection, "session_participants");
        assert_eq!(err.field, "sessionId");
        assert!(err.to_string().contains("String"), "{err}");
        // Surfaces as a storage failure with the cause kept.
        let domain: livesessions_core::Error = err.into();
        assert!(matches!(domain, livesessions_core::Error::Storage(_)));
    }

    #[test]
    fn seed_documents_with_uuid_ids_are_read_with_defaults() {
        let id = SessionId::new();
        let s = session_from_document(&seed_session(session_id(id))).unwrap();
        assert_eq!(s.id, id);
        assert_eq!(s.status, SessionStatus::Live);
        assert_eq!(
            s.fields.start_time,
            Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0).unwrap()
        );
        assert_eq!(
            s.created_at,
            Utc.with_ymd_and_hms(2025, 1, 14, 9, 0, 0).unwrap()
        );
        assert_eq!(s.updated_at, s.created_at);
        assert_eq!(s.participants, 25);
        assert_eq!(s.version, 1);
        assert_eq!(s.fields.video_url.as_str(), "https://youtube.com/...");
        assert!(matches!(s.fields.thumbnail, Some(Thumbnail::Url(_))));

        let p = participant_from_document(&seed_participant(session_id(id))).unwrap();
        let joined = Utc.with_ymd_and_hms(2025, 1, 15, 10, 2, 0).unwrap();
        assert_eq!(p.session_id, id);
        assert_eq!(p.user_id.as_str(), "user456...");
        assert_eq!(p.first_joined_at, joined);
        assert_eq!(p.last_joined_at, joined);
        assert_eq!(p.last_seen, joined);
        assert_eq!(p.created_at, joined);
        assert_eq!(p.watch_seconds, 45 * 60);
        assert_eq!(p.watch_minutes(), 45);
        assert_eq!(p.join_count, 1);
        assert_eq!(p.present_since, None);
    }

    #[test]
    fn bad_fields_are_named() {
        let s = session();
        let mut d = session_document(&s);
        d.insert("title", "   ");
        let err = session_from_document(&d).unwrap_err();
        assert_eq!(err.field, "title");
        d.insert("title", 42);
        assert_eq!(session_from_document(&d).unwrap_err().field, "title");
        let mut d = session_document(&s);
        d.insert("startTime", "yesterday");
        assert_eq!(session_from_document(&d).unwrap_err().field, "startTime");
        let mut d = session_document(&s);
        d.insert("status", "paused");
        assert_eq!(session_from_document(&d).unwrap_err().field, "status");
        let mut d = session_document(&s);
        d.insert("participants", -1_i64);
        assert_eq!(session_from_document(&d).unwrap_err().field, "participants");
        let mut d = session_document(&s);
        d.remove("videoUrl");
        let err = session_from_document(&d).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.problem.as_str()),
            ("videoUrl", "is missing")
        );
        let mut d = participant_document(&participant(s.id));
        d.insert("email", "not an address");
        assert_eq!(participant_from_document(&d).unwrap_err().field, "email");
        let mut d = participant_document(&participant(s.id));
        d.insert(
            "sessionId",
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![0; 16],
            }),
        );
        assert_eq!(
            participant_from_document(&d).unwrap_err().field,
            "sessionId"
        );
    }

    #[test]
    fn a_date_changed_without_its_micros_wins() {
        let s = session();
        let mut d = session_document(&s);
        // Another program moved the start time by a minute and left `micros` alone.
        let moved = bson::DateTime::from_millis(1_736_935_260_000);
        d.insert("startTime", moved);
        assert_eq!(
            session_from_document(&d).unwrap().fields.start_time,
            moved.to_chrono()
        );
        // Without `micros` at all, every date reads to the millisecond.
        d.remove("micros");
        let back = session_from_document(&d).unwrap();
        assert_eq!(
            back.created_at,
            Utc.timestamp_millis_opt(1_736_931_600_250).unwrap()
        );
    }

    #[test]
    fn numbers_of_any_width_are_read() {
        let s = session();
        for value in [Bson::Int32(7), Bson::Int64(7), Bson::Double(7.0)] {
            let mut d = session_document(&s);
            d.insert("participants", value);
            assert_eq!(session_from_document(&d).unwrap().participants, 7);
        }
        let mut d = session_document(&s);
        d.insert("participants", Bson::Double(f64::NAN));
        assert_eq!(session_from_document(&d).unwrap_err().field, "participants");
    }
}
