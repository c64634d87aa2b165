//! What only this store has: counter repair, transaction detection, indexes, the stored
//! dates beside the exact times, joins that their caller gives up on, and documents the
//! original application wrote. Runs against `LIVESESSIONS_TEST_MONGODB_URI` like the
//! conformance suite, and is counted as ignored without it.

mod legacy;
mod server;

use livesessions_core::Presence;
use livesessions_core::SessionInput;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use livesessions_core::{
    Actor, AnalyticsStore, AttendanceStore, JoinInput, LiveSessions, ManualClock, NewSession,
    ParticipationQuery, SessionId, SessionStore, UserId,
};
use livesessions_mongo::mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use livesessions_mongo::mongodb::options::{ClientOptions, ServerAddress};
use livesessions_mongo::mongodb::{Client, Database};
use livesessions_mongo::{MongoStore, TransactionMode};

async fn scratch() -> Database {
    server::scratch_database().await.0
}

/// A session id as the store writes it: a UUID, BSON binary subtype 4.
fn uuid(id: SessionId) -> Bson {
    Bson::from(livesessions_mongo::mongodb::bson::Uuid::from(*id.as_uuid()))
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
            doc! { "_id": uuid(session.id) },
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
    // Whether this deployment commits a multi-document transaction (a replica set or a
    // sharded cluster does, a standalone server refuses it).
    let probe = database.collection::<Document>("probe");
    probe.insert_one(doc! { "n": 0 }).await.unwrap();
    let mut session = database.client().start_session().await.unwrap();
    let committed = async {
        session.start_transaction().await?;
        probe
            .insert_one(doc! { "n": 1 })
            .session(&mut session)
            .await?;
        session.commit_transaction().await
    }
    .await;
    let store = MongoStore::new(database.clone());
    assert_eq!(
        store.supports_transactions().await.unwrap(),
        committed.is_ok(),
        "Auto uses transactions exactly when the deployment has them: {committed:?}"
    );
    let never = store.clone().with_transactions(TransactionMode::Never);
    assert!(!never.supports_transactions().await.unwrap());
    let always = store.clone().with_transactions(TransactionMode::Always);
    assert!(always.supports_transactions().await.unwrap());
    database.drop().await.unwrap();
}

/// The indexes, by name: the list order and the start time on sessions, the unique
/// (session, user) and the user on participants. Creating them twice is harmless.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn indexes_are_created_once_by_name() {
    let database = scratch().await;
    let store = MongoStore::new(database.clone());
    store.ensure_indexes().await.unwrap();
    store.ensure_indexes().await.unwrap();
    let names = |collection: &'static str| {
        let database = database.clone();
        async move {
            let mut names = database
                .collection::<Document>(collection)
                .list_index_names()
                .await
                .unwrap();
            names.sort();
            names
        }
    };
    assert_eq!(
        names("live_sessions").await,
        ["_id_", "list_order", "start_time"]
    );
    assert_eq!(
        names("session_participants").await,
        ["_id_", "session_user_unique", "user"]
    );
    // One record per (session, user).
    let participants = database.collection::<Document>("session_participants");
    let id = SessionId::new();
    let record = || doc! { "sessionId": uuid(id), "userId": "ahmed" };
    participants.insert_one(record()).await.unwrap();
    participants
        .insert_one(record())
        .await
        .expect_err("a second record of the same user in the same session");
    participants
        .insert_one(doc! { "sessionId": uuid(SessionId::new()), "userId": "ahmed" })
        .await
        .expect("the same user in another session");
    database.drop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn legacy_documents_are_reported_or_served() {
    let database = scratch().await;
    let store = MongoStore::new(database.clone());
    store.ensure_indexes().await.unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2031, 5, 1, 10, 0, 0).unwrap());
    let service = LiveSessions::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock))
        .build();
    let sessions = database.collection::<Document>("live_sessions");
    let participants = database.collection::<Document>("session_participants");
    sessions
        .insert_one(legacy::legacy_session(Bson::ObjectId(ObjectId::new())))
        .await
        .unwrap();
    let error = store
        .list_sessions(&Default::default())
        .await
        .expect_err("an ObjectId session cannot be listed");
    let text = format!("{:?}", error);
    assert!(text.contains("_id"), "{text}");
    sessions.delete_many(doc! {}).await.unwrap();

    // A participant the original application wrote under a UUID session is read and credited.
    let joined = Bson::DateTime(DateTime::from_millis(1_736_935_320_000));
    let orphan = SessionId::new();
    participants
        .insert_one(legacy::legacy_participant(
            uuid(orphan),
            "user456",
            joined.clone(),
        ))
        .await
        .unwrap();
    let participant = store
        .get_participant(orphan, &UserId::parse("user456").unwrap())
        .await
        .unwrap()
        .expect("the original application's participant");
    assert_eq!(participant.watch_seconds, 45 * 60);
    assert_eq!(participant.join_count, 1);
    let left = store
        .leave(
            orphan,
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
    // Its session does not exist: a user's participation leaves the record out.
    let history = store
        .participation(&ParticipationQuery {
            user_id: participant.user_id.clone(),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(history.sessions_joined, 0);
    assert!(history.sessions.is_empty());

    // A join over a record the original application wrote counts as a rejoin: its first join
    // and its credited minutes are kept.
    let session = live_session(&service).await;
    participants
        .insert_one(legacy::legacy_participant(
            uuid(session.id),
            "ahmed",
            joined.clone(),
        ))
        .await
        .unwrap();
    let rejoined = service
        .join(
            Some(&student("ahmed")),
            JoinInput {
                session_id: session.id.to_string(),
                ..Default::default()
            },
        )
        .await
        .expect("join");
    assert!(!rejoined.first_join);
    assert_eq!(rejoined.participant.join_count, 2);
    assert_eq!(
        rejoined.participant.first_joined_at,
        Utc.timestamp_millis_opt(1_736_935_320_000).unwrap()
    );
    assert_eq!(rejoined.participant.watch_seconds, 45 * 60);
    assert_eq!(rejoined.participant.email.as_str(), "ahmed@example.com");
    let history = store
        .participation(&ParticipationQuery {
            user_id: rejoined.participant.user_id.clone(),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(history.sessions_joined, 1);
    assert_eq!(history.total_watch_seconds, 45 * 60);
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
            .find_one(doc! { "_id": uuid(session.id) })
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

/// Every participant time is stored twice: exactly, in microseconds under `micros`, and as the
/// BSON date of its millisecond under its own name (what other programs read); the whole
/// minutes of `watchDuration` follow `watchSeconds`. Joins, heartbeats and leaves keep both in
/// step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn stored_dates_and_minutes_follow_the_exact_times() {
    let database = scratch().await;
    let store = MongoStore::new(database.clone());
    store.ensure_indexes().await.unwrap();
    let start = Utc.with_ymd_and_hms(2031, 5, 1, 10, 0, 0).unwrap()
        + chrono::Duration::microseconds(123_456);
    let clock = ManualClock::new(start);
    let service = LiveSessions::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build();
    let session = live_session(&service).await;
    let ahmed = student("ahmed");
    let participants = database.collection::<Document>("session_participants");
    let stored = || async {
        participants
            .find_one(doc! { "sessionId": uuid(session.id), "userId": "ahmed" })
            .await
            .unwrap()
            .expect("ahmed's record")
    };
    let check = |document: &Document| {
        let exact = document.get_document("micros").expect("micros");
        for field in [
            "joinTime",
            "lastJoinTime",
            "lastSeen",
            "leftAt",
            "presentSince",
            "createdAt",
        ] {
            match (document.get(field), exact.get(field)) {
                (Some(Bson::DateTime(date)), Some(Bson::Int64(us))) => assert_eq!(
                    date.timestamp_millis(),
                    us.div_euclid(1000),
                    "{field}: the date is the exact time's millisecond"
                ),
                (Some(Bson::Null), Some(Bson::Null)) => {}
                other => panic!("{field}: a date and its exact time, found {other:?}"),
            }
        }
        let seconds = document.get_i64("watchSeconds").unwrap();
        assert_eq!(document.get_i64("watchDuration").unwrap(), seconds / 60);
        seconds
    };

    service
        .join(
            Some(&ahmed),
            JoinInput {
                session_id: session.id.to_string(),
                ..Default::default()
            },
        )
        .await
        .expect("join");
    check(&stored().await);
    for step in [
        Duration::from_micros(50_000_250),
        Duration::from_micros(45_500_001),
    ] {
        clock.advance(step);
        service
            .heartbeat(Some(&ahmed), session.id)
            .await
            .expect("heartbeat");
        check(&stored().await);
    }
    clock.advance(Duration::from_micros(24_500_777));
    let left = service
        .leave(Some(&ahmed), session.id)
        .await
        .expect("leave");
    let document = stored().await;
    assert_eq!(check(&document), 120, "credited from the join to the leave");
    assert_eq!(document.get_i64("watchDuration").unwrap(), 2);
    assert_eq!(document.get("presentSince"), Some(&Bson::Null));
    assert_eq!(
        left.left_at,
        Some(start + chrono::Duration::microseconds(120_001_028)),
        "the exact time reads back"
    );
    database.drop().await.unwrap();
}

/// A heartbeat sent before a leave but delivered after it (newer than the last heartbeat,
/// older than the leave) changes nothing: it neither reopens the interval nor moves
/// `lastSeen`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn a_heartbeat_delivered_after_the_leave_it_preceded_is_ignored() {
    let database = scratch().await;
    let store = MongoStore::new(database.clone());
    store.ensure_indexes().await.unwrap();
    let start = Utc.with_ymd_and_hms(2031, 5, 1, 10, 0, 0).unwrap();
    let clock = ManualClock::new(start);
    let service = LiveSessions::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build();
    let session = live_session(&service).await;
    let ahmed = student("ahmed");
    service
        .join(
            Some(&ahmed),
            JoinInput {
                session_id: session.id.to_string(),
                ..Default::default()
            },
        )
        .await
        .expect("join");
    clock.advance_secs(10);
    service
        .heartbeat(Some(&ahmed), session.id)
        .await
        .expect("heartbeat");
    clock.advance_secs(20);
    let left = service
        .leave(Some(&ahmed), session.id)
        .await
        .expect("leave");
    assert_eq!(left.watch_seconds, 30);
    clock.advance_secs(-10);
    let late = service
        .heartbeat(Some(&ahmed), session.id)
        .await
        .expect("a late heartbeat");
    assert_eq!(late.present_since, None, "the interval stays closed");
    assert_eq!(late.last_seen, start + chrono::Duration::seconds(10));
    assert_eq!(late.left_at, Some(start + chrono::Duration::seconds(30)));
    assert_eq!(late.watch_seconds, 30);
    clock.advance_secs(100);
    let ended = service
        .end(
            Some(&Actor::admin(UserId::parse("admin").unwrap())),
            session.id,
        )
        .await
        .expect("end");
    assert_eq!(ended.status, livesessions_core::SessionStatus::Ended);
    let credited = store
        .get_participant(session.id, &ahmed.user_id)
        .await
        .unwrap()
        .expect("ahmed");
    assert_eq!(
        credited.watch_seconds, 30,
        "nothing after the leave is credited"
    );
    database.drop().await.unwrap();
}

/// A heartbeat whose time falls before the current live period (sent before a restart, after
/// the previous end) only moves `lastSeen`: it opens no interval and credits nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn a_heartbeat_from_before_a_restart_opens_no_interval() {
    let database = scratch().await;
    let store = MongoStore::new(database.clone());
    store.ensure_indexes().await.unwrap();
    let start = Utc.with_ymd_and_hms(2031, 5, 1, 10, 0, 0).unwrap();
    let at = |secs: i64| start + chrono::Duration::seconds(secs);
    let clock = ManualClock::new(start);
    let service = LiveSessions::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build();
    let admin = Actor::admin(UserId::parse("admin").unwrap());
    let session = live_session(&service).await;
    let ahmed = student("ahmed");
    service
        .join(
            Some(&ahmed),
            JoinInput {
                session_id: session.id.to_string(),
                ..Default::default()
            },
        )
        .await
        .expect("join");
    clock.set(at(40));
    service
        .heartbeat(Some(&ahmed), session.id)
        .await
        .expect("heartbeat");
    clock.set(at(50));
    service.end(Some(&admin), session.id).await.expect("end");
    clock.set(at(100));
    let restarted = service
        .start(Some(&admin), session.id)
        .await
        .expect("restart");
    assert_eq!(restarted.live_since, Some(at(100)));

    let late = store
        .heartbeat(
            session.id,
            &ahmed.user_id,
            Presence::new(at(90), Duration::from_secs(90)),
        )
        .await
        .expect("a heartbeat sent before the restart");
    assert_eq!(late.last_seen, at(90));
    assert_eq!(
        late.present_since, None,
        "no interval before the live period"
    );
    assert_eq!(
        late.watch_seconds, 50,
        "the first period, credited by its end"
    );
    let next = store
        .heartbeat(
            session.id,
            &ahmed.user_id,
            Presence::new(at(110), Duration::from_secs(90)),
        )
        .await
        .expect("a heartbeat in the new period");
    assert_eq!(next.present_since, Some(at(110)));
    assert_eq!(next.watch_seconds, 50);
    database.drop().await.unwrap();
}
