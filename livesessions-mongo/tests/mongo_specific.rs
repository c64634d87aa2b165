//! What only this store has: counter repair, transaction detection, joins that their caller
//! gives up on, and documents the original application wrote. Runs against
//! `LIVESESSIONS_TEST_MONGODB_URI` like the conformance suite, and is counted as ignored
//! without it.

mod server;

use livesessions_core::Presence;
use livesessions_core::SessionInput;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use livesessions_core::{
    Actor, AttendanceStore, JoinInput, LiveSessions, ManualClock, NewSession, SessionStore, UserId,
};
use livesessions_mongo::mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use livesessions_mongo::mongodb::options::{ClientOptions, ServerAddress};
use livesessions_mongo::mongodb::{Client, Database};
use livesessions_mongo::{MongoStore, TransactionMode};

async fn scratch() -> Database {
    server::scratch_database().await.0
}

/// A live session created through `service`.
async fn live_session(service: &LiveSessions) -> livesessions_core::LiveSession {
    let admin = Actor::admin(UserId::parse("admin").unwrap());
    service
        .create(
            Some(&admin),
            NewSession {
                fields: SessionInput {
                    title: Some("Reconcile".into()),
                    instructor: Some("Sarah Khan".into()),
                    video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
                    start_time: Some("2031-05-01T10:00:00Z".into()),
                    ..Default::default()
                },
                is_live: true,
            },
            None,
        )
        .await
        .expect("create")
}

fn student(name: &str) -> Actor {
    Actor::user(UserId::parse(name).unwrap())
        .with_name(name)
        .with_email(format!("{name}@example.com"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn reconcile_repairs_counters() {
    let database = scratch().await;
    let store = MongoStore::new(database.clone()).with_transactions(TransactionMode::Never);
    store.ensure_indexes().await.expect("indexes");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2031, 5, 1, 10, 0, 0).unwrap());
    let service = LiveSessions::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build();
    let session = live_session(&service).await;
    for name in ["ahmed", "sara"] {
        service
            .join(
                Some(&student(name)),
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
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn transactions_follow_the_deployment() {
    let database = scratch().await;
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
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn seed_documents_are_reported_not_served() {
    let database = scratch().await;
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
            Presence::new(
                Utc.timestamp_opt(1_736_935_400, 0).unwrap(),
                Duration::from_secs(90),
            ),
        )
        .await
        .unwrap();
    assert_eq!(left.watch_seconds, 45 * 60);
    assert_eq!(left.watch_minutes(), 45);
    database.drop().await.unwrap();
}

/// A join without transactions whose caller gives up after the participant's upsert reached
/// the server (a request timeout drops the join's future there) still counts the participant:
/// the `$inc` runs anyway. A proxy holds back the server's answer to the upsert until the
/// caller has given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn a_join_given_up_after_its_upsert_is_still_counted() {
    let uri = server::uri();
    let mut options = ClientOptions::parse(&uri)
        .await
        .expect("a usable MongoDB URI");
    let upstream = match options.hosts.first() {
        Some(ServerAddress::Tcp { host, port }) => format!("{host}:{}", port.unwrap_or(27017)),
        other => panic!("this test needs a host:port server address, not {other:?}"),
    };
    let proxy = server::proxy::Proxy::start(upstream).await;
    options.hosts = vec![ServerAddress::Tcp {
        host: proxy.address.ip().to_string(),
        port: Some(proxy.address.port()),
    }];
    options.direct_connection = Some(true);
    let database_name = format!("ls_test_{}", uuid::Uuid::new_v4().simple());
    let proxied = Client::with_options(options).expect("a client through the proxy");
    let store =
        MongoStore::new(proxied.database(&database_name)).with_transactions(TransactionMode::Never);
    store.ensure_indexes().await.expect("indexes");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2031, 5, 1, 10, 0, 0).unwrap());
    let service = LiveSessions::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock))
        .build();
    let session = live_session(&service).await;
    // Watched directly, not through the proxy.
    let direct = server::client().await.database(&database_name);

    proxy.hold_answer_to("session_participants");
    let ahmed = student("ahmed");
    let join = service.join(
        Some(&ahmed),
        JoinInput {
            session_id: session.id.to_string(),
            ..Default::default()
        },
    );
    tokio::select! {
        outcome = join => panic!("the join ended while its upsert's answer was held: {outcome:?}"),
        () = proxy.command_sent() => {}
    }
    // The join's future is dropped here, as a request timeout drops it. The upsert was sent;
    // wait until the server has written the record.
    let participants = direct.collection::<Document>("session_participants");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while participants.count_documents(doc! {}).await.unwrap() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upsert never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.release();

    let sessions = direct.collection::<Document>("live_sessions");
    let counted = || async {
        sessions
            .find_one(doc! { "_id": livesessions_mongo::documents::session_id(session.id) })
            .await
            .unwrap()
            .expect("the session")
            .get_i64("participants")
            .unwrap()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while counted().await == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        counted().await,
        1,
        "the participant whose join was given up is counted"
    );
    assert_eq!(participants.count_documents(doc! {}).await.unwrap(), 1);
    assert_eq!(store.reconcile_participant_counts().await.unwrap(), 0);
    direct.drop().await.unwrap();
}
