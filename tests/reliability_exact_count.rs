//! Nothing lost: 10 000 concurrent joins through HTTP over a real socket, 8 000
//! distinct users and 2 000 repeats, on the in-memory store, SQLite (a temporary file),
//! PostgreSQL (a fresh schema, dropped afterwards) and MongoDB (a fresh database, dropped
//! afterwards). Every join must answer 200 at the first attempt: the client does not retry, so
//! a `503` (the store's pool or its transactions saturated) fails the test instead of hiding
//! behind a retry. Afterwards the session's `participants` equals the number of distinct
//! participant records, which is the number of distinct users. The stores' cases run one after
//! another, each timed.
//!
//! PostgreSQL comes from `LIVESESSIONS_TEST_POSTGRES_URL` and MongoDB from
//! `LIVESESSIONS_TEST_MONGODB_URI`; without them (when the package was built) those cases are
//! ignored, except in CI (`CI=true`), where they run and a missing server fails them.
//! `LIVESESSIONS_TEST_MONGODB_SCALE` (a fraction in (0, 1], default 1) shrinks the MongoDB case's
//! users, repeats and concurrency for slow servers; the assertions stay the same.
#![allow(missing_docs)]

mod common;
#[path = "../examples/perf_common/mod.rs"]
mod perf_common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use livesessions::{
    AttendanceQuery, AttendanceSort, BroadcastEvents, LiveSessions, MemoryStore, SessionId,
    SortOrder, Store,
};
use livesessions_mongo::mongodb::bson::doc;
use livesessions_mongo::MongoStore;
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlite::SqliteStore;
use livesessions_sql::sqlx;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const SECRET: &str = "reliability-exact-count-secret-0123456789";

/// How many joins, from how many users, how many at once.
#[derive(Debug, Clone, Copy)]
struct Size {
    distinct_users: usize,
    repeats: usize,
    /// Requests in flight at once: enough to overlap heavily, few enough for the socket table.
    in_flight: usize,
}

const FULL: Size = Size {
    distinct_users: 8_000,
    repeats: 2_000,
    in_flight: 256,
};

impl Size {
    /// [`FULL`] times `LIVESESSIONS_TEST_MONGODB_SCALE` (a fraction in (0, 1]; default 1).
    fn scaled() -> Size {
        let scale = match std::env::var("LIVESESSIONS_TEST_MONGODB_SCALE") {
            Err(_) => 1.0,
            Ok(text) => match text.trim().parse::<f64>() {
                Ok(scale) if scale > 0.0 && scale <= 1.0 => scale,
                _ => panic!(
                    "LIVESESSIONS_TEST_MONGODB_SCALE must be a fraction in (0, 1], not {text:?}"
                ),
            },
        };
        let times = |n: usize| ((n as f64 * scale).round() as usize).max(1);
        Size {
            distinct_users: times(FULL.distinct_users),
            repeats: times(FULL.repeats),
            in_flight: times(FULL.in_flight).max(8),
        }
    }

    fn total(&self) -> usize {
        self.distinct_users + self.repeats
    }
}

fn token(sub: &str, admin: bool) -> String {
    common::token(SECRET, sub, admin)
}

/// Serves the API on `store` with rate limits off; returns the base URL.
async fn serve(store: Arc<dyn Store>) -> (String, tokio::task::JoinHandle<()>) {
    let events = Arc::new(BroadcastEvents::default());
    let thumbnails = std::env::temp_dir().join(format!("ls-exact-{}", uuid::Uuid::new_v4()));
    let service = LiveSessions::builder(store)
        .events(events.clone())
        .thumbnails(Arc::new(livesessions::LocalDirThumbnails::new(thumbnails)))
        .build();
    let (addr, server) = perf_common::serve_signed_with(service, events, SECRET).await;
    (format!("http://{addr}"), server)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(FULL.in_flight)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

async fn create_live_session(client: &reqwest::Client, base: &str) -> SessionId {
    let body = common::create_session(
        client,
        base,
        &token("admin", true),
        &json!({
            "title": "Class-start stampede",
            "instructor": "Ferris",
            "videoUrl": "https://youtu.be/dQw4w9WgXcQ",
            "startTime": "2025-01-15T10:00:00Z",
            "isLive": true,
        }),
    )
    .await;
    assert_eq!(body["status"], "live");
    body["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap();
    SessionId::parse_field(body["id"].as_str().unwrap(), "id").unwrap()
}

/// Fires the joins (user `i % distinct_users` for each i, shuffled by a fixed stride so
/// repeats interleave with first joins), each once, without retrying. Returns the session's
/// count as the API reports it, the joins that did not answer 200, and the users with at least
/// one join that did.
async fn stampede(
    base: &str,
    session: SessionId,
    size: Size,
) -> (u64, Vec<String>, HashSet<usize>) {
    let client = client();
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..size.distinct_users)
            .map(|u| token(&format!("student-{u}"), false))
            .collect(),
    );
    let total = size.total();
    let stride = coprime_stride(total);
    let permits = Arc::new(Semaphore::new(size.in_flight));
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        let i = (n * stride) % total;
        let user = i % size.distinct_users;
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (client, tokens) = (client.clone(), tokens.clone());
        let url = format!("{base}/api/live-sessions/join");
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let reply = client
                .post(&url)
                .bearer_auth(&tokens[user])
                .json(&json!({ "sessionId": session.to_string() }))
                .send()
                .await
                .expect("the server answers");
            let status = reply.status().as_u16();
            if status != 200 {
                let retry_after = reply.headers().contains_key("retry-after");
                let body = reply.text().await.unwrap_or_default();
                return Err(format!(
                    "join of student-{user} answered {status} (Retry-After: {retry_after}): {body}"
                ));
            }
            let body: Value = reply.json().await.unwrap();
            assert_eq!(body["participant"]["userId"], format!("student-{user}"));
            Ok(user)
        }));
    }
    let mut failures = Vec::new();
    let mut joined = HashSet::new();
    for task in tasks {
        match task.await.expect("a join task panicked") {
            Ok(user) => {
                joined.insert(user);
            }
            Err(failure) => failures.push(failure),
        }
    }
    let session = common::get_json(&client, &format!("{base}/api/live-sessions/{session}")).await;
    (session["participants"].as_u64().unwrap(), failures, joined)
}

/// A stride near 0.79 × `total` that shares no factor with it: `n * stride % total` is then
/// a permutation of 0..total that spreads the repeats (7919 for 10 000).
fn coprime_stride(total: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    if total == 10_000 {
        return 7919;
    }
    let mut stride = (total * 79 / 100).max(1);
    while gcd(stride, total) != 1 {
        stride += 1;
    }
    stride
}

/// The distinct participant records of `session`, read back through the store.
async fn records(store: &dyn Store, session: SessionId) -> (u64, usize) {
    let page = store
        .attendance(&AttendanceQuery {
            session_id: session,
            sort: AttendanceSort::default(),
            order: SortOrder::default(),
            offset: 0,
            limit: AttendanceQuery::MAX_LIMIT,
            now: chrono::Utc::now(),
            timeout: livesessions::DEFAULT_PRESENCE_TIMEOUT,
        })
        .await
        .unwrap();
    let distinct: HashSet<_> = page
        .rows
        .iter()
        .map(|r| r.participant.user_id.clone())
        .collect();
    assert_eq!(
        distinct.len(),
        page.rows.len(),
        "duplicate participant rows"
    );
    (page.total, distinct.len())
}

/// The stores' cases run one after another: three stampedes at once on two cores would measure
/// the machine, not the store (each case alone answers every join at the first attempt).
static ONE_STORE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run_on(name: &str, store: Arc<dyn Store>, size: Size) -> u64 {
    let _alone = ONE_STORE_AT_A_TIME.lock().await;
    let (base, server) = serve(store.clone()).await;
    let session = create_live_session(&client(), &base).await;
    let started = Instant::now();
    let (participants, failures, joined) = stampede(&base, session, size).await;
    let took = started.elapsed();
    server.abort();
    let (total, distinct) = records(store.as_ref(), session).await;
    println!(
        "{name}: {} joins ({} users, {} repeats, {} in flight) in {took:.1?}, {} did not answer \
         200; participants = {participants}, records = {distinct}, users with a successful \
         join = {}",
        size.total(),
        size.distinct_users,
        size.repeats,
        size.in_flight,
        failures.len(),
        joined.len(),
    );
    // Nothing lost, nothing counted twice, also when some joins failed.
    assert_eq!(
        participants, distinct as u64,
        "{name}: count against records"
    );
    assert_eq!(
        distinct,
        joined.len(),
        "{name}: records against successful joins"
    );
    assert_eq!(
        total, distinct as u64,
        "{name}: total of the attendance list"
    );
    // And no join failed: the client never retries.
    assert!(
        failures.is_empty(),
        "{name}: {} of {} joins did not answer 200 at the first attempt, e.g. {}",
        failures.len(),
        size.total(),
        failures[0]
    );
    assert_eq!(participants, size.distinct_users as u64, "{name}: count");
    participants
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_counts_every_distinct_joiner_once() {
    run_on("memory", Arc::new(MemoryStore::new()), FULL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_counts_every_distinct_joiner_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("exact.db"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let pool = store.pool().clone();
    let store = Arc::new(store);
    run_on("sqlite", store.clone(), FULL).await;
    let (rows, users): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT user_id) FROM session_participants")
            .fetch_one(&pool)
            .await
            .unwrap();
    let n = FULL.distinct_users as i64;
    assert_eq!((rows, users), (n, n));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(livesessions_test_postgres),
    ignore = "set LIVESESSIONS_TEST_POSTGRES_URL when building to run it on PostgreSQL"
)]
async fn postgres_counts_every_distinct_joiner_once() {
    let url = std::env::var("LIVESESSIONS_TEST_POSTGRES_URL")
        .expect("LIVESESSIONS_TEST_POSTGRES_URL is set (required in CI)");
    let schema = format!("ls_exact_{}", uuid::Uuid::new_v4().simple());
    let store = PostgresStore::connect(&url)
        .await
        .unwrap()
        .with_schema(&schema)
        .unwrap();
    store.migrate().await.unwrap();
    let pool = store.pool().clone();
    let store = Arc::new(store);
    let result = tokio::spawn({
        let store = store.clone();
        async move { run_on("postgres", store, FULL).await }
    })
    .await;
    let counted: Result<(i64, i64, i64), _> = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM \"{schema}\".session_participants), \
                (SELECT count(DISTINCT user_id) FROM \"{schema}\".session_participants), \
                (SELECT coalesce(sum(count), 0)::bigint FROM \"{schema}\".session_participant_counts)"
    ))
    .fetch_one(&pool)
    .await;
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
    let n = FULL.distinct_users as i64;
    assert_eq!(counted.unwrap(), (n, n, n));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI when building to run it on MongoDB"
)]
async fn mongodb_counts_every_distinct_joiner_once() {
    let uri = std::env::var("LIVESESSIONS_TEST_MONGODB_URI")
        .expect("LIVESESSIONS_TEST_MONGODB_URI is set (required in CI)");
    let client = livesessions_mongo::mongodb::Client::with_uri_str(&uri)
        .await
        .unwrap_or_else(|e| panic!("LIVESESSIONS_TEST_MONGODB_URI={uri}: {e}"));
    let name = format!("ls_exact_{}", uuid::Uuid::new_v4().simple());
    let database = client.database(&name);
    let store = MongoStore::new(database.clone());
    store.ensure_indexes().await.unwrap();
    let transactions = store.supports_transactions().await.unwrap();
    let size = Size::scaled();
    let store = Arc::new(store);
    let result = tokio::spawn({
        let store = store.clone();
        let name = format!("mongodb (transactions: {transactions})");
        async move { run_on(&name, store, size).await }
    })
    .await;
    let counted = async {
        let participants = database.collection::<livesessions_mongo::mongodb::bson::Document>(
            livesessions_mongo::documents::PARTICIPANTS,
        );
        let rows = participants.count_documents(doc! {}).await?;
        let users = participants.distinct("userId", doc! {}).await?.len() as u64;
        let sessions = database
            .collection::<livesessions_mongo::mongodb::bson::Document>(
                livesessions_mongo::documents::SESSIONS,
            )
            .find_one(doc! {})
            .await?
            .expect("the session");
        let number = |d: &livesessions_mongo::mongodb::bson::Document, key: &str| {
            d.get(key)
                .and_then(|count| count.as_i64().or(count.as_i32().map(i64::from)))
        };
        // The stored count: the session document's counter plus its count shards.
        let mut stored = number(&sessions, "participants").unwrap_or(-1);
        let mut shards = database
            .collection::<livesessions_mongo::mongodb::bson::Document>(
                livesessions_mongo::documents::PARTICIPANT_COUNTS,
            )
            .find(doc! {})
            .await?;
        while shards.advance().await? {
            stored += number(&shards.deserialize_current()?, "count").unwrap_or(0);
        }
        Ok::<_, livesessions_mongo::mongodb::error::Error>((rows, users, stored))
    }
    .await;
    if let Err(e) = database.drop().await {
        eprintln!("could not drop the test database {name}: {e}");
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
    let n = size.distinct_users as u64;
    assert_eq!(counted.unwrap(), (n, n, n as i64));
}
