//! What only this store has: counter repair, transaction detection and documents the original
//! application wrote. Runs against `LIVESESSIONS_TEST_MONGODB_URI` like the conformance suite
//! and is skipped (with a message) without it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use livesessions_core::{
    Actor, AttendanceStore, JoinInput, LiveSessions, ManualClock, NewSession, SessionStore, UserId,
};
use livesessions_mongo::mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use livesessions_mongo::mongodb::Database;
use livesessions_mongo::{MongoStore, TransactionMode};

const URI_VARIABLE: &str = "LIVESESSIONS_TEST_MONGODB_URI";

async fn scratch() -> Option<Database> {
    let Ok(uri) = std::env::var(URI_VARIABLE) else {
        eprintln!("skipped: set {URI_VARIABLE} to run the MongoDB store's own tests");
        return None;
    };
    let client = livesessions_mongo::mongodb::Client::with_uri_str(&uri)
        .await
        .expect("a usable MongoDB URI");
    Some(client.database(&format!("ls_test_{}", uuid::Uuid::new_v4().simple())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repairs_counters() {
    let Some(database) = scratch().await else {
        return;
    };
    let store = MongoStore::new(database.clone()).with_transactions(TransactionMode::Never);
    store.ensure_indexes().await.expect("indexes");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2031, 5, 1, 10, 0, 0).unwrap());
    let service = LiveSessions::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build();
    let admin = Actor::admin(UserId::parse("admin").unwrap());
    let session = service
        .create(
            Some(&admin),
            NewSession {
                title: "Reconcile".into(),
                instructor: "Sarah Khan".into(),
                video_url: "https://youtu.be/dQw4w9WgXcQ".into(),
                start_time: "2031-05-01T10:00:00Z".into(),
                is_live: true,
                ..Default::default()
            },
            None,
        )
        .await
        .expect("create");
    for name in ["ahmed", "sara"] {
        let user = Actor::user(UserId::parse(name).unwrap())
            .with_name(name)
            .with_email(format!("{name}@example.com"));
        service
            .join(
                Some(&user),
                JoinInput {
                    session_id: session.id.to_string(),
                    ..Default::default()
                },
            )
            .await
            .expect("join");
    }
    assert_eq!(store.reconcile_participant_counts().await.unwrap(), 0);
    // A crash between the participant insert and the `$inc` leaves the counter short.
    let sessions = database.collection::<Document>("live_sessions");
    sessions
        .update_one(
            doc! { "_id": livesessions_mongo::documents::session_id(session.id) },
            doc! { "$set": { "participants": 1_i64 } },
        )
        .await
        .unwrap();
    assert_eq!(store.reconcile_participant_counts().await.unwrap(), 1);
    assert_eq!(
        store
            .get_session(session.id)
            .await
            .unwrap()
            .unwrap()
            .participants,
        2
    );
    database.drop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_follow_the_deployment() {
    let Some(database) = scratch().await else {
        return;
    };
    let hello = database
        .client()
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await
        .unwrap();
    let expected = livesessions_mongo::queries::hello_supports_transactions(&hello);
    let store = MongoStore::new(database.clone());
    assert_eq!(store.supports_transactions().await.unwrap(), expected);
    let never = store.clone().with_transactions(TransactionMode::Never);
    assert!(!never.supports_transactions().await.unwrap());
    store.ensure_indexes().await.unwrap();
    // Creating the indexes twice is harmless.
    store.ensure_indexes().await.unwrap();
    database.drop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_documents_are_reported_not_served() {
    let Some(database) = scratch().await else {
        return;
    };
    let store = MongoStore::new(database.clone());
    store.ensure_indexes().await.unwrap();
    database
        .collection::<Document>("live_sessions")
        .insert_one(doc! {
            "_id": ObjectId::new(),
            "title": "JavaScript Basics",
            "description": "Learn fundamentals",
            "instructor": "John Doe",
            "videoUrl": "https://youtube.com/...",
            "thumbnail": "https://...",
            "startTime": "2025-01-15T10:00:00Z",
            "isLive": true,
            "participants": 25,
            "createdAt": "2025-01-14T09:00:00Z",
        })
        .await
        .unwrap();
    let error = store
        .list_sessions(&Default::default())
        .await
        .expect_err("an ObjectId session cannot be listed");
    let text = format!("{:?}", error);
    assert!(text.contains("_id"), "{text}");
    // A participant the seed wrote under a UUID session is read, and a join counts as a rejoin.
    let id = livesessions_core::SessionId::new();
    database
        .collection::<Document>("session_participants")
        .insert_one(doc! {
            "_id": ObjectId::new(),
            "sessionId": livesessions_mongo::documents::session_id(id),
            "userId": "user456",
            "userName": "Ahmed Ali",
            "email": "ahmed@example.com",
            "joinTime": Bson::DateTime(livesessions_mongo::mongodb::bson::DateTime::from_millis(1_736_935_320_000)),
            "watchDuration": 45,
            "createdAt": Bson::DateTime(livesessions_mongo::mongodb::bson::DateTime::from_millis(1_736_935_320_000)),
        })
        .await
        .unwrap();
    let participant = store
        .get_participant(id, &UserId::parse("user456").unwrap())
        .await
        .unwrap()
        .expect("the seed's participant");
    assert_eq!(participant.watch_seconds, 45 * 60);
    assert_eq!(participant.join_count, 1);
    let left = store
        .leave(
            id,
            &participant.user_id,
            Utc.timestamp_opt(1_736_935_400, 0).unwrap(),
            Duration::from_secs(90),
        )
        .await
        .unwrap();
    assert_eq!(left.watch_seconds, 45 * 60);
    assert_eq!(left.watch_minutes(), 45);
    database.drop().await.unwrap();
}
