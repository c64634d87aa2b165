//! Shared helpers of the HTTP tests: an app on the in-memory store, tokens, requests.
#![allow(dead_code)]

pub mod sse;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use livesessions_core::{
    BroadcastEvents, LiveSessions, LocalDirThumbnails, ManualClock, MemoryStore, Store,
};
use livesessions_http::{
    Authenticator, HttpSettings, JwtAuthenticator, JwtConfig, LiveSessionsApi, RateLimitSettings,
};
use serde_json::{json, Value};
use tower::ServiceExt;

#[allow(unused_imports)]
pub use sse::{EventReader, Frame};

/// How long a test over a real socket waits for something that should happen at once, before
/// failing instead of hanging.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);

/// Serves `router` on a free loopback port (with the peer address the rate limits key
/// anonymous callers by) and returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    format!("http://{addr}")
}

/// Sends a request over the socket and returns the answer, failing the test when none comes.
pub async fn fetch(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.unwrap()
}

/// Sends a request over the socket and returns the status of its answer.
pub async fn status_of(request: reqwest::RequestBuilder) -> reqwest::StatusCode {
    fetch(request).await.status()
}

/// Sends a request over the socket and returns its JSON answer.
pub async fn fetch_json(request: reqwest::RequestBuilder) -> Value {
    fetch(request).await.json().await.unwrap()
}

/// A client whose connections all come from `ip` (any 127.0.0.0/8 address works on Linux), as
/// a school's students do behind its one NAT address.
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

/// Statuses of a batch of replies, counted.
pub fn tally(statuses: &[u16]) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry(*s).or_default() += 1;
    }
    counts
}

/// Asserts a `429` answer with `Retry-After` and a `rate_limited` problem.
pub async fn assert_rate_limited(reply: reqwest::Response) {
    assert_eq!(reply.status(), 429);
    let retry_after: u64 = reply.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(reply.headers()["content-type"], "application/problem+json");
    let problem: Value = reply.json().await.unwrap();
    assert_eq!(problem["status"], 429);
    assert_eq!(problem["code"], "rate_limited");
}

/// Sends `requests` all at once over the socket; returns their statuses, in order.
pub async fn statuses_at_once(
    requests: impl IntoIterator<Item = reqwest::RequestBuilder>,
) -> Vec<u16> {
    futures::future::join_all(requests.into_iter().map(|request| request.send()))
        .await
        .into_iter()
        .map(|reply| reply.unwrap().status().as_u16())
        .collect()
}

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
pub const ADMIN_EMAIL: &str = "boss@example.com";

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

pub struct TestApp {
    pub router: Router,
    pub service: LiveSessions,
    pub events: Arc<BroadcastEvents>,
    pub clock: ManualClock,
    pub thumbnails: tempfile::TempDir,
}

pub fn settings() -> HttpSettings {
    HttpSettings {
        rate_limits: RateLimitSettings::disabled(),
        ..Default::default()
    }
}

/// Settings with every rate limit on, each bucket taking `burst` requests at once and refilling
/// one per 1000 s, callers told apart by `source`.
pub fn limited(burst: u32, source: livesessions_http::ClientIpSource) -> HttpSettings {
    let bucket = livesessions_http::BucketSettings {
        enabled: true,
        burst,
        per_second: 0.001,
    };
    HttpSettings {
        rate_limits: RateLimitSettings {
            enabled: true,
            reads: bucket.clone(),
            attendance: bucket.clone(),
            admin_writes: bucket,
            ..Default::default()
        },
        client_ip: source,
        ..Default::default()
    }
}

pub fn hs_auth() -> Arc<dyn Authenticator> {
    Arc::new(
        JwtAuthenticator::hs256(
            SECRET,
            JwtConfig::default().with_admin_emails([ADMIN_EMAIL]),
        )
        .unwrap(),
    )
}

pub fn app() -> TestApp {
    app_with(settings(), hs_auth())
}

pub fn app_with(settings: HttpSettings, auth: Arc<dyn Authenticator>) -> TestApp {
    let store = Arc::new(MemoryStore::new());
    app_on(store.clone(), Some(store), settings, auth)
}

/// An app whose store fails every call as `fault` says.
pub fn faulty_app(fault: Fault, settings: HttpSettings) -> TestApp {
    let store = Arc::new(FaultyStore(fault));
    app_on(store.clone(), Some(store), settings, hs_auth())
}

pub fn app_on(
    store: Arc<dyn Store>,
    health: Option<Arc<dyn livesessions_core::HealthCheck>>,
    settings: HttpSettings,
    auth: Arc<dyn Authenticator>,
) -> TestApp {
    let clock = ManualClock::new("2025-01-15T09:00:00Z".parse().unwrap());
    let events = Arc::new(BroadcastEvents::default());
    let thumbnails = tempfile::tempdir().unwrap();
    let mut builder = LiveSessions::builder(store)
        .clock(Arc::new(clock.clone()))
        .events(events.clone())
        .thumbnails(Arc::new(LocalDirThumbnails::new(thumbnails.path())));
    if let Some(health) = health {
        builder = builder.health(health);
    }
    let service = builder.build();
    let router = LiveSessionsApi::new(service.clone())
        .auth(auth)
        .events(events.clone())
        .settings(settings)
        .router();
    TestApp {
        router,
        service,
        events,
        clock,
        thumbnails,
    }
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims of a valid token for `sub`, valid for an hour.
pub fn claims(sub: &str) -> Value {
    json!({
        "sub": sub,
        "name": format!("User {sub}"),
        "email": format!("{sub}@example.com"),
        "iat": now_secs(),
        "exp": now_secs() + 3600,
    })
}

pub fn hs_token_for(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

pub fn user_token(sub: &str) -> String {
    hs_token_for(&claims(sub))
}

pub fn admin_token() -> String {
    let mut c = claims("admin-1");
    c["admin"] = json!(true);
    hs_token_for(&c)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with `status` and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(body["title"].is_string());
        assert!(body["type"].is_string());
        body
    }
}

/// The fields a validation problem's errors name, in order.
pub fn problem_fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub fn request(method: Method, uri: &str, token: Option<&str>) -> axum::http::request::Builder {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder
}

/// Sends a request without a body.
pub async fn send_empty(router: &Router, method: Method, uri: &str, token: Option<&str>) -> Reply {
    send(
        router,
        request(method, uri, token).body(Body::empty()).unwrap(),
    )
    .await
}

/// Sends `body` declared as `content_type`.
pub async fn send_body(
    router: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    content_type: &str,
    body: impl Into<Body>,
) -> Reply {
    send(
        router,
        request(method, uri, token)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap(),
    )
    .await
}

pub async fn get(router: &Router, uri: &str, token: Option<&str>) -> Reply {
    send_empty(router, Method::GET, uri, token).await
}

pub async fn send_json(
    router: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: &Value,
) -> Reply {
    let body = serde_json::to_vec(body).unwrap();
    send_body(router, method, uri, token, "application/json", body).await
}

pub async fn post_empty(router: &Router, uri: &str, token: Option<&str>) -> Reply {
    send_empty(router, Method::POST, uri, token).await
}

/// A part of a multipart form.
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File {
        name: &'a str,
        file_name: &'a str,
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

/// A `thumbnail` file part.
pub fn thumbnail<'a>(file_name: &'a str, content_type: &'a str, bytes: &'a [u8]) -> Part<'a> {
    Part::File {
        name: "thumbnail",
        file_name,
        content_type,
        bytes,
    }
}

/// A `thumbnail` file part holding [`PNG`].
pub fn png_thumbnail(file_name: &str) -> Part<'_> {
    thumbnail(file_name, "image/png", PNG)
}

pub const BOUNDARY: &str = "----livesessionsTestBoundary7MA4YWxkTrZu0gW";

pub fn multipart_body(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            Part::File {
                name,
                file_name,
                content_type,
                bytes,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                         Content-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub async fn send_multipart(
    router: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    parts: &[Part<'_>],
) -> Reply {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    send_body(
        router,
        method,
        uri,
        token,
        &content_type,
        multipart_body(parts),
    )
    .await
}

/// The original app's form fields for a new session.
pub fn seed_form<'a>(is_live: &'a str) -> Vec<Part<'a>> {
    vec![
        Part::Text("title", "Web Development 101"),
        Part::Text("description", "Learn HTML, CSS, JS"),
        Part::Text("instructor", "Sarah Khan"),
        Part::Text("videoUrl", "https://youtube.com/watch?v=dQw4w9WgXcQ"),
        Part::Text("startTime", "2025-01-15T10:00:00+05:00"),
        Part::Text("isLive", is_live),
    ]
}

/// The seed form as the original page sends it: the start time from a `datetime-local` input,
/// without an offset (`2025-01-15T10:00`).
pub fn seed_form_with_local_time<'a>(is_live: &'a str) -> Vec<Part<'a>> {
    seed_form(is_live)
        .into_iter()
        .map(|part| match part {
            Part::Text("startTime", _) => Part::Text("startTime", "2025-01-15T10:00"),
            other => other,
        })
        .collect()
}

pub fn session_body(title: &str) -> Value {
    json!({
        "title": title,
        "description": "An introduction",
        "instructor": "Ada Lovelace",
        "videoUrl": "https://youtu.be/dQw4w9WgXcQ",
        "startTime": "2025-01-15T10:00:00Z",
        "timezone": "Asia/Karachi",
    })
}

/// Sends `body` as an update of session `id` (`PUT /api/admin/live-sessions/{id}`) with `token`.
pub async fn put_session(router: &Router, id: &str, token: &str, body: &Value) -> Reply {
    let uri = format!("/api/admin/live-sessions/{id}");
    send_json(router, Method::PUT, &uri, Some(token), body).await
}

/// Asserts a `201 Created` answer and returns its JSON.
pub fn created(reply: Reply) -> Value {
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

/// The route that creates sessions.
pub const CREATE: &str = "/api/admin/live-sessions";

/// Sends `body` to the create route ([`CREATE`]) as an admin.
pub async fn post_session(router: &Router, body: &Value) -> Reply {
    send_json(router, Method::POST, CREATE, Some(&admin_token()), body).await
}

/// Sends a multipart form to the create route ([`CREATE`]) as an admin.
pub async fn post_session_form(router: &Router, parts: &[Part<'_>]) -> Reply {
    send_multipart(router, Method::POST, CREATE, Some(&admin_token()), parts).await
}

/// Creates a session through the API and returns its JSON.
pub async fn create(router: &Router, body: &Value) -> Value {
    created(post_session(router, body).await)
}

/// Creates a session through the API from a multipart form and returns its JSON.
pub async fn create_from_form(router: &Router, parts: &[Part<'_>]) -> Value {
    created(post_session_form(router, parts).await)
}

/// Creates a session titled `title` ([`session_body`]) through the API and returns its id.
pub async fn create_id(router: &Router, title: &str) -> String {
    create(router, &session_body(title)).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Sends `body` to the join route (`POST /api/live-sessions/join`) with `token`.
pub async fn post_join(router: &Router, token: &str, body: &Value) -> Reply {
    send_json(
        router,
        Method::POST,
        "/api/live-sessions/join",
        Some(token),
        body,
    )
    .await
}

/// How a [`FaultyStore`] fails.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Every call is `Error::Unavailable`.
    Unavailable,
    /// Every call is `Error::Storage` with a cause that must never reach a client.
    Storage,
    /// Every call hangs (for timeouts).
    Hang,
}

/// A store whose every call fails the same way.
#[derive(Debug)]
pub struct FaultyStore(pub Fault);

pub const SECRET_CAUSE: &str = "connection string postgres://admin:hunter2@db";

impl FaultyStore {
    async fn fail<T>(&self) -> livesessions_core::Result<T> {
        match self.0 {
            Fault::Unavailable => Err(livesessions_core::Error::unavailable(SECRET_CAUSE)),
            Fault::Storage => Err(livesessions_core::Error::storage(SECRET_CAUSE)),
            Fault::Hang => {
                std::future::pending::<()>().await;
                Err(livesessions_core::Error::unavailable("never"))
            }
        }
    }
}

mod faulty_impls {
    use super::FaultyStore;
    use async_trait::async_trait;

    use livesessions_core::*;
    use std::time::Duration;

    #[async_trait]
    impl SessionStore for FaultyStore {
        async fn insert_session(&self, _: &LiveSession) -> Result<()> {
            self.fail().await
        }
        async fn get_session(&self, _: SessionId) -> Result<Option<LiveSession>> {
            self.fail().await
        }
        async fn update_session(
            &self,
            _: &LiveSession,
            _: livesessions_core::EventKind,
        ) -> Result<LiveSession> {
            self.fail().await
        }
        async fn delete_session(&self, _: SessionId) -> Result<bool> {
            self.fail().await
        }
        async fn list_sessions(&self, _: &ListQuery) -> Result<Page<LiveSession>> {
            self.fail().await
        }
        async fn due_sessions(
            &self,
            _: chrono::DateTime<chrono::Utc>,
            _: usize,
        ) -> Result<Vec<LiveSession>> {
            self.fail().await
        }
        async fn insert_series(&self, _: &[LiveSession]) -> Result<()> {
            self.fail().await
        }
        async fn series_sessions(&self, _: SeriesId) -> Result<Vec<LiveSession>> {
            self.fail().await
        }
        async fn empty_sessions(
            &self,
            _: chrono::DateTime<chrono::Utc>,
            _: std::time::Duration,
            _: usize,
        ) -> Result<Vec<livesessions_core::EmptySession>> {
            self.fail().await
        }
    }

    #[async_trait]
    impl AttendanceStore for FaultyStore {
        async fn join(&self, _: &JoinRequest) -> Result<JoinOutcome> {
            self.fail().await
        }
        async fn heartbeat(&self, _: SessionId, _: &UserId, _: Presence) -> Result<Participant> {
            self.fail().await
        }
        async fn leave(&self, _: SessionId, _: &UserId, _: Presence) -> Result<Participant> {
            self.fail().await
        }
        async fn end_session(&self, _: &LiveSession, _: Duration) -> Result<LiveSession> {
            self.fail().await
        }
        async fn get_participant(&self, _: SessionId, _: &UserId) -> Result<Option<Participant>> {
            self.fail().await
        }
        async fn watching(&self, _: SessionId, _: Presence) -> Result<u64> {
            self.fail().await
        }
    }

    #[async_trait]
    impl AnalyticsStore for FaultyStore {
        async fn session_report(&self, _: &ReportQuery) -> Result<SessionReport> {
            self.fail().await
        }
        async fn attendance(&self, _: &AttendanceQuery) -> Result<AttendancePage> {
            self.fail().await
        }
        async fn overview(&self, _: &OverviewQuery) -> Result<Overview> {
            self.fail().await
        }
        async fn participation(&self, _: &ParticipationQuery) -> Result<Participation> {
            self.fail().await
        }
        async fn series_summary(&self, _: &SeriesSummaryQuery) -> Result<SeriesSummary> {
            self.fail().await
        }
    }

    #[async_trait]
    impl roster::RosterStore for FaultyStore {
        async fn add_roster_members(
            &self,
            _: SessionId,
            _: &[roster::RosterMember],
        ) -> Result<u64> {
            self.fail().await
        }
        async fn remove_roster_member(&self, _: SessionId, _: &UserId) -> Result<bool> {
            self.fail().await
        }
        async fn roster_member(
            &self,
            _: SessionId,
            _: &UserId,
        ) -> Result<Option<roster::RosterMember>> {
            self.fail().await
        }
        async fn roster(&self, _: &roster::RosterQuery) -> Result<roster::RosterPage> {
            self.fail().await
        }
    }

    #[async_trait]
    impl HealthCheck for FaultyStore {
        async fn ping(&self) -> Result<()> {
            self.fail().await
        }
    }
}
