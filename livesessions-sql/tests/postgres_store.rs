//! Postgres-specific behaviour beyond the conformance suite: outages, schemas, and joins that
//! race the end of a session.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use livesessions_core::{
    AttendanceStore, Email, Error, HealthCheck, JoinRequest, Joiner, LiveSession, NewSession,
    Presence, SessionStore, UserId, UserName,
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

    // The migrations' bookkeeping lives in each schema, every migration recorded once.
    let migrations = common::migrations_on_disk("migrations/postgres")
        .await
        .len();
    for store in [&a, &b] {
        let sql = format!(
            "SELECT count(*) FROM \"{}\"._sqlx_migrations WHERE success",
            store.schema()
        );
        let applied: i64 = sqlx::query_scalar(&sql)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(usize::try_from(applied).unwrap(), migrations);
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
