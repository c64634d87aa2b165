//! SQLite-specific set-up: WAL and the busy timeout on files, one kept connection in memory;
//! the event log's wake-ups.

mod common;

use livesessions_core::{HealthCheck, SessionStore};
use livesessions_sql::sqlite::SqliteStore;
use livesessions_sql::sqlx;

#[tokio::test]
async fn files_use_wal_and_a_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.expect("migrating again is a no-op");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(busy, 5000);
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    store.ping().await.unwrap();
    store.pool().close().await;
}

#[tokio::test]
async fn in_memory_data_lives_as_long_as_the_store() {
    let store = SqliteStore::in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let page = store
        .list_sessions(&livesessions_core::ListQuery::default())
        .await
        .unwrap();
    assert!(page.items.is_empty());
    // The tables are still there on the next acquire: the one connection is kept.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%session%' \
         ORDER BY name",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            "live_session_thumbnails",
            "live_sessions",
            // The search index (migration 0009): the FTS5 table, its shadow tables, the id map.
            "live_sessions_search",
            "live_sessions_search_config",
            "live_sessions_search_content",
            "live_sessions_search_data",
            "live_sessions_search_docsize",
            "live_sessions_search_ids",
            "live_sessions_search_idx",
            "session_participants"
        ]
    );
}

#[tokio::test]
async fn databases_migrated_earlier_stay_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let store = SqliteStore::open(&path).await.unwrap();
    // A database migrated from the migration files, as earlier releases did.
    let on_disk = common::migrations_on_disk("migrations/sqlite").await;
    let files = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    sqlx::migrate::Migrator::new(files)
        .await
        .unwrap()
        .run(store.pool())
        .await
        .unwrap();
    // The embedded migrations see them as applied, and applying them again changes nothing.
    store.migrate().await.expect("already applied");
    store.migrate().await.expect("migrating again is a no-op");
    assert_eq!(recorded(&store).await, on_disk);
    store.pool().close().await;

    // A new database records the same versions and checksums.
    let fresh = SqliteStore::in_memory().await.unwrap();
    fresh.migrate().await.unwrap();
    assert_eq!(recorded(&fresh).await, on_disk);
}

/// The migrations the database of `store` records as applied: `(version, checksum)`.
async fn recorded(store: &SqliteStore) -> Vec<(i64, Vec<u8>)> {
    sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_commits_wake_a_waiter() {
    use std::time::Duration;

    use livesessions_core::events::EventLog as _;
    use livesessions_core::{EventKind, LiveSession, NewSession};

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("events.db"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let at = store.log_position().await.unwrap().last;
    // An hour-long wait can only end within the 60 s guard by being woken.
    let an_hour = Duration::from_secs(3600);
    let waiter = tokio::spawn({
        let store = store.clone();
        async move { woken(store.wait_for_events(at, an_hour)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fields = NewSession::new(
        "Wake",
        "Ferris",
        "https://youtu.be/abc",
        "2025-01-15T10:00:00Z",
    )
    .validate()
    .unwrap();
    let session = LiveSession::new(fields, chrono::Utc::now());
    store.insert_session(&session).await.unwrap();
    assert!(waiter.await.unwrap(), "a commit did not wake the waiter");
    // An event already appended ends the wait at once.
    assert!(woken(store.wait_for_events(at, an_hour)).await);
    let events = store.read_events(at, 10).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind, e.session_id))
            .collect::<Vec<_>>(),
        [(EventKind::Created, session.id)]
    );
}

/// Whether `wait` ended within a hang guard of 60 s (not a measurement: the waits given are an
/// hour long, so ending within the guard means being woken).
async fn woken(wait: impl std::future::Future<Output = ()>) -> bool {
    tokio::time::timeout(std::time::Duration::from_secs(60), wait)
        .await
        .is_ok()
}

/// A term with more trigram candidates than the store reads (1 000) is searched along the list
/// index, a rarer one from the candidates: both list the same sessions in the list order, page
/// by page.
#[tokio::test]
async fn common_and_rare_terms_list_alike_in_the_list_order() {
    use livesessions_core::{ListQuery, StatusFilter};

    let store = SqliteStore::in_memory().await.unwrap();
    store.migrate().await.unwrap();
    // 1 100 scheduled sessions, start times (the list key) out of insert order; every 100th
    // also has a rare marker.
    sqlx::query(
        "WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < 1099) \
         INSERT INTO live_sessions (id, title, description, instructor, video_url, start_time, \
            status, created_at, updated_at, version, list_rank, list_time_key) \
         SELECT randomblob(16), \
            CASE WHEN i % 100 = 0 THEN 'Shared topic, rare marker ' || i ELSE 'Shared topic ' || i END, \
            '', 'Ann Lee', 'https://www.youtube.com/watch?v=dQw4w9WgXcQ', \
            (1800000000 + (i * 7919) % 1100 * 60) * 1000000, 'scheduled', 0, 0, 1, 1, \
            (1800000000 + (i * 7919) % 1100 * 60) * 1000000 \
         FROM g",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let start = |i: i64| 1_800_000_000 + (i * 7_919) % 1_100 * 60;
    let mut common: Vec<i64> = (0..1_100).map(start).collect();
    let mut rare: Vec<i64> = (0..1_100).step_by(100).map(start).collect();
    common.sort_unstable();
    rare.sort_unstable();
    for (term, expected) in [("shared TOPIC", common), ("RARE marker", rare)] {
        let mut listed = Vec::new();
        let mut query = ListQuery {
            status: StatusFilter::All,
            search: Some(term.to_owned()),
            limit: 50,
            after: None,
        };
        loop {
            let page = store.list_sessions(&query).await.unwrap();
            listed.extend(page.items.iter().map(|s| s.fields.start_time.timestamp()));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        assert_eq!(listed, expected, "{term}");
    }
}

/// Migration 0012 backfills `first_present_at` of the participants written before it: an open
/// interval that credited nothing yet gives its start; one who watched gives the later of the
/// first join and the session's start; one never present stays NULL.
#[tokio::test]
async fn the_roster_migration_backfills_first_presence() {
    let store = SqliteStore::in_memory().await.expect("in-memory SQLite");
    let mut before = sqlx::migrate!("./migrations/sqlite");
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < 12)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before
        .run(store.pool())
        .await
        .expect("migrations up to 0011");
    let session = uuid::Uuid::new_v4();
    // Started at 1 000; the times are microseconds.
    sqlx::query(
        "INSERT INTO live_sessions (id, title, instructor, video_url, start_time, status, \
            started_at, live_since, created_at, updated_at, version, list_rank, list_time_key) \
         VALUES (?1, 't', 'i', 'https://youtu.be/abc', 1000, 'live', 1000, 1000, 0, 0, 1, 0, 0)",
    )
    .bind(session)
    .execute(store.pool())
    .await
    .expect("a session");
    // (user, first join, present since, watch seconds)
    let rows: [(&str, i64, Option<i64>, i64); 4] = [
        ("open", 500, Some(3000), 0),
        ("lobby-then-class", 500, None, 60),
        ("late", 2000, Some(9000), 60),
        ("never", 500, None, 0),
    ];
    for (user, joined, since, watch) in rows {
        sqlx::query(
            "INSERT INTO session_participants (session_id, user_id, user_name, email, \
                first_joined_at, last_joined_at, last_seen, present_since, watch_seconds, \
                created_at) VALUES (?1, ?2, ?2, 'a@example.com', ?3, ?3, ?3, ?4, ?5, ?3)",
        )
        .bind(session)
        .bind(user)
        .bind(joined)
        .bind(since)
        .bind(watch)
        .execute(store.pool())
        .await
        .expect("a participant");
    }
    store.migrate().await.expect("the remaining migrations");
    let got: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT user_id, first_present_at FROM session_participants ORDER BY user_id",
    )
    .fetch_all(store.pool())
    .await
    .expect("read back");
    assert_eq!(
        got,
        vec![
            ("late".to_owned(), Some(2000)),
            ("lobby-then-class".to_owned(), Some(1000)),
            ("never".to_owned(), None),
            ("open".to_owned(), Some(3000)),
        ]
    );
}
