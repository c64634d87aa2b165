//! The example server: the live-sessions API and web page on SQLite (default), PostgreSQL or
//! MongoDB.
//!
//! ```sh
//! cargo run --example server
//! # then open http://127.0.0.1:3000/live-sessions
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Verify HS256 JWTs with this secret.
    #[arg(long, env = "LIVESESSIONS_JWT_SECRET")]
    jwt_secret: Option<String>,
    /// Verify Firebase ID tokens of this project.
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
    /// Dev mode (sign-in form, `POST /api/dev/token`) on a non-loopback address too.
    #[arg(long, env = "LIVESESSIONS_DEV")]
    dev: bool,
    /// Switch the per-IP rate limits off (for load and fuzz runs that come from one address).
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
    if built.dev_mode {
        println!(
            "  dev mode   ON: POST /api/dev/token signs anyone in (the page shows a sign-in form)"
        );
    }
    println!("  thumbnails {}", config.thumbnail_dir.display());
    if config.no_rate_limits {
        println!("  rate limits OFF (--no-rate-limits)");
    }
    let service = built
        .router
        .into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("error: {error}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
