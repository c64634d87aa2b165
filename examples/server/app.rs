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
use livesessions::{BroadcastEvents, HealthCheck, LiveSessions, LocalDirThumbnails, Store};
use livesessions_http::{
    HttpSettings, JwtAuthenticator, JwtConfig, LiveSessionsApi, RateLimitSettings,
};
use serde::{Deserialize, Serialize};

/// Everything the server can be told on its command line.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub bind: SocketAddr,
    /// `sqlite:…`, `postgres://…` or `mongodb://…`.
    pub database_url: String,
    /// HS256 secret for tokens (dev mode makes one up when absent).
    pub jwt_secret: Option<String>,
    /// Verify Firebase ID tokens of this project.
    pub firebase_project: Option<String>,
    /// Emails whose owners are admins.
    pub admin_emails: Vec<String>,
    /// Where uploaded thumbnails go.
    pub thumbnail_dir: PathBuf,
    /// Dev mode asked for explicitly.
    pub dev: bool,
    /// Switch the per-IP rate limits off (load and fuzz runs from one address).
    pub no_rate_limits: bool,
}

/// What the server was built from, for the start banner.
#[derive(Debug, Clone)]
pub struct Built {
    /// The router to serve.
    pub router: Router,
    /// Which store ("SQLite ./livesessions.db" …).
    pub store: String,
    /// Which auth mode.
    pub auth: String,
    /// Whether `POST /api/dev/token` is on.
    pub dev_mode: bool,
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

async fn open_store(
    url: &str,
) -> Result<(Arc<dyn Store>, Arc<dyn HealthCheck>, String), StartError> {
    let fail = |source| StartError::Store {
        url: redact(url),
        source,
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = livesessions_sql::postgres::PostgresStore::connect(url)
            .await
            .map_err(fail)?;
        store.migrate().await.map_err(fail)?;
        let store = Arc::new(store);
        Ok((store.clone(), store, format!("PostgreSQL {}", redact(url))))
    } else if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
        let store = livesessions_mongo::MongoStore::connect(url)
            .await
            .map_err(fail)?;
        store.ensure_indexes().await.map_err(fail)?;
        let store = Arc::new(store);
        Ok((store.clone(), store, format!("MongoDB {}", redact(url))))
    } else if url.starts_with("sqlite:") {
        let store = livesessions_sql::sqlite::SqliteStore::connect(url)
            .await
            .map_err(fail)?;
        store.migrate().await.map_err(fail)?;
        let store = Arc::new(store);
        Ok((store.clone(), store, format!("SQLite {url}")))
    } else {
        Err(StartError::Options(format!(
            "--database-url must start with sqlite:, postgres:// or mongodb://, not {}",
            redact(url)
        )))
    }
}

fn random_secret() -> String {
    // Two v4 UUIDs: 244 random bits from the operating system's generator.
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Builds the server.
pub async fn build(config: &ServerConfig) -> Result<Built, StartError> {
    let loopback = config.bind.ip().is_loopback();
    let dev_mode = (config.dev || loopback) && config.firebase_project.is_none();
    if config.dev && config.firebase_project.is_some() {
        return Err(StartError::Options(
            "--dev and --firebase-project exclude each other".into(),
        ));
    }
    let (store, health, store_name) = open_store(&config.database_url).await?;
    let events = Arc::new(BroadcastEvents::default());
    let service = LiveSessions::builder(store)
        .events(events.clone())
        .thumbnails(Arc::new(LocalDirThumbnails::new(&config.thumbnail_dir)))
        .health(health)
        .build();

    let (authenticator, auth_name, dev_secret) = match (&config.firebase_project, &config.jwt_secret) {
        (Some(project), _) => {
            let cfg = JwtConfig::firebase(project).with_admin_emails(config.admin_emails.clone());
            (
                JwtAuthenticator::new(
                    cfg,
                    livesessions_http::KeySource::JwksUrl(livesessions_http::FIREBASE_JWKS_URL.into()),
                )?,
                format!("Firebase ID tokens of project {project}"),
                None,
            )
        }
        (None, Some(secret)) => (
            JwtAuthenticator::hs256(
                secret,
                JwtConfig::default().with_admin_emails(config.admin_emails.clone()),
            )?,
            "HS256 JWTs signed with --jwt-secret".to_owned(),
            dev_mode.then(|| secret.clone()),
        ),
        (None, None) if dev_mode => {
            let secret = random_secret();
            (
                JwtAuthenticator::hs256(
                    &secret,
                    JwtConfig::default().with_admin_emails(config.admin_emails.clone()),
                )?,
                "HS256 JWTs with a secret made up at start".to_owned(),
                Some(secret),
            )
        }
        (None, None) => {
            return Err(StartError::Options(format!(
                "{} is not a loopback address: give --jwt-secret or --firebase-project, or --dev to allow dev sign-in there",
                config.bind
            )))
        }
    };

    let mut settings = HttpSettings::default();
    if config.no_rate_limits {
        settings.rate_limits = RateLimitSettings::disabled();
    }
    let mut router = LiveSessionsApi::new(service)
        .auth(Arc::new(authenticator))
        .events(events)
        .settings(settings)
        .router();
    if let Some(secret) = dev_secret {
        router = router.merge(dev_routes(secret));
    }
    router = router.route(
        "/",
        axum::routing::get(|| async { axum::response::Redirect::temporary("/live-sessions") }),
    );
    Ok(Built {
        router,
        store: store_name,
        auth: auth_name,
        dev_mode,
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
