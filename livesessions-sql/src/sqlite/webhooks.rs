//! [`WebhookStore`] on SQLite. Every write that reads first (an enqueue, a claim, an
//! attempt) runs in `BEGIN IMMEDIATE`, so it holds the one write lock from its first read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use livesessions_core::events::{EventId, LoggedEvent};
use livesessions_core::webhooks::{
    AttemptNext, AttemptRecord, ClaimedDelivery, Delivery, DeliveryId, DeliveryPage, DeliveryQuery,
    DisabledReason, EndpointId, EndpointSecrets, EnqueueOutcome, WebhookEndpoint, WebhookSecret,
    WebhookStore,
};
use livesessions_core::Result;
use sqlx::Sqlite;

use super::statements::SQL;
use super::{map_error, SqliteStore};
use crate::dialect::Dialect as _;
use crate::webhooks::Webhooks;

/// The shared webhook operations on Sqlite.
type W = Webhooks<Sqlite>;

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &WebhookSecret,
    ) -> Result<()> {
        W::insert_endpoint(&self.pool, &SQL.webhooks, endpoint, secret).await
    }

    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>> {
        W::list_endpoints(&self.pool, &SQL.webhooks).await
    }

    async fn get_endpoint(&self, id: EndpointId) -> Result<Option<WebhookEndpoint>> {
        W::get_endpoint(&self.pool, &SQL.webhooks, id).await
    }

    async fn disable_endpoint(
        &self,
        id: EndpointId,
        reason: DisabledReason,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint> {
        W::set_enabled(&self.pool, &SQL.webhooks, id, Some(reason), now).await
    }

    async fn enable_endpoint(&self, id: EndpointId, now: DateTime<Utc>) -> Result<WebhookEndpoint> {
        W::set_enabled(&self.pool, &SQL.webhooks, id, None, now).await
    }

    async fn delete_endpoint(&self, id: EndpointId) -> Result<bool> {
        W::delete_endpoint(&self.pool, &SQL.webhooks, id).await
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
            &SQL.webhooks,
            id,
            new,
            previous_valid_until,
            now,
        )
        .await
    }

    async fn endpoint_secrets(&self, id: EndpointId) -> Result<Option<EndpointSecrets>> {
        W::endpoint_secrets(&self.pool, &SQL.webhooks, id).await
    }

    async fn webhook_cursor(&self) -> Result<EventId> {
        W::cursor(&self.pool, &SQL.webhooks).await
    }

    async fn enqueue_events(
        &self,
        expected_cursor: EventId,
        events: &[LoggedEvent],
        now: DateTime<Utc>,
    ) -> Result<EnqueueOutcome> {
        let tx = self.write().await?;
        W::enqueue_events(tx, &SQL.webhooks, expected_cursor, events, now).await
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
        let mut tx = self.write().await?;
        let rows = sqlx::query(&SQL.due_deliveries)
            .bind(Sqlite::store_time(now))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_error)?;
        let claimed = rows.iter().map(W::claimed).collect::<Result<Vec<_>>>()?;
        for claim in &claimed {
            sqlx::query(SQL.lease_delivery)
                .bind(claim.delivery.id.as_uuid())
                .bind(Sqlite::store_time(lease_until))
                .bind(worker)
                .execute(&mut *tx)
                .await
                .map_err(map_error)?;
        }
        tx.commit().await.map_err(map_error)?;
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        worker: &str,
        attempt: &AttemptRecord,
        next: AttemptNext,
    ) -> Result<bool> {
        let tx = self.write().await?;
        W::record_attempt(tx, &SQL.webhooks, id, worker, attempt, next).await
    }

    async fn get_delivery(&self, id: DeliveryId) -> Result<Option<Delivery>> {
        W::get_delivery(&self.pool, &SQL.webhooks, id).await
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage> {
        W::list_deliveries(&self.pool, &SQL.webhooks, query).await
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<Delivery> {
        W::retry_delivery(&self.pool, &SQL.webhooks, id, now).await
    }
}
