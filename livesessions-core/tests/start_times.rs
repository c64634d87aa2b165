//! Start times without an offset, through the service: read in the session's zone, else in the
//! service's default zone; a time the zone skips is a validation error naming `startTime`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use livesessions_core::{
    Actor, Error, LiveSession, LiveSessions, MemoryStore, NewSession, Result, ServiceSettings,
    SessionId, SessionUpdate, TimeZone, UserId,
};

fn service(default_zone: &str) -> LiveSessions {
    LiveSessions::builder(Arc::new(MemoryStore::new()))
        .settings(ServiceSettings {
            default_time_zone: TimeZone::parse(default_zone).expect("a known zone"),
            ..ServiceSettings::default()
        })
        .build()
}

fn admin() -> Actor {
    Actor::admin(UserId::parse("admin").expect("a valid id"))
}

fn new_session(start: &str, timezone: Option<&str>) -> NewSession {
    let mut session = NewSession::new("Rust", "Ferris", "https://youtu.be/abc", start);
    session.fields.timezone = timezone.map(Into::into);
    session
}

/// An update moving the start to `start` in `timezone`.
fn reschedule(start: &str, timezone: Option<&str>) -> SessionUpdate {
    let mut update = SessionUpdate::default();
    update.fields.start_time = Some(start.into());
    update.fields.timezone = timezone.map(Into::into);
    update
}

/// Creates, as an admin, a session starting at `start` in `timezone`.
async fn create(
    service: &LiveSessions,
    start: &str,
    timezone: Option<&str>,
) -> Result<LiveSession> {
    service
        .create(Some(&admin()), new_session(start, timezone), None)
        .await
}

/// Applies `update` to session `id` as an admin.
async fn update(
    service: &LiveSessions,
    id: SessionId,
    update: SessionUpdate,
) -> Result<LiveSession> {
    service.update(Some(&admin()), id, update, None).await
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 time")
        .to_utc()
}

fn start_time_error(error: Error) -> &'static str {
    match error {
        Error::Validation(errors) => {
            let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["startTime"], "{errors:?}");
            errors[0].code
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_reads_a_local_start_in_the_session_zone_else_the_default() {
    let service = service("America/New_York");
    let cases = [
        (
            "2025-01-15T10:00",
            Some("Asia/Karachi"),
            "2025-01-15T05:00:00Z",
        ),
        ("2025-01-15T10:00:00", None, "2025-01-15T15:00:00Z"),
        (
            "2025-01-15T10:00:00+01:00",
            Some("Asia/Karachi"),
            "2025-01-15T09:00:00Z",
        ),
    ];
    for (start, zone, expected) in cases {
        let s = create(&service, start, zone).await.unwrap();
        assert_eq!(s.fields.start_time, utc(expected), "{start} in {zone:?}");
    }
    // The default of the default is UTC.
    let utc_service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
    let s = create(&utc_service, "2025-01-15T10:00", None)
        .await
        .unwrap();
    assert_eq!(s.fields.start_time, utc("2025-01-15T10:00:00Z"));
}

#[tokio::test]
async fn create_refuses_a_local_start_in_a_daylight_saving_gap() {
    let berlin = service("Europe/Berlin");
    let error = create(&berlin, "2025-03-30T02:30", None).await.unwrap_err();
    assert_eq!(start_time_error(error), "invalid_local_time");
    let error = create(&service("UTC"), "2025-03-30T02:30", Some("Europe/Berlin"))
        .await
        .unwrap_err();
    assert_eq!(start_time_error(error), "invalid_local_time");
    // An ambiguous time (the clocks go back) is its earlier instant.
    let s = create(&berlin, "2025-10-26T02:30", None).await.unwrap();
    assert_eq!(s.fields.start_time, utc("2025-10-26T00:30:00Z"));
}

#[tokio::test]
async fn update_reads_a_local_start_in_the_new_zone_else_the_stored_one_else_the_default() {
    let service = service("America/New_York");
    let admin = admin();
    let s = create(&service, "2025-01-15T10:00:00Z", Some("Asia/Karachi"))
        .await
        .unwrap();
    // The stored zone.
    let s = update(&service, s.id, reschedule("2025-02-01T09:00", None))
        .await
        .unwrap();
    assert_eq!(s.fields.start_time, utc("2025-02-01T04:00:00Z"));
    // The zone given with it.
    let s = update(
        &service,
        s.id,
        reschedule("2025-02-01T09:00", Some("Europe/Berlin")),
    )
    .await
    .unwrap();
    assert_eq!(s.fields.start_time, utc("2025-02-01T08:00:00Z"));
    // A time the stored zone skips changes nothing.
    let before = service.get(Some(&admin), s.id).await.unwrap().session;
    let mut renamed = reschedule("2025-03-30T02:30", None);
    renamed.fields.title = Some("Renamed".into());
    let error = update(&service, s.id, renamed).await.unwrap_err();
    assert_eq!(start_time_error(error), "invalid_local_time");
    assert_eq!(
        service.get(Some(&admin), s.id).await.unwrap().session,
        before
    );
    // The zone removed: the service's default.
    let s = update(&service, s.id, reschedule("2025-02-01T09:00", Some("")))
        .await
        .unwrap();
    assert_eq!(s.fields.start_time, utc("2025-02-01T14:00:00Z"));
    assert_eq!(s.fields.timezone, None);
}
