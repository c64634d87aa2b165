//! The example server: the live-sessions API and web page on SQLite (default), PostgreSQL or
//! MongoDB.
//!
//! ```sh
//! cargo run --example server
//! # then open http://127.0.0.1:3000/live-sessions
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

mod app;

/// Serves the live-sessions API and page.
#[derive(Debug, Parser)]
#[command(name = "server", about = "The livesessions example server")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "LIVESESSIONS_BIND", default_value = "127.0.0.1:3000")]
    bind: SocketAddr,
    /// Store: sqlite:PATH, postgres://… or mongodb://…
    #[arg(
        long,
        env = "LIVESESSIONS_DATABASE_URL",
        default_value = "sqlite:./livesessions.db?mode=rwc"
    )]
    database_url: String,
    /// Verify HS256 JWTs with this secret. Turns dev mode off.
    #[arg(long, env = "LIVESESSIONS_JWT_SECRET")]
    jwt_secret: Option<String>,
    /// Verify Firebase ID tokens of this project. Turns dev mode off.
    #[arg(long, env = "LIVESESSIONS_FIREBASE_PROJECT")]
    firebase_project: Option<String>,
    /// An email whose owner is an admin (repeatable).
    #[arg(
        long = "admin-email",
        env = "LIVESESSIONS_ADMIN_EMAILS",
        value_delimiter = ','
    )]
    admin_emails: Vec<String>,
    /// Where uploaded thumbnails are kept.
    #[arg(
        long,
        env = "LIVESESSIONS_THUMBNAIL_DIR",
        default_value = "./thumbnails"
    )]
    thumbnail_dir: PathBuf,
    /// Dev mode (sign-in form, `POST /api/dev/token`) on a non-loopback address too. It is on by
    /// default on a loopback address without --jwt-secret or --firebase-project, and refused
    /// together with either.
    #[arg(long, env = "LIVESESSIONS_DEV")]
    dev: bool,
    /// The zone a start time without an offset (as the page's date-time field sends it) is read
    /// in when the session names none: an IANA name such as Europe/Paris.
    #[arg(long, env = "LIVESESSIONS_TIME_ZONE", default_value = "UTC", value_parser = time_zone)]
    time_zone: livesessions::TimeZone,
    /// Switch the rate limits and event-stream caps off (for load and fuzz runs that come from one
    /// address).
    #[arg(long, env = "LIVESESSIONS_NO_RATE_LIMITS")]
    no_rate_limits: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let args = Args::parse();
    let config = app::ServerConfig {
        bind: args.bind,
        database_url: args.database_url,
        jwt_secret: args.jwt_secret,
        firebase_project: args.firebase_project,
        admin_emails: args.admin_emails,
        thumbnail_dir: args.thumbnail_dir,
        dev: args.dev,
        no_rate_limits: args.no_rate_limits,
        time_zone: args.time_zone,
    };
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
    println!("  thumbnails {}", config.thumbnail_dir.display());
    println!(
        "  time zone  {} (start times given without an offset)",
        config.time_zone
    );
    if config.no_rate_limits {
        println!("  rate limits OFF (--no-rate-limits)");
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

fn time_zone(name: &str) -> Result<livesessions::TimeZone, String> {
    livesessions::TimeZone::parse(name).map_err(|_| {
        format!("unknown time zone {name:?}: give an IANA name such as UTC, Europe/Paris or America/New_York")
    })
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
