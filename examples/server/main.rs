//! The example server: the live-sessions API and web page on SQLite (default), PostgreSQL or
//! MongoDB.
//!
//! ```sh
//! cargo run --example server
//! # then open http://127.0.0.1:3000/live-sessions
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

mod app;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let config = app::ServerConfig::parse();
    let built = match app::build(&config).await {
        Ok(built) => built,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", config.bind);
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("livesessions example server");
    println!("  listening  http://{}/live-sessions", config.bind);
    println!("  store      {}", built.store);
    println!("  auth       {}", built.auth);
    if built.dev_mode && !config.bind.ip().is_loopback() {
        println!(
            "  WARNING    dev mode on {}: anyone who can reach it can sign in as an admin",
            config.bind
        );
    }
    println!("  thumbnails {}", built.thumbnails);
    println!("  webhooks   {}", built.webhooks);
    println!(
        "  time zone  {} (start times given without an offset)",
        config.time_zone
    );
    if config.no_rate_limits {
        println!("  rate limits OFF (--no-rate-limits)");
    }
    if config.no_metrics {
        println!("  metrics    off (--no-metrics)");
    } else if config.metrics_token.is_some() {
        println!(
            "  metrics    http://{}/metrics (bearer token from --metrics-token)",
            config.bind
        );
    } else {
        println!(
            "  metrics    http://{}/metrics (open to anyone who reaches it: give --metrics-token, \
             or --no-metrics, where the server is public)",
            config.bind
        );
    }
    let mut signals = match StopSignals::new() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("error: cannot listen for stop signals: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let stop = built.stop;
    let shutdown = async move {
        let which = signals.next().await;
        println!(
            "{which}: stopping (no new connections; open event streams end; requests in flight \
             get {} s)",
            GRACE.as_secs()
        );
        let _ = stop.send(true);
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(GRACE) => eprintln!(
                    "error: requests still running {} s after {which}; exiting anyway",
                    GRACE.as_secs()
                ),
                again = signals.next() => eprintln!("error: {again} again; exiting now"),
            }
            std::process::exit(1);
        });
    };
    let service = built
        .router
        .into_make_service_with_connect_info::<SocketAddr>();
    if let Err(error) = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("error: {error}");
        return std::process::ExitCode::FAILURE;
    }
    println!("stopped");
    std::process::ExitCode::SUCCESS
}

/// How long requests in flight may run on after a stop signal before the process exits anyway.
const GRACE: Duration = Duration::from_secs(10);

/// SIGTERM (what process managers and container runtimes send) and Ctrl-C (SIGINT).
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Listens from now on, so a signal that arrives before the server runs is not lost.
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                term: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// The name of the next stop signal.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
