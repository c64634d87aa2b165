//! The attendance CSV download: file name, encoding, zone-aware times in whole seconds, the
//! readable watch time, `leftAt` after a rejoin, and each row's attendance status.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use livesessions_core::{LiveSessions, MemoryStore, ServiceSettings, TimeZone};
use livesessions_http::LiveSessionsApi;
use serde_json::json;

/// Downloads session `id`'s attendance as CSV (`format=csv`) as an admin.
async fn download(router: &axum::Router, id: &str) -> Reply {
    let reply = get(
        router,
        &format!("/api/admin/live-sessions/{id}/participants?format=csv"),
        Some(&admin_token()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply
}

/// The body's rows without the byte order mark, after checking that it starts with one.
fn rows(reply: &Reply) -> Vec<String> {
    assert_eq!(&reply.body[..3], b"\xEF\xBB\xBF", "UTF-8 byte order mark");
    let text = std::str::from_utf8(&reply.body[3..]).expect("UTF-8");
    assert!(text.ends_with("\r\n"), "{text:?}");
    text.trim_end_matches("\r\n")
        .split("\r\n")
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn times_are_in_the_session_zone_and_a_rejoin_clears_left_at() {
    let app = app();
    let id = create_id(&app.router, "Zones").await;
    let started = put_session(&app.router, &id, &admin_token(), &json!({"isLive": true})).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let (a, b) = (user_token("a"), user_token("b"));
    let join = |token: String| {
        let router = app.router.clone();
        let id = id.clone();
        async move {
            let reply = post_join(&router, &token, &json!({"sessionId": id})).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        }
    };
    let leave = |token: String| {
        let router = app.router.clone();
        let uri = format!("/api/live-sessions/{id}/leave");
        async move {
            let reply = post_empty(&router, &uri, Some(&token)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        }
    };

    // Microseconds in the stored times must not reach the CSV.
    app.clock.advance(Duration::from_micros(250_125));
    join(a.clone()).await;
    app.clock.advance_secs(42);
    leave(a.clone()).await;
    join(b.clone()).await;
    app.clock.advance_secs(60);
    let beat = post_empty(
        &app.router,
        &format!("/api/live-sessions/{id}/heartbeat"),
        Some(&b),
    )
    .await;
    assert_eq!(beat.status, StatusCode::OK, "{}", beat.text());
    app.clock.advance_secs(5);
    leave(b).await;
    join(a).await;

    let reply = download(&app.router, &id).await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let rows = rows(&reply);
    assert_eq!(
        rows,
        [
            "userId,userName,email,joinTime,lastJoinTime,lastSeen,leftAt,watchSeconds,\
             watchDuration,joinCount,present,watchTime,status,late",
            // `a` came back after leaving: no stale leave time.
            "a,User a,a@example.com,2025-01-15T14:00:00+05:00,2025-01-15T14:01:47+05:00,\
             2025-01-15T14:01:47+05:00,,42,0,2,true,0:00:42,partial,false",
            "b,User b,b@example.com,2025-01-15T14:00:42+05:00,2025-01-15T14:00:42+05:00,\
             2025-01-15T14:01:42+05:00,2025-01-15T14:01:47+05:00,65,1,1,false,0:01:05,partial,false",
        ]
    );
}

#[tokio::test]
async fn the_file_is_named_after_the_title_and_the_start_date_in_the_zone() {
    let app = app();
    let mut body = session_body("Café: Intro to \"CSV\"");
    // 20:00 UTC is already the next day in Karachi (UTC+5).
    body["startTime"] = json!("2025-01-15T20:00:00Z");
    let id = create(&app.router, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = download(&app.router, &id).await;
    assert_eq!(
        reply.header("content-disposition"),
        Some(
            "attachment; filename=\"attendance-caf-intro-to-csv-2025-01-16.csv\"; \
             filename*=UTF-8''attendance-caf%C3%A9-intro-to-csv-2025-01-16.csv"
        )
    );
    assert_eq!(rows(&reply).len(), 1, "only the header row");
}

#[tokio::test]
async fn without_a_session_zone_the_default_zone_is_used() {
    let store = Arc::new(MemoryStore::new());
    let clock = livesessions_core::ManualClock::new("2025-01-15T09:00:00Z".parse().unwrap());
    let service = LiveSessions::builder(store)
        .clock(Arc::new(clock.clone()))
        .settings(ServiceSettings {
            default_time_zone: TimeZone::parse("America/New_York").unwrap(),
            ..ServiceSettings::default()
        })
        .build();
    let router = LiveSessionsApi::new(service)
        .auth(hs_auth())
        .settings(settings())
        .router();
    let mut body = session_body("Night Class");
    body["timezone"] = json!("");
    body["startTime"] = json!("2025-01-16T03:00:00Z");
    let id = create(&router, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let joined = post_join(&router, &user_token("n"), &json!({"sessionId": id})).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());

    let reply = download(&router, &id).await;
    assert_eq!(
        reply.header("content-disposition"),
        Some(
            "attachment; filename=\"attendance-night-class-2025-01-15.csv\"; \
             filename*=UTF-8''attendance-night-class-2025-01-15.csv"
        )
    );
    let rows = rows(&reply);
    assert!(
        rows[1].starts_with("n,User n,n@example.com,2025-01-15T04:00:00-05:00,"),
        "{}",
        rows[1]
    );
}

#[tokio::test]
async fn cells_are_still_protected_against_formulas() {
    let app = app();
    let id = create_id(&app.router, "Formulas").await;
    let mut c = claims("f");
    c["name"] = json!("=1+2");
    let joined = post_join(&app.router, &hs_token_for(&c), &json!({"sessionId": id})).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    let rows = rows(&download(&app.router, &id).await);
    assert!(rows[1].starts_with("f,'=1+2,f@example.com,"), "{}", rows[1]);
}
