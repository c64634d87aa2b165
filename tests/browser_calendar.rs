//! Browser test of the calendar feeds, in headless Chromium driven through chromedriver (see
//! tests/browser.rs), on the example server.
//!
//! An admin creates a session. A student opens the page: the card offers "Add to calendar"
//! (the session's `.ics`), the list offers "Subscribe" (a `webcal://` link to the public feed).
//! The student joins the session while it is scheduled, asks for "My calendar feed" and gets a
//! `webcal://` link; the test fetches that feed over HTTP and finds the session in it. "New
//! link" replaces the link, and the old one answers 404. Any error in either browser's console
//! fails the test.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;

/// The `href` of the element `css`, resolved against the page.
async fn href(client: &fantoccini::Client, css: &str) -> String {
    property(client, css, "href").await
}

/// Waits until `#calendar-feed-link` shows a `webcal://` link other than `previous`.
async fn feed_link(client: &fantoccini::Client, previous: Option<&str>) -> String {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let link = href(client, "#calendar-feed-link").await;
        if link.starts_with("webcal://") && Some(link.as_str()) != previous {
            return link;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new feed link appeared (last: {link})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_subscribes_to_the_sessions_they_joined() {
    let Class {
        work: _work,
        shots,
        downloads: _downloads,
        server,
        driver: _driver,
        admin,
        student,
    } = Class::start().await;
    let base = server.base.clone();

    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    fill_session_form(
        &admin,
        "Calendars, feeds; and you",
        "Ferris Crab",
        "2031-03-04T09:30",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    click(&admin, "#f-submit").await;
    let (id, card_css) = new_card(&admin, ".session-card[data-id]").await;

    sign_in(&student, &base, "Sam Student", "sam@example.com", false).await;
    wait_present(&student, &card_css).await;

    // The card's "Add to calendar" link is the session's event.
    let add = href(&student, &format!("{card_css} .calendar-link")).await;
    assert_eq!(add, format!("{base}/api/live-sessions/{id}/calendar.ics"));
    let event = reqwest::get(&add).await.expect("the event is fetched");
    assert_eq!(event.status(), 200);
    let event = event.text().await.expect("the event's text");
    assert!(event.contains(&format!("UID:{id}@livesessions")), "{event}");

    // "Subscribe" points calendar apps at the public feed.
    let subscribe = href(&student, "#calendar-subscribe").await;
    let host = base.trim_start_matches("http://");
    assert_eq!(
        subscribe,
        format!("webcal://{host}/api/live-sessions/calendar.ics")
    );

    // The student joins the scheduled session.
    click(&student, &format!("{card_css} .join-btn")).await;
    click(&student, "#join-submit").await;
    wait_present(&student, "#watch-view:not([hidden])").await;
    click(&student, "#watch-back").await;
    wait_present(&student, "#list-view:not([hidden])").await;

    // "My calendar feed" shows the student's own feed link.
    click(&student, "#calendar-feed-open").await;
    wait_present(&student, "#calendar-feed:not([hidden])").await;
    let first = feed_link(&student, None).await;
    screenshot(&student, &shots, "calendar-feed").await;
    let first_http = first.replacen("webcal://", "http://", 1);
    assert!(
        first_http.starts_with(&format!("{base}/api/calendar/")) && first_http.ends_with(".ics"),
        "{first}"
    );
    let feed = reqwest::get(&first_http)
        .await
        .expect("the feed is fetched");
    assert_eq!(feed.status(), 200);
    assert_eq!(
        feed.headers()["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    let feed = feed.text().await.expect("the feed's text");
    assert!(
        feed.contains(&format!("UID:{id}@livesessions")),
        "the joined session is in the student's feed:\n{feed}"
    );
    assert!(
        feed.contains("SUMMARY:Calendars\\, feeds\\; and you"),
        "{feed}"
    );

    // "New link" replaces it; the old link stops working.
    click(&student, "#calendar-feed-rotate").await;
    let second = feed_link(&student, Some(&first)).await;
    let second_http = second.replacen("webcal://", "http://", 1);
    assert_eq!(
        reqwest::get(&first_http).await.expect("fetched").status(),
        404
    );
    let again = reqwest::get(&second_http).await.expect("fetched");
    assert_eq!(again.status(), 200);
    assert!(again
        .text()
        .await
        .expect("text")
        .contains(&format!("UID:{id}@livesessions")));

    for (who, client) in [("admin", &admin), ("student", &student)] {
        let errors = console_errors(client).await;
        assert!(errors.is_empty(), "{who}'s console: {errors:?}");
    }
    admin.close().await.expect("admin browser closed");
    student.close().await.expect("student browser closed");
}
