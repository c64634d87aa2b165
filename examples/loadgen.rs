//! A load harness that drives the live-sessions server over HTTP with many connections and
//! reports throughput and latency percentiles.
//!
//! Scenario "class starts": an admin creates a live session; `--students` distinct students
//! join as fast as `--connections` connections allow, and one in five joins again; then every
//! student sends a heartbeat each 30 s of simulated time for `--rounds` rounds; then the session
//! ends. At the end the harness checks that nothing was lost: the session's participant count
//! equals the number of distinct students, and (in process, where the harness owns the clock)
//! that every student was credited exactly `rounds × 30` seconds of watch time.
//!
//! Scenario "reads": `--read-sessions` more sessions are created, then the connections spend
//! `--seconds` on a mix of list pages (default, status filter, search) and single sessions.
//!
//! ```sh
//! cargo run --release --example loadgen                              # in process, MemoryStore
//! cargo run --release --example loadgen -- --store postgres          # in process, PostgreSQL
//! # against a running server (real time: heartbeats every --interval seconds, count check only)
//! cargo run --release --example server -- --jwt-secret "$SECRET" &
//! cargo run --release --example loadgen -- --target http://127.0.0.1:3000 --jwt-secret "$SECRET"
//! ```
//!
//! In process, the server runs in this process on a [`ManualClock`] that the harness moves by
//! 30 s between heartbeat rounds, with the rate limits off; clients and server share the CPUs.

#[path = "perf_common/mod.rs"]
mod perf_common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use livesessions::{
    BroadcastEvents, Clock, LiveSessions, ManualClock, MemoryStore, Store, SystemClock,
};
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlx::postgres::PgPoolOptions;
use perf_common::{Conn, Percentiles};

/// Drives a live-sessions server.
#[derive(Debug, Parser)]
struct Args {
    /// A running server (`http://host:port`); without it the server runs in this process.
    #[arg(long)]
    target: Option<String>,
    /// The HS256 secret of the running server's tokens (with `--target`).
    #[arg(long, env = "LIVESESSIONS_JWT_SECRET")]
    jwt_secret: Option<String>,
    /// In process: `memory` or `postgres`.
    #[arg(long, default_value = "memory")]
    store: String,
    /// In process on PostgreSQL: the URL (a fresh schema `ls_loadgen` is used).
    #[arg(
        long,
        env = "LIVESESSIONS_TEST_POSTGRES_URL",
        default_value = perf_common::DEFAULT_POSTGRES_URL
    )]
    postgres_url: String,
    /// Distinct students.
    #[arg(long, default_value_t = 5000)]
    students: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 256)]
    connections: usize,
    /// Heartbeat rounds (30 s of simulated time each).
    #[arg(long, default_value_t = 4)]
    rounds: u32,
    /// With `--target`: real seconds between heartbeat rounds.
    #[arg(long, default_value_t = 1.0)]
    interval: f64,
    /// Sessions created for the read scenario.
    #[arg(long, default_value_t = 200)]
    read_sessions: usize,
    /// Seconds of the read scenario (0 skips it).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Where requests go and how tokens are made.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    secret: Arc<String>,
}

impl Target {
    fn token(&self, sub: &str, admin: bool) -> String {
        perf_common::token_signed_with(&self.secret, sub, admin)
    }
}

/// One request of a phase: method, path, token index, body.
struct Op {
    method: &'static str,
    path: String,
    token: usize,
    body: Option<String>,
    kind: usize,
}

/// Runs `ops` over `connections` connections; returns latencies per kind, failures and time.
async fn run_phase(
    target: &Target,
    tokens: Arc<Vec<String>>,
    ops: Vec<Op>,
    connections: usize,
    kinds: usize,
) -> (Vec<Vec<Duration>>, usize, Duration) {
    let ops = Arc::new(ops);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections.min(ops.len().max(1)) {
        let (ops, next, tokens, addr) = (ops.clone(), next.clone(), tokens.clone(), target.addr);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await.expect("connect");
            let mut latencies = vec![Vec::new(); kinds];
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(op) = ops.get(i) else { break };
                let t = Instant::now();
                let response = conn
                    .request(
                        op.method,
                        &op.path,
                        Some(&tokens[op.token]),
                        op.body.as_deref(),
                    )
                    .await;
                latencies[op.kind].push(t.elapsed());
                match response {
                    Ok(r) if r.status < 300 => {}
                    Ok(r) => {
                        failures += 1;
                        if failures <= 3 {
                            eprintln!(
                                "{} {} -> {} {}",
                                op.method,
                                op.path,
                                r.status,
                                String::from_utf8_lossy(&r.body)
                            );
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        eprintln!("{} {} -> {e}", op.method, op.path);
                        conn = Conn::connect(addr).await.expect("reconnect");
                    }
                }
            }
            (latencies, failures)
        }));
    }
    let mut all = vec![Vec::new(); kinds];
    let mut failures = 0;
    for task in tasks {
        let (latencies, f) = task.await.expect("a connection task");
        for (k, l) in latencies.into_iter().enumerate() {
            all[k].extend(l);
        }
        failures += f;
    }
    (all, failures, started.elapsed())
}

fn report(name: &str, latencies: &mut [Duration], elapsed: Duration) {
    println!(
        "{name:<22} {:>8.0} req/s  {}",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        Percentiles::of(latencies)
    );
}

fn new_session_body(title: &str, live: bool) -> String {
    serde_json::json!({
        "title": title,
        "instructor": "Load Harness",
        "videoUrl": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "startTime": "2025-01-15T10:00:00Z",
        "isLive": live,
    })
    .to_string()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut clock = None;
    let target = match &args.target {
        Some(url) => {
            let url = url::Url::parse(url)?;
            let addr = tokio::net::lookup_host((
                url.host_str().unwrap_or("127.0.0.1"),
                url.port_or_known_default().unwrap_or(80),
            ))
            .await?
            .next()
            .ok_or("the target does not resolve")?;
            let secret = args
                .jwt_secret
                .clone()
                .ok_or("--target needs --jwt-secret (the server's HS256 secret)")?;
            Target {
                addr,
                secret: Arc::new(secret),
            }
        }
        None => {
            let store: Arc<dyn Store> = match args.store.as_str() {
                "memory" => Arc::new(MemoryStore::new()),
                "postgres" => {
                    let pool = PgPoolOptions::new()
                        .max_connections(32)
                        .acquire_timeout(Duration::from_secs(30))
                        .connect(&args.postgres_url)
                        .await?;
                    livesessions_sql::sqlx::query("DROP SCHEMA IF EXISTS ls_loadgen CASCADE")
                        .execute(&pool)
                        .await?;
                    let store = PostgresStore::from_pool(pool).with_schema("ls_loadgen")?;
                    store.migrate().await?;
                    Arc::new(store)
                }
                other => {
                    return Err(format!("--store must be memory or postgres, not {other}").into())
                }
            };
            let manual = ManualClock::new(SystemClock.now());
            clock = Some(manual.clone());
            let events = Arc::new(BroadcastEvents::default());
            let service = LiveSessions::builder(store)
                .clock(Arc::new(manual))
                .events(events.clone())
                .build();
            Target {
                addr: perf_common::serve(service, events).await,
                secret: Arc::new(perf_common::SECRET.to_owned()),
            }
        }
    };
    println!(
        "loadgen: {} students, {} connections, {} heartbeat rounds, target {}",
        args.students,
        args.connections,
        args.rounds,
        match &args.target {
            Some(t) => t.clone(),
            None => format!("in process ({} store, manual clock)", args.store),
        }
    );

    // Tokens: index 0 is the admin, i + 1 the student i.
    let run = std::process::id();
    let mut tokens = vec![target.token(&format!("admin-{run}"), true)];
    tokens.extend((0..args.students).map(|i| target.token(&format!("s{run}-{i}"), false)));
    let tokens = Arc::new(tokens);
    let mut admin = Conn::connect(target.addr).await?;
    let created = admin
        .request(
            "POST",
            "/api/admin/live-sessions",
            Some(&tokens[0]),
            Some(&new_session_body("Class starts", true)),
        )
        .await?;
    if created.status != 201 && created.status != 200 {
        return Err(format!(
            "create: {} {}",
            created.status,
            String::from_utf8_lossy(&created.body)
        )
        .into());
    }
    let id = created.json()["id"]
        .as_str()
        .ok_or("no session id")?
        .to_owned();

    // Joins: everyone once, then one in five again.
    let join_body = format!(r#"{{"sessionId":"{id}"}}"#);
    let mut ops: Vec<Op> = (0..args.students)
        .map(|i| Op {
            method: "POST",
            path: "/api/live-sessions/join".into(),
            token: i + 1,
            body: Some(join_body.clone()),
            kind: 0,
        })
        .collect();
    ops.extend((0..args.students).step_by(5).map(|i| Op {
        method: "POST",
        path: "/api/live-sessions/join".into(),
        token: i + 1,
        body: Some(join_body.clone()),
        kind: 1,
    }));
    let (mut lat, join_failures, elapsed) =
        run_phase(&target, tokens.clone(), ops, args.connections, 2).await;
    println!(
        "joins: {} first + {} repeat in {:.2}s ({:.0} joins/s), {} failed",
        lat[0].len(),
        lat[1].len(),
        elapsed.as_secs_f64(),
        (lat[0].len() + lat[1].len()) as f64 / elapsed.as_secs_f64(),
        join_failures
    );
    report("  first join", &mut lat[0], elapsed);
    report("  repeat join", &mut lat[1], elapsed);

    // Heartbeats every 30 s of simulated time.
    let mut heartbeat_failures = 0;
    let mut heartbeats = Vec::new();
    let mut heartbeat_time = Duration::ZERO;
    for _ in 0..args.rounds {
        match &clock {
            Some(clock) => clock.advance_secs(30),
            None => tokio::time::sleep(Duration::from_secs_f64(args.interval)).await,
        }
        let ops = (0..args.students)
            .map(|i| Op {
                method: "POST",
                path: format!("/api/live-sessions/{id}/heartbeat"),
                token: i + 1,
                body: None,
                kind: 0,
            })
            .collect();
        let (mut lat, failures, elapsed) =
            run_phase(&target, tokens.clone(), ops, args.connections, 1).await;
        heartbeat_failures += failures;
        heartbeats.append(&mut lat[0]);
        heartbeat_time += elapsed;
    }
    println!(
        "heartbeats: {} in {:.2}s of requests, {} failed",
        heartbeats.len(),
        heartbeat_time.as_secs_f64(),
        heartbeat_failures
    );
    report("  heartbeat", &mut heartbeats, heartbeat_time);

    // End.
    let t = Instant::now();
    let ended = admin
        .request(
            "PUT",
            &format!("/api/admin/live-sessions/{id}"),
            Some(&tokens[0]),
            Some(r#"{"isLive":false}"#),
        )
        .await?;
    println!(
        "end: {} in {:.1}ms",
        ended.status,
        t.elapsed().as_secs_f64() * 1000.0
    );

    // Nothing lost.
    let analytics = admin
        .request(
            "GET",
            &format!("/api/admin/live-sessions/{id}/analytics"),
            Some(&tokens[0]),
            None,
        )
        .await?
        .json();
    let participants = analytics["participants"].as_u64().unwrap_or(0);
    let total = analytics["totalWatchSeconds"].as_i64().unwrap_or(-1);
    let max = analytics["maxWatchSeconds"].as_i64().unwrap_or(-1);
    let mut ok = ended.status == 200 && participants == args.students as u64;
    println!(
        "check: participants {participants} (expected {}) {}",
        args.students,
        if participants == args.students as u64 {
            "OK"
        } else {
            "LOST"
        }
    );
    if clock.is_some() {
        let each = i64::from(args.rounds) * 30;
        let expected = each * args.students as i64;
        let exact = total == expected && max == each;
        ok &= exact;
        println!(
            "check: watch time total {total}s, max {max}s (expected {expected}s, {each}s each) {}",
            if exact { "OK" } else { "WRONG" }
        );
    }

    // Read-heavy scenario.
    if args.seconds > 0 {
        let ops = (0..args.read_sessions)
            .map(|i| Op {
                method: "POST",
                path: "/api/admin/live-sessions".into(),
                token: 0,
                body: Some(new_session_body(
                    &format!(
                        "{} class {i}",
                        ["Algebra", "Biology", "Chemistry", "History"][i % 4]
                    ),
                    i % 10 == 0,
                )),
                kind: 0,
            })
            .collect();
        run_phase(&target, tokens.clone(), ops, 8, 1).await;
        let paths = [
            "/api/live-sessions".to_owned(),
            "/api/live-sessions?status=scheduled".to_owned(),
            "/api/live-sessions?search=chemistry".to_owned(),
            format!("/api/live-sessions/{id}"),
        ];
        let names = [
            "list default",
            "list status filter",
            "list search",
            "one session",
        ];
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..args.connections {
            let (paths, token, addr) = (
                paths.clone(),
                tokens[1 + c % args.students.max(1)].clone(),
                target.addr,
            );
            tasks.push(tokio::spawn(async move {
                let mut conn = Conn::connect(addr).await.expect("connect");
                let mut lat = vec![Vec::new(); 4];
                let mut failures = 0usize;
                let mut i = c;
                while Instant::now() < deadline {
                    // 50 % default list, 20 % status filter, 10 % search, 20 % one session.
                    let kind = match i % 10 {
                        0..=4 => 0,
                        5 | 6 => 1,
                        7 => 2,
                        _ => 3,
                    };
                    i += 1;
                    let t = Instant::now();
                    match conn.request("GET", &paths[kind], Some(&token), None).await {
                        Ok(r) if r.status == 200 => {}
                        _ => failures += 1,
                    }
                    lat[kind].push(t.elapsed());
                }
                (lat, failures)
            }));
        }
        let mut all = vec![Vec::new(); 4];
        let mut failures = 0;
        for task in tasks {
            let (lat, f) = task.await?;
            for (k, l) in lat.into_iter().enumerate() {
                all[k].extend(l);
            }
            failures += f;
        }
        let elapsed = started.elapsed();
        let count: usize = all.iter().map(Vec::len).sum();
        println!(
            "reads: {count} in {:.1}s ({:.0} req/s), {failures} failed",
            elapsed.as_secs_f64(),
            count as f64 / elapsed.as_secs_f64()
        );
        for (name, lat) in names.iter().zip(all.iter_mut()) {
            report(&format!("  {name}"), lat, elapsed);
        }
        ok &= failures == 0;
    }
    ok &= join_failures == 0 && heartbeat_failures == 0;
    println!("result: {}", if ok { "PASS" } else { "FAIL" });
    if ok {
        Ok(())
    } else {
        Err("the load run lost or failed requests".into())
    }
}
