//! The schedule over HTTP: `endTime`, `autoStart`, `autoEnd` and `endWhenEmptyMinutes` in JSON
//! and form creates and updates, in the session JSON, their validation (422 naming the field),
//! and sessions that go live and end by themselves when the service's scheduler ticks.

mod common;

use axum::http::StatusCode;
use common::*;
use livesessions_core::Clock as _;
use serde_json::{json, Value};

fn scheduled_body(end: &str) -> Value {
    let mut body = session_body("Scheduled");
    body["endTime"] = json!(end);
    body["autoStart"] = json!(true);
    body["autoEnd"] = json!(true);
    body
}

#[tokio::test]
async fn json_creates_and_updates_carry_the_schedule() {
    let app = app();
    let session = create(&app.router, &scheduled_body("2025-01-15T11:30:00Z")).await;
    assert_eq!(session["endTime"], "2025-01-15T11:30:00Z");
    assert_eq!(session["autoStart"], true);
    assert_eq!(session["autoEnd"], true);
    let plain = create(&app.router, &session_body("Plain")).await;
    assert_eq!(plain["endTime"], Value::Null);
    assert_eq!(plain["autoStart"], false);
    assert_eq!(plain["autoEnd"], false);

    // Reschedule while scheduled: both times move; a local end is read in the session's zone.
    let id = session["id"].as_str().unwrap();
    let moved = put_session(
        &app.router,
        id,
        &admin_token(),
        &json!({"startTime": "2025-01-16T10:00", "endTime": "2025-01-16T12:00"}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    let moved = moved.json();
    assert_eq!(moved["startTime"], "2025-01-16T05:00:00Z");
    assert_eq!(moved["endTime"], "2025-01-16T07:00:00Z");

    // Off again: an empty end time removes it, with the automatic end.
    let off = put_session(
        &app.router,
        id,
        &admin_token(),
        &json!({"endTime": "", "autoEnd": false, "autoStart": null}),
    )
    .await
    .json();
    assert_eq!(off["endTime"], Value::Null);
    assert_eq!(off["autoEnd"], false);
    assert_eq!(off["autoStart"], true, "null leaves a field as it is");
}

#[tokio::test]
async fn a_bad_end_time_is_422_naming_it() {
    let app = app();
    for end in [
        "2025-01-15T10:00:00Z",
        "2025-01-15T09:59:59Z",
        "2025-01-16T10:00:01Z",
        "tomorrow",
    ] {
        let problem = post_session(&app.router, &scheduled_body(end))
            .await
            .problem(422);
        assert_eq!(problem_fields(&problem), ["endTime"], "{end}: {problem}");
    }
    let mut no_end = session_body("No end");
    no_end["autoEnd"] = json!(true);
    let problem = post_session(&app.router, &no_end).await.problem(422);
    assert_eq!(problem_fields(&problem), ["autoEnd"]);

    // An update that moves the start past the end names endTime and changes nothing.
    let session = create(&app.router, &scheduled_body("2025-01-15T11:00:00Z")).await;
    let id = session["id"].as_str().unwrap();
    let problem = put_session(
        &app.router,
        id,
        &admin_token(),
        &json!({"startTime": "2025-01-15T12:00:00Z", "title": "Renamed"}),
    )
    .await
    .problem(422);
    assert_eq!(problem_fields(&problem), ["endTime"]);
    let stored = get(&app.router, &format!("/api/live-sessions/{id}"), None)
        .await
        .json();
    assert_eq!(stored["title"], session["title"]);
    assert_eq!(stored["version"], 1);
}

#[tokio::test]
async fn forms_carry_the_schedule() {
    let app = app();
    let mut parts = seed_form("false");
    parts.push(Part::Text("endTime", "2025-01-15T12:00:00+05:00"));
    parts.push(Part::Text("autoStart", "on"));
    parts.push(Part::Text("autoEnd", "true"));
    let session = create_from_form(&app.router, &parts).await;
    assert_eq!(session["endTime"], "2025-01-15T07:00:00Z");
    assert_eq!(session["autoStart"], true);
    assert_eq!(session["autoEnd"], true);

    let mut bad = seed_form("false");
    bad.push(Part::Text("autoStart", "maybe"));
    let problem = post_session_form(&app.router, &bad).await.problem(422);
    assert_eq!(problem_fields(&problem), ["autoStart"]);

    let mut late = seed_form("false");
    late.push(Part::Text("endTime", "2025-01-15T09:00:00+05:00"));
    let problem = post_session_form(&app.router, &late).await.problem(422);
    assert_eq!(problem_fields(&problem), ["endTime"]);
}

#[tokio::test]
async fn sessions_go_live_and_end_when_the_scheduler_ticks() {
    let app = app();
    let session = create(&app.router, &scheduled_body("2025-01-15T11:00:00Z")).await;
    let id = session["id"].as_str().unwrap();
    let uri = format!("/api/live-sessions/{id}");
    let at = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();

    let tick = app.service.tick(at("2025-01-15T09:59:59Z")).await.unwrap();
    assert!(tick.started.is_empty());
    assert_eq!(
        get(&app.router, &uri, None).await.json()["status"],
        "scheduled"
    );

    app.clock.set(at("2025-01-15T10:00:05Z"));
    let tick = app.service.tick(app.clock.now()).await.unwrap();
    assert_eq!(tick.started.len(), 1);
    let live = get(&app.router, &uri, None).await.json();
    assert_eq!(live["status"], "live");
    assert_eq!(live["isLive"], true);
    assert_eq!(live["startedAt"], "2025-01-15T10:00:05Z");

    // The server was down past the end: the session ends as of its end time.
    let tick = app.service.tick(at("2025-01-15T13:00:00Z")).await.unwrap();
    assert_eq!(tick.ended.len(), 1);
    let ended = get(&app.router, &uri, None).await.json();
    assert_eq!(ended["status"], "ended");
    assert_eq!(ended["endedAt"], "2025-01-15T11:00:00Z");
    assert_eq!(ended["liveSeconds"], 3595);
    let again = app.service.tick(at("2025-01-15T13:00:01Z")).await.unwrap();
    assert!(again.started.is_empty() && again.ended.is_empty());
}

#[tokio::test]
async fn end_when_empty_minutes_in_json_and_forms_with_422_naming_it() {
    let app = app();
    let mut body = session_body("Empty");
    body["endWhenEmptyMinutes"] = json!(15);
    let session = create(&app.router, &body).await;
    assert_eq!(session["endWhenEmptyMinutes"], 15);
    let plain = create(&app.router, &session_body("Plain")).await;
    assert_eq!(plain["endWhenEmptyMinutes"], Value::Null, "off by default");

    let id = session["id"].as_str().unwrap();
    let update = |value: Value| {
        let router = app.router.clone();
        async move {
            put_session(
                &router,
                id,
                &admin_token(),
                &json!({ "endWhenEmptyMinutes": value }),
            )
            .await
        }
    };
    assert_eq!(
        update(json!("1440")).await.json()["endWhenEmptyMinutes"],
        1440
    );
    assert_eq!(
        update(Value::Null).await.json()["endWhenEmptyMinutes"],
        1440,
        "null leaves it as it is"
    );
    assert_eq!(
        update(json!("")).await.json()["endWhenEmptyMinutes"],
        Value::Null,
        "empty removes it"
    );
    for bad in [
        json!(0),
        json!(1441),
        json!(-1),
        json!(1.5),
        json!("ten"),
        json!(true),
    ] {
        let problem = update(bad.clone()).await.problem(422);
        assert_eq!(problem_fields(&problem), ["endWhenEmptyMinutes"], "{bad}");
        let mut new = session_body("Bad");
        new["endWhenEmptyMinutes"] = bad.clone();
        let problem = post_session(&app.router, &new).await.problem(422);
        assert_eq!(problem_fields(&problem), ["endWhenEmptyMinutes"], "{bad}");
    }

    let mut parts = seed_form("false");
    parts.push(Part::Text("endWhenEmptyMinutes", " 20 "));
    let session = create_from_form(&app.router, &parts).await;
    assert_eq!(session["endWhenEmptyMinutes"], 20);
    let mut parts = seed_form("false");
    parts.push(Part::Text("endWhenEmptyMinutes", ""));
    let session = create_from_form(&app.router, &parts).await;
    assert_eq!(session["endWhenEmptyMinutes"], Value::Null);
    let mut bad = seed_form("false");
    bad.push(Part::Text("endWhenEmptyMinutes", "0"));
    let problem = post_session_form(&app.router, &bad).await.problem(422);
    assert_eq!(problem_fields(&problem), ["endWhenEmptyMinutes"]);
}

#[tokio::test]
async fn a_live_session_nobody_watches_ends_when_the_scheduler_ticks() {
    let app = app();
    let at = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    app.clock.set(at("2025-01-15T10:00:00Z"));
    let mut body = session_body("Empty");
    body["endWhenEmptyMinutes"] = json!(5);
    body["isLive"] = json!(true);
    let session = create(&app.router, &body).await;
    let id = session["id"].as_str().unwrap();
    let uri = format!("/api/live-sessions/{id}");

    // A student watches from 10:01; last seen then, so the session is empty from 10:02:30
    // (T = 90 s) and ends at 10:07:30.
    app.clock.set(at("2025-01-15T10:01:00Z"));
    let joined = post_join(
        &app.router,
        &user_token("student"),
        &json!({ "sessionId": id }),
    )
    .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    let tick = app.service.tick(at("2025-01-15T10:07:29Z")).await.unwrap();
    assert!(
        tick.ended.is_empty(),
        "someone was seen within T plus 5 minutes"
    );
    assert_eq!(get(&app.router, &uri, None).await.json()["status"], "live");

    // The server was down until 11:00: ended as of 10:07:30 exactly.
    let tick = app.service.tick(at("2025-01-15T11:00:00Z")).await.unwrap();
    assert_eq!(tick.ended.len(), 1);
    let ended = get(&app.router, &uri, None).await.json();
    assert_eq!(ended["status"], "ended");
    assert_eq!(ended["endedAt"], "2025-01-15T10:07:30Z");
    assert_eq!(ended["liveSeconds"], 450);
    let again = app.service.tick(at("2025-01-15T11:00:01Z")).await.unwrap();
    assert!(again.ended.is_empty(), "ended once");
}
