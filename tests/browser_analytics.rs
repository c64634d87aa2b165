//! Browser test of the analytics view keeping itself up to date while a session is live: a
//! student's join and leave show up without pressing Refresh, and the live time and the open
//! watch time tick between fetches. Any error in either browser's console fails the test.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use std::time::Duration;

use browser_kit::*;
use fantoccini::Client;

/// Seconds of an `H:MM:SS` duration as the page shows it.
fn seconds(text: &str) -> u64 {
    text.trim()
        .split(':')
        .map(|part| {
            part.parse::<u64>()
                .unwrap_or_else(|_| panic!("a duration: {text:?}"))
        })
        .fold(0, |total, part| total * 60 + part)
}

/// How many times the page has fetched the session's report so far.
async fn report_fetches(client: &Client) -> u64 {
    client
        .execute(
            "return performance.getEntriesByType('resource')
               .filter(function (e) { return /\\/analytics(\\?|$)/.test(e.name); }).length;",
            vec![],
        )
        .await
        .expect("the resource timings")
        .as_u64()
        .expect("a count")
}

async fn text(client: &Client, css: &str) -> String {
    find(client, css).await.text().await.expect("the text")
}

/// Shows that `css` (a duration) grows by itself: two reads with no report fetched between
/// them, the second later than the first. Retries when a scheduled fetch fell in between.
async fn assert_ticks(client: &Client, css: &str) {
    for _ in 0..5 {
        let fetches = report_fetches(client).await;
        let before = seconds(&text(client, css).await);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let after = seconds(&text(client, css).await);
        if report_fetches(client).await != fetches {
            continue;
        }
        assert!(
            after > before,
            "{css} did not tick without a fetch: {before} then {after}"
        );
        return;
    }
    panic!("{css}: the report was fetched during every attempt to watch it tick");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_follow_a_live_session() {
    let Class {
        work: _work,
        shots: _,
        downloads: _,
        server,
        driver: _driver,
        admin,
        student,
    } = Class::start().await;
    assert!(server.dev_mode, "dev mode is on for loopback");
    let base = server.base.clone();

    // The admin creates a session and starts it.
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    fill_session_form(
        &admin,
        "Analytics in Practice",
        "Grace Hopper",
        "2031-03-04T09:30",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    click(&admin, "#f-submit").await;
    let (_, card_css) = new_card(&admin, ".session-card[data-id]").await;
    click(&admin, &format!("{card_css} .start-btn")).await;
    click(&admin, "#confirm-ok").await;
    wait_present(&admin, &format!("{card_css}.is-live")).await;

    // The admin opens the analytics: nobody yet, and the live time runs by itself.
    click(&admin, &format!("{card_css} .analytics-btn")).await;
    wait_text(&admin, "#analytics-meta", "that the session is live", |t| {
        t.contains("Live")
    })
    .await;
    assert_eq!(text(&admin, "#analytics-participants").await.trim(), "0");
    assert_eq!(text(&admin, "#analytics-watching").await.trim(), "0");
    wait_text(
        &admin,
        "#analytics-updated",
        "that it updates itself",
        |t| t.contains("update by themselves"),
    )
    .await;
    assert_ticks(&admin, "#analytics-live").await;

    // A student joins: the count and "Watching now" go to 1 without Refresh.
    sign_in(&student, &base, "Sam Student", "sam@example.com", false).await;
    click(&student, &format!("{card_css} .join-btn")).await;
    click(&student, "#join-submit").await;
    wait_present(&student, "#watch-view:not([hidden])").await;
    wait_text(&admin, "#analytics-participants", "1 participant", |t| {
        t.trim() == "1"
    })
    .await;
    wait_text(&admin, "#analytics-watching", "1 watching", |t| {
        t.trim() == "1"
    })
    .await;
    wait_text(&admin, "#attendees tbody", "the student, present", |t| {
        t.contains("Sam Student") && t.contains("Yes")
    })
    .await;
    // The student's open watch time ticks too.
    assert_ticks(&admin, "#attendees tbody tr td:nth-child(4)").await;

    // The student leaves, which publishes no event: the interval refresh shows it.
    click(&student, "#watch-back").await;
    wait_text(&admin, "#analytics-watching", "nobody watching", |t| {
        t.trim() == "0"
    })
    .await;
    wait_text(&admin, "#attendees tbody", "the student, gone", |t| {
        t.contains("Sam Student") && t.contains("No")
    })
    .await;
    assert_eq!(text(&admin, "#analytics-participants").await.trim(), "1");
    assert_ticks(&admin, "#analytics-live").await;

    // Once it has ended, the clock stops.
    click(&admin, "#analytics-back").await;
    click(&admin, &format!("{card_css} .end-btn")).await;
    click(&admin, "#confirm-ok").await;
    wait_present(&admin, &format!("{card_css}.is-ended")).await;
    click(&admin, &format!("{card_css} .analytics-btn")).await;
    wait_text(&admin, "#analytics-meta", "that the session ended", |t| {
        t.contains("Ended")
    })
    .await;
    // The report follows the session's own request.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let ended = text(&admin, "#analytics-live").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(text(&admin, "#analytics-live").await, ended);
    assert!(!text(&admin, "#analytics-updated")
        .await
        .contains("update by themselves"));

    let mut errors = console_errors(&admin).await;
    errors.extend(console_errors(&student).await);
    // The embedded player's own host cannot be reached from the test machine.
    errors.retain(|e| !e.contains("youtube.com"));
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");

    admin.close().await.expect("admin browser closed");
    student.close().await.expect("student browser closed");
    server.task.abort();
}
