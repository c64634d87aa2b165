//! Webhooks: sessions' changes delivered to registered HTTPS endpoints, signed per
//! [Standard Webhooks 1.0](https://www.standardwebhooks.com/).
//!
//! Deliveries come from the durable [event log](crate::events::EventLog): a worker turns
//! new log events into deliveries for the matching endpoints (exactly once across server
//! instances, through a cursor the [`WebhookStore`] advances atomically), claims due
//! deliveries with a lease, signs and sends them through a [`WebhookTransport`] and records
//! each attempt.
//!
//! - Values: [`EndpointUrl`], [`EventTypes`] (with the type names [`webhook_type`]:
//!   `session.created`, …), [`EndpointDescription`], [`WebhookSecret`]; every error is a
//!   [`FieldError`](crate::FieldError) naming its field (`url`, `eventTypes`, `description`).
//! - The SSRF guard [`TargetPolicy`]: loopback, private, link-local (cloud metadata),
//!   unique-local, shared (CGNAT), reserved and multicast targets are refused at registration
//!   and again before every attempt, and the transport connects only to the vetted addresses.
//! - Signatures ([`sign`], [`signed_headers`], [`verify`]): `webhook-id` (the event id),
//!   `webhook-timestamp`, `webhook-signature` with one `v1,…` per secret; after a rotation the
//!   old secret signs too for [`ROTATION_OVERLAP`] (24 h).
//! - Retries ([`next_attempt`]): exponential backoff with full jitter, from 5 s up to 6 h,
//!   for [`RETRY_WINDOW`] (3 days) from the first attempt. 2xx is delivered, 410 Gone
//!   disables the endpoint, anything else (also timeouts after 15 s and connection errors)
//!   is retried.
//! - The body, [`WebhookPayload`]: `{"type": "session.live", "timestamp": …, "data":
//!   {"sessionId": …, "session": {…}}}`.
//! - The port [`WebhookStore`], [`MemoryWebhooks`] (feature `memory`), and the conformance
//!   cases every store runs ([`testing::webhooks`](crate::testing::webhooks), feature
//!   `testing`).
//! - The worker [`WebhookWorker`].
//! - [`WebhookAdmin`]: the admin's operations on endpoints and deliveries, with the caller
//!   checked.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use livesessions_core::webhooks::*;
//! use livesessions_core::events::LoggedEvent;
//! use livesessions_core::{Clock as _, EventId, EventKind, ManualClock, SessionId};
//!
//! #[derive(Debug)]
//! struct Accepting;
//!
//! #[async_trait::async_trait]
//! impl WebhookTransport for Accepting {
//!     async fn send(&self, request: &WebhookRequest) -> TransportOutcome {
//!         assert!(request.headers.iter().any(|(name, value)| {
//!             *name == "webhook-signature" && value.starts_with("v1,")
//!         }));
//!         TransportOutcome::Answered { status: 204, latency: Duration::from_millis(20) }
//!     }
//! }
//!
//! let clock = ManualClock::new("2030-01-15T10:00:00Z".parse().unwrap());
//! let store = Arc::new(MemoryWebhooks::new());
//! let registered = register_endpoint(
//!     &*store,
//!     &TargetPolicy::default(),
//!     &EndpointInput {
//!         url: Some("https://93.184.216.34/hooks".into()),
//!         event_types: Some(vec!["session.live".into()]),
//!         description: Some("CRM".into()),
//!     },
//!     "2030-01-15T09:00:00Z".parse().unwrap(),
//! )
//! .await?;
//! assert!(registered.secret.expose().starts_with("whsec_"));
//!
//! // What a worker reads from the event log:
//! let event = LoggedEvent {
//!     id: EventId::new(1).unwrap(),
//!     kind: EventKind::Live,
//!     session_id: SessionId::new(),
//!     at: "2030-01-15T10:00:00Z".parse().unwrap(),
//! };
//! store.enqueue_events(EventId::ZERO, &[event], clock.now()).await?;
//!
//! let worker = WebhookWorker::new(
//!     store.clone(),
//!     Arc::new(Accepting),
//!     Arc::new(clock.clone()),
//!     WorkerSettings::default(),
//! );
//! let round = worker.run_once().await?;
//! assert_eq!((round.attempted, round.delivered), (1, 1));
//! # Ok::<(), livesessions_core::Error>(())
//! # }).unwrap();
//! ```

mod admin;
mod delivery;
mod description;
mod endpoint;
mod event_types;
#[cfg(feature = "memory")]
mod memory;
mod payload;
mod port;
mod register;
mod retry;
mod secret;
mod signature;
mod target;
mod transport;
mod url;
mod worker;

pub use admin::{RotatedSecret, WebhookAdmin, DEFAULT_DELIVERY_PAGE};
pub use delivery::{
    AttemptNext, AttemptRecord, ClaimedDelivery, Delivery, DeliveryId, DeliveryPage, DeliveryQuery,
    DeliveryState, EnqueueOutcome,
};
pub use description::{EndpointDescription, DESCRIPTION_FIELD};
pub use endpoint::{
    DisabledReason, EndpointId, EndpointInput, EndpointSecrets, PreviousSecret, RegisteredEndpoint,
    WebhookEndpoint, ROTATION_OVERLAP,
};
pub use event_types::{parse_webhook_type, webhook_type, EventTypes, EVENT_TYPES_FIELD};
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use memory::MemoryWebhooks;
pub use payload::{SessionSummary, WebhookData, WebhookPayload};
pub use port::WebhookStore;
pub use register::{register_endpoint, rotate_endpoint_secret};
pub use retry::{
    backoff_ceiling, next_attempt, AttemptVerdict, ATTEMPT_TIMEOUT, BASE_DELAY, MAX_DELAY,
    MIN_DELAY, RETRY_WINDOW,
};
pub use secret::{WebhookSecret, SECRET_FIELD};
pub use signature::{
    sign, signature_header, signed_headers, verify, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};
pub use target::{is_public_unicast, TargetPolicy, RESOLVE_TIMEOUT};
pub use transport::{TransportOutcome, WebhookRequest, WebhookTransport};
pub use url::{EndpointUrl, URL_FIELD};
pub use worker::{WebhookWorker, WorkerRound, WorkerSettings};

#[cfg(test)]
#[path = "messages_tests.rs"]
mod messages_tests;
