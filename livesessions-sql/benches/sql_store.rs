//! Store operations on PostgreSQL and SQLite: join, heartbeat, a list page and a session report.
//!
//! ```text
//! LIVESESSIONS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p livesessions-sql --all-features --bench sql_store
//! ```
//!
//! Postgres runs in a scratch schema (dropped at the end), SQLite in a temporary file (WAL).
//! Each backend is filled with 1000 sessions and one live session with 1000 participants.
//! One operation at a time: these figures are latencies, not the stampede's throughput (the
//! pgbench scripts in `pgbench/` measure that).
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use livesessions_core::{
    Email, JoinRequest, Joiner, ListQuery, LiveSession, NewSession, Presence, ReportQuery,
    SessionId, SessionInput, Store, UserId, UserName,
};
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlite::SqliteStore;
use livesessions_sql::sqlx;
use tokio::runtime::Runtime;

const TIMEOUT: Duration = Duration::from_secs(90);

fn joiner(name: &str) -> Joiner {
    Joiner {
        user_id: UserId::parse(name).unwrap(),
        user_name: UserName::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
    }
}

/// The first join or rejoin of the user `name` to `session` at `now`.
fn join_request(session: SessionId, name: &str, now: DateTime<Utc>) -> JoinRequest {
    JoinRequest {
        session_id: session,
        joiner: joiner(name),
        presence: Presence::new(now, TIMEOUT),
        admin: false,
    }
}

fn new_session(i: i64) -> LiveSession {
    let fields = NewSession {
        fields: SessionInput {
            title: Some(format!("Session {i}")),
            description: Some(format!("About topic {i}")),
            instructor: Some("Sarah Khan".into()),
            video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
            start_time: Some("2025-01-15T10:00:00Z".into()),
            ..Default::default()
        },
        ..Default::default()
    }
    .validate()
    .unwrap();
    let mut s = LiveSession::new(fields, Utc::now());
    s.fields.start_time += TimeDelta::hours(i);
    s
}

/// Fills in 1000 sessions (a quarter live); returns a live session with exactly 1000 participants
/// (heartbeat, report) and another live one that the join bench fills.
async fn populate(store: &dyn Store) -> (LiveSession, LiveSession) {
    let now = Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0).unwrap();
    let mut hot = None;
    let mut joins = None;
    for i in 0..1000 {
        let mut s = new_session(i);
        store.insert_session(&s).await.unwrap();
        if i % 4 == 0 {
            s.start(now).unwrap();
            s = store
                .update_session(&s, livesessions_core::EventKind::Live)
                .await
                .unwrap();
        }
        match i {
            0 => hot = Some(s),
            4 => joins = Some(s),
            _ => {}
        }
    }
    let hot = hot.unwrap();
    for u in 0..1000 {
        let request = join_request(hot.id, &format!("seed{u}"), now);
        store.join(&request).await.unwrap();
    }
    (hot, joins.unwrap())
}

fn bench_store(c: &mut Criterion, rt: &Runtime, name: &str, store: Arc<dyn Store>) {
    let (hot, joins) = rt.block_on(populate(store.as_ref()));
    let now = Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0).unwrap();
    let mut group = c.benchmark_group(name);

    let next_user = AtomicU64::new(0);
    group.bench_function("join (first join)", |b| {
        b.to_async(rt).iter(|| {
            let n = next_user.fetch_add(1, Ordering::Relaxed);
            let store = Arc::clone(&store);
            let request = join_request(joins.id, &format!("bench{n}"), now);
            async move { store.join(&request).await.unwrap() }
        })
    });

    let user = UserId::parse("seed7").unwrap();
    let tick = AtomicU64::new(0);
    group.bench_function("heartbeat", |b| {
        b.to_async(rt).iter(|| {
            let t = now + TimeDelta::milliseconds(tick.fetch_add(1, Ordering::Relaxed) as i64);
            let store = Arc::clone(&store);
            let user = user.clone();
            async move {
                store
                    .heartbeat(hot.id, &user, Presence::new(t, TIMEOUT))
                    .await
                    .unwrap()
            }
        })
    });

    let first_page = ListQuery::default();
    group.bench_function("list page (50 of 1000)", |b| {
        b.to_async(rt).iter(|| {
            let store = Arc::clone(&store);
            let query = first_page.clone();
            async move { store.list_sessions(&query).await.unwrap() }
        })
    });

    group.bench_function("session report (1000 participants)", |b| {
        b.to_async(rt).iter(|| {
            let store = Arc::clone(&store);
            async move {
                store
                    .session_report(&ReportQuery {
                        session_id: hot.id,
                        now: now + TimeDelta::seconds(60),
                        timeout: TIMEOUT,
                        live_seconds: 3600,
                        late_after: None,
                        threshold_percent: 75,
                    })
                    .await
                    .unwrap()
            }
        })
    });
    group.finish();
}

fn sql_stores(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();

    let url = std::env::var("LIVESESSIONS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("ls_bench_{}", uuid::Uuid::new_v4().simple());
    let postgres = rt.block_on(async {
        let store = PostgresStore::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("Postgres at {url}: {e}"))
            .with_schema(&schema)
            .unwrap();
        store.migrate().await.unwrap();
        store
    });
    bench_store(c, &rt, "postgres", Arc::new(postgres.clone()));
    rt.block_on(async {
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(postgres.pool())
            .await
            .unwrap();
        postgres.pool().close().await;
    });

    let dir = tempfile::tempdir().unwrap();
    let sqlite = rt.block_on(async {
        let store = SqliteStore::open(dir.path().join("bench.db"))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    });
    bench_store(c, &rt, "sqlite", Arc::new(sqlite));
}

criterion_group!(benches, sql_stores);
criterion_main!(benches);
