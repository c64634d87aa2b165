//! Postgres-specific behaviour beyond the conformance suite: outages, schemas, joins that
//! race the end of a session, and the event log's numbering and wake-ups.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use livesessions_core::events::{EventId, EventLog as _};
use livesessions_core::{
    AttendanceStore, Email, Error, EventKind, HealthCheck, ImageKind, JoinRequest, Joiner,
    LiveSession, NewSession, Presence, SessionId, SessionStore, ThumbnailKey, ThumbnailStore,
    UserId, UserName,
};
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlx;
use livesessions_sql::sqlx::postgres::PgPoolOptions;

fn session(at: chrono::DateTime<Utc>) -> LiveSession {
    let fields = NewSession::new(
        "Race",
        "Ferris",
        "https://youtu.be/abc",
        "2025-01-15T10:00:00Z",
    )
    .validate()
    .unwrap();
    LiveSession::new(fields, at)
}

fn joiner(i: usize) -> Joiner {
    Joiner {
        user_id: UserId::parse(&format!("user{i}")).unwrap(),
        user_name: UserName::parse(&format!("User {i}")).unwrap(),
        email: Email::parse(&format!("user{i}@example.com")).unwrap(),
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // Nothing listens on port 1.
    let err = PostgresStore::connect("postgres://postgres@127.0.0.1:1/test")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(Some(_))), "{err:?}");

    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/test")
        .unwrap();
    let store = PostgresStore::from_pool(pool);
    let err = store.ping().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let err = store
        .get_session(livesessions_core::SessionId::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    // The thumbnails on the same pool fail the same way.
    let key = ThumbnailKey::generate(ImageKind::Png);
    let thumbnails = store.thumbnails();
    let err = thumbnails.get(&key).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    let err = thumbnails.put(&key, b"\x89PNG").await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    let err = thumbnails.delete(&key).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn schemas_are_isolated_and_migrations_repeatable() {
    let (a, pool_a) = common::scratch_postgres().await;
    let (b, pool_b) = common::scratch_postgres().await;
    a.migrate().await.expect("migrating again is a no-op");
    a.ping().await.unwrap();

    let s = session(Utc::now());
    a.insert_session(&s).await.unwrap();
    assert!(a.get_session(s.id).await.unwrap().is_some());
    assert!(b.get_session(s.id).await.unwrap().is_none());

    // The migrations' bookkeeping lives in each schema, every migration applied once.
    let migrations = common::migrations_on_disk("migrations/postgres")
        .await
        .len() as i64;
    for store in [&a, &b] {
        let sql = format!(
            "SELECT count(*) FROM \"{}\"._sqlx_migrations WHERE success",
            store.schema()
        );
        let applied: i64 = sqlx::query_scalar(&sql)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(applied, migrations);
    }
    assert!(PostgresStore::from_pool(pool_a.clone())
        .with_schema("Robert'); DROP TABLE students;--")
        .is_err());
    common::drop_postgres(&a, pool_a).await;
    common::drop_postgres(&b, pool_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn joins_racing_the_end_leave_nobody_present() {
    let (store, pool) = common::scratch_postgres().await;
    let store = Arc::new(store);
    let t0 = Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0).unwrap();
    let mut live = session(t0);
    store.insert_session(&live).await.unwrap();
    live.start(t0).unwrap();
    let live = store
        .update_session(&live, livesessions_core::EventKind::Live)
        .await
        .unwrap();
    let timeout = Duration::from_secs(90);

    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let request = JoinRequest {
                session_id: live.id,
                joiner: joiner(i),
                presence: Presence::new(t0 + chrono::TimeDelta::seconds(30), timeout),
                admin: false,
            };
            store.join(&request).await
        }));
    }
    let mut ended = live.clone();
    ended.end(t0 + chrono::TimeDelta::seconds(60)).unwrap();
    let ended = store.end_session(&ended, timeout).await.unwrap();
    let mut joined = 0u64;
    for task in tasks {
        match task.await.unwrap() {
            Ok(outcome) => {
                assert!(outcome.first_join);
                joined += 1;
            }
            // Joins that came after the end are refused.
            Err(Error::Conflict(_)) => {}
            Err(other) => panic!("unexpected join failure: {other:?}"),
        }
    }
    let sql = format!(
        "SELECT count(*) FILTER (WHERE present_since IS NOT NULL), count(*), \
            COALESCE(max(watch_seconds), 0) \
         FROM \"{}\".session_participants",
        store.schema()
    );
    let (present, records, max_watch): (i64, i64, i64) =
        sqlx::query_as(&sql).fetch_one(&pool).await.unwrap();
    assert_eq!(
        present, 0,
        "every interval opened before the end is closed by it"
    );
    assert_eq!(records as u64, joined);
    assert!(max_watch <= 30, "credited {max_watch} s of a 30 s presence");
    let stored = store.get_session(ended.id).await.unwrap().unwrap();
    assert_eq!(stored.participants, joined);
    common::drop_postgres(&store, pool).await;
}

#[tokio::test]
async fn schemas_migrated_earlier_stay_migrated() {
    let (store, pool) = common::scratch_postgres().await;
    let on_disk = common::migrations_on_disk("migrations/postgres").await;
    store.migrate().await.expect("migrating again is a no-op");
    let sql = format!(
        "SELECT version, checksum FROM \"{}\"._sqlx_migrations ORDER BY version",
        store.schema()
    );
    let recorded: Vec<(i64, Vec<u8>)> = sqlx::query_as(&sql).fetch_all(&pool).await.unwrap();
    assert_eq!(recorded, on_disk, "the checksums earlier releases recorded");
    common::drop_postgres(&store, pool).await;
}

/// Another instance on the same schema, on a pool of its own.
async fn second_instance(store: &PostgresStore) -> PostgresStore {
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&common::postgres_url())
        .await
        .unwrap();
    PostgresStore::from_pool(pool)
        .with_schema(store.schema())
        .unwrap()
}

/// A wait long enough that it can only end within [`woken`]'s guard by being woken.
const AN_HOUR: Duration = Duration::from_secs(3600);

/// Whether `wait` ended within a hang guard of 60 s (not a measurement: the waits given are
/// either short or an hour long).
async fn woken(wait: impl std::future::Future<Output = ()>) -> bool {
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_another_instance_wakes_a_waiter() {
    let (a, pool) = common::scratch_postgres().await;
    let b = second_instance(&a).await;
    let at = b.log_position().await.unwrap().last;
    // The first wait starts b's listener.
    b.wait_for_events(at, Duration::from_millis(500)).await;

    // An hour-long wait can only end within the guard by being woken.
    let waiter = tokio::spawn({
        let b = b.clone();
        async move { woken(b.wait_for_events(at, AN_HOUR)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = session(Utc::now());
    a.insert_session(&s).await.unwrap();
    assert!(
        waiter.await.unwrap(),
        "the NOTIFY of a create did not wake the other instance"
    );
    let events = b.read_events(at, 10).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind, e.session_id))
            .collect::<Vec<_>>(),
        [(EventKind::Created, s.id)]
    );
    b.pool().close().await;
    common::drop_postgres(&a, pool).await;
}

#[tokio::test]
async fn an_event_committed_late_is_numbered_after_what_was_read() {
    let (store, pool) = common::scratch_postgres().await;
    let late = SessionId::new();
    // A change that appended its event first but commits last.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(&format!(
        "INSERT INTO \"{}\".events (kind, session_id) VALUES ('updated', $1)",
        store.schema()
    ))
    .bind(*late.as_uuid())
    .execute(&mut *tx)
    .await
    .unwrap();
    let s = session(Utc::now());
    store.insert_session(&s).await.unwrap();
    let read = store.read_events(EventId::ZERO, 10).await.unwrap();
    assert_eq!(
        read.iter().map(|e| e.session_id).collect::<Vec<_>>(),
        [s.id],
        "an uncommitted event is not readable"
    );
    tx.commit().await.unwrap();
    let after = store.read_events(read[0].id, 10).await.unwrap();
    assert_eq!(
        after
            .iter()
            .map(|e| (e.kind, e.session_id))
            .collect::<Vec<_>>(),
        [(EventKind::Updated, late)],
        "the late event is readable after the last id read"
    );
    assert!(after[0].id > read[0].id);
    common::drop_postgres(&store, pool).await;
}

#[tokio::test]
async fn participant_counts_are_coalesced_per_numbering_round() {
    let (store, pool) = common::scratch_postgres().await;
    let mut s = session(Utc::now());
    s.start(Utc::now()).unwrap();
    store.insert_session(&s).await.unwrap();
    let at = store.log_position().await.unwrap().last;
    for i in 0..5 {
        let request = JoinRequest {
            session_id: s.id,
            joiner: joiner(i),
            presence: Presence::new(Utc::now(), Duration::from_secs(90)),
            admin: false,
        };
        assert!(store.join(&request).await.unwrap().first_join);
    }
    let events = store.read_events(at, 10).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind, e.session_id))
            .collect::<Vec<_>>(),
        [(EventKind::Participants, s.id)],
        "five joins before a read are one count event"
    );
    common::drop_postgres(&store, pool).await;
}

#[tokio::test]
async fn waiting_while_the_database_is_down_returns_after_the_timeout() {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("postgres://postgres@127.0.0.1:1/test")
        .unwrap();
    let store = PostgresStore::from_pool(pool);
    // Each wait ends (at its own deadline at the latest) instead of hanging or failing.
    for _ in 0..3 {
        assert!(
            woken(store.wait_for_events(EventId::ZERO, Duration::from_millis(400))).await,
            "a wait while the database is down did not end"
        );
    }
    let err = store.read_events(EventId::ZERO, 10).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_reconnects_wakes_every_waiter() {
    let (store, pool) = common::scratch_postgres().await;
    // The listener's connection inherits the pool's options, so this name finds it.
    let name = format!("ls_listener_{}", uuid::Uuid::new_v4().simple());
    let options = common::postgres_url()
        .parse::<sqlx::postgres::PgConnectOptions>()
        .unwrap()
        .application_name(&name);
    let b = PostgresStore::from_pool(PgPoolOptions::new().connect_lazy_with(options))
        .with_schema(store.schema())
        .unwrap();
    let at = b.log_position().await.unwrap().last;
    b.wait_for_events(at, Duration::from_millis(500)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let waiter = tokio::spawn({
        let b = b.clone();
        async move { woken(b.wait_for_events(at, AN_HOUR)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND query LIKE 'LISTEN%'",
    )
    .bind(&name)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(killed, [true], "one listening connection");
    assert!(
        waiter.await.unwrap(),
        "the reconnect did not wake the waiter"
    );
    b.pool().close().await;
    common::drop_postgres(&store, pool).await;
}
