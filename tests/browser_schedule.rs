//! Browser test of scheduled sessions, in headless Chromium driven through chromedriver (see
//! tests/browser.rs).
//!
//! The form checks the end time as the server does. An admin creates a session that starts a
//! few seconds from now and ends a few seconds later, both automatically; without anyone
//! pressing Start or End, the card goes live and then ends on the admin's page and on a
//! student's, from the example server's scheduler and the event stream. The edit form shows
//! the schedule. "End when empty for (minutes)" is checked as the server checks it and shown
//! on the cards and in the edit form. A student who joins before an automatic start waits with a
//! countdown and no video (no video URL anywhere in the page), and the player appears when the
//! class goes live. A session with a capacity of one shows its seat left, then "Full" once taken,
//! and a student's join is refused with a clear message. Scheduled cards tell when they start ("Starts in 35 min", "Starts
//! automatically tomorrow at …") and turn to "Starting now" by themselves once the time has
//! come. Any error in either browser's console fails the test.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;
use serde_json::json;
use std::time::Duration;

/// Sets `#f-start` to `start_ms` milliseconds from the browser's now, and `#f-end` to `end_ms`
/// from it (or clears it), as `datetime-local` values with seconds in the browser's zone.
async fn set_times(client: &fantoccini::Client, start_ms: i64, end_ms: Option<i64>) {
    client
        .execute(
            "var pad = function (n) { return String(n).padStart(2, '0'); };\
             var local = function (d) { return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' +\
               pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' +\
               pad(d.getSeconds()); };\
             var now = Date.now();\
             document.getElementById('f-start').value = local(new Date(now + arguments[0]));\
             document.getElementById('f-end').value =\
               arguments[1] === null ? '' : local(new Date(now + arguments[1]));",
            vec![json!(start_ms), json!(end_ms)],
        )
        .await
        .expect("times set");
}

/// Creates a session titled `title` from the admin's form that starts `start_ms` milliseconds
/// from the browser's now, with no end time; returns a selector for its card.
async fn create_starting_in(
    client: &fantoccini::Client,
    title: &str,
    start_ms: i64,
    auto_start: bool,
) -> String {
    fill_session_form(
        client,
        title,
        "Ferris Crab",
        "2031-03-04T09:30",
        "https://vimeo.com/76979871",
    )
    .await;
    set_times(client, start_ms, None).await;
    if auto_start {
        click(client, "#f-auto-start").await;
    }
    click(client, "#f-submit").await;
    card_titled(client, title).await
}

/// A selector for the card titled `title`, once the page shows one.
async fn card_titled(client: &fantoccini::Client, title: &str) -> String {
    let deadline = tokio::time::Instant::now() + STEP;
    while tokio::time::Instant::now() < deadline {
        let id = client
            .execute(
                "var cards = document.querySelectorAll('.session-card[data-id]');\
                 for (var i = 0; i < cards.length; i++) {\
                   var heading = cards[i].querySelector('h3');\
                   if (heading && heading.textContent === arguments[0]) return cards[i].dataset.id;\
                 }\
                 return null;",
                vec![json!(title)],
            )
            .await
            .expect("cards read");
        if let Some(id) = id.as_str() {
            return format!(".session-card[data-id='{id}']");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no card titled {title:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_session_goes_live_and_ends_by_itself() {
    let Class {
        work: _work,
        shots,
        downloads: _,
        server,
        driver: _driver,
        admin,
        student,
    } = Class::start().await;
    let base = server.base.clone();
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    sign_in(&student, &base, "Sam Student", "sam@example.com", false).await;

    // The form refuses an end before the start, and an automatic end without an end time.
    fill_session_form(
        &admin,
        "Self-running class",
        "Ferris Crab",
        "2031-03-04T09:30",
        "https://vimeo.com/76979871",
    )
    .await;
    set_times(&admin, 60_000, Some(30_000)).await;
    click(&admin, "#f-submit").await;
    wait_text(&admin, "#f-end-error", "the order error", |t| {
        t.contains("after the start")
    })
    .await;
    admin
        .execute("document.getElementById('f-end').value = '';", vec![])
        .await
        .expect("end cleared");
    click(&admin, "#f-auto-end").await;
    click(&admin, "#f-submit").await;
    wait_text(&admin, "#f-end-error", "the missing end", |t| {
        t.contains("end time")
    })
    .await;

    // Starts in 3 s, ends 4 s later, both by itself.
    set_times(&admin, 3_000, Some(7_000)).await;
    click(&admin, "#f-auto-start").await;
    screenshot(&admin, &shots, "schedule-form").await;
    click(&admin, "#f-submit").await;
    let (_id, card_css) = new_card(&admin, ".session-card[data-id]").await;
    // The automatic start is told by the "Starts automatically in …" line (unless the card has
    // already gone live), so the hint below it tells only the automatic end.
    wait_text(
        &admin,
        &format!("{card_css} .automatic"),
        "the automatic hint",
        |t| t.contains("Ends automatically"),
    )
    .await;
    wait_present(&student, &format!("{card_css} .automatic")).await;

    for page in [&admin, &student] {
        wait_present(page, &format!("{card_css} .live-badge")).await;
        wait_absent(page, &format!("{card_css} .starts-in")).await;
    }
    wait_text(
        &student,
        &format!("{card_css} .automatic"),
        "the remaining automatic end",
        |t| t.contains("Ends automatically"),
    )
    .await;
    screenshot(&student, &shots, "schedule-live").await;
    for page in [&admin, &student] {
        wait_present(page, &format!("{card_css} .status-ended")).await;
        wait_absent(page, &format!("{card_css} .live-badge")).await;
        wait_absent(page, &format!("{card_css} .automatic")).await;
    }

    // The edit form shows the schedule.
    click(&admin, &format!("{card_css} .edit-btn")).await;
    wait_text(&admin, "#f-submit", "Save changes", |t| t == "Save changes").await;
    let checked = |css: &'static str| {
        let admin = admin.clone();
        async move {
            find(&admin, css)
                .await
                .prop("checked")
                .await
                .expect("a property")
                .unwrap_or_default()
        }
    };
    assert_eq!(checked("#f-auto-start").await, "true");
    assert_eq!(checked("#f-auto-end").await, "true");
    let end = find(&admin, "#f-end")
        .await
        .prop("value")
        .await
        .expect("a value")
        .unwrap_or_default();
    assert!(!end.is_empty(), "the end time is filled in");
    click(&admin, "#f-cancel").await;

    // "End when empty for (minutes)": checked as the server checks it, told on both pages'
    // cards and filled in the edit form. (That such a session ends is tested over HTTP, with
    // the service's clock: here it would take minutes.)
    let title = "Class that ends when empty";
    fill_session_form(
        &admin,
        title,
        "Ferris Crab",
        "2031-03-04T09:30",
        "https://vimeo.com/76979871",
    )
    .await;
    fill(&admin, "#f-empty", "0").await;
    click(&admin, "#f-submit").await;
    wait_text(&admin, "#f-empty-error", "the range error", |t| {
        t.contains("between 1 and 1440")
    })
    .await;
    fill(&admin, "#f-empty", "2").await;
    click(&admin, "#f-submit").await;
    let empty = card_titled(&admin, title).await;
    for page in [&admin, &student] {
        wait_text(page, &format!("{empty} .automatic"), "the empty end", |t| {
            t.contains("Ends after 2 min with nobody watching")
        })
        .await;
    }
    click(&admin, &format!("{empty} .edit-btn")).await;
    wait_text(&admin, "#f-submit", "Save changes", |t| t == "Save changes").await;
    let minutes = find(&admin, "#f-empty")
        .await
        .prop("value")
        .await
        .expect("a value")
        .unwrap_or_default();
    assert_eq!(minutes, "2", "the edit form shows the minutes");
    click(&admin, "#f-cancel").await;

    // Scheduled cards tell when they start. 35.5 minutes ahead reads "35 min" for half a minute.
    let soon =
        create_starting_in(&admin, "Class in half an hour", 35 * 60_000 + 30_000, false).await;
    for page in [&admin, &student] {
        wait_text(
            page,
            &format!("{soon} .starts-in"),
            "the start in 35 min",
            |t| t == "Starts in 35 min",
        )
        .await;
    }
    let later = create_starting_in(&admin, "Class later on", 7 * 3_600_000, true).await;
    wait_text(
        &admin,
        &format!("{later} .starts-in"),
        "the automatic start's day and time",
        |t| t.starts_with("Starts automatically ") && t.contains(" at "),
    )
    .await;
    // Nothing starts this one: once its time has come the card says so without a reload.
    let now = create_starting_in(&admin, "Class right away", 4_000, false).await;
    for page in [&admin, &student] {
        wait_text(page, &format!("{now} .starts-in"), "Starting now", |t| {
            t == "Starting now"
        })
        .await;
    }
    screenshot(&admin, &shots, "schedule-starts-in").await;

    // A student who joins before an automatic start waits in the waiting room: a countdown to
    // the second and no video; the player appears when the class goes live, with no reload.
    let spans = student
        .execute_async(
            "var done = arguments[arguments.length - 1];
             import(new URL('/live-sessions/js/format.js', location.href).href).then(function (f) {
               done([f.formatCountdown(3_725_000), f.formatCountdown(245_000),
                 f.formatCountdown(8_200), f.formatCountdown(0)]);
             }, function (e) { done('import failed: ' + e); });",
            vec![],
        )
        .await
        .expect("format.js imported");
    assert_eq!(spans, json!(["1 h 02 min", "4 min 05 s", "9 s", ""]));
    let lobby = create_starting_in(&admin, "Class with a waiting room", 12_000, true).await;
    click(&student, &format!("{lobby} .join-btn")).await;
    click(&student, "#join-submit").await;
    wait_present(&student, "#watch-waiting").await;
    let counting = |t: &str| t.starts_with("Starts automatically in ") && t.ends_with(" s");
    let first = wait_text(&student, "#watch-countdown", "the countdown", counting).await;
    wait_text(&student, "#watch-countdown", "the countdown ticking", |t| {
        counting(t) && t != first
    })
    .await;
    assert!(
        student
            .find(fantoccini::Locator::Css("#watch-frame"))
            .await
            .is_err(),
        "no video before the class goes live"
    );
    let page = student
        .execute("return document.documentElement.outerHTML;", vec![])
        .await
        .expect("the page read");
    assert!(
        !page.as_str().unwrap_or_default().contains("76979871"),
        "no video URL in the page before the class goes live"
    );
    screenshot(&student, &shots, "schedule-waiting-room").await;
    wait_present(&student, "#watch-frame").await;
    wait_text(&student, "#watch-status", "that it is live", |t| {
        t.contains("Live now")
    })
    .await;
    wait_absent(&student, "#watch-countdown:not([hidden])").await;
    wait_absent(&student, "#watch-waiting").await;

    // Capacity: a session with one seat shows "1 seat left"; once the admin has taken it, the
    // student's card says "Full" and a join is refused with a clear message.
    fill_session_form(
        &admin,
        "One-seat class",
        "Ferris Crab",
        "2031-03-04T09:30",
        "https://vimeo.com/76979871",
    )
    .await;
    set_times(&admin, 3_600_000, None).await;
    fill(&admin, "#f-capacity", "1").await;
    click(&admin, "#f-submit").await;
    let one_seat = card_titled(&admin, "One-seat class").await;
    wait_text(
        &admin,
        &format!("{one_seat} .seats"),
        "the seats left",
        |t| t.contains("1 seat left"),
    )
    .await;
    click(&student, "#watch-back").await;
    wait_text(
        &student,
        &format!("{one_seat} .seats"),
        "the seats left",
        |t| t.contains("1 seat left"),
    )
    .await;
    click(&admin, &format!("{one_seat} .join-btn")).await;
    click(&admin, "#join-submit").await;
    wait_present(&admin, "#watch-waiting").await;
    wait_text(
        &student,
        &format!("{one_seat} .seats"),
        "the full card",
        |t| t.contains("Full"),
    )
    .await;
    click(&student, &format!("{one_seat} .join-btn")).await;
    click(&student, "#join-submit").await;
    wait_text(&student, "#join-error", "the refusal", |t| {
        t.contains("This session is full")
    })
    .await;
    screenshot(&student, &shots, "capacity-full").await;
    // The refused request itself is logged by the browser (a 409); nothing else may be.
    let refusal = console_errors(&student).await;
    assert!(
        refusal
            .iter()
            .all(|e| e.contains("/api/live-sessions/join") && e.contains("409")),
        "only the refused join in the console: {refusal:#?}"
    );

    let mut errors = console_errors(&admin).await;
    errors.extend(console_errors(&student).await);
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
    admin.close().await.expect("admin browser closed");
    student.close().await.expect("student browser closed");
    server.task.abort();
}
