//! Benchmarks at scale on PostgreSQL, against schemas filled by the `seed` example: list pages,
//! the report of a 10 000-participant session, one user's participation, the cost of a join
//! with 1 000 vs 1 000 000 existing records, and ending a session with 10 000 present
//! participants. Each figure is the latency of one call through the service, repeated.
//!
//! ```sh
//! cargo run --release --example seed
//! cargo run --release --example seed -- --schema ls_bench_small --sessions 10100 --participants 1000 --big 0
//! cargo run --release --example perf_scale
//! ```

#[path = "perf_common/mod.rs"]
mod perf_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use livesessions::{
    Actor, AttendanceStore, JoinInput, ListQuery, LiveSessions, Presence, SessionId, SessionStore,
    UserId,
};
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlx::{self, postgres::PgPoolOptions, Executor, PgPool};
use perf_common::Percentiles;

/// Runs the benchmarks at scale.
#[derive(Debug, Parser)]
struct Args {
    /// The big schema (100 000 sessions, 1 000 000 records).
    #[arg(long, default_value = "ls_bench")]
    schema: String,
    /// The small schema (1 000 records).
    #[arg(long, default_value = "ls_bench_small")]
    small_schema: String,
    /// Calls per read benchmark.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Joins per schema in the join-cost benchmark.
    #[arg(long, default_value_t = 300)]
    joins: usize,
    /// Runs of the end benchmark.
    #[arg(long, default_value_t = 5)]
    ends: usize,
    /// Only these benchmarks (comma separated: list,report,participation,join,end).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[command(flatten)]
    postgres: perf_common::Postgres,
}

fn session(g: u32) -> SessionId {
    SessionId::parse_field(&format!("00000000-0000-7000-8000-{g:012x}"), "id")
        .expect("a session id")
}

async fn time<F, Fut, T>(name: &str, n: usize, mut f: F) -> Percentiles
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = livesessions::Result<T>>,
{
    // Warm the statement cache and the buffers first.
    for i in 0..3 {
        f(i).await.expect(name);
    }
    let mut sample = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await.expect(name);
        sample.push(t.elapsed());
    }
    let p = Percentiles::of(&mut sample);
    println!("{name:<44} {p}");
    p
}

fn service(pool: &PgPool, schema: &str) -> (LiveSessions, Arc<PostgresStore>) {
    let store = Arc::new(
        PostgresStore::from_pool(pool.clone())
            .with_schema(schema)
            .expect("a valid schema"),
    );
    (LiveSessions::builder(store.clone()).build(), store)
}

/// Puts session 3 back to live with `n` present participants.
async fn reseed_end_session(pool: &PgPool, s: &str, n: u32) {
    let id = "'00000000-0000-7000-8000-000000000003'";
    let statements = [
        format!("DELETE FROM {s}.session_participants WHERE session_id = {id}"),
        format!("DELETE FROM {s}.session_participant_counts WHERE session_id = {id}"),
        format!(
            "UPDATE {s}.live_sessions SET status = 'live', ended_at = NULL, \
             started_at = date_trunc('second', now()) - interval '1 hour', \
             live_since = date_trunc('second', now()) - interval '1 hour', live_seconds = 0, \
             list_rank = 0, list_time_key = (date_part('epoch', start_time) * 1000000)::bigint, \
             version = version + 1 WHERE id = {id}"
        ),
        format!(
            "INSERT INTO {s}.session_participants (session_id, user_id, user_name, email, \
                first_joined_at, last_joined_at, last_seen, present_since, created_at)
             SELECT {id}, 'end-' || k, 'Student ' || k, 'end' || k || '@example.com', t, t, now(), t, t
             FROM generate_series(1, {n}) k,
             LATERAL (SELECT date_trunc('second', now()) - interval '1 hour' AS t) v"
        ),
        format!(
            "INSERT INTO {s}.session_participant_counts (session_id, shard, count) VALUES ({id}, 0, {n})"
        ),
    ];
    for statement in &statements {
        pool.execute(statement.as_str())
            .await
            .expect("reseed session 3");
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&args.postgres.url)
        .await
        .expect("PostgreSQL is reachable");
    let (svc, store) = service(&pool, &args.schema);
    let admin = Actor::admin(UserId::parse("admin").expect("a user id"));
    let n = args.iterations;

    if wanted("list") {
        let default = ListQuery::parse(None, None, None, None).expect("a query");
        // The page's watching counts (asked for all live sessions at once) equal the counts
        // asked one session at a time.
        let page = svc.list(None, &default).await.expect("a page");
        for view in &page.items {
            let one = if view.session.is_live() {
                store
                    .watching(
                        view.session.id,
                        Presence::new(svc.now(), svc.settings().presence_timeout),
                    )
                    .await
                    .expect("watching")
            } else {
                0
            };
            assert_eq!(view.watching, one, "watching of {}", view.session.id);
        }
        time("list page, default (service)", n, |_| {
            svc.list(None, &default)
        })
        .await;
        time("list page, default (store only)", n, |_| {
            store.list_sessions(&default)
        })
        .await;
        let ended = ListQuery::parse(Some("ended"), None, None, None).expect("a query");
        time("list page, status=ended", n, |_| svc.list(None, &ended)).await;
        let scheduled = ListQuery::parse(Some("scheduled"), None, None, None).expect("a query");
        time("list page, status=scheduled", n, |_| {
            svc.list(None, &scheduled)
        })
        .await;
        let search = ListQuery::parse(None, Some("chemistry"), None, None).expect("a query");
        time("list page, search=chemistry", n, |_| {
            svc.list(None, &search)
        })
        .await;
        let rare = ListQuery::parse(None, Some("class 99999"), None, None).expect("a query");
        time(
            "list page, search=\"class 99999\" (1 hit)",
            n.min(50),
            |_| svc.list(None, &rare),
        )
        .await;
        let none = ListQuery::parse(None, Some("no such session"), None, None).expect("a query");
        time(
            "list page, search=\"no such session\" (0 hits)",
            n.min(50),
            |_| svc.list(None, &none),
        )
        .await;
        let some = ListQuery::parse(None, Some("Instructor 42"), None, None).expect("a query");
        time("list page, search=\"Instructor 42\" (1 in 45)", n, |_| {
            svc.list(None, &some)
        })
        .await;
        let page = store.list_sessions(&ended).await.expect("a page");
        let second = ListQuery {
            after: page.next,
            ..ended.clone()
        };
        time("list page 2, status=ended", n, |_| svc.list(None, &second)).await;
    }
    if wanted("report") {
        time("report, 10 000-participant session", n, |_| {
            svc.report(Some(&admin), session(1), None)
        })
        .await;
    }
    if wanted("participation") {
        let user = UserId::parse("user-42").expect("a user id");
        time("participation of user-42", n, |_| {
            svc.participation(Some(&admin), &user, 100)
        })
        .await;
    }
    if wanted("join") {
        let (small, _) = service(&pool, &args.small_schema);
        let run = format!("{}", std::process::id());
        let existing = |schema: &str| {
            let pool = pool.clone();
            let q = format!("SELECT count(*) FROM {schema}.session_participants");
            async move {
                let (c,): (i64,) = sqlx::query_as(&q).fetch_one(&pool).await.expect("count");
                c
            }
        };
        println!(
            "join cost: {} has {} records, {} has {} records",
            args.small_schema,
            existing(&args.small_schema).await,
            args.schema,
            existing(&args.schema).await
        );
        for schema in [&args.small_schema, &args.schema] {
            for table in ["session_participants", "session_participant_counts"] {
                pool.execute(
                    format!(
                        "DELETE FROM {schema}.{table} \
                         WHERE session_id = '00000000-0000-7000-8000-000000000002'"
                    )
                    .as_str(),
                )
                .await
                .expect("empty session 2");
            }
        }
        // Interleaved, so that both see the same machine load.
        let mut big_sample = Vec::new();
        let mut small_sample = Vec::new();
        let join = |svc: &LiveSessions, user: String| {
            let svc = svc.clone();
            async move {
                let actor = Actor::user(UserId::parse(&user).expect("a user id"))
                    .with_name("Student")
                    .with_email("s@example.com");
                svc.join(
                    Some(&actor),
                    JoinInput {
                        session_id: session(2).to_string(),
                        ..Default::default()
                    },
                )
                .await
                .expect("a join");
            }
        };
        for i in 0..args.joins + 3 {
            for (which, svc) in [(0, &small), (1, &svc)] {
                let t = Instant::now();
                join(svc, format!("j{run}-{i}")).await;
                if i >= 3 {
                    if which == 0 {
                        small_sample.push(t.elapsed());
                    } else {
                        big_sample.push(t.elapsed());
                    }
                }
            }
        }
        let small_p = Percentiles::of(&mut small_sample);
        let big_p = Percentiles::of(&mut big_sample);
        println!("{:<44} {small_p}", "join, 1 000 existing records");
        println!("{:<44} {big_p}", "join, 1 000 000 existing records");
        println!(
            "join cost ratio (p50) 1M/1k: {:.2}",
            big_p.p50.as_secs_f64() / small_p.p50.as_secs_f64()
        );
    }
    if wanted("end") {
        let mut sample = Vec::new();
        for _ in 0..args.ends {
            reseed_end_session(&pool, &args.schema, 10_000).await;
            let t = Instant::now();
            svc.end(Some(&admin), session(3)).await.expect("end");
            sample.push(t.elapsed());
            let (present, credited): (i64, i64) = sqlx::query_as(&format!(
                "SELECT count(*) FILTER (WHERE present_since IS NOT NULL), \
                        count(*) FILTER (WHERE watch_seconds >= 3600) \
                 FROM {}.session_participants \
                 WHERE session_id = '00000000-0000-7000-8000-000000000003'",
                args.schema
            ))
            .fetch_one(&pool)
            .await
            .expect("check");
            assert_eq!((present, credited), (0, 10_000), "end credited everyone");
        }
        println!(
            "{:<44} {}",
            "end, 10 000 present participants",
            Percentiles::of(&mut sample)
        );
    }
}
