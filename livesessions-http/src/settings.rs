//! Settings of the HTTP adapter: plain structs with [`Default`].

use std::time::Duration;

use axum::http::HeaderName;

/// Everything the router can be tuned with. `HttpSettings::default()` suits a public deployment,
/// once `GET /metrics` is protected ([`HttpSettings::metrics_token`]) or kept from the public.
///
/// Its `Debug` output never shows the metrics token.
#[derive(Clone)]
pub struct HttpSettings {
    /// Rate limits and the cap on open event streams, per signed-in user (per client IP for
    /// anonymous requests).
    pub rate_limits: RateLimitSettings,
    /// Largest JSON request body, in bytes (default 64 KiB).
    pub json_body_limit: usize,
    /// Largest `multipart/form-data` request body, in bytes (default 6 MiB; the thumbnail itself
    /// may be at most 5 MiB).
    pub multipart_body_limit: usize,
    /// How long a request may take before it is answered with `503` (default 30 s). The
    /// Server-Sent Events route is exempt.
    pub request_timeout: Duration,
    /// Where the client's IP address comes from (default: the TCP peer).
    pub client_ip: ClientIpSource,
    /// How often an idle event stream sends a keep-alive comment (default 15 s).
    pub sse_keep_alive: Duration,
    /// How long a client waits before reconnecting a lost event stream, sent as `retry:` at the
    /// start of every stream (default 2 s).
    pub sse_retry: Duration,
    /// The path under which the host nests this router (default empty, i.e. merged at the root).
    /// It is put in front of every link the API generates: `Location`, `Link`, and the URLs of
    /// uploaded thumbnails.
    pub path_prefix: String,
    /// The `Retry-After` value, in seconds, sent with `503` answers (default 5).
    pub unavailable_retry_after: u32,
    /// Whether `GET /metrics` is served (default `true`): the [`Metrics`](crate::Metrics) in the
    /// Prometheus text format. It shows how busy the service is and which routes fail, so keep
    /// it from the public: set [`metrics_token`](HttpSettings::metrics_token), block the path at
    /// the reverse proxy, or switch it off here and serve
    /// [`Metrics::render`](crate::Metrics::render) on an internal listener. `false` only removes
    /// the route (from the OpenAPI document too); the figures are still counted.
    pub metrics: bool,
    /// A secret that `GET /metrics` requires as `Authorization: Bearer <token>` (default none:
    /// anyone who reaches the route may read it). Prometheus sends it with the scrape job's
    /// `authorization: { credentials: <token> }`. Other requests answer `401`; an empty token
    /// lets nobody in. The route does not verify the API's own JWTs.
    pub metrics_token: Option<String>,
    /// The server's public origin, `https://host[:port]` (default none), for the absolute links
    /// of the calendar feeds: the feed URL a user subscribes to and each event's link to its
    /// session. Set it in production. Without it the origin is taken from the request's `Host`
    /// header, accepted only when it is a plain host name or address with an optional port
    /// (anything else answers `400`), with `http` for loopback hosts and `https` otherwise; a
    /// proxy that forwards another host's name, or a client that forges `Host`, then decides
    /// those links, so the feeds are sent `Cache-Control: private` in that case.
    pub public_base_url: Option<url::Url>,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("rate_limits", &self.rate_limits)
            .field("json_body_limit", &self.json_body_limit)
            .field("multipart_body_limit", &self.multipart_body_limit)
            .field("request_timeout", &self.request_timeout)
            .field("client_ip", &self.client_ip)
            .field("sse_keep_alive", &self.sse_keep_alive)
            .field("path_prefix", &self.path_prefix)
            .field("unavailable_retry_after", &self.unavailable_retry_after)
            .field("metrics", &self.metrics)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            rate_limits: RateLimitSettings::default(),
            json_body_limit: 64 * 1024,
            multipart_body_limit: 6 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            client_ip: ClientIpSource::Peer,
            sse_keep_alive: Duration::from_secs(15),
            sse_retry: Duration::from_secs(2),
            path_prefix: String::new(),
            unavailable_retry_after: crate::problem::DEFAULT_RETRY_AFTER,
            metrics: true,
            metrics_token: None,
            public_base_url: None,
        }
    }
}

/// Where the client's IP address, the key of the rate limits of anonymous requests, is taken
/// from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientIpSource {
    /// The TCP peer address. The host must serve the router with
    /// `into_make_service_with_connect_info::<SocketAddr>()`; without it every client shares
    /// one bucket.
    #[default]
    Peer,
    /// A header set by a reverse proxy the host trusts, e.g. `X-Forwarded-For` or `X-Real-IP`.
    /// The last (rightmost) address of the header is used: it is the one the trusted proxy
    /// appended, where addresses further left come from the client and can be forged. Requests
    /// without a usable header fall back to the TCP peer. Only configure this behind a proxy
    /// that sets the header on every request.
    TrustedHeader(HeaderName),
}

/// Rate limits: one token bucket per kind of route and per key, plus a cap on open event
/// streams per key.
///
/// The key is the signed-in user when the request carries a token that verifies, and the
/// client's IP address ([`HttpSettings::client_ip`]) otherwise: for anonymous requests and for
/// requests whose token is refused, so that forged tokens do not open fresh buckets. A class of
/// students behind one school address therefore shares nothing: each student has their own
/// buckets. The defaults leave a well-behaved client far from every limit (a heartbeat every
/// 30 s uses a sixtieth of the attendance bucket's refill).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitSettings {
    /// Whether limits apply at all (default `true`); `false` also lifts the stream cap.
    pub enabled: bool,
    /// Reading routes: lists, sessions, reports, thumbnails, events, the OpenAPI document
    /// (default: bursts of 120, 20 per second).
    pub reads: BucketSettings,
    /// Join, heartbeat and leave (default: bursts of 30, 2 per second).
    pub attendance: BucketSettings,
    /// Admin writes: create, update, delete, cancel (default: bursts of 20, 1 per second).
    pub admin_writes: BucketSettings,
    /// Concurrent event streams (`GET /api/live-sessions/events`) per key.
    pub event_streams: StreamLimitSettings,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            enabled: true,
            reads: BucketSettings {
                enabled: true,
                burst: 120,
                per_second: 20.0,
            },
            attendance: BucketSettings {
                enabled: true,
                burst: 30,
                per_second: 2.0,
            },
            admin_writes: BucketSettings {
                enabled: true,
                burst: 20,
                per_second: 1.0,
            },
            event_streams: StreamLimitSettings::default(),
        }
    }
}

impl RateLimitSettings {
    /// No limits at all.
    pub fn disabled() -> Self {
        RateLimitSettings {
            enabled: false,
            ..Default::default()
        }
    }
}

/// One token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSettings {
    /// Whether this bucket limits anything.
    pub enabled: bool,
    /// Requests a client may make at once (at least 1).
    pub burst: u32,
    /// Requests per second a client may sustain (greater than 0).
    pub per_second: f64,
}

/// How many event streams one key may hold open at once. A stream beyond the cap is refused
/// with `429` and `Retry-After`; a slot frees up when one of the key's streams closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLimitSettings {
    /// Whether streams are capped (default `true`).
    pub enabled: bool,
    /// Streams per signed-in user (default 8: a user with several tabs open).
    pub per_user: u32,
    /// Streams per client IP for anonymous callers (default 256: a large class behind one school
    /// address). Browsers' `EventSource`
    /// cannot send an `Authorization` header, so a page's stream is usually anonymous and all
    /// the tabs behind one school address share this cap; a page whose stream is refused can
    /// fall back to polling.
    pub per_ip: u32,
}

impl Default for StreamLimitSettings {
    fn default() -> Self {
        StreamLimitSettings {
            enabled: true,
            per_user: 8,
            per_ip: 256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_metrics_token() {
        let settings = HttpSettings {
            metrics_token: Some("scrape-secret-1234".to_owned()),
            ..Default::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("scrape-secret-1234"), "{shown}");
        assert!(
            shown.contains("metrics_token: Some(\"<redacted>\")"),
            "{shown}"
        );
        assert!(shown.contains("path_prefix"), "{shown}");
    }
}
