//! Browser test of rosters and attendance statuses, in headless Chromium driven through
//! chromedriver (see tests/browser.rs).
//!
//! An admin creates a restricted session with a 50 % attendance threshold from the form, opens
//! its analytics and uploads a roster file: first one with a bad email, whose row error is
//! listed and nothing added, then a good one of three students. One student joins in the lobby
//! before the start and leaves; the admin starts the class; another joins while it is live and
//! watches until the admin ends it; the third never comes; someone off the roster is refused
//! with `403 not_on_roster`. After the class the admin's roster shows present, lobby only and
//! absent, the status filter shows the absentee alone, and the roster CSV (fetched over HTTP
//! with the admin's token) holds all three with their statuses, as does the attendance CSV.
//! The class is short: presence lasts a few seconds of real time. Any error in the browser's
//! console other than the bad upload's `422` fails the test.
//!
//! A student registers for a session that takes registrations from its card, still sees
//! "Registered" after reloading the page, and cancels the registration.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use std::time::Duration;

use browser_kit::*;
use serde_json::{json, Value};

const PAT: &str = "dev-pat@example.com";
const LEE: &str = "dev-lee@example.com";
const ABE: &str = "dev-abe@example.com";

/// A dev token for `name` <`email`> from the example server.
async fn dev_token(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    email: &str,
    admin: bool,
) -> String {
    let token: Value = http
        .post(format!("{base}/api/dev/token"))
        .json(&json!({ "name": name, "email": email, "admin": admin }))
        .send()
        .await
        .expect("dev sign-in answered")
        .json()
        .await
        .expect("a token");
    token["token"].as_str().expect("a token string").to_owned()
}

/// Sends `method` to `path` with `token` and a JSON body, and returns the status.
async fn call(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> (reqwest::StatusCode, Value) {
    let reply = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("answered");
    let status = reply.status();
    let body = reply.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The status badge row of `user` in the admin's roster table.
fn row_css(user: &str, status: &str) -> String {
    format!("#roster-table tbody tr[data-user-id='{user}'][data-status='{status}']")
}

/// The CSV at `path` (an admin route) as rows of cells, the header first.
async fn csv_rows(http: &reqwest::Client, base: &str, path: &str, token: &str) -> Vec<Vec<String>> {
    let reply = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .header("Accept", "text/csv")
        .send()
        .await
        .expect("CSV answered");
    assert!(reply.status().is_success(), "{path}: {}", reply.status());
    let text = reply.text().await.expect("CSV text");
    text.trim_start_matches('\u{feff}')
        .trim_end()
        .split("\r\n")
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_roster_shows_who_came_and_who_did_not() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads directory");
    let server = start_server(work.path(), None).await;
    let base = server.base.clone();
    let driver = start_chromedriver().await;
    let admin = browser(&driver, &work.path().join("admin-profile"), &downloads).await;
    let http = reqwest::Client::new();

    // A restricted session with a 50 % threshold, created from the form.
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    fill_session_form(
        &admin,
        "Roster Class",
        "Ferris Crab",
        "2031-03-05T10:30",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    click(&admin, "#f-restricted").await;
    fill(&admin, "#f-threshold", "50").await;
    click(&admin, "#f-submit").await;
    let (id, card_css) = new_card(&admin, ".session-card[data-id].is-scheduled").await;
    click(&admin, &format!("{card_css} .analytics-btn")).await;
    wait_text(&admin, "#roster-empty", "an empty roster", |t| {
        t.contains("No one is on the roster")
    })
    .await;

    // A file with a bad email on its second row: the row is named, nothing is added.
    let bad = work.path().join("bad-roster.csv");
    std::fs::write(
        &bad,
        format!("userId,userName,email\n{PAT},Pat Present,pat@example.com\n{LEE},Lee Lobby,not-an-email\n"),
    )
    .expect("bad file written");
    find(&admin, "#roster-file")
        .await
        .send_keys(&bad.display().to_string())
        .await
        .expect("file chosen");
    click(&admin, "#roster-upload-submit").await;
    wait_text(&admin, "#roster-upload-errors", "the row error", |t| {
        t.contains("Row 2, email") && t.contains("Nothing was added")
    })
    .await;
    let errors = console_errors(&admin).await;
    assert!(
        errors.iter().all(|e| e.contains("422")),
        "only the refused upload may be logged: {errors:#?}"
    );

    // The good file: three students, all absent so far.
    let good = work.path().join("roster.csv");
    std::fs::write(
        &good,
        format!(
            "userId,userName,email\r\n{PAT},Pat Present,pat@example.com\r\n\
             {LEE},Lee Lobby,lee@example.com\r\n{ABE},Abe Absent,abe@example.com\r\n"
        ),
    )
    .expect("file written");
    find(&admin, "#roster-file")
        .await
        .send_keys(&good.display().to_string())
        .await
        .expect("file chosen");
    click(&admin, "#roster-upload-submit").await;
    for user in [PAT, LEE, ABE] {
        wait_present(&admin, &row_css(user, "absent")).await;
    }
    wait_text(&admin, "#roster-counts", "three members", |t| {
        t.contains("3 on the roster")
    })
    .await;
    assert!(
        find(&admin, "#roster-upload-errors")
            .await
            .attr("hidden")
            .await
            .expect("an attribute")
            .is_some(),
        "the earlier errors are gone"
    );

    // Lee waits in the lobby before the start and leaves; a stranger is refused.
    let admin_token = dev_token(&http, &base, "Ada Admin", "ada@example.com", true).await;
    let pat = dev_token(&http, &base, "Pat Present", "pat@example.com", false).await;
    let lee = dev_token(&http, &base, "Lee Lobby", "lee@example.com", false).await;
    let stranger = dev_token(&http, &base, "Sly Stranger", "sly@example.com", false).await;
    let join = json!({ "sessionId": id });
    let post = reqwest::Method::POST;
    let (status, _) = call(
        &http,
        &base,
        post.clone(),
        "/api/live-sessions/join",
        &lee,
        join.clone(),
    )
    .await;
    assert!(status.is_success(), "the lobby join: {status}");
    let leave = format!("/api/live-sessions/{id}/leave");
    let (status, _) = call(&http, &base, post.clone(), &leave, &lee, json!({})).await;
    assert!(status.is_success(), "leave: {status}");
    let (status, problem) = call(
        &http,
        &base,
        post.clone(),
        "/api/live-sessions/join",
        &stranger,
        join.clone(),
    )
    .await;
    assert_eq!(status.as_u16(), 403, "{problem}");
    assert_eq!(problem["code"], "not_on_roster");

    // The admin starts the class; Pat joins and watches until the admin ends it.
    let session_path = format!("/api/admin/live-sessions/{id}");
    let put = reqwest::Method::PUT;
    let (status, body) = call(
        &http,
        &base,
        put.clone(),
        &session_path,
        &admin_token,
        json!({ "isLive": true }),
    )
    .await;
    assert!(status.is_success(), "start: {status} {body}");
    let (status, _) = call(
        &http,
        &base,
        post.clone(),
        "/api/live-sessions/join",
        &pat,
        join.clone(),
    )
    .await;
    assert!(status.is_success(), "the live join: {status}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let beat = format!("/api/live-sessions/{id}/heartbeat");
    let (status, _) = call(&http, &base, post.clone(), &beat, &pat, json!({})).await;
    assert!(status.is_success(), "heartbeat: {status}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = call(
        &http,
        &base,
        put,
        &session_path,
        &admin_token,
        json!({ "isLive": false }),
    )
    .await;
    assert!(status.is_success(), "end: {status} {body}");

    // After the class: present, lobby only, absent.
    click(&admin, "#analytics-refresh").await;
    wait_present(&admin, &row_css(PAT, "present")).await;
    wait_present(&admin, &row_css(LEE, "lobby_only")).await;
    wait_present(&admin, &row_css(ABE, "absent")).await;
    wait_text(&admin, &row_css(LEE, "lobby_only"), "the badge", |t| {
        t.contains("Lobby only")
    })
    .await;
    find(&admin, "#roster-filter")
        .await
        .select_by_value("absent")
        .await
        .expect("filter chosen");
    wait_absent(&admin, &row_css(PAT, "present")).await;
    wait_present(&admin, &row_css(ABE, "absent")).await;
    let shots = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&shots).expect("screenshots directory");
    screenshot(&admin, &shots, "roster-absent-filter").await;

    let roster = format!("/api/admin/live-sessions/{id}/roster?format=csv");
    let rows = csv_rows(&http, &base, &roster, &admin_token).await;
    assert_eq!(
        rows[0][..5],
        ["userId", "userName", "email", "status", "late"]
    );
    assert_eq!(rows.len(), 4, "three students: {rows:?}");
    let status_of = |rows: &[Vec<String>], column: usize, user: &str| {
        rows.iter()
            .find(|r| r[0] == user)
            .map(|r| r[column].clone())
            .unwrap_or_else(|| panic!("{user} is in {rows:?}"))
    };
    assert_eq!(status_of(&rows, 3, PAT), "present");
    assert_eq!(status_of(&rows, 3, LEE), "lobby_only");
    assert_eq!(status_of(&rows, 3, ABE), "absent");

    let attendance = format!("/api/admin/live-sessions/{id}/participants?format=csv");
    let rows = csv_rows(&http, &base, &attendance, &admin_token).await;
    assert_eq!(rows[0][12..], ["status", "late"]);
    assert_eq!(rows.len(), 4, "the absentee too: {rows:?}");
    assert_eq!(status_of(&rows, 12, ABE), "absent");
    assert_eq!(status_of(&rows, 12, PAT), "present");

    let errors: Vec<String> = console_errors(&admin)
        .await
        .into_iter()
        .filter(|e| !e.contains("youtube.com"))
        .collect();
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
    admin.close().await.expect("browser closed");
    server.task.abort();
}

/// A student registers for a session that takes registrations from its card, sees
/// "Registered" again after reloading the page (the page asks the server), and cancels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_registers_from_the_card_and_the_page_remembers_it() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads directory");
    let server = start_server(work.path(), None).await;
    let base = server.base.clone();
    let driver = start_chromedriver().await;
    let http = reqwest::Client::new();
    let admin_token = dev_token(&http, &base, "Ada Admin", "ada@example.com", true).await;
    let (status, created) = call(
        &http,
        &base,
        reqwest::Method::POST,
        "/api/admin/live-sessions",
        &admin_token,
        json!({
            "title": "Open Class",
            "instructor": "Ferris Crab",
            "videoUrl": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "startTime": "2031-03-05T10:30:00Z",
            "registration": "open",
        }),
    )
    .await;
    assert!(status.is_success(), "created: {status} {created}");
    let id = created["id"].as_str().expect("an id").to_owned();
    let card = format!(".session-card[data-id='{id}']");

    let student = browser(&driver, &work.path().join("student-profile"), &downloads).await;
    sign_in(&student, &base, "Sam Student", "sam@example.com", false).await;
    click(&student, &format!("{card} .register-btn")).await;
    wait_text(
        &student,
        &format!("{card} .registered"),
        "registered",
        |t| t.contains("Registered"),
    )
    .await;
    student
        .goto(&format!("{base}/live-sessions"))
        .await
        .expect("page loaded again");
    wait_text(
        &student,
        &format!("{card} .registered"),
        "registered after a reload",
        |t| t.contains("Registered"),
    )
    .await;
    click(&student, &format!("{card} .unregister-btn")).await;
    wait_present(&student, &format!("{card} .register-btn")).await;
    let roster = format!("/api/admin/live-sessions/{id}/roster");
    let reply: Value = http
        .get(format!("{base}{roster}"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .expect("roster answered")
        .json()
        .await
        .expect("roster JSON");
    assert_eq!(
        reply["members"], 0,
        "the registration was cancelled: {reply}"
    );

    let errors: Vec<String> = console_errors(&student)
        .await
        .into_iter()
        .filter(|e| !e.contains("youtube.com"))
        .collect();
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
    student.close().await.expect("browser closed");
    server.task.abort();
}
