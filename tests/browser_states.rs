//! Browser tests of the page at phone width (390×844) and of the states a session's card and watch
//! page show: nothing on the list, the form, the watch page or the analytics page is wider than the
//! screen, and the attendance table stacks its rows; an ended session says when it ran and for how
//! long and shows no player; a signed-out visitor is asked to sign in, on the cards and on a watch
//! link, and can watch once signed in. Screenshots go to `screenshots/` (git-ignored); any error
//! in a browser's console fails the test.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;
use fantoccini::Client;
use serde_json::{json, Value};

const PHONE: (u32, u32) = (390, 844);

/// Sizes the window so that the page's viewport is the phone's.
async fn phone_size(client: &Client) {
    client
        .set_window_size(PHONE.0, PHONE.1)
        .await
        .expect("window sized");
    let inner = client
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await
        .expect("viewport size");
    let (w, h) = (
        inner[0].as_u64().unwrap_or(0),
        inner[1].as_u64().unwrap_or(0),
    );
    if (w, h) != (u64::from(PHONE.0), u64::from(PHONE.1)) {
        // The window's frame takes the difference.
        let width = 2 * PHONE.0 - u32::try_from(w).expect("a width");
        let height = 2 * PHONE.1 - u32::try_from(h).expect("a height");
        client
            .set_window_size(width, height)
            .await
            .expect("window resized");
    }
    let inner = client
        .execute("return window.innerWidth;", vec![])
        .await
        .expect("viewport width");
    assert_eq!(inner.as_u64(), Some(u64::from(PHONE.0)), "phone viewport");
}

/// The elements that reach past the viewport's sides, and the document's own overflow.
async fn overflow(client: &Client, what: &str) {
    let found = client
        .execute(
            r#"
            var width = window.innerWidth;
            var bad = [];
            var doc = document.documentElement.scrollWidth;
            if (doc > width) bad.push('document scrollWidth ' + doc + ' > ' + width);
            document.querySelectorAll('body *').forEach(function (el) {
              var r = el.getBoundingClientRect();
              if (r.width === 0 || r.height === 0 || el.closest('[hidden]')) return;
              if (r.left < -0.5 || r.right > width + 0.5) {
                bad.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                  (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
                  ' spans ' + Math.round(r.left) + '..' + Math.round(r.right));
              }
            });
            return bad;
            "#,
            vec![],
        )
        .await
        .expect("overflow scan");
    let bad: Vec<String> = serde_json::from_value(found).expect("a list");
    assert!(bad.is_empty(), "{what} is wider than the phone: {bad:#?}");
}

async fn run(client: &Client, script: &str, args: Vec<Value>) -> Value {
    client.execute(script, args).await.expect("script ran")
}

async fn create_session(client: &Client, title: &str) -> String {
    click(client, "#add-session-toggle").await;
    fill(client, "#f-title", title).await;
    fill(client, "#f-instructor", "Ferris Crab").await;
    run(
        client,
        "document.getElementById('f-start').value = arguments[0];",
        vec![json!("2031-03-04T09:30")],
    )
    .await;
    fill(
        client,
        "#f-video",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    click(client, "#f-submit").await;
    wait_text(client, "#sessions", "the new card", |t| t.contains(title)).await;
    run(
        client,
        "var t = arguments[0];
         return Array.from(document.querySelectorAll('.session-card'))
           .find(function (c) { return c.querySelector('h3').textContent === t; }).dataset.id;",
        vec![json!(title)],
    )
    .await
    .as_str()
    .expect("the card's id")
    .to_owned()
}

async fn is_displayed(client: &Client, css: &str) -> bool {
    find(client, css)
        .await
        .is_displayed()
        .await
        .expect("displayed state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_layout_and_session_states() {
    let Class {
        work: _work,
        shots,
        downloads: _,
        server,
        driver: _driver,
        admin,
        student: visitor,
    } = Class::start().await;
    let base = server.base.clone();
    phone_size(&admin).await;
    phone_size(&visitor).await;

    // The durations read as people say them.
    admin
        .goto(&format!("{base}/live-sessions"))
        .await
        .expect("page loaded");
    wait_present(&admin, "#signin-form:not([hidden])").await;
    let spans = admin
        .execute_async(
            "var done = arguments[arguments.length - 1];
             import(new URL('/live-sessions/js/format.js', location.href).href).then(function (f) {
               done([f.formatSpan(3720), f.formatSpan(2700), f.formatSpan(7200), f.formatSpan(20),
                 f.formatRan({ startedAt: '2031-03-04T10:00:00Z', endedAt: '2031-03-04T11:02:00Z', liveSeconds: 3720 }),
                 f.formatRan({ startedAt: null, endedAt: null, liveSeconds: 0 })]);
             }, function (e) { done('import failed: ' + e); });",
            vec![],
        )
        .await
        .expect("format.js imported");
    assert!(spans.is_array(), "{spans}");
    assert_eq!(spans[0], "1 h 2 min");
    assert_eq!(spans[1], "45 min");
    assert_eq!(spans[2], "2 h");
    assert_eq!(spans[3], "under a minute");
    let ran = spans[4].as_str().expect("a text");
    assert!(
        ran.starts_with("Ran ") && ran.ends_with("(1 h 2 min)"),
        "{ran}"
    );
    assert_eq!(spans[5], "", "a session that never ran has no run time");

    // The admin signs in at phone width; the list and the create form fit the screen.
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    overflow(&admin, "the empty list").await;
    let first = create_session(&admin, "Morning Standup").await;
    click(&admin, "#add-session-toggle").await;
    wait_present(&admin, "#session-form:not([hidden])").await;
    overflow(&admin, "the create form").await;
    screenshot(&admin, &shots, "phone-form").await;
    click(&admin, "#f-cancel").await;
    let second = create_session(&admin, "Evening Review").await;
    let first_card = format!(".session-card[data-id='{first}']");
    let second_card = format!(".session-card[data-id='{second}']");

    // Both go live; the admin joins the first and watches it at phone width.
    for card in [&first_card, &second_card] {
        click(&admin, &format!("{card} .start-btn")).await;
        click(&admin, "#confirm-ok").await;
        wait_present(&admin, &format!("{card}.is-live")).await;
    }
    overflow(&admin, "the list with live cards").await;
    run(&admin, "window.scrollTo(0, 0);", vec![]).await;
    screenshot(&admin, &shots, "phone-list").await;
    click(&admin, &format!("{first_card} .join-btn")).await;
    click(&admin, "#join-submit").await;
    wait_present(&admin, "#watch-frame").await;
    overflow(&admin, "the watch page").await;

    // Analytics: the attendance table's rows stack, and the watch time is on screen.
    click(&admin, "#watch-back").await;
    click(&admin, &format!("{first_card} .analytics-btn")).await;
    wait_text(&admin, "#attendees tbody", "the attendee", |t| {
        t.contains("ada@example.com")
    })
    .await;
    overflow(&admin, "the analytics page").await;
    let cell = run(
        &admin,
        "var td = document.querySelector('#attendees tbody td[data-label=\"Watch time\"]');
         var r = td.getBoundingClientRect();
         var row = td.parentElement.getBoundingClientRect();
         return { left: r.left, right: r.right, rowWidth: row.width, display: getComputedStyle(td).display,
           label: getComputedStyle(td, '::before').content, wrap: document.querySelector('.table-wrap').scrollWidth,
           wrapWidth: document.querySelector('.table-wrap').clientWidth };",
        vec![],
    )
    .await;
    assert!(
        cell["left"].as_f64().unwrap_or(-1.0) >= 0.0
            && cell["right"].as_f64().unwrap_or(1e9) <= f64::from(PHONE.0),
        "the watch time is on screen: {cell}"
    );
    assert_ne!(cell["display"], "table-cell", "the rows stack: {cell}");
    assert_eq!(
        cell["label"], "\"Watch time\"",
        "each line names its column"
    );
    assert!(
        cell["wrap"].as_f64() <= cell["wrapWidth"].as_f64(),
        "the table does not scroll sideways: {cell}"
    );
    admin
        .execute(
            "document.getElementById('attendees-heading').scrollIntoView();",
            vec![],
        )
        .await
        .expect("scrolled");
    screenshot(&admin, &shots, "phone-analytics").await;

    // The signed-out visitor's cards say that signing in offers Join.
    visitor
        .goto(&format!("{base}/live-sessions"))
        .await
        .expect("page loaded");
    wait_present(&visitor, &format!("{second_card} .card-hint")).await;
    wait_text(
        &visitor,
        &format!("{second_card} .card-hint"),
        "the sign-in hint",
        |t| t.contains("Sign in to join"),
    )
    .await;
    assert!(visitor
        .find(fantoccini::Locator::Css(&format!(
            "{second_card} .join-btn"
        )))
        .await
        .is_err());
    overflow(&visitor, "the signed-out list").await;

    // The admin ends the first session: its card says when it ran and for how long.
    click(&admin, "#analytics-back").await;
    click(&admin, &format!("{first_card} .end-btn")).await;
    click(&admin, "#confirm-ok").await;
    wait_present(&admin, &format!("{first_card}.is-ended")).await;
    let ran = wait_text(&admin, &format!("{first_card} .meta"), "when it ran", |t| {
        t.contains("Ran ")
    })
    .await;
    assert!(ran.contains("(under a minute)"), "for how long: {ran}");
    overflow(&admin, "the list with an ended card").await;
    run(
        &admin,
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'end' });",
        vec![json!(first_card)],
    )
    .await;
    screenshot(&admin, &shots, "phone-list-ended").await;
    wait_text(
        &visitor,
        &format!("{first_card} .meta"),
        "when it ran",
        |t| t.contains("Ran "),
    )
    .await;
    assert!(
        visitor
            .find(fantoccini::Locator::Css(&format!(
                "{first_card} .card-hint"
            )))
            .await
            .is_err(),
        "no hint to join a session that ended"
    );

    // Its watch page shows no player and says that it ended, and for how long.
    admin
        .goto(&format!("{base}/live-sessions#/watch/{first}"))
        .await
        .expect("watch page");
    let status = wait_text(&admin, "#watch-status", "that it ended", |t| {
        t.contains("ended")
    })
    .await;
    assert!(status.contains("It ran for under a minute."), "{status}");
    assert!(!is_displayed(&admin, "#watch-player").await, "no player");
    assert!(admin
        .find(fantoccini::Locator::Css("#watch-frame"))
        .await
        .is_err());
    overflow(&admin, "an ended session's watch page").await;
    screenshot(&admin, &shots, "phone-watch-ended").await;

    // A signed-out visitor opening a watch link is asked to sign in, with the form, and no
    // empty player; once signed in, the session plays.
    visitor
        .goto(&format!("{base}/live-sessions#/watch/{second}"))
        .await
        .expect("watch link");
    wait_text(&visitor, "#watch-title", "the sign-in prompt", |t| {
        t == "Sign in to watch"
    })
    .await;
    wait_present(&visitor, "#signin-form:not([hidden])").await;
    assert!(
        is_displayed(&visitor, "#signin-name").await,
        "the sign-in form"
    );
    assert!(
        !is_displayed(&visitor, "#watch-player").await,
        "no empty player"
    );
    overflow(&visitor, "the sign-in prompt").await;
    screenshot(&visitor, &shots, "phone-watch-signed-out").await;
    fill(&visitor, "#signin-name", "Sam Student").await;
    fill(&visitor, "#signin-email", "sam@example.com").await;
    click(&visitor, "#signin-submit").await;
    wait_present(&visitor, "#watch-frame").await;
    wait_text(&visitor, "#watch-title", "the session's title", |t| {
        t == "Evening Review"
    })
    .await;
    wait_text(&visitor, "#watch-status", "that it is live", |t| {
        t.contains("Live now")
    })
    .await;

    let mut errors = console_errors(&admin).await;
    errors.extend(console_errors(&visitor).await);
    // The embedded player's own host cannot be reached from the test machine.
    errors.retain(|e| !e.contains("youtube.com"));
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");

    admin.close().await.expect("admin browser closed");
    visitor.close().await.expect("visitor browser closed");
    server.task.abort();
}
