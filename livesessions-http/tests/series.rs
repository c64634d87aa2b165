//! Series over HTTP: `recurrence` in JSON and form creates (422s naming it), `seriesId` and
//! `recurrence` in the session JSON, the occurrences route, `scope=following` updates, and the
//! attendance summary as JSON and CSV.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{json, Value};

/// A weekly series of three on Tuesdays at 10:00 in Berlin, across the change to summer time.
fn weekly_body(title: &str) -> Value {
    let mut body = session_body(title);
    body["startTime"] = json!("2025-03-18T10:00");
    body["endTime"] = json!("2025-03-18T11:30");
    body["timezone"] = json!("Europe/Berlin");
    body["recurrence"] = json!("FREQ=WEEKLY;BYDAY=TU;COUNT=3");
    body
}

async fn occurrences(app: &TestApp, series_id: &str, token: Option<&str>) -> Vec<Value> {
    let reply = get(
        &app.router,
        &format!("/api/live-sessions/series/{series_id}"),
        token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json().as_array().unwrap().clone()
}

fn starts(sessions: &[Value]) -> Vec<&str> {
    sessions
        .iter()
        .map(|s| s["startTime"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_json_create_with_a_rule_makes_a_series_and_answers_its_first_occurrence() {
    let app = app();
    let reply = post_session(&app.router, &weekly_body("Weekly")).await;
    let link = reply.header("link").map(str::to_owned);
    let first = created(reply);
    let series_id = first["seriesId"].as_str().expect("a seriesId").to_owned();
    assert_eq!(first["recurrence"], "FREQ=WEEKLY;BYDAY=TU;COUNT=3");
    assert_eq!(first["startTime"], "2025-03-18T09:00:00Z");
    assert_eq!(
        link.as_deref(),
        Some(format!("</api/live-sessions/series/{series_id}>; rel=\"series\"").as_str())
    );
    // Anyone lists the occurrences, by start: 10:00 in Berlin each week, 08:00 UTC after the
    // change to summer time, each lasting 90 minutes.
    let all = occurrences(&app, &series_id, None).await;
    assert_eq!(
        starts(&all),
        [
            "2025-03-18T09:00:00Z",
            "2025-03-25T09:00:00Z",
            "2025-04-01T08:00:00Z"
        ]
    );
    assert_eq!(all[2]["endTime"], "2025-04-01T09:30:00Z");
    assert_eq!(all[0]["id"], first["id"]);
    assert!(all.iter().all(|s| s["seriesId"] == series_id.as_str()));
    assert!(
        all[0].get("videoUrl").is_none(),
        "no video for anonymous callers"
    );
    // They are ordinary sessions: in the list and readable one by one.
    let one = get(
        &app.router,
        &format!("/api/live-sessions/{}", all[1]["id"].as_str().unwrap()),
        None,
    )
    .await
    .json();
    assert_eq!(one["seriesId"], series_id.as_str());
    let list = get(&app.router, "/api/live-sessions", None).await.json();
    assert_eq!(list.as_array().unwrap().len(), 3);
    // A single session has neither field set.
    let single = create(&app.router, &session_body("Single")).await;
    assert_eq!(single["seriesId"], Value::Null);
    assert_eq!(single["recurrence"], Value::Null);
    // Unknown or malformed series ids are 404.
    for id in ["0190d1d5-7a1e-7cc3-9e4a-5c6d1f5b9a01", "not-a-uuid"] {
        get(
            &app.router,
            &format!("/api/live-sessions/series/{id}"),
            None,
        )
        .await
        .problem(404);
    }
}

#[tokio::test]
async fn a_form_create_with_a_rule_makes_a_series() {
    let app = app();
    let mut parts = seed_form("false");
    parts.push(Part::Text("recurrence", "FREQ=DAILY;COUNT=2"));
    let first = create_from_form(&app.router, &parts).await;
    let all = occurrences(&app, first["seriesId"].as_str().unwrap(), None).await;
    assert_eq!(
        starts(&all),
        ["2025-01-15T05:00:00Z", "2025-01-16T05:00:00Z"]
    );
    // An empty rule is no rule.
    let mut parts = seed_form("false");
    parts.push(Part::Text("recurrence", ""));
    assert_eq!(
        create_from_form(&app.router, &parts).await["seriesId"],
        Value::Null
    );
}

#[tokio::test]
async fn bad_rules_are_422_naming_recurrence_and_create_nothing() {
    let app = app();
    for (rule, code) in [
        ("FREQ=HOURLY;COUNT=3", "unsupported"),
        ("FREQ=WEEKLY;BYMONTH=3;COUNT=3", "unsupported"),
        ("FREQ=DAILY;COUNT=201", "too_many"),
        ("FREQ=DAILY", "too_many"),
        ("FREQ=MONTHLY;COUNT=14", "too_many"),
        ("every tuesday", "invalid"),
        ("FREQ=WEEKLY;COUNT=x", "invalid"),
    ] {
        let mut body = weekly_body("Bad");
        body["recurrence"] = json!(rule);
        let problem = post_session(&app.router, &body).await.problem(422);
        assert_eq!(
            problem_fields(&problem),
            ["recurrence"],
            "{rule}: {problem}"
        );
        assert_eq!(problem["errors"][0]["code"], code, "{rule}");
    }
    // With other bad fields, all are named at once.
    let mut body = weekly_body("Bad");
    body["recurrence"] = json!("FREQ=SECONDLY");
    body["title"] = json!(" ");
    let problem = post_session(&app.router, &body).await.problem(422);
    assert_eq!(problem_fields(&problem), ["title", "recurrence"]);
    let list = get(&app.router, "/api/live-sessions", None).await.json();
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing was created");
    // A rule is not changed by an update.
    let first = create(&app.router, &weekly_body("Weekly")).await;
    let reply = put_session(
        &app.router,
        first["id"].as_str().unwrap(),
        &admin_token(),
        &json!({"recurrence": "FREQ=DAILY;COUNT=2"}),
    )
    .await;
    assert_eq!(problem_fields(&reply.problem(422)), ["recurrence"]);
}

#[tokio::test]
async fn scope_following_changes_this_and_the_later_scheduled_occurrences() {
    let app = app();
    let mut body = weekly_body("Weekly");
    body["recurrence"] = json!("FREQ=WEEKLY;BYDAY=TU;COUNT=4");
    let first = create(&app.router, &body).await;
    let all = occurrences(&app, first["seriesId"].as_str().unwrap(), None).await;
    let id = |i: usize| all[i]["id"].as_str().unwrap().to_owned();
    // The last one is cancelled: an ordinary cancel, the rest stays.
    let cancel = format!("/api/admin/live-sessions/{}/cancel", id(3));
    assert_eq!(
        post_empty(&app.router, &cancel, Some(&admin_token()))
            .await
            .status,
        StatusCode::OK
    );
    // From the second on: an hour later (11:00 Berlin) and renamed.
    let uri = format!("/api/admin/live-sessions/{}?scope=following", id(1));
    let change = json!({
        "title": "Weekly (new time)",
        "startTime": "2025-03-25T11:00",
        "endTime": "2025-03-25T12:30",
        "version": 1,
    });
    let reply = send_json(
        &app.router,
        Method::PUT,
        &uri,
        Some(&admin_token()),
        &change,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("x-changed-sessions"), Some("2"));
    assert_eq!(reply.json()["id"], id(1).as_str());
    let now = occurrences(&app, first["seriesId"].as_str().unwrap(), None).await;
    assert_eq!(
        starts(&now),
        [
            "2025-03-18T09:00:00Z",
            "2025-03-25T10:00:00Z",
            "2025-04-01T09:00:00Z",
            "2025-04-08T08:00:00Z",
        ],
        "the third keeps 11:00 Berlin across the change; the cancelled one is skipped"
    );
    let titles: Vec<&str> = now.iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        ["Weekly", "Weekly (new time)", "Weekly (new time)", "Weekly"]
    );
    assert_eq!(now[2]["endTime"], "2025-04-01T10:30:00Z");
    assert_eq!(now[3]["status"], "cancelled");
    // The default scope is this session only.
    let uri = format!("/api/admin/live-sessions/{}", id(1));
    let reply = send_json(
        &app.router,
        Method::PUT,
        &uri,
        Some(&admin_token()),
        &json!({"title": "Only this"}),
    )
    .await;
    assert_eq!(reply.header("x-changed-sessions"), Some("1"));
    // A bad scope, and a start with `following`, are 422 naming the field.
    let uri = format!("/api/admin/live-sessions/{}?scope=all", id(1));
    let reply = send_json(
        &app.router,
        Method::PUT,
        &uri,
        Some(&admin_token()),
        &json!({}),
    )
    .await;
    assert_eq!(problem_fields(&reply.problem(422)), ["scope"]);
    let uri = format!("/api/admin/live-sessions/{}?scope=following", id(1));
    let reply = send_json(
        &app.router,
        Method::PUT,
        &uri,
        Some(&admin_token()),
        &json!({"isLive": true}),
    )
    .await;
    assert_eq!(problem_fields(&reply.problem(422)), ["isLive"]);
}

#[tokio::test]
async fn the_summary_counts_attended_n_of_m_as_json_and_csv() {
    let app = app();
    let mut body = weekly_body("Weekly");
    body["recurrence"] = json!("FREQ=DAILY;COUNT=3");
    let first = create(&app.router, &body).await;
    let series_id = first["seriesId"].as_str().unwrap().to_owned();
    let all = occurrences(&app, &series_id, None).await;
    let id = |i: usize| all[i]["id"].as_str().unwrap().to_owned();
    let live = |on: bool| json!({ "isLive": on });
    let (ann, bob) = (user_token("ann"), user_token("bob"));
    // Occurrence 0, live 60 s: both watch it whole. Occurrence 1, live 100 s: only ann, who
    // sends no heartbeat, so is credited up to the presence timeout (90 s, 90 %).
    for (i, watchers) in [(0, vec![&ann, &bob]), (1, vec![&ann])] {
        put_session(&app.router, &id(i), &admin_token(), &live(true)).await;
        for token in &watchers {
            let reply = post_join(&app.router, token, &json!({"sessionId": id(i)})).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        }
        app.clock.advance_secs(if i == 0 { 60 } else { 100 });
        for token in &watchers {
            let leave = format!("/api/live-sessions/{}/leave", id(i));
            post_empty(&app.router, &leave, Some(token)).await;
        }
        put_session(&app.router, &id(i), &admin_token(), &live(false)).await;
    }
    let uri = format!("/api/admin/series/{series_id}/summary");
    let summary = get(&app.router, &uri, Some(&admin_token())).await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text());
    let summary = summary.json();
    assert_eq!(summary["occurrences"], 3);
    assert_eq!(summary["ended"], 2);
    assert_eq!(summary["thresholdPercent"], 75);
    let rows: Vec<(String, u64, u64, i64)> = summary["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["userId"].as_str().unwrap().to_owned(),
                s["attended"].as_u64().unwrap(),
                s["ended"].as_u64().unwrap(),
                s["watchSeconds"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("ann".to_owned(), 2, 2, 150), ("bob".to_owned(), 1, 2, 60)]
    );
    // Pages of one.
    let page = get(&app.router, &format!("{uri}?limit=1"), Some(&admin_token()))
        .await
        .json();
    assert_eq!(page["next"], "ann");
    let page = get(
        &app.router,
        &format!("{uri}?limit=1&after=ann"),
        Some(&admin_token()),
    )
    .await
    .json();
    assert_eq!(page["students"][0]["userId"], "bob");
    assert_eq!(page["next"], Value::Null);
    // CSV: every student.
    let csv = get(
        &app.router,
        &format!("{uri}?format=csv"),
        Some(&admin_token()),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "userId,userName,email,attended,ended,watchSeconds"
    );
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with("ann,") && lines[1].ends_with(",2,2,150"),
        "{}",
        lines[1]
    );
    // Bad input, other callers, unknown series.
    let problem = get(
        &app.router,
        &format!("{uri}?threshold=101"),
        Some(&admin_token()),
    )
    .await
    .problem(422);
    assert_eq!(problem_fields(&problem), ["threshold"]);
    let problem = get(&app.router, &format!("{uri}?limit=0"), Some(&admin_token()))
        .await
        .problem(422);
    assert_eq!(problem_fields(&problem), ["limit"]);
    get(&app.router, &uri, Some(&ann)).await.problem(403);
    get(&app.router, &uri, None).await.problem(401);
    get(
        &app.router,
        "/api/admin/series/0190d1d5-7a1e-7cc3-9e4a-5c6d1f5b9a01/summary",
        Some(&admin_token()),
    )
    .await
    .problem(404);
}
