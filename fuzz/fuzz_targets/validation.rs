//! Validation: every value-object constructor, `NewSession::validate`,
//! `SessionUpdate::validate` (the roster rules `restricted`, `registration`,
//! `attendanceThreshold` and `lateAfterMinutes` among their fields) and `ListQuery::parse` on
//! arbitrary text. Nothing panics, every refusal is a validation error naming known fields, and
//! every accepted value obeys its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livesessions_core::{
    Description, Email, Error, Instructor, ListQuery, NewSession, SessionId, SessionInput,
    SessionUpdate, ThumbnailKey, ThumbnailUrl, TimeZone, Title, UserId, UserName,
};

const FIELDS: &[&str] = &[
    "title",
    "description",
    "instructor",
    "videoUrl",
    "thumbnail",
    "thumbnailUrl",
    "startTime",
    "timezone",
    "status",
    "q",
    "limit",
    "cursor",
    "isLive",
    "version",
    "endTime",
    "autoEnd",
    "recurrence",
    "endWhenEmptyMinutes",
    "capacity",
    "registration",
    "attendanceThreshold",
    "lateAfterMinutes",
];

fn field_errors(error: Error) -> Vec<String> {
    match error {
        Error::Validation(errors) => {
            assert!(!errors.is_empty(), "a validation error without fields");
            errors.into_iter().map(|e| e.field).collect()
        }
        other => panic!("validation failed with a non-validation error: {other:?}"),
    }
}

fn local_http(url: &str) -> bool {
    ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|prefix| url.starts_with(prefix))
}

fn no_controls(text: &str, allow_newlines: bool) -> bool {
    text.chars()
        .all(|c| !c.is_control() || (allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Up to eight fields separated by U+001F (unit separator).
    let mut parts = text.split('\u{1f}');
    let mut next = || parts.next().unwrap_or("").to_owned();
    let (a, b, c, d, e, f, g, h) = (
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
    );

    if let Ok(title) = Title::parse(&a) {
        let n = title.as_str().chars().count();
        assert!((1..=200).contains(&n) && no_controls(title.as_str(), false));
        assert_eq!(title.as_str(), title.as_str().trim());
    }
    if let Ok(description) = Description::parse(&b) {
        assert!(description.as_str().chars().count() <= 5000);
        assert!(no_controls(description.as_str(), true));
    }
    if let Ok(instructor) = Instructor::parse(&c) {
        let n = instructor.as_str().chars().count();
        assert!((1..=100).contains(&n) && no_controls(instructor.as_str(), false));
    }
    if let Ok(name) = UserName::parse(&a) {
        assert!((1..=100).contains(&name.as_str().chars().count()));
    }
    if let Ok(email) = Email::parse(&b) {
        assert!(email.as_str().len() <= 254 && email.as_str().contains('@'));
    }
    if let Ok(user) = UserId::parse(&c) {
        let n = user.as_str().chars().count();
        assert!((1..=128).contains(&n));
    }
    if let Ok(url) = ThumbnailUrl::parse(&d) {
        // The rules of video URLs: https, or plain http on a loopback host only.
        let lower = url.as_str().to_ascii_lowercase();
        assert!(
            lower.starts_with("https://") || local_http(&lower),
            "accepted {lower}"
        );
    }
    let _ = ThumbnailKey::parse(&e);
    if let Ok(zone) = TimeZone::parse(&f) {
        assert_eq!(
            TimeZone::parse(zone.name()).expect("a known zone").name(),
            zone.name()
        );
    }
    let _ = SessionId::parse_field(&g, "sessionId");
    if let Ok(at) = livesessions_core::values::parse_start_time(&g, "startTime", TimeZone::UTC) {
        // Stored in UTC: the RFC 3339 form parses back to the same instant.
        let again = livesessions_core::values::parse_instant(&at.to_rfc3339(), "startTime")
            .expect("a normalised time parses");
        assert_eq!(again, at);
    }

    let new = NewSession {
        fields: SessionInput {
            title: Some(a.clone()),
            description: Some(b.clone()).filter(|s| !s.is_empty()),
            instructor: Some(c.clone()),
            video_url: Some(d.clone()),
            thumbnail_url: Some(e.clone()).filter(|s| !s.is_empty()),
            start_time: Some(g.clone()),
            timezone: Some(f.clone()).filter(|s| !s.is_empty()),
            end_time: Some(h.clone()).filter(|s| !s.is_empty()),
            auto_start: Some(h.len() % 2 == 0),
            auto_end: Some(h.len() % 3 == 0),
            recurrence: Some(e.clone()).filter(|s| s.starts_with("FREQ")),
            end_when_empty_minutes: Some(h.clone()).filter(|s| !s.is_empty()),
            capacity: Some(h.clone()).filter(|s| !s.is_empty()),
            restricted: Some(h.len() % 5 == 0),
            registration: Some(f.clone()).filter(|s| !s.is_empty()),
            attendance_threshold: Some(h.clone()).filter(|s| !s.is_empty()),
            late_after_minutes: Some(g.clone()).filter(|s| s.len() < 6),
        },
        is_live: h.is_empty(),
    };
    match new.validate() {
        Ok(fields) => {
            assert!(!fields.title.as_str().is_empty());
            assert!((1..=100).contains(&fields.threshold_percent()));
            assert!(fields.late_after.is_none_or(|m| m.get() <= 1440));
        }
        Err(error) => {
            for field in field_errors(error) {
                assert!(FIELDS.contains(&field.as_str()), "unknown field {field}");
            }
        }
    }

    let some = |s: &String| Some(s.clone()).filter(|s| !s.starts_with('-'));
    let update = SessionUpdate {
        fields: SessionInput {
            title: some(&a),
            description: some(&b),
            instructor: some(&c),
            video_url: some(&d),
            thumbnail_url: some(&e),
            start_time: some(&g),
            timezone: some(&f),
            end_time: some(&h),
            auto_start: None,
            auto_end: h.parse().ok(),
            recurrence: None,
            end_when_empty_minutes: some(&h),
            capacity: some(&h),
            restricted: h.parse().ok(),
            registration: some(&f),
            attendance_threshold: some(&h),
            late_after_minutes: some(&g),
        },
        is_live: h.parse().ok(),
        expected_version: h.parse().ok(),
    };
    if let Err(error) = update.validate() {
        for field in field_errors(error) {
            assert!(FIELDS.contains(&field.as_str()), "unknown field {field}");
        }
    }

    let limit = h.parse::<u32>().ok();
    match ListQuery::parse(Some(&a), Some(&b), limit, Some(&c)) {
        Ok(query) => {
            assert!((1..=ListQuery::MAX_LIMIT).contains(&query.limit));
            if let Some(search) = &query.search {
                assert!(search.chars().count() <= ListQuery::MAX_SEARCH_CHARS);
            }
        }
        Err(error) => {
            for field in field_errors(error) {
                assert!(FIELDS.contains(&field.as_str()), "unknown field {field}");
            }
        }
    }
});
