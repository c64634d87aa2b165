//! Browser test of a roster longer than a page, in headless Chromium driven through
//! chromedriver (see tests/browser.rs).
//!
//! An admin creates a session from the form, opens its analytics and uploads a roster of 250
//! students. The roster table shows them 100 at a time by name: "Rows 1–100 of 250", then
//! Next to rows 101–200 and 201–250, where Next is disabled. On the last page the admin removes
//! a student with the row's Remove button (and the confirmation), and the page shows 249;
//! adds one with the "Add a member" form, whose name sorts first, and the count is 250 again;
//! Previous goes back to the first page, which starts with the new member. Any error in the
//! browser console fails the test.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;

/// The user id of roster student `n` (1–250); names sort as the numbers do.
fn student(n: usize) -> String {
    format!("dev-s{n:03}@example.com")
}

/// Waits until the roster's range reads `range` and its first row is `first`.
async fn wait_page(client: &fantoccini::Client, range: &str, first: &str) {
    wait_text(client, "#roster-range", range, |t| t == range).await;
    wait_present(
        client,
        &format!("#roster-table tbody tr:first-child[data-user-id='{first}']"),
    )
    .await;
}

/// Whether the button at `css` is disabled.
async fn disabled(client: &fantoccini::Client, css: &str) -> bool {
    property(client, css, "disabled").await == "true"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_pages_through_a_long_roster_and_edits_it() {
    let class = Class::start().await;
    let admin = &class.admin;
    let base = class.server.base.clone();

    sign_in(admin, &base, "Ada Admin", "ada@example.com", true).await;
    fill_session_form(
        admin,
        "Big lecture",
        "Ferris Crab",
        "2031-03-06T09:30",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    click(admin, "#f-submit").await;
    let (_, card) = new_card(admin, ".session-card[data-id]").await;
    click(admin, &format!("{card} .analytics-btn")).await;

    let mut csv = String::from("userId,userName,email\r\n");
    for n in 1..=250 {
        csv += &format!("{},Student {n:03},s{n:03}@example.com\r\n", student(n));
    }
    let roster = class.work.path().join("roster.csv");
    std::fs::write(&roster, csv).expect("roster written");
    find(admin, "#roster-file")
        .await
        .send_keys(&roster.display().to_string())
        .await
        .expect("file chosen");
    click(admin, "#roster-upload-submit").await;

    // 100 a page, by name.
    wait_page(admin, "Rows 1–100 of 250", &student(1)).await;
    assert!(
        disabled(admin, "#roster-prev").await,
        "no page before the first"
    );
    assert!(!disabled(admin, "#roster-next").await);
    click(admin, "#roster-next").await;
    wait_page(admin, "Rows 101–200 of 250", &student(101)).await;
    click(admin, "#roster-next").await;
    wait_page(admin, "Rows 201–250 of 250", &student(201)).await;
    assert!(
        disabled(admin, "#roster-next").await,
        "no page after the last"
    );
    screenshot(admin, &class.shots, "roster-last-page").await;

    // Remove the last student from the page they are on.
    let last = student(250);
    click(
        admin,
        &format!("#roster-table tbody tr[data-user-id='{last}'] .roster-remove"),
    )
    .await;
    wait_present(admin, "#confirm-modal[open]").await;
    click(admin, "#confirm-ok").await;
    wait_text(admin, "#roster-range", "249 rows", |t| {
        t == "Rows 201–249 of 249"
    })
    .await;
    wait_absent(
        admin,
        &format!("#roster-table tbody tr[data-user-id='{last}']"),
    )
    .await;

    // Add one whose name sorts first; the page stays, the count grows.
    fill(admin, "#roster-user-id", &student(0)).await;
    fill(admin, "#roster-user-name", "Student 000").await;
    fill(admin, "#roster-email", "s000@example.com").await;
    click(admin, "#roster-add-submit").await;
    wait_page(admin, "Rows 201–250 of 250", &student(200)).await;
    click(admin, "#roster-prev").await;
    wait_page(admin, "Rows 101–200 of 250", &student(100)).await;
    click(admin, "#roster-prev").await;
    wait_page(admin, "Rows 1–100 of 250", &student(0)).await;
    wait_text(admin, "#roster-counts", "the members", |t| {
        t.starts_with("250 on the roster")
    })
    .await;

    let errors = console_errors(admin).await;
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
    class.server.task.abort();
}
