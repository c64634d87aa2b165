//! Browser test of editing sessions on the page, in headless Chromium driven through
//! chromedriver (see tests/browser.rs).
//!
//! An admin creates a session with an uploaded thumbnail, then edits its title and start time
//! (a reschedule) in the same form, prefilled; a student's open page shows the new title without
//! a reload. The admin removes the thumbnail, which also deletes the stored upload. A change made
//! elsewhere while the form is open makes the save fail with a clear message and reloads the
//! form. Start asks first; dismissing it leaves the session scheduled. Cancel asks first too:
//! dismissed it changes nothing, confirmed it cancels the session on both pages. At phone width
//! nothing scrolls sideways. Any error in either browser's console fails the test.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use std::path::Path;
use std::time::Duration;

use browser_kit::*;
use fantoccini::{Client, Locator};
use serde_json::json;

/// Sets a `datetime-local` input the way typing would, with its `input` event.
async fn set_start(client: &Client, value: &str) {
    client
        .execute(
            "var input = document.getElementById('f-start');\
             input.value = arguments[0];\
             input.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![json!(value)],
        )
        .await
        .expect("start time set");
}

/// The `value` property of the input at `css`.
async fn value_of(client: &Client, css: &str) -> String {
    property(client, css, "value").await
}

/// The input's value once it is `expected`, or the last value seen when a step's time runs out
/// (a hang guard): the edit form is filled after the session is loaded afresh.
async fn wait_value(client: &Client, css: &str, expected: &str) -> String {
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let value = value_of(client, css).await;
        if value == expected || std::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the confirm dialog to be open, and answers its message.
async fn confirm_dialog_text(client: &Client) -> String {
    wait_present(client, "#confirm-modal[open]").await;
    find(client, "#confirm-message")
        .await
        .text()
        .await
        .expect("the question")
}

/// The number of files under `dir`.
fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_edits_reschedules_and_cancels_a_session() {
    let Class {
        work,
        shots,
        downloads: _,
        server,
        driver: _driver,
        admin,
        student,
    } = Class::start().await;
    let base = server.base.clone();

    // The admin creates a session with an uploaded thumbnail.
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    click(&admin, "#add-session-toggle").await;
    fill(&admin, "#f-title", "Rust for Beginners").await;
    fill(&admin, "#f-instructor", "Ferris Crab").await;
    set_start(&admin, "2031-03-04T09:30").await;
    fill(&admin, "#f-video", "https://vimeo.com/76979871").await;
    choose_thumbnail(&admin).await;
    click(&admin, "#f-submit").await;
    let (id, card_css) = new_card(&admin, ".session-card[data-id]").await;
    wait_present(&admin, &format!("{card_css} img")).await;
    let uploads = work.path().join("thumbnails");
    assert_eq!(files_in(&uploads), 1, "the upload is stored");

    sign_in(&student, &base, "Sam Student", "sam@example.com", false).await;
    wait_present(&student, &format!("{card_css} img")).await;
    assert!(
        student
            .find(Locator::Css(&format!("{card_css} .edit-btn")))
            .await
            .is_err(),
        "students get no Edit"
    );

    // Edit opens the create form prefilled, in the zone the input is read in.
    click(&admin, &format!("{card_css} .edit-btn")).await;
    wait_text(&admin, "#f-submit", "Save changes", |t| t == "Save changes").await;
    assert_eq!(value_of(&admin, "#f-title").await, "Rust for Beginners");
    assert_eq!(value_of(&admin, "#f-instructor").await, "Ferris Crab");
    assert_eq!(value_of(&admin, "#f-start").await, "2031-03-04T09:30");
    assert_eq!(
        value_of(&admin, "#f-video").await,
        "https://vimeo.com/76979871"
    );
    assert!(find(&admin, "#f-thumbnail-remove")
        .await
        .is_displayed()
        .await
        .expect("displayed state"));
    assert!(
        !find(&admin, "#f-live")
            .await
            .is_displayed()
            .await
            .expect("displayed state"),
        "Start and End have their own buttons"
    );
    let preview = find(&admin, "#f-thumbnail-preview").await;
    let preview_src = preview.attr("src").await.expect("src").unwrap_or_default();
    assert!(
        preview_src.contains("/api/live-sessions/thumbnails/"),
        "the current thumbnail is shown: {preview_src}"
    );

    // A new title and a new start time (the reschedule); the student's page follows.
    fill(&admin, "#f-title", "Rust, Rescheduled").await;
    set_start(&admin, "2031-03-05T10:15").await;
    screenshot(&admin, &shots, "edit-session").await;
    click(&admin, "#f-submit").await;
    wait_text(&student, &format!("{card_css} h3"), "the new title", |t| {
        t == "Rust, Rescheduled"
    })
    .await;
    wait_text(&admin, &format!("{card_css} h3"), "the new title", |t| {
        t == "Rust, Rescheduled"
    })
    .await;
    assert!(find(&admin, "#session-form")
        .await
        .attr("hidden")
        .await
        .expect("hidden")
        .is_some());
    click(&admin, &format!("{card_css} .edit-btn")).await;
    assert_eq!(
        wait_value(&admin, "#f-start", "2031-03-05T10:15").await,
        "2031-03-05T10:15",
        "the new start time is stored"
    );
    assert_eq!(value_of(&admin, "#f-title").await, "Rust, Rescheduled");
    assert_eq!(
        value_of(&admin, "#f-instructor").await,
        "Ferris Crab",
        "fields left alone are kept"
    );

    // Remove thumbnail: both pages drop the image, and the stored upload goes.
    click(&admin, "#f-thumbnail-remove").await;
    click(&admin, "#f-submit").await;
    wait_absent(&admin, &format!("{card_css} img")).await;
    wait_absent(&student, &format!("{card_css} img")).await;
    wait_present(&student, &format!("{card_css} .placeholder")).await;
    let deadline = tokio::time::Instant::now() + STEP;
    while files_in(&uploads) != 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files_in(&uploads), 0, "the removed upload is deleted");

    // A change made elsewhere while the form is open: the save says so and reloads the form.
    click(&admin, &format!("{card_css} .edit-btn")).await;
    wait_text(&admin, "#f-submit", "Save changes", |t| t == "Save changes").await;
    assert!(
        !find(&admin, "#f-thumbnail-remove")
            .await
            .is_displayed()
            .await
            .expect("displayed state"),
        "no Remove thumbnail without one"
    );
    let status = admin
        .execute(
            "return fetch('/api/admin/live-sessions/' + arguments[0], { method: 'PUT',\
               headers: { 'Content-Type': 'application/json',\
                 Authorization: 'Bearer ' + localStorage.getItem('livesessions.token') },\
               body: JSON.stringify({ description: 'Changed elsewhere.' }) })\
             .then(function (r) { return r.status; });",
            vec![json!(id)],
        )
        .await
        .expect("a change made elsewhere");
    assert_eq!(status, json!(200));
    fill(&admin, "#f-title", "Rust, my version").await;
    click(&admin, "#f-submit").await;
    wait_text(&admin, "#alerts", "the conflict", |t| {
        t.contains("Someone else changed this session")
    })
    .await;
    let deadline = tokio::time::Instant::now() + STEP;
    while value_of(&admin, "#f-description").await != "Changed elsewhere."
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        value_of(&admin, "#f-description").await,
        "Changed elsewhere."
    );
    assert_eq!(
        value_of(&admin, "#f-title").await,
        "Rust, Rescheduled",
        "the form shows the stored session again"
    );
    assert_eq!(
        find(&admin, &format!("{card_css} h3"))
            .await
            .text()
            .await
            .expect("title"),
        "Rust, Rescheduled",
        "the refused change was not applied"
    );
    click(&admin, "#f-cancel").await;
    assert!(find(&admin, "#session-form")
        .await
        .attr("hidden")
        .await
        .expect("hidden")
        .is_some());

    // Start asks first; dismissing leaves the session scheduled.
    click(&admin, &format!("{card_css} .start-btn")).await;
    let question = confirm_dialog_text(&admin).await;
    assert!(question.contains("Rust, Rescheduled"), "{question}");
    assert_eq!(
        find(&admin, "#confirm-ok")
            .await
            .text()
            .await
            .expect("label"),
        "Start"
    );
    click(&admin, "#confirm-cancel").await;
    wait_absent(&admin, "#confirm-modal[open]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_present(&admin, &format!("{card_css}.is-scheduled")).await;
    wait_present(&student, &format!("{card_css}.is-scheduled")).await;

    // Cancel sits apart with Delete and asks first: dismissed, nothing changes.
    wait_present(&admin, &format!("{card_css} .card-danger .cancel-btn")).await;
    wait_present(&admin, &format!("{card_css} .card-danger .delete-btn")).await;
    assert!(admin
        .find(Locator::Css(&format!(
            "{card_css} .card-actions .delete-btn"
        )))
        .await
        .is_err());
    click(&admin, &format!("{card_css} .cancel-btn")).await;
    let question = confirm_dialog_text(&admin).await;
    assert!(
        question.contains("Cancel “Rust, Rescheduled”"),
        "{question}"
    );
    click(&admin, "#confirm-cancel").await;
    wait_absent(&admin, "#confirm-modal[open]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_present(&admin, &format!("{card_css}.is-scheduled")).await;
    wait_present(&student, &format!("{card_css}.is-scheduled")).await;

    // Confirmed, the session is cancelled on both pages, and Cancel is gone.
    click(&admin, &format!("{card_css} .cancel-btn")).await;
    confirm_dialog_text(&admin).await;
    click(&admin, "#confirm-ok").await;
    wait_present(&admin, &format!("{card_css}.is-cancelled")).await;
    wait_present(&student, &format!("{card_css}.is-cancelled")).await;
    wait_absent(&admin, &format!("{card_css} .cancel-btn")).await;
    wait_absent(&student, &format!("{card_css} .join-btn")).await;
    screenshot(&admin, &shots, "cancelled-session").await;

    // At phone width nothing scrolls sideways, and the form's inputs fit inside it.
    admin.set_window_size(390, 844).await.expect("phone width");
    let overflow =
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;";
    assert_eq!(
        admin.execute(overflow, vec![]).await.expect("widths"),
        json!(0)
    );
    click(&admin, &format!("{card_css} .edit-btn")).await;
    wait_text(&admin, "#f-submit", "Save changes", |t| t == "Save changes").await;
    assert_eq!(
        admin.execute(overflow, vec![]).await.expect("widths"),
        json!(0)
    );
    let inside = "var form = document.getElementById('session-form').getBoundingClientRect();\
        return Array.prototype.every.call(\
          document.querySelectorAll('#session-form input, #session-form textarea'),\
          function (el) { var r = el.getBoundingClientRect(); return r.width === 0 || r.right <= form.right; });";
    assert_eq!(
        admin.execute(inside, vec![]).await.expect("input boxes"),
        json!(true),
        "the form's inputs stay inside the form"
    );
    screenshot(&admin, &shots, "edit-session-phone").await;
    click(&admin, "#f-cancel").await;

    let mut errors = console_errors(&admin).await;
    errors.extend(console_errors(&student).await);
    // The refused save is answered 409, which the page handles; the browser still logs it.
    errors.retain(|e| !(e.contains("Failed to load resource") && e.contains("409")));
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");

    admin.close().await.expect("admin browser closed");
    student.close().await.expect("student browser closed");
    server.task.abort();
}
