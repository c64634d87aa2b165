//! Sessions: storing, reading back, changing and deleting.

use std::sync::Arc;

use chrono::TimeDelta;

use crate::analytics::{AttendanceSort, SortOrder};
use crate::error::{Conflict, Error};
use crate::events::EventKind;
use crate::ids::SessionId;
use crate::ports::Store;
use crate::session::{LiveSession, NewSession, SessionInput, SessionStatus};
use crate::testing::harness::Act::{Join, Leave};
use crate::testing::harness::{assert_not_found, assert_version_mismatch, rfc3339, Harness};
use crate::values::{ImageKind, Thumbnail, ThumbnailKey, TimeZone};

/// Every field of a session is stored and read back exactly: texts with non-ASCII characters,
/// newlines and quotes, both kinds of thumbnail, the time zone or its absence, the schedule
/// (end time, automatic start and end, minutes empty before ending) or its absence, every status
/// with its times (to the microsecond), live seconds and the version.
pub async fn sessions_round_trip_every_field(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let micros = |secs: i64, us: i64| h.at(secs) + TimeDelta::microseconds(us);

    let fields = NewSession {
        fields: SessionInput {
            title: Some(format!(
                "{} Ünïcode — Rust 🦀 'single' \"double\" 100% a_b",
                h.tag
            )),
            description: Some(
                "Line one\nLine two\twith a tab; <b>not html</b> \\ backslash".into(),
            ),
            instructor: Some("Zoë O'Brien".into()),
            video_url: Some("https://vimeo.com/76979871".into()),
            thumbnail_url: Some("https://images.example.com/t.png?size=large&x=%20y".into()),
            start_time: Some(rfc3339(micros(3600, 123_456))),
            timezone: Some("Asia/Karachi".into()),
            end_time: Some(rfc3339(micros(7200, 7))),
            auto_start: Some(true),
            auto_end: Some(true),
            recurrence: None,
            end_when_empty_minutes: Some("1440".into()),
            capacity: Some("250".into()),
            restricted: Some(true),
            registration: Some("open".into()),
            attendance_threshold: Some("60".into()),
            late_after_minutes: Some("10".into()),
        },
        ..Default::default()
    }
    .validate()
    .expect("valid fields");
    let mut ended = LiveSession::new(fields, micros(1, 654_321));
    ended.status = SessionStatus::Ended;
    ended.started_at = Some(micros(10, 1));
    ended.ended_at = Some(micros(3700, 999_999));
    ended.live_seconds = 3690;
    ended.updated_at = micros(3700, 999_999);
    ended.version = 7;
    h.store
        .insert_session(&ended)
        .await
        .expect("insert_session");
    assert_eq!(
        h.session(ended.id).await,
        ended,
        "an ended session with a thumbnail link and a time zone must read back unchanged"
    );

    let fields = NewSession::new(
        format!("{} Custom stream", h.tag),
        "J",
        "https://stream.example.com/live/index.m3u8?token=a%2Fb",
        "2031-03-04T05:06:07.000001-08:00",
    )
    .validate()
    .expect("valid fields");
    let mut live = LiveSession::new(fields, micros(2, 0));
    live.fields.thumbnail = Some(Thumbnail::Uploaded(ThumbnailKey::generate(ImageKind::Webp)));
    live.status = SessionStatus::Live;
    live.started_at = Some(micros(5, 500_000));
    live.ended_at = Some(micros(50, 250_000));
    live.live_since = Some(micros(100, 42));
    live.live_seconds = 45;
    live.updated_at = micros(100, 42);
    live.version = 4;
    h.store.insert_session(&live).await.expect("insert_session");
    assert_eq!(
        h.session(live.id).await,
        live,
        "a restarted live session with an uploaded thumbnail and no time zone must read back unchanged"
    );
    assert_eq!(
        h.session(live.id).await.fields.video_url.embed_url(),
        None,
        "a custom stream has no embed URL"
    );
    assert_eq!(
        h.session(ended.id).await.fields.video_url.embed_url(),
        Some("https://player.vimeo.com/video/76979871")
    );

    // Through the service, with the clock at a microsecond fraction.
    h.clock.set(micros(7, 777_777));
    let created = h
        .create_with("scheduled", 86_400, |fields| {
            fields.timezone = Some("America/New_York".into());
            fields.thumbnail_url = Some("https://cdn.example.com/thumb.jpg".into());
            fields.description = Some("A description".into());
        })
        .await;
    assert_eq!(created.status, SessionStatus::Scheduled);
    assert_eq!(created.created_at, micros(7, 777_777));
    assert_eq!(created.updated_at, micros(7, 777_777));
    assert_eq!(created.version, 1);
    assert_eq!(created.participants, 0);
    assert_eq!(
        created.fields.timezone,
        Some(TimeZone::parse("America/New_York").expect("a zone"))
    );
    assert_eq!(h.session(created.id).await, created);
    let view = h
        .service
        .get(None, created.id)
        .await
        .expect("get through the service");
    assert_eq!(view.session, created);

    assert_eq!(
        h.store
            .get_session(SessionId::new())
            .await
            .expect("get_session of an unknown id"),
        None,
        "an unknown id reads as None"
    );
}

/// Inserting a session whose id is already stored is `Conflict(AlreadyExists)` and leaves the
/// stored session alone.
pub async fn inserting_an_existing_id_conflicts(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create("original", 0).await;
    let mut copy = session.clone();
    copy.fields.title = crate::values::Title::parse("a different title").expect("a title");
    match h.store.insert_session(&copy).await {
        Err(Error::Conflict(Conflict::AlreadyExists { .. })) => {}
        other => {
            panic!("inserting an existing id: expected Conflict(AlreadyExists), got {other:?}")
        }
    }
    assert_eq!(h.session(session.id).await, session);
}

/// `update_session` replaces the session only when the stored version is one less than the
/// given one: a stale or skipped version is `Conflict(VersionMismatch)`, a missing session
/// `NotFound`; the participant count is the store's, whatever the given session says.
pub async fn update_session_checks_the_version(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create("versions", 0).await;
    assert_eq!(session.version, 1);

    let mut stale = session.clone();
    stale.fields.title = crate::values::Title::parse("stale").expect("a title");
    assert_version_mismatch(h.store.update_session(&stale, EventKind::Updated).await);
    let mut skipped = stale.clone();
    skipped.version = 3;
    assert_version_mismatch(h.store.update_session(&skipped, EventKind::Updated).await);
    assert_eq!(
        h.session(session.id).await,
        session,
        "a refused update must change nothing"
    );

    let mut next = session.clone();
    next.fields.title = crate::values::Title::parse("renamed").expect("a title");
    next.version = 2;
    next.updated_at = h.at(5);
    next.participants = 99;
    let stored = h
        .store
        .update_session(&next, EventKind::Updated)
        .await
        .expect("update_session");
    assert_eq!(
        stored.participants, 0,
        "the stored participant count is kept"
    );
    assert_eq!(stored.fields.title.as_str(), "renamed");
    assert_eq!(stored.version, 2);
    assert_eq!(stored.updated_at, h.at(5));
    assert_eq!(h.session(session.id).await, stored);

    // The count stays the store's after joins, too.
    h.join(&h.user("ahmed"), session.id).await;
    let mut again = h.session(session.id).await;
    assert_eq!(again.participants, 1);
    again.participants = 0;
    again.version += 1;
    let stored = h
        .store
        .update_session(&again, EventKind::Updated)
        .await
        .expect("update_session");
    assert_eq!(
        stored.participants, 1,
        "the stored participant count is kept"
    );
    assert_eq!(h.session(session.id).await.participants, 1);

    // A version that was current once is stale now.
    assert_version_mismatch(h.store.update_session(&next, EventKind::Updated).await);

    let mut missing = session.clone();
    missing.id = SessionId::new();
    missing.version = 2;
    assert_not_found(h.store.update_session(&missing, EventKind::Updated).await);
}

/// A partial update through the service changes exactly the given fields, bumps the version by
/// one, clears the thumbnail and the time zone when given empty, and honours an expected version.
pub async fn partial_updates_change_only_given_fields(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let created = h
        .create_with("partial", 0, |fields| {
            fields.description = Some("Before".into());
            fields.thumbnail_url = Some("https://cdn.example.com/a.png".into());
            fields.timezone = Some("Asia/Karachi".into());
        })
        .await;

    h.set(10);
    let renamed = h
        .try_update(created.id, |update| {
            update.fields.title = Some(format!("{} renamed", h.tag))
        })
        .await
        .expect("update the title");
    let mut expected = created.clone();
    expected.fields.title =
        crate::values::Title::parse(&format!("{} renamed", h.tag)).expect("title");
    expected.version = 2;
    expected.updated_at = h.at(10);
    assert_eq!(
        renamed, expected,
        "only the title, the version and updated_at change"
    );
    assert_eq!(h.session(created.id).await, expected);

    h.set(20);
    let changed = h
        .try_update(created.id, |update| {
            update.fields.description = Some("After\nwith two lines".into());
            update.fields.instructor = Some("John Doe".into());
            update.fields.video_url = Some("https://youtu.be/abc123".into());
            update.fields.start_time = Some("2031-05-06T07:08:09.5+02:00".into());
            update.fields.timezone = Some("Europe/Berlin".into());
            update.expected_version = Some(2);
        })
        .await
        .expect("update several fields");
    assert_eq!(changed.fields.description.as_str(), "After\nwith two lines");
    assert_eq!(changed.fields.instructor.as_str(), "John Doe");
    assert_eq!(
        changed.fields.video_url.embed_url(),
        Some("https://www.youtube.com/embed/abc123")
    );
    assert_eq!(
        rfc3339(changed.fields.start_time),
        "2031-05-06T05:08:09.500000Z"
    );
    assert_eq!(
        changed.fields.timezone.map(|z| z.name()),
        Some("Europe/Berlin")
    );
    assert_eq!(
        changed.fields.thumbnail, created.fields.thumbnail,
        "the thumbnail is kept"
    );
    assert_eq!(changed.version, 3);
    assert_eq!(h.session(created.id).await, changed);

    let cleared = h
        .try_update(created.id, |update| {
            update.fields.thumbnail_url = Some(String::new());
            update.fields.timezone = Some(" ".into());
        })
        .await
        .expect("clear the thumbnail and the zone");
    assert_eq!(cleared.fields.thumbnail, None);
    assert_eq!(cleared.fields.timezone, None);
    assert_eq!(cleared.version, 4);
    assert_eq!(h.session(created.id).await, cleared);

    // A stale expected version is a conflict and changes nothing.
    let refused = h
        .try_update(created.id, |update| {
            update.fields.title = Some("never".into());
            update.expected_version = Some(3);
        })
        .await;
    assert_version_mismatch(refused);
    // Invalid fields are all reported and change nothing.
    match h
        .try_update(created.id, |update| {
            update.fields.title = Some(" ".into());
            update.fields.video_url = Some("javascript:alert(1)".into());
        })
        .await
    {
        Err(Error::Validation(errors)) => assert_eq!(errors.len(), 2, "{errors:?}"),
        other => panic!("expected Validation, got {other:?}"),
    }
    // An empty update changes nothing, not even the version.
    let unchanged = h
        .try_update(created.id, |_| {})
        .await
        .expect("an empty update");
    assert_eq!(unchanged, cleared);
    assert_eq!(h.session(created.id).await, cleared);

    assert_not_found(
        h.try_update(SessionId::new(), |update| {
            update.fields.title = Some("x".into())
        })
        .await,
    );
}

/// Deleting a session removes its participants with it: they are gone from reads,
/// participation and analytics; other sessions keep theirs.
pub async fn delete_cascades_to_participants(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let doomed = h.create_live("doomed").await;
    let kept = h.create_live("kept").await;
    let ahmed = h.user("ahmed");
    let sara = h.user("sara");
    h.play(&[
        (&ahmed, doomed.id, &[Join(0)]),
        (&sara, doomed.id, &[Join(0)]),
        (&ahmed, kept.id, &[Join(0), Leave(30)]),
    ])
    .await;

    h.service
        .delete(Some(&h.admin), doomed.id)
        .await
        .expect("delete");
    assert_eq!(h.store.get_session(doomed.id).await.expect("get"), None);
    for who in [&ahmed, &sara] {
        assert_eq!(
            h.store
                .get_participant(doomed.id, &who.user_id)
                .await
                .expect("get_participant"),
            None,
            "participants are deleted with their session"
        );
    }
    let participation = h.participation(&ahmed, &ahmed, 100).await;
    assert_eq!(participation.sessions_joined, 1);
    assert_eq!(participation.total_watch_seconds, 30);
    assert_eq!(
        participation
            .sessions
            .iter()
            .map(|r| r.session_id)
            .collect::<Vec<_>>(),
        [kept.id]
    );
    let sara_history = h.participation(&sara, &sara, 100).await;
    assert_eq!(sara_history.sessions_joined, 0);
    assert!(sara_history.sessions.is_empty());

    assert_not_found(h.service.report(Some(&h.admin), doomed.id, None).await);
    assert_not_found(h.try_attendance(doomed.id, 100).await);
    assert_not_found(h.service.heartbeat(Some(&ahmed), doomed.id).await);
    assert_not_found(h.try_join(&ahmed, doomed.id).await);
    assert_not_found(h.service.delete(Some(&h.admin), doomed.id).await);
    assert!(
        !h.store
            .delete_session(doomed.id)
            .await
            .expect("delete_session"),
        "deleting a missing session returns false"
    );

    assert_eq!(h.session(kept.id).await.participants, 1);
    assert_eq!(
        h.names(
            &h.attendance(kept.id, AttendanceSort::JoinTime, SortOrder::Asc, 0, 100)
                .await
        ),
        ["ahmed"]
    );
}
