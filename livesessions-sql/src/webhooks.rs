//! The [`WebhookStore`](livesessions_core::webhooks::WebhookStore) of both databases, written
//! once: the tables' columns, the statements (built per database and table prefix), how a
//! row becomes an endpoint or a delivery, and the operations that run the same way on both.
//! Each backend keeps what its concurrency needs: how a write transaction begins and how
//! deliveries are claimed (`FOR UPDATE SKIP LOCKED` on Postgres, the one writer on SQLite).

use std::marker::PhantomData;
use std::time::Duration;

use chrono::{DateTime, Utc};
use livesessions_core::events::{EventId, EventKind, LoggedEvent};
use livesessions_core::webhooks::{
    AttemptNext, AttemptRecord, ClaimedDelivery, Delivery, DeliveryId, DeliveryPage, DeliveryQuery,
    DeliveryState, DisabledReason, EndpointDescription, EndpointId, EndpointSecrets, EndpointUrl,
    EnqueueOutcome, EventTypes, PreviousSecret, WebhookEndpoint, WebhookSecret,
};
use livesessions_core::{Conflict, Error, Result, SessionId};
use sqlx::query::Query;
use sqlx::{Database, Decode, Encode, Executor, IntoArguments, Transaction, Type};
use uuid::Uuid;

use crate::dialect::{opt_time, time, Dialect};
use crate::errors::map_error;
use crate::record::{corrupt, to_u64};

/// The entity a missing or duplicate endpoint is reported as.
const ENDPOINT: &str = "webhook endpoint";
/// The entity a missing delivery is reported as.
const DELIVERY: &str = "webhook delivery";

/// The columns an endpoint is read from (secrets included: only the secret reads and the
/// claim select them).
const ENDPOINT_COLUMNS: [&str; 11] = [
    "id",
    "url",
    "event_types",
    "description",
    "enabled",
    "disabled_reason",
    "secret",
    "previous_secret",
    "previous_valid_until",
    "created_at",
    "updated_at",
];

/// The columns of [`ENDPOINT_COLUMNS`] that hold the secrets.
const SECRET_COLUMNS: [&str; 3] = ["secret", "previous_secret", "previous_valid_until"];

/// The columns a delivery is read from.
const DELIVERY_COLUMNS: [&str; 15] = [
    "id",
    "endpoint_id",
    "event_id",
    "event_kind",
    "session_id",
    "event_at",
    "state",
    "attempts",
    "first_attempt_at",
    "next_attempt_at",
    "last_attempt_at",
    "last_status",
    "last_latency_ns",
    "last_error",
    "created_at",
];

/// The columns a new delivery is written to, in the order of a row of [`insert_values`].
const DELIVERY_INSERT_COLUMNS: [&str; 10] = [
    "id",
    "endpoint_id",
    "event_id",
    "event_kind",
    "session_id",
    "event_at",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
];

/// `head` followed by `VALUES` for `rows` new pending deliveries, each bound as id, endpoint,
/// event id, kind, session, event time, next attempt, creation time (8 parameters a row).
fn insert_values<D: Dialect>(head: &str, rows: usize) -> String {
    let p = D::PARAMETER;
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let n = row * 8;
            format!(
                "({p}{}, {p}{}, {p}{}, {p}{}, {p}{}, {p}{}, 'pending', 0, {p}{}, {p}{})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7,
                n + 8
            )
        })
        .collect();
    format!("{head}VALUES {}", values.join(", "))
}

/// How many deliveries one insert writes at most: 8 parameters a row stay far below the
/// parameter limits of both databases (65 535 on Postgres, 32 766 on SQLite).
const INSERT_ROWS: usize = 1000;

/// `columns`, each qualified by `qualifier` (`d.` or empty) and named `{alias}{column}`.
fn select(qualifier: &str, alias: &str, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("{qualifier}{c} AS {alias}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns of an endpoint without its secrets.
fn endpoint_select() -> String {
    let columns: Vec<&str> = ENDPOINT_COLUMNS
        .into_iter()
        .filter(|c| !SECRET_COLUMNS.contains(c))
        .collect();
    select("", "", &columns)
}

/// The columns of a delivery, qualified by `qualifier`.
fn delivery_select(qualifier: &str) -> String {
    select(qualifier, "", &DELIVERY_COLUMNS)
}

/// The condition a delivery `d` of endpoint `e` is due under, at the time in parameter 1: pending,
/// due, not leased, its endpoint enabled, and no earlier pending delivery of the same endpoint
/// and session (the order rule; served by `webhook_deliveries_order_idx`).
pub(crate) fn due_condition<D: Dialect>(t: &str) -> String {
    let p = D::PARAMETER;
    format!(
        "d.state = 'pending' AND d.next_attempt_at <= {p}1 \
         AND (d.lease_until IS NULL OR d.lease_until <= {p}1) \
         AND e.enabled \
         AND NOT EXISTS (SELECT 1 FROM {t}webhook_deliveries b \
              WHERE b.endpoint_id = d.endpoint_id AND b.session_id = d.session_id \
                AND b.state = 'pending' AND b.event_id < d.event_id)"
    )
}

/// The select list of a claimed delivery `d` with its endpoint `e` (columns `e_…`).
pub(crate) fn claimed_select() -> String {
    format!(
        "{}, {}",
        delivery_select("d."),
        select("e.", "e_", &ENDPOINT_COLUMNS)
    )
}

/// The webhook statements of one database, on the tables prefixed by `t` (a quoted schema and
/// a dot, or nothing).
#[derive(Debug)]
pub(crate) struct WebhookStatements {
    /// Parameters: [`ENDPOINT_COLUMNS`], in order.
    pub insert_endpoint: String,
    pub list_endpoints: String,
    /// Parameter: the id.
    pub get_endpoint: String,
    /// Parameters: id, enabled, reason, now; returns the endpoint.
    pub set_enabled: String,
    /// Parameter: the id; returns the id when it existed.
    pub delete_endpoint: String,
    /// Parameters: id, new secret, previous valid until, now; returns the id.
    pub rotate_secret: String,
    /// Parameter: the id.
    pub endpoint_secrets: String,
    pub cursor: String,
    /// Parameters: expected, new; returns the new cursor when the expected one was stored.
    pub advance_cursor: String,
    pub enabled_endpoints: String,
    /// The head of the enqueue's multi-row insert; [`Webhooks::enqueue_events`] adds the
    /// `VALUES` (see [`DELIVERY_INSERT_COLUMNS`]).
    pub insert_deliveries: String,
    /// Parameters: id, worker, at, status, latency, error, state, next attempt; returns the
    /// endpoint id when the worker held the lease.
    pub record_attempt: String,
    /// Parameter: the id.
    pub get_delivery: String,
    /// Parameters: endpoint, before, limit.
    pub list_deliveries: String,
    /// Parameters: id, now; returns the delivery.
    pub retry_delivery: String,
}

impl WebhookStatements {
    /// The statements of the database `D` on the tables prefixed by `t`.
    pub(crate) fn new<D: Dialect>(t: &str) -> Self {
        let p = D::PARAMETER;
        let endpoint = endpoint_select();
        let delivery = delivery_select("");
        let params = |n: usize| crate::dialect::parameters::<D>(1, n);
        WebhookStatements {
            insert_endpoint: format!(
                "INSERT INTO {t}webhook_endpoints ({}) VALUES ({})",
                ENDPOINT_COLUMNS.join(", "),
                params(ENDPOINT_COLUMNS.len()),
            ),
            list_endpoints: format!("SELECT {endpoint} FROM {t}webhook_endpoints ORDER BY id"),
            get_endpoint: format!("SELECT {endpoint} FROM {t}webhook_endpoints WHERE id = {p}1"),
            set_enabled: format!(
                "UPDATE {t}webhook_endpoints \
                 SET enabled = {p}2, disabled_reason = {p}3, updated_at = {p}4 \
                 WHERE id = {p}1 RETURNING {endpoint}"
            ),
            delete_endpoint: format!(
                "DELETE FROM {t}webhook_endpoints WHERE id = {p}1 RETURNING id"
            ),
            rotate_secret: format!(
                "UPDATE {t}webhook_endpoints \
                 SET previous_secret = secret, previous_valid_until = {p}3, secret = {p}2, \
                     updated_at = {p}4 \
                 WHERE id = {p}1 RETURNING id"
            ),
            endpoint_secrets: format!(
                "SELECT secret, previous_secret, previous_valid_until \
                 FROM {t}webhook_endpoints WHERE id = {p}1"
            ),
            cursor: format!("SELECT last_event_id FROM {t}webhook_cursor WHERE id = 1"),
            advance_cursor: format!(
                "UPDATE {t}webhook_cursor SET last_event_id = {p}2 \
                 WHERE id = 1 AND last_event_id = {p}1 RETURNING last_event_id"
            ),
            enabled_endpoints: format!(
                "SELECT id, event_types, created_at FROM {t}webhook_endpoints WHERE enabled"
            ),
            insert_deliveries: format!(
                "INSERT INTO {t}webhook_deliveries ({}) ",
                DELIVERY_INSERT_COLUMNS.join(", ")
            ),
            record_attempt: format!(
                "UPDATE {t}webhook_deliveries SET \
                    attempts = attempts + 1, \
                    first_attempt_at = COALESCE(first_attempt_at, {p}3), \
                    last_attempt_at = {p}3, last_status = {p}4, last_latency_ns = {p}5, \
                    last_error = {p}6, lease_owner = NULL, lease_until = NULL, \
                    state = {p}7, next_attempt_at = COALESCE({p}8, next_attempt_at) \
                 WHERE id = {p}1 AND state = 'pending' AND lease_owner = {p}2 \
                 RETURNING endpoint_id"
            ),
            get_delivery: format!("SELECT {delivery} FROM {t}webhook_deliveries WHERE id = {p}1"),
            list_deliveries: format!(
                "SELECT {delivery} FROM {t}webhook_deliveries \
                 WHERE endpoint_id = {p}1 AND event_id < {p}2 \
                 ORDER BY event_id DESC LIMIT {p}3"
            ),
            retry_delivery: format!(
                "UPDATE {t}webhook_deliveries SET \
                    state = 'pending', attempts = 0, first_attempt_at = NULL, \
                    next_attempt_at = {p}2, lease_owner = NULL, lease_until = NULL \
                 WHERE id = {p}1 RETURNING {delivery}"
            ),
        }
    }
}

/// The stored form of an endpoint's event types: NULL for all, else the kinds' names joined
/// by commas.
fn event_types_column(types: &EventTypes) -> Option<String> {
    match types {
        EventTypes::All => None,
        EventTypes::Only(kinds) => Some(
            kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

/// Event types from their stored form.
fn parse_event_types(column: Option<&str>) -> Result<EventTypes> {
    let Some(text) = column else {
        return Ok(EventTypes::All);
    };
    let kinds = text
        .split(',')
        .map(|name| {
            EventKind::parse(name)
                .ok_or_else(|| corrupt(format_args!("unknown event type {name:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    if kinds.is_empty() {
        return Err(corrupt("empty event types"));
    }
    Ok(EventTypes::only(kinds))
}

fn reason_column(reason: DisabledReason) -> &'static str {
    match reason {
        DisabledReason::Manual => "manual",
        DisabledReason::Gone => "gone",
    }
}

fn parse_reason(text: &str) -> Result<DisabledReason> {
    match text {
        "manual" => Ok(DisabledReason::Manual),
        "gone" => Ok(DisabledReason::Gone),
        other => Err(corrupt(format_args!("unknown disabled reason {other:?}"))),
    }
}

fn state_column(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
    }
}

fn parse_state(text: &str) -> Result<DeliveryState> {
    match text {
        "pending" => Ok(DeliveryState::Pending),
        "delivered" => Ok(DeliveryState::Delivered),
        "failed" => Ok(DeliveryState::Failed),
        other => Err(corrupt(format_args!("unknown delivery state {other:?}"))),
    }
}

/// A stored secret; the error never shows it.
fn parse_secret(text: &str, column: &str) -> Result<WebhookSecret> {
    WebhookSecret::parse(text).map_err(|_| corrupt(format_args!("{column} is not a secret")))
}

/// A latency in its stored form: whole nanoseconds, saturating.
fn latency_column(latency: Duration) -> i64 {
    i64::try_from(latency.as_nanos()).unwrap_or(i64::MAX)
}

/// The statement of the database `D` with its parameters bound.
type Statement<'q, D> = Query<'q, D, <D as Database>::Arguments<'q>>;

/// The shared webhook operations on the database `D`.
pub(crate) struct Webhooks<D>(PhantomData<D>);

impl<D> Webhooks<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D> + Type<D>,
    for<'q> Option<Uuid>: Encode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D>,
    for<'q> Option<String>: Encode<'q, D> + Type<D>,
    for<'q> D::Time: Encode<'q, D> + Type<D>,
    for<'q> Option<D::Time>: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i32: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<i32>: Encode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
{
    async fn optional(
        executor: impl Executor<'_, Database = D>,
        statement: Statement<'_, D>,
    ) -> Result<Option<D::Row>> {
        statement
            .fetch_optional(executor)
            .await
            .map_err(map_error::<D>)
    }

    async fn all(
        executor: impl Executor<'_, Database = D>,
        statement: Statement<'_, D>,
    ) -> Result<Vec<D::Row>> {
        statement.fetch_all(executor).await.map_err(map_error::<D>)
    }

    /// The endpoint of a row whose columns are named `{alias}{column}`.
    fn endpoint(row: &D::Row, alias: &str) -> Result<WebhookEndpoint> {
        let col = |c: &str| format!("{alias}{c}");
        let url = D::get::<String>(row, &col("url"))?;
        let description = D::get::<Option<String>>(row, &col("description"))?;
        let reason = D::get::<Option<String>>(row, &col("disabled_reason"))?;
        Ok(WebhookEndpoint {
            id: EndpointId::from_uuid(D::get(row, &col("id"))?),
            // Read back leniently: the policy in force at registration may have allowed http.
            url: EndpointUrl::parse(&url, true).map_err(corrupt)?,
            event_types: parse_event_types(
                D::get::<Option<String>>(row, &col("event_types"))?.as_deref(),
            )?,
            description: match description {
                Some(text) => EndpointDescription::parse(&text).map_err(corrupt)?,
                None => None,
            },
            enabled: D::get(row, &col("enabled"))?,
            disabled_reason: reason.as_deref().map(parse_reason).transpose()?,
            created_at: time::<D>(row, &col("created_at"))?,
            updated_at: time::<D>(row, &col("updated_at"))?,
        })
    }

    /// The secrets of a row whose columns are named `{alias}{column}`.
    fn secrets(row: &D::Row, alias: &str) -> Result<EndpointSecrets> {
        let col = |c: &str| format!("{alias}{c}");
        let current = parse_secret(&D::get::<String>(row, &col("secret"))?, "secret")?;
        let previous = match (
            D::get::<Option<String>>(row, &col("previous_secret"))?,
            opt_time::<D>(row, &col("previous_valid_until"))?,
        ) {
            (Some(secret), Some(valid_until)) => Some(PreviousSecret {
                secret: parse_secret(&secret, "previous_secret")?,
                valid_until,
            }),
            _ => None,
        };
        Ok(EndpointSecrets { current, previous })
    }

    /// The delivery of a row selected with [`delivery_select`].
    fn delivery(row: &D::Row) -> Result<Delivery> {
        let kind = D::get::<String>(row, "event_kind")?;
        let event_id = D::get::<i64>(row, "event_id")?;
        let attempts = D::get::<i32>(row, "attempts")?;
        let last_attempt = match opt_time::<D>(row, "last_attempt_at")? {
            None => None,
            Some(at) => Some(AttemptRecord {
                at,
                status: D::get::<Option<i32>>(row, "last_status")?
                    .map(|s| {
                        u16::try_from(s)
                            .map_err(|_| corrupt(format_args!("last_status out of range: {s}")))
                    })
                    .transpose()?,
                latency: Duration::from_nanos(to_u64(
                    D::get::<Option<i64>>(row, "last_latency_ns")?.unwrap_or(0),
                    "last_latency_ns",
                )?),
                error: D::get(row, "last_error")?,
            }),
        };
        Ok(Delivery {
            id: DeliveryId::from_uuid(D::get(row, "id")?),
            endpoint_id: EndpointId::from_uuid(D::get(row, "endpoint_id")?),
            event: LoggedEvent {
                id: EventId::new(event_id)
                    .ok_or_else(|| corrupt(format_args!("event_id is negative ({event_id})")))?,
                kind: EventKind::parse(&kind)
                    .ok_or_else(|| corrupt(format_args!("unknown event kind {kind:?}")))?,
                session_id: SessionId::from_uuid(D::get(row, "session_id")?),
                at: time::<D>(row, "event_at")?,
            },
            state: parse_state(&D::get::<String>(row, "state")?)?,
            attempts: u32::try_from(attempts)
                .map_err(|_| corrupt(format_args!("attempts is negative ({attempts})")))?,
            first_attempt_at: opt_time::<D>(row, "first_attempt_at")?,
            next_attempt_at: time::<D>(row, "next_attempt_at")?,
            last_attempt,
            created_at: time::<D>(row, "created_at")?,
        })
    }

    /// A claimed delivery of a row selected with [`claimed_select`].
    pub(crate) fn claimed(row: &D::Row) -> Result<ClaimedDelivery> {
        Ok(ClaimedDelivery {
            delivery: Self::delivery(row)?,
            endpoint: Self::endpoint(row, "e_")?,
            secrets: Self::secrets(row, "e_")?,
        })
    }

    pub(crate) async fn insert_endpoint(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        endpoint: &WebhookEndpoint,
        secret: &WebhookSecret,
    ) -> Result<()> {
        let result = sqlx::query(&sql.insert_endpoint)
            .bind(endpoint.id.as_uuid())
            .bind(endpoint.url.as_str())
            .bind(event_types_column(&endpoint.event_types))
            .bind(endpoint.description.as_ref().map(|d| d.as_str()))
            .bind(endpoint.enabled)
            .bind(endpoint.disabled_reason.map(reason_column))
            .bind(secret.expose())
            .bind(None::<&str>)
            .bind(None::<D::Time>)
            .bind(D::store_time(endpoint.created_at))
            .bind(D::store_time(endpoint.updated_at))
            .execute(executor)
            .await;
        match result.map_err(map_error::<D>) {
            Ok(_) => Ok(()),
            Err(Error::Conflict(Conflict::AlreadyExists { .. })) => Err(Conflict::AlreadyExists {
                entity: ENDPOINT,
                id: endpoint.id.to_string(),
            }
            .into()),
            Err(other) => Err(other),
        }
    }

    pub(crate) async fn list_endpoints(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
    ) -> Result<Vec<WebhookEndpoint>> {
        Self::all(executor, sqlx::query(&sql.list_endpoints))
            .await?
            .iter()
            .map(|row| Self::endpoint(row, ""))
            .collect()
    }

    pub(crate) async fn get_endpoint(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        id: EndpointId,
    ) -> Result<Option<WebhookEndpoint>> {
        let statement = sqlx::query(&sql.get_endpoint).bind(id.as_uuid());
        Self::optional(executor, statement)
            .await?
            .map(|row| Self::endpoint(&row, ""))
            .transpose()
    }

    /// Enables the endpoint (`reason` `None`) or disables it with `reason`.
    pub(crate) async fn set_enabled(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        id: EndpointId,
        reason: Option<DisabledReason>,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint> {
        let statement = sqlx::query(&sql.set_enabled)
            .bind(id.as_uuid())
            .bind(reason.is_none())
            .bind(reason.map(reason_column))
            .bind(D::store_time(now));
        match Self::optional(executor, statement).await? {
            Some(row) => Self::endpoint(&row, ""),
            None => Err(endpoint_not_found(id)),
        }
    }

    pub(crate) async fn delete_endpoint(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        id: EndpointId,
    ) -> Result<bool> {
        let statement = sqlx::query(&sql.delete_endpoint).bind(id.as_uuid());
        Ok(Self::optional(executor, statement).await?.is_some())
    }

    pub(crate) async fn rotate_secret(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        id: EndpointId,
        new: &WebhookSecret,
        previous_valid_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let statement = sqlx::query(&sql.rotate_secret)
            .bind(id.as_uuid())
            .bind(new.expose())
            .bind(D::store_time(previous_valid_until))
            .bind(D::store_time(now));
        match Self::optional(executor, statement).await? {
            Some(_) => Ok(()),
            None => Err(endpoint_not_found(id)),
        }
    }

    pub(crate) async fn endpoint_secrets(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        id: EndpointId,
    ) -> Result<Option<EndpointSecrets>> {
        let statement = sqlx::query(&sql.endpoint_secrets).bind(id.as_uuid());
        Self::optional(executor, statement)
            .await?
            .map(|row| Self::secrets(&row, ""))
            .transpose()
    }

    pub(crate) async fn cursor(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
    ) -> Result<EventId> {
        let row = Self::optional(executor, sqlx::query(&sql.cursor))
            .await?
            .ok_or_else(|| corrupt("the webhook cursor row is missing"))?;
        let value = D::get::<i64>(&row, "last_event_id")?;
        EventId::new(value).ok_or_else(|| corrupt(format_args!("webhook cursor {value}")))
    }

    /// Enqueues `events` in the transaction `tx`, which the caller opened as its database
    /// needs for a write: the compare-and-set of the cursor first (on Postgres its row lock
    /// makes a concurrent enqueue wait and then find the cursor moved), then the deliveries,
    /// then the commit.
    pub(crate) async fn enqueue_events(
        mut tx: Transaction<'static, D>,
        sql: &WebhookStatements,
        expected: EventId,
        events: &[LoggedEvent],
        now: DateTime<Utc>,
    ) -> Result<EnqueueOutcome> {
        let events: Vec<&LoggedEvent> = events.iter().filter(|e| e.id > expected).collect();
        let cursor = events
            .iter()
            .map(|e| e.id)
            .max()
            .unwrap_or(expected)
            .max(expected);
        let advance = sqlx::query(&sql.advance_cursor)
            .bind(expected.get())
            .bind(cursor.get());
        if Self::optional(&mut *tx, advance).await?.is_none() {
            let stored = Self::cursor(&mut *tx, sql).await?;
            drop(tx);
            return Ok(EnqueueOutcome::Stale { cursor: stored });
        }
        let mut endpoints = Vec::new();
        if !events.is_empty() {
            for row in Self::all(&mut *tx, sqlx::query(&sql.enabled_endpoints)).await? {
                let id = EndpointId::from_uuid(D::get(&row, "id")?);
                let types =
                    parse_event_types(D::get::<Option<String>>(&row, "event_types")?.as_deref())?;
                endpoints.push((id, types, time::<D>(&row, "created_at")?));
            }
        }
        let rows: Vec<(EndpointId, &LoggedEvent)> = events
            .iter()
            .flat_map(|event| {
                endpoints
                    .iter()
                    .filter(|(_, types, created_at)| {
                        types.matches(event.kind) && *created_at <= event.at
                    })
                    .map(move |(endpoint, _, _)| (*endpoint, *event))
            })
            .collect();
        for chunk in rows.chunks(INSERT_ROWS) {
            let text = insert_values::<D>(&sql.insert_deliveries, chunk.len());
            let mut insert = sqlx::query(&text);
            for (endpoint, event) in chunk {
                insert = insert
                    .bind(DeliveryId::new().as_uuid())
                    .bind(endpoint.as_uuid())
                    .bind(event.id.get())
                    .bind(event.kind.as_str())
                    .bind(event.session_id.as_uuid())
                    .bind(D::store_time(event.at))
                    .bind(D::store_time(now))
                    .bind(D::store_time(now));
            }
            insert.execute(&mut *tx).await.map_err(map_error::<D>)?;
        }
        let deliveries = rows.len() as u64;
        tx.commit().await.map_err(map_error::<D>)?;
        Ok(EnqueueOutcome::Enqueued { cursor, deliveries })
    }

    /// Records an attempt in the transaction `tx` (see
    /// [`record_attempt`](livesessions_core::webhooks::WebhookStore::record_attempt)): the
    /// delivery's update, guarded by its state and lease owner, then, for 410 Gone, the
    /// endpoint's, then the commit.
    pub(crate) async fn record_attempt(
        mut tx: Transaction<'static, D>,
        sql: &WebhookStatements,
        id: DeliveryId,
        worker: &str,
        attempt: &AttemptRecord,
        next: AttemptNext,
    ) -> Result<bool> {
        let (state, retry_at) = match next {
            AttemptNext::RetryAt(at) => (DeliveryState::Pending, Some(D::store_time(at))),
            AttemptNext::Delivered => (DeliveryState::Delivered, None),
            AttemptNext::Failed | AttemptNext::EndpointGone => (DeliveryState::Failed, None),
        };
        let statement = sqlx::query(&sql.record_attempt)
            .bind(id.as_uuid())
            .bind(worker)
            .bind(D::store_time(attempt.at))
            .bind(attempt.status.map(i32::from))
            .bind(latency_column(attempt.latency))
            .bind(attempt.error.as_deref())
            .bind(state_column(state))
            .bind(retry_at);
        let Some(row) = Self::optional(&mut *tx, statement).await? else {
            return Ok(false);
        };
        if next == AttemptNext::EndpointGone {
            let endpoint = EndpointId::from_uuid(D::get(&row, "endpoint_id")?);
            Self::set_enabled(
                &mut *tx,
                sql,
                endpoint,
                Some(DisabledReason::Gone),
                attempt.at,
            )
            .await?;
        }
        tx.commit().await.map_err(map_error::<D>)?;
        Ok(true)
    }

    pub(crate) async fn get_delivery(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        id: DeliveryId,
    ) -> Result<Option<Delivery>> {
        let statement = sqlx::query(&sql.get_delivery).bind(id.as_uuid());
        Self::optional(executor, statement)
            .await?
            .map(|row| Self::delivery(&row))
            .transpose()
    }

    pub(crate) async fn list_deliveries(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        query: &DeliveryQuery,
    ) -> Result<DeliveryPage> {
        let limit = query.limit.max(1);
        let statement = sqlx::query(&sql.list_deliveries)
            .bind(query.endpoint_id.as_uuid())
            .bind(query.before.map_or(i64::MAX, EventId::get))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let items = Self::all(executor, statement)
            .await?
            .iter()
            .map(Self::delivery)
            .collect::<Result<Vec<_>>>()?;
        let next = (items.len() == limit)
            .then(|| items.last().map(|d| d.event.id))
            .flatten();
        Ok(DeliveryPage { items, next })
    }

    pub(crate) async fn retry_delivery(
        executor: impl Executor<'_, Database = D>,
        sql: &WebhookStatements,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Delivery> {
        let statement = sqlx::query(&sql.retry_delivery)
            .bind(id.as_uuid())
            .bind(D::store_time(now));
        match Self::optional(executor, statement).await? {
            Some(row) => Self::delivery(&row),
            None => Err(Error::NotFound {
                entity: DELIVERY,
                id: id.to_string(),
            }),
        }
    }
}

fn endpoint_not_found(id: EndpointId) -> Error {
    Error::NotFound {
        entity: ENDPOINT,
        id: id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_through_their_column() {
        for types in [
            EventTypes::All,
            EventTypes::only([EventKind::Live]),
            EventTypes::only([
                EventKind::Ended,
                EventKind::Created,
                EventKind::Participants,
            ]),
        ] {
            let column = event_types_column(&types);
            assert_eq!(parse_event_types(column.as_deref()).unwrap(), types);
        }
        assert_eq!(
            event_types_column(&EventTypes::only([EventKind::Ended, EventKind::Live])).as_deref(),
            Some("live,ended")
        );
        assert!(matches!(
            parse_event_types(Some("")),
            Err(Error::Storage(_))
        ));
        assert!(matches!(
            parse_event_types(Some("live,paused")),
            Err(Error::Storage(_))
        ));
    }

    #[test]
    fn a_corrupt_secret_is_reported_without_its_text() {
        let Err(Error::Storage(cause)) = parse_secret("whsec_short-and-secret", "secret") else {
            panic!("a corrupt secret is a storage error");
        };
        assert!(!cause.to_string().contains("short-and-secret"), "{cause}");
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn inserts_number_every_row_s_parameters() {
        assert_eq!(
            insert_values::<sqlx::Postgres>("INSERT INTO t (c) ", 2),
            "INSERT INTO t (c) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8), \
             ($9, $10, $11, $12, $13, $14, 'pending', 0, $15, $16)"
        );
    }

    #[test]
    fn latencies_saturate() {
        assert_eq!(latency_column(Duration::from_millis(25)), 25_000_000);
        assert_eq!(latency_column(Duration::MAX), i64::MAX);
    }
}
