//! Service paths a real store cannot easily reach, against mocked ports: storage failures,
//! half-done creates, version-conflict retries, and authorization before any store call.

use std::error::Error as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use livesessions_core::roster::{RosterMember, RosterPage, RosterQuery, RosterStore};
use livesessions_core::{
    Actor, AnalyticsStore, AttendancePage, AttendanceQuery, AttendanceSort, AttendanceStore,
    Conflict, Error, EventKind, JoinInput, JoinOutcome, JoinRequest, ListQuery, LiveSession,
    LiveSessions, ManualClock, NewSession, Overview, OverviewQuery, Page, Participant,
    Participation, ParticipationQuery, PopularBy, Presence, ReportQuery, Result, SeriesId,
    SeriesSummary, SeriesSummaryQuery, SessionId, SessionInput, SessionReport, SessionStore,
    SessionUpdate, SortOrder, StoredImage, Thumbnail, ThumbnailKey, ThumbnailStore,
    ThumbnailUpload, UserId,
};
use mockall::mock;

mock! {
    pub Store {}

    #[async_trait]
    impl SessionStore for Store {
        async fn insert_session(&self, session: &LiveSession) -> Result<()>;
        async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>>;
        async fn update_session(&self, session: &LiveSession, event: EventKind) -> Result<LiveSession>;
        async fn delete_session(&self, id: SessionId) -> Result<bool>;
        async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>>;
        async fn due_sessions(&self, now: chrono::DateTime<chrono::Utc>, limit: usize) -> Result<Vec<LiveSession>>;
        async fn insert_series(&self, sessions: &[LiveSession]) -> Result<()>;
        async fn series_sessions(&self, series_id: SeriesId) -> Result<Vec<LiveSession>>;
        async fn empty_sessions(&self, now: chrono::DateTime<chrono::Utc>, presence_timeout: std::time::Duration, limit: usize) -> Result<Vec<livesessions_core::EmptySession>>;
    }

    #[async_trait]
    impl AttendanceStore for Store {
        async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome>;
        async fn heartbeat(
            &self,
            session_id: SessionId,
            user_id: &UserId,
            presence: Presence,
        ) -> Result<Participant>;
        async fn leave(
            &self,
            session_id: SessionId,
            user_id: &UserId,
            presence: Presence,
        ) -> Result<Participant>;
        async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession>;
        async fn get_participant(
            &self,
            session_id: SessionId,
            user_id: &UserId,
        ) -> Result<Option<Participant>>;
        async fn watching(&self, session_id: SessionId, presence: Presence) -> Result<u64>;
    }

    #[async_trait]
    impl AnalyticsStore for Store {
        async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport>;
        async fn attendance(&self, query: &AttendanceQuery) -> Result<AttendancePage>;
        async fn overview(&self, query: &OverviewQuery) -> Result<Overview>;
        async fn participation(&self, query: &ParticipationQuery) -> Result<Participation>;
        async fn series_summary(&self, query: &SeriesSummaryQuery) -> Result<SeriesSummary>;
    }

    #[async_trait]
    impl RosterStore for Store {
        async fn add_roster_members(&self, session_id: SessionId, members: &[RosterMember]) -> Result<u64>;
        async fn remove_roster_member(&self, session_id: SessionId, user_id: &UserId) -> Result<bool>;
        async fn roster_member(&self, session_id: SessionId, user_id: &UserId) -> Result<Option<RosterMember>>;
        async fn roster(&self, query: &RosterQuery) -> Result<RosterPage>;
    }
}

mock! {
    pub Thumbnails {}

    #[async_trait]
    impl ThumbnailStore for Thumbnails {
        async fn put(&self, key: &ThumbnailKey, bytes: &[u8]) -> Result<()>;
        async fn get(&self, key: &ThumbnailKey) -> Result<Option<StoredImage>>;
        async fn delete(&self, key: &ThumbnailKey) -> Result<()>;
    }
}

// The ports require `Debug`.
impl std::fmt::Debug for MockStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MockStore")
    }
}

impl std::fmt::Debug for MockThumbnails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MockThumbnails")
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 10, 0, 0)
        .single()
        .expect("a time")
}

fn service(store: MockStore) -> LiveSessions {
    LiveSessions::builder(Arc::new(store))
        .clock(Arc::new(ManualClock::new(now())))
        .build()
}

fn service_with_thumbnails(store: MockStore, thumbnails: MockThumbnails) -> LiveSessions {
    LiveSessions::builder(Arc::new(store))
        .clock(Arc::new(ManualClock::new(now())))
        .thumbnails(Arc::new(thumbnails))
        .build()
}

fn admin() -> Actor {
    Actor::admin(UserId::parse("admin").expect("id"))
}

fn student() -> Actor {
    Actor::user(UserId::parse("student").expect("id"))
        .with_name("Ahmed Ali")
        .with_email("ahmed@example.com")
}

fn new_session() -> NewSession {
    NewSession::new(
        "Web Development 101",
        "Sarah Khan",
        "https://youtu.be/dQw4w9WgXcQ",
        "2030-01-01T10:00:00Z",
    )
}

fn session() -> LiveSession {
    LiveSession::new(new_session().validate().expect("valid"), now())
}

fn live_session() -> LiveSession {
    let mut s = session();
    s.start(now()).expect("start");
    s
}

fn png() -> ThumbnailUpload {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[0; 64]);
    ThumbnailUpload {
        declared_type: Some("image/png".into()),
        bytes,
    }
}

fn connection_refused() -> Error {
    Error::unavailable(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "connection refused",
    ))
}

fn disk_full() -> Error {
    Error::storage(std::io::Error::other("disk full"))
}

/// Expects each named call of `$mock` exactly once and answers it with its error:
/// `fail_once!(store: expect_join(_) => disk_full())`.
macro_rules! fail_once {
    ($mock:ident: $($expect:ident($($arg:pat),*) => $error:expr),+ $(,)?) => {
        $($mock.$expect().times(1).returning(|$($arg),*| Err($error));)+
    };
}

/// The message of the `std::io::Error` an error was caused by.
fn cause(error: &Error) -> String {
    let source = error
        .source()
        .unwrap_or_else(|| panic!("{error:?} lost its cause"));
    source
        .downcast_ref::<std::io::Error>()
        .unwrap_or_else(|| panic!("the cause of {error:?} is not the store's error"))
        .to_string()
}

#[track_caller]
fn assert_unavailable<T: std::fmt::Debug>(result: Result<T>) {
    match result {
        Err(e @ Error::Unavailable(_)) => assert_eq!(cause(&e), "connection refused"),
        other => panic!("expected Unavailable with its cause, got {other:?}"),
    }
}

#[track_caller]
fn assert_storage<T: std::fmt::Debug>(result: Result<T>) {
    match result {
        Err(e @ Error::Storage(_)) => assert_eq!(cause(&e), "disk full"),
        other => panic!("expected Storage with its cause, got {other:?}"),
    }
}

#[tokio::test]
async fn storage_failures_surface_unchanged_with_their_cause() {
    let live = live_session();
    let id = live.id;
    let mut store = MockStore::new();
    fail_once!(store:
        expect_get_session(_) => connection_refused(),
        expect_list_sessions(_) => disk_full(),
        expect_join(_) => disk_full(),
        expect_heartbeat(_, _, _) => connection_refused(),
        expect_leave(_, _, _) => disk_full(),
        expect_overview(_) => connection_refused(),
        expect_participation(_) => disk_full(),
    );
    let service = service(store);

    assert_unavailable(service.get(None, id).await);
    assert_storage(service.list(None, &ListQuery::default()).await);
    assert_storage(
        service
            .join(
                Some(&student()),
                JoinInput {
                    session_id: id.to_string(),
                    ..Default::default()
                },
            )
            .await,
    );
    assert_unavailable(service.heartbeat(Some(&student()), id).await);
    assert_storage(service.leave(Some(&student()), id).await);
    assert_unavailable(
        service
            .overview(
                Some(&admin()),
                now(),
                now() + chrono::TimeDelta::days(1),
                10,
                PopularBy::Participants,
            )
            .await,
    );
    assert_storage(
        service
            .participation(Some(&student()), &student().user_id, 10)
            .await,
    );
}

#[tokio::test]
async fn failures_after_a_successful_read_surface_too_and_are_not_retried() {
    let live = live_session();
    let id = live.id;
    let mut store = MockStore::new();
    store
        .expect_get_session()
        .returning(move |_| Ok(Some(live.clone())));
    fail_once!(store:
        expect_end_session(_, _) => connection_refused(),
        expect_session_report(_) => disk_full(),
        expect_attendance(_) => connection_refused(),
        expect_watching(_, _) => disk_full(),
        expect_delete_session(_) => connection_refused(),
    );
    let service = service(store);

    assert_unavailable(service.end(Some(&admin()), id).await);
    assert_storage(service.report(Some(&admin()), id, None).await);
    assert_unavailable(
        service
            .attendance(
                Some(&admin()),
                id,
                AttendanceSort::JoinTime,
                SortOrder::Asc,
                0,
                10,
            )
            .await,
    );
    // The view of a live session asks how many are watching.
    assert_storage(service.get(None, id).await);
    assert_unavailable(service.delete(Some(&admin()), id).await);
}

/// Thumbnails that expect one upload, whose key they record in `key`, and then the delete of
/// exactly that key.
fn thumbnails_expecting_one_put_and_its_delete(
    key: &Arc<Mutex<Option<ThumbnailKey>>>,
) -> MockThumbnails {
    let mut thumbnails = MockThumbnails::new();
    let put_key = Arc::clone(key);
    thumbnails.expect_put().times(1).returning(move |key, _| {
        *put_key.lock().unwrap() = Some(key.clone());
        Ok(())
    });
    let deleted_key = Arc::clone(key);
    thumbnails
        .expect_delete()
        .times(1)
        .withf(move |key| deleted_key.lock().unwrap().as_ref() == Some(key))
        .returning(|_| Ok(()));
    thumbnails
}

#[tokio::test]
async fn a_failed_create_deletes_the_uploaded_thumbnail() {
    let stored_key: Arc<Mutex<Option<ThumbnailKey>>> = Arc::default();
    let thumbnails = thumbnails_expecting_one_put_and_its_delete(&stored_key);
    let mut store = MockStore::new();
    let inserted_key = Arc::clone(&stored_key);
    store
        .expect_insert_session()
        .times(1)
        .withf(move |session| {
            session
                .fields
                .thumbnail
                .as_ref()
                .and_then(Thumbnail::uploaded_key)
                == inserted_key.lock().unwrap().as_ref()
        })
        .returning(|_| Err(connection_refused()));
    let service = service_with_thumbnails(store, thumbnails);

    assert_unavailable(
        service
            .create(Some(&admin()), new_session(), Some(png()))
            .await,
    );
    assert!(
        stored_key.lock().unwrap().is_some(),
        "the upload was stored first"
    );
}

#[tokio::test]
async fn a_failed_series_create_writes_nothing_else_and_deletes_the_shared_upload() {
    let stored_key: Arc<Mutex<Option<ThumbnailKey>>> = Arc::default();
    let thumbnails = thumbnails_expecting_one_put_and_its_delete(&stored_key);
    let mut store = MockStore::new();
    let inserted_key = Arc::clone(&stored_key);
    // One call with every occurrence, all sharing the upload; no single inserts.
    store
        .expect_insert_series()
        .times(1)
        .withf(move |sessions| {
            let key = inserted_key.lock().unwrap().clone();
            sessions.len() == 3
                && sessions.iter().all(|s| {
                    s.fields
                        .thumbnail
                        .as_ref()
                        .and_then(Thumbnail::uploaded_key)
                        == key.as_ref()
                        && s.series == sessions[0].series
                })
        })
        .returning(|_| Err(connection_refused()));
    store.expect_insert_session().never();
    let service = service_with_thumbnails(store, thumbnails);
    let mut request = new_session();
    request.fields.recurrence = Some("FREQ=WEEKLY;COUNT=3".into());
    assert_unavailable(service.create(Some(&admin()), request, Some(png())).await);
}

#[tokio::test]
async fn a_failed_update_deletes_the_new_thumbnail_and_keeps_the_old_one() {
    let old_key = ThumbnailKey::generate(livesessions_core::ImageKind::Jpeg);
    let mut existing = session();
    existing.fields.thumbnail = Some(Thumbnail::Uploaded(old_key.clone()));
    let id = existing.id;
    let new_key: Arc<Mutex<Option<ThumbnailKey>>> = Arc::default();
    let thumbnails = thumbnails_expecting_one_put_and_its_delete(&new_key);
    let mut store = MockStore::new();
    store
        .expect_get_session()
        .times(1)
        .returning(move |_| Ok(Some(existing.clone())));
    fail_once!(store:
        expect_update_session(_, _) => disk_full(),
    );
    let service = service_with_thumbnails(store, thumbnails);

    assert_storage(
        service
            .update(Some(&admin()), id, SessionUpdate::default(), Some(png()))
            .await,
    );
    assert_ne!(new_key.lock().unwrap().as_ref(), Some(&old_key));
}

/// The conflict a write that lost a race reports.
fn version_mismatch() -> Error {
    Conflict::VersionMismatch {
        expected: 1,
        actual: Some(2),
    }
    .into()
}

/// Renames session `id` as the admin through a service on `store`, with `expected_version` as
/// the update's.
async fn rename(
    store: MockStore,
    id: SessionId,
    expected_version: Option<u64>,
) -> Result<LiveSession> {
    service(store)
        .update(
            Some(&admin()),
            id,
            SessionUpdate {
                fields: SessionInput {
                    title: Some("Renamed".into()),
                    ..Default::default()
                },
                expected_version,
                ..Default::default()
            },
            None,
        )
        .await
}

/// A store that expects `attempts` reads, each answering `existing`, and `attempts` writes,
/// each losing a race.
fn store_losing_every_write(existing: LiveSession, attempts: usize) -> MockStore {
    let mut store = MockStore::new();
    store
        .expect_get_session()
        .times(attempts)
        .returning(move |_| Ok(Some(existing.clone())));
    store
        .expect_update_session()
        .times(attempts)
        .returning(|_, _| Err(version_mismatch()));
    store
}

#[tokio::test]
async fn version_conflicts_are_retried_when_no_version_was_expected() {
    let existing = session();
    let id = existing.id;
    let mut store = MockStore::new();
    let read = existing.clone();
    store
        .expect_get_session()
        .times(2)
        .returning(move |_| Ok(Some(read.clone())));
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&attempts);
    store
        .expect_update_session()
        .times(2)
        .returning(move |session, _| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(version_mismatch())
            } else {
                Ok(session.clone())
            }
        });

    let updated = rename(store, id, None)
        .await
        .expect("the second attempt succeeds");
    assert_eq!(updated.fields.title.as_str(), "Renamed");
    assert_eq!(updated.version, existing.version + 1);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn version_conflicts_surface_when_a_version_was_expected() {
    let existing = session();
    let id = existing.id;
    let result = rename(store_losing_every_write(existing, 1), id, Some(1)).await;
    match result {
        Err(Error::Conflict(Conflict::VersionMismatch { .. })) => {}
        other => panic!("expected Conflict(VersionMismatch), got {other:?}"),
    }
}

#[tokio::test]
async fn retries_give_up_after_repeated_conflicts() {
    let existing = session();
    let id = existing.id;
    let result = rename(store_losing_every_write(existing, 3), id, None).await;
    assert!(
        matches!(
            result,
            Err(Error::Conflict(Conflict::VersionMismatch { .. }))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn authorization_is_checked_before_any_store_call() {
    // No expectations: any call to the store or the thumbnails fails the test.
    let service = service_with_thumbnails(MockStore::new(), MockThumbnails::new());
    let id = SessionId::new();
    let user = student();
    let from = now();
    let to = now() + chrono::TimeDelta::days(1);

    for caller in [None, Some(&user)] {
        let expected = |result: &Result<_, Error>| {
            matches!(
                (caller, result),
                (None, Err(Error::Unauthenticated)) | (Some(_), Err(Error::Forbidden))
            )
        };
        let results: Vec<(&str, Result<(), Error>)> = vec![
            (
                "create",
                service
                    .create(caller, new_session(), Some(png()))
                    .await
                    .map(drop),
            ),
            (
                "update",
                service
                    .update(caller, id, SessionUpdate::default(), Some(png()))
                    .await
                    .map(drop),
            ),
            ("delete", service.delete(caller, id).await),
            ("start", service.start(caller, id).await.map(drop)),
            ("end", service.end(caller, id).await.map(drop)),
            ("cancel", service.cancel(caller, id).await.map(drop)),
            ("report", service.report(caller, id, None).await.map(drop)),
            (
                "attendance",
                service
                    .attendance(caller, id, AttendanceSort::Name, SortOrder::Asc, 0, 10)
                    .await
                    .map(drop),
            ),
            (
                "overview",
                service
                    .overview(caller, from, to, 10, PopularBy::WatchTime)
                    .await
                    .map(drop),
            ),
            (
                "participation of someone else",
                service
                    .participation(caller, &UserId::parse("someone-else").expect("id"), 10)
                    .await
                    .map(drop),
            ),
        ];
        for (action, result) in results {
            assert!(
                expected(&result),
                "{action} by {caller:?}: expected Unauthenticated or Forbidden, got {result:?}"
            );
        }
    }

    let join = JoinInput {
        session_id: id.to_string(),
        ..Default::default()
    };
    assert!(matches!(
        service.join(None, join.clone()).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        service.heartbeat(None, id).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        service.leave(None, id).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        service.participation(None, &user.user_id, 10).await,
        Err(Error::Unauthenticated)
    ));
    // The original app's page sends a userId in the join body: another user's id is refused.
    let impersonation = JoinInput {
        user_id: Some("someone-else".into()),
        user_name: Some("Someone Else".into()),
        email: Some("else@example.com".into()),
        ..join
    };
    assert!(matches!(
        service.join(Some(&user), impersonation).await,
        Err(Error::Forbidden)
    ));
}
