//! [`WebhookStore`] on PostgreSQL. Claims are one statement with `FOR UPDATE SKIP LOCKED`;
//! an enqueue and an attempt with 410 Gone are one transaction each.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use livesessions_core::events::{EventId, LoggedEvent};
use livesessions_core::webhooks::{
    AttemptNext, AttemptRecord, ClaimedDelivery, Delivery, DeliveryId, DeliveryPage, DeliveryQuery,
    DisabledReason, EndpointId, EndpointSecrets, EnqueueOutcome, WebhookEndpoint, WebhookSecret,
    WebhookStore,
};
use livesessions_core::Result;
use sqlx::Postgres;

use super::{map_error, PostgresStore};
use crate::dialect::Dialect as _;
use crate::webhooks::Webhooks;

/// The shared webhook operations on Postgres.
type W = Webhooks<Postgres>;

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn insert_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &WebhookSecret,
    ) -> Result<()> {
        W::insert_endpoint(&self.pool, &self.sql.webhooks, endpoint, secret).await
    }

    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>> {
        W::list_endpoints(&self.pool, &self.sql.webhooks).await
    }

    async fn get_endpoint(&self, id: EndpointId) -> Result<Option<WebhookEndpoint>> {
        W::get_endpoint(&self.pool, &self.sql.webhooks, id).await
    }

    async fn disable_endpoint(
        &self,
        id: EndpointId,
        reason: DisabledReason,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint> {
        W::set_enabled(&self.pool, &self.sql.webhooks, id, Some(reason), now).await
    }

    async fn enable_endpoint(&self, id: EndpointId, now: DateTime<Utc>) -> Result<WebhookEndpoint> {
        W::set_enabled(&self.pool, &self.sql.webhooks, id, None, now).await
    }

    async fn delete_endpoint(&self, id: EndpointId) -> Result<bool> {
        W::delete_endpoint(&self.pool, &self.sql.webhooks, id).await
    }

    async fn rotate_secret(
        &self,
        id: EndpointId,
        new: &WebhookSecret,
        previous_valid_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        W::rotate_secret(
            &self.pool,
            &self.sql.webhooks,
            id,
            new,
            previous_valid_until,
            now,
        )
        .await
    }

    async fn endpoint_secrets(&self, id: EndpointId) -> Result<Option<EndpointSecrets>> {
        W::endpoint_secrets(&self.pool, &self.sql.webhooks, id).await
    }

    async fn webhook_cursor(&self) -> Result<EventId> {
        W::cursor(&self.pool, &self.sql.webhooks).await
    }

    async fn enqueue_events(
        &self,
        expected_cursor: EventId,
        events: &[LoggedEvent],
        now: DateTime<Utc>,
    ) -> Result<EnqueueOutcome> {
        let tx = self.pool.begin().await.map_err(map_error)?;
        W::enqueue_events(tx, &self.sql.webhooks, expected_cursor, events, now).await
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
        let rows = sqlx::query(&self.sql.claim)
            .bind(Postgres::store_time(now))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(Postgres::store_time(lease_until))
            .bind(worker)
            .fetch_all(&self.pool)
            .await
            .map_err(map_error)?;
        rows.iter().map(W::claimed).collect()
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        worker: &str,
        attempt: &AttemptRecord,
        next: AttemptNext,
    ) -> Result<bool> {
        let tx = self.pool.begin().await.map_err(map_error)?;
        W::record_attempt(tx, &self.sql.webhooks, id, worker, attempt, next).await
    }

    async fn get_delivery(&self, id: DeliveryId) -> Result<Option<Delivery>> {
        W::get_delivery(&self.pool, &self.sql.webhooks, id).await
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage> {
        W::list_deliveries(&self.pool, &self.sql.webhooks, query).await
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<Delivery> {
        W::retry_delivery(&self.pool, &self.sql.webhooks, id, now).await
    }
}
