//! The HTTP adapter of `livesessions`: the routes of the original app on axum, with
//! authentication, rate limits, thumbnail uploads, Server-Sent Events and an OpenAPI document.
//!
//! [`LiveSessionsApi`] takes the [`LiveSessions`] service and returns an [`axum::Router`] with
//! its state applied, ready to `.merge()` into the host application's router.
//!
//! # Mounting the router
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//!
//! use axum::{routing::get, Router};
//! use livesessions_core::{BroadcastEvents, LiveSessions, LocalDirThumbnails, MemoryStore};
//! use livesessions_http::{HttpSettings, JwtAuthenticator, JwtConfig, LiveSessionsApi};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // One broadcast is both the service's event sink and the SSE route's event source.
//! let events = Arc::new(BroadcastEvents::default());
//! let service = LiveSessions::builder(Arc::new(MemoryStore::new()))
//!     .events(events.clone())
//!     .thumbnails(Arc::new(LocalDirThumbnails::new("./thumbnails")))
//!     .build();
//!
//! let auth = JwtAuthenticator::hs256(
//!     std::env::var("JWT_SECRET")?,
//!     JwtConfig::default().with_admin_emails(["admin@example.com"]),
//! )?;
//!
//! let live_sessions = LiveSessionsApi::new(service)
//!     .auth(Arc::new(auth))
//!     .events(events)
//!     .settings(HttpSettings::default())
//!     .router();
//!
//! let app = Router::new()
//!     .route("/", get(|| async { "my app" }))
//!     .merge(live_sessions);
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! // The peer address keys the rate limits of anonymous requests.
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Authentication choices
//!
//! See [`auth`] for the details.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use livesessions_http::{JwtAuthenticator, JwtConfig, KeySource};
//!
//! # fn main() -> Result<(), livesessions_http::AuthSetupError> {
//! // HS256 with a shared secret:
//! let hs = JwtAuthenticator::hs256(b"a long random secret of 32+ bytes", JwtConfig::default())?;
//!
//! // RS256/ES256 keys from a JWKS: inline, as a file, or as a URL (cached by Cache-Control):
//! let config = JwtConfig::default()
//!     .with_issuer("https://auth.example.com/")
//!     .with_audience("my-api");
//! let inline = JwtAuthenticator::new(config.clone(), KeySource::JwksJson(r#"{"keys":[...]}"#.into()));
//! let file = JwtAuthenticator::new(config.clone(), KeySource::JwksFile(PathBuf::from("jwks.json")));
//! let url = JwtAuthenticator::new(
//!     config,
//!     KeySource::JwksUrl("https://auth.example.com/.well-known/jwks.json".into()),
//! )?;
//!
//! // Firebase ID tokens of a project; admins by custom claim `admin: true` or verified email:
//! let firebase = JwtAuthenticator::firebase("my-project")?;
//! let firebase_with_admins = JwtAuthenticator::new(
//!     JwtConfig::firebase("my-project").with_admin_emails(["teacher@example.com"]),
//!     KeySource::JwksUrl(livesessions_http::FIREBASE_JWKS_URL.into()),
//! )?;
//! # let _ = (hs, inline, file, url, firebase, firebase_with_admins);
//! # Ok(())
//! # }
//! ```
//!
//! Any other scheme plugs in through the [`Authenticator`] trait.
//!
//! # What the router serves
//!
//! The routes of the original app (see [`LiveSessionsApi::routes`]), their JSON in its
//! camelCase names, errors as `application/problem+json` (unknown paths and wrong methods
//! included), `GET /api/openapi.json`, `/healthz` and `/readyz` (which asks the store), and
//! `GET /metrics` in the Prometheus text format (see [`metrics`]: switch it off or protect it
//! with a token in [`HttpSettings`] where the router faces the public). Each request gets an
//! `x-request-id` (kept when the client sends one) and a `tracing` span.
//! Without an [`EventSource`] or an [`EventFeed`] (see [`LiveSessionsApi::event_feed`], which
//! makes the stream resumable) the event stream answers `404`; without an [`Authenticator`]
//! every caller is anonymous and requests with a token get `401`.
//!
//! Calendar feeds (iCalendar, `text/calendar`): every session's event at `GET
//! /api/live-sessions/{id}/calendar.ics`, and, with a calendar store
//! ([`LiveSessionsApi::calendar`]), the public feed `GET /api/live-sessions/calendar.ics` and
//! each user's feed at a URL with a revocable token (`GET /api/live-sessions/me/calendar-feed`
//! answers it, [`CalendarFeedJson`]). Their links use [`HttpSettings::public_base_url`], or a
//! checked `Host` header when it is not set.
//!
//! Rate limits ([`RateLimitSettings`]) are kept per signed-in user, and per client IP only for
//! anonymous requests (and requests whose token is refused), so a class behind one school
//! address does not share one bucket. Open event streams are capped per user and per
//! anonymous address.
//!
//! The attendance CSV export quotes cells as RFC 4180 says and prefixes cells that begin with
//! `=`, `+`, `-` or `@` with `'`, so spreadsheets do not evaluate user-supplied names as formulas.
//!
//! When the router is nested under a path (`Router::new().nest("/school", router)`), set
//! [`HttpSettings::path_prefix`] to that path so the links the API generates point there.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
mod csv;
mod extract;
mod gate;
mod handlers;
mod ics;
mod json;
pub mod metrics;
mod openapi;
mod origin;
mod problem;
mod ratelimit;
mod resume;
mod roster_input;
mod routes;
mod session_input;
mod settings;
mod state;
mod transport;
#[cfg(feature = "ui")]
#[cfg_attr(docsrs, doc(cfg(feature = "ui")))]
pub mod ui;

use std::sync::Arc;

use axum::http::{HeaderName, Method, Request};
use axum::middleware::from_fn_with_state;
use axum::Router;
use livesessions_core::calendar::{CalendarFeedStore, CalendarFeeds};
use livesessions_core::events::EventFeed;
use livesessions_core::webhooks::{TargetPolicy, WebhookAdmin, WebhookStore};
use livesessions_core::{EventSource, LiveSessions};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use auth::{
    AuthError, AuthSetupError, Authenticator, JwtAuthenticator, JwtConfig, KeySource,
    NoAuthentication, FIREBASE_JWKS_URL,
};
pub use handlers::calendar::CalendarFeedJson;
pub use handlers::webhooks::{
    DeliveryJson, DeliveryPageJson, RotatedSecretJson, WebhookInputJson, WebhookJson,
    WebhookListJson, WebhookWithSecretJson,
};
pub use handlers::{EventJson, Health, ResetJson};
pub use json::{
    AttendanceJson, JoinRequestJson, JoinResponse, OverviewJson, ParticipantJson,
    ParticipationJson, ParticipationRowJson, PopularSessionJson, ReportJson, SessionJson,
};
pub use metrics::{Metrics, WebhookOutcome};
pub use problem::{ApiError, Problem, ProblemField, DEFAULT_RETRY_AFTER, PROBLEM_JSON};
pub use settings::{
    BucketSettings, ClientIpSource, HttpSettings, RateLimitSettings, StreamLimitSettings,
};
pub use transport::ReqwestTransport;

/// The header that carries the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Builds the live-sessions [`Router`].
#[derive(Debug, Clone)]
pub struct LiveSessionsApi {
    service: LiveSessions,
    auth: Arc<dyn Authenticator>,
    events: Option<state::Events>,
    settings: HttpSettings,
    metrics: Metrics,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    webhooks: Option<WebhookAdmin>,
    calendar: Option<CalendarFeeds>,
}

impl LiveSessionsApi {
    /// An API on `service`, with no authentication, no events and default settings.
    pub fn new(service: LiveSessions) -> Self {
        LiveSessionsApi {
            service,
            auth: Arc::new(NoAuthentication),
            events: None,
            settings: HttpSettings::default(),
            metrics: Metrics::new(),
            shutdown: None,
            webhooks: None,
            calendar: None,
        }
    }

    /// How bearer tokens are verified.
    pub fn auth(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.auth = auth;
        self
    }

    /// Where the event stream (`GET /api/live-sessions/events`) subscribes: an in-process
    /// broadcast, for a store without an event log. Give it the same broadcast the service
    /// publishes to. Its events carry no id, so a client that reconnects cannot be told what it
    /// missed: a `Last-Event-ID` is answered with a `reset` event. Replaces an earlier
    /// [`event_feed`](Self::event_feed).
    pub fn events(mut self, events: Arc<dyn EventSource>) -> Self {
        self.events = Some(state::Events::Source(events));
        self
    }

    /// Serves the event stream from the store's event log through `feed`: every event carries
    /// its log id (`id:`), and a client that reconnects with `Last-Event-ID` gets the events it
    /// missed, or a `reset` event when they are no longer in the log. Replaces an earlier
    /// [`events`](Self::events).
    ///
    /// The host runs the feed ([`EventFeed::run`]) in a task of its own, one per process, and
    /// gives the service no event sink: every change reaches the log in the store's own
    /// transaction, and the feed broadcasts it.
    ///
    /// ```no_run
    /// use std::net::SocketAddr;
    /// use std::sync::Arc;
    ///
    /// use livesessions_core::events::{EventFeed, EventFeedSettings};
    /// use livesessions_core::{LiveSessions, MemoryStore};
    /// use livesessions_http::LiveSessionsApi;
    ///
    /// # async fn termination_signal() {}
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = Arc::new(MemoryStore::new());
    /// let feed = EventFeed::new(store.clone(), store.clone(), EventFeedSettings::default());
    /// let service = LiveSessions::builder(store).build();
    ///
    /// let (stop, stopping) = tokio::sync::watch::channel(false);
    /// let tail = tokio::spawn({
    ///     let feed = feed.clone();
    ///     let mut stopping = stopping.clone();
    ///     async move {
    ///         feed.run(async move {
    ///             let _ = stopping.wait_for(|stop| *stop).await;
    ///         })
    ///         .await
    ///     }
    /// });
    ///
    /// let router = LiveSessionsApi::new(service)
    ///     .event_feed(feed)
    ///     .shutdown_signal(stopping.clone())
    ///     .router();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
    ///     .with_graceful_shutdown(async move {
    ///         termination_signal().await; // e.g. tokio::signal::ctrl_c()
    ///         let _ = stop.send(true); // ends the event streams and the feed
    ///     })
    ///     .await?;
    /// tail.await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn event_feed(mut self, feed: EventFeed) -> Self {
        self.events = Some(state::Events::Feed(feed));
        self
    }

    /// Limits, timeouts and paths.
    pub fn settings(mut self, settings: HttpSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Where the router counts its requests, joins, heartbeats, leaves and open event streams,
    /// and what `GET /metrics` shows (default: a fresh [`Metrics`] of its own). Pass a clone of
    /// one you keep to report other figures into it ([`Metrics::set_event_log_lag`],
    /// [`Metrics::record_webhook_delivery`]) or to render it elsewhere ([`Metrics::render`]).
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Ends open event streams once `stopping` turns `true`, so a server shutting down gracefully
    /// (e.g. axum's `with_graceful_shutdown`) is not held open by its event-stream clients; they
    /// reconnect, elsewhere or after the restart. Streams opened after that end at once. Dropping
    /// the sender without sending `true` ends nothing.
    pub fn shutdown_signal(mut self, stopping: tokio::sync::watch::Receiver<bool>) -> Self {
        self.shutdown = Some(stopping);
        self
    }

    /// Serves the webhook admin routes (`/api/admin/webhooks…`, admins only) on `store`:
    /// registering endpoints (their URL checked with `policy`), listing, enabling, disabling,
    /// deleting them, rotating their secrets, and their delivery logs with manual retries.
    /// Without it those routes answer `404` and are left out of the OpenAPI document.
    ///
    /// `policy` is the SSRF guard for new endpoints; [`TargetPolicy::default()`] refuses plain
    /// `http` links and every loopback, private, link-local and otherwise non-public target
    /// (a `422` naming `url`). Relax it only for development and tests, and give the
    /// [`WebhookWorker`](livesessions_core::webhooks::WebhookWorker) the same policy (it checks
    /// every attempt again); [`ReqwestTransport`] is the transport to give it.
    pub fn webhooks(mut self, store: Arc<dyn WebhookStore>, policy: TargetPolicy) -> Self {
        self.webhooks =
            Some(WebhookAdmin::new(store, policy).with_clock(self.service.clock().clone()));
        self
    }

    /// Serves the calendar feeds from `store` (usually the session store itself, which
    /// implements [`CalendarFeedStore`]): the public feed `GET
    /// /api/live-sessions/calendar.ics`, the caller's feed URL `GET` (create or rotate) and
    /// `DELETE` (revoke) `/api/live-sessions/me/calendar-feed`, and the users' feeds `GET
    /// /api/calendar/{token}.ics`. Without it those routes answer `404`. The feeds' links use
    /// [`HttpSettings::public_base_url`]; set it in production.
    pub fn calendar(mut self, store: Arc<dyn CalendarFeedStore>) -> Self {
        self.calendar = Some(CalendarFeeds::new(store).with_clock(self.service.clock().clone()));
        self
    }

    /// Every (method, path) the router serves with the default settings and no webhook store,
    /// in axum's path syntax (`/api/live-sessions/{id}`, which is also OpenAPI's). `GET
    /// /metrics` is among them unless [`HttpSettings::metrics`] switches it off; the webhook
    /// routes are in [`LiveSessionsApi::webhook_routes`].
    pub fn routes() -> Vec<(Method, &'static str)> {
        let settings = HttpSettings::default();
        routes::table()
            .into_iter()
            .filter(|r| r.served(&settings, false))
            .map(|r| (r.method, r.path))
            .collect()
    }

    /// The (method, path) of the routes [`LiveSessionsApi::webhooks`] adds.
    pub fn webhook_routes() -> Vec<(Method, &'static str)> {
        routes::table()
            .into_iter()
            .filter(|r| r.needs_webhooks)
            .map(|r| (r.method, r.path))
            .collect()
    }

    /// The OpenAPI document (JSON) the router serves at `/api/openapi.json`.
    pub fn openapi_json(&self) -> String {
        openapi::render(&self.settings, self.webhooks.is_some())
    }

    /// The router, with its state applied: merge or nest it into the host's router.
    ///
    /// With the `ui` feature, the web page at `/live-sessions` is served as well.
    ///
    /// Unknown paths answer `404` and methods a path does not serve `405` (with `Allow`), both
    /// as `application/problem+json`. The `404` is the router's fallback, so once merged it
    /// answers for the host's unknown paths too. axum refuses to merge two routers that both
    /// have a fallback: a host with its own calls
    /// [`reset_fallback`](axum::Router::reset_fallback) on this router before merging.
    pub fn router(self) -> Router {
        let metrics = self.metrics.clone();
        let state = state::AppState::new(
            self.service,
            self.auth,
            self.events,
            self.settings,
            self.metrics,
            self.shutdown,
            self.webhooks,
            self.calendar,
        );
        let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
        let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %handlers::calendar::loggable_path(request.uri().path()),
                request_id = %id,
            )
        });
        let router = routes::router(state);
        #[cfg(feature = "ui")]
        let router = router.merge(ui::router());
        router
            .method_not_allowed_fallback(routes::wrong_method)
            .fallback(routes::unknown_path)
            // Around every route and both fallbacks, so that refusals (401, 404, 413, 429, 503)
            // are counted too; requests of routes the host adds after merging are not.
            .layer(from_fn_with_state(metrics, metrics::track))
            .layer(PropagateRequestIdLayer::new(request_id.clone()))
            .layer(trace)
            .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
    }
}
