//! The [`WebhookTransport`] port: sends one signed request.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use super::url::EndpointUrl;

/// One signed delivery request: a `POST` of `body` (JSON) to `url` with `headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// The endpoint URL: its host name goes in the `Host` header and the TLS server name.
    pub url: EndpointUrl,
    /// The addresses [`TargetPolicy::vet`](super::TargetPolicy::vet) checked: the transport
    /// connects to one of these and never resolves the host again.
    pub addrs: Vec<SocketAddr>,
    /// The Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`); the transport adds `content-type: application/json`.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body, exactly as signed.
    pub body: String,
    /// How long the whole request may take.
    pub timeout: Duration,
}

/// What came of sending a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportOutcome {
    /// An HTTP answer arrived.
    Answered {
        /// Its status code.
        status: u16,
        /// How long it took.
        latency: Duration,
    },
    /// No answer within the request's timeout.
    TimedOut {
        /// How long was waited.
        latency: Duration,
    },
    /// The request failed without an answer (connection refused, TLS failure, …).
    Failed {
        /// What went wrong, for the delivery log (no secrets).
        error: String,
        /// How long it took.
        latency: Duration,
    },
}

/// Sends signed webhook requests. The HTTP adapter implements it with a real client; it must
/// not follow redirects (a redirect would bypass the target check) and should not retry on its
/// own (the worker schedules retries).
#[async_trait]
pub trait WebhookTransport: Debug + Send + Sync + 'static {
    /// Sends one request and reports what came of it.
    async fn send(&self, request: &WebhookRequest) -> TransportOutcome;
}
