//! The delivery worker: turns new log events into deliveries and delivers what is due.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::delivery::{AttemptNext, AttemptRecord, ClaimedDelivery, EnqueueOutcome};
use super::payload::WebhookPayload;
use super::port::WebhookStore;
use super::retry::{next_attempt, AttemptVerdict, ATTEMPT_TIMEOUT};
use super::signature::signed_headers;
use super::target::TargetPolicy;
use super::transport::{TransportOutcome, WebhookRequest, WebhookTransport};
use crate::clock::Clock;
use crate::error::Result;
use crate::events::{EventKind, EventLog};
use crate::ports::SessionStore;

/// How a [`WebhookWorker`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// This worker's name in leases: unique among the instances sharing a store.
    pub worker_id: String,
    /// How many deliveries one round claims (and sends concurrently): 32 by default.
    pub batch: usize,
    /// How many log events one enqueue step reads: 500 by default.
    pub enqueue_batch: usize,
    /// How long a claim lasts: 60 s by default, and at least `attempt_timeout` + 5 s whatever
    /// is set here.
    pub lease: Duration,
    /// The pause between rounds that found nothing to do: 1 s by default.
    pub poll_interval: Duration,
    /// How long one attempt may take: [`ATTEMPT_TIMEOUT`] (15 s) by default.
    pub attempt_timeout: Duration,
    /// Which targets may be delivered to, checked again before every attempt.
    pub policy: TargetPolicy,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            worker_id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            batch: 32,
            enqueue_batch: 500,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            attempt_timeout: ATTEMPT_TIMEOUT,
            policy: TargetPolicy::default(),
        }
    }
}

/// What one [`WebhookWorker::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerRound {
    /// Deliveries created from new log events.
    pub enqueued: u64,
    /// Attempts made.
    pub attempted: usize,
    /// Of those, the ones answered 2xx.
    pub delivered: usize,
}

/// Delivers webhooks: generic over the [`WebhookStore`] and the [`WebhookTransport`]. Run one
/// per server instance; instances sharing a store share the work through its leases. Clones
/// share everything.
#[derive(Debug)]
pub struct WebhookWorker<S: ?Sized, T: ?Sized> {
    store: Arc<S>,
    transport: Arc<T>,
    clock: Arc<dyn Clock>,
    log: Option<Arc<dyn EventLog>>,
    sessions: Option<Arc<dyn SessionStore>>,
    settings: Arc<WorkerSettings>,
    rng: Arc<Mutex<StdRng>>,
}

impl<S: ?Sized, T: ?Sized> Clone for WebhookWorker<S, T> {
    fn clone(&self) -> Self {
        WebhookWorker {
            store: Arc::clone(&self.store),
            transport: Arc::clone(&self.transport),
            clock: Arc::clone(&self.clock),
            log: self.log.clone(),
            sessions: self.sessions.clone(),
            settings: Arc::clone(&self.settings),
            rng: Arc::clone(&self.rng),
        }
    }
}

impl<S, T> WebhookWorker<S, T>
where
    S: WebhookStore + ?Sized,
    T: WebhookTransport + ?Sized,
{
    /// A worker delivering the store's deliveries through `transport`, reading time from
    /// `clock`.
    pub fn new(
        store: Arc<S>,
        transport: Arc<T>,
        clock: Arc<dyn Clock>,
        settings: WorkerSettings,
    ) -> Self {
        WebhookWorker {
            store,
            transport,
            clock,
            log: None,
            sessions: None,
            settings: Arc::new(settings),
            rng: Arc::new(Mutex::new(StdRng::from_os_rng())),
        }
    }

    /// Also turns the events of `log` into deliveries ([`WebhookWorker::enqueue_from_log`]).
    pub fn with_event_log(mut self, log: Arc<dyn EventLog>) -> Self {
        self.log = Some(log);
        self
    }

    /// Adds a summary of the session, as it is when sent, to each payload.
    pub fn with_sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// Uses a seeded jitter generator (for reproducible tests).
    pub fn with_seed(self, seed: u64) -> Self {
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = StdRng::seed_from_u64(seed);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &WorkerSettings {
        &self.settings
    }

    /// Reads the log from the store's cursor and enqueues what follows, until the log is
    /// exhausted. Another instance enqueuing the same events first is not an error: this one
    /// reads on from where that one stopped. Returns how many deliveries this call created;
    /// without an event log, does nothing. Events pruned from the log before they were
    /// enqueued are not delivered: prune only what is older than the longest time the worker
    /// may be stopped.
    pub async fn enqueue_from_log(&self) -> Result<u64> {
        let Some(log) = &self.log else {
            return Ok(0);
        };
        let batch = self.settings.enqueue_batch.max(1);
        let mut created = 0;
        loop {
            let cursor = self.store.webhook_cursor().await?;
            let events = log.read_events(cursor, batch).await?;
            if events.is_empty() {
                return Ok(created);
            }
            let now = self.clock.now();
            match self.store.enqueue_events(cursor, &events, now).await? {
                EnqueueOutcome::Enqueued { deliveries, .. } => {
                    created += deliveries;
                    if events.len() < batch {
                        return Ok(created);
                    }
                }
                EnqueueOutcome::Stale { .. } => {}
            }
        }
    }

    /// Claims the due deliveries (one batch) and attempts them concurrently. Returns how many
    /// were attempted and how many of those were delivered.
    pub async fn deliver_due(&self) -> Result<(usize, usize)> {
        let now = self.clock.now();
        // A lease shorter than an attempt would let another worker send the same delivery.
        let lease = self
            .settings
            .lease
            .max(self.settings.attempt_timeout + Duration::from_secs(5));
        let lease = TimeDelta::from_std(lease).unwrap_or(TimeDelta::MAX);
        let claimed = self
            .store
            .claim_due(
                now,
                self.settings.batch,
                now + lease,
                &self.settings.worker_id,
            )
            .await?;
        let attempted = claimed.len();
        let mut tasks = JoinSet::new();
        for claim in claimed {
            let worker = self.clone();
            tasks.spawn(async move { worker.attempt(claim).await });
        }
        let mut delivered = 0;
        let mut failure = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(true)) => delivered += 1,
                Ok(Ok(false)) => {}
                Ok(Err(e)) => failure = Some(e),
                Err(e) => tracing::error!(error = %e, "a webhook attempt panicked"),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok((attempted, delivered)),
        }
    }

    /// One round: [`enqueue_from_log`](WebhookWorker::enqueue_from_log), then
    /// [`deliver_due`](WebhookWorker::deliver_due).
    pub async fn run_once(&self) -> Result<WorkerRound> {
        let enqueued = self.enqueue_from_log().await?;
        let (attempted, delivered) = self.deliver_due().await?;
        Ok(WorkerRound {
            enqueued,
            attempted,
            delivered,
        })
    }

    /// Runs rounds until `shutdown` turns `true` (or its sender is dropped): right away after
    /// a full batch or a round that delivered something (a session's next delivery becomes
    /// due only when the one before it is delivered), otherwise after
    /// [`WorkerSettings::poll_interval`]. A round in progress is finished first (at most one
    /// attempt timeout). Failed rounds are logged and retried.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow_and_update() {
                return;
            }
            let busy = match self.run_once().await {
                Ok(round) => round.attempted >= self.settings.batch || round.delivered > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "a webhook delivery round failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Sends one claimed delivery and records the attempt. Returns whether it was delivered.
    async fn attempt(&self, claim: ClaimedDelivery) -> Result<bool> {
        let ClaimedDelivery {
            delivery,
            endpoint,
            secrets,
        } = claim;
        let at = self.clock.now();
        let session = match (&self.sessions, delivery.event.kind) {
            (None, _) | (Some(_), EventKind::Deleted) => None,
            (Some(sessions), _) => sessions
                .get_session(delivery.event.session_id)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "no session summary for a webhook");
                    None
                }),
        };
        let body = WebhookPayload::new(
            delivery.event.kind,
            delivery.event.session_id,
            delivery.event.at,
            session.as_ref(),
        )
        .to_json();
        let outcome = match self.settings.policy.vet(&endpoint.url).await {
            Err(refused) => TransportOutcome::Failed {
                error: refused.message,
                latency: Duration::ZERO,
            },
            Ok(addrs) => {
                let id = delivery.event.id.to_string();
                let headers = signed_headers(
                    &secrets.signing_secrets(at),
                    &id,
                    at.timestamp(),
                    body.as_bytes(),
                );
                let request = WebhookRequest {
                    url: endpoint.url.clone(),
                    addrs,
                    headers: headers.into(),
                    body,
                    timeout: self.settings.attempt_timeout,
                };
                self.send(&request).await
            }
        };
        let (record, verdict) = match outcome {
            TransportOutcome::Answered { status, latency } => (
                record(at, Some(status), latency, None),
                AttemptVerdict::of_status(status),
            ),
            TransportOutcome::TimedOut { latency } => (
                record(at, None, latency, Some("timed out".to_owned())),
                AttemptVerdict::Retry,
            ),
            TransportOutcome::Failed { error, latency } => (
                record(at, None, latency, Some(error)),
                AttemptVerdict::Retry,
            ),
        };
        let next = match verdict {
            AttemptVerdict::Delivered => AttemptNext::Delivered,
            AttemptVerdict::Gone => AttemptNext::EndpointGone,
            AttemptVerdict::Retry => {
                let attempts = delivery.attempts.saturating_add(1);
                let first = delivery.first_attempt_at.unwrap_or(at);
                let now = self.clock.now();
                let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                match next_attempt(attempts, first, now, &mut *rng) {
                    Some(when) => AttemptNext::RetryAt(when),
                    None => AttemptNext::Failed,
                }
            }
        };
        let recorded = self
            .store
            .record_attempt(delivery.id, &self.settings.worker_id, &record, next)
            .await?;
        if !recorded {
            tracing::warn!(delivery = %delivery.id, "a webhook lease ran out before its attempt was recorded");
        }
        Ok(recorded && next == AttemptNext::Delivered)
    }

    /// The transport's answer, or a timeout after the request's timeout (a transport that
    /// does not enforce it itself is cut off here).
    async fn send(&self, request: &WebhookRequest) -> TransportOutcome {
        let grace = request.timeout + Duration::from_secs(1);
        match tokio::time::timeout(grace, self.transport.send(request)).await {
            Ok(outcome) => outcome,
            Err(_) => TransportOutcome::TimedOut { latency: grace },
        }
    }
}

fn record(
    at: DateTime<Utc>,
    status: Option<u16>,
    latency: Duration,
    error: Option<String>,
) -> AttemptRecord {
    AttemptRecord {
        at,
        status,
        latency,
        error,
    }
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
