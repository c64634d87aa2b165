//! Accessibility, measured: axe-core runs in the page (injected through WebDriver, never
//! served to users) on the sign-in form, the list with a live and an ended session (also at
//! phone width), the create form (empty and showing its errors), the confirm and join
//! dialogs, the watch page and the analytics with its roster (status badges, the add and
//! upload forms), and no violation of impact "serious" or
//! "critical" may remain. Any error in either browser's console fails the test too.
//!
//! `LIVESESSIONS_TEST_AXE` names axe-core's `axe.min.js` (`scripts/axe.sh path` installs it
//! from the npm registry into `target/axe/` and prints the path; `.ci/run` sets it).
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
#![allow(missing_docs)]

mod browser_kit;
mod common;

use browser_kit::*;
use fantoccini::Client;
use serde_json::{json, Value};

/// Impacts that fail the test.
const FAILING: [&str; 2] = ["serious", "critical"];

/// Runs axe-core on the whole page, then judges again the text axe leaves undecided because a
/// gradient lies behind it (the page's header and the cards' placeholders): against each colour
/// stop of that gradient in turn, set as a plain background for the time of the check, so the
/// gradient's worst end counts. Answers `{ violations }` or `{ error }`.
const GRADIENT_AWARE_RUN: &str = r#"
var done = arguments[arguments.length - 1];
(async function () {
  var options = { resultTypes: ['violations'], iframes: false };
  var violations = (await window.axe.run(document, options)).violations;
  var undecided = (await window.axe.run(document, {
    runOnly: ['color-contrast'], resultTypes: ['incomplete'], iframes: false
  })).incomplete;
  var owners = [];
  undecided.forEach(function (rule) {
    rule.nodes.forEach(function (node) {
      var gradient = node.any.some(function (c) { return c.data && c.data.messageKey === 'bgGradient'; });
      var el = gradient && document.querySelector(node.target[0]);
      while (el && getComputedStyle(el).backgroundImage.indexOf('gradient') < 0) el = el.parentElement;
      if (el && owners.indexOf(el) < 0) owners.push(el);
    });
  });
  for (var i = 0; i < owners.length; i++) {
    var owner = owners[i];
    var stops = getComputedStyle(owner).backgroundImage.match(/rgba?\([^)]*\)/g) || [];
    var image = owner.style.backgroundImage, color = owner.style.backgroundColor;
    for (var j = 0; j < stops.length; j++) {
      owner.style.backgroundImage = 'none';
      owner.style.backgroundColor = stops[j];
      var found = (await window.axe.run(owner, {
        runOnly: ['color-contrast'], resultTypes: ['violations'], iframes: false
      })).violations;
      found.forEach(function (v) { v.help += ' (on the gradient stop ' + stops[j] + ')'; });
      violations = violations.concat(found);
    }
    owner.style.backgroundImage = image;
    owner.style.backgroundColor = color;
  }
  return { violations: violations };
})().then(done, function (e) { done({ error: String(e) }); });
"#;

/// Runs axe-core on the page as it is now ([`GRADIENT_AWARE_RUN`]) and describes each serious or critical violation
/// (rule, impact, help, and every element it found), prefixed with `view`.
async fn audit(client: &Client, axe: &str, view: &str) -> Vec<String> {
    // WebDriver runs the script through the DevTools protocol, which the page's
    // Content-Security-Policy does not govern; the page's own `script-src` stays strict.
    let loaded = client
        .execute(
            &format!("{axe}\n;return typeof window.axe === 'object';"),
            vec![],
        )
        .await
        .expect("axe-core injected");
    assert_eq!(loaded, json!(true), "axe-core did not load into the page");
    let outcome = client
        .execute_async(GRADIENT_AWARE_RUN, vec![])
        .await
        .expect("axe.run answered");
    if let Some(error) = outcome.get("error") {
        panic!("axe.run failed on {view}: {error}");
    }
    describe(view, &outcome["violations"])
}

/// One paragraph per violation whose impact is in [`FAILING`].
fn describe(view: &str, violations: &Value) -> Vec<String> {
    violations
        .as_array()
        .expect("axe's violations")
        .iter()
        .filter(|v| FAILING.contains(&v["impact"].as_str().unwrap_or_default()))
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|node| {
                    format!(
                        "    - {} {}\n      {}",
                        node["target"],
                        node["html"].as_str().unwrap_or_default(),
                        node["failureSummary"]
                            .as_str()
                            .unwrap_or_default()
                            .replace('\n', "\n      ")
                    )
                })
                .collect();
            format!(
                "{view}: {} ({}): {} <{}>\n{}",
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or_default(),
                v["help"].as_str().unwrap_or_default(),
                v["helpUrl"].as_str().unwrap_or_default(),
                nodes.join("\n")
            )
        })
        .collect()
}

/// Creates a session through the form (opening it when closed) and returns its card's selector.
async fn create_session(admin: &Client, title: &str) -> String {
    if find(admin, "#session-form")
        .await
        .attr("hidden")
        .await
        .expect("an attribute")
        .is_some()
    {
        click(admin, "#add-session-toggle").await;
    }
    fill(admin, "#f-title", title).await;
    fill(admin, "#f-instructor", "Grace Hopper").await;
    admin
        .execute(
            "document.getElementById('f-start').value = arguments[0];",
            vec![json!("2031-03-04T09:30")],
        )
        .await
        .expect("start time set");
    fill(
        admin,
        "#f-video",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    .await;
    fill(admin, "#f-description", "Read along in chapter three.").await;
    click(admin, "#f-submit").await;
    let mut id = Value::Null;
    for _ in 0..200 {
        id = admin
            .execute(
                "var cards = document.querySelectorAll('.session-card[data-id]');
                 for (var i = 0; i < cards.length; i++) {
                   if (cards[i].textContent.indexOf(arguments[0]) >= 0) return cards[i].dataset.id;
                 }
                 return null;",
                vec![json!(title)],
            )
            .await
            .expect("the cards");
        if !id.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let id = id.as_str().unwrap_or_else(|| panic!("no card for {title}"));
    format!(".session-card[data-id='{id}']")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_axe),
    ignore = "set LIVESESSIONS_TEST_AXE to axe.min.js (`scripts/axe.sh path`) when building to run it"
)]
async fn pages_have_no_serious_accessibility_violations() {
    let axe_path = std::env::var("LIVESESSIONS_TEST_AXE")
        .expect("LIVESESSIONS_TEST_AXE names axe.min.js (`scripts/axe.sh path`; required in CI)");
    let axe = std::fs::read_to_string(&axe_path)
        .unwrap_or_else(|e| panic!("cannot read axe-core at {axe_path}: {e}"));

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
    let mut found = Vec::new();

    // The sign-in form.
    admin
        .goto(&format!("{base}/live-sessions"))
        .await
        .expect("page loaded");
    wait_present(&admin, "#signin-form:not([hidden])").await;
    found.extend(audit(&admin, &axe, "the sign-in form").await);

    // The create form, empty and then showing what is missing.
    sign_in(&admin, &base, "Ada Admin", "ada@example.com", true).await;
    click(&admin, "#add-session-toggle").await;
    wait_present(&admin, "#session-form:not([hidden])").await;
    found.extend(audit(&admin, &axe, "the create form").await);
    click(&admin, "#f-submit").await;
    wait_present(&admin, "#f-title-error:not([hidden])").await;
    found.extend(audit(&admin, &axe, "the create form with errors").await);

    // The list with an ended and a live session.
    let ended = create_session(&admin, "Ended Seminar").await;
    click(&admin, &format!("{ended} .start-btn")).await;
    wait_present(&admin, "#confirm-modal[open]").await;
    found.extend(audit(&admin, &axe, "the confirm dialog").await);
    click(&admin, "#confirm-ok").await;
    wait_present(&admin, &format!("{ended}.is-live")).await;
    click(&admin, &format!("{ended} .end-btn")).await;
    click(&admin, "#confirm-ok").await;
    wait_present(&admin, &format!("{ended}.is-ended")).await;
    let live = create_session(&admin, "Live Lecture").await;
    click(&admin, &format!("{live} .start-btn")).await;
    click(&admin, "#confirm-ok").await;
    wait_present(&admin, &format!("{live}.is-live")).await;
    if find(&admin, "#session-form")
        .await
        .attr("hidden")
        .await
        .expect("an attribute")
        .is_none()
    {
        click(&admin, "#f-cancel").await;
    }
    found.extend(audit(&admin, &axe, "the admin's list").await);

    // The student's list, the join dialog and the watch page.
    sign_in(&student, &base, "Sam Student", "sam@example.com", false).await;
    wait_present(&student, &format!("{live}.is-live")).await;
    wait_present(&student, &format!("{ended}.is-ended")).await;
    found.extend(audit(&student, &axe, "the student's list").await);
    student
        .set_window_size(390, 844)
        .await
        .expect("phone width");
    found.extend(audit(&student, &axe, "the student's list at phone width").await);
    student
        .set_window_size(1280, 900)
        .await
        .expect("desktop width");
    // A card without a thumbnail shows a placeholder in one of six colours picked from the
    // session's id: each colour is judged, whichever the ids above happened to pick.
    for colour in 0..6 {
        student
            .execute(
                "var name = 'placeholder ph-' + arguments[0];
                 document.querySelectorAll('.session-card .placeholder')
                   .forEach(function (p) { p.className = name; });",
                vec![json!(colour)],
            )
            .await
            .expect("placeholder colour set");
        found.extend(audit(&student, &axe, &format!("the placeholder ph-{colour}")).await);
    }
    click(&student, &format!("{live} .join-btn")).await;
    wait_present(&student, "#join-modal[open]").await;
    found.extend(audit(&student, &axe, "the join dialog").await);
    click(&student, "#join-submit").await;
    wait_present(&student, "#watch-view:not([hidden])").await;
    wait_text(&student, "#watch-status", "the session's state", |t| {
        !t.trim().is_empty()
    })
    .await;
    found.extend(audit(&student, &axe, "the watch page").await);

    // The analytics of the live session, with the student in the table.
    click(&admin, &format!("{live} .analytics-btn")).await;
    wait_text(&admin, "#attendees tbody", "the student", |t| {
        t.contains("Sam Student")
    })
    .await;
    wait_text(&admin, "#roster-table tbody", "the student's status", |t| {
        t.contains("Sam Student")
    })
    .await;
    found.extend(audit(&admin, &axe, "the analytics and its roster").await);

    // A weekly series: the repeat picker open, then the series page with its summary.
    click(&admin, "#analytics-back").await;
    click(&admin, "#add-session-toggle").await;
    wait_present(&admin, "#session-form:not([hidden])").await;
    find(&admin, "#f-repeat")
        .await
        .select_by_value("WEEKLY")
        .await
        .expect("weekly chosen");
    wait_present(&admin, "#f-repeat-days:not([hidden])").await;
    found.extend(audit(&admin, &axe, "the repeat picker").await);
    let weekly = create_session(&admin, "Weekly Workshop").await;
    click(&admin, &format!("{weekly} .series-link")).await;
    wait_present(&admin, "#series-summary-panel:not([hidden])").await;
    found.extend(audit(&admin, &axe, "the series page").await);

    assert!(
        found.is_empty(),
        "{} serious or critical accessibility violations:\n\n{}",
        found.len(),
        found.join("\n\n")
    );
    for (who, client) in [("admin", &admin), ("student", &student)] {
        let errors = console_errors(client).await;
        assert!(errors.is_empty(), "{who}'s console errors: {errors:#?}");
    }
}
