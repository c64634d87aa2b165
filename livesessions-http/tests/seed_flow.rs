//! The HTTP adapter on a real store: the original app's flow end to end, on SQLite and on MongoDB,
//! through the same code.
//!
//! The MongoDB run needs `LIVESESSIONS_TEST_MONGODB_URI` (`scripts/secantus.sh start` prints
//! one) and is counted as ignored without it; the build script turns the variable into the
//! `livesessions_test_mongodb` cfg.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use common::*;
use livesessions_core::{HealthCheck, Store};
use livesessions_sql::sqlite::SqliteStore;
use serde_json::json;

#[tokio::test]
async fn seed_flow_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("live.db")).await.unwrap());
    store.migrate().await.unwrap();
    seed_flow(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the original app's flow on MongoDB (scripts/secantus.sh start prints one)"
)]
async fn seed_flow_on_mongodb() {
    let uri = std::env::var("LIVESESSIONS_TEST_MONGODB_URI")
        .expect("LIVESESSIONS_TEST_MONGODB_URI is not set, but this test was built with it");
    let client = livesessions_mongo::mongodb::Client::with_uri_str(&uri)
        .await
        .unwrap_or_else(|e| panic!("LIVESESSIONS_TEST_MONGODB_URI={uri} is not usable: {e}"));
    let name = format!("ls_test_{}", livesessions_core::SessionId::new()).replace('-', "");
    let database = client.database(&name);
    let store = Arc::new(livesessions_mongo::MongoStore::new(database.clone()));
    store
        .ensure_indexes()
        .await
        .unwrap_or_else(|e| panic!("the MongoDB server at {uri} refused the indexes: {e:?}"));
    let flow = tokio::spawn(seed_flow(store.clone(), store)).await;
    database.drop().await.unwrap();
    if let Err(panic) = flow {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// Creates a session with a thumbnail, starts it, lets two students join (one twice) and one
/// leave, reads the list, the attendance CSV and the report, ends and deletes it.
async fn seed_flow(store: Arc<dyn Store>, health: Arc<dyn HealthCheck>) {
    let app = app_on(store, Some(health), settings(), hs_auth());
    let admin = admin_token();

    assert_eq!(
        get(&app.router, "/readyz", None).await.status,
        StatusCode::OK
    );

    // The original page's form: its start time comes from a `datetime-local` input, without an
    // offset, and is read in the service's default zone (UTC here).
    let mut parts = seed_form_with_local_time("false");
    parts.push(png_thumbnail("cover.png"));
    let created = create_from_form(&app.router, &parts).await;
    assert_eq!(created["startTime"], "2025-01-15T10:00:00Z");
    let id = created["id"].as_str().unwrap().to_owned();

    let started = put_session(&app.router, &id, &admin, &json!({"isLive": true})).await;
    assert_eq!(started.json()["status"], "live");

    for user in ["s1", "s2", "s1"] {
        let joined = send_json(
            &app.router,
            Method::POST,
            "/api/live-sessions/join",
            Some(&user_token(user)),
            // The original page's join body: `joinTime` is accepted and ignored (the server's
            // clock decides), `userName` and `email` are accepted.
            &json!({
                "sessionId": id,
                "userId": user,
                "userName": format!("Student {user}"),
                "email": format!("{user}@example.com"),
                "joinTime": "2020-01-01T00:00:00.000Z",
            }),
        )
        .await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    }
    app.clock.advance_secs(45);
    let left = post_empty(
        &app.router,
        &format!("/api/live-sessions/{id}/leave"),
        Some(&user_token("s1")),
    )
    .await;
    assert_eq!(left.json()["watchSeconds"], 45);

    let list = get(&app.router, "/api/live-sessions?status=live", None).await;
    assert_eq!(list.json()[0]["participants"], 2);
    assert_eq!(list.json()[0]["watching"], 1);

    let csv = send(
        &app.router,
        request(
            Method::GET,
            &format!("/api/admin/live-sessions/{id}/participants?sort=name"),
            Some(&admin),
        )
        .header(header::ACCEPT, "text/csv")
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert_eq!(
        csv.text().split("\r\n").filter(|l| !l.is_empty()).count(),
        3
    );

    let report = get(
        &app.router,
        &format!("/api/admin/live-sessions/{id}/analytics"),
        Some(&admin),
    )
    .await;
    assert_eq!(report.json()["participants"], 2);

    let ended = put_session(&app.router, &id, &admin, &json!({"isLive": false})).await;
    assert_eq!(ended.json()["status"], "ended");

    let deleted = send(
        &app.router,
        request(
            Method::DELETE,
            &format!("/api/admin/live-sessions/{id}"),
            Some(&admin),
        )
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(std::fs::read_dir(app.thumbnails.path()).unwrap().count(), 0);
    get(&app.router, &format!("/api/live-sessions/{id}"), None)
        .await
        .problem(404);
}
