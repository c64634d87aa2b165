//! Server-Sent Events fan-out: `--subscribers` clients on one server's event stream receive
//! the "live" event of a session; the harness reports the delivery latency percentiles (from
//! just before the admin's request that starts the session to each subscriber reading the
//! event) and the server's memory (its resident set, read from `/proc/<pid>/status`).
//!
//! By default the server (in-memory store, rate limits off) runs as a child process of this one
//! (`perf_sse --serve`), so its memory figure excludes the clients.
//!
//! With `--targets` the subscribers are spread in turn over running servers instead (several
//! example-server instances on one database, each tailing the event log), and the admin starts
//! the session through `--admin` (another instance, or one of the targets): the figure is then
//! the whole path through the log, from one instance's write to every instance's subscribers.
//! The servers must accept tokens signed with `--jwt-secret` and run with `--no-rate-limits`
//! (the event-stream caps would refuse thousands of streams from one address); `--pids` adds
//! their memory. `scripts/perf-cluster.sh` runs it against `scripts/cluster.sh`.
//!
//! ```sh
//! ulimit -n 20000   # each process holds one descriptor per connection
//! cargo run --release --example perf_sse -- --subscribers 10000
//! cargo run --release --example perf_sse -- --subscribers 10000 \
//!     --targets http://127.0.0.1:4001,http://127.0.0.1:4002,http://127.0.0.1:4003 \
//!     --admin http://127.0.0.1:4004 --jwt-secret "$SECRET"
//! ```

#[path = "perf_common/mod.rs"]
mod perf_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use livesessions::{BroadcastEvents, LiveSessions, MemoryStore};
use perf_common::{rss_kib, Conn, Percentiles};
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
    /// Running servers to subscribe to (`http://host:port`, comma-separated); subscriber `i`
    /// goes to target `i mod n`. Without it the server runs as a child process.
    #[arg(long, value_delimiter = ',')]
    targets: Vec<String>,
    /// With `--targets`: the server the admin creates and starts the session through (default:
    /// the first target).
    #[arg(long, requires = "targets")]
    admin: Option<String>,
    /// With `--targets`: the HS256 secret the servers verify tokens with.
    #[arg(long, env = "LIVESESSIONS_JWT_SECRET", requires = "targets")]
    jwt_secret: Option<String>,
    /// With `--targets`: the servers' process ids, for their memory (optional).
    #[arg(long, value_delimiter = ',', requires = "targets")]
    pids: Vec<u32>,
    /// Seconds a subscriber waits for the event after the start request before it counts as
    /// missed.
    #[arg(long, default_value_t = 30)]
    wait: u64,
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

/// The servers measured: where the subscribers go, where the admin writes, the token secret
/// and the processes whose memory is read.
struct Servers {
    targets: Vec<std::net::SocketAddr>,
    admin: std::net::SocketAddr,
    secret: String,
    pids: Vec<u32>,
    /// The server this process started (killed on drop).
    child: Option<tokio::process::Child>,
}

/// Starts the in-memory server as a child process.
async fn spawn_server() -> Result<Servers, Box<dyn std::error::Error>> {
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
    println!("server pid {pid} at {addr}");
    Ok(Servers {
        targets: vec![addr],
        admin: addr,
        secret: perf_common::SECRET.to_owned(),
        pids: vec![pid],
        child: Some(child),
    })
}

/// The running servers of `--targets`.
async fn running_servers(args: &Args) -> Result<Servers, Box<dyn std::error::Error>> {
    let mut targets = Vec::with_capacity(args.targets.len());
    for url in &args.targets {
        targets.push(perf_common::resolve(url).await?);
    }
    let admin = match &args.admin {
        Some(url) => perf_common::resolve(url).await?,
        None => targets[0],
    };
    let secret = args
        .jwt_secret
        .clone()
        .ok_or("--targets needs --jwt-secret (the servers' HS256 secret)")?;
    let shown: Vec<String> = targets.iter().map(|a| a.to_string()).collect();
    println!(
        "targets {} (subscribers spread in turn), admin writes through {admin}",
        shown.join(", ")
    );
    Ok(Servers {
        targets,
        admin,
        secret,
        pids: args.pids.clone(),
        child: None,
    })
}

/// The resident sets (KiB) of `pids`.
fn rss_of(pids: &[u32], field: &str) -> Vec<u64> {
    pids.iter().map(|pid| rss_kib(*pid, field)).collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.serve {
        serve().await;
        return Ok(());
    }
    let mut servers = if args.targets.is_empty() {
        spawn_server().await?
    } else {
        running_servers(&args).await?
    };
    let idle_rss = rss_of(&servers.pids, "VmRSS:");

    // Subscribe everyone, subscriber i on target i mod n.
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let ready = Arc::new(Barrier::new(args.subscribers + 1));
    let (go_tx, _) = tokio::sync::broadcast::channel::<Instant>(1);
    let wait = Duration::from_secs(args.wait);
    let mut tasks = Vec::with_capacity(args.subscribers);
    for i in 0..args.subscribers {
        let target = i % servers.targets.len();
        let addr = servers.targets[target];
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
                match tokio::time::timeout(wait, reader.read_line(&mut line)).await {
                    Ok(Ok(n)) if n > 0 => {
                        if line.starts_with("event: live") {
                            return Some((target, sent.elapsed()));
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
    let subscribed_rss = rss_of(&servers.pids, "VmRSS:");

    // Create a scheduled session, then start it; the subscribers time the "live" event.
    let admin = perf_common::token_signed_with(&servers.secret, "admin", true);
    let mut conn = Conn::connect(servers.admin).await?;
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
        .ok_or_else(|| format!("no session id (status {})", created.status))?
        .to_owned();
    // Let the subscribers read the "created" event first, so that it is not in the timing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
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
    let mut per_target = vec![Vec::new(); servers.targets.len()];
    let mut missed = 0;
    for task in tasks {
        match task.await? {
            Some((target, latency)) => {
                latencies.push(latency);
                per_target[target].push(latency);
            }
            None => missed += 1,
        }
    }
    let after_rss = rss_of(&servers.pids, "VmRSS:");
    let peak_rss = rss_of(&servers.pids, "VmHWM:");
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
    if servers.targets.len() > 1 {
        for (addr, sample) in servers.targets.iter().zip(per_target.iter_mut()) {
            println!("  via {addr}: {}", Percentiles::of(sample));
        }
    }
    let mib = |kib: u64| kib as f64 / 1024.0;
    for (i, pid) in servers.pids.iter().enumerate() {
        println!(
            "server {pid} RSS: idle {:.1} MiB, subscribed {:.1} MiB, after delivery {:.1} MiB, peak {:.1} MiB",
            mib(idle_rss[i]),
            mib(subscribed_rss[i]),
            mib(after_rss[i]),
            mib(peak_rss[i])
        );
    }
    if let Some(child) = &mut servers.child {
        child.kill().await?;
    }
    Ok(())
}
