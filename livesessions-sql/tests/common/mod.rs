//! Scratch databases for the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use livesessions_core::testing::{EventLogFaults, Fixture};
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlite::SqliteStore;
use livesessions_sql::sqlx::postgres::{PgPool, PgPoolOptions};

/// The variable that names the test server.
pub const POSTGRES_URL_VAR: &str = "LIVESESSIONS_TEST_POSTGRES_URL";

/// The URL of the test server; panics with instructions when it is not set (CI sets it).
pub fn postgres_url() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: the Postgres tests need a server, e.g. \
             {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test (.ci/run sets it)"
        )
    })
}

/// A Postgres store in a new schema `ls_test_<uuid>`, migrated, on a pool of at most 8
/// connections (many tests share one server), and the pool for cleaning up.
pub async fn scratch_postgres() -> (PostgresStore, PgPool) {
    let url = postgres_url();
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}={url}: {e}"));
    let schema = format!("ls_test_{}", uuid::Uuid::new_v4().simple());
    let store = PostgresStore::from_pool(pool.clone())
        .with_schema(&schema)
        .expect("a valid schema name");
    store.migrate().await.expect("migrations apply");
    (store, pool)
}

/// Drops the store's schema and closes the pool.
pub async fn drop_postgres(store: &PostgresStore, pool: PgPool) {
    let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", store.schema());
    if let Err(e) = livesessions_sql::sqlx::query(&sql).execute(&pool).await {
        eprintln!("could not drop test schema {}: {e}", store.schema());
    }
    pool.close().await;
}

/// A conformance fixture on a scratch Postgres schema, dropped afterwards.
pub async fn postgres_fixture() -> Option<Fixture> {
    let (store, pool) = scratch_postgres().await;
    let teardown_store = store.clone();
    Some(
        Fixture::new(Arc::new(store))
            .with_teardown(async move { drop_postgres(&teardown_store, pool).await }),
    )
}

/// Makes the event appends of a Postgres store fail: a `CHECK (false)` constraint on its
/// event table, `NOT VALID` so that only new rows are checked.
#[derive(Debug)]
pub struct PostgresFaults(pub PostgresStore);

#[async_trait::async_trait]
impl EventLogFaults for PostgresFaults {
    async fn fail_appends(&self, fail: bool) {
        let events = format!("\"{}\".events", self.0.schema());
        let sql = if fail {
            format!("ALTER TABLE {events} ADD CONSTRAINT events_fail CHECK (false) NOT VALID")
        } else {
            format!("ALTER TABLE {events} DROP CONSTRAINT IF EXISTS events_fail")
        };
        livesessions_sql::sqlx::query(&sql)
            .execute(self.0.pool())
            .await
            .expect("the fault is switched");
    }
}

/// An event-log fixture on a scratch Postgres schema, with fault injection, dropped
/// afterwards.
pub async fn postgres_logged_fixture() -> Option<Fixture> {
    let (store, pool) = scratch_postgres().await;
    let teardown_store = store.clone();
    let shared = Arc::new(store.clone());
    Some(
        Fixture::new(shared.clone())
            .with_event_log(shared, Some(Arc::new(PostgresFaults(store))))
            .with_teardown(async move { drop_postgres(&teardown_store, pool).await }),
    )
}

/// Makes the event appends of a SQLite store fail: a trigger that aborts every insert into
/// its event table.
#[derive(Debug)]
pub struct SqliteFaults(pub SqliteStore);

#[async_trait::async_trait]
impl EventLogFaults for SqliteFaults {
    async fn fail_appends(&self, fail: bool) {
        let sql = if fail {
            "CREATE TRIGGER events_fail BEFORE INSERT ON events \
             BEGIN SELECT RAISE(ABORT, 'event appends fail (fault injected)'); END"
        } else {
            "DROP TRIGGER IF EXISTS events_fail"
        };
        livesessions_sql::sqlx::query(sql)
            .execute(self.0.pool())
            .await
            .expect("the fault is switched");
    }
}

/// A fixture with the store's event log and its faults.
fn sqlite_logged(store: SqliteStore) -> Fixture {
    let shared = Arc::new(store.clone());
    Fixture::new(shared.clone()).with_event_log(shared, Some(Arc::new(SqliteFaults(store))))
}

/// An event-log fixture on a private in-memory SQLite database.
pub async fn sqlite_memory_logged_fixture() -> Option<Fixture> {
    let store = SqliteStore::in_memory()
        .await
        .expect("in-memory SQLite opens");
    store.migrate().await.expect("migrations apply");
    Some(sqlite_logged(store))
}

/// An event-log fixture on a SQLite file in a temporary directory, removed afterwards.
pub async fn sqlite_file_logged_fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("livesessions.db"))
        .await
        .expect("SQLite file opens");
    store.migrate().await.expect("migrations apply");
    let pool = store.pool().clone();
    Some(sqlite_logged(store).with_teardown(async move {
        pool.close().await;
        drop(dir);
    }))
}

/// A conformance fixture on a private in-memory SQLite database.
pub async fn sqlite_memory_fixture() -> Option<Fixture> {
    let store = SqliteStore::in_memory()
        .await
        .expect("in-memory SQLite opens");
    store.migrate().await.expect("migrations apply");
    Some(Fixture::new(Arc::new(store)))
}

/// A conformance fixture on a SQLite file in a temporary directory, removed afterwards.
pub async fn sqlite_file_fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("livesessions.db"))
        .await
        .expect("SQLite file opens");
    store.migrate().await.expect("migrations apply");
    let pool = store.pool().clone();
    Some(Fixture::new(Arc::new(store)).with_teardown(async move {
        pool.close().await;
        drop(dir);
    }))
}

/// The migrations of `dir` (below the crate) as sqlx resolves them at run time from the
/// files, which is how every earlier release of the stores built them: `(version, checksum)`.
pub async fn migrations_on_disk(dir: &str) -> Vec<(i64, Vec<u8>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let migrator = livesessions_sql::sqlx::migrate::Migrator::new(path)
        .await
        .expect("migration files resolve");
    migrator
        .iter()
        .map(|m| (m.version, m.checksum.to_vec()))
        .collect()
}

/// A webhook fixture on a scratch Postgres schema, dropped afterwards.
pub async fn postgres_webhooks() -> Option<livesessions_core::testing::webhooks::WebhookFixture> {
    let (store, pool) = scratch_postgres().await;
    let teardown_store = store.clone();
    Some(
        livesessions_core::testing::webhooks::WebhookFixture::new(Arc::new(store))
            .with_teardown(async move { drop_postgres(&teardown_store, pool).await }),
    )
}

/// A webhook fixture on a private in-memory SQLite database.
pub async fn sqlite_memory_webhooks() -> Option<livesessions_core::testing::webhooks::WebhookFixture>
{
    let store = SqliteStore::in_memory()
        .await
        .expect("in-memory SQLite opens");
    store.migrate().await.expect("migrations apply");
    Some(livesessions_core::testing::webhooks::WebhookFixture::new(
        Arc::new(store),
    ))
}

/// A webhook fixture on a SQLite file in a temporary directory, removed afterwards.
pub async fn sqlite_file_webhooks() -> Option<livesessions_core::testing::webhooks::WebhookFixture>
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("livesessions.db"))
        .await
        .expect("SQLite file opens");
    store.migrate().await.expect("migrations apply");
    let pool = store.pool().clone();
    Some(
        livesessions_core::testing::webhooks::WebhookFixture::new(Arc::new(store)).with_teardown(
            async move {
                pool.close().await;
                drop(dir);
            },
        ),
    )
}

/// Enqueues 1 201 events for 3 endpoints at once: more deliveries than one insert writes, so
/// the enqueue splits them; every one is created once and the cursor ends at the last event.
pub async fn a_large_enqueue_creates_every_delivery(
    store: &dyn livesessions_core::webhooks::WebhookStore,
) {
    use livesessions_core::events::{EventId, EventKind, LoggedEvent};
    use livesessions_core::webhooks::{
        DeliveryQuery, EndpointUrl, EnqueueOutcome, EventTypes, WebhookEndpoint, WebhookSecret,
    };
    let t0 = chrono::DateTime::from_timestamp(1_900_000_000, 0).expect("a time");
    let mut endpoints = Vec::new();
    for path in ["a", "b", "c"] {
        let url = EndpointUrl::parse(&format!("https://93.184.216.34/{path}"), false).unwrap();
        let endpoint = WebhookEndpoint::new(url, EventTypes::All, None, t0);
        store
            .insert_endpoint(&endpoint, &WebhookSecret::generate())
            .await
            .unwrap();
        endpoints.push(endpoint.id);
    }
    let events: Vec<LoggedEvent> = (1..=1201)
        .map(|id| LoggedEvent {
            id: EventId::new(id).unwrap(),
            kind: EventKind::Participants,
            session_id: livesessions_core::SessionId::new(),
            at: t0,
        })
        .collect();
    let outcome = store
        .enqueue_events(EventId::ZERO, &events, t0)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        EnqueueOutcome::Enqueued {
            cursor: EventId::new(1201).unwrap(),
            deliveries: 3 * 1201
        }
    );
    for endpoint in endpoints {
        let mut query = DeliveryQuery::first(endpoint, DeliveryQuery::MAX_LIMIT);
        let mut seen = Vec::new();
        loop {
            let page = store.list_deliveries(&query).await.unwrap();
            seen.extend(page.items.iter().map(|d| d.event.id.get()));
            match page.next {
                Some(before) => query.before = Some(before),
                None => break,
            }
        }
        assert_eq!(seen, (1..=1201).rev().collect::<Vec<i64>>());
    }
}

/// A user's calendar feed lists the sessions whose roster they are on, as well as those they
/// joined, once each; another user's feed lists neither.
pub async fn roster_members_see_their_sessions_in_their_feed<S>(store: Arc<S>)
where
    S: livesessions_core::Store + livesessions_core::calendar::CalendarFeedStore,
{
    use livesessions_core::calendar::CalendarQuery;
    use livesessions_core::roster::MemberInput;
    use livesessions_core::{Actor, JoinInput, LiveSessions, NewSession, UserId};

    let service = LiveSessions::builder(store.clone()).build();
    let admin = Actor::admin(UserId::parse("admin").unwrap());
    let start = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let new = |title: &str| NewSession::new(title, "Ferris", "https://youtu.be/abc", &start);
    let rostered = service
        .create(Some(&admin), new("rostered"), None)
        .await
        .unwrap();
    let joined = service
        .create(Some(&admin), new("joined"), None)
        .await
        .unwrap();
    let other = service
        .create(Some(&admin), new("other"), None)
        .await
        .unwrap();
    let ada = UserId::parse("ada").unwrap();
    let row = MemberInput {
        user_id: Some("ada".into()),
        user_name: Some("Ada".into()),
        email: Some("ada@example.com".into()),
    };
    for id in [rostered.id, joined.id] {
        service
            .add_to_roster(Some(&admin), id, std::slice::from_ref(&row))
            .await
            .unwrap();
    }
    let ada_actor = Actor::user(ada.clone())
        .with_name("Ada")
        .with_email("ada@example.com");
    let input = JoinInput {
        session_id: joined.id.to_string(),
        ..JoinInput::default()
    };
    service.join(Some(&ada_actor), input).await.unwrap();
    let feed = store
        .calendar_sessions(&CalendarQuery::of_user(ada, chrono::Utc::now()))
        .await
        .unwrap();
    let ids: Vec<_> = feed.iter().map(|s| s.id).collect();
    assert!(ids.contains(&rostered.id), "on the roster: {ids:?}");
    assert!(ids.contains(&joined.id), "joined: {ids:?}");
    assert!(!ids.contains(&other.id), "neither: {ids:?}");
    assert_eq!(ids.len(), 2, "each session once: {ids:?}");
    let bo = store
        .calendar_sessions(&CalendarQuery::of_user(
            UserId::parse("bo").unwrap(),
            chrono::Utc::now(),
        ))
        .await
        .unwrap();
    assert!(bo.is_empty(), "{bo:?}");
}
