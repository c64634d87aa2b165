//! [`ReqwestTransport`]: the [`WebhookTransport`] that sends deliveries over HTTP(S).

use std::collections::HashMap;
use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use livesessions_core::webhooks::{TransportOutcome, WebhookRequest, WebhookTransport};
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};
use reqwest::redirect::Policy;
use url::Host;

use crate::metrics::{Metrics, WebhookOutcome};

/// The `User-Agent` deliveries are sent with.
const AGENT: &str = concat!("livesessions-webhooks/", env!("CARGO_PKG_VERSION"));

/// Sends webhook deliveries with `reqwest` (TLS by rustls with the webpki roots, so no system
/// OpenSSL is needed).
///
/// Each request connects only to the addresses the worker's
/// [`TargetPolicy`](livesessions_core::webhooks::TargetPolicy) vetted
/// ([`WebhookRequest::addrs`]): the host name is never resolved again, so DNS rebinding gains
/// nothing, while the name still goes in the `Host` header and the TLS server name. Redirects
/// are not followed (a `3xx` is an answer like any other, and is retried), proxies from the
/// environment are not used, and the whole request is bounded by [`WebhookRequest::timeout`].
/// The answer's body is not read.
///
/// With [`ReqwestTransport::with_metrics`], every attempt is counted in
/// `livesessions_webhook_deliveries_total`: `success` for a `2xx`, `failure` otherwise.
#[derive(Debug, Clone, Default)]
pub struct ReqwestTransport {
    metrics: Option<Metrics>,
    /// Clients by what they are bound to, so that a client (and its TLS set-up) is built once
    /// per endpoint and vetted addresses rather than once per attempt.
    clients: Arc<Mutex<HashMap<ClientKey, reqwest::Client>>>,
}

/// What a client is bound to: the host name, the vetted addresses and the timeout.
type ClientKey = (String, Vec<SocketAddr>, Duration);

/// The most clients kept; past it the cache starts again.
const MAX_CLIENTS: usize = 256;

impl ReqwestTransport {
    /// A transport.
    pub fn new() -> Self {
        ReqwestTransport::default()
    }

    /// Counts each attempt's outcome in `metrics` (the API's, from
    /// [`LiveSessionsApi::metrics`](crate::LiveSessionsApi::metrics)).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The client bound to the request's vetted addresses, built on first use.
    fn client(&self, request: &WebhookRequest) -> reqwest::Result<reqwest::Client> {
        let mut addrs = request.addrs.clone();
        addrs.sort_unstable();
        let key = (request.url.host().to_string(), addrs, request.timeout);
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = Self::build_client(request)?;
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// A new client bound to the request's vetted addresses.
    fn build_client(request: &WebhookRequest) -> reqwest::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            .timeout(request.timeout)
            .connect_timeout(request.timeout)
            .pool_max_idle_per_host(0)
            .user_agent(AGENT);
        if let Host::Domain(name) = request.url.host() {
            builder = builder.resolve_to_addrs(name, &request.addrs);
        }
        builder.build()
    }
}

#[async_trait]
impl WebhookTransport for ReqwestTransport {
    async fn send(&self, request: &WebhookRequest) -> TransportOutcome {
        let outcome = self.attempt(request).await;
        if let Some(metrics) = &self.metrics {
            metrics.record_webhook_delivery(match outcome {
                TransportOutcome::Answered { status, .. } if (200..300).contains(&status) => {
                    WebhookOutcome::Success
                }
                _ => WebhookOutcome::Failure,
            });
        }
        outcome
    }
}

impl ReqwestTransport {
    async fn attempt(&self, request: &WebhookRequest) -> TransportOutcome {
        let started = Instant::now();
        if request.addrs.is_empty() {
            return TransportOutcome::Failed {
                error: "no vetted address to connect to".to_owned(),
                latency: Duration::ZERO,
            };
        }
        // An IP literal is connected to as it is; it must be one of the vetted addresses.
        let literal = match request.url.host() {
            Host::Ipv4(ip) => Some(std::net::IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(std::net::IpAddr::V6(ip)),
            Host::Domain(_) => None,
        };
        if literal.is_some_and(|ip| !request.addrs.iter().any(|a| a.ip() == ip)) {
            return TransportOutcome::Failed {
                error: "the link's address was not vetted".to_owned(),
                latency: Duration::ZERO,
            };
        }
        let client = match self.client(request) {
            Ok(client) => client,
            Err(e) => {
                return TransportOutcome::Failed {
                    error: describe(&e),
                    latency: started.elapsed(),
                }
            }
        };
        let mut builder = client
            .post(request.url.as_url().clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(AGENT));
        for (name, value) in &request.headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return TransportOutcome::Failed {
                    error: format!("the header {name} could not be sent"),
                    latency: Duration::ZERO,
                };
            };
            builder = builder.header(name, value);
        }
        match builder.body(request.body.clone()).send().await {
            Ok(response) => TransportOutcome::Answered {
                status: response.status().as_u16(),
                latency: started.elapsed(),
            },
            Err(e) if e.is_timeout() => TransportOutcome::TimedOut {
                latency: started.elapsed(),
            },
            Err(e) => TransportOutcome::Failed {
                error: describe(&e),
                latency: started.elapsed(),
            },
        }
    }
}

/// What went wrong, without the URL (it may carry a token in its query), with the causes.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "connection failed"
    } else if error.is_builder() {
        "the request could not be built"
    } else {
        "the request failed"
    };
    let mut text = kind.to_owned();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    let mut shown: String = text.chars().take(500).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}
