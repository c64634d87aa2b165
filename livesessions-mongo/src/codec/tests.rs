//! Round trips of both documents and the reading of the original application's.

use bson::oid::ObjectId;
use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, Document};
use chrono::{DateTime, TimeZone as _, Utc};
use livesessions_core::roster::RosterMember;
use livesessions_core::values::{Email, Registration, ThumbnailKey, UserName};
use livesessions_core::{
    Joiner, LiveSession, NewSession, Participant, SessionId, SessionInput, SessionStatus, UserId,
};

use super::*;
use livesessions_core::values::Thumbnail;

#[path = "../../tests/legacy/mod.rs"]
mod legacy;

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
            end_time: Some("2025-01-15T11:30:00.654321Z".into()),
            auto_start: Some(true),
            auto_end: Some(true),
            recurrence: None,
            end_when_empty_minutes: Some("15".into()),
            capacity: Some("40".into()),
            restricted: Some(true),
            registration: Some("open".into()),
            attendance_threshold: Some("60".into()),
            late_after_minutes: Some("10".into()),
        },
        is_live: false,
    }
    .validate()
    .unwrap();
    let mut session = LiveSession::new(fields, at(-3600, 250_500));
    session.start(at(0, 999_999)).unwrap();
    session.participants = 25;
    session.series = Some(livesessions_core::SeriesLink {
        id: livesessions_core::SeriesId::new(),
        recurrence: livesessions_core::Recurrence::parse("FREQ=WEEKLY;BYDAY=MO;COUNT=3").unwrap(),
    });
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
fn session_document_has_the_original_and_our_fields() {
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
        "endTime": bson::DateTime::from_millis(1_736_940_600_654),
        "autoStart": true,
        "autoEnd": true,
        "endWhenEmptyMinutes": 15,
        "capacity": 40_i64,
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
        "searchGrams": [
            " ba", " do", " fu", "als", "ame", "arn", "asc", "asi", "ava", "bas", "cri", "dam",
            "doe", "ear", "ent", "fun", "hn ", "ics", "ipt", "jav", "joh", "lea", "men", "n d",
            "n f", "nda", "nta", "ohn", "pt ", "rip", "rn ", "scr", "sic", "t b", "tal", "und",
            "vas",
        ],
        "micros": {
            "startTime": 1_736_935_200_123_456_i64,
            "endTime": 1_736_940_600_654_321_i64,
            "startedAt": 1_736_935_200_999_999_i64,
            "endedAt": Bson::Null,
            "liveSince": 1_736_935_200_999_999_i64,
            "createdAt": 1_736_931_600_250_500_i64,
            "updatedAt": 1_736_935_200_999_999_i64,
        },
        "restricted": true,
        "registration": "open",
        "attendanceThreshold": 60_i32,
        "lateAfterMinutes": 10_i32,
        "seriesId": crate::codec::uuid(*s.series.as_ref().unwrap().id.as_uuid()),
        "recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
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

/// Every write of a session (insert and update alike) carries the trigrams of its searched text
/// as it is now: each field's own, folded, ASCII only, distinct and sorted.
#[test]
fn the_search_trigrams_follow_the_text_of_every_write() {
    let mut s = session();
    s.fields.title = livesessions_core::values::Title::parse("Ünïcode ABC").unwrap();
    s.fields.instructor = livesessions_core::values::Instructor::parse("Ab").unwrap();
    s.fields.description = livesessions_core::values::Description::parse("abc").unwrap();
    let grams = |d: &Document| d.get_array("searchGrams").unwrap().clone();
    let expected = bson::bson!(["cod", "de ", "e a", "abc", "ode", " ab"]);
    let mut expected = expected.as_array().unwrap().clone();
    expected.sort_by_key(|g| g.as_str().unwrap().to_owned());
    assert_eq!(grams(&session_document(&s)), expected);
    assert_eq!(
        grams(&session_fields(&s)),
        expected,
        "an update writes them too"
    );
    s.fields.title = livesessions_core::values::Title::parse("Xy").unwrap();
    assert_eq!(
        grams(&session_fields(&s)),
        bson::bson!(["abc"]).as_array().unwrap().clone()
    );
    // A legacy document without them is read as before.
    let mut d = session_document(&s);
    d.remove("searchGrams");
    assert_eq!(session_from_document(&d).unwrap(), s);
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
            "firstPresentAt": bson::DateTime::from_millis(1_736_935_320_000),
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
                "firstPresentAt": 1_736_935_320_000_001_i64,
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
    assert_eq!(
        back.first_present_at,
        Some(at(120, 1)),
        "kept after leaving"
    );
}

/// Documents written before the attendance rules and `firstPresentAt` existed read with
/// their defaults: unrestricted, registration closed, default threshold, nobody late, never
/// present as far as is known.
#[test]
fn documents_without_the_attendance_rules_read_with_defaults() {
    let s = session();
    let mut d = session_document(&s);
    for field in [
        "restricted",
        "registration",
        "attendanceThreshold",
        "lateAfterMinutes",
    ] {
        d.remove(field);
    }
    let back = session_from_document(&d).unwrap();
    assert!(!back.fields.restricted);
    assert_eq!(back.fields.registration, Registration::Closed);
    assert_eq!(back.fields.attendance_threshold, None);
    assert_eq!(back.fields.threshold_percent(), 75);
    assert_eq!(back.fields.late_after, None);
    // Null reads like a missing field.
    d.insert("attendanceThreshold", Bson::Null);
    d.insert("restricted", Bson::Null);
    assert!(!session_from_document(&d).unwrap().fields.restricted);

    let mut p = participant_document(&participant(s.id));
    p.remove("firstPresentAt");
    p.get_document_mut("micros")
        .unwrap()
        .remove("firstPresentAt");
    assert_eq!(
        participant_from_document(&p).unwrap().first_present_at,
        None
    );
    let legacy = participant_from_document(&legacy_participant(session_id(s.id))).unwrap();
    assert_eq!(legacy.first_present_at, None);
}

#[test]
fn bad_attendance_rules_are_named() {
    let s = session();
    for (field, value) in [
        ("attendanceThreshold", Bson::Int32(0)),
        ("attendanceThreshold", Bson::Int32(101)),
        ("lateAfterMinutes", Bson::Int32(-1)),
        ("lateAfterMinutes", Bson::String("10".into())),
        ("registration", Bson::String("maybe".into())),
        ("restricted", Bson::String("yes".into())),
    ] {
        let mut d = session_document(&s);
        d.insert(field, value.clone());
        let err = session_from_document(&d).unwrap_err();
        assert_eq!(
            (err.collection, err.field.as_str()),
            ("live_sessions", field),
            "{value:?}"
        );
    }
}

#[test]
fn roster_members_round_trip_and_bad_ones_name_the_field() {
    let id = SessionId::new();
    let member = RosterMember {
        user_id: UserId::parse("u1").unwrap(),
        user_name: UserName::parse("Ada").unwrap(),
        email: Email::parse("ada@example.com").unwrap(),
        registered: true,
        added_at: at(5, 123),
    };
    let d = roster_member_document(id, &member);
    assert_eq!(
        d,
        doc! {
            "sessionId": session_id(id),
            "userId": "u1",
            "userName": "Ada",
            "email": "ada@example.com",
            "registered": true,
            "addedAt": bson::DateTime::from_millis(1_736_935_205_000),
            "micros": { "addedAt": 1_736_935_205_000_123_i64 },
        }
    );
    assert_eq!(roster_member_from_document(&d).unwrap(), member);
    for (field, value) in [
        ("userId", Bson::String(String::new())),
        ("email", Bson::String("nope".into())),
        ("addedAt", Bson::Null),
        ("registered", Bson::Int32(1)),
    ] {
        let mut bad = d.clone();
        bad.insert(field, value.clone());
        let err = roster_member_from_document(&bad).unwrap_err();
        assert_eq!(
            (err.collection, err.field.as_str()),
            ("live_session_roster_members", field),
            "{value:?}"
        );
    }
}

/// The original application's participant example, joined at its RFC 3339 time.
fn legacy_participant(session: Bson) -> Document {
    legacy::legacy_participant(
        session,
        "user456...",
        Bson::String("2025-01-15T10:02:00Z".into()),
    )
}

#[test]
fn legacy_documents_with_object_ids_are_refused_naming_the_field() {
    let err = session_from_document(&legacy::legacy_session(Bson::ObjectId(ObjectId::new())))
        .unwrap_err();
    assert_eq!(err.collection, "live_sessions");
    assert_eq!(err.field, "_id");
    assert!(err.problem.contains("ObjectId"), "{err}");
    let err = participant_from_document(&legacy_participant(Bson::String("abc123...".into())))
        .unwrap_err();
    assert_eq!(err.collection, "session_participants");
    assert_eq!(err.field, "sessionId");
    assert!(err.to_string().contains("String"), "{err}");
    // Surfaces as a storage failure with the cause kept.
    let domain: livesessions_core::Error = err.into();
    assert!(matches!(domain, livesessions_core::Error::Storage(_)));
}

#[test]
fn legacy_documents_with_uuid_ids_are_read_with_defaults() {
    let id = SessionId::new();
    let s = session_from_document(&legacy::legacy_session(session_id(id))).unwrap();
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

    let p = participant_from_document(&legacy_participant(session_id(id))).unwrap();
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

#[test]
fn events_round_trip_and_bad_ones_name_the_field() {
    use livesessions_core::events::LoggedEvent;
    use livesessions_core::{EventId, EventKind};

    let id = SessionId::new();
    for kind in EventKind::ALL {
        let event = LoggedEvent {
            id: EventId::new(42).unwrap(),
            kind,
            session_id: id,
            at: Utc.timestamp_millis_opt(1_736_935_200_123).unwrap(),
        };
        let d = event_document(event.id, kind, id, event.at);
        assert_eq!(d.get_i64("_id").unwrap(), 42);
        assert_eq!(d.get_str("kind").unwrap(), kind.as_str());
        assert_eq!(event_from_document(&d).unwrap(), event);
    }
    let good = event_document(EventId::new(7).unwrap(), EventKind::Live, id, at(0, 0));
    for (field, value) in [
        ("kind", Bson::String("exploded".into())),
        ("kind", Bson::Int32(1)),
        ("_id", Bson::Int64(-1)),
        ("_id", Bson::String("7".into())),
        ("sessionId", Bson::String(id.to_string())),
        ("at", Bson::Null),
    ] {
        let mut d = good.clone();
        d.insert(field, value.clone());
        let error = event_from_document(&d).unwrap_err();
        assert_eq!(
            (error.collection, error.field.as_str()),
            ("live_session_events", field),
            "{value:?}"
        );
    }
}
