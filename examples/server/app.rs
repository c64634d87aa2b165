//! Assembles the example server: store, auth, service and router. Shared by `main.rs` and the
//! browser tests, so the tests drive exactly what `cargo run --example server` serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use livesessions::calendar::CalendarFeedStore;
use livesessions::events::{EventFeed, EventFeedSettings, EventLog};
use livesessions::webhooks::{TargetPolicy, WebhookStore, WebhookWorker, WorkerSettings};
use livesessions::{
    HealthCheck, LiveSessions, LocalDirThumbnails, ServiceSettings, Store, SystemClock,
    ThumbnailStore, TimeZone,
};
use livesessions_http::{
    HttpSettings, JwtAuthenticator, JwtConfig, LiveSessionsApi, Metrics, RateLimitSettings,
    ReqwestTransport,
};
use serde::{Deserialize, Serialize};

/// Everything the server can be told on its command line (or in its environment).
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "server", about = "The livesessions example server")]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long, env = "LIVESESSIONS_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// Store: sqlite:PATH, postgres://… or mongodb://…
    #[arg(
        long,
        env = "LIVESESSIONS_DATABASE_URL",
        default_value = "sqlite:./livesessions.db?mode=rwc"
    )]
    pub database_url: String,
    /// Verify HS256 JWTs with this secret. Turns dev mode off.
    #[arg(long, env = "LIVESESSIONS_JWT_SECRET")]
    pub jwt_secret: Option<String>,
    /// Verify Firebase ID tokens of this project. Turns dev mode off.
    #[arg(long, env = "LIVESESSIONS_FIREBASE_PROJECT")]
    pub firebase_project: Option<String>,
    /// An email whose owner is an admin (repeatable).
    #[arg(
        long = "admin-email",
        env = "LIVESESSIONS_ADMIN_EMAILS",
        value_delimiter = ','
    )]
    pub admin_emails: Vec<String>,
    /// Keep uploaded thumbnails in this directory instead of the database. Without it they go
    /// into the database the sessions live in, so that several instances on one database
    /// serve each other's uploads.
    #[arg(long, env = "LIVESESSIONS_THUMBNAIL_DIR")]
    pub thumbnail_dir: Option<PathBuf>,
    /// Dev mode (sign-in form, `POST /api/dev/token`) on a non-loopback address too. It is on by
    /// default on a loopback address without --jwt-secret or --firebase-project, and refused
    /// together with either.
    #[arg(long, env = "LIVESESSIONS_DEV")]
    pub dev: bool,
    /// The zone a start time without an offset (as the page's date-time field sends it) is read
    /// in when the session names none: an IANA name such as Europe/Paris.
    #[arg(long, env = "LIVESESSIONS_TIME_ZONE", default_value = "UTC", value_parser = time_zone)]
    pub time_zone: TimeZone,
    /// Switch the rate limits and event-stream caps off (for load and fuzz runs that come from one
    /// address).
    #[arg(long, env = "LIVESESSIONS_NO_RATE_LIMITS")]
    pub no_rate_limits: bool,
    /// Require this bearer token for GET /metrics (Prometheus: the scrape job's
    /// `authorization: { credentials: ... }`). Without it anyone who reaches the server can read
    /// the metrics.
    #[arg(
        long,
        env = "LIVESESSIONS_METRICS_TOKEN",
        value_parser = clap::builder::NonEmptyStringValueParser::new(),
        conflicts_with = "no_metrics"
    )]
    pub metrics_token: Option<String>,
    /// Do not serve GET /metrics.
    #[arg(long, env = "LIVESESSIONS_NO_METRICS")]
    pub no_metrics: bool,
    /// Let admins register webhook endpoints on loopback and private networks (refused by
    /// default: a webhook must not become a way into the server's own network).
    #[arg(long, env = "LIVESESSIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS")]
    pub webhook_allow_private_targets: bool,
    /// Let admins register `http://` webhook endpoints (only `https://` by default).
    #[arg(long, env = "LIVESESSIONS_WEBHOOK_ALLOW_HTTP")]
    pub webhook_allow_http: bool,
    /// The server's public origin (`https://host[:port]`), for the links in calendar feeds.
    /// Without it they are built from each request's `Host` header (checked, `http` for
    /// loopback hosts, `https` otherwise); set it in production.
    #[arg(long, env = "LIVESESSIONS_PUBLIC_BASE_URL")]
    pub public_base_url: Option<url::Url>,
}

/// The time zone named `name` (an IANA name), for `--time-zone`.
fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::parse(name).map_err(|_| {
        format!("unknown time zone {name:?}: give an IANA name such as UTC, Europe/Paris or America/New_York")
    })
}

/// What the server was built from, for the start banner.
#[derive(Debug)]
pub struct Built {
    /// The router to serve.
    pub router: Router,
    /// Which store ("SQLite ./livesessions.db" …).
    pub store: String,
    /// Where uploaded thumbnails are kept ("in the database" or the directory).
    pub thumbnails: String,
    /// Whether webhooks are delivered, and to which targets.
    pub webhooks: String,
    /// Which auth mode.
    pub auth: String,
    /// Whether `POST /api/dev/token` is on.
    pub dev_mode: bool,
    /// Send `true` to end the open event streams (the first step of a graceful shutdown).
    pub stop: tokio::sync::watch::Sender<bool>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The options contradict each other.
    #[error("{0}")]
    Options(String),
    /// The store could not be opened or migrated.
    #[error("could not open the store at {url}: {source}")]
    Store {
        /// The database URL (without credentials).
        url: String,
        /// Why.
        #[source]
        source: livesessions::Error,
    },
    /// The authenticator could not be built.
    #[error("could not set up authentication: {0}")]
    Auth(#[from] livesessions_http::AuthSetupError),
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// An opened store: the store, its health check, its thumbnails, and for the banner its name
/// and where in it the thumbnails are.
struct Opened {
    store: Arc<dyn Store>,
    health: Arc<dyn HealthCheck>,
    log: Arc<dyn EventLog>,
    webhooks: Arc<dyn WebhookStore>,
    calendar: Arc<dyn CalendarFeedStore>,
    thumbnails: Arc<dyn ThumbnailStore>,
    name: String,
    thumbnails_name: &'static str,
}

impl Opened {
    /// `store` in every role, with its own thumbnail store.
    fn of<S>(
        store: S,
        thumbnails: impl ThumbnailStore,
        thumbnails_name: &'static str,
        name: String,
    ) -> Opened
    where
        S: Store + HealthCheck + EventLog + WebhookStore + CalendarFeedStore,
    {
        let store = Arc::new(store);
        Opened {
            store: store.clone(),
            health: store.clone(),
            log: store.clone(),
            webhooks: store.clone(),
            calendar: store,
            thumbnails: Arc::new(thumbnails),
            name,
            thumbnails_name,
        }
    }
}

async fn open_store(url: &str) -> Result<Opened, StartError> {
    let fail = |source| StartError::Store {
        url: redact(url),
        source,
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = livesessions_sql::postgres::PostgresStore::connect(url)
            .await
            .map_err(fail)?;
        store.migrate().await.map_err(fail)?;
        let thumbnails = store.thumbnails();
        Ok(Opened::of(
            store,
            thumbnails,
            "in the database (table live_session_thumbnails)",
            format!("PostgreSQL {}", redact(url)),
        ))
    } else if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
        let store = livesessions_mongo::MongoStore::connect(url)
            .await
            .map_err(fail)?;
        store.ensure_indexes().await.map_err(fail)?;
        let thumbnails = store.thumbnails();
        Ok(Opened::of(
            store,
            thumbnails,
            "in the database (GridFS bucket live_session_thumbnails)",
            format!("MongoDB {}", redact(url)),
        ))
    } else if url.starts_with("sqlite:") {
        let store = livesessions_sql::sqlite::SqliteStore::connect(url)
            .await
            .map_err(fail)?;
        store.migrate().await.map_err(fail)?;
        let thumbnails = store.thumbnails();
        Ok(Opened::of(
            store,
            thumbnails,
            "in the database (table live_session_thumbnails)",
            format!("SQLite {url}"),
        ))
    } else {
        Err(StartError::Options(format!(
            "--database-url must start with sqlite:, postgres:// or mongodb://, not {}",
            redact(url)
        )))
    }
}

/// Completes when `true` is sent on the stop channel; never when its sender is dropped without
/// sending (a host that keeps no handle to stop the server).
async fn until_stopped(mut stopping: tokio::sync::watch::Receiver<bool>) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs the event feed until the server stops, and reports how far it trails the log in
/// `/metrics` (`livesessions_event_log_lag_seconds`: how long the oldest event it has not
/// broadcast has waited).
fn spawn_feed(
    feed: EventFeed,
    log: Arc<dyn EventLog>,
    metrics: Metrics,
    stopping: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn({
        let (feed, stopping) = (feed.clone(), stopping.clone());
        async move { feed.run(until_stopped(stopping)).await }
    });
    tokio::spawn(async move {
        let measure = async {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                let Some(position) = feed.position() else {
                    continue;
                };
                let lag = match log.read_events(position, 1).await {
                    Ok(next) => next.first().map_or(std::time::Duration::ZERO, |event| {
                        (chrono::Utc::now() - event.at).to_std().unwrap_or_default()
                    }),
                    Err(_) => continue,
                };
                metrics.set_event_log_lag(lag);
            }
        };
        tokio::select! {
            () = measure => {}
            () = until_stopped(stopping) => {}
        }
    });
}

fn random_secret() -> String {
    // Two v4 UUIDs: 244 random bits from the operating system's generator.
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// How requests are authenticated, decided from the options before anything is opened.
enum AuthMode {
    /// Firebase ID tokens of a project.
    Firebase(String),
    /// HS256 tokens signed with a configured secret.
    Secret(String),
    /// Dev mode: `POST /api/dev/token` signs anyone in, with a secret made up at start.
    Dev,
}

fn auth_mode(config: &ServerConfig) -> Result<AuthMode, StartError> {
    match (&config.jwt_secret, &config.firebase_project) {
        (Some(_), Some(_)) => Err(StartError::Options(
            "--jwt-secret and --firebase-project exclude each other: give one way to verify tokens"
                .into(),
        )),
        (Some(_), None) | (None, Some(_)) if config.dev => Err(StartError::Options(
            "--dev cannot be combined with --jwt-secret or --firebase-project: dev mode lets anyone \
             sign in, as an admin too. Drop --dev to run with real authentication, or drop the \
             secret or project to try the server locally"
                .into(),
        )),
        (Some(secret), None) => Ok(AuthMode::Secret(secret.clone())),
        (None, Some(project)) => Ok(AuthMode::Firebase(project.clone())),
        (None, None) if config.dev || config.bind.ip().is_loopback() => Ok(AuthMode::Dev),
        (None, None) => Err(StartError::Options(format!(
            "{} is not a loopback address: give --jwt-secret or --firebase-project, or --dev to \
             let anyone who reaches it sign in (as an admin too)",
            config.bind
        ))),
    }
}

/// Builds the server.
pub async fn build(config: &ServerConfig) -> Result<Built, StartError> {
    let mode = auth_mode(config)?;
    let opened = open_store(&config.database_url).await?;
    let (thumbnails, thumbnails_name): (Arc<dyn ThumbnailStore>, _) = match &config.thumbnail_dir {
        Some(dir) => (
            Arc::new(LocalDirThumbnails::new(dir)),
            format!("in the directory {}", dir.display()),
        ),
        None => (opened.thumbnails, opened.thumbnails_name.to_owned()),
    };
    // Events go through the store's log, so every instance on one database hears every
    // change; this process's feed tails it.
    let feed = EventFeed::new(
        opened.log.clone(),
        opened.store.clone(),
        EventFeedSettings::default(),
    );
    let service = LiveSessions::builder(opened.store.clone())
        .thumbnails(thumbnails)
        .health(opened.health)
        .settings(ServiceSettings {
            default_time_zone: config.time_zone,
            ..ServiceSettings::default()
        })
        .build();

    let admins = JwtConfig::default().with_admin_emails(config.admin_emails.clone());
    let (authenticator, auth_name, dev_secret) = match mode {
        AuthMode::Firebase(project) => (
            JwtAuthenticator::new(
                JwtConfig::firebase(&project).with_admin_emails(config.admin_emails.clone()),
                livesessions_http::KeySource::JwksUrl(livesessions_http::FIREBASE_JWKS_URL.into()),
            )?,
            format!("Firebase ID tokens of project {project}; dev sign-in off"),
            None,
        ),
        AuthMode::Secret(secret) => (
            JwtAuthenticator::hs256(&secret, admins)?,
            "HS256 JWTs signed with --jwt-secret; dev sign-in off".to_owned(),
            None,
        ),
        AuthMode::Dev => {
            // Dev tokens are only ever signed with a secret that lives and dies with this
            // process, so they are worthless to any other server.
            let secret = random_secret();
            (
                JwtAuthenticator::hs256(&secret, admins)?,
                "dev mode: POST /api/dev/token signs anyone in, admins too, with a secret made up \
                 at start (the page shows a sign-in form)"
                    .to_owned(),
                Some(secret),
            )
        }
    };
    let dev_mode = dev_secret.is_some();

    let mut settings = HttpSettings::default();
    if config.no_rate_limits {
        settings.rate_limits = RateLimitSettings::disabled();
    }
    settings.metrics = !config.no_metrics;
    settings.metrics_token = config.metrics_token.clone();
    settings.public_base_url = config.public_base_url.clone();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let metrics = Metrics::new();
    // The scheduler starts and ends the sessions that do so by themselves; every instance on
    // one database runs it (the version checks let one of them act on each session).
    tokio::spawn({
        let service = service.clone();
        let stopping = stopping.clone();
        async move { service.run_scheduler(until_stopped(stopping)).await }
    });
    let mut api = LiveSessionsApi::new(service)
        .auth(Arc::new(authenticator))
        .event_feed(feed.clone())
        .metrics(metrics.clone())
        .settings(settings)
        .shutdown_signal(stopping.clone());
    spawn_feed(feed, opened.log.clone(), metrics.clone(), stopping.clone());
    let policy = TargetPolicy {
        allow_private: config.webhook_allow_private_targets,
        allow_http: config.webhook_allow_http,
    };
    api = api.webhooks(opened.webhooks.clone(), policy);
    api = api.calendar(opened.calendar);
    let worker = WebhookWorker::new(
        opened.webhooks,
        Arc::new(ReqwestTransport::new().with_metrics(metrics)),
        Arc::new(SystemClock),
        WorkerSettings {
            policy,
            ..WorkerSettings::default()
        },
    )
    .with_event_log(opened.log)
    .with_sessions(opened.store);
    // The worker stops when the server does; a dropped sender means it never does.
    let (worker_stop, worker_stopping) = tokio::sync::watch::channel(false);
    tokio::spawn({
        let stopping = stopping.clone();
        async move {
            until_stopped(stopping).await;
            let _ = worker_stop.send(true);
        }
    });
    tokio::spawn(async move { worker.run(worker_stopping).await });
    let webhooks = format!(
        "delivered from the event log ({}{})",
        if policy.allow_http {
            "http and https"
        } else {
            "https only"
        },
        if policy.allow_private {
            ", private targets allowed"
        } else {
            ", private targets refused"
        }
    );
    let mut router = api.router();
    if let Some(secret) = dev_secret {
        router = router.merge(dev_routes(secret));
    }
    router = router.route(
        "/",
        axum::routing::get(|| async { axum::response::Redirect::temporary("/live-sessions") }),
    );
    Ok(Built {
        router,
        store: opened.name,
        thumbnails: thumbnails_name,
        webhooks,
        auth: auth_name,
        dev_mode,
        stop,
    })
}

#[derive(Debug, Deserialize)]
struct DevTokenRequest {
    name: String,
    email: String,
    #[serde(default)]
    admin: bool,
}

#[derive(Debug, Serialize)]
struct DevTokenResponse {
    token: String,
}

#[derive(Debug, Serialize)]
struct DevClaims {
    sub: String,
    name: String,
    email: String,
    admin: bool,
    iat: u64,
    exp: u64,
}

fn dev_routes(secret: String) -> Router {
    Router::new()
        .route("/api/dev/token", post(dev_token).get(dev_mode_info))
        .with_state(Arc::new(secret))
}

/// `GET /api/dev/token`: tells the page that dev sign-in is available and how to use it.
async fn dev_mode_info() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "devMode": true,
        "usage": "POST {\"name\", \"email\", \"admin\"} here to get {\"token\"}",
    }))
}

/// `POST /api/dev/token`: a 12-hour HS256 token for whoever asks. Dev mode only.
async fn dev_token(
    State(secret): State<Arc<String>>,
    Json(request): Json<DevTokenRequest>,
) -> Result<Json<DevTokenResponse>, (StatusCode, Json<serde_json::Value>)> {
    let invalid = |field: &str, message: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({
                "type": "about:blank", "title": "Unprocessable Entity", "status": 422,
                "errors": [{"field": field, "code": "invalid", "message": message}],
            })),
        )
    };
    let name =
        livesessions::UserName::parse(&request.name).map_err(|e| invalid("name", &e.message))?;
    let email =
        livesessions::Email::parse(&request.email).map_err(|e| invalid("email", &e.message))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let claims = DevClaims {
        sub: format!("dev-{}", email.as_str().to_lowercase()),
        name: name.as_str().to_owned(),
        email: email.as_str().to_owned(),
        admin: request.admin,
        iat: now,
        exp: now + 12 * 3600,
    };
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({"title": "could not sign a token", "status": 500})),
        )
    })?;
    Ok(Json(DevTokenResponse { token }))
}
