//! The document of a session.

use bson::{doc, Bson, Document};
use livesessions_core::values::Capacity;
use livesessions_core::values::EmptyMinutes;
use livesessions_core::values::{
    Description, Instructor, Recurrence, Thumbnail, ThumbnailKey, ThumbnailUrl, TimeZone, Title,
    VideoUrl,
};
use livesessions_core::{LiveSession, SeriesId, SeriesLink, SessionFields, SessionId};

use super::attendance_rules::{attendance_rule_fields, AttendanceRules};
use super::{
    date, long, micros, opt_date, opt_micros, session_id, uuid, DocumentError, Reader, MICROS,
};
use crate::documents::SESSIONS;
use crate::queries::{session_grams, SEARCH_GRAMS};

/// The fields of a session document other than `_id` and `participants` (the store's counter):
/// what an update replaces. They include `searchGrams`, the trigrams of the searched text
/// ([`session_grams`]), so that every insert and update keeps them current.
pub(crate) fn session_fields(session: &LiveSession) -> Document {
    let key = session.list_key();
    let (thumbnail, thumbnail_key) = match &session.fields.thumbnail {
        Some(Thumbnail::Url(url)) => (Bson::String(url.as_str().to_owned()), Bson::Null),
        Some(Thumbnail::Uploaded(key)) => (Bson::Null, Bson::String(key.as_str().to_owned())),
        None => (Bson::Null, Bson::Null),
    };
    let mut fields = doc! {
        "title": session.fields.title.as_str(),
        "description": session.fields.description.as_str(),
        "instructor": session.fields.instructor.as_str(),
        "videoUrl": session.fields.video_url.as_str(),
        "thumbnail": thumbnail,
        "thumbnailKey": thumbnail_key,
        "startTime": date(session.fields.start_time),
        "timezone": session.fields.timezone.map(|tz| Bson::String(tz.name().to_owned())).unwrap_or(Bson::Null),
        "endTime": opt_date(session.fields.end_time),
        "autoStart": session.fields.auto_start,
        "autoEnd": session.fields.auto_end,
        "endWhenEmptyMinutes": session.fields.end_when_empty.map(|m| Bson::Int32(i32::from(m.get()))).unwrap_or(Bson::Null),
        "capacity": session.fields.capacity.map(|c| Bson::Int64(i64::from(c.get()))).unwrap_or(Bson::Null),
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
        SEARCH_GRAMS: session_grams(&[
            session.fields.title.as_str(),
            session.fields.instructor.as_str(),
            session.fields.description.as_str(),
        ]),
        MICROS: {
            "startTime": micros(session.fields.start_time),
            "endTime": opt_micros(session.fields.end_time),
            "startedAt": opt_micros(session.started_at),
            "endedAt": opt_micros(session.ended_at),
            "liveSince": opt_micros(session.live_since),
            "createdAt": micros(session.created_at),
            "updatedAt": micros(session.updated_at),
        },
    };
    fields.extend(attendance_rule_fields(&session.fields));
    fields
}

/// The complete document of a session. An occurrence of a series also carries `seriesId` (a
/// UUID, binary subtype 4) and `recurrence` (the rule); other sessions have neither field, so
/// that the partial index on `seriesId` holds only occurrences. Neither ever changes, so
/// updates ([`session_fields`]) leave them alone.
pub(crate) fn session_document(session: &LiveSession) -> Document {
    let mut document = doc! { "_id": session_id(session.id) };
    document.extend(session_fields(session));
    if let Some(link) = &session.series {
        document.insert("seriesId", uuid(*link.id.as_uuid()));
        document.insert("recurrence", link.recurrence.as_str());
    }
    document.insert("participants", long(session.participants));
    document
}

/// Reads a session document.
pub(crate) fn session_from_document(document: &Document) -> Result<LiveSession, DocumentError> {
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
    let rules = AttendanceRules::read(&r)?;
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
            end_time: r.opt_date("endTime")?,
            auto_start: r.opt_bool("autoStart")?.unwrap_or(false),
            auto_end: r.opt_bool("autoEnd")?.unwrap_or(false),
            end_when_empty: r
                .opt_int("endWhenEmptyMinutes")?
                .map(|m| r.valid("endWhenEmptyMinutes", EmptyMinutes::new(m)))
                .transpose()?,
            capacity: r
                .opt_int("capacity")?
                .map(|c| r.valid("capacity", Capacity::new(c)))
                .transpose()?,
            restricted: rules.restricted,
            registration: rules.registration,
            attendance_threshold: rules.attendance_threshold,
            late_after: rules.late_after,
        },
        status,
        started_at: r.opt_date("startedAt")?,
        ended_at: r.opt_date("endedAt")?,
        live_since: r.opt_date("liveSince")?,
        live_seconds: r.opt_int("liveSeconds")?.unwrap_or(0),
        participants: r.opt_count("participants")?.unwrap_or(0),
        // Counted by the store when it reads the session (`counted_sessions`), never stored.
        reserved_seats: 0,
        created_at,
        updated_at: r.opt_date("updatedAt")?.unwrap_or(created_at),
        version: r.opt_count("version")?.unwrap_or(1),
        series: match document.get("seriesId") {
            None | Some(Bson::Null) => None,
            Some(_) => Some(SeriesLink {
                id: SeriesId::from_uuid(r.uuid("seriesId")?),
                recurrence: r.valid("recurrence", Recurrence::parse(r.str("recurrence")?))?,
            }),
        },
    })
}
