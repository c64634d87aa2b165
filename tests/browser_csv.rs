//! Browser test of the attendance CSV download: an admin whose browser is in Asia/Karachi
//! creates a live session with a non-ASCII title, a student joins, and the admin downloads
//! the CSV from the analytics page. The file is saved under the server's name (the title as a
//! slug and the start date in the session's zone), starts with a UTF-8 byte order mark, has the
//! `watchTime` column, and gives times with the session's offset in whole seconds. Any error
//! in the browser's console fails the test.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;
use fantoccini::Client;
use serde_json::{json, Value};

/// Puts the browser's page in time zone `zone`, as if the admin lived there.
async fn set_time_zone(client: &Client, zone: &str) {
    client
        .issue_cmd(ChromedriverPost::cdp(
            "Emulation.setTimezoneOverride",
            json!({ "timezoneId": zone }),
        ))
        .await
        .expect("time zone set");
}

/// Signs `name` in through the server's dev sign-in and joins session `id`, without a browser.
async fn join_over_http(base: &str, id: &str, name: &str, email: &str) {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/api/dev/token"))
        .json(&json!({ "name": name, "email": email, "admin": false }))
        .send()
        .await
        .expect("dev sign-in answered")
        .json()
        .await
        .expect("a token");
    let token = token["token"].as_str().expect("a token string");
    let joined = http
        .post(format!("{base}/api/live-sessions/join"))
        .bearer_auth(token)
        .json(&json!({ "sessionId": id }))
        .send()
        .await
        .expect("join answered");
    assert!(joined.status().is_success(), "join: {}", joined.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_downloads_a_named_csv_in_the_session_zone() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads directory");
    let server = start_server(work.path(), None).await;
    let base = server.base.clone();
    let driver = start_chromedriver().await;
    let admin = browser(&driver, &work.path().join("admin-profile"), &downloads).await;
    set_time_zone(&admin, "Asia/Karachi").await;

    // The admin creates a live session starting at 02:30 in Karachi: still the day before in
    // UTC, so the file's date shows which zone the server used.
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    fill_session_form(
        &admin,
        "Café Basics: CSV Check",
        "Ferris Crab",
        "2031-03-05T02:30",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    click(&admin, "#f-live").await;
    click(&admin, "#f-submit").await;
    let (id, card_css) = new_card(&admin, ".session-card[data-id].is-live").await;

    join_over_http(&base, &id, "Sam Student", "sam@example.com").await;

    click(&admin, &format!("{card_css} .analytics-btn")).await;
    wait_text(&admin, "#attendees tbody", "the student", |t| {
        t.contains("Sam Student")
    })
    .await;
    click(&admin, "#download-csv").await;

    let path = downloads.join("attendance-café-basics-csv-check-2031-03-05.csv");
    let text = wait_for_file(&path).await;
    let bytes = std::fs::read(&path).expect("the download");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 byte order mark");
    let text = text.strip_prefix('\u{feff}').expect("the mark, once");
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next(),
        Some(
            "userId,userName,email,joinTime,lastJoinTime,lastSeen,leftAt,watchSeconds,\
             watchDuration,joinCount,present,watchTime,status,late"
        )
    );
    let row: Vec<&str> = lines
        .next()
        .expect("the student's row")
        .split(',')
        .collect();
    assert_eq!(row.len(), 14, "{row:?}");
    assert_eq!((row[1], row[2]), ("Sam Student", "sam@example.com"));
    let join_time = row[3];
    assert!(
        join_time.ends_with("+05:00") && !join_time.contains('.'),
        "Karachi time in whole seconds: {join_time}"
    );
    chrono::DateTime::parse_from_rfc3339(join_time).expect("an RFC 3339 time");
    assert_eq!(row[6], "", "no leave yet");
    assert_eq!(row[10], "true", "still watching");
    let watch_time = row[11];
    assert!(
        watch_time.starts_with("0:0") && watch_time.len() == 7,
        "h:mm:ss: {watch_time}"
    );
    assert_eq!(row[13], "false", "no late rule, nobody late");

    let errors: Vec<String> = console_errors(&admin)
        .await
        .into_iter()
        .filter(|e| !e.contains("youtube.com"))
        .collect();
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
    admin.close().await.expect("browser closed");
    server.task.abort();
}
