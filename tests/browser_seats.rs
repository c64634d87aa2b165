//! Browser test of reserved seats, in headless Chromium driven through chromedriver (see
//! tests/browser.rs).
//!
//! An admin creates a live session with a capacity of two from the form and uploads a roster of
//! one student in the analytics view: back on the list, the card says "1 seat left · 1
//! reserved" (the page reads the session again after a roster change, which sends no event). A walk-in student joins from the card
//! and watches; a second walk-in then sees "No open seats · 1 reserved" on the card, and their
//! join is refused with the page's "This session is full" message (`409 session_full`); the
//! student on the roster still joins and watches, and the card then says "Full". Any error in
//! the browser consoles other than the refused join fails the test.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;

/// The roster member's dev identity (the dev sign-in's user id is `dev-` and the email).
const MAY: &str = "dev-may@example.com";

/// Signs the student out (the next one signs in in the same browser).
async fn sign_out(client: &fantoccini::Client) {
    click(client, "#signout").await;
    wait_present(client, "#signin-panel:not([hidden])").await;
}

/// Joins the session of the card `card` from it.
async fn join_from_card(client: &fantoccini::Client, card: &str) {
    click(client, &format!("{card} .join-btn")).await;
    click(client, "#join-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_member_keeps_a_seat_that_walk_ins_cannot_take() {
    let class = Class::start().await;
    let (admin, student) = (&class.admin, &class.student);
    let base = class.server.base.clone();

    // A live session with two seats, from the form, and a roster of one from a file.
    sign_in(admin, &base, "Ada Admin", "ada@example.com", true).await;
    fill_session_form(
        admin,
        "Two-seat class",
        "Ferris Crab",
        "2031-03-06T09:30",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    fill(admin, "#f-capacity", "2").await;
    click(admin, "#f-live").await;
    click(admin, "#f-submit").await;
    let (_, card) = new_card(admin, ".session-card[data-id].is-live").await;
    wait_text(admin, &format!("{card} .seats"), "two seats left", |t| {
        t.contains("2 seats left")
    })
    .await;
    click(admin, &format!("{card} .analytics-btn")).await;
    let roster = class.work.path().join("roster.csv");
    std::fs::write(
        &roster,
        format!("userId,userName,email\r\n{MAY},May Member,may@example.com\r\n"),
    )
    .expect("roster written");
    find(admin, "#roster-file")
        .await
        .send_keys(&roster.display().to_string())
        .await
        .expect("file chosen");
    click(admin, "#roster-upload-submit").await;
    wait_present(
        admin,
        &format!("#roster-table tbody tr[data-user-id='{MAY}'][data-status='absent']"),
    )
    .await;
    click(admin, "#analytics-back").await;
    wait_text(
        admin,
        &format!("{card} .seats"),
        "one seat left and one reserved",
        |t| t.contains("1 seat left") && t.contains("1 reserved"),
    )
    .await;
    screenshot(admin, &class.shots, "seats-reserved").await;

    // The first walk-in takes the open seat and watches.
    sign_in(student, &base, "Wes Walkin", "wes@example.com", false).await;
    wait_text(student, &format!("{card} .seats"), "the seats", |t| {
        t.contains("1 seat left · 1 reserved")
    })
    .await;
    join_from_card(student, &card).await;
    wait_present(student, "#watch-frame").await;

    // The second walk-in finds no open seat: the card says so and the join is refused.
    sign_out(student).await;
    sign_in(student, &base, "Val Late", "val@example.com", false).await;
    wait_text(student, &format!("{card} .seats"), "no open seat", |t| {
        t.contains("No open seats") && t.contains("1 reserved")
    })
    .await;
    join_from_card(student, &card).await;
    wait_text(student, "#join-error", "the refusal", |t| {
        t.contains("This session is full")
    })
    .await;
    screenshot(student, &class.shots, "seats-walk-in-refused").await;
    click(student, "#join-cancel").await;
    wait_absent(student, "#join-modal[open]").await;
    let refusal = console_errors(student).await;
    assert!(
        refusal
            .iter()
            .all(|e| e.contains("/api/live-sessions/join") && e.contains("409")),
        "only the refused join in the console: {refusal:#?}"
    );

    // The roster member still joins and watches; then the session is full for everyone.
    sign_out(student).await;
    sign_in(student, &base, "May Member", "may@example.com", false).await;
    join_from_card(student, &card).await;
    wait_present(student, "#watch-frame").await;
    wait_text(student, "#watch-status", "that it is live", |t| {
        t.contains("Live now")
    })
    .await;
    wait_text(admin, &format!("{card} .seats"), "the full card", |t| {
        t.contains("Full") && !t.contains("reserved")
    })
    .await;

    let mut errors = console_errors(admin).await;
    errors.extend(console_errors(student).await);
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
    class.server.task.abort();
}
