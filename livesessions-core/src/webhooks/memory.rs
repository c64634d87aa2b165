//! [`MemoryWebhooks`]: the [`WebhookStore`] of one process, for tests and single-instance
//! servers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::delivery::{
    AttemptNext, AttemptRecord, ClaimedDelivery, Delivery, DeliveryId, DeliveryPage, DeliveryQuery,
    DeliveryState, EnqueueOutcome,
};
use super::endpoint::{
    DisabledReason, EndpointId, EndpointSecrets, PreviousSecret, WebhookEndpoint,
};
use super::port::WebhookStore;
use super::secret::WebhookSecret;
use crate::error::{Conflict, Error, Result};
use crate::events::{EventId, LoggedEvent};
use crate::ids::SessionId;

/// A [`WebhookStore`] in memory. Every operation takes one lock, so each is atomic.
#[derive(Debug, Default)]
pub struct MemoryWebhooks {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    endpoints: BTreeMap<EndpointId, (WebhookEndpoint, EndpointSecrets)>,
    deliveries: BTreeMap<DeliveryId, Leased>,
    cursor: EventId,
}

#[derive(Debug)]
struct Leased {
    delivery: Delivery,
    lease: Option<(String, DateTime<Utc>)>,
}

fn endpoint_not_found(id: EndpointId) -> Error {
    Error::NotFound {
        entity: "webhook endpoint",
        id: id.to_string(),
    }
}

fn delivery_not_found(id: DeliveryId) -> Error {
    Error::NotFound {
        entity: "webhook delivery",
        id: id.to_string(),
    }
}

impl MemoryWebhooks {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn endpoint_mut(&mut self, id: EndpointId) -> Result<&mut (WebhookEndpoint, EndpointSecrets)> {
        self.endpoints
            .get_mut(&id)
            .ok_or_else(|| endpoint_not_found(id))
    }
}

#[async_trait]
impl WebhookStore for MemoryWebhooks {
    async fn insert_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &WebhookSecret,
    ) -> Result<()> {
        let mut state = self.state();
        if state.endpoints.contains_key(&endpoint.id) {
            return Err(Error::Conflict(Conflict::AlreadyExists {
                entity: "webhook endpoint",
                id: endpoint.id.to_string(),
            }));
        }
        let secrets = EndpointSecrets {
            current: secret.clone(),
            previous: None,
        };
        state
            .endpoints
            .insert(endpoint.id, (endpoint.clone(), secrets));
        Ok(())
    }

    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>> {
        Ok(self
            .state()
            .endpoints
            .values()
            .map(|(endpoint, _)| endpoint.clone())
            .collect())
    }

    async fn get_endpoint(&self, id: EndpointId) -> Result<Option<WebhookEndpoint>> {
        Ok(self.state().endpoints.get(&id).map(|(e, _)| e.clone()))
    }

    async fn disable_endpoint(
        &self,
        id: EndpointId,
        reason: DisabledReason,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint> {
        let mut state = self.state();
        let (endpoint, _) = state.endpoint_mut(id)?;
        endpoint.enabled = false;
        endpoint.disabled_reason = Some(reason);
        endpoint.updated_at = now;
        Ok(endpoint.clone())
    }

    async fn enable_endpoint(&self, id: EndpointId, now: DateTime<Utc>) -> Result<WebhookEndpoint> {
        let mut state = self.state();
        let (endpoint, _) = state.endpoint_mut(id)?;
        endpoint.enabled = true;
        endpoint.disabled_reason = None;
        endpoint.updated_at = now;
        Ok(endpoint.clone())
    }

    async fn delete_endpoint(&self, id: EndpointId) -> Result<bool> {
        let mut state = self.state();
        let existed = state.endpoints.remove(&id).is_some();
        state
            .deliveries
            .retain(|_, leased| leased.delivery.endpoint_id != id);
        Ok(existed)
    }

    async fn rotate_secret(
        &self,
        id: EndpointId,
        new: &WebhookSecret,
        previous_valid_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut state = self.state();
        let (endpoint, secrets) = state.endpoint_mut(id)?;
        let old = std::mem::replace(&mut secrets.current, new.clone());
        secrets.previous = Some(PreviousSecret {
            secret: old,
            valid_until: previous_valid_until,
        });
        endpoint.updated_at = now;
        Ok(())
    }

    async fn endpoint_secrets(&self, id: EndpointId) -> Result<Option<EndpointSecrets>> {
        Ok(self.state().endpoints.get(&id).map(|(_, s)| s.clone()))
    }

    async fn webhook_cursor(&self) -> Result<EventId> {
        Ok(self.state().cursor)
    }

    async fn enqueue_events(
        &self,
        expected_cursor: EventId,
        events: &[LoggedEvent],
        now: DateTime<Utc>,
    ) -> Result<EnqueueOutcome> {
        let mut state = self.state();
        if state.cursor != expected_cursor {
            return Ok(EnqueueOutcome::Stale {
                cursor: state.cursor,
            });
        }
        let mut created = Vec::new();
        let mut cursor = expected_cursor;
        for event in events.iter().filter(|e| e.id > expected_cursor) {
            cursor = cursor.max(event.id);
            for (endpoint, _) in state.endpoints.values() {
                if endpoint.enabled
                    && endpoint.event_types.matches(event.kind)
                    && endpoint.created_at <= event.at
                {
                    created.push(Delivery {
                        id: DeliveryId::new(),
                        endpoint_id: endpoint.id,
                        event: *event,
                        state: DeliveryState::Pending,
                        attempts: 0,
                        first_attempt_at: None,
                        next_attempt_at: now,
                        last_attempt: None,
                        created_at: now,
                    });
                }
            }
        }
        let deliveries = created.len() as u64;
        for delivery in created {
            state.deliveries.insert(
                delivery.id,
                Leased {
                    delivery,
                    lease: None,
                },
            );
        }
        state.cursor = cursor;
        Ok(EnqueueOutcome::Enqueued { cursor, deliveries })
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
        worker: &str,
    ) -> Result<Vec<ClaimedDelivery>> {
        let mut state = self.state();
        // The first pending delivery of each (endpoint, session): only it may be claimed.
        let mut heads: HashMap<(EndpointId, SessionId), (EventId, DeliveryId)> = HashMap::new();
        for leased in state.deliveries.values() {
            let d = &leased.delivery;
            if d.state != DeliveryState::Pending {
                continue;
            }
            let head = heads
                .entry((d.endpoint_id, d.event.session_id))
                .or_insert((d.event.id, d.id));
            if d.event.id < head.0 {
                *head = (d.event.id, d.id);
            }
        }
        let mut due: Vec<(EventId, DeliveryId)> = heads
            .into_values()
            .filter(|(_, id)| {
                let leased = &state.deliveries[id];
                let enabled = state
                    .endpoints
                    .get(&leased.delivery.endpoint_id)
                    .is_some_and(|(e, _)| e.enabled);
                enabled
                    && leased.delivery.next_attempt_at <= now
                    && leased.lease.as_ref().is_none_or(|(_, until)| *until <= now)
            })
            .collect();
        due.sort();
        due.truncate(limit);
        let mut claimed = Vec::with_capacity(due.len());
        for (_, id) in due {
            let leased = state.deliveries.get_mut(&id).expect("a listed delivery");
            leased.lease = Some((worker.to_owned(), lease_until));
            let delivery = leased.delivery.clone();
            let (endpoint, secrets) = state.endpoints[&delivery.endpoint_id].clone();
            claimed.push(ClaimedDelivery {
                delivery,
                endpoint,
                secrets,
            });
        }
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        worker: &str,
        attempt: &AttemptRecord,
        next: AttemptNext,
    ) -> Result<bool> {
        let mut state = self.state();
        let Some(leased) = state.deliveries.get_mut(&id) else {
            return Ok(false);
        };
        let holds = leased.lease.as_ref().is_some_and(|(w, _)| w == worker);
        if leased.delivery.state != DeliveryState::Pending || !holds {
            return Ok(false);
        }
        leased.lease = None;
        let d = &mut leased.delivery;
        d.attempts += 1;
        d.first_attempt_at.get_or_insert(attempt.at);
        d.last_attempt = Some(attempt.clone());
        match next {
            AttemptNext::RetryAt(at) => d.next_attempt_at = at,
            AttemptNext::Delivered => d.state = DeliveryState::Delivered,
            AttemptNext::Failed | AttemptNext::EndpointGone => d.state = DeliveryState::Failed,
        }
        let endpoint_id = d.endpoint_id;
        if next == AttemptNext::EndpointGone {
            if let Some((endpoint, _)) = state.endpoints.get_mut(&endpoint_id) {
                endpoint.enabled = false;
                endpoint.disabled_reason = Some(DisabledReason::Gone);
                endpoint.updated_at = attempt.at;
            }
        }
        Ok(true)
    }

    async fn get_delivery(&self, id: DeliveryId) -> Result<Option<Delivery>> {
        Ok(self
            .state()
            .deliveries
            .get(&id)
            .map(|leased| leased.delivery.clone()))
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage> {
        let state = self.state();
        let mut items: Vec<Delivery> = state
            .deliveries
            .values()
            .map(|leased| &leased.delivery)
            .filter(|d| d.endpoint_id == query.endpoint_id)
            .filter(|d| query.before.is_none_or(|before| d.event.id < before))
            .cloned()
            .collect();
        items.sort_by_key(|d| std::cmp::Reverse(d.event.id));
        let limit = query.limit.max(1);
        items.truncate(limit);
        let next = (items.len() == limit)
            .then(|| items.last().map(|d| d.event.id))
            .flatten();
        Ok(DeliveryPage { items, next })
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<Delivery> {
        let mut state = self.state();
        let leased = state
            .deliveries
            .get_mut(&id)
            .ok_or_else(|| delivery_not_found(id))?;
        leased.lease = None;
        let d = &mut leased.delivery;
        d.state = DeliveryState::Pending;
        d.attempts = 0;
        d.first_attempt_at = None;
        d.next_attempt_at = now;
        Ok(d.clone())
    }
}
