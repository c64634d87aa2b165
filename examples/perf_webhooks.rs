//! Webhook deliveries against running example servers (several instances on one database, each
//! with its delivery worker), received by a local HTTP server in this process that answers 204
//! and counts.
//!
//! Each round runs a class-start stampede twice, in alternating order: `--students` first joins
//! of one live session over `--connections` keep-alive connections spread over `--targets`,
//! once with `--endpoints` webhook endpoints registered (all event types) and once with none.
//! It reports both join rates and, with endpoints, the deliveries that arrived while the
//! stampede ran and after it, by event type. A stampede's `participants` events are coalesced
//! (to one per session per numbering round of the log), so it causes few deliveries; the
//! sustained rate is measured separately: `--sessions` live sessions created at once (a
//! `created` and a `live` event each) queue `sessions × 2 × endpoints` deliveries, and the
//! receiver times how fast they arrive.
//!
//! The servers must accept tokens signed with `--jwt-secret` and run with `--no-rate-limits
//! --webhook-allow-private-targets --webhook-allow-http` (the receiver is `http://127.0.0.1`).
//! `scripts/perf-cluster.sh` runs it against `scripts/cluster.sh`.
//!
//! ```sh
//! cargo run --release --example perf_webhooks -- --jwt-secret "$SECRET" \
//!     --targets http://127.0.0.1:4001,http://127.0.0.1:4002,http://127.0.0.1:4003 \
//!     --admin http://127.0.0.1:4004
//! ```

#[path = "perf_common/mod.rs"]
mod perf_common;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use clap::Parser;
use perf_common::{Conn, Percentiles};

/// Measures webhook deliveries and the join rate beside them.
#[derive(Debug, Parser)]
struct Args {
    /// Servers the joins go to (`http://host:port`, comma-separated); connection `i` goes to
    /// target `i mod n`.
    #[arg(long, value_delimiter = ',', required = true)]
    targets: Vec<String>,
    /// The server the admin creates sessions and endpoints through (default: the first target).
    #[arg(long)]
    admin: Option<String>,
    /// The HS256 secret the servers verify tokens with.
    #[arg(long, env = "LIVESESSIONS_JWT_SECRET")]
    jwt_secret: String,
    /// Webhook endpoints registered on the receiver for the runs with webhooks.
    #[arg(long, default_value_t = 4)]
    endpoints: usize,
    /// Distinct students of each stampede.
    #[arg(long, default_value_t = 5000)]
    students: usize,
    /// Concurrent join connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Rounds (each: one stampede with webhooks, one without, in alternating order).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Live sessions created for the sustained delivery rate (0 skips it).
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// The longest wait for deliveries to finish arriving, in seconds.
    #[arg(long, default_value_t = 240)]
    drain_timeout: u64,
    /// How long the sustained phase waits through a pause in arrivals before it stops waiting,
    /// in seconds (the claim before commit `077e571` could stall until the deliveries table was
    /// analyzed, which autovacuum does about once a minute).
    #[arg(long, default_value_t = 90)]
    sustained_quiet: u64,
    /// The servers' PostgreSQL database: when given, `ANALYZE webhook_deliveries` runs there
    /// two seconds after the sustained phase's sessions are created, as autovacuum would once
    /// it noticed the new rows. Without fresh statistics the claim statement before commit
    /// `077e571` could run with a plan quadratic in the pending deliveries; the present one
    /// does not depend on them (see BENCHMARKS.md), so this compares the two conditions.
    #[arg(long)]
    analyze_url: Option<String>,
}

/// What the receiver got.
#[derive(Default)]
struct Received {
    /// Every delivery: when it arrived and its `type`.
    log: Mutex<Vec<(Instant, String)>>,
    /// (endpoint, `webhook-id`) pairs seen, to count repeats.
    seen: Mutex<HashSet<(u32, String)>>,
    duplicates: AtomicU64,
}

impl Received {
    fn count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Instant, String)>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The deliveries that arrived at or after `from` (and before `to`, when given).
    fn between(&self, from: Instant, to: Option<Instant>) -> Vec<(Instant, String)> {
        self.lock()
            .iter()
            .filter(|(at, _)| *at >= from && to.is_none_or(|to| *at < to))
            .cloned()
            .collect()
    }

    /// Waits until nothing has arrived for `quiet` (at most `max`), or `until` deliveries have
    /// arrived in all.
    async fn settle(&self, quiet: Duration, max: Duration, until: Option<usize>) {
        let deadline = Instant::now() + max;
        let mut last = (self.count(), Instant::now());
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.count();
            if until.is_some_and(|n| now >= n) {
                return;
            }
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() >= quiet {
                return;
            }
        }
    }
}

/// The receiver's handler: counts and answers 204.
async fn hook(
    State(received): State<Arc<Received>>,
    Path(endpoint): Path<u32>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let kind = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unreadable".to_owned());
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !received
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((endpoint, id))
    {
        received.duplicates.fetch_add(1, Ordering::Relaxed);
    }
    received.lock().push((at, kind));
    StatusCode::NO_CONTENT
}

/// Starts the receiver on a free loopback port.
async fn receiver(received: Arc<Received>) -> std::io::Result<SocketAddr> {
    let router = axum::Router::new()
        .route("/hook/{endpoint}", axum::routing::post(hook))
        .with_state(received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the receiver runs");
    });
    Ok(addr)
}

/// The admin's requests.
struct Admin {
    conn: Conn,
    token: String,
}

impl Admin {
    /// Creates a live session; returns its id.
    async fn live_session(&mut self, title: &str) -> Result<String, Box<dyn std::error::Error>> {
        let body = format!(
            r#"{{"title":"{title}","instructor":"Bench","videoUrl":"https://www.youtube.com/watch?v=dQw4w9WgXcQ","startTime":"2025-01-15T10:00:00Z","isLive":true}}"#
        );
        let created = self
            .conn
            .request(
                "POST",
                "/api/admin/live-sessions",
                Some(&self.token),
                Some(&body),
            )
            .await?;
        Ok(created.json()["id"]
            .as_str()
            .ok_or_else(|| format!("no session id (status {})", created.status))?
            .to_owned())
    }

    /// Registers `n` endpoints on the receiver at `addr`, for every event type.
    async fn register(
        &mut self,
        addr: SocketAddr,
        n: usize,
    ) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let body = format!(r#"{{"url":"http://{addr}/hook/{i}","description":"perf {i}"}}"#);
            let created = self
                .conn
                .request(
                    "POST",
                    "/api/admin/webhooks",
                    Some(&self.token),
                    Some(&body),
                )
                .await?;
            let id = created.json()["id"]
                .as_str()
                .ok_or_else(|| {
                    format!(
                        "the endpoint was not registered (status {}: {}); does the server run \
                         with --webhook-allow-private-targets --webhook-allow-http?",
                        created.status,
                        String::from_utf8_lossy(&created.body)
                    )
                })?
                .to_owned();
            ids.push(id);
        }
        Ok(ids)
    }

    /// Deletes every registered endpoint.
    async fn delete_all(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let listed = self
            .conn
            .request("GET", "/api/admin/webhooks", Some(&self.token), None)
            .await?
            .json();
        let ids: Vec<String> = listed["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for id in ids {
            self.conn
                .request(
                    "DELETE",
                    &format!("/api/admin/webhooks/{id}"),
                    Some(&self.token),
                    None,
                )
                .await?;
        }
        Ok(())
    }
}

/// One stampede's outcome.
struct Stampede {
    joined: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// First joins of `tokens` into `session` over `connections` connections spread over `targets`.
async fn stampede(
    targets: &[SocketAddr],
    session: &str,
    tokens: Vec<String>,
    connections: usize,
) -> Stampede {
    let tokens = Arc::new(tokens);
    let body = Arc::new(format!(r#"{{"sessionId":"{session}"}}"#));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..connections {
        let addr = targets[i % targets.len()];
        let (tokens, body, next) = (tokens.clone(), body.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            let mut conn = match Conn::connect(addr).await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("cannot connect to {addr}: {e}");
                    return (latencies, 0);
                }
            };
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(token) = tokens.get(n) else {
                    return (latencies, failed);
                };
                let t = Instant::now();
                match conn
                    .request("POST", "/api/live-sessions/join", Some(token), Some(&body))
                    .await
                {
                    Ok(r) if r.status == 200 => latencies.push(t.elapsed()),
                    Ok(_) => failed += 1,
                    Err(_) => {
                        failed += 1;
                        match Conn::connect(addr).await {
                            Ok(again) => conn = again,
                            Err(_) => return (latencies, failed),
                        }
                    }
                }
            }
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0usize;
    for task in tasks {
        let (latencies, f) = task.await.unwrap_or_default();
        all.extend(latencies);
        failed += f;
    }
    Stampede {
        joined: all.len(),
        failed,
        elapsed: started.elapsed(),
        latencies: all,
    }
}

/// "type n, type n" of `deliveries`.
fn by_type(deliveries: &[(Instant, String)]) -> String {
    let mut counts = BTreeMap::<&str, usize>::new();
    for (_, kind) in deliveries {
        *counts.entry(kind.as_str()).or_default() += 1;
    }
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most deliveries that arrived within any `window`, the longest pause between two
/// consecutive arrivals, and the rate from the end of that pause to the last arrival (with the
/// number of deliveries in that stretch).
fn busiest(deliveries: &[(Instant, String)], window: Duration) -> (usize, Duration, f64, usize) {
    let mut times: Vec<Instant> = deliveries.iter().map(|d| d.0).collect();
    times.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    let mut gap = (Duration::ZERO, 0);
    for end in 0..times.len() {
        while times[end] - times[start] > window {
            start += 1;
        }
        best = best.max(end - start + 1);
        if end > 0 && times[end] - times[end - 1] > gap.0 {
            gap = (times[end] - times[end - 1], end);
        }
    }
    let after = &times[gap.1..];
    let rate = match (after.first(), after.last()) {
        (Some(first), Some(last)) if last > first => {
            (after.len() - 1) as f64 / (*last - *first).as_secs_f64()
        }
        _ => 0.0,
    };
    (best, gap.0, rate, after.len())
}

/// Deliveries per second over the span from the first to the last of `deliveries`.
fn span_rate(deliveries: &[(Instant, String)]) -> (f64, Duration) {
    let (Some(first), Some(last)) = (
        deliveries.iter().map(|d| d.0).min(),
        deliveries.iter().map(|d| d.0).max(),
    ) else {
        return (0.0, Duration::ZERO);
    };
    let span = last - first;
    let rate = if span.is_zero() {
        0.0
    } else {
        (deliveries.len() - 1) as f64 / span.as_secs_f64()
    };
    (rate, span)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut targets = Vec::new();
    for url in &args.targets {
        targets.push(perf_common::resolve(url).await?);
    }
    let admin_addr = match &args.admin {
        Some(url) => perf_common::resolve(url).await?,
        None => targets[0],
    };
    let received = Arc::new(Received::default());
    let receiver_addr = receiver(received.clone()).await?;
    let mut admin = Admin {
        conn: Conn::connect(admin_addr).await?,
        token: perf_common::token_signed_with(&args.jwt_secret, "admin", true),
    };
    admin.delete_all().await?;
    let shown: Vec<String> = targets.iter().map(|a| a.to_string()).collect();
    println!(
        "perf_webhooks: joins through {}, admin through {admin_addr}, receiver {receiver_addr}, \
         {} endpoints, {} students, {} connections",
        shown.join(", "),
        args.endpoints,
        args.students,
        args.connections
    );
    let drain = Duration::from_secs(args.drain_timeout);
    // A unique prefix per run, so that students of earlier runs are not rejoins.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut rates = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let order = if round % 2 == 1 {
            [false, true]
        } else {
            [true, false]
        };
        for with_webhooks in order {
            let label = if with_webhooks {
                "with webhooks"
            } else {
                "without webhooks"
            };
            let registered = Instant::now();
            if with_webhooks {
                admin.register(receiver_addr, args.endpoints).await?;
            }
            let session = admin
                .live_session(&format!("Stampede {round} {label}"))
                .await?;
            let tokens: Vec<String> = (0..args.students)
                .map(|i| {
                    perf_common::token_signed_with(
                        &args.jwt_secret,
                        &format!("w{run}-{round}-{with_webhooks}-{i}"),
                        false,
                    )
                })
                .collect();
            // Let the session's own events go out before the timing.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let before = received.count();
            let t0 = Instant::now();
            let mut result = stampede(&targets, &session, tokens, args.connections).await;
            let t1 = Instant::now();
            let during = received.between(t0, Some(t1));
            received.settle(Duration::from_secs(3), drain, None).await;
            let caused = received.between(registered, None);
            let after = received.between(t1, None);
            let rate = result.joined as f64 / result.elapsed.as_secs_f64();
            if with_webhooks {
                rates.1.push(rate);
            } else {
                rates.0.push(rate);
            }
            println!(
                "round {round} {label}: {} joins in {:.2}s = {rate:.0} joins/s, {} failed; {}",
                result.joined,
                result.elapsed.as_secs_f64(),
                result.failed,
                Percentiles::of(&mut result.latencies)
            );
            println!(
                "  deliveries while the stampede ran: {} ({:.1}/s: {}); after it: {} \
                 (the last {:.1}s after it ended); since registering: {} ({}); receiver total \
                 before {before}",
                during.len(),
                during.len() as f64 / (t1 - t0).as_secs_f64(),
                by_type(&during),
                after.len(),
                after
                    .iter()
                    .map(|d| d.0)
                    .max()
                    .map_or(0.0, |last| (last - t1).as_secs_f64()),
                caused.len(),
                by_type(&caused),
            );
            if with_webhooks {
                admin.delete_all().await?;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "join rate with/without webhooks: {:.3} (mean {:.0} vs {:.0} joins/s over {} rounds)",
        mean(&rates.1) / mean(&rates.0),
        mean(&rates.1),
        mean(&rates.0),
        args.rounds
    );

    if args.sessions > 0 {
        admin.register(receiver_addr, args.endpoints).await?;
        let expected = args.sessions * 2 * args.endpoints;
        let start = received.count();
        let t0 = Instant::now();
        // Eight admin connections create the sessions.
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (next, token, sessions) = (next.clone(), admin.token.clone(), args.sessions);
            tasks.push(tokio::spawn(async move {
                let mut admin = Admin {
                    conn: Conn::connect(admin_addr).await.expect("connect"),
                    token,
                };
                while next.fetch_add(1, Ordering::Relaxed) < sessions {
                    admin
                        .live_session("Sustained")
                        .await
                        .expect("create a session");
                }
            }));
        }
        for task in tasks {
            task.await?;
        }
        let created = Instant::now();
        if let Some(url) = &args.analyze_url {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let pool = livesessions_sql::sqlx::PgPool::connect(url).await?;
            let t = Instant::now();
            livesessions_sql::sqlx::query("ANALYZE webhook_deliveries")
                .execute(&pool)
                .await?;
            println!(
                "  ANALYZE webhook_deliveries {:.2}s after the creates ended (took {:.0}ms)",
                (t - created).as_secs_f64(),
                t.elapsed().as_secs_f64() * 1000.0
            );
            pool.close().await;
        }
        received
            .settle(
                Duration::from_secs(args.sustained_quiet),
                drain,
                Some(start + expected),
            )
            .await;
        let all = received.between(t0, None);
        let drained = received.between(created, None);
        let (rate, span) = span_rate(&all);
        let (drain_rate, drain_span) = span_rate(&drained);
        println!(
            "sustained: {} live sessions created in {:.2}s ({:.0}/s); {} of {expected} deliveries \
             arrived ({}), {} repeated",
            args.sessions,
            (created - t0).as_secs_f64(),
            args.sessions as f64 / (created - t0).as_secs_f64(),
            all.len(),
            by_type(&all),
            received.duplicates.load(Ordering::Relaxed)
        );
        println!(
            "  sustained delivery rate {rate:.0}/s (first to last delivery, {:.2}s); after the \
             creates ended {drain_rate:.0}/s ({} deliveries over {:.2}s); the last {:.2}s after \
             the creates ended",
            span.as_secs_f64(),
            drained.len(),
            drain_span.as_secs_f64(),
            all.iter().map(|d| d.0).max().map_or(0.0, |last| last
                .saturating_duration_since(created)
                .as_secs_f64())
        );
        let window = Duration::from_secs(5);
        let (most, gap, after_gap, n_after_gap) = busiest(&all, window);
        println!(
            "  busiest {}s: {most} deliveries ({:.0}/s); longest pause between two deliveries \
             {:.2}s, then {n_after_gap} deliveries at {after_gap:.0}/s",
            window.as_secs(),
            most as f64 / window.as_secs_f64(),
            gap.as_secs_f64()
        );
        admin.delete_all().await?;
    }
    Ok(())
}
