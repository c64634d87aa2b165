//! Browser tests of the web page and the example server, in headless Chromium driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them).
//!
//! An admin and a student each get their own browser. The admin signs in, creates a session
//! with an uploaded thumbnail and starts it; the student sees it go live without reloading,
//! joins and watches; the admin sees the count and the attendee, downloads the CSV, and ends
//! the session, which the student's page shows. Screenshots go to `screenshots/` (git-ignored);
//! any error in either browser's console fails the test.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_student_run_a_live_class() {
    let Class {
        work,
        shots,
        downloads,
        server,
        driver: _driver,
        admin,
        student,
    } = Class::start().await;
    assert!(server.dev_mode, "dev mode is on for loopback");
    let base = server.base.clone();

    // The admin signs in and creates a session with an uploaded thumbnail.
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    fill_session_form(
        &admin,
        "Rust for Beginners",
        "Ferris Crab",
        "2031-03-04T09:30",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    fill(
        &admin,
        "#f-description",
        "Ownership, borrowing and the borrow checker, live.",
    )
    .await;
    choose_thumbnail(&admin).await;
    click(&admin, "#f-submit").await;
    let (_, card_css) = new_card(&admin, ".session-card[data-id]").await;
    let thumb = find(&admin, &format!("{card_css} img")).await;
    let src = thumb.attr("src").await.expect("src").unwrap_or_default();
    assert!(
        src.contains("/api/live-sessions/thumbnails/"),
        "uploaded thumbnail shown: {src}"
    );
    assert_eq!(
        std::fs::read_dir(work.path().join("thumbnails"))
            .expect("thumbnail directory")
            .count(),
        1,
        "the upload is stored once"
    );

    // The student opens the page before the session starts.
    sign_in(&student, &base, "Sam Student", "sam@example.com", false).await;
    wait_present(&student, &card_css).await;
    assert!(student
        .find(Locator::Css(&format!("{card_css}.is-live")))
        .await
        .is_err());

    // The admin starts it; the student's card turns live without a reload.
    click(&admin, &format!("{card_css} .start-btn")).await;
    click(&admin, "#confirm-ok").await;
    wait_present(&student, &format!("{card_css}.is-live .live-badge")).await;
    screenshot(&student, &shots, "student-sees-live").await;

    // The student joins and watches.
    click(&student, &format!("{card_css} .join-btn")).await;
    let name = find(&student, "#join-name").await;
    assert_eq!(
        name.prop("value").await.expect("value").as_deref(),
        Some("Sam Student")
    );
    assert!(
        !name.is_enabled().await.expect("enabled state"),
        "the name is shown disabled"
    );
    let email = find(&student, "#join-email").await;
    assert_eq!(
        email.prop("value").await.expect("value").as_deref(),
        Some("sam@example.com")
    );
    assert!(!email.is_enabled().await.expect("enabled state"));
    click(&student, "#join-submit").await;
    let frame = find(&student, "#watch-view #watch-frame").await;
    let frame_src = frame.attr("src").await.expect("src").unwrap_or_default();
    assert!(
        frame_src.starts_with("https://www.youtube.com/embed/dQw4w9WgXcQ"),
        "embedded player: {frame_src}"
    );
    screenshot(&student, &shots, "student-watching").await;

    // The admin sees the count arrive, the attendee, and downloads the CSV.
    wait_text(
        &admin,
        &format!("{card_css} .participants-count"),
        "1 participant",
        |t| t.trim() == "1",
    )
    .await;
    screenshot(&admin, &shots, "live-sessions").await;
    click(&admin, &format!("{card_css} .analytics-btn")).await;
    wait_text(&admin, "#analytics-participants", "1 participant", |t| {
        t.trim() == "1"
    })
    .await;
    wait_text(&admin, "#attendees tbody", "the student", |t| {
        t.contains("Sam Student") && t.contains("sam@example.com")
    })
    .await;
    screenshot(&admin, &shots, "analytics").await;
    click(&admin, "#download-csv").await;
    let csv = wait_for_file(&downloads.join("attendance-rust-for-beginners-2031-03-04.csv")).await;
    let mut lines = csv.lines();
    let header = lines.next().expect("a header row");
    assert!(
        header.contains("userName") || header.to_lowercase().contains("name"),
        "{header}"
    );
    assert!(
        csv.contains("Sam Student") && csv.contains("sam@example.com"),
        "{csv}"
    );

    // The admin ends the session; the student's page says so.
    click(&admin, "#analytics-back").await;
    click(&admin, &format!("{card_css} .end-btn")).await;
    click(&admin, "#confirm-ok").await;
    wait_text(&student, "#watch-status", "that the session ended", |t| {
        t.to_lowercase().contains("ended")
    })
    .await;
    screenshot(&student, &shots, "student-session-ended").await;

    // The admin's filter tabs and search narrow the list, and Delete asks before it deletes;
    // the student's page hears of the deletion.
    click(&admin, "[data-filter='live']").await;
    wait_text(&admin, "#list-message", "that nothing is live", |t| {
        t.contains("No live sessions")
    })
    .await;
    assert!(admin.find(Locator::Css(&card_css)).await.is_err());
    click(&admin, "[data-filter='all']").await;
    wait_present(&admin, &card_css).await;
    fill(&admin, "#search", "no such title").await;
    wait_text(&admin, "#list-message", "that nothing matches", |t| {
        t.contains("No sessions match")
    })
    .await;
    wait_absent(&admin, &card_css).await;
    fill(&admin, "#search", "Rust").await;
    wait_present(&admin, &card_css).await;
    click(&admin, &format!("{card_css} .delete-btn")).await;
    click(&admin, "#confirm-ok").await;
    wait_absent(&admin, &card_css).await;
    wait_text(
        &student,
        "#watch-status",
        "that the session was deleted",
        |t| t.contains("deleted"),
    )
    .await;

    let mut errors = console_errors(&admin).await;
    errors.extend(console_errors(&student).await);
    // The embedded player's own host cannot be reached from the test machine; that is the
    // network's doing, not the page's.
    errors.retain(|e| !e.contains("youtube.com"));
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");

    admin.close().await.expect("admin browser closed");
    student.close().await.expect("student browser closed");
    server.task.abort();
}

/// With real authentication configured there is no dev sign-in, and the page offers no form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sign_in_form_with_a_real_secret() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let server = start_server(
        work.path(),
        Some("a-real-deployment-secret-of-enough-length".into()),
    )
    .await;
    assert!(!server.dev_mode, "a real secret turns dev mode off");

    let driver = start_chromedriver().await;
    let downloads = work.path().join("downloads");
    let client = browser(&driver, &work.path().join("profile"), &downloads).await;
    client
        .goto(&format!("{}/live-sessions", server.base))
        .await
        .expect("page loaded");
    // The page has asked the server and shows the host-managed sign-in note.
    let note = find(&client, "#signin-note:not([hidden])").await;
    assert!(note.is_displayed().await.expect("displayed state"));
    let form = find(&client, "#signin-form").await;
    assert!(
        !form.is_displayed().await.expect("displayed state"),
        "no sign-in form without dev mode"
    );
    // The page itself raised no errors (its probe's 404 is how it learns, and is expected).
    let errors: Vec<String> = console_errors(&client)
        .await
        .into_iter()
        .filter(|e| !e.contains("/api/dev/token"))
        .collect();
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
    client.close().await.expect("browser closed");
    server.task.abort();
}
