//! Server-Sent Events fan-out: `--subscribers` clients on one server's event stream receive
//! the "live" event of a session; the harness reports the delivery latency percentiles (from
//! just before the admin's request that starts the session to each subscriber reading the
//! event) and the server's memory (its resident set, read from `/proc/<pid>/status`).
//!
//! The server (in-memory store, rate limits off) runs as a child process of this one
//! (`perf_sse --serve`), so its memory figure excludes the clients.
//!
//! ```sh
//! ulimit -n 20000   # each process holds one descriptor per connection
//! cargo run --release --example perf_sse -- --subscribers 10000
//! ```

#[path = "perf_common/mod.rs"]
mod perf_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use livesessions::{BroadcastEvents, LiveSessions, MemoryStore};
use perf_common::{Conn, Percentiles};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Semaphore};

/// Measures SSE fan-out.
#[derive(Debug, Parser)]
struct Args {
    /// Run as the server: print its address and serve until killed.
    #[arg(long)]
    serve: bool,
    /// Event-stream subscribers.
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Connections opened at once while subscribing.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

async fn serve() {
    let events = Arc::new(BroadcastEvents::default());
    let service = LiveSessions::builder(Arc::new(MemoryStore::new()))
        .events(events.clone())
        .build();
    let addr = perf_common::serve(service, events).await;
    println!("{addr}");
    // Serve until the parent ends this process.
    std::future::pending::<()>().await;
}

/// Opens the event stream and waits for the "connected" comment.
async fn subscribe(addr: std::net::SocketAddr) -> std::io::Result<BufReader<TcpStream>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET /api/live-sessions/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line.starts_with(":") && line.contains("connected") {
            return Ok(reader);
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.serve {
        serve().await;
        return Ok(());
    }
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("--serve")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the server exited")?;
    let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut line = String::new();
    out.read_line(&mut line).await?;
    let addr: std::net::SocketAddr = line.trim().parse()?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_rss = rss_kib(pid, "VmRSS:");
    println!(
        "server pid {pid} at {addr}, idle RSS {:.1} MiB",
        idle_rss as f64 / 1024.0
    );

    // Subscribe everyone.
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let ready = Arc::new(Barrier::new(args.subscribers + 1));
    let (go_tx, _) = tokio::sync::broadcast::channel::<Instant>(1);
    let mut tasks = Vec::with_capacity(args.subscribers);
    for _ in 0..args.subscribers {
        let (gate, ready, mut go) = (gate.clone(), ready.clone(), go_tx.subscribe());
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("the gate");
            let subscribed = subscribe(addr).await;
            drop(permit);
            ready.wait().await;
            let mut reader = subscribed.ok()?;
            let sent = go.recv().await.ok()?;
            let mut line = String::new();
            loop {
                line.clear();
                match tokio::time::timeout(Duration::from_secs(30), reader.read_line(&mut line))
                    .await
                {
                    Ok(Ok(n)) if n > 0 => {
                        if line.starts_with("event: live") {
                            return Some(sent.elapsed());
                        }
                    }
                    _ => return None,
                }
            }
        }));
    }
    ready.wait().await;
    println!(
        "{} subscribers connected in {:.1}s",
        args.subscribers,
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let subscribed_rss = rss_kib(pid, "VmRSS:");

    // Create a scheduled session, then start it; the subscribers time the "live" event.
    let admin = perf_common::token("admin", true);
    let mut conn = Conn::connect(addr).await?;
    let created = conn
        .request(
            "POST",
            "/api/admin/live-sessions",
            Some(&admin),
            Some(r#"{"title":"Fan-out","instructor":"Bench","videoUrl":"https://www.youtube.com/watch?v=dQw4w9WgXcQ","startTime":"2025-01-15T10:00:00Z"}"#),
        )
        .await?;
    let id = created.json()["id"]
        .as_str()
        .ok_or("no session id")?
        .to_owned();
    let sent = Instant::now();
    let _ = go_tx.send(sent);
    let started_live = conn
        .request(
            "PUT",
            &format!("/api/admin/live-sessions/{id}"),
            Some(&admin),
            Some(r#"{"isLive":true}"#),
        )
        .await?;
    let answered = sent.elapsed();
    let mut latencies = Vec::with_capacity(args.subscribers);
    let mut missed = 0;
    for task in tasks {
        match task.await? {
            Some(latency) => latencies.push(latency),
            None => missed += 1,
        }
    }
    let after_rss = rss_kib(pid, "VmRSS:");
    let peak_rss = rss_kib(pid, "VmHWM:");
    println!(
        "start answered {} in {:.1}ms",
        started_live.status,
        answered.as_secs_f64() * 1000.0
    );
    println!(
        "live event delivery: {} received, {missed} missed, {}",
        latencies.len(),
        Percentiles::of(&mut latencies)
    );
    println!(
        "server RSS: idle {:.1} MiB, {} subscribers {:.1} MiB, after delivery {:.1} MiB, peak {:.1} MiB",
        idle_rss as f64 / 1024.0,
        args.subscribers,
        subscribed_rss as f64 / 1024.0,
        after_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    child.kill().await?;
    Ok(())
}
