//! The scheduler under a burst: `--sessions` sessions with `autoStart` and one shared start time
//! (`--lead` seconds ahead, a whole second), created through the admin API of running example
//! servers (`--targets`, in turn), then started by the schedulers of those servers (every
//! example-server instance runs one). Measured from the database (`--database-url`, the one the
//! servers share), once every session went live (or `--wait` seconds after the start time) and
//! `--settle` seconds more, so that a late second start would be seen:
//!
//! - the lag of each session: the time of its first `live` event in the event log (`events.at`,
//!   the writing transaction's time) minus its start time, and the same for its `started_at`
//!   (the scheduler tick's clock, taken before the tick's writes);
//! - how many went live, and how many `live` events each has: exactly one is a start made once.
//!   A second start would be refused by the version check and leave no event; a session started
//!   twice would show two.
//!
//! The servers must accept tokens signed with `--jwt-secret` and run with `--no-rate-limits`.
//! `scripts/perf-scheduler.sh` runs it against `scripts/cluster.sh` in a fresh database.
//!
//! ```sh
//! cargo run --release --example perf_scheduler -- --jwt-secret "$SECRET" \
//!     --targets http://127.0.0.1:4001,http://127.0.0.1:4002,http://127.0.0.1:4003 \
//!     --database-url postgres://postgres@127.0.0.1:5432/ls_sched_bench
//! ```

#[path = "perf_common/mod.rs"]
mod perf_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Parser;
use livesessions_sql::sqlx;
use perf_common::{Conn, Percentiles};

/// Measures how soon the scheduler starts a burst of sessions due at one instant.
#[derive(Debug, Parser)]
struct Args {
    /// Servers the sessions are created through (`http://host:port`, comma-separated); admin
    /// connection `i` goes to target `i mod n`.
    #[arg(long, value_delimiter = ',', required = true)]
    targets: Vec<String>,
    /// The HS256 secret the servers verify tokens with.
    #[arg(long, env = "LIVESESSIONS_JWT_SECRET")]
    jwt_secret: String,
    /// The PostgreSQL database the servers share (read for the lags and the `live` events).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Sessions due at the shared start time.
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// Seconds from now to the shared start time (the creates must end before it).
    #[arg(long, default_value_t = 75)]
    lead: i64,
    /// Concurrent admin connections creating the sessions.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Seconds after the start time after which sessions not live count as missed.
    #[arg(long, default_value_t = 60)]
    wait: u64,
    /// Seconds to keep watching after every session went live, for second starts.
    #[arg(long, default_value_t = 5)]
    settle: u64,
}

/// What the database says of one session once the scheduler ran.
struct Row {
    /// `live` events of the session.
    live_events: i64,
    /// First `live` event's time minus the start time, in seconds.
    event_lag: Option<f64>,
    /// `started_at` minus the start time, in seconds.
    started_lag: Option<f64>,
}

fn lags(values: impl Iterator<Item = f64>) -> (Percentiles, usize) {
    let mut negative = 0;
    let mut sample: Vec<Duration> = values
        .map(|s| {
            if s < 0.0 {
                negative += 1;
            }
            Duration::from_secs_f64(s.max(0.0))
        })
        .collect();
    (Percentiles::of(&mut sample), negative)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut targets = Vec::new();
    for target in &args.targets {
        targets.push(perf_common::resolve(target).await?);
    }
    let token = perf_common::token_signed_with(&args.jwt_secret, "perf-admin", true);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&args.database_url)
        .await?;

    let start: DateTime<Utc> = DateTime::from_timestamp(Utc::now().timestamp() + args.lead, 0)
        .ok_or("start time out of range")?;
    let end = start + chrono::Duration::hours(1);
    let body = move |i: usize| {
        format!(
            r#"{{"title":"Scheduled {i}","instructor":"Bench","videoUrl":"https://www.youtube.com/watch?v=dQw4w9WgXcQ","startTime":"{}","endTime":"{}","autoStart":true}}"#,
            start.to_rfc3339_opts(SecondsFormat::Secs, true),
            end.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    };

    let created_at = std::time::Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(Mutex::new(Vec::with_capacity(args.sessions)));
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let (next, ids, token) = (next.clone(), ids.clone(), token.clone());
        let addr = targets[c % targets.len()];
        let sessions = args.sessions;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= sessions {
                    return Ok::<(), Box<dyn std::error::Error + Send + Sync>>(());
                }
                let response = conn
                    .request(
                        "POST",
                        "/api/admin/live-sessions",
                        Some(&token),
                        Some(&body(i)),
                    )
                    .await?;
                let id = response.json()["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        format!(
                            "no session id (status {}: {})",
                            response.status,
                            String::from_utf8_lossy(&response.body)
                        )
                    })?;
                ids.lock().expect("ids").push(id);
            }
        }));
    }
    for task in tasks {
        task.await?.map_err(|e| e.to_string())?;
    }
    let ids: Vec<String> = std::mem::take(&mut *ids.lock().expect("ids"));
    let creating = created_at.elapsed();
    let ahead = (start - Utc::now()).num_milliseconds() as f64 / 1000.0;
    println!(
        "created {} sessions with autoStart in {:.2}s ({:.0}/s) through {} servers; start time {} \
         ({ahead:.1}s ahead)",
        ids.len(),
        creating.as_secs_f64(),
        ids.len() as f64 / creating.as_secs_f64(),
        targets.len(),
        start.to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    if ahead <= 0.0 {
        return Err("the creates ended after the start time; raise --lead".into());
    }

    // Wait for the start time, then until every session has a `live` event (or the wait ends).
    let live_count = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(DISTINCT session_id) FROM events \
             WHERE kind = 'live' AND session_id::text = ANY($1)",
        )
        .bind(&ids)
        .fetch_one(&pool)
    };
    let until = |t: DateTime<Utc>| (t - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(until(start)).await;
    println!(
        "start time reached (load {})",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let deadline = start + chrono::Duration::seconds(args.wait as i64);
    let mut reported = 0;
    loop {
        let live = live_count().await? as usize;
        if live >= reported + 250 || (live == ids.len() && reported < live) {
            println!(
                "  {live} live {:.2}s after the start time",
                (Utc::now() - start).num_milliseconds() as f64 / 1000.0
            );
            reported = live;
        }
        if live == ids.len() || Utc::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(args.settle)).await;

    let rows: Vec<Row> = sqlx::query_as::<_, (i64, Option<f64>, Option<f64>)>(
        "SELECT (SELECT count(*) FROM events e WHERE e.session_id = s.id AND e.kind = 'live'), \
                extract(epoch FROM (SELECT min(e.at) FROM events e \
                                    WHERE e.session_id = s.id AND e.kind = 'live') \
                             - s.start_time)::float8, \
                extract(epoch FROM s.started_at - s.start_time)::float8 \
         FROM live_sessions s WHERE s.id::text = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|(live_events, event_lag, started_lag)| Row {
        live_events,
        event_lag,
        started_lag,
    })
    .collect();
    let status: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM live_sessions WHERE id::text = ANY($1) \
         GROUP BY status ORDER BY status",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?;

    let once = rows.iter().filter(|r| r.live_events == 1).count();
    let twice = rows.iter().filter(|r| r.live_events > 1).count();
    let never = rows.iter().filter(|r| r.live_events == 0).count();
    let (event, event_negative) = lags(rows.iter().filter_map(|r| r.event_lag));
    let (started, started_negative) = lags(rows.iter().filter_map(|r| r.started_lag));
    let within = |limit: f64| {
        rows.iter()
            .filter(|r| r.event_lag.is_some_and(|l| l <= limit))
            .count()
    };
    println!(
        "status: {}",
        status
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "live events per session: exactly one {once}, more than one {twice}, none {never} (of {})",
        rows.len()
    );
    println!("lag, first live event - start time: {event}");
    println!("lag, startedAt - start time:        {started}");
    if event_negative + started_negative > 0 {
        println!(
            "  (negative lags counted as 0: {event_negative} events, {started_negative} startedAt)"
        );
    }
    println!(
        "live within 1 s: {}, within 2 s: {} of {}",
        within(1.0),
        within(2.0),
        ids.len()
    );
    Ok(())
}
