//! Join throughput on PostgreSQL: through the library (the service on `PostgresStore`) or
//! through HTTP (the router served in this process), with many concurrent joiners, each join a
//! new user. Used by `scripts/perf-ratios.sh`, which sets the same figure beside `pgbench`.
//!
//! ```sh
//! cargo run --release --example perf_join -- --mode library --sessions 1 --clients 64 --seconds 10
//! cargo run --release --example perf_join -- --mode http --sessions 1000 --clients 64
//! ```
//!
//! Every run starts from a fresh schema (`--schema`, dropped and migrated again).
//!
//! `--event-log` prices the event log: `append` (default) runs the store as it is (every first
//! join appends a `participants` event in its statement; nothing reads the log), `skip` adds a
//! `BEFORE INSERT` trigger that drops every row inserted into the schema's `events` table (the
//! statement is unchanged, the insert writes nothing: the join without the append, plus the
//! cost of calling a trivial trigger), and `feed` appends and also runs an `EventFeed` tailing
//! the log, as each example-server instance does (its numbering step every second).
//! `scripts/perf-eventlog.sh` runs them side by side.
//!
//! `--capacity N` gives every session a capacity of N seats (every first join then takes a
//! seat, on PostgreSQL from its count shard's seats); `scripts/perf-capacity.sh` runs it beside
//! the same run without a capacity.

#[path = "perf_common/mod.rs"]
mod perf_common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use livesessions::events::{EventFeed, EventFeedSettings};
use livesessions::{Actor, BroadcastEvents, JoinInput, LiveSessions, NewSession, UserId};
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlx::postgres::PgPoolOptions;
use perf_common::{Conn, Percentiles};

/// Measures joins per second.
#[derive(Debug, Parser)]
struct Args {
    /// `library` (service calls) or `http` (requests to the in-process server).
    #[arg(long, default_value = "library")]
    mode: String,
    /// How many live sessions the joins are spread over (1 = every joiner on one session).
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Concurrent joiners (and pool connections).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Pool size (default: the number of clients).
    #[arg(long)]
    pool: Option<u32>,
    /// Seconds to measure.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[command(flatten)]
    postgres: perf_common::Postgres,
    /// Schema to (re)create for the run.
    #[arg(long, default_value = "ls_perf_join")]
    schema: String,
    /// `append` (the store as it is), `skip` (a trigger drops the event rows) or `feed`
    /// (append, and an `EventFeed` tails the log).
    #[arg(long, default_value = "append", value_parser = ["append", "skip", "feed"])]
    event_log: String,
    /// Give every session this capacity (1–1000000): first joins then take a seat, checked
    /// against it inside the join. Absent: no limit.
    #[arg(long)]
    capacity: Option<u32>,
}

fn session_input(i: usize, capacity: Option<u32>) -> NewSession {
    let mut new = NewSession {
        is_live: true,
        ..NewSession::new(
            format!("Class {i}"),
            "Bench",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "2025-01-15T10:00:00Z",
        )
    };
    new.fields.capacity = capacity.map(|c| c.to_string());
    new
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let pool = PgPoolOptions::new()
        .max_connections(args.pool.unwrap_or(args.clients as u32))
        .acquire_timeout(Duration::from_secs(30))
        .connect(&args.postgres.url)
        .await
        .expect("PostgreSQL is reachable");
    livesessions_sql::sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", args.schema))
        .execute(&pool)
        .await
        .expect("drop the schema");
    let store = PostgresStore::from_pool(pool)
        .with_schema(&args.schema)
        .expect("a valid schema name");
    store.migrate().await.expect("migrations");
    let store = Arc::new(store);
    let events = Arc::new(BroadcastEvents::default());
    let service = LiveSessions::builder(store.clone())
        .events(events.clone())
        .build();
    let admin = Actor::admin(UserId::parse("admin").expect("a user id"));
    let mut ids = Vec::with_capacity(args.sessions);
    for i in 0..args.sessions {
        let session = service
            .create(Some(&admin), session_input(i, args.capacity), None)
            .await
            .expect("create a session");
        ids.push(session.id.to_string());
    }
    let ids = Arc::new(ids);
    match args.event_log.as_str() {
        "skip" => {
            let schema = &args.schema;
            for statement in [
                format!(
                    "CREATE FUNCTION {schema}.perf_skip_event() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
                ),
                format!(
                    "CREATE TRIGGER perf_skip_event BEFORE INSERT ON {schema}.events \
                     FOR EACH ROW EXECUTE FUNCTION {schema}.perf_skip_event()"
                ),
            ] {
                livesessions_sql::sqlx::query(&statement)
                    .execute(store.pool())
                    .await
                    .expect("the trigger that drops events");
            }
        }
        "feed" => {
            let feed = EventFeed::new(store.clone(), store.clone(), EventFeedSettings::default());
            tokio::spawn(async move { feed.run(std::future::pending::<()>()).await });
        }
        _ => {}
    }
    let addr = if args.mode == "http" {
        Some(perf_common::serve(service.clone(), events).await)
    } else {
        None
    };

    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (service, ids, next, errors) =
            (service.clone(), ids.clone(), next.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut conn = match addr {
                Some(addr) => Some(Conn::connect(addr).await.expect("connect")),
                None => None,
            };
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let session = &ids[n as usize % ids.len()];
                let user = format!("u{n}");
                let t = Instant::now();
                let ok = match &mut conn {
                    Some(conn) => {
                        // A real client signs once; the token is made outside the timing.
                        let token = perf_common::token(&user, false);
                        let body = format!(r#"{{"sessionId":"{session}"}}"#);
                        let t = Instant::now();
                        let ok = conn
                            .request("POST", "/api/live-sessions/join", Some(&token), Some(&body))
                            .await
                            .map(|r| r.status == 200)
                            .unwrap_or(false);
                        latencies.push(t.elapsed());
                        ok
                    }
                    None => {
                        let actor = Actor::user(UserId::parse(&user).expect("a user id"))
                            .with_name("Student")
                            .with_email("s@example.com");
                        let ok = service
                            .join(
                                Some(&actor),
                                JoinInput {
                                    session_id: session.clone(),
                                    ..Default::default()
                                },
                            )
                            .await
                            .is_ok();
                        latencies.push(t.elapsed());
                        ok
                    }
                };
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a client task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let errors = errors.load(Ordering::Relaxed);
    let done = latencies.len() as u64 - errors;
    println!(
        "perf_join mode={} sessions={} clients={} event_log={} joins={} errors={} seconds={:.1}",
        args.mode, args.sessions, args.clients, args.event_log, done, errors, elapsed
    );
    println!("latency {}", Percentiles::of(&mut latencies));
    println!("joins/s {:.0}", done as f64 / elapsed);
}
