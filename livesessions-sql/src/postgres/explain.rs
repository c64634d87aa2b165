//! `EXPLAIN` of the list and report statements on a populated database: the plans must use the
//! indexes. The planner runs with its normal settings (no `enable_seqscan = off`) on tables
//! big enough (20 000 sessions, 105 000 participants, analyzed) that an index is the cheaper
//! plan, so these tests check that the statements are shaped so that the indexes serve them.
//! Run with `--nocapture` to see the plans.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use livesessions_core::webhooks::WebhookStore as _;
use livesessions_core::{AttendanceSort, SessionStatus, SortOrder};
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions};
use sqlx::query::Query;
use sqlx::{Postgres, Row as _};
use uuid::Uuid;

use super::{quote_ident, PostgresStore};
use crate::search::Search;

/// A store migrated into a fresh schema, with nothing in it.
pub(super) async fn migrated() -> (PostgresStore, PgPool) {
    let var = "LIVESESSIONS_TEST_POSTGRES_URL";
    let url = std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: the Postgres tests need a server, e.g. \
             {var}=postgres://postgres@127.0.0.1:5432/test (.ci/run sets it)"
        )
    });
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&url)
        .await
        .expect("connect to the test server");
    let schema = format!("ls_test_{}", Uuid::new_v4().simple());
    let store = PostgresStore::from_pool(pool.clone())
        .with_schema(&schema)
        .unwrap();
    store.migrate().await.expect("migrate");
    (store, pool)
}

async fn populated() -> (PostgresStore, PgPool) {
    let (store, pool) = migrated().await;
    let s = quote_ident(store.schema());
    let rows = [
        // 20 000 sessions spread over the four statuses; list key columns as ListKey computes.
        format!(
            "INSERT INTO {s}.live_sessions (id, title, description, instructor, video_url, \
                start_time, status, created_at, updated_at, version, list_rank, list_time_key) \
             SELECT gen_random_uuid(), 'Session ' || i, 'About topic ' || i, 'Teacher ' || (i % 50), \
                'https://youtu.be/x', start_at, st, now(), now(), 1, rk, \
                CASE WHEN rk >= 2 THEN -1 ELSE 1 END \
                  * (EXTRACT(EPOCH FROM start_at) * 1000000)::bigint \
             FROM (SELECT i, timestamptz '2025-01-01' + i * interval '1 hour' AS start_at, \
                          (ARRAY['live','scheduled','ended','cancelled'])[1 + (i % 4)] AS st, \
                          (i % 4)::smallint AS rk \
                   FROM generate_series(1, 20000) i) g"
        ),
        // 100 participants in each of 1000 sessions, and 5000 in one big session.
        format!(
            "INSERT INTO {s}.session_participants (session_id, user_id, user_name, email, \
                first_joined_at, last_joined_at, last_seen, present_since, watch_seconds, created_at) \
             SELECT l.id, 'user' || u, 'User ' || u, 'u' || u || '@example.com', now(), now(), \
                now(), CASE WHEN u % 2 = 0 THEN now() END, u % 3600, now() \
             FROM (SELECT id FROM {s}.live_sessions ORDER BY id LIMIT 1000) l, \
                  generate_series(1, 100) u"
        ),
        format!(
            "INSERT INTO {s}.session_participants (session_id, user_id, user_name, email, \
                first_joined_at, last_joined_at, last_seen, present_since, watch_seconds, created_at) \
             SELECT l.id, 'big' || u, 'Big ' || u, 'b' || u || '@example.com', now(), now(), \
                now(), now(), u % 3600, now() \
             FROM (SELECT id FROM {s}.live_sessions ORDER BY id DESC LIMIT 1) l, \
                  generate_series(1, 5000) u"
        ),
        format!(
            "INSERT INTO {s}.session_participant_counts (session_id, shard, count) \
             SELECT session_id, (hashtext(user_id) & 15)::smallint, count(*) \
             FROM {s}.session_participants GROUP BY 1, 2"
        ),
        format!("ANALYZE {s}.live_sessions"),
        format!("ANALYZE {s}.session_participants"),
        format!("ANALYZE {s}.session_participant_counts"),
    ];
    for sql in rows {
        sqlx::query(&sql).execute(&pool).await.expect("populate");
    }
    (store, pool)
}

async fn big_session(store: &PostgresStore) -> Uuid {
    sqlx::query_scalar(&format!(
        "SELECT session_id FROM {}.session_participants WHERE user_id = 'big1'",
        quote_ident(store.schema())
    ))
    .fetch_one(store.pool())
    .await
    .unwrap()
}

/// Drops the store's schema and closes the pool.
pub(super) async fn cleanup(store: PostgresStore, pool: PgPool) {
    sqlx::query(&format!(
        "DROP SCHEMA {} CASCADE",
        quote_ident(store.schema())
    ))
    .execute(&pool)
    .await
    .expect("drop the test schema");
    pool.close().await;
}

async fn explain(
    pool: &PgPool,
    sql: &str,
    bind: impl FnOnce(Query<'_, Postgres, PgArguments>) -> Query<'_, Postgres, PgArguments>,
) -> String {
    let explain = format!("EXPLAIN {sql}");
    let rows = bind(sqlx::query(&explain))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("EXPLAIN failed: {e}\n{sql}"));
    let plan = rows
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n");
    println!(
        "---- {}\n{plan}\n",
        sql.split_whitespace()
            .take(12)
            .collect::<Vec<_>>()
            .join(" ")
    );
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_report_plans_use_the_indexes() {
    let (store, pool) = populated().await;
    let sql = &store.sql;

    // First page of everything.
    let plan = explain(&pool, sql.list.get(false, Search::None, false), |q| {
        q.bind(51i64)
    })
    .await;
    assert!(plan.contains("live_sessions_list_idx"), "{plan}");
    assert!(!plan.contains("Sort"), "the index gives the order: {plan}");

    // One status, after a cursor.
    let key = SessionStatus::Scheduled.rank();
    let plan = explain(&pool, sql.list.get(true, Search::None, true), |q| {
        q.bind(key)
            .bind(key)
            .bind(0i64)
            .bind(Uuid::nil())
            .bind(51i64)
    })
    .await;
    assert!(plan.contains("live_sessions_list_idx"), "{plan}");
    assert!(plan.contains("Index Cond"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");

    // Search: the index still gives the order; the pattern filters along it.
    let plan = explain(&pool, sql.list.get(false, Search::Scan, false), |q| {
        q.bind("%topic 1%").bind(51i64)
    })
    .await;
    assert!(plan.contains("live_sessions_list_idx"), "{plan}");

    // The participant count of each listed session comes from the count shards' key.
    assert!(plan.contains("session_participant_counts_pkey"), "{plan}");

    // The report of the 5000-participant session.
    let big = big_session(&store).await;
    let plan = explain(&pool, &sql.report, |q| {
        q.bind(big)
            .bind(Utc::now())
            .bind(Duration::from_secs(90))
            .bind(3600i64)
            .bind(75i64)
            .bind(None::<chrono::DateTime<Utc>>)
    })
    .await;
    assert!(plan.contains("live_sessions_pkey"), "{plan}");
    assert!(
        plan.contains("session_participants_pkey")
            || plan.contains("session_participants_join_idx"),
        "{plan}"
    );
    assert!(!plan.contains("Seq Scan"), "{plan}");

    // Attendance in join order and a user's participation.
    let plan = explain(
        &pool,
        sql.attendance.get(AttendanceSort::JoinTime, SortOrder::Asc),
        |q| {
            q.bind(big)
                .bind(0i64)
                .bind(100i64)
                .bind(Utc::now())
                .bind(Duration::from_secs(90))
        },
    )
    .await;
    assert!(plan.contains("session_participants_join_idx"), "{plan}");
    let plan = explain(&pool, &sql.participation_rows, |q| {
        q.bind("user7")
            .bind(50i64)
            .bind(Utc::now())
            .bind(Duration::from_secs(90))
    })
    .await;
    assert!(plan.contains("session_participants_user_idx"), "{plan}");

    cleanup(store, pool).await;
}

/// The webhook claim and the delivery listing on 3 endpoints with 150 000 deliveries, of
/// which 3 000 are pending: the claim finds the pending ones through the partial due index and
/// checks the order rule through the partial order index; the listing walks the
/// (endpoint, event) key backwards without sorting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_claim_and_listing_plans_use_the_indexes() {
    let (store, pool) = populated().await;
    let s = quote_ident(store.schema());
    let rows = [
        format!(
            "INSERT INTO {s}.webhook_endpoints (id, url, enabled, secret, created_at, updated_at) \
             SELECT gen_random_uuid(), 'https://93.184.216.34/' || i, true, 'whsec_x', now(), now() \
             FROM generate_series(1, 3) i"
        ),
        format!(
            "INSERT INTO {s}.webhook_deliveries (id, endpoint_id, event_id, event_kind, \
                session_id, event_at, state, attempts, next_attempt_at, created_at) \
             SELECT gen_random_uuid(), e.id, i, 'participants', \
                ('00000000-0000-0000-0000-' || lpad((i % 5000)::text, 12, '0'))::uuid, now(), \
                CASE WHEN i > 49000 THEN 'pending' ELSE 'delivered' END, 1, \
                now() + (i % 7) * interval '1 minute', now() \
             FROM {s}.webhook_endpoints e, generate_series(1, 50000) i"
        ),
        format!("ANALYZE {s}.webhook_endpoints"),
        format!("ANALYZE {s}.webhook_deliveries"),
    ];
    for sql in rows {
        sqlx::query(&sql).execute(&pool).await.expect("populate");
    }
    let endpoint: Uuid =
        sqlx::query_scalar(&format!("SELECT id FROM {s}.webhook_endpoints LIMIT 1"))
            .fetch_one(&pool)
            .await
            .unwrap();

    let plan = explain(&pool, &store.sql.claim, |q| {
        q.bind(Utc::now())
            .bind(32i64)
            .bind(Utc::now())
            .bind("explain")
    })
    .await;
    // The pending rows (3 000 of 150 000) are read through one of the partial indexes, never
    // by a scan of the table, and no anti join pairs pending rows with pending rows.
    assert!(
        plan.contains("webhook_deliveries_order_idx")
            || plan.contains("webhook_deliveries_due_idx"),
        "{plan}"
    );
    assert!(!plan.contains("Seq Scan on webhook_deliveries"), "{plan}");
    assert!(!plan.contains("Anti Join"), "{plan}");
    assert!(plan.contains("LockRows"), "{plan}");

    let plan = explain(&pool, &store.sql.webhooks.list_deliveries, |q| {
        q.bind(endpoint).bind(i64::MAX).bind(50i64)
    })
    .await;
    assert!(
        plan.contains("webhook_deliveries_endpoint_event_key"),
        "{plan}"
    );
    assert!(!plan.contains("Sort"), "the key gives the order: {plan}");

    cleanup(store, pool).await;
}

/// The scheduler's due query on 20 000 sessions, of which 200 scheduled ones start by
/// themselves and 200 live ones end by themselves: each half reads its partial index, and no
/// plan scans the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_due_query_uses_the_partial_indexes() {
    let (store, pool) = populated().await;
    let s = quote_ident(store.schema());
    let rows = [
        format!(
            "UPDATE {s}.live_sessions SET auto_start = true, \
                end_time = start_time + interval '2 hours' \
             WHERE status = 'scheduled' AND (EXTRACT(EPOCH FROM start_time)::bigint / 3600) % 25 = 1"
        ),
        format!(
            "UPDATE {s}.live_sessions SET auto_end = true, \
                end_time = start_time + interval '2 hours' \
             WHERE status = 'live' AND (EXTRACT(EPOCH FROM start_time)::bigint / 3600) % 25 = 0"
        ),
        format!("ANALYZE {s}.live_sessions"),
    ];
    for sql in rows {
        sqlx::query(&sql).execute(&pool).await.expect("populate");
    }
    let flagged: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {s}.live_sessions WHERE auto_start OR auto_end"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        (100..=1000).contains(&flagged),
        "{flagged} sessions flagged"
    );

    let now: chrono::DateTime<Utc> = "2025-06-01T00:00:00Z".parse().unwrap();
    let plan = explain(&pool, &store.sql.due_sessions, |q| q.bind(now).bind(100i64)).await;
    assert!(plan.contains("live_sessions_due_start_idx"), "{plan}");
    assert!(plan.contains("live_sessions_due_end_idx"), "{plan}");
    assert!(
        !plan.contains("Seq Scan"),
        "no scan of every session: {plan}"
    );
    cleanup(store, pool).await;
}

/// The scheduler's query for sessions nobody watches on 20 000 sessions, of which some live
/// ones have `end_when_empty_minutes`: the sessions come from the partial index, their
/// participants through an index on their session, and no plan scans a table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_empty_query_uses_the_partial_index_and_the_participant_key() {
    let (store, pool) = populated().await;
    let s = quote_ident(store.schema());
    let rows = [
        format!(
            "UPDATE {s}.live_sessions SET end_when_empty_minutes = 5, live_since = start_time \
             WHERE status = 'live' AND (EXTRACT(EPOCH FROM start_time)::bigint / 3600) % 5 = 0"
        ),
        format!("ANALYZE {s}.live_sessions"),
    ];
    for sql in rows {
        sqlx::query(&sql).execute(&pool).await.expect("populate");
    }
    let flagged: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {s}.live_sessions WHERE end_when_empty_minutes IS NOT NULL"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(flagged >= 1, "{flagged} sessions flagged");

    let now: chrono::DateTime<Utc> = "2025-06-01T00:00:00Z".parse().unwrap();
    let plan = explain(&pool, &store.sql.empty_sessions, |q| {
        q.bind(now).bind(Duration::from_secs(90)).bind(100i64)
    })
    .await;
    assert!(plan.contains("live_sessions_due_empty_idx"), "{plan}");
    assert!(
        plan.contains("Index Cond: (session_id = s.id)"),
        "participants read by session: {plan}"
    );
    assert!(!plan.contains("Seq Scan"), "no scan of a table: {plan}");
    assert!(
        !plan.contains("Hash"),
        "no join over every participant: {plan}"
    );
    cleanup(store, pool).await;
}

/// The rows an `EXPLAIN (ANALYZE, TIMING OFF)` plan's nodes produced and filtered out, over
/// all their loops: the work a statement did, independent of the machine's speed.
fn rows_handled(plan: &str) -> u64 {
    let number = |text: &str| -> u64 {
        text.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    };
    let mut loops = 1;
    let mut total = 0;
    for line in plan.lines() {
        if let Some(at) = line.find("(actual rows=") {
            let actual = &line[at + "(actual rows=".len()..];
            loops = actual
                .find("loops=")
                .map_or(1, |l| number(&actual[l + 6..]));
            total += number(actual) * loops;
        } else if let Some(at) = line.trim_start().strip_prefix("Rows Removed by ") {
            // Shown per loop, like the rows.
            total += at.find(": ").map_or(0, |c| number(&at[c + 2..])) * loops;
        }
    }
    total
}

/// Inserts a burst of pending deliveries, all due: two events of each of `sessions` sessions
/// for every endpoint, event ids from `first`.
async fn burst(pool: &PgPool, s: &str, sessions: i64, first: i64) {
    sqlx::query(&format!(
        "INSERT INTO {s}.webhook_deliveries (id, endpoint_id, event_id, event_kind, session_id, \
            event_at, state, next_attempt_at, created_at) \
         SELECT gen_random_uuid(), e.id, $2 + 2 * i + k, 'live', \
            ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, now(), 'pending', \
            now() - interval '1 second', now() \
         FROM {s}.webhook_endpoints e, generate_series(1, $1) i, generate_series(0, 1) k"
    ))
    .bind(sessions)
    .bind(first)
    .execute(pool)
    .await
    .expect("insert the burst");
}

/// The claim's work must not depend on what the planner believes about the deliveries table.
/// Two ways it can believe the table nearly empty while thousands of deliveries are pending,
/// both seen in the cluster benchmark (BENCHMARKS.md, "Sustained webhook delivery rate"): a
/// generic plan made while the table was empty (sqlx prepares each statement once per
/// connection, PostgreSQL switches such a statement to a generic plan after five executions and
/// keeps it until the table is analyzed), and statistics taken before a burst. Either way the
/// claim must stay linear in the pending deliveries: here at most 50 rows handled per pending
/// delivery (a quadratic plan handles millions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_claim_work_does_not_depend_on_statistics_or_plan_cache() {
    let (store, pool) = migrated().await;
    let s = quote_ident(store.schema());
    let s = s.as_str();
    let sessions = 500;
    let pending = 2 * 2 * sessions as u64;
    sqlx::query(&format!(
        "INSERT INTO {s}.webhook_endpoints (id, url, enabled, secret, created_at, updated_at) \
         SELECT gen_random_uuid(), 'https://93.184.216.34/' || i, true, \
            'whsec_' || encode(decode(md5(i::text) || md5(i::text), 'hex'), 'base64'), now(), now() \
         FROM generate_series(1, 2) i"
    ))
    .execute(&pool)
    .await
    .expect("insert the endpoints");

    // A generic plan, made on the empty table and kept.
    let mut conn = pool.acquire().await.expect("a connection");
    for sql in [
        format!("PREPARE claim AS {}", store.sql.claim),
        "SET plan_cache_mode = force_generic_plan".to_owned(),
        "EXECUTE claim(now(), 32, now() + interval '1 minute', 'explain')".to_owned(),
    ] {
        sqlx::raw_sql(&sql)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    burst(&pool, s, sessions, 1_000).await;
    let plan = sqlx::raw_sql(
        "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) \
         EXECUTE claim(now(), 32, now() + interval '1 minute', 'explain')",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("EXPLAIN EXECUTE")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect::<Vec<_>>()
    .join("\n");
    drop(conn);
    println!("---- generic plan made on the empty table\n{plan}\n");
    assert!(plan.contains("LockRows"), "{plan}");
    let handled = rows_handled(&plan);
    assert!(
        handled <= 50 * pending,
        "{handled} rows handled for {pending} pending deliveries: {plan}"
    );

    // Statistics of a table holding a few delivered rows, then the burst.
    for sql in [
        format!("DELETE FROM {s}.webhook_deliveries"),
        format!(
            "INSERT INTO {s}.webhook_deliveries (id, endpoint_id, event_id, event_kind, \
                session_id, event_at, state, next_attempt_at, created_at) \
             SELECT gen_random_uuid(), e.id, i, 'live', gen_random_uuid(), now(), 'delivered', \
                now(), now() \
             FROM {s}.webhook_endpoints e, generate_series(1, 60) i"
        ),
        format!("ANALYZE {s}.webhook_deliveries"),
    ] {
        sqlx::query(&sql).execute(&pool).await.expect("prepare");
    }
    burst(&pool, s, sessions, 1_000).await;
    let plan = explain(
        &pool,
        &format!("(ANALYZE, TIMING OFF, COSTS OFF) {}", store.sql.claim),
        |q| {
            q.bind(Utc::now())
                .bind(32i64)
                .bind(Utc::now() + chrono::Duration::minutes(1))
                .bind("explain")
        },
    )
    .await;
    assert!(plan.contains("LockRows"), "{plan}");
    let handled = rows_handled(&plan);
    assert!(
        handled <= 50 * pending,
        "{handled} rows handled for {pending} pending deliveries: {plan}"
    );

    // The claim above leased 32 of the 1 000 queue heads; an unbounded claim gets the other
    // heads and none of the deliveries behind them.
    let rest = store
        .claim_due(
            Utc::now(),
            usize::MAX,
            Utc::now() + chrono::Duration::minutes(1),
            "rest",
        )
        .await
        .expect("claim the rest");
    assert_eq!(rest.len(), 2 * sessions as usize - 32);
    assert!(rest.iter().all(|c| c.delivery.event.id.get() % 2 == 0));

    cleanup(store, pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_feed_plans_use_the_indexes() {
    let (store, pool) = populated().await;
    let sql = &store.sql.calendar;
    let now: chrono::DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let since = now - chrono::Duration::hours(24);

    // The public feed reads the partial index in its order: no sort, no scan of the table.
    let plan = explain(&pool, &sql.public_sessions, |q| {
        q.bind(since).bind(now).bind(500i64)
    })
    .await;
    assert!(plan.contains("live_sessions_calendar_idx"), "{plan}");
    assert!(!plan.contains("Sort"), "the index gives the order: {plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");

    // A user's feed starts from the user's participant records (a user with one record; one
    // with a thousand, 5 % of the table, is rightly read with a hash join).
    let plan = explain(&pool, &sql.user_sessions, |q| {
        q.bind(since).bind(now).bind(500i64).bind("big7")
    })
    .await;
    assert!(plan.contains("session_participants_user_idx"), "{plan}");
    assert!(plan.contains("live_sessions_pkey"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");

    cleanup(store, pool).await;
}

/// Search at scale: on 20 000 analyzed sessions, a rare term reads the `pg_trgm` index
/// (a bitmap of the few candidates, then sorted) and handles a few rows, while a term that
/// matches often still walks the list index and stops after the first page. The work is
/// counted in rows (`EXPLAIN ANALYZE`), not timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_plans_use_the_trigram_index_for_rare_terms() {
    let (store, pool) = populated().await;
    let list = store.sql.list.get(false, Search::Indexed, false);
    let analyze = |pattern: &'static str| {
        let pool = pool.clone();
        async move {
            let sql = format!("EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) {list}");
            let plan = sqlx::query(&sql)
                .bind(pattern)
                .bind(51i64)
                .persistent(false)
                .fetch_all(&pool)
                .await
                .unwrap_or_else(|e| panic!("EXPLAIN failed: {e}\n{sql}"))
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect::<Vec<_>>()
                .join("\n");
            println!("---- search {pattern}\n{plan}\n");
            plan
        }
    };

    // One session of 20 000 has "Session 12345" in its title.
    let plan = analyze("%session 12345%").await;
    assert!(plan.contains("live_sessions_search_trgm_idx"), "{plan}");
    assert!(!plan.contains("live_sessions_list_idx"), "{plan}");
    let rows = rows_handled(&plan);
    assert!(rows < 500, "{rows} rows handled for one match: {plan}");

    // No session at all: the same indexes answer with nothing to recheck.
    let plan = analyze("%nothing like this%").await;
    assert!(plan.contains("live_sessions_search_trgm_idx"), "{plan}");
    assert!(rows_handled(&plan) < 500, "{plan}");

    // One session in 50 (an instructor's name): the list walk fills a page within a few
    // thousand rows, sooner than fetching and sorting every match.
    let plan = analyze("%teacher 7%").await;
    assert!(plan.contains("live_sessions_list_idx"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");

    // Every session: the list index gives the first page in order, no sort.
    let plan = analyze("%session%").await;
    assert!(plan.contains("live_sessions_list_idx"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
    assert!(rows_handled(&plan) < 500, "{plan}");

    cleanup(store, pool).await;
}

/// Without the trigram index (a role that could not create `pg_trgm`), search runs the
/// per-column statement and lists what it lists with the index: the conformance suite's search
/// cases pass on it; `migrate` creates the index again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_trigram_index_search_is_unindexed_and_unchanged() {
    use livesessions_core::testing::cases;

    let (store, pool) = migrated().await;
    let s = quote_ident(store.schema());
    sqlx::query(&format!("DROP INDEX {s}.{}", super::search_index::INDEX))
        .execute(&pool)
        .await
        .expect("drop the index");
    // A store that did not migrate looks the index up at its first search.
    let unindexed = PostgresStore::from_pool(pool.clone())
        .with_schema(store.schema())
        .unwrap();
    cases::list_search_is_case_insensitive_and_literal(Arc::new(unindexed.clone())).await;
    cases::list_search_edges_match_substrings_of_one_field(Arc::new(unindexed.clone())).await;
    assert!(!unindexed
        .search_index
        .present(&pool, store.schema())
        .await
        .unwrap());
    let plan = explain(
        &pool,
        unindexed.sql.list.get(false, Search::Scan, false),
        |q| q.bind("%session 12345%").bind(51i64),
    )
    .await;
    assert!(!plan.contains("||"), "no joined-text condition: {plan}");

    store.migrate().await.expect("migrate again");
    let again = PostgresStore::from_pool(pool.clone())
        .with_schema(store.schema())
        .unwrap();
    assert!(again
        .search_index
        .present(&pool, store.schema())
        .await
        .unwrap());
    cleanup(store, pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_plans_use_the_series_index() {
    let (store, pool) = populated().await;
    let s = quote_ident(store.schema());
    // One series of 10 sessions, each with 100 participants; 19 990 sessions and 104 000
    // participants outside it.
    let series = Uuid::new_v4();
    sqlx::query(&format!(
        "UPDATE {s}.live_sessions SET series_id = $1, recurrence = 'FREQ=DAILY;COUNT=10' \
         WHERE id IN (SELECT id FROM {s}.live_sessions ORDER BY id LIMIT 10)"
    ))
    .bind(series)
    .execute(&pool)
    .await
    .expect("a series");
    sqlx::query(&format!("ANALYZE {s}.live_sessions"))
        .execute(&pool)
        .await
        .expect("analyze");
    let sql = &store.sql.series;

    // The occurrences, in start order, from the partial index alone.
    let plan = explain(&pool, &sql.occurrences, |q| q.bind(series)).await;
    assert!(plan.contains("live_sessions_series_idx"), "{plan}");
    assert!(!plan.contains("Seq Scan on live_sessions"), "{plan}");
    assert!(!plan.contains("Sort"), "the index gives the order: {plan}");

    // The counts and the students' GROUP BY find the series' sessions by the same index.
    let plan = explain(&pool, &sql.counts, |q| q.bind(series)).await;
    assert!(plan.contains("live_sessions_series_idx"), "{plan}");
    let plan = explain(&pool, &sql.students, |q| {
        q.bind(series).bind(75i64).bind(None::<&str>).bind(101i64)
    })
    .await;
    assert!(plan.contains("live_sessions_series_idx"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    // The participants come by session, from the series' sessions, not from a walk of the
    // whole table in user order.
    assert!(plan.contains("Index Cond: (session_id = o.id)"), "{plan}");
    cleanup(store, pool).await;
}

/// The roster view of the 5 000-participant session with a 6 000-member roster (4 000 of them
/// participants; 200 000 members in other sessions): the members and the participants come by the session's key of each table,
/// never from a scan of every participant or member; sorted by name, the page's members come
/// from the roster's name index; and a restricted join reads its roster entry by the roster's
/// key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_view_reads_the_sessions_members_and_participants_by_key() {
    let (store, pool) = populated().await;
    let s = quote_ident(store.schema());
    let big = big_session(&store).await;
    for sql in [
        format!(
            "INSERT INTO {s}.roster_members (session_id, user_id, user_name, email, added_at) \
             SELECT $1, 'big' || u, 'Big ' || u, 'b' || u || '@example.com', now() \
             FROM generate_series(1001, 7000) u"
        ),
        // A roster of 20 members in each of 10 000 other sessions.
        format!(
            "INSERT INTO {s}.roster_members (session_id, user_id, user_name, email, added_at) \
             SELECT l.id, 'user' || u, 'User ' || u, 'u' || u || '@example.com', now() \
             FROM (SELECT id FROM {s}.live_sessions WHERE id <> $1 ORDER BY id LIMIT 10000) l, \
                  generate_series(1, 20) u"
        ),
    ] {
        sqlx::query(&sql)
            .bind(big)
            .execute(&pool)
            .await
            .expect("a roster");
    }
    sqlx::query(&format!("ANALYZE {s}.roster_members"))
        .execute(&pool)
        .await
        .expect("analyze");
    let sql = &store.sql;
    for (sort, order) in [
        (livesessions_core::roster::RosterSort::Name, SortOrder::Asc),
        (
            livesessions_core::roster::RosterSort::JoinTime,
            SortOrder::Desc,
        ),
    ] {
        let plan = explain(&pool, sql.roster.view(sort, order), |q| {
            q.bind(big)
                .bind(Utc::now())
                .bind(Duration::from_secs(90))
                .bind(3600i64)
                .bind(75i64)
                .bind(None::<chrono::DateTime<Utc>>)
                .bind(None::<i64>)
                .bind(0i64)
                .bind(100i64)
        })
        .await;
        assert!(plan.contains("roster_members_pkey"), "{plan}");
        assert!(
            plan.contains("session_participants_pkey")
                || plan.contains("session_participants_join_idx"),
            "{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{plan}");
        if sort == livesessions_core::roster::RosterSort::Name {
            // The page's members come in name order from the name index, not from a sort of
            // the whole roster.
            assert!(plan.contains("roster_members_name_idx"), "{plan}");
        }
    }

    // The join's roster check: one entry by an index of the roster (its key or the user's).
    let plan = explain(&pool, &sql.join, |q| {
        q.bind(big)
            .bind("big42")
            .bind("Big 42")
            .bind("b42@example.com")
            .bind(Utc::now())
            .bind(Duration::from_secs(90))
            .bind(0i16)
            .bind(false)
            .bind(false)
    })
    .await;
    assert!(
        plan.contains("roster_members_pkey") || plan.contains("roster_members_user_idx"),
        "{plan}"
    );
    assert!(!plan.contains("Seq Scan"), "{plan}");
    cleanup(store, pool).await;
}

/// `EXPLAIN (ANALYZE)` of the join statement as `store` runs it for `user` joining `session`,
/// with "seats checked" `checked`: the plan with each node's actual rows, or `(never executed)`.
async fn explain_join(
    store: &PostgresStore,
    pool: &PgPool,
    session: livesessions_core::SessionId,
    user: &str,
    checked: bool,
) -> String {
    use crate::dialect::Dialect as _;
    let request = livesessions_core::JoinRequest {
        session_id: session,
        joiner: livesessions_core::Joiner {
            user_id: livesessions_core::UserId::parse(user).unwrap(),
            user_name: livesessions_core::UserName::parse(user).unwrap(),
            email: livesessions_core::Email::parse(&format!("{user}@example.com")).unwrap(),
        },
        presence: livesessions_core::Presence {
            at: Utc::now(),
            timeout: Duration::from_secs(90),
        },
        admin: false,
    };
    // Seats are checked on the locked path, by its own statement.
    let statement = if checked {
        &store.sql.join_locked
    } else {
        &store.sql.join
    };
    let explain = format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {statement}");
    let rows = crate::queries::Queries::<Postgres>::bind_joiner(sqlx::query(&explain), &request)
        .bind(Postgres::store_timeout(request.presence.timeout))
        .bind(0i16)
        .bind(checked)
        .bind(false)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("EXPLAIN ANALYZE failed: {e}"));
    let plan = rows
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n");
    println!("---- join of {user} (seats checked: {checked})\n{plan}\n");
    plan
}

/// Reserved seats cost sessions without a capacity nothing: the join of such a session (with a
/// roster) executes no plan node on `roster_members`, while the locked join of a capped session
/// reads it (whether the joiner holds a reserved seat, and the answer's reserved seats).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncapped_join_never_reads_the_roster() {
    use livesessions_core::roster::{RosterMember, RosterStore as _};
    use livesessions_core::{LiveSession, NewSession, SessionStore as _};
    let (store, pool) = migrated().await;
    let new = |title: &str, capacity: Option<&str>| {
        let mut input = NewSession::new(
            title,
            "Ferris",
            "https://youtu.be/abc",
            "2031-01-15T10:00:00Z",
        );
        input.fields.capacity = capacity.map(str::to_owned);
        LiveSession::new(input.validate().unwrap(), Utc::now())
    };
    let member = RosterMember {
        user_id: livesessions_core::UserId::parse("ada").unwrap(),
        user_name: livesessions_core::UserName::parse("Ada").unwrap(),
        email: livesessions_core::Email::parse("ada@example.com").unwrap(),
        registered: false,
        added_at: Utc::now(),
    };
    let (open, capped) = (new("Open", None), new("Capped", Some("5")));
    for session in [&open, &capped] {
        store.insert_session(session).await.unwrap();
        store
            .add_roster_members(session.id, std::slice::from_ref(&member))
            .await
            .unwrap();
    }

    let plan = explain_join(&store, &pool, open.id, "walk", false).await;
    let roster: Vec<&str> = plan
        .lines()
        .filter(|l| l.contains("roster_members"))
        .collect();
    assert!(
        !roster.is_empty(),
        "the statement has its roster reads: {plan}"
    );
    assert!(
        roster.iter().all(|l| l.contains("never executed")),
        "an uncapped join reads no roster: {plan}"
    );
    let plan = explain_join(&store, &pool, capped.id, "walk", true).await;
    assert!(
        plan.lines()
            .any(|l| l.contains("roster_members") && !l.contains("never executed")),
        "a capped first join reads the roster: {plan}"
    );
    cleanup(store, pool).await;
}
