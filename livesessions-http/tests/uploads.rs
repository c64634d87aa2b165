//! Upload attacks: each is refused with 413/415/422 and nothing is written. Uploads of requests
//! that time out are not left behind.

mod common;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::*;
use livesessions_http::HttpSettings;
use serde_json::Value;

/// Sends the original app's create form with one thumbnail part and returns the reply.
async fn upload(app: &TestApp, file_name: &str, content_type: &str, bytes: &[u8]) -> Reply {
    let mut parts = seed_form("false");
    parts.push(thumbnail(file_name, content_type, bytes));
    post_session_form(&app.router, &parts).await
}

/// Sends an update of session `id` whose only part is a new thumbnail.
async fn replace_thumbnail(
    app: &TestApp,
    id: &str,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Reply {
    send_multipart(
        &app.router,
        Method::PUT,
        &format!("/api/admin/live-sessions/{id}"),
        Some(&admin_token()),
        &[thumbnail(file_name, content_type, bytes)],
    )
    .await
}

/// Nothing was stored: no file, no session.
async fn assert_nothing_written(app: &TestApp) {
    assert_eq!(
        std::fs::read_dir(app.thumbnails.path()).unwrap().count(),
        0,
        "a file was written"
    );
    let list = get(&app.router, "/api/live-sessions", None).await;
    assert_eq!(
        list.json().as_array().unwrap().len(),
        0,
        "a session was created"
    );
}

/// Sends the create form with one thumbnail part, asserts it was refused with a problem of
/// `status` and that nothing was stored, and returns the problem.
async fn refused_upload(
    app: &TestApp,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
    status: u16,
) -> Value {
    let problem = upload(app, file_name, content_type, bytes)
        .await
        .problem(status);
    assert_nothing_written(app).await;
    problem
}

#[tokio::test]
async fn wrong_magic_bytes_are_415() {
    let app = app();
    let problem = refused_upload(
        &app,
        "photo.png",
        "image/png",
        b"this is not an image at all",
        415,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "thumbnail");
    assert_eq!(problem["errors"][0]["code"], "unsupported_type");
}

#[tokio::test]
async fn a_declared_type_that_disagrees_with_the_bytes_is_415() {
    let app = app();
    assert_eq!(
        refused_upload(&app, "photo.jpg", "image/jpeg", PNG, 415).await["errors"][0]["code"],
        "type_mismatch"
    );
}

#[tokio::test]
async fn svg_with_script_is_415() {
    let app = app();
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;
    upload(&app, "logo.svg", "image/svg+xml", svg)
        .await
        .problem(415);
    // Declared as a PNG, the bytes still give it away.
    refused_upload(&app, "logo.png", "image/png", svg, 415).await;
}

#[tokio::test]
async fn html_polyglot_declared_as_html_is_415() {
    let app = app();
    let mut gif_html = b"GIF89a".to_vec();
    gif_html.extend_from_slice(b"<html><script>alert(1)</script></html>");
    refused_upload(&app, "x.html", "text/html", &gif_html, 415).await;
}

#[tokio::test]
async fn oversized_thumbnails_are_413() {
    let app = app();
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    assert_eq!(
        refused_upload(&app, "big.png", "image/png", &big, 413).await["errors"][0]["code"],
        "too_large"
    );

    // Past the multipart body limit the form itself is refused.
    big.resize(7 * 1024 * 1024, 0);
    refused_upload(&app, "bigger.png", "image/png", &big, 413).await;
}

#[tokio::test]
async fn empty_files_are_422() {
    let app = app();
    assert_eq!(
        refused_upload(&app, "empty.png", "image/png", b"", 422).await["errors"][0]["code"],
        "empty"
    );
}

#[tokio::test]
async fn client_file_names_are_never_used() {
    let app = app();
    for name in [
        "../../../etc/cron.d/evil.png",
        "..\\..\\evil.php.png",
        "shell.php.png",
    ] {
        let reply = upload(&app, name, "image/png", PNG).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let thumbnail = reply.json()["thumbnail"].as_str().unwrap().to_owned();
        let key = thumbnail.rsplit('/').next().unwrap();
        assert!(
            !key.contains("evil") && !key.contains("php") && !key.contains(".."),
            "{key}"
        );
    }
    // Every file is a generated key directly inside the thumbnail directory.
    for entry in std::fs::read_dir(app.thumbnails.path()).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_file());
        let name = entry.file_name().into_string().unwrap();
        assert!(
            name.len() == 36 && name.ends_with(".png"),
            "unexpected file {name}"
        );
    }
    assert!(!app
        .thumbnails
        .path()
        .join("../../../etc/cron.d/evil.png")
        .exists());
}

#[tokio::test]
async fn a_failed_update_keeps_the_old_thumbnail() {
    let app = app();
    let created = upload(&app, "a.png", "image/png", PNG).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let session = created.json();
    let id = session["id"].as_str().unwrap();
    let reply = replace_thumbnail(
        &app,
        id,
        "b.gif",
        "image/gif",
        b"GIF87a-but-declared-as-png",
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "a GIF declared as a GIF is fine: {}",
        reply.text()
    );
    let replaced = reply.json()["thumbnail"].as_str().unwrap().to_owned();
    assert!(replaced.ends_with(".gif"));
    // The old upload was removed with the replacement.
    get(&app.router, session["thumbnail"].as_str().unwrap(), None)
        .await
        .problem(404);
    let files = std::fs::read_dir(app.thumbnails.path()).unwrap().count();
    assert_eq!(files, 1);

    let refused = replace_thumbnail(&app, id, "c.png", "image/png", b"not a png").await;
    refused.problem(415);
    assert_eq!(
        get(&app.router, &replaced, None).await.status,
        StatusCode::OK
    );
    assert_eq!(std::fs::read_dir(app.thumbnails.path()).unwrap().count(), 1);
}

/// How [`SlowWrites`] treats session writes.
const WRITES_PASS: u8 = 0;
/// Session writes never return and change nothing (a stalled database).
const WRITES_HANG: u8 = 1;
/// Session writes are stored, then never return (the commit made it, the answer did not).
const WRITES_COMMIT_THEN_HANG: u8 = 2;

/// The in-memory store, with session writes (insert, update, end) that can be made to hang.
#[derive(Debug, Default)]
struct SlowWrites {
    inner: livesessions_core::MemoryStore,
    mode: AtomicU8,
}

impl SlowWrites {
    async fn write<T>(
        &self,
        write: impl std::future::Future<Output = livesessions_core::Result<T>>,
    ) -> livesessions_core::Result<T> {
        match self.mode.load(Ordering::SeqCst) {
            WRITES_HANG => std::future::pending().await,
            WRITES_COMMIT_THEN_HANG => {
                write.await?;
                std::future::pending().await
            }
            _ => write.await,
        }
    }
}

mod slow_writes {
    use super::SlowWrites;
    use async_trait::async_trait;

    use livesessions_core::*;
    use std::time::Duration;

    #[async_trait]
    impl SessionStore for SlowWrites {
        async fn insert_session(&self, s: &LiveSession) -> Result<()> {
            self.write(self.inner.insert_session(s)).await
        }
        async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>> {
            self.inner.get_session(id).await
        }
        async fn update_session(
            &self,
            s: &LiveSession,
            e: livesessions_core::EventKind,
        ) -> Result<LiveSession> {
            self.write(self.inner.update_session(s, e)).await
        }
        async fn delete_session(&self, id: SessionId) -> Result<bool> {
            self.inner.delete_session(id).await
        }
        async fn list_sessions(&self, q: &ListQuery) -> Result<Page<LiveSession>> {
            self.inner.list_sessions(q).await
        }
        async fn due_sessions(
            &self,
            now: chrono::DateTime<chrono::Utc>,
            limit: usize,
        ) -> Result<Vec<LiveSession>> {
            self.inner.due_sessions(now, limit).await
        }
        async fn insert_series(&self, s: &[LiveSession]) -> Result<()> {
            self.write(self.inner.insert_series(s)).await
        }
        async fn series_sessions(&self, id: SeriesId) -> Result<Vec<LiveSession>> {
            self.inner.series_sessions(id).await
        }
        async fn empty_sessions(
            &self,
            now: chrono::DateTime<chrono::Utc>,
            timeout: std::time::Duration,
            limit: usize,
        ) -> Result<Vec<livesessions_core::EmptySession>> {
            self.inner.empty_sessions(now, timeout, limit).await
        }
    }

    #[async_trait]
    impl AttendanceStore for SlowWrites {
        async fn join(&self, r: &JoinRequest) -> Result<JoinOutcome> {
            self.inner.join(r).await
        }
        async fn heartbeat(
            &self,
            id: SessionId,
            user: &UserId,
            presence: Presence,
        ) -> Result<Participant> {
            self.inner.heartbeat(id, user, presence).await
        }
        async fn leave(
            &self,
            id: SessionId,
            user: &UserId,
            presence: Presence,
        ) -> Result<Participant> {
            self.inner.leave(id, user, presence).await
        }
        async fn end_session(&self, s: &LiveSession, t: Duration) -> Result<LiveSession> {
            self.write(self.inner.end_session(s, t)).await
        }
        async fn get_participant(
            &self,
            id: SessionId,
            user: &UserId,
        ) -> Result<Option<Participant>> {
            self.inner.get_participant(id, user).await
        }
        async fn watching(&self, id: SessionId, presence: Presence) -> Result<u64> {
            self.inner.watching(id, presence).await
        }
    }

    #[async_trait]
    impl roster::RosterStore for SlowWrites {
        async fn add_roster_members(
            &self,
            id: SessionId,
            members: &[roster::RosterMember],
        ) -> Result<u64> {
            self.inner.add_roster_members(id, members).await
        }
        async fn remove_roster_member(&self, id: SessionId, user: &UserId) -> Result<bool> {
            self.inner.remove_roster_member(id, user).await
        }
        async fn roster_member(
            &self,
            id: SessionId,
            user: &UserId,
        ) -> Result<Option<roster::RosterMember>> {
            self.inner.roster_member(id, user).await
        }
        async fn roster(&self, q: &roster::RosterQuery) -> Result<roster::RosterPage> {
            self.inner.roster(q).await
        }
    }

    #[async_trait]
    impl AnalyticsStore for SlowWrites {
        async fn session_report(&self, q: &ReportQuery) -> Result<SessionReport> {
            self.inner.session_report(q).await
        }
        async fn attendance(&self, q: &AttendanceQuery) -> Result<AttendancePage> {
            self.inner.attendance(q).await
        }
        async fn overview(&self, q: &OverviewQuery) -> Result<Overview> {
            self.inner.overview(q).await
        }
        async fn participation(&self, q: &ParticipationQuery) -> Result<Participation> {
            self.inner.participation(q).await
        }
        async fn series_summary(&self, q: &SeriesSummaryQuery) -> Result<SeriesSummary> {
            self.inner.series_summary(q).await
        }
    }
}

fn slow_app() -> (TestApp, Arc<SlowWrites>) {
    let store = Arc::new(SlowWrites::default());
    let settings = HttpSettings {
        request_timeout: Duration::from_millis(200),
        ..settings()
    };
    let app = app_on(store.clone(), None, settings, hs_auth());
    (app, store)
}

fn files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.thumbnails.path())
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Waits until the thumbnail directory holds exactly `expected` (the clean-up of a timed-out
/// request runs after its answer).
async fn wait_for_files(app: &TestApp, expected: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = files(app);
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the thumbnail directory holds {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_create_that_times_out_leaves_no_upload_behind() {
    let (app, store) = slow_app();
    store.mode.store(WRITES_HANG, Ordering::SeqCst);
    let reply = upload(&app, "a.png", "image/png", PNG).await;
    assert_eq!(reply.problem(503)["code"], "timeout");
    wait_for_files(&app, &[]).await;
    let list = get(&app.router, "/api/live-sessions", None).await;
    assert_eq!(list.json().as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn an_update_that_times_out_leaves_no_upload_behind_and_keeps_the_old_one() {
    let (app, store) = slow_app();
    let created = upload(&app, "a.png", "image/png", PNG).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let session = created.json();
    let id = session["id"].as_str().unwrap();
    let original = files(&app);
    assert_eq!(original.len(), 1);

    store.mode.store(WRITES_HANG, Ordering::SeqCst);
    let reply = replace_thumbnail(&app, id, "b.png", "image/png", PNG).await;
    assert_eq!(reply.problem(503)["code"], "timeout");
    wait_for_files(&app, &original).await;
    store.mode.store(WRITES_PASS, Ordering::SeqCst);
    let thumbnail = session["thumbnail"].as_str().unwrap();
    assert_eq!(
        get(&app.router, thumbnail, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_create_whose_answer_times_out_after_the_commit_keeps_its_upload() {
    let (app, store) = slow_app();
    store.mode.store(WRITES_COMMIT_THEN_HANG, Ordering::SeqCst);
    let reply = upload(&app, "a.png", "image/png", PNG).await;
    assert_eq!(reply.problem(503)["code"], "timeout");
    // The session was stored with its thumbnail: the clean-up must leave the file in place.
    let list = get(&app.router, "/api/live-sessions", None).await.json();
    let thumbnail = list[0]["thumbnail"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(files(&app).len(), 1);
    assert_eq!(
        get(&app.router, &thumbnail, None).await.status,
        StatusCode::OK
    );
}
