//! Browser test of series, in headless Chromium driven through chromedriver (see
//! tests/browser.rs).
//!
//! An admin picks "Weekly" on Tuesdays, 3 times, in the session form (after the form refuses a
//! count of 0 and the server a daily series for two years), creates the series and sees three cards, each with a "Part of a series" link;
//! the link opens the series page with the three sessions and the attendance summary; editing
//! an occurrence offers "This session / This and following", and "This and following" renames
//! the later ones. Any error in the browser's console fails the test.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;
use serde_json::json;
use std::time::Duration;

/// How many elements match `css` on the page.
async fn count(client: &fantoccini::Client, css: &str) -> u64 {
    client
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(css)],
        )
        .await
        .expect("elements counted")
        .as_u64()
        .unwrap_or(0)
}

/// Waits until `css` matches exactly `n` elements.
async fn wait_count(client: &fantoccini::Client, css: &str, n: u64) {
    let deadline = tokio::time::Instant::now() + STEP;
    let mut last = 0;
    while tokio::time::Instant::now() < deadline {
        last = count(client, css).await;
        if last == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} matched {last} elements, not {n}");
}

/// The titles of the cards, in page order.
async fn card_titles(client: &fantoccini::Client) -> Vec<String> {
    let titles = client
        .execute(
            "return Array.prototype.map.call(document.querySelectorAll('.session-card h3'),\
               function (h) { return h.textContent; });",
            vec![],
        )
        .await
        .expect("titles read");
    serde_json::from_value(titles).expect("a list of titles")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_weekly_series_from_the_form_and_opens_it() {
    let Class {
        work: _work,
        shots,
        downloads: _,
        server,
        driver: _driver,
        admin,
        student,
    } = Class::start().await;
    student.close().await.expect("student browser closed");
    let base = server.base.clone();
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;

    // Tuesday 4 March 2031 at 09:30, weekly on Tuesdays.
    fill_session_form(
        &admin,
        "Weekly Rust",
        "Ferris Crab",
        "2031-03-04T09:30",
        "https://vimeo.com/76979871",
    )
    .await;
    assert!(
        find(&admin, "#f-repeat-days")
            .await
            .attr("hidden")
            .await
            .expect("attr")
            .is_some(),
        "the days show only for a weekly series"
    );
    find(&admin, "#f-repeat")
        .await
        .select_by_value("WEEKLY")
        .await
        .expect("weekly chosen");
    wait_present(&admin, "#f-repeat-days:not([hidden])").await;
    click(&admin, "#f-repeat-days input[value='TU']").await;
    // The form checks the number of sessions before sending anything.
    fill(&admin, "#f-repeat-count", "0").await;
    click(&admin, "#f-submit").await;
    wait_text(&admin, "#f-repeat-error", "the count error", |t| {
        t.contains("from 1 to 200")
    })
    .await;
    // The server's refusal of a rule (daily for two years is too many) shows by the picker.
    find(&admin, "#f-repeat")
        .await
        .select_by_value("DAILY")
        .await
        .expect("daily chosen");
    click(&admin, "#f-repeat-by-until").await;
    admin
        .execute(
            "document.getElementById('f-repeat-until').value = '2033-03-04';",
            vec![],
        )
        .await
        .expect("last date set");
    click(&admin, "#f-submit").await;
    wait_text(&admin, "#f-repeat-error", "the server's refusal", |t| {
        t.contains("at most 200 sessions")
    })
    .await;
    assert_eq!(
        count(&admin, ".session-card").await,
        0,
        "nothing was created"
    );
    find(&admin, "#f-repeat")
        .await
        .select_by_value("WEEKLY")
        .await
        .expect("weekly chosen again");
    click(&admin, "#f-repeat-by-count").await;
    fill(&admin, "#f-repeat-count", "3").await;
    screenshot(&admin, &shots, "series-form").await;
    click(&admin, "#f-submit").await;

    // Three cards, each an occurrence with a link to the series.
    wait_count(&admin, ".session-card", 3).await;
    wait_count(&admin, ".session-card .series-link", 3).await;
    assert_eq!(card_titles(&admin).await, ["Weekly Rust"; 3]);
    screenshot(&admin, &shots, "series-cards").await;

    // The series page: three sessions, scheduled, and the admin's summary.
    let (_, first) = new_card(&admin, ".session-card[data-id]").await;
    click(&admin, &format!("{first} .series-link")).await;
    wait_present(&admin, "#series-view:not([hidden])").await;
    wait_text(&admin, "#series-title", "the series title", |t| {
        t == "Series: Weekly Rust"
    })
    .await;
    wait_count(&admin, "#series-occurrences li", 3).await;
    wait_count(&admin, "#series-occurrences li .status-scheduled", 3).await;
    wait_text(&admin, "#series-meta", "the rule", |t| {
        t.contains("3 sessions") && t.contains("FREQ=WEEKLY;BYDAY=TU;COUNT=3")
    })
    .await;
    wait_text(&admin, "#series-summary-note", "the summary", |t| {
        t.starts_with("0 of 3 sessions have ended")
    })
    .await;
    wait_present(&admin, "#series-summary-empty:not([hidden])").await;
    screenshot(&admin, &shots, "series-page").await;
    click(&admin, "#series-back").await;
    wait_present(&admin, "#list-view:not([hidden])").await;

    // Editing the second occurrence offers the scope; "This and following" renames the second
    // and the third.
    let ids = admin
        .execute(
            "return Array.prototype.map.call(document.querySelectorAll('.session-card'),\
               function (c) { return c.dataset.id; });",
            vec![],
        )
        .await
        .expect("ids read");
    let second = ids[1].as_str().expect("a second card").to_owned();
    click(
        &admin,
        &format!(".session-card[data-id='{second}'] .edit-btn"),
    )
    .await;
    wait_present(&admin, "#f-scope-field:not([hidden])").await;
    wait_present(&admin, "#f-repeat-field[hidden]").await;
    fill(&admin, "#f-title", "Weekly Rust, part two").await;
    click(&admin, "#f-scope-following").await;
    click(&admin, "#f-submit").await;
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let titles = card_titles(&admin).await;
        if titles
            == [
                "Weekly Rust",
                "Weekly Rust, part two",
                "Weekly Rust, part two",
            ]
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the later cards were not renamed: {titles:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut errors = console_errors(&admin).await;
    // The browser logs the refused create; that answer was expected.
    errors.retain(|e| !(e.contains("Failed to load resource") && e.contains("422")));
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
    admin.close().await.expect("admin browser closed");
    server.task.abort();
}
