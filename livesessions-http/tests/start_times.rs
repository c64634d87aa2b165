//! Start times as the original app's page sends them: from a `datetime-local` input, without an offset.
//! They are read in the session's `timezone`, else in the service's default zone; a time the
//! zone skips (a daylight-saving gap) is a 422 naming `startTime`.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::*;
use livesessions_core::{LiveSessions, MemoryStore, ServiceSettings, TimeZone};
use livesessions_http::LiveSessionsApi;
use serde_json::{json, Value};

fn body(start: &str, timezone: Option<&str>) -> Value {
    let mut body = session_body("Local time");
    body["startTime"] = json!(start);
    body["timezone"] = json!(timezone);
    body
}

#[track_caller]
fn names_start_time(problem: &Value) {
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("field errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["startTime"], "{problem}");
}

#[tokio::test]
async fn a_local_start_time_in_a_daylight_saving_gap_is_422_naming_start_time() {
    let app = app();
    let reply = post_session(
        &app.router,
        &body("2025-03-30T02:30", Some("Europe/Berlin")),
    )
    .await;
    names_start_time(&reply.problem(422));
    // Nothing was stored.
    let list = get(&app.router, "/api/live-sessions", None).await.json();
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_local_start_time_is_read_in_the_session_zone() {
    let app = app();
    let created = create(&app.router, &body("2025-01-15T10:00", Some("Asia/Karachi"))).await;
    assert_eq!(created["startTime"], "2025-01-15T05:00:00Z");
    assert_eq!(created["timezone"], "Asia/Karachi");
    let id = created["id"].as_str().unwrap();
    let read = get(&app.router, &format!("/api/live-sessions/{id}"), None)
        .await
        .json();
    assert_eq!(read["startTime"], "2025-01-15T05:00:00Z");

    // With seconds, as some browsers send it; without a zone, the default (UTC here).
    let plain = create(&app.router, &body("2025-01-15T10:00:30", None)).await;
    assert_eq!(plain["startTime"], "2025-01-15T10:00:30Z");
}

#[tokio::test]
async fn the_seed_form_with_a_local_start_time_is_accepted() {
    let app = app();
    let mut form = seed_form_with_local_time("true");
    form.push(Part::Text("timezone", "Asia/Karachi"));
    let created = create_from_form(&app.router, &form).await;
    assert_eq!(created["startTime"], "2025-01-15T05:00:00Z");
}

#[tokio::test]
async fn a_reschedule_reads_a_local_start_time_in_the_stored_zone() {
    let app = app();
    let admin = admin_token();
    let created = create(&app.router, &session_body("Rescheduled")).await;
    assert_eq!(created["timezone"], "Asia/Karachi");
    let uri = format!("{CREATE}/{}", created["id"].as_str().unwrap());
    let reply = send_json(
        &app.router,
        Method::PUT,
        &uri,
        Some(&admin),
        &json!({"startTime": "2025-02-01T09:00"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["startTime"], "2025-02-01T04:00:00Z");

    let reply = send_json(
        &app.router,
        Method::PUT,
        &uri,
        Some(&admin),
        &json!({"startTime": "2025-03-30T02:30", "timezone": "Europe/Berlin"}),
    )
    .await;
    names_start_time(&reply.problem(422));
}

#[tokio::test]
async fn without_a_session_zone_the_service_default_applies() {
    let service = LiveSessions::builder(Arc::new(MemoryStore::new()))
        .settings(ServiceSettings {
            default_time_zone: TimeZone::parse("Europe/Berlin").unwrap(),
            ..ServiceSettings::default()
        })
        .build();
    let router = LiveSessionsApi::new(service)
        .auth(hs_auth())
        .settings(settings())
        .router();
    let reply = post_session(&router, &body("2025-01-15T10:00", None)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["startTime"], "2025-01-15T09:00:00Z");
    let reply = post_session(&router, &body("2025-03-30T02:30", None)).await;
    names_start_time(&reply.problem(422));
}

/// `timeZone` (as the field is often spelled) is read as `timezone`, in JSON and in forms, so a
/// local time is never silently read in the default zone instead.
#[tokio::test]
async fn time_zone_spelled_in_camel_case_is_the_same_field() {
    let app = app();
    let mut json_body = session_body("Camel case");
    json_body.as_object_mut().unwrap().remove("timezone");
    json_body["startTime"] = json!("2025-01-15T10:00");
    json_body["timeZone"] = json!("Asia/Karachi");
    let created = create(&app.router, &json_body).await;
    assert_eq!(created["startTime"], "2025-01-15T05:00:00Z");
    assert_eq!(created["timezone"], "Asia/Karachi");

    let mut form = seed_form_with_local_time("false");
    form.push(Part::Text("timeZone", "Asia/Karachi"));
    let created = create_from_form(&app.router, &form).await;
    assert_eq!(created["startTime"], "2025-01-15T05:00:00Z");
}
