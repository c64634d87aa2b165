//! [`WebhookStore`] on `live_session_webhook_endpoints`, `live_session_webhook_deliveries`
//! and the cursor document in `live_session_webhook_state`.
//!
//! - **Enqueue** with transactions: one transaction moves the cursor with a compare-and-set
//!   (`update_one` filtered on the expected value; a concurrent enqueue makes it a write
//!   conflict, retried, which then finds the cursor moved and answers `Stale`), reads the
//!   enabled endpoints and inserts the deliveries: exactly once, and the reported count exact.
//!   Without transactions (best effort): the cursor is checked, the deliveries inserted
//!   unordered (the unique {endpointId, eventId} index drops the ones another enqueuer made
//!   first), then the cursor moved with the same compare-and-set. A delivery is still never
//!   made twice and a crash between the inserts and the cursor loses nothing (the next
//!   enqueue makes the rest), but racing enqueuers may each report only the deliveries they
//!   inserted themselves, and an endpoint enabled or registered during the race may receive
//!   events that a transaction would have given it or not.
//! - **Claims**: the enabled endpoints are read once, then the due, free deliveries of those
//!   endpoints are read in event order; each whose (endpoint, session) has no earlier pending
//!   delivery (one indexed `find_one`, asked once per pair) is leased with a
//!   `find_one_and_update` that repeats the due-and-free filter, so one worker at most gets
//!   it. The order check and the lease are two operations: a manual retry of an earlier
//!   delivery racing a claim can let the later one go first.
//! - **Attempts** are one pipeline update filtered on the lease's owner; a 410 also disables
//!   the endpoint, in the same transaction where the deployment has them.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use bson::Document;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use livesessions_core::events::{EventId, LoggedEvent};
use livesessions_core::webhooks::{
    AttemptNext, AttemptRecord, ClaimedDelivery, Delivery, DeliveryId, DeliveryPage, DeliveryQuery,
    DeliveryState, DisabledReason, EndpointId, EndpointSecrets, EnqueueOutcome, WebhookEndpoint,
    WebhookSecret, WebhookStore,
};
use livesessions_core::{Error, Result, SessionId};
use mongodb::action::Action;
use mongodb::error::ErrorKind;
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;

use super::transaction::{detached, in_transaction, Failure};
use super::{all_documents, MongoStore};
use crate::codec::{
    delivery_document, delivery_from_document, endpoint_document, endpoint_from_document,
    secrets_from_document, Reader,
};
use crate::documents::WEBHOOK_STATE;
use crate::error::{classify, map_error, to_domain, ErrorClass};
use crate::queries;

type Steps<T> = std::result::Result<T, Failure>;

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

/// The deliveries `events` make for `endpoints` (see [`WebhookStore::enqueue_events`]).
fn deliveries_for(
    expected: EventId,
    events: &[LoggedEvent],
    endpoints: &[WebhookEndpoint],
    now: DateTime<Utc>,
) -> (EventId, Vec<Delivery>) {
    let mut cursor = expected;
    let mut made = Vec::new();
    for event in events.iter().filter(|e| e.id > expected) {
        cursor = cursor.max(event.id);
        for endpoint in endpoints {
            if endpoint.enabled
                && endpoint.event_types.matches(event.kind)
                && endpoint.created_at <= event.at
            {
                made.push(Delivery {
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
    (cursor, made)
}

impl MongoStore {
    async fn read_cursor(&self, s: Option<&mut ClientSession>) -> Steps<EventId> {
        let found = self
            .webhook_state
            .find_one(queries::cursor_filter())
            .optional(s, |a, s| a.session(s))
            .await?;
        let Some(document) = found else {
            return Ok(EventId::ZERO);
        };
        let r = Reader::new(&document, WEBHOOK_STATE);
        let value = r.int("eventId")?;
        Ok(EventId::new(value)
            .ok_or_else(|| r.error("eventId", format!("must not be negative, found {value}")))?)
    }

    /// Creates the cursor document at 0 if it is missing; a concurrent creation is as good.
    async fn init_cursor(&self) -> Result<()> {
        match self
            .webhook_state
            .update_one(queries::cursor_filter(), queries::cursor_init())
            .upsert(true)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if classify(&error) == ErrorClass::DuplicateKey => Ok(()),
            Err(error) => Err(map_error(error)),
        }
    }

    async fn enabled_endpoints(
        &self,
        s: Option<&mut ClientSession>,
    ) -> Steps<Vec<(WebhookEndpoint, EndpointSecrets)>> {
        let documents: Vec<Document> = match s {
            Some(s) => {
                let mut cursor = self
                    .webhook_endpoints
                    .find(queries::enabled_endpoints())
                    .session(&mut *s)
                    .await?;
                cursor.stream(s).try_collect().await?
            }
            None => {
                self.webhook_endpoints
                    .find(queries::enabled_endpoints())
                    .await?
                    .try_collect()
                    .await?
            }
        };
        let mut endpoints = Vec::with_capacity(documents.len());
        for document in &documents {
            endpoints.push((
                endpoint_from_document(document)?,
                secrets_from_document(document)?,
            ));
        }
        Ok(endpoints)
    }

    /// Enqueue in a transaction: the cursor's compare-and-set first, then the inserts.
    async fn enqueue_steps(
        &self,
        expected: EventId,
        events: &[LoggedEvent],
        now: DateTime<Utc>,
        mut s: Option<&mut ClientSession>,
    ) -> Steps<EnqueueOutcome> {
        let endpoints = self.enabled_endpoints(s.as_deref_mut()).await?;
        let endpoints: Vec<WebhookEndpoint> = endpoints.into_iter().map(|(e, _)| e).collect();
        let (cursor, made) = deliveries_for(expected, events, &endpoints, now);
        let moved = self
            .webhook_state
            .update_one(queries::cursor_at(expected), queries::cursor_set(cursor))
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        if moved.matched_count == 0 {
            return Ok(EnqueueOutcome::Stale {
                cursor: self.read_cursor(s).await?,
            });
        }
        if !made.is_empty() {
            self.webhook_deliveries
                .insert_many(made.iter().map(delivery_document))
                .optional(s, |a, s| a.session(s))
                .await?;
        }
        Ok(EnqueueOutcome::Enqueued {
            cursor,
            deliveries: made.len() as u64,
        })
    }

    /// Enqueue without transactions (best effort, see the module's documentation).
    async fn enqueue_best_effort(
        &self,
        expected: EventId,
        events: &[LoggedEvent],
        now: DateTime<Utc>,
    ) -> Steps<EnqueueOutcome> {
        let stored = self.read_cursor(None).await?;
        if stored != expected {
            return Ok(EnqueueOutcome::Stale { cursor: stored });
        }
        let endpoints = self.enabled_endpoints(None).await?;
        let endpoints: Vec<WebhookEndpoint> = endpoints.into_iter().map(|(e, _)| e).collect();
        let (cursor, made) = deliveries_for(expected, events, &endpoints, now);
        let mut inserted = made.len() as u64;
        if !made.is_empty() {
            let outcome = self
                .webhook_deliveries
                .insert_many(made.iter().map(delivery_document))
                .ordered(false)
                .await;
            if let Err(error) = outcome {
                let ErrorKind::InsertMany(failure) = error.kind.as_ref() else {
                    return Err(error.into());
                };
                let duplicates =
                    failure.write_errors.iter().flatten().filter(|e| {
                        crate::error::classify_code(e.code) == ErrorClass::DuplicateKey
                    });
                let all = failure.write_errors.as_ref().map_or(0, Vec::len);
                let duplicates = duplicates.count();
                if duplicates != all || failure.write_concern_error.is_some() {
                    return Err(error.into());
                }
                inserted -= duplicates as u64;
            }
        }
        let moved = self
            .webhook_state
            .update_one(queries::cursor_at(expected), queries::cursor_set(cursor))
            .await?;
        if moved.matched_count == 0 {
            return Ok(EnqueueOutcome::Stale {
                cursor: self.read_cursor(None).await?,
            });
        }
        Ok(EnqueueOutcome::Enqueued {
            cursor,
            deliveries: inserted,
        })
    }

    async fn attempt_steps(
        &self,
        id: DeliveryId,
        worker: &str,
        attempt: &AttemptRecord,
        next: AttemptNext,
        mut s: Option<&mut ClientSession>,
    ) -> Steps<bool> {
        let updated = self
            .webhook_deliveries
            .find_one_and_update(
                queries::leased_filter(id, worker),
                queries::attempt_update(attempt, next),
            )
            .projection(bson::doc! { "endpointId": 1 })
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        let Some(document) = updated else {
            return Ok(false);
        };
        if next == AttemptNext::EndpointGone {
            let endpoint = EndpointId::from_uuid(
                Reader::new(&document, crate::documents::WEBHOOK_DELIVERIES).uuid("endpointId")?,
            );
            self.webhook_endpoints
                .update_one(
                    queries::endpoint_filter(endpoint),
                    queries::endpoint_enabled_update(Some(DisabledReason::Gone), attempt.at),
                )
                .optional(s, |a, s| a.session(s))
                .await?;
        }
        Ok(true)
    }

    async fn delete_endpoint_steps(
        &self,
        id: EndpointId,
        mut s: Option<&mut ClientSession>,
    ) -> Steps<bool> {
        // The endpoint goes first, so that no enqueue makes deliveries for it meanwhile.
        let deleted = self
            .webhook_endpoints
            .delete_one(queries::endpoint_filter(id))
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        self.webhook_deliveries
            .delete_many(queries::deliveries_of(id))
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(deleted.deleted_count > 0)
    }

    async fn set_enabled(
        &self,
        id: EndpointId,
        reason: Option<DisabledReason>,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint> {
        let updated = self
            .webhook_endpoints
            .find_one_and_update(
                queries::endpoint_filter(id),
                queries::endpoint_enabled_update(reason, now),
            )
            .projection(queries::endpoint_without_secrets())
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_error)?;
        match updated {
            Some(document) => Ok(endpoint_from_document(&document)?),
            None => Err(endpoint_not_found(id)),
        }
    }
}

/// Webhooks on MongoDB: [`MongoStore`] is the [`WebhookStore`] too (the collections are
/// described in [`documents`](crate::documents); call [`MongoStore::ensure_indexes`] first).
///
/// ```no_run
/// # async fn run() -> livesessions_core::Result<()> {
/// use std::sync::Arc;
/// use livesessions_core::webhooks::WebhookStore;
/// use livesessions_mongo::MongoStore;
///
/// let store = MongoStore::connect("mongodb://127.0.0.1:27017/elearning").await?;
/// store.ensure_indexes().await?;
/// let webhooks: Arc<dyn WebhookStore> = Arc::new(store.clone());
/// // What a `WebhookWorker` runs on, with the event log it enqueues from.
/// println!("enqueued up to event {}", webhooks.webhook_cursor().await?);
/// # Ok(())
/// # }
/// ```
#[async_trait]
impl WebhookStore for MongoStore {
    async fn insert_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &WebhookSecret,
    ) -> Result<()> {
        self.webhook_endpoints
            .insert_one(endpoint_document(endpoint, secret))
            .await
            .map_err(|e| to_domain(e, "webhook endpoint", endpoint.id.to_string()))?;
        Ok(())
    }

    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>> {
        let documents = all_documents(
            self.webhook_endpoints
                .find(bson::doc! {})
                .projection(queries::endpoint_without_secrets())
                .sort(bson::doc! { "_id": 1 }),
        )
        .await?;
        Ok(documents
            .iter()
            .map(endpoint_from_document)
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn get_endpoint(&self, id: EndpointId) -> Result<Option<WebhookEndpoint>> {
        let found = self
            .webhook_endpoints
            .find_one(queries::endpoint_filter(id))
            .projection(queries::endpoint_without_secrets())
            .await
            .map_err(map_error)?;
        Ok(found.as_ref().map(endpoint_from_document).transpose()?)
    }

    async fn disable_endpoint(
        &self,
        id: EndpointId,
        reason: DisabledReason,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint> {
        self.set_enabled(id, Some(reason), now).await
    }

    async fn enable_endpoint(&self, id: EndpointId, now: DateTime<Utc>) -> Result<WebhookEndpoint> {
        self.set_enabled(id, None, now).await
    }

    async fn delete_endpoint(&self, id: EndpointId) -> Result<bool> {
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.delete_endpoint_steps(id, s))
        } else {
            let store = self.clone();
            detached(async move {
                store
                    .delete_endpoint_steps(id, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn rotate_secret(
        &self,
        id: EndpointId,
        new: &WebhookSecret,
        previous_valid_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let updated = self
            .webhook_endpoints
            .update_one(
                queries::endpoint_filter(id),
                queries::rotate_secret_update(new, previous_valid_until, now),
            )
            .await
            .map_err(map_error)?;
        if updated.matched_count == 0 {
            return Err(endpoint_not_found(id));
        }
        Ok(())
    }

    async fn endpoint_secrets(&self, id: EndpointId) -> Result<Option<EndpointSecrets>> {
        let found = self
            .webhook_endpoints
            .find_one(queries::endpoint_filter(id))
            .await
            .map_err(map_error)?;
        Ok(found.as_ref().map(secrets_from_document).transpose()?)
    }

    async fn webhook_cursor(&self) -> Result<EventId> {
        self.read_cursor(None).await.map_err(Failure::into_error)
    }

    async fn enqueue_events(
        &self,
        expected_cursor: EventId,
        events: &[LoggedEvent],
        now: DateTime<Utc>,
    ) -> Result<EnqueueOutcome> {
        if expected_cursor == EventId::ZERO {
            self.init_cursor().await?;
        }
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.enqueue_steps(
                expected_cursor,
                events,
                now,
                s
            ))
        } else {
            let store = self.clone();
            let events = events.to_vec();
            detached(async move {
                store
                    .enqueue_best_effort(expected_cursor, &events, now)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
        worker: &str,
    ) -> Result<Vec<ClaimedDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let endpoints: HashMap<EndpointId, (WebhookEndpoint, EndpointSecrets)> = self
            .enabled_endpoints(None)
            .await
            .map_err(Failure::into_error)?
            .into_iter()
            .map(|(endpoint, secrets)| (endpoint.id, (endpoint, secrets)))
            .collect();
        if endpoints.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<EndpointId> = endpoints.keys().copied().collect();
        let mut candidates = self
            .webhook_deliveries
            .find(queries::claim_candidates(now, &ids))
            .sort(queries::candidates_sort())
            .await
            .map_err(map_error)?;
        // Pairs (endpoint, session) decided in this claim: a later candidate of a pair is
        // held back by the earlier one, whether it was claimed here or is pending elsewhere.
        let mut decided: HashSet<(EndpointId, SessionId)> = HashSet::new();
        let mut claimed = Vec::new();
        while claimed.len() < limit {
            let Some(document) = candidates.try_next().await.map_err(map_error)? else {
                break;
            };
            let candidate = delivery_from_document(&document)?;
            let pair = (candidate.endpoint_id, candidate.event.session_id);
            if !decided.insert(pair) {
                continue;
            }
            let earlier = self
                .webhook_deliveries
                .find_one(queries::earlier_pending(pair.0, pair.1, candidate.event.id))
                .projection(bson::doc! { "_id": 1 })
                .await
                .map_err(map_error)?;
            if earlier.is_some() {
                continue;
            }
            let before = self
                .webhook_deliveries
                .find_one_and_update(
                    queries::claim_filter(candidate.id, now),
                    queries::claim_update(worker, lease_until),
                )
                .return_document(ReturnDocument::Before)
                .await
                .map_err(map_error)?;
            // Another worker took it first: the pair stays decided (its head is leased).
            let Some(before) = before else { continue };
            let delivery = delivery_from_document(&before)?;
            let (endpoint, secrets) = endpoints[&delivery.endpoint_id].clone();
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
        if next == AttemptNext::EndpointGone && self.supports_transactions().await? {
            in_transaction!(self, |s| self.attempt_steps(id, worker, attempt, next, s))
        } else if next == AttemptNext::EndpointGone {
            let store = self.clone();
            let (worker, attempt) = (worker.to_owned(), attempt.clone());
            detached(async move {
                store
                    .attempt_steps(id, &worker, &attempt, next, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        } else {
            self.attempt_steps(id, worker, attempt, next, None)
                .await
                .map_err(Failure::into_error)
        }
    }

    async fn get_delivery(&self, id: DeliveryId) -> Result<Option<Delivery>> {
        let found = self
            .webhook_deliveries
            .find_one(queries::delivery_filter(id))
            .await
            .map_err(map_error)?;
        Ok(found.as_ref().map(delivery_from_document).transpose()?)
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage> {
        let limit = query.limit.max(1);
        let documents = all_documents(
            self.webhook_deliveries
                .find(queries::page_filter(query.endpoint_id, query.before))
                .sort(queries::page_sort())
                .limit(i64::try_from(limit).unwrap_or(i64::MAX)),
        )
        .await?;
        let items = documents
            .iter()
            .map(delivery_from_document)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let next = (items.len() == limit)
            .then(|| items.last().map(|d| d.event.id))
            .flatten();
        Ok(DeliveryPage { items, next })
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<Delivery> {
        let updated = self
            .webhook_deliveries
            .find_one_and_update(queries::delivery_filter(id), queries::retry_update(now))
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_error)?;
        match updated {
            Some(document) => Ok(delivery_from_document(&document)?),
            None => Err(delivery_not_found(id)),
        }
    }
}
