//! Over a real socket: Server-Sent Events, rate limits and the request timeout.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use common::*;
use livesessions_core::{
    Actor, BroadcastEvents, LiveSessions, ManualClock, MemoryStore, NewSession, UserId,
};
use livesessions_http::{ClientIpSource, HttpSettings, LiveSessionsApi, RateLimitSettings};
use serde_json::{json, Value};

#[tokio::test]
async fn events_arrive_after_a_create_a_start_a_join_an_end_and_a_delete() {
    let app = app();
    let base = serve(app.router.clone()).await;
    let mut events = EventReader::open(&base).await;
    let client = reqwest::Client::new();
    let admin = admin_token();

    let created = fetch_json(
        client
            .post(format!("{base}/api/admin/live-sessions"))
            .bearer_auth(&admin)
            .json(&session_body("Streamed")),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    // An in-process broadcast: a reconnect delay, but no ids to resume from.
    assert_eq!(events.opening.retry, Some(2000));
    assert_eq!(events.opening.id, None);
    let frame = events.next_frame_event().await;
    assert_eq!(frame.id, None, "{frame:?}");
    let (name, data) = (frame.event_name().to_owned(), frame.json());
    assert_eq!(name, "created");
    assert_eq!(data["type"], "created");
    assert_eq!(data["sessionId"], id.as_str());
    assert_eq!(data["session"]["title"], "Streamed");
    assert!(
        data["session"].get("videoUrl").is_none(),
        "events are public"
    );
    assert_eq!(data["at"], "2025-01-15T09:00:00Z");

    let session = format!("{base}/api/admin/live-sessions/{id}");
    let join = format!("{base}/api/live-sessions/join");
    let steps = [
        // (request, its status, the event it sends)
        (
            client
                .put(&session)
                .bearer_auth(&admin)
                .json(&json!({"isLive": true})),
            200,
            "live",
        ),
        (
            client
                .post(&join)
                .bearer_auth(user_token("student"))
                .json(&json!({"sessionId": id})),
            200,
            "participants",
        ),
        (
            client
                .put(&session)
                .bearer_auth(&admin)
                .json(&json!({"isLive": false})),
            200,
            "ended",
        ),
        (
            client
                .put(&session)
                .bearer_auth(&admin)
                .json(&json!({"title": "Renamed"})),
            200,
            "updated",
        ),
        (client.delete(&session).bearer_auth(&admin), 204, "deleted"),
    ];
    let mut seen = Vec::new();
    for (request, status, event) in steps {
        let reply = fetch(request).await;
        assert_eq!(reply.status(), status, "{event}");
        let (name, data) = events.next_event().await;
        assert_eq!(name, event);
        seen.push(data);
    }
    let [live, participants, ended, renamed, deleted] = &seen[..] else {
        unreachable!("one event per step")
    };
    assert_eq!(live["session"]["isLive"], true);
    assert_eq!(participants["participants"], 1);
    assert_eq!(ended["session"]["status"], "ended");
    assert_eq!(renamed["session"]["title"], "Renamed");
    assert_eq!(deleted["sessionId"], id.as_str());
    assert!(deleted.get("session").is_none());
}

/// A session to create through the service.
fn new_session(title: impl Into<String>) -> NewSession {
    NewSession::new(
        title,
        "Someone",
        "https://youtu.be/abc",
        "2025-01-15T10:00:00Z",
    )
}

#[tokio::test]
async fn idle_streams_get_keep_alives_and_outlive_the_request_timeout() {
    let settings = HttpSettings {
        rate_limits: RateLimitSettings::disabled(),
        sse_keep_alive: Duration::from_millis(200),
        request_timeout: Duration::from_millis(50),
        ..Default::default()
    };
    let app = app_with(settings, hs_auth());
    let base = serve(app.router.clone()).await;
    let mut events = EventReader::open(&base).await;
    // Two keep-alives: the stream is alive well past the request timeout.
    for _ in 0..2 {
        match events.next().await {
            Some(frame) if !frame.is_event() && !frame.comments.is_empty() => {}
            other => panic!("expected a keep-alive, got {other:?}"),
        }
    }
    // Events still flow.
    let admin = Actor::admin(UserId::parse("admin").unwrap());
    app.service
        .create(Some(&admin), new_session("Later"), None)
        .await
        .unwrap();
    assert_eq!(events.next_event().await.0, "created");
}

#[tokio::test]
async fn a_slow_subscriber_is_dropped_without_holding_up_anyone() {
    // A tiny buffer: a subscriber that does not read falls behind after 2 events.
    let events = Arc::new(BroadcastEvents::new(2));
    let clock = ManualClock::new("2025-01-15T09:00:00Z".parse().unwrap());
    let service = LiveSessions::builder(Arc::new(MemoryStore::new()))
        .clock(Arc::new(clock))
        .events(events.clone())
        .build();
    let router = LiveSessionsApi::new(service.clone())
        .events(events.clone())
        .settings(settings())
        .router();

    // Subscribe in process and do not read.
    let response = tower::ServiceExt::oneshot(
        router.clone(),
        axum::http::Request::get("/api/live-sessions/events")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(events.subscriber_count(), 1);

    let admin = Actor::admin(UserId::parse("admin").unwrap());
    for i in 0..10 {
        // Publishing never waits for the stalled subscriber.
        service
            .create(Some(&admin), new_session(format!("Session {i}")), None)
            .await
            .unwrap();
    }

    // Its stream ends instead of delivering a gap: the body is finite.
    let body = tokio::time::timeout(
        PATIENCE,
        axum::body::to_bytes(response.into_body(), usize::MAX),
    )
    .await
    .expect("the lagging stream was not closed")
    .unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with(": connected"), "{text}");
    assert!(!text.contains("Session 9"), "{text}");
    assert_eq!(events.subscriber_count(), 0);

    // Others are unaffected: a fresh subscriber gets new events.
    let base = serve(router).await;
    let mut reader = EventReader::open(&base).await;
    service
        .delete(
            Some(&admin),
            service.list(None, &Default::default()).await.unwrap().items[0]
                .session
                .id,
        )
        .await
        .unwrap();
    assert_eq!(reader.next_event().await.0, "deleted");
}

#[tokio::test]
async fn rate_limits_per_ip_through_the_trusted_proxy_header() {
    let header = axum::http::HeaderName::from_static("x-forwarded-for");
    let app = app_with(limited(3, ClientIpSource::TrustedHeader(header)), hs_auth());
    let base = serve(app.router.clone()).await;
    let client = reqwest::Client::new();
    let list = |ip: &'static str| {
        client
            .get(format!("{base}/api/live-sessions"))
            .header("x-forwarded-for", format!("198.51.100.200, {ip}"))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(list("192.0.2.1").await.unwrap().status(), 200);
    }
    assert_rate_limited(list("192.0.2.1").await.unwrap()).await;

    // Another client is not affected.
    assert_eq!(list("192.0.2.2").await.unwrap().status(), 200);

    // Other buckets of the same client are separate.
    let join = fetch(
        client
            .post(format!("{base}/api/live-sessions/join"))
            .header("x-forwarded-for", "192.0.2.1")
            .bearer_auth(user_token("u1"))
            .json(&json!({"sessionId": "nope"})),
    )
    .await;
    assert_eq!(join.status(), 422);
    let create = fetch(
        client
            .post(format!("{base}/api/admin/live-sessions"))
            .header("x-forwarded-for", "192.0.2.1")
            .bearer_auth(admin_token())
            .json(&session_body("Allowed")),
    )
    .await;
    assert_eq!(create.status(), 201);

    // Health probes are never limited.
    for _ in 0..5 {
        let health = fetch(
            client
                .get(format!("{base}/healthz"))
                .header("x-forwarded-for", "192.0.2.1"),
        )
        .await;
        assert_eq!(health.status(), 200);
    }
}

#[tokio::test]
async fn rate_limits_use_the_peer_address_unless_a_header_is_trusted() {
    let app = app_with(limited(2, ClientIpSource::Peer), hs_auth());
    let base = serve(app.router.clone()).await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for ip in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        // A forged header changes nothing: every request comes from 127.0.0.1.
        let reply = fetch(
            client
                .get(format!("{base}/api/live-sessions"))
                .header("x-forwarded-for", ip),
        )
        .await;
        statuses.push(reply.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 429]);
}

#[tokio::test]
async fn disabled_limits_let_everything_through() {
    let mut settings = limited(1, ClientIpSource::Peer);
    settings.rate_limits.enabled = false;
    let app = app_with(settings, hs_auth());
    let base = serve(app.router.clone()).await;
    let client = reqwest::Client::new();
    for _ in 0..10 {
        let reply = fetch(client.get(format!("{base}/api/live-sessions"))).await;
        assert_eq!(reply.status(), 200);
    }
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_503() {
    let settings = HttpSettings {
        rate_limits: RateLimitSettings::disabled(),
        request_timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let app = faulty_app(Fault::Hang, settings);
    let base = serve(app.router.clone()).await;
    let client = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap();
    for path in ["/api/live-sessions", "/readyz"] {
        let reply = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(reply.status(), 503);
        assert!(reply.headers().contains_key("retry-after"));
        let problem: Value = reply.json().await.unwrap();
        assert_eq!(problem["code"], "timeout");
    }
    let create = fetch(
        client
            .post(format!("{base}/api/admin/live-sessions"))
            .bearer_auth(admin_token())
            .json(&session_body("Never stored")),
    )
    .await;
    assert_eq!(create.status(), 503);
    // Liveness does not touch the store.
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
