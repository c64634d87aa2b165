//! Metrics in the Prometheus text exposition format (version 0.0.4), served at `GET /metrics`.
//!
//! Every [`LiveSessionsApi`](crate::LiveSessionsApi) has a [`Metrics`]: its own registry, not a
//! process-wide one, so several routers in one process (tests, or two APIs in one host) never
//! mix their figures. Give several routers the same [`Metrics`] with
//! [`LiveSessionsApi::metrics`](crate::LiveSessionsApi::metrics) when they should share one.
//!
//! # What is measured
//!
//! | name | type | labels | what |
//! |------|------|--------|------|
//! | `livesessions_http_requests_total` | counter | `route`, `method`, `status` | requests answered |
//! | `livesessions_http_request_duration_seconds` | histogram | `route`, `method`, `status` | time until the response head was ready |
//! | `livesessions_joins_total` | counter | `kind` (`first`, `rejoin`) | successful joins |
//! | `livesessions_heartbeats_total` | counter | | successful heartbeats |
//! | `livesessions_leaves_total` | counter | | successful leaves |
//! | `livesessions_event_streams_open` | gauge | | event streams (`GET /api/live-sessions/events`) open now |
//! | `livesessions_event_log_lag_seconds` | gauge | | how far the event log is behind, as last reported with [`Metrics::set_event_log_lag`] |
//! | `livesessions_webhook_deliveries_total` | counter | `outcome` (`success`, `failure`, `disabled`) | webhook deliveries, as reported with [`Metrics::record_webhook_delivery`] |
//!
//! Labels never carry what a client chose freely, so no client can make the number of series
//! grow without bound:
//!
//! - `route` is the route's template as axum matched it (`/api/live-sessions/{id}`, with the
//!   prefix of a router nested under one), never the raw path; requests that match no route
//!   (the `404` fallback) all share the route `unmatched`.
//! - `method` is one of the standard methods (`GET`, `POST`, …); any other is `other`.
//! - `status` is the numeric status code of the answer (`200`, `404`, `429`, …).
//!
//! Only this router's routes and its fallbacks are counted, not routes the host adds to the
//! merged router.
//!
//! The joins, heartbeats and leaves count successful calls only; refused ones show in the HTTP
//! counters with their status. An event stream counts as open from its first byte until it ends:
//! when the client goes away, when it falls behind and is closed, or at shutdown. A request
//! whose client disconnects before the answer is ready is not counted.
//!
//! # Exposure
//!
//! `GET /metrics` is served by default ([`HttpSettings::metrics`](crate::HttpSettings::metrics)).
//! It tells anyone who reaches it how busy the service is and which routes fail, so do not
//! expose it on the public internet: block the path at the reverse proxy, set
//! [`HttpSettings::metrics_token`](crate::HttpSettings::metrics_token) so that only a scraper
//! sending `Authorization: Bearer <token>` may read it, or switch the route off and serve
//! [`Metrics::render`] from a listener on an internal network. Switching the route off does
//! not stop the counting.
//!
//! ```
//! use livesessions_http::{Metrics, WebhookOutcome};
//!
//! let metrics = Metrics::new();
//! metrics.record_webhook_delivery(WebhookOutcome::Success);
//! metrics.set_event_log_lag(std::time::Duration::from_millis(250));
//! let text = metrics.render();
//! assert!(text.contains("livesessions_webhook_deliveries_total{outcome=\"success\"} 1"));
//! assert!(text.contains("livesessions_event_log_lag_seconds 0.25"));
//! ```

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds, in seconds, of the request-duration buckets: from 5 ms up to the default
/// request timeout (30 s).
const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The outcome of one webhook delivery, the `outcome` label of
/// `livesessions_webhook_deliveries_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookOutcome {
    /// The receiver accepted the delivery.
    Success,
    /// The delivery failed (the receiver refused it, or could not be reached).
    Failure,
    /// Nothing was sent because webhooks are switched off.
    Disabled,
}

impl WebhookOutcome {
    /// The label value: `success`, `failure` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Success => "success",
            WebhookOutcome::Failure => "failure",
            WebhookOutcome::Disabled => "disabled",
        }
    }

    const ALL: [WebhookOutcome; 3] = [
        WebhookOutcome::Success,
        WebhookOutcome::Failure,
        WebhookOutcome::Disabled,
    ];
}

impl EncodeLabelValue for WebhookOutcome {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder<'_>,
    ) -> Result<(), fmt::Error> {
        fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct JoinLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: WebhookOutcome,
}

type HistogramFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

/// The metrics of one API: counters, gauges and histograms in a registry of their own, rendered
/// by [`Metrics::render`] (and `GET /metrics`). Cheap to clone: clones share the figures.
///
/// See the [module documentation](self) for what is measured.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    durations: HistogramFamily,
    joins: Family<JoinLabels, Counter>,
    heartbeats: Counter,
    leaves: Counter,
    open_streams: Gauge,
    event_log_lag: Gauge<f64, AtomicU64>,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("open_streams", &self.inner.open_streams.get())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// The `Content-Type` of [`Metrics::render`]'s text: the Prometheus text format, version
    /// 0.0.4.
    pub const CONTENT_TYPE: &'static str =
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

    /// A fresh set of metrics, every counter at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("livesessions");
        let requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status code",
            requests.clone(),
        );
        let durations: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        registry.register_with_unit(
            "http_request_duration",
            "Time until the response head was ready, by route template, method and status code",
            Unit::Seconds,
            durations.clone(),
        );
        let joins = Family::<JoinLabels, Counter>::default();
        registry.register(
            "joins",
            "Successful joins: first joins of a user to a session, and rejoins",
            joins.clone(),
        );
        let heartbeats = Counter::default();
        registry.register("heartbeats", "Successful heartbeats", heartbeats.clone());
        let leaves = Counter::default();
        registry.register("leaves", "Successful leaves", leaves.clone());
        let open_streams = Gauge::default();
        registry.register(
            "event_streams_open",
            "Event streams (Server-Sent Events) open now",
            open_streams.clone(),
        );
        let event_log_lag = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "event_log_lag",
            "How far the event log is behind, as last reported",
            Unit::Seconds,
            event_log_lag.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries by outcome: success, failure, or disabled (nothing sent)",
            webhook_deliveries.clone(),
        );
        // Series that exist from the start, so rates and dashboards see a zero, not a gap.
        for kind in ["first", "rejoin"] {
            let _ = joins.get_or_create(&JoinLabels { kind });
        }
        for outcome in WebhookOutcome::ALL {
            let _ = webhook_deliveries.get_or_create(&OutcomeLabels { outcome });
        }
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                durations,
                joins,
                heartbeats,
                leaves,
                open_streams,
                event_log_lag,
                webhook_deliveries,
            }),
        }
    }

    /// Every metric, in the Prometheus text format (version 0.0.4, [`Metrics::CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry)
        {
            // Writing into a `String` does not fail; a label that cannot be encoded would.
            tracing::error!(%error, "the metrics could not be rendered");
        }
        text
    }

    /// Reports how far the event log is behind (`livesessions_event_log_lag_seconds`). The gauge
    /// keeps the last value reported; report zero once it has caught up.
    pub fn set_event_log_lag(&self, lag: Duration) {
        self.inner.event_log_lag.set(lag.as_secs_f64());
    }

    /// Counts one webhook delivery with its outcome (`livesessions_webhook_deliveries_total`).
    pub fn record_webhook_delivery(&self, outcome: WebhookOutcome) {
        self.inner
            .webhook_deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts a successful join: a user's first join of the session, or a rejoin.
    pub(crate) fn joined(&self, first_join: bool) {
        let kind = if first_join { "first" } else { "rejoin" };
        self.inner.joins.get_or_create(&JoinLabels { kind }).inc();
    }

    /// Counts a successful heartbeat.
    pub(crate) fn heartbeat(&self) {
        self.inner.heartbeats.inc();
    }

    /// Counts a successful leave.
    pub(crate) fn left(&self) {
        self.inner.leaves.inc();
    }

    /// Counts an event stream as open until the returned guard is dropped.
    pub(crate) fn stream_opened(&self) -> OpenStream {
        self.inner.open_streams.inc();
        OpenStream(self.inner.open_streams.clone())
    }

    fn observe_request(&self, labels: HttpLabels, elapsed: Duration) {
        self.inner
            .durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.inner.requests.get_or_create(&labels).inc();
    }
}

/// Held by an open event stream: `livesessions_event_streams_open` goes down when it is dropped.
pub(crate) struct OpenStream(Gauge);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The `method` label: a standard method's name, `other` for any other.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The middleware around every route and the fallbacks: counts the request and its duration
/// under its route template.
pub(crate) async fn track(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = HttpLabels {
        route,
        method,
        status: response.status().as_u16(),
    };
    metrics.observe_request(labels, started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_metrics_render_every_family_with_zeroes() {
        let text = Metrics::new().render();
        for line in [
            "# TYPE livesessions_joins_total counter",
            "livesessions_joins_total{kind=\"first\"} 0",
            "livesessions_joins_total{kind=\"rejoin\"} 0",
            "livesessions_heartbeats_total 0",
            "livesessions_leaves_total 0",
            "livesessions_event_streams_open 0",
            "livesessions_event_log_lag_seconds 0.0",
            "livesessions_webhook_deliveries_total{outcome=\"success\"} 0",
            "livesessions_webhook_deliveries_total{outcome=\"failure\"} 0",
            "livesessions_webhook_deliveries_total{outcome=\"disabled\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
        // The HTTP families appear with their first request.
        assert!(!text.contains("livesessions_http_"), "{text}");
    }

    #[test]
    fn clones_share_their_figures_and_new_metrics_do_not() {
        let a = Metrics::new();
        let b = a.clone();
        let other = Metrics::new();
        a.joined(true);
        b.joined(false);
        b.heartbeat();
        a.left();
        let stream = b.stream_opened();
        let text = a.render();
        assert!(text.contains("livesessions_joins_total{kind=\"first\"} 1\n"));
        assert!(text.contains("livesessions_joins_total{kind=\"rejoin\"} 1\n"));
        assert!(text.contains("livesessions_heartbeats_total 1\n"));
        assert!(text.contains("livesessions_leaves_total 1\n"));
        assert!(text.contains("livesessions_event_streams_open 1\n"));
        drop(stream);
        assert!(a.render().contains("livesessions_event_streams_open 0\n"));
        assert!(other.render().contains("livesessions_heartbeats_total 0\n"));
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let custom = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&custom), "other");
    }
}
